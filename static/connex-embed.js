/*
 * Connex Portal embed helper for the partner's page. No dependencies.
 *
 *   var portal = ConnexPortal.mount(document.getElementById("connex"), {
 *     url: launchUrl,                       // from POST /api/v1/embed-sessions, made by your server
 *     onEvent: function (event) { ... },    // {type: "ready" | "navigated" | "settings_saved" | ...}
 *     failedText: "...",                    // optional: shown in place of a frame the portal refused
 *   });
 *   portal.navigate("/products/");          // optional: show another portal page
 *   portal.destroy();                       // remove the frame and stop listening
 *
 * Messages go only to the portal's origin (the origin of `url`), and only messages from that
 * origin and from this very iframe are heard.
 *
 * A frame whose page never answers (the portal's frame-ancestors refused this page's origin, so the
 * browser shows an error page that cannot say so) is hidden a few seconds after it loads; a short
 * text takes its place and the host hears {type: "launch_failed", reason: "frame_refused"}.
 */
(function (window, document) {
  "use strict";

  var EVENTS = [
    "ready",
    "navigated",
    "settings_saved",
    "sync_started",
    "sync_finished",
    "sync_failed",
    "session_expired",
    "launch_failed",
  ];
  var DEFAULT_HEIGHT = 480;
  // The portal's page says "ready" (or why it refused) before its load event; this is the leeway.
  var ANSWER_GRACE_MS = 3000;
  var DEFAULT_FAILED_TEXT =
    "Connex Portal could not be shown on this page. If this keeps happening, please contact support.";

  function mount(element, options) {
    if (!element || !element.appendChild) throw new TypeError("ConnexPortal.mount: element must be a DOM element");
    if (!options || !options.url) throw new TypeError("ConnexPortal.mount: options.url (the launch URL) is required");
    var url = new URL(options.url, document.baseURI);
    var portalOrigin = url.origin;
    var onEvent = typeof options.onEvent === "function" ? options.onEvent : function () {};
    var answered = false;
    var failed = false;
    var answerTimer = null;
    var notice = null;

    var iframe = document.createElement("iframe");
    iframe.title = options.title || "Connex Portal";
    // The portal learns which of the partner's origins framed it from this (and, in Chromium and
    // Safari, from location.ancestorOrigins), to address its messages to exactly this page.
    iframe.referrerPolicy = "origin";
    iframe.style.display = "block";
    iframe.style.width = "100%";
    iframe.style.border = "0";
    iframe.style.height = (options.height || DEFAULT_HEIGHT) + "px";
    iframe.src = url.href;

    function receive(event) {
      if (event.origin !== portalOrigin || event.source !== iframe.contentWindow) return;
      var data = event.data;
      if (!data || typeof data !== "object" || data.source !== "connex-portal" || typeof data.type !== "string") {
        return;
      }
      if (failed) return;
      answered = true;
      if (data.type === "resize") {
        if (typeof data.height === "number" && data.height > 0) iframe.style.height = Math.ceil(data.height) + "px";
        return;
      }
      if (EVENTS.indexOf(data.type) === -1) return;
      var portalEvent = {};
      Object.keys(data).forEach(function (key) {
        if (key !== "source") portalEvent[key] = data[key];
      });
      onEvent(portalEvent);
    }

    // The frame loaded, yet its page did not answer: it is not the portal's page but the browser's
    // error page, most often because frame-ancestors does not list this page's origin.
    function refused() {
      failed = true;
      iframe.style.display = "none";
      notice = document.createElement("p");
      notice.className = "connex-portal-failed";
      notice.setAttribute("role", "alert");
      notice.textContent = options.failedText || DEFAULT_FAILED_TEXT;
      notice.style.margin = "0";
      notice.style.padding = "1em";
      notice.style.border = "1px solid currentColor";
      notice.style.borderRadius = "4px";
      element.appendChild(notice);
      if (window.console) {
        window.console.error(
          "ConnexPortal: the portal at " +
            portalOrigin +
            " did not start in its frame. If " +
            window.location.origin +
            " is not among the partner's embed origins, the portal's frame-ancestors refuses it: " +
            "add it to the partner."
        );
      }
      onEvent({ type: "launch_failed", reason: "frame_refused" });
    }

    window.addEventListener("message", receive);
    element.appendChild(iframe);
    // Listened to once the frame is in the page: only its document's loads count.
    iframe.addEventListener("load", function () {
      if (answered || failed || answerTimer !== null) return;
      answerTimer = window.setTimeout(function () {
        if (!answered) refused();
      }, ANSWER_GRACE_MS);
    });

    return {
      iframe: iframe,
      navigate: function (path) {
        if (iframe.contentWindow) {
          iframe.contentWindow.postMessage({ source: "connex-host", type: "navigate", path: String(path) }, portalOrigin);
        }
      },
      destroy: function () {
        window.removeEventListener("message", receive);
        window.clearTimeout(answerTimer);
        if (iframe.parentNode) iframe.parentNode.removeChild(iframe);
        if (notice && notice.parentNode) notice.parentNode.removeChild(notice);
      },
    };
  }

  window.ConnexPortal = { mount: mount, events: EVENTS.slice() };
})(window, document);
