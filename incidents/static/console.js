// Vigil console behaviour. No inline script anywhere (CSP); pages work without this file.
(function () {
  "use strict";

  function fmt(seconds) {
    var s = Math.abs(Math.round(seconds));
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (d) return d + "d " + h + "h";
    if (h) return h + "h " + String(m).padStart(2, "0") + "m";
    if (m) return m + "m " + String(s % 60).padStart(2, "0") + "s";
    return (s % 60) + "s";
  }

  // Live countdowns to response deadlines: <time class="countdown" datetime="ISO">.
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time.countdown").forEach(function (el) {
      var due = Date.parse(el.getAttribute("datetime"));
      if (isNaN(due)) return;
      var left = (due - now) / 1000;
      el.textContent = left >= 0 ? fmt(left) + " left" : "overdue " + fmt(left);
      el.classList.toggle("overdue", left < 0);
      el.classList.toggle("soon", left >= 0 && left < 900);
    });
  }

  // Buttons that change something important ask first.
  document.addEventListener("submit", function (e) {
    var button = e.submitter || e.target.querySelector("[data-confirm]");
    var question = button && button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) e.preventDefault();
  }, true);

  // Keyboard shortcuts: a button with data-key="a" is pressed by the key a (not while typing).
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    if (e.key === "?") { var help = document.getElementById("shortcuts"); if (help) help.toggleAttribute("open"); return; }
    var button = document.querySelector('[data-key="' + CSS.escape(e.key) + '"]');
    if (button && !button.disabled) { e.preventDefault(); button.click(); }
  });

  // Copy buttons: <button data-copy="#id">.
  document.addEventListener("click", function (e) {
    var button = e.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      var label = button.textContent; button.textContent = "Copied"; setTimeout(function () { button.textContent = label; }, 1500);
    });
  });

  // htmx requests carry the CSRF token like forms do.
  document.addEventListener("htmx:configRequest", function (e) {
    var token = document.body.getAttribute("data-csrf");
    if (token) e.detail.headers["X-CSRFToken"] = token;
  });
  document.addEventListener("htmx:afterSwap", tick);

  document.addEventListener("DOMContentLoaded", function () { tick(); setInterval(tick, 1000); });
})();
