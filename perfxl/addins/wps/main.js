// Entry of the perfxl WPS add-in. WPS opens its own index.html, which loads this file; this
// file loads the modules in js/ in order (each also loads in node for the tests).
(function () {
  var files = ["js/apply.js", "js/snapshot.js", "js/messages.js", "js/client.js",
               "js/settings.js", "js/actions.js", "js/ribbon.js"];
  for (var i = 0; i < files.length; i++) {
    document.write('<script type="text/javascript" src="' + files[i] + '"></scr' + 'ipt>');
  }
})();
