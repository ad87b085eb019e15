// A fake of the part of the WPS 表格 / Excel object model the add-in uses: an application with a
// workbook of sheets (cells with values, formulas and number formats), defined names, tables,
// comments, conditional formats and hyperlinks. Assignments behave as in Excel: a string
// starting with "'" is text, one starting with "=" a formula, a numeric string a number.
// load(dump) builds it from tests/wps/workbook_dump.py's JSON; dump() gives the same shape back.
"use strict";

const fs = require("node:fs");

function colToNum(col) {
  let n = 0;
  for (const ch of col) n = n * 26 + ch.charCodeAt(0) - 64;
  return n;
}

function numToCol(n) {
  let s = "";
  while (n > 0) { const r = (n - 1) % 26; s = String.fromCharCode(65 + r) + s; n = Math.floor((n - 1) / 26); }
  return s;
}

function parseCell(a) {
  const m = /^\$?([A-Z]{1,3})\$?(\d+)$/.exec(String(a).toUpperCase());
  if (!m) throw new Error("bad cell address " + a);
  return [Number(m[2]), colToNum(m[1])];
}

function parseRange(a) {
  const [p, q] = String(a).split(":");
  const [r1, c1] = parseCell(p);
  const [r2, c2] = q ? parseCell(q) : [r1, c1];
  return [Math.min(r1, r2), Math.min(c1, c2), Math.max(r1, r2), Math.max(c1, c2)];
}

const addr = (r, c) => numToCol(c) + r;

// An error cell ({e: "#N/A"} in a dump) as the object model may hand it over, by book.errorsAs:
// "com": Value2 is the CVErr value's HRESULT, as Excel's COM gives it (-2146826246 for #N/A);
// "text": Value2 is the literal "#N/A"; "object": Value2 is an opaque object (JSON gives {}).
// Text is the literal in every case, as the cell shows it.
const ERROR_NUMBERS = { "#NULL!": 2000, "#DIV/0!": 2007, "#VALUE!": 2015, "#REF!": 2023, "#NAME?": 2029, "#NUM!": 2036,
                        "#N/A": 2042 };
function errorValue(code, mode) {
  if (mode === "text") return code;
  if (mode === "object") return { opaque: true };
  return -2146828288 + ERROR_NUMBERS[code];
}

/** A dumped cell as the object model holds it: a date is its serial number (what Value2 gives). */
function serial(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2}))?/.exec(iso);
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0), +(m[6] || 0)) / 86400000 + 25569;
}

function shown(c) {
  const out = { ...c };
  if (out.v && typeof out.v === "object" && out.v.date) out.v = serial(out.v.date);
  if (out.v === null) delete out.v;
  return out;
}

class Comment {
  constructor(sheet, key, text) { this.sheet = sheet; this.key = key; this.text = text; }
  Text(value) {
    if (value !== undefined) this.text = String(value);
    return this.text;
  }
  Delete() { this.sheet.comments.delete(this.key); }
}

class FormatCondition {
  constructor(sheet, ref, type, formula) {
    this.sheet = sheet; this.ref = ref; this.Type = type; this.Formula1 = formula; this.Interior = { Color: null };
  }
  Delete() { this.sheet.conditions.splice(this.sheet.conditions.indexOf(this), 1); }
}

