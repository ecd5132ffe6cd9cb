/*
 * Connex Portal embed helper for the partner's page. No dependencies.
 *
 *   var portal = ConnexPortal.mount(document.getElementById("connex"), {
 *     url: launchUrl,                       // from POST /api/v1/embed-sessions, made by your server
 *     onEvent: function (event) { ... },    // {type: "ready" | "navigated" | "settings_saved" | ...}
 *   });
 *   portal.navigate("/products/");          // optional: show another portal page
 *   portal.destroy();                       // remove the frame and stop listening
 *
 * Messages go only to the portal's origin (the origin of `url`), and only messages from that
 * origin and from this very iframe are heard.
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
    "launch_invalid",
  ];
  var DEFAULT_HEIGHT = 480;

  function mount(element, options) {
    if (!element || !element.appendChild) throw new TypeError("ConnexPortal.mount: element must be a DOM element");
    if (!options || !options.url) throw new TypeError("ConnexPortal.mount: options.url (the launch URL) is required");
    var url = new URL(options.url, document.baseURI);
    var portalOrigin = url.origin;
    var onEvent = typeof options.onEvent === "function" ? options.onEvent : function () {};

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

    window.addEventListener("message", receive);
    element.appendChild(iframe);

    return {
      iframe: iframe,
      navigate: function (path) {
        if (iframe.contentWindow) {
          iframe.contentWindow.postMessage({ source: "connex-host", type: "navigate", path: String(path) }, portalOrigin);
        }
      },
      destroy: function () {
        window.removeEventListener("message", receive);
        if (iframe.parentNode) iframe.parentNode.removeChild(iframe);
      },
    };
  }

  window.ConnexPortal = { mount: mount, events: EVENTS.slice() };
})(window, document);
