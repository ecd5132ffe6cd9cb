// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";

  // After boosted navigation, move focus to the main region so screen readers announce the new page.
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.boosted) {
      var main = document.getElementById("main");
      if (main) main.focus({ preventScroll: true });
    }
  });

  // A boosted page (every page of an embedded portal) swaps only <body>: take the new page's
  // language along, so that <html lang> and dir stay true after the language is switched.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (!event.detail.boosted || !event.detail.xhr) return;
    var root = /<html\b[^>]*>/i.exec(event.detail.xhr.responseText || "");
    if (!root) return;
    ["lang", "dir"].forEach(function (name) {
      var value = new RegExp("\\s" + name + '="([^"]*)"').exec(root[0]);
      if (value) document.documentElement.setAttribute(name, value[1]);
    });
  });

  // Filters folded behind one "Filters" control on a phone (details[data-open-wide]) are open on wider screens.
  var wide = window.matchMedia("(min-width: 48rem)");
  function openWideDisclosures() {
    document.querySelectorAll("details[data-open-wide]").forEach(function (details) {
      details.open = wide.matches;
    });
  }
  document.addEventListener("DOMContentLoaded", openWideDisclosures);
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.boosted) openWideDisclosures();
  });
  wide.addEventListener("change", openWideDisclosures);

  var lang = document.documentElement.lang || undefined;

  // Feedback while waiting. htmx marks the element that asked (htmx-request, styled in portal.css)
  // and disables what hx-disabled-elt names; this marks the region about to change busy for
  // assistive technology. Polls in the background (data-poll) do not make the page look busy.
  function regionOf(detail) {
    var target = detail.target;
    return !target || target === document.body ? document.getElementById("main") : target;
  }
  // Disabling the focused button (hx-disabled-elt) drops focus to the page; it comes back once the
  // answer is in and htmx has enabled the button again (afterRequest comes after both).
  var focusedBefore = null;
  var focusedFor = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt.hasAttribute("data-poll")) return;
    focusedBefore = document.activeElement;
    focusedFor = event.detail.xhr;
    var region = regionOf(event.detail);
    if (region) region.setAttribute("aria-busy", "true");
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var region = regionOf(event.detail);
    if (region && region.getAttribute("aria-busy") === "true") region.setAttribute("aria-busy", "false");
    if (event.detail.xhr !== focusedFor) return;
    var lost = !document.activeElement || document.activeElement === document.body;
    if (lost && focusedBefore && focusedBefore.isConnected && !focusedBefore.disabled) {
      focusedBefore.focus({ preventScroll: true });
    }
    focusedBefore = focusedFor = null;
  });

  // An answer may name what should take focus next ("data-focus-on-swap": an error summary, a run's
  // state) or only be brought into view ("data-reveal-on-swap": a saved message beside the button).
  document.addEventListener("htmx:afterSettle", function () {
    var next = document.querySelector("[data-focus-on-swap]");
    if (next) {
      next.removeAttribute("data-focus-on-swap");
      next.focus({ preventScroll: true });
    }
    next = next || document.querySelector("[data-reveal-on-swap]");
    if (!next) return;
    next.removeAttribute("data-reveal-on-swap");
    next.scrollIntoView({ block: "nearest" });
  });

  // Relative times ("2 hours ago"), in the words the server used, kept current.
  var relative = window.Intl && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat(lang, { numeric: "auto" }) : null;
  function relativeWords(then, now) {
    var seconds = (then - now) / 1000;
    var size = Math.abs(seconds);
    if (size < 60) return relative.format(0, "second");
    if (size < 3600) return relative.format(Math.trunc(seconds / 60), "minute");
    if (size < 86400) return relative.format(Math.trunc(seconds / 3600), "hour");
    return relative.format(Math.trunc(seconds / 86400), "day");
  }
  function refreshTimes() {
    if (!relative) return;
    var now = Date.now();
    document.querySelectorAll("time[data-relative]").forEach(function (element) {
      var then = Date.parse(element.getAttribute("datetime"));
      if (!isNaN(then)) element.textContent = relativeWords(then, now);
    });
  }

  // Countdowns ("Available again in 42 seconds") tick down to the moment the server named.
  var secondsFormat = window.Intl ? new Intl.NumberFormat(lang, { style: "unit", unit: "second", unitDisplay: "long" }) : null;
  function tickCountdowns() {
    if (!secondsFormat) return;
    var now = Date.now();
    document.querySelectorAll("[data-countdown]").forEach(function (element) {
      if (!element.dataset.countdownEnd) {
        element.dataset.countdownEnd = String(now + parseInt(element.dataset.countdown, 10) * 1000);
      }
      var left = Math.max(0, Math.ceil((Number(element.dataset.countdownEnd) - now) / 1000));
      element.textContent = secondsFormat.format(left);
    });
  }

  // A sync window's local-time hints follow what is typed, and its presets fill its two fields.
  var localFormats = {};
  function updateHint(input) {
    var hint = document.querySelector('[data-local-for="' + input.id + '"]');
    if (!hint) return;
    var then = Date.parse(input.value + ":00Z");
    if (isNaN(then) || !window.Intl) {
      hint.textContent = "";
      return;
    }
    var zone = hint.dataset.zone;
    if (!localFormats[zone]) {
      localFormats[zone] = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short", timeZone: zone });
    }
    hint.textContent = hint.dataset.template.replace("{local}", localFormats[zone].format(then));
  }
  document.addEventListener("input", function (event) {
    var input = event.target;
    if (input.type !== "datetime-local") return;
    updateHint(input);
    var custom = input.closest("[data-window]") && input.closest("[data-window]").querySelector('input[type="radio"][value="custom"]');
    if (custom) custom.checked = true;
  });
  document.addEventListener("change", function (event) {
    var preset = event.target;
    if (preset.type !== "radio" || !preset.dataset.start) return;
    var fields = preset.closest("[data-window]").querySelectorAll('input[type="datetime-local"]');
    fields[0].value = preset.dataset.start;
    fields[1].value = preset.dataset.end;
    fields.forEach(updateHint);
    // As if typed: the order window's preview listens for this.
    fields[1].dispatchEvent(new Event("change", { bubbles: true }));
  });

  function refresh() {
    refreshTimes();
    tickCountdowns();
  }
  document.addEventListener("DOMContentLoaded", refresh);
  document.addEventListener("htmx:afterSettle", refresh);
  setInterval(tickCountdowns, 1000);
  setInterval(refreshTimes, 30000);
})();