class Range {
  constructor(sheet, r1, c1, r2, c2) {
    Object.assign(this, { sheet, r1, c1, r2: r2 ?? r1, c2: c2 ?? c1 });
  }
  get key() { return addr(this.r1, this.c1); }
  get single() { return this.r1 === this.r2 && this.c1 === this.c2; }
  get Row() { return this.r1; }
  get Column() { return this.c1; }
  get Rows() { return { Count: this.r2 - this.r1 + 1 }; }
  get Columns() { return { Count: this.c2 - this.c1 + 1 }; }
  get Address() {
    const a = "$" + numToCol(this.c1) + "$" + this.r1;
    return this.single ? a : a + ":$" + numToCol(this.c2) + "$" + this.r2;
  }
  get Cells() { return { Item: (r, c) => new Range(this.sheet, this.r1 + r - 1, this.c1 + c - 1) }; }
  cell(create) {
    const k = this.key;
    if (create && this.sheet.ProtectContents) throw new Error("fake: the sheet " + this.sheet.Name + " is protected");
    if (!this.sheet.cells.has(k) && create) this.sheet.cells.set(k, {});
    return this.sheet.cells.get(k);
  }
  get Value2() {
    if (this.single) {
      const c = this.cell(false);
      if (c && c.e !== undefined) return errorValue(c.e, this.sheet.book.errorsAs);
      return c && c.v !== undefined ? c.v : undefined;
    }
    const out = [];
    for (let r = this.r1; r <= this.r2; r++) {
      const row = [];
      for (let c = this.c1; c <= this.c2; c++) row.push(new Range(this.sheet, r, c).Value2);
      out.push(row);
    }
    return out;
  }
  get Text() {
    const c = this.cell(false);
    if (!c) return "";
    return c.e !== undefined ? c.e : c.v === undefined ? "" : String(c.v);
  }
  set Value2(v) {
    if (!this.single) throw new Error("fake: multi-cell assignment not supported");
    const c = this.cell(true);
    delete c.f;
    delete c.e;
    if (typeof v === "string" && v.startsWith("'")) c.v = v.slice(1);
    else if (typeof v === "string" && v.startsWith("=")) { c.f = v.slice(1); delete c.v; }
    else if (typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v))) c.v = Number(v);
    else if (v === null || v === undefined || v === "") delete c.v;
    else c.v = v;
  }
  get Formula() {
    const c = this.cell(false);
    if (!c) return "";
    return c.f !== undefined ? "=" + c.f : c.v === undefined ? "" : String(c.v);
  }
  set Formula(text) {
    const c = this.cell(true);
    if (typeof text === "string" && text.startsWith("=")) { c.f = text.slice(1); delete c.v; delete c.e; }  // not computed here
    else this.Value2 = text;
  }
  get NumberFormat() { const c = this.cell(false); return (c && c.nf) || "General"; }
  set NumberFormat(nf) { this.cell(true).nf = nf; }
  ClearContents() { const c = this.cell(false); if (c) { delete c.v; delete c.f; delete c.e; } }
  get Comment() { return this.sheet.comments.get(this.key) ?? null; }
  AddComment(text) {
    if (this.sheet.comments.has(this.key)) throw new Error("fake: cell already has a comment");
    const c = new Comment(this.sheet, this.key, String(text));
    this.sheet.comments.set(this.key, c);
    return c;
  }
  get FormatConditions() {
    return {
      Add: (type, op, formula) => {
        const fc = new FormatCondition(this.sheet, this.key, type, formula);
        this.sheet.conditions.push(fc);
        return fc;
      }
    };
  }
}

class Worksheet {
  constructor(book, name) {
    this.book = book; this.Name = name; this.Visible = -1;
    this.cells = new Map(); this.comments = new Map(); this.conditions = []; this.links = new Map();
    this.tables = []; this.ProtectContents = false; this.protections = 0;
  }
  Unprotect() { this.ProtectContents = false; }
  Protect(password, drawing, contents) { this.ProtectContents = !!contents; this.protections++; }
  Range(a, b) {
    if (a instanceof Range) return new Range(this, a.r1, a.c1, b.r2, b.c2);
    const [r1, c1, r2, c2] = parseRange(a);
    return new Range(this, r1, c1, r2, c2);
  }
  get Cells() {
    const sheet = this;
    return {
      Item: (r, c) => new Range(sheet, r, c),
      Clear: () => { sheet.cells.clear(); sheet.comments.clear(); sheet.conditions.length = 0; sheet.links.clear(); },
      get FormatConditions() {
        return { get Count() { return sheet.conditions.length; }, Item: (i) => sheet.conditions[i - 1] };
      }
    };
  }
  get Comments() {
    const list = () => [...this.comments.values()];
    return { get Count() { return list().length; }, Item: (i) => list()[i - 1] };
  }
  get Hyperlinks() {
    return { Add: (anchor, address, sub, tip, text) => {
      this.links.set(anchor.key, sub);
      anchor.Value2 = "'" + text;
    } };
  }
  get ListObjects() {
    return { get Count() { return this.t.length; }, t: this.tables,
             Item: (i) => typeof i === "number" ? this.tables[i - 1] : this.tables.find((t) => t.Name === i) };
  }
  get UsedRange() {
    let r2 = 1, c2 = 1;
    for (const k of this.cells.keys()) { const [r, c] = parseCell(k); r2 = Math.max(r2, r); c2 = Math.max(c2, c); }
    return new Range(this, 1, 1, r2, c2);
  }
  Delete() { this.book.sheets.splice(this.book.sheets.indexOf(this), 1); }
}

