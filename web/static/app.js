// Steeple's own script: small, no inline handlers (the CSP forbids them).
(function () {
  "use strict";
  // Buttons that ask before doing something hard to undo carry data-confirm.
  document.addEventListener("submit", function (e) {
    var btn = e.submitter;
    var msg = (btn && btn.getAttribute("data-confirm")) || e.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) {
      e.preventDefault();
    }
  });
  // The template editor's "Insert" button puts the chosen variable at the
  // cursor; without script it submits and the server appends it.
  document.addEventListener("click", function (e) {
    var btn = e.target.closest && e.target.closest("button[data-insert-variable]");
    if (!btn) {
      return;
    }
    var form = btn.form;
    var body = form && form.querySelector("textarea[name=body]");
    var sel = form && form.querySelector("select[name=variable]");
    if (!body || !sel || !sel.value) {
      return;
    }
    e.preventDefault();
    var v = "{" + sel.value + "}";
    var start = body.selectionStart, end = body.selectionEnd;
    if (typeof start !== "number") {
      start = end = body.value.length;
    }
    body.value = body.value.slice(0, start) + v + body.value.slice(end);
    body.focus();
    body.setSelectionRange(start + v.length, start + v.length);
    body.dispatchEvent(new Event("input", { bubbles: true })); // the counter follows
  });
})();
