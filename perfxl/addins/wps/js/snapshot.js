// The open workbook read through the object model, as the JSON that perfxl's reader parses
// (perfxl/snapshot.py, SnapshotSource): sheet names, workbook-scope defined names, tables and
// each sheet's values from A1. Used when the workbook's bytes cannot be read (never saved, a
// file WPS holds locked): the server then checks what the clerk sees on screen.
(function (root, factory) {
  if (typeof module === "object" && module.exports) module.exports = factory();
  else root.PerfxlSnapshot = factory();
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  var SNAPSHOT_VERSION = 1;

  function noDollar(address) { return String(address).replace(/\$/g, ""); }

  function grid(ws) {
    var used = ws.UsedRange;
    var lastRow = used.Row + used.Rows.Count - 1;
    var lastCol = used.Column + used.Columns.Count - 1;
    var v = ws.Range(ws.Cells.Item(1, 1), ws.Cells.Item(lastRow, lastCol)).Value2;
    if (!Array.isArray(v)) return [[v === undefined ? null : v]];
    return v.map(function (row) {
      return (Array.isArray(row) ? row : [row]).map(function (x) { return x === undefined ? null : x; });
    });
  }

  /** ``book`` → {version, name, sheets, names, tables, grids}. */
  function readSnapshot(book) {
    var sheets = [], grids = {}, tables = {}, names = {};
    for (var i = 1; i <= book.Sheets.Count; i++) {
      var ws = book.Sheets.Item(i);
      sheets.push(ws.Name);
      grids[ws.Name] = grid(ws);
      for (var j = 1; j <= ws.ListObjects.Count; j++) {
        var t = ws.ListObjects.Item(j);
        var headers = [];
        var header = t.HeaderRowRange;
        for (var c = 1; header && c <= header.Columns.Count; c++) {
          var h = header.Cells.Item(1, c).Value2;
          headers.push(h === null || h === undefined ? "" : String(h).trim());
        }
        tables[t.Name] = { sheet: ws.Name, ref: noDollar(t.Range.Address), headers: headers,
                           totals: t.ShowTotals ? 1 : 0 };
      }
    }
    for (var k = 1; k <= book.Names.Count; k++) {
      var n = book.Names.Item(k);
      if (String(n.Name).indexOf("!") >= 0) continue;  // sheet scope; the contract uses workbook scope
      names[n.Name] = String(n.RefersTo || "").replace(/^=/, "");
    }
    return { version: SNAPSHOT_VERSION, name: book.Name, sheets: sheets, names: names, tables: tables,
             grids: grids };
  }

  return { readSnapshot: readSnapshot, SNAPSHOT_VERSION: SNAPSHOT_VERSION };
});
