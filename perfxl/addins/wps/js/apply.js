// Apply perfxl's cell edits (the JSON of perfxl/server/editwire.py: {"op": "SetCell", sheet, cell, ...}) to an open workbook through
// the WPS 表格 object model (the same as Excel's: Sheets.Item(name).Range(addr).Formula, Names.Add,
// FormatConditions, comments). Nothing is saved: the clerk decides when to save.
//
// Marks look as perfxl.markstyle makes them in a file, so that each side recognises the other's:
// the fill is a conditional format whose formula starts with ="perfxl-, the note text is
// "perfxl 错误：" + the message, appended after a clerk's own note; clear_marks removes only
// what carries those markers. Loads in WPS (global PerfxlApply) and in node (require).
(function (root, factory) {
  if (typeof module === "object" && module.exports) module.exports = factory();
  else root.PerfxlApply = factory();
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  var FINDINGS_SHEET = "校验结果";
  var SEVERITY_CODE = { "错误": "error", "警告": "warning", "提示": "info" };
  var SEVERITY_RANK = { "错误": 3, "警告": 2, "提示": 1 };
  var MARK_PREFIX = '="perfxl-';
  var NOTE_MARK = /(?:^|\n)perfxl (?:错误|警告|提示)：\n/;
  var FILE_PREFIX = /\b_xl(?:fn|ws)\./g;
  var XL_EXPRESSION = 2;        // XlFormatConditionType.xlExpression
  var XL_SHEET_HIDDEN = 0;      // XlSheetVisibility.xlSheetHidden
  var MARK_OPS = { ClearMarks: 1, MarkCell: 1, Hyperlink: 1 };
  var FILLS = { "错误": "FFC7CE", "警告": "FFD8A8", "提示": "FFF2CC" };  // as perfxl.markstyle

  /** The edits one button applies: "check" = the marks and the 校验结果 sheet, "score" = the
   *  formulas and values, anything else = all of them. */
  function selectEdits(edits, action) {
    if (action !== "check" && action !== "score") return edits.slice();
    return edits.filter(function (e) {
      var marking = !!MARK_OPS[e.op] || e.sheet === FINDINGS_SHEET;
      return action === "check" ? marking : !marking;
    });
  }

  function sheetNames(book) {
    var out = [];
    for (var i = 1; i <= book.Sheets.Count; i++) out.push(book.Sheets.Item(i).Name);
    return out;
  }

  function sheet(book, name) {
    if (sheetNames(book).indexOf(name) < 0) throw new Error("工作簿中没有工作表“" + name + "”");
    return book.Sheets.Item(name);
  }

  /** "FFC7CE" (RRGGBB) → the BGR number the object model's Color expects. */
  function bgr(rrggbb) {
    var n = parseInt(rrggbb, 16);
    return ((n & 0xff) << 16) | (n & 0xff00) | ((n >> 16) & 0xff);
  }

  /** An ISO date ("2024-05-20" or with time) → the Excel serial number of that day/time. */
  function serial(iso) {
    var m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?/.exec(iso);
    if (!m) return null;
    var utc = Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0), +(m[6] || 0));
    return utc / 86400000 + 25569;
  }

  function setCell(app, book, e) {
    var ws = sheet(book, e.sheet);
    var rng = ws.Range(e.cell);
    if (e.style_from) rng.NumberFormat = ws.Range(e.style_from).NumberFormat;
    var v = e.value;
    if (e.formula !== undefined && e.formula !== null) {
      // WPS computes the result itself; file-format prefixes (_xlfn.IFS) are not typed.
      rng.Formula = "=" + String(e.formula).replace(/^=/, "").replace(FILE_PREFIX, "");
    } else if (v === null || v === undefined || v === "") {
      rng.ClearContents();
    } else if (e.value_type === "date" || e.value_type === "datetime") {
      rng.Value2 = serial(v);
      if (rng.NumberFormat === "General" || rng.NumberFormat === "G/通用格式") {
        rng.NumberFormat = e.value_type === "date" ? "yyyy-mm-dd" : "yyyy-mm-dd hh:mm:ss";
      }
    } else if (typeof v === "string") {
      rng.Value2 = "'" + v;  // text stays text: never a formula, number or date
    } else {
      rng.Value2 = v;
    }
  }

  function defineName(app, book, e) {
    book.Names.Add(e.name, "=" + String(e.ref).replace(/^=/, ""));  // replaces a same-scope name
  }

  function ensureSheet(app, book, e) {
    var names = sheetNames(book);
    if (names.indexOf(e.sheet) >= 0) return;
    var ws;
    if (e.position !== null && e.position !== undefined && e.position < names.length) {
      ws = book.Sheets.Add(book.Sheets.Item(e.position + 1));
    } else {
      ws = book.Sheets.Add(undefined, book.Sheets.Item(names.length));
    }
    ws.Name = e.sheet;
    if (e.hidden) ws.Visible = XL_SHEET_HIDDEN;
  }

  function clearSheet(app, book, e) {
    sheet(book, e.sheet).Cells.Clear();
  }

  function deleteSheet(app, book, e) {
    if (sheetNames(book).indexOf(e.sheet) < 0) return;
    var alerts = app.DisplayAlerts;
    app.DisplayAlerts = false;  // "delete this sheet?" otherwise
    try {
      book.Sheets.Item(e.sheet).Delete();
    } finally {
      app.DisplayAlerts = alerts;
    }
  }

  function resizeTable(app, book, e) {
    for (var i = 1; i <= book.Sheets.Count; i++) {
      var ws = book.Sheets.Item(i);
      for (var j = 1; j <= ws.ListObjects.Count; j++) {
        var t = ws.ListObjects.Item(j);
        if (t.Name === e.table) {
          t.Resize(ws.Range(e.ref));
          return;
        }
      }
    }
    throw new Error("工作簿中找不到表格“" + e.table + "”，无法调整其大小。");
  }

  function hyperlink(app, book, e) {
    var ws = sheet(book, e.sheet);
    var rng = ws.Range(e.cell);
    var shown = rng.Value2;
    ws.Hyperlinks.Add(rng, "", e.location, "转到 " + e.location,
                      shown === null || shown === undefined || shown === "" ? e.location : String(shown));
  }

  /** Several marks of one cell make one note and one fill (the most severe), as in the file. */
  function markCells(book, group) {
    var first = group[0];
    var rng = sheet(book, first.sheet).Range(first.cell);
    var worst = group.reduce(function (a, m) {
      return (SEVERITY_RANK[m.severity] || 3) > (SEVERITY_RANK[a.severity] || 3) ? m : a;
    });
    var code = SEVERITY_CODE[worst.severity] || "error";
    var fc = rng.FormatConditions.Add(XL_EXPRESSION, undefined, MARK_PREFIX + code + '"<>""');
    fc.Interior.Color = bgr(FILLS[worst.severity] || FILLS["错误"]);
    var text = group.map(function (m) { return "perfxl " + m.severity + "：\n" + m.note; }).join("\n");
    var note = rng.Comment;
    if (note === null || note === undefined) rng.AddComment(text);
    else note.Text(note.Text() + "\n" + text);
  }

  function clearMarks(app, book) {
    for (var i = 1; i <= book.Sheets.Count; i++) {
      var ws = book.Sheets.Item(i);
      var fcs = ws.Cells.FormatConditions;
      for (var j = fcs.Count; j >= 1; j--) {
        var fc = fcs.Item(j);
        if (fc.Type === XL_EXPRESSION && String(fc.Formula1 || "").indexOf(MARK_PREFIX) === 0) fc.Delete();
      }
      for (var k = ws.Comments.Count; k >= 1; k--) {
        var c = ws.Comments.Item(k);
        var text = String(c.Text() || "");
        var found = NOTE_MARK.exec(text);
        if (!found) continue;
        var kept = text.slice(0, found.index);
        if (kept.trim()) c.Text(kept);  // the clerk's own note, as it was before perfxl appended
        else c.Delete();
      }
    }
  }

  var HANDLERS = {
    SetCell: setCell, DefineName: defineName, EnsureSheet: ensureSheet, ClearSheet: clearSheet,
    DeleteSheet: deleteSheet, ResizeTable: resizeTable, Hyperlink: hyperlink,
    ClearMarks: function (app, book) { clearMarks(app, book); }
  };

  /** Unprotect the sheets protected without a password (the standard workbook's: formula cells
   *  are locked); WPS, like Excel, refuses to write a locked cell of a protected sheet. Returns
   *  them, to protect again once the edits are applied. A password makes Unprotect throw. */
  function liftProtection(book) {
    var lifted = [];
    for (var i = 1; i <= book.Sheets.Count; i++) {
      var ws = book.Sheets.Item(i);
      if (!ws.ProtectContents) continue;
      ws.Unprotect();
      lifted.push(ws);
    }
    return lifted;
  }

  function restoreProtection(book, lifted) {
    var still = sheetNames(book);
    lifted.forEach(function (ws) {
      // as the standard workbook has it: contents locked, formatting rows and columns allowed
      if (still.indexOf(ws.Name) >= 0) ws.Protect(undefined, undefined, true, undefined, undefined, undefined, true, true);
    });
  }

  /** Apply ``edits`` (in order) to ``book`` of application ``app``; returns how many. */
  function applyEdits(app, book, edits) {
    if (!edits.length) return 0;
    var updating = app.ScreenUpdating;
    app.ScreenUpdating = false;
    var lifted = [];
    try {
      lifted = liftProtection(book);
      var group = [];
      var flush = function () {
        var byCell = {}, order = [];
        group.forEach(function (m) {
          var key = m.sheet + "!" + String(m.cell).replace(/\$/g, "").toUpperCase();
          if (!byCell[key]) { byCell[key] = []; order.push(key); }
          byCell[key].push(m);
        });
        order.forEach(function (key) { markCells(book, byCell[key]); });
        group = [];
      };
      edits.forEach(function (e) {
        if (e.op === "MarkCell") { group.push(e); return; }
        flush();
        var handler = HANDLERS[e.op];
        if (!handler) throw new Error("未知的修改类型：" + e.op);
        handler(app, book, e);
      });
      flush();
    } finally {
      restoreProtection(book, lifted);
      app.ScreenUpdating = updating;
    }
    return edits.length;
  }

  return { applyEdits: applyEdits, selectEdits: selectEdits, bgr: bgr, serial: serial,
           FINDINGS_SHEET: FINDINGS_SHEET };
});
