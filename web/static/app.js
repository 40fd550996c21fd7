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
})();
