// ReqLoop: the little behaviour pages need. No inline scripts (the CSP forbids them).
"use strict";
document.addEventListener("submit", function (event) {
  // Destructive forms carry data-confirm: ask before sending.
  var form = event.target;
  var question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
document.addEventListener("DOMContentLoaded", function () {
  // Move the keyboard to the first field with an error.
  var bad = document.querySelector("[aria-invalid=true]");
  if (bad) { bad.focus(); }
});
document.addEventListener("click", function (event) {
  // Buttons with data-print open the browser's print dialog (A4 print stylesheet).
  if (event.target.getAttribute && event.target.getAttribute("data-print")) {
    window.print();
  }
});
document.addEventListener("keydown", function (event) {
  // "/" jumps to the search box, unless one is typing somewhere already.
  var t = event.target;
  var typing = t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  var box = document.getElementById("top-search");
  if (event.key === "/" && !typing && box && !event.ctrlKey && !event.metaKey && !event.altKey) {
    event.preventDefault();
    box.focus();
  }
});
