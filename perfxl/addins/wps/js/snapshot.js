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

  // Excel's error numbers (xlErrDiv0 = 2007 …); Value2 of an error cell may be the CVErr value's
  // HRESULT, 0x800A0000 + the number (as Excel's COM gives it), or the error's text.
  var ERROR_NUMBERS = { 2000: "#NULL!", 2007: "#DIV/0!", 2015: "#VALUE!", 2023: "#REF!", 2029: "#NAME?",
                        2036: "#NUM!", 2042: "#N/A", 2043: "#GETTING_DATA", 2045: "#SPILL!", 2046: "#CONNECT!",
                        2047: "#BLOCKED!", 2048: "#UNKNOWN!", 2049: "#FIELD!", 2050: "#CALC!" };
  var HRESULT_BASE = -2146828288;
  var LITERALS = Object.keys(ERROR_NUMBERS).map(function (n) { return ERROR_NUMBERS[n]; });

  function noDollar(address) { return String(address).replace(/\$/g, ""); }

  /** One Value2 as the snapshot carries it: an error value marked {error: "#N/A"} (never a
   *  blank, a zero or text), anything else not a number, text or boolean by the cell's Text. */
  function cellValue(x, ws, r, c) {
    if (x === undefined || x === null) return null;
    if (typeof x === "number") {
      var n = x - HRESULT_BASE;
      return Object.prototype.hasOwnProperty.call(ERROR_NUMBERS, n) && x < 0 ? { error: ERROR_NUMBERS[n] } : x;
    }
    if (typeof x === "string") return LITERALS.indexOf(x.trim()) >= 0 ? { error: x.trim() } : x;
    if (typeof x === "boolean") return x;
    var text = String(ws.Cells.Item(r, c).Text || "").trim();  // an error object of the host: as shown
    return LITERALS.indexOf(text) >= 0 ? { error: text } : text;
  }

  function grid(ws) {
    var used = ws.UsedRange;
    var lastRow = used.Row + used.Rows.Count - 1;
    var lastCol = used.Column + used.Columns.Count - 1;
    var v = ws.Range(ws.Cells.Item(1, 1), ws.Cells.Item(lastRow, lastCol)).Value2;
    if (!Array.isArray(v)) return [[cellValue(v, ws, 1, 1)]];
    return v.map(function (row, i) {
      return (Array.isArray(row) ? row : [row]).map(function (x, j) { return cellValue(x, ws, i + 1, j + 1); });
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
