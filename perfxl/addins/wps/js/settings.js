// Server address and token, kept once per PC: in WPS's PluginStorage when it persists, else in
// the add-in page's localStorage (both belong to this add-in only).
(function (root, factory) {
  if (typeof module === "object" && module.exports) module.exports = factory(require("./client.js"));
  else root.PerfxlSettings = factory(root.PerfxlClient);
})(typeof self !== "undefined" ? self : this, function (C) {
  "use strict";

  var KEY = "perfxl.settings";

  /** ``stores``: objects with getItem/setItem (localStorage, wps.PluginStorage), first wins. */
  function load(stores) {
    for (var i = 0; i < stores.length; i++) {
      try {
        var raw = stores[i] && stores[i].getItem(KEY);
        if (raw) {
          var s = typeof raw === "string" ? JSON.parse(raw) : raw;
          if (s && s.server) return { server: s.server, token: s.token || "" };
        }
      } catch (e) { /* an unreadable store is as good as an empty one */ }
    }
    return { server: "", token: "" };
  }

  function save(stores, settings) {
    var raw = JSON.stringify({ server: settings.server, token: settings.token || "" });
    stores.forEach(function (s) { try { if (s) s.setItem(KEY, raw); } catch (e) { /* next store */ } });
  }

  /** Validate what the clerk typed; returns the settings to save or null. Empty token keeps the old. */
  function fromInput(current, serverText, tokenText) {
    var server = C.normalizeServer(serverText);
    if (!server) return null;
    var token = String(tokenText || "").trim();
    return { server: server, token: token || current.token || "" };
  }

  return { load: load, save: save, fromInput: fromInput, KEY: KEY };
});
