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
  // The reply box's "Insert template" puts the chosen template (already
  // filled in for this contact) at the cursor; without script it submits
  // and the server appends it.
  document.addEventListener("click", function (e) {
    var btn = e.target.closest && e.target.closest("button[data-insert-template]");
    if (!btn) {
      return;
    }
    var form = btn.form;
    var body = form && form.querySelector("textarea[name=body]");
    var sel = form && form.querySelector("select[name=template_id]");
    var opt = sel && sel.selectedOptions[0];
    if (!body || !opt) {
      return;
    }
    e.preventDefault();
    var text = opt.getAttribute("data-text") || "";
    var start = body.selectionStart, end = body.selectionEnd;
    if (typeof start !== "number") {
      start = end = body.value.length;
    }
    body.value = body.value.slice(0, start) + text + body.value.slice(end);
    body.focus();
    body.setSelectionRange(start + text.length, start + text.length);
  });
  // Polled fragments (hx-trigger "every …") do not poll while the tab is
  // hidden: htmx cannot evaluate trigger filters under our CSP, so the
  // request is cancelled here. Live parts (data-live) refresh at once when
  // the tab is shown again.
  // Once a form is being submitted the page is leaving: polls stop (one
  // in flight is aborted), so a poll's answer cannot reload the old page
  // over the form's result.
  var leaving = false;
  document.addEventListener("submit", function (e) {
    if (e.defaultPrevented) {
      return;
    }
    leaving = true;
    document.querySelectorAll("[data-live]").forEach(function (el) {
      if (window.htmx) {
        window.htmx.trigger(el, "htmx:abort");
      }
    });
  });
  window.addEventListener("pageshow", function () {
    leaving = false;
  });
  document.addEventListener("htmx:confirm", function (e) {
    var elt = e.detail && e.detail.elt;
    var trig = elt && elt.getAttribute && elt.getAttribute("hx-trigger");
    if ((leaving || document.visibilityState === "hidden") && trig && /^\s*every\s/.test(trig)) {
      e.preventDefault();
    }
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState !== "visible" || !window.htmx) {
      return;
    }
    document.querySelectorAll("[data-live][hx-get]").forEach(function (el) {
      window.htmx.ajax("GET", el.getAttribute("hx-get"), { source: el, target: el, swap: "outerHTML" });
    });
  });
})();
