// The bureau's perfxl service over HTTP (the API of `perfxl serve`): the open workbook goes up as
// the multipart field "file", answers come back as JSON (check, submissions) or bytes (report).
// Every failure becomes a ClientError carrying one Chinese sentence for the clerk.
(function (root, factory) {
  if (typeof module === "object" && module.exports) module.exports = factory(require("./messages.js"));
  else root.PerfxlClient = factory(root.PerfxlMessages);
})(typeof self !== "undefined" ? self : this, function (M) {
  "use strict";

  var XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

  function ClientError(message, status) {
    this.name = "ClientError";
    this.message = message;
    this.status = status || 0;
  }
  ClientError.prototype = Object.create(Error.prototype);

  /** "http://host:8000/" → "http://host:8000"; anything not http(s) → null. */
  function normalizeServer(text) {
    var s = String(text || "").trim().replace(/\/+$/, "");
    return /^https?:\/\/[^\s/]+(\/[^\s]*)?$/i.test(s) ? s : null;
  }

  function createClient(opts) {
    var server = normalizeServer(opts.server);
    var token = opts.token || "";
    var doFetch = opts.fetch || function (url, init) { return fetch(url, init); };

    // ``again``: the request changes nothing on the server (check, report), so a connection
    // that failed before any answer (a kept-alive socket the server had just closed) is tried
    // once more; a submission is never sent twice.
    function call(path, init, want, again) {
      if (!server) return Promise.reject(new ClientError(M.NEED_SETTINGS));
      init.headers = init.headers || {};
      if (token) init.headers.Authorization = "Bearer " + token;
      var url = server + path;
      var sent = doFetch(url, init);
      if (again) sent = sent.then(null, function () { return doFetch(url, init); });
      return sent.then(function (res) {
        if (res.ok) return want === "bytes" ? res.arrayBuffer() : res.json();
        return res.text().then(function (body) {
          var said = null;
          try { said = JSON.parse(body).error || null; } catch (e) { said = null; }
          throw new ClientError(M.httpError(res.status, said), res.status);
        });
      }, function (err) {
        var cause = err && err.cause && (err.cause.code || err.cause.message);
        throw new ClientError(M.unreachable(server, err && (err.message + (cause ? " " + cause : ""))));
      });
    }

    function upload(path, bytes, name, want, again) {
      var form = new FormData();
      form.append("file", new Blob([bytes], { type: XLSX }), name || "workbook.xlsx");
      return call(path, { method: "POST", body: form }, want, again);
    }

    return {
      server: server,
      /** POST /api/check: findings, scores and the cell edits for the open book. */
      check: function (bytes, name) { return upload("/api/check", bytes, name, "json", true); },
      /** POST /api/check-snapshot: the same, from the object-model snapshot (snapshot.js). */
      checkSnapshot: function (snapshot) {
        return call("/api/check-snapshot", { method: "POST", headers: { "Content-Type": "application/json" },
                                             body: JSON.stringify(snapshot) }, "json", true);
      },
      /** POST /api/report: the Word report's bytes (ArrayBuffer). */
      report: function (bytes, name) { return upload("/api/report", bytes, name, "bytes", true); },
      /** POST /api/submissions: {id, dept, year, version, total, grade, errors, warnings}. */
      submit: function (bytes, name) { return upload("/api/submissions", bytes, name, "json", false); }
    };
  }

  return { createClient: createClient, normalizeServer: normalizeServer, ClientError: ClientError };
});
