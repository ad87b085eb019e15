// The only script of the pages: show the chosen workbook's name, and accept a workbook dropped
// on the upload box.  Everything works without it (the file input and buttons are plain HTML).
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }
  ready(function () {
    var box = document.querySelector(".upload");
    if (!box) { return; }
    var input = box.querySelector("input[type=file]");
    var label = box.querySelector(".chosen");
    function show() {
      label.textContent = input.files && input.files.length ? "已选择：" + input.files[0].name : label.getAttribute("data-empty");
    }
    input.addEventListener("change", show);
    function over(e) { e.preventDefault(); box.className = box.className.replace(/ over/g, "") + " over"; }
    function leave() { box.className = box.className.replace(/ over/g, ""); }
    box.addEventListener("dragenter", over);
    box.addEventListener("dragover", over);
    box.addEventListener("dragleave", leave);
    box.addEventListener("drop", function (e) {
      e.preventDefault();
      leave();
      if (e.dataTransfer && e.dataTransfer.files.length) { input.files = e.dataTransfer.files; show(); }
    });
  });
})();
