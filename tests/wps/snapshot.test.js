// The object-model snapshot (js/snapshot.js) parses into the same model as the file itself.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { execFileSync } = require("node:child_process");
const { ADDIN, openSample, python, pyEnv } = require("./helpers.js");
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