class ListObject {
  constructor(sheet, name, ref, totals) { this.sheet = sheet; this.Name = name; this.ref = ref; this.ShowTotals = !!totals; }
  get Range() { return this.sheet.Range(this.ref); }
  get HeaderRowRange() { const r = this.Range; return new Range(this.sheet, r.r1, r.c1, r.r1, r.c2); }
  Resize(range) { this.ref = range.Address.replace(/\$/g, ""); }
}

class Workbook {
  constructor(dump, file) {
    this.Name = dump.name; this.Path = dump.path || ""; this.Saved = true; this.errorsAs = "com";
    this.file = file;  // what SaveCopyAs copies: the workbook as it was loaded
    this.sheets = []; this.names = new Map();
    for (const s of dump.sheets) {
      const ws = new Worksheet(this, s.name);
      ws.Visible = s.visible === false ? 0 : -1;
      ws.ProtectContents = !!s.protected;
      for (const [k, c] of Object.entries(s.cells)) ws.cells.set(k, shown(c));
      for (const [k, t] of Object.entries(s.comments || {})) ws.comments.set(k, new Comment(ws, k, t));
      for (const [k, loc] of Object.entries(s.links || {})) ws.links.set(k, loc);
      this.sheets.push(ws);
    }
    for (const [n, ref] of Object.entries(dump.names)) this.names.set(n, ref);
    for (const [n, t] of Object.entries(dump.tables)) {
      const ws = this.sheets.find((s) => s.Name === t.sheet);
      ws.tables.push(new ListObject(ws, n, t.ref, t.totals));
    }
  }
  get FullName() { return this.Path ? this.Path + "/" + this.Name : this.Name; }
  get Sheets() {
    const book = this;
    return {
      get Count() { return book.sheets.length; },
      Item: (i) => {
        const ws = typeof i === "number" ? book.sheets[i - 1] : book.sheets.find((s) => s.Name === i);
        if (!ws) throw new Error("fake: no sheet " + i);
        return ws;
      },
      Add: (before, after) => {
        let n = book.sheets.length + 1;
        while (book.sheets.some((s) => s.Name === "Sheet" + n)) n++;
        const ws = new Worksheet(book, "Sheet" + n);
        const at = before ? book.sheets.indexOf(before) : after ? book.sheets.indexOf(after) + 1 : 0;
        book.sheets.splice(at, 0, ws);
        return ws;
      }
    };
  }
  get Names() {
    const list = () => [...this.names.entries()].map(([Name, ref]) => ({ Name, RefersTo: "=" + ref }));
    return {
      get Count() { return list().length; },
      Item: (i) => list()[i - 1],
      Add: (name, refersTo) => { this.names.set(name, String(refersTo).replace(/^=/, "")); }
    };
  }
  SaveCopyAs(path) {
    if (!this.file) throw new Error("fake: this workbook has no file to copy");
    fs.copyFileSync(this.file, path);
  }
  dump() {
    return {
      name: this.Name,
      sheets: this.sheets.map((ws) => ({
        name: ws.Name, visible: ws.Visible !== 0, protected: ws.ProtectContents,
        cells: Object.fromEntries([...ws.cells].filter(([, c]) => c.v !== undefined || c.f !== undefined || c.e !== undefined)
          .map(([k, c]) => [k, c.f !== undefined ? { f: c.f } : c.e !== undefined ? { e: c.e } : { v: c.v }])),
        comments: Object.fromEntries([...ws.comments].map(([k, c]) => [k, c.text])),
        marks: ws.conditions.filter((fc) => String(fc.Formula1).startsWith('="perfxl-'))
          .map((fc) => ({ ref: fc.ref, formula: fc.Formula1, color: fc.Interior.Color })),
        links: Object.fromEntries(ws.links)
      })),
      names: Object.fromEntries(this.names),
      tables: Object.fromEntries(this.sheets.flatMap((ws) => ws.tables.map((t) => [t.Name, { sheet: ws.Name, ref: t.ref }])))
    };
  }
}

function application(book) {
  return { ActiveWorkbook: book, ScreenUpdating: true, DisplayAlerts: true, StatusBar: false };
}

/** wps.FileSystem over node's fs. */
const fileSystem = {
  tmpdir: () => require("node:os").tmpdir(),
  readAsBinaryString: (p) => fs.readFileSync(p).toString("latin1"),
  writeAsBinaryString: (p, s) => { fs.writeFileSync(p, Buffer.from(s, "latin1")); return true; },
  Exists: (p) => fs.existsSync(p),
  Remove: (p) => { fs.rmSync(p, { force: true }); return true; }
};

module.exports = { Workbook, application, fileSystem, parseCell, numToCol, shown };
