// What each button does, over an injected environment so that node can run it against a fake
// object model and a real server:
//   env.app      the application (ActiveWorkbook, StatusBar, ScreenUpdating, DisplayAlerts)
//   env.fs       file access as wps.FileSystem offers it (tmpdir, readAsBinaryString,
//                writeAsBinaryString, Exists, Remove)
//   env.client   PerfxlClient.createClient(settings)
//   env.ui       alert(text), confirm(text) → bool, prompt(text, value) → string | null
//   env.settings {get() → {server, token}, set(settings)}
// Each action resolves to the message shown (also passed to env.ui.alert); nothing is saved.
(function (root, factory) {
  if (typeof module === "object" && module.exports) {
    module.exports = factory(require("./apply.js"), require("./snapshot.js"), require("./messages.js"),
                             require("./settings.js"));
  } else {
    root.PerfxlActions = factory(root.PerfxlApply, root.PerfxlSnapshot, root.PerfxlMessages, root.PerfxlSettings);
  }
})(typeof self !== "undefined" ? self : this, function (A, S, M, Settings) {
  "use strict";

  var BUTTONS = {
    perfxlCheck: "check", perfxlScore: "score", perfxlReport: "report", perfxlRunAll: "all",
    perfxlSubmitNow: "submit", perfxlSettings: "settings", perfxlShowHelp: "help"
  };

  function bytesToBinary(bytes) {
    var u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    var out = [];
    for (var i = 0; i < u8.length; i += 8192) {
      out.push(String.fromCharCode.apply(null, u8.subarray(i, i + 8192)));
    }
    return out.join("");
  }

  function binaryToBytes(s) {
    var u8 = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) u8[i] = s.charCodeAt(i) & 0xff;
    return u8;
  }

  function sep(path) { return String(path).indexOf("\\") >= 0 ? "\\" : "/"; }

  function join(dir, name) {
    dir = String(dir);
    return /[\\/]$/.test(dir) ? dir + name : dir + sep(dir) + name;
  }

  function stem(name) { return String(name).replace(/\.[^.]*$/, ""); }

  /** The open book as bytes: a copy saved to the temporary folder (the clerk's unsaved edits
   *  included, the book itself untouched); else the saved file when nothing changed since;
   *  else null (the caller falls back to the object-model snapshot). */
  function workbookBytes(env, book) {
    var fs = env.fs;
    if (!fs) return null;
    try {
      var tmp = join(fs.tmpdir(), "perfxl-" + Date.now() + "-" + book.Name);
      book.SaveCopyAs(tmp);
      try {
        return binaryToBytes(fs.readAsBinaryString(tmp));
      } finally {
        try { fs.Remove(tmp); } catch (e) { /* a leftover temporary copy harms nothing */ }
      }
    } catch (e) {
      try {
        if (book.Path && book.Saved && fs.Exists(book.FullName)) return binaryToBytes(fs.readAsBinaryString(book.FullName));
      } catch (e2) { /* unreadable too: the snapshot will do */ }
      return null;
    }
  }

  function reportPath(env, book) {
    var name = stem(book.Name) + "-自评报告.docx";
    return book.Path ? { path: join(book.Path, name), temp: false } : { path: join(env.fs.tmpdir(), name), temp: true };
  }

  function status(env, text) {
    try { env.app.StatusBar = text; } catch (e) { /* the status bar is a courtesy */ }
  }

  function check(env, book, action) {
    var bytes = workbookBytes(env, book);
    var asked = bytes ? env.client.check(bytes, book.Name) : env.client.checkSnapshot(S.readSnapshot(book));
    return asked.then(function (result) {
      var edits = A.selectEdits(result.edits || [], action);
      A.applyEdits(env.app, book, edits);
      var said = result.messages || {};  // the service's own sentences, when it sends them
      var lines = [];
      if (action !== "score") lines.push(said.check || M.checkSummary(result));
      if (action !== "check") lines.push(said.score || M.scoreSummary(result));
      if (!bytes) lines.push(M.SNAPSHOT_USED);
      return { lines: lines, edits: edits.length, bytes: bytes };
    });
  }

  function report(env, book, bytes) {
    bytes = bytes || workbookBytes(env, book);
    if (!bytes) return Promise.resolve([M.SUBMIT_UNSAVED.replace("正式报送", "生成报告")]);
    return env.client.report(bytes, book.Name).then(function (doc) {
      var where = reportPath(env, book);
      env.fs.writeAsBinaryString(where.path, bytesToBinary(new Uint8Array(doc)));
      return [where.temp ? M.reportInTemp(where.path) : M.reportWritten(where.path)];
    });
  }

  function submit(env, book) {
    if (!book.Path) return Promise.resolve(M.SUBMIT_UNSAVED);
    if (!book.Saved) return Promise.resolve(M.SAVE_FIRST);
    if (!env.ui.confirm(M.confirmSubmit(book.Name))) return Promise.resolve("");
    var bytes = binaryToBytes(env.fs.readAsBinaryString(book.FullName));
    return env.client.submit(bytes, book.Name).then(M.submitted);
  }

  function settings(env) {
    var current = env.settings.get();
    var server = env.ui.prompt(M.ASK_SERVER, current.server || "http://");
    if (server === null || server === undefined) return Promise.resolve("");
    var token = env.ui.prompt(M.ASK_TOKEN, "");
    if (token === null || token === undefined) return Promise.resolve("");
    var next = Settings.fromInput(current, server, token);
    if (!next) return Promise.resolve(M.BAD_SERVER);
    env.settings.set(next);
    return Promise.resolve(M.SETTINGS_SAVED);
  }

  function perform(env, action) {
    if (action === "help") return Promise.resolve(M.HELP);
    if (action === "settings") return settings(env);
    if (!env.client.server) return Promise.resolve(M.NEED_SETTINGS);
    var book = env.app.ActiveWorkbook;
    if (!book) return Promise.resolve(M.NO_WORKBOOK);
    if (action === "submit") return submit(env, book);
    if (action === "report") return report(env, book).then(function (l) { return l.join("\n"); });
    return check(env, book, action).then(function (done) {
      var tail = done.edits ? [M.NOT_SAVED] : [];
      if (action !== "all") return done.lines.concat(tail).join("\n");
      return report(env, book, done.bytes).then(function (l) { return done.lines.concat(l, tail).join("\n"); });
    });
  }

  /** Run one button (``action`` or a ribbon control id) and show the outcome; resolves to it. */
  function run(env, action) {
    action = BUTTONS[action] || action;
    status(env, "绩效自评：正在处理，请稍候……");
    var p;
    try { p = perform(env, action); } catch (e) { p = Promise.reject(e); }
    return p.then(function (text) { return text; }, function (err) {
      return err && err.name === "ClientError" ? err.message : M.internal(err);
    }).then(function (text) {
      status(env, false);
      if (text) env.ui.alert(text);
      return text;
    });
  }

  return { run: run, BUTTONS: BUTTONS, workbookBytes: workbookBytes, bytesToBinary: bytesToBinary,
           binaryToBytes: binaryToBytes, reportPath: reportPath };
});
