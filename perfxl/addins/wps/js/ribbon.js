// The ribbon callbacks WPS calls (ribbon.xml names them ribbon.OnAddinLoad / ribbon.OnAction):
// the only file that touches WPS's globals (window.Application, wps.FileSystem, PluginStorage).
/* global window, wps, localStorage, PerfxlActions, PerfxlClient, PerfxlSettings, PerfxlMessages */
(function () {
  "use strict";

  function app() { return window.Application || (typeof wps !== "undefined" && wps.EtApplication && wps.EtApplication()); }

  function stores() {
    var out = [];
    try { if (typeof localStorage !== "undefined") out.push(localStorage); } catch (e) { /* none */ }
    try { if (app() && app().PluginStorage) out.push(app().PluginStorage); } catch (e) { /* none */ }
    return out;
  }

  function fileSystem() {
    var a = app();
    return (a && a.FileSystem) || (typeof wps !== "undefined" && wps.FileSystem);
  }

  function env() {
    var settings = PerfxlSettings.load(stores());
    if (!settings.server && /^https?:$/.test(window.location.protocol)) {
      // online mode: the add-in was loaded from the bureau's service itself
      settings = { server: window.location.origin, token: settings.token };
    }
    return {
      app: app(),
      fs: fileSystem(),
      client: PerfxlClient.createClient({ server: settings.server, token: settings.token }),
      ui: {
        alert: function (text) { window.alert(text); },
        confirm: function (text) { return window.confirm(text); },
        prompt: function (text, value) { return window.prompt(text, value); }
      },
      settings: { get: function () { return settings; }, set: function (s) { PerfxlSettings.save(stores(), s); } }
    };
  }

  window.ribbon = {
    OnAddinLoad: function (ribbonUI) {
      if (app() && typeof app().ribbonUI !== "object") app().ribbonUI = ribbonUI;
      return true;
    },
    OnAction: function (control) {
      var id = control && (control.Id || control.id);
      try {
        PerfxlActions.run(env(), id);
      } catch (e) {
        window.alert(PerfxlMessages.internal(e));
      }
      return true;
    }
  };
})();
