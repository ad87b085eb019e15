// Edits applied to the fake object model: the semantics a real WPS book must show.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { ADDIN, openSample } = require("./helpers.js");
const A = require(path.join(ADDIN, "apply.js"));

let sample;
test.before(() => { sample = fs.mkdtempSync(path.join(os.tmpdir(), "perfxl-wps-")); });
test.after(() => fs.rmSync(sample, { recursive: true, force: true }));

function fresh() { return openSample(fs.mkdtempSync(path.join(sample, "b"))); }

test("text stays text, formulas lose file prefixes, numbers are numbers, null clears", () => {
  const { app, book } = fresh();
  A.applyEdits(app, book, [
    { op: "SetCell", sheet: "评分表", cell: "Z1", value: "=1+1", formula: null },
    { op: "SetCell", sheet: "评分表", cell: "Z2", value: "12", formula: null },
    { op: "SetCell", sheet: "评分表", cell: "Z3", value: 98.31, formula: "_xlfn.IFS(A1>0,1,TRUE,0)" },
    { op: "SetCell", sheet: "评分表", cell: "Z4", value: 3, formula: null },
    { op: "SetCell", sheet: "评分表", cell: "Z4", value: null, formula: null }
  ]);
  const ws = book.Sheets.Item("评分表");
  assert.equal(ws.Range("Z1").Value2, "=1+1");
  assert.equal(ws.Range("Z1").Formula, "=1+1");  // a text cell shows its text
  assert.equal(ws.Range("Z2").Value2, "12");
  assert.equal(ws.Range("Z3").Formula, "=IFS(A1>0,1,TRUE,0)");
  assert.equal(ws.Range("Z4").Value2, undefined);
  assert.equal(app.ScreenUpdating, true, "screen updating is restored");
  assert.equal(ws.ProtectContents, true, "a protected sheet is protected again");
  assert.ok(ws.protections >= 1);
});

test("a date value is written as the day's serial number", () => {
  const { app, book } = fresh();
  A.applyEdits(app, book, [{ op: "SetCell", sheet: "评分表", cell: "Z9", value: "2024-05-20", value_type: "date" }]);
  assert.equal(book.Sheets.Item("评分表").Range("Z9").Value2, 45432);
  assert.equal(book.Sheets.Item("评分表").Range("Z9").NumberFormat, "yyyy-mm-dd");
});

test("sheets are created at their position, hidden when asked, cleared and deleted", () => {
  const { app, book } = fresh();
  const before = book.Sheets.Count;
  A.applyEdits(app, book, [
    { op: "EnsureSheet", sheet: "新表", hidden: true, position: 1 },
    { op: "EnsureSheet", sheet: "评分表", hidden: false, position: null },  // exists: untouched
    { op: "EnsureSheet", sheet: "末表", hidden: false, position: null },
    { op: "SetCell", sheet: "末表", cell: "A1", value: "x" },
    { op: "ClearSheet", sheet: "末表" },
    { op: "DeleteSheet", sheet: "新表" },
    { op: "DeleteSheet", sheet: "没有这张表" }
  ]);
  assert.equal(book.Sheets.Count, before + 1);
  assert.equal(book.Sheets.Item(before + 1).Name, "末表");
  assert.equal(book.Sheets.Item("末表").Range("A1").Value2, undefined);
  assert.equal(app.DisplayAlerts, true);
  const { app: app2, book: book2 } = fresh();
  A.applyEdits(app2, book2, [{ op: "EnsureSheet", sheet: "新表", hidden: true, position: 1 }]);
  assert.equal(book2.Sheets.Item(2).Name, "新表");
  assert.equal(book2.Sheets.Item(2).Visible, 0);
});

test("marks: one fill per cell (the worst), one note, the clerk's note kept; clear restores it", () => {
  const { app, book } = fresh();
  const ws = book.Sheets.Item("预算执行");
  ws.Range("C7").AddComment("科员自己的批注");
  ws.Range("D8").FormatConditions.Add(2, undefined, "=$D$8>0");  // the clerk's own rule
  A.applyEdits(app, book, [
    { op: "ClearMarks" },
    { op: "MarkCell", sheet: "预算执行", cell: "C7", note: "提示内容", severity: "提示" },
    { op: "MarkCell", sheet: "预算执行", cell: "$C$7", note: "错误内容", severity: "错误" },
    { op: "MarkCell", sheet: "预算执行", cell: "C8", note: "警告内容", severity: "警告" }
  ]);
  const ours = ws.conditions.filter((fc) => fc.Formula1.startsWith('="perfxl-'));
  assert.deepEqual(ours.map((fc) => [fc.ref, fc.Formula1, fc.Interior.Color]),
                   [["C7", '="perfxl-error"<>""', A.bgr("FFC7CE")], ["C8", '="perfxl-warning"<>""', A.bgr("FFD8A8")]]);
  assert.equal(ws.Range("C7").Comment.Text(), "科员自己的批注\nperfxl 提示：\n提示内容\nperfxl 错误：\n错误内容");
  assert.equal(ws.Range("C8").Comment.Text(), "perfxl 警告：\n警告内容");
  A.applyEdits(app, book, [{ op: "ClearMarks" }]);
  assert.equal(ws.Range("C7").Comment.Text(), "科员自己的批注");
  assert.equal(ws.Range("C8").Comment, null);
  assert.deepEqual(ws.conditions.map((fc) => fc.Formula1), ["=$D$8>0"]);
});

test("names, table sizes and links", () => {
  const { app, book } = fresh();
  A.applyEdits(app, book, [
    { op: "DefineName", name: "score_total", ref: "'评分表'!$J$40" },
    { op: "ResizeTable", table: "tbl_scores", ref: "B6:J34" },
    { op: "SetCell", sheet: "评分表", cell: "Z5", value: "预算执行!C7" },
    { op: "Hyperlink", sheet: "评分表", cell: "Z5", location: "'预算执行'!C7" }
  ]);
  assert.equal(book.names.get("score_total"), "'评分表'!$J$40");
  assert.equal(book.Sheets.Item("评分表").ListObjects.Item("tbl_scores").ref, "B6:J34");
  assert.equal(book.Sheets.Item("评分表").links.get("Z5"), "'预算执行'!C7");
  assert.equal(book.Sheets.Item("评分表").Range("Z5").Value2, "预算执行!C7");
  assert.throws(() => A.applyEdits(app, book, [{ op: "ResizeTable", table: "tbl_none", ref: "A1:B2" }]), /tbl_none/);
  assert.throws(() => A.applyEdits(app, book, [{ op: "Explode" }]), /未知的修改类型/);
});

test("each button takes its own edits", () => {
  const edits = [{ op: "ClearMarks" }, { op: "DeleteSheet", sheet: "校验结果" }, { op: "SetCell", sheet: "校验结果", cell: "A1" },
                 { op: "SetCell", sheet: "评分表", cell: "J33", formula: "SUM(1)" }, { op: "DefineName", name: "n", ref: "A" },
                 { op: "Hyperlink", sheet: "校验结果", cell: "D2", location: "x" },
                 { op: "MarkCell", sheet: "预算执行", cell: "C7", note: "n", severity: "错误" }];
  assert.deepEqual(A.selectEdits(edits, "check").map((e) => e.op),
                   ["ClearMarks", "DeleteSheet", "SetCell", "Hyperlink", "MarkCell"]);
  assert.deepEqual(A.selectEdits(edits, "score").map((e) => e.op), ["SetCell", "DefineName"]);
  assert.equal(A.selectEdits(edits, "all").length, edits.length);
});
