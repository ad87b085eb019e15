// The object-model snapshot (js/snapshot.js) parses into the same model as the file itself.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { execFileSync } = require("node:child_process");
const { ADDIN, openSample, python, pyEnv, dumpFile } = require("./helpers.js");
const { Workbook } = require("./fake-wps.js");
const { readSnapshot } = require(path.join(ADDIN, "snapshot.js"));

test("a snapshot of the open sample gives the model the file gives", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "perfxl-snap-"));
  try {
    const { book, file } = openSample(dir);
    const snap = readSnapshot(book);
    assert.equal(snap.name, path.basename(file));
    assert.deepEqual(snap.sheets, book.sheets.map((s) => s.Name));
    assert.equal(snap.names.dept_name, "'封面与基本信息'!$C$5");
    assert.deepEqual(snap.tables.tbl_scores.ref, "B6:J33");
    const out = path.join(dir, "snapshot.json");
    fs.writeFileSync(out, JSON.stringify(snap));
    const got = JSON.parse(execFileSync(python(), [path.join(__dirname, "snapshot_model.py"), out, file],
                                        { env: pyEnv(), maxBuffer: 64 << 20 }).toString("utf8"));
    const { file: a, ...fromSnapshot } = got.snapshot;
    const { file: b, ...fromFile } = got.file;
    assert.deepEqual(fromSnapshot, fromFile);
    assert.deepEqual(got.snapshot_problems, got.file_problems);
    assert.ok(Object.keys(fromFile.fields).length > 20 && fromFile.fields.dept_name === "乐昌市民政局");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// Error values (#N/A, #REF!, #DIV/0!, #VALUE!, #NAME?, #NUM!, #NULL!) in the open book: whatever
// Value2 hands over for them (Excel COM's HRESULT, the literal text, an opaque object), the
// snapshot marks each {"error": code} and the server reports the same cell-error findings as for
// the file — never a blank, a zero or a piece of text.
for (const mode of ["com", "text", "object"]) {
  test(`error cells in a snapshot are the file's cell-error findings (Value2 as ${mode})`, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "perfxl-snaperr-"));
    try {
      const file = path.join(dir, "errors.xlsx");
      const placed = JSON.parse(execFileSync(python(), [path.join(__dirname, "error_workbook.py"), file],
                                             { env: pyEnv() }).toString("utf8"));
      const book = new Workbook({ ...dumpFile("dump", file), path: dir }, file);
      book.errorsAs = mode;
      const snap = readSnapshot(book);
      for (const [sheet, cell, code] of placed) {
        const m = /^([A-Z]+)(\d+)$/.exec(cell);
        const col = [...m[1]].reduce((n, ch) => n * 26 + ch.charCodeAt(0) - 64, 0);
        assert.deepEqual(snap.grids[sheet][Number(m[2]) - 1][col - 1], { error: code }, `${sheet}!${cell}`);
      }
      const out = path.join(dir, "snapshot.json");
      fs.writeFileSync(out, JSON.stringify(snap));
      const got = JSON.parse(execFileSync(python(), [path.join(__dirname, "snapshot_model.py"), out, file],
                                          { env: pyEnv(), maxBuffer: 64 << 20 }).toString("utf8"));
      assert.deepEqual(got.snapshot_findings, got.file_findings);
      assert.deepEqual(got.snapshot_problems, got.file_problems);
      for (const [sheet, cell] of placed) {
        assert.ok(got.file_findings.some(([c, s, a]) => c === "cell-error" && s === sheet && a === cell), `${sheet}!${cell}`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
