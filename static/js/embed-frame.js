// The embedded portal's side of the conversation with the host page (the host runs
// static/connex-embed.js). Loaded only on embedded pages; the server renders its settings into
// #connex-embed: the partner's allowed origins, the session token, and the event of a refusal page.
(function () {
  "use strict";

  var configElement = document.getElementById("connex-embed");
  if (!configElement || window.parent === window) return;
  var config = JSON.parse(configElement.textContent);
  var origins = config.origins || [];
  var hostOrigin = pickHostOrigin();
  if (!hostOrigin) return;

  // htmx events the portal's responses trigger (HX-Trigger) -> events for the host page.
  var HOST_EVENTS = {
    "connex:settings_saved": "settings_saved",
    "connex:sync_started": "sync_started",
    "connex:sync_finished": "sync_finished",
    "connex:sync_failed": "sync_failed",
    "connex:session_expired": "session_expired",
  };
  var DETAIL_FIELDS = ["connection_id", "run_id", "reason"];
  var sessionEnded = false;

  // The page that framed this one, if the partner allows it. Chromium and Safari name it in
  // location.ancestorOrigins; elsewhere the referrer of the first page holds it (the launch
  // redirect keeps it as an origin). Messages go to that exact origin and nowhere else.
  function pickHostOrigin() {
    var candidates = [];
    if (window.location.ancestorOrigins && window.location.ancestorOrigins.length) {
      candidates.push(window.location.ancestorOrigins[0]);
    }
    if (document.referrer) {
      try {
        candidates.push(new URL(document.referrer).origin);
      } catch (error) {
        // Not a URL: nothing to learn from it.
      }
    }
    for (var i = 0; i < candidates.length; i++) {
      if (origins.indexOf(candidates[i]) !== -1) return candidates[i];
    }
    return origins[0] || null;
  }

  function post(type, detail) {
    var message = { source: "connex-portal", type: type };
    DETAIL_FIELDS.forEach(function (field) {
      if (detail && detail[field] !== undefined && detail[field] !== null && detail[field] !== "") {
        message[field] = detail[field];
      }
    });
    if (detail && detail.path) message.path = detail.path;
    if (detail && detail.height) message.height = detail.height;
    window.parent.postMessage(message, hostOrigin);
  }

  function tellSessionEnded(detail) {
    // Every request after the end is refused too; the host needs to hear it once.
    if (sessionEnded) return;
    sessionEnded = true;
    post("session_expired", detail);
  }

  // The page's path for the host, without the session token.
  function portalPath(url) {
    var parsed = new URL(url, window.location.href);
    parsed.searchParams.delete("embed");
    return parsed.pathname + parsed.search;
  }

  // --- Height: the host sizes the iframe to the content, so the portal never scrolls inside it.
  var reportedHeight = 0;
  var heightQueued = false;
  function reportHeight() {
    heightQueued = false;
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height > 0 && height !== reportedHeight) {
      reportedHeight = height;
      post("resize", { height: height });
    }
  }
  function queueHeight() {
    if (heightQueued) return;
    heightQueued = true;
    window.requestAnimationFrame(reportHeight);
  }
  if (window.ResizeObserver) new ResizeObserver(queueHeight).observe(document.documentElement);
  window.addEventListener("load", queueHeight);
  document.addEventListener("htmx:afterSettle", queueHeight);

  // --- Events for the host.
  Object.keys(HOST_EVENTS).forEach(function (name) {
    document.addEventListener(name, function (event) {
      if (HOST_EVENTS[name] === "session_expired") tellSessionEnded(event.detail);
      else post(HOST_EVENTS[name], event.detail);
    });
  });

  if (window.htmx) {
    // History entries keep the session token, so that back, forward and reload (plain
    // navigations, which cannot send the header) still open the portal. The page itself sends
    // no referrer, so the token leaves the frame in no request header.
    document.addEventListener("htmx:beforeHistoryUpdate", function (event) {
      var url = new URL(event.detail.history.path, window.location.href);
      url.searchParams.set("embed", config.token);
      event.detail.history.path = url.pathname + url.search + url.hash;
    });
    document.addEventListener("htmx:pushedIntoHistory", function (event) {
      post("navigated", { path: portalPath(event.detail.path) });
    });
  }

  // --- Commands from the host: accepted only from the page that frames this one, at an allowed origin.
  window.addEventListener("message", function (event) {
    if (event.source !== window.parent || origins.indexOf(event.origin) === -1) return;
    var data = event.data;
    if (!data || data.source !== "connex-host" || sessionEnded || !config.token) return;
    // A path on this site only: "/x", never "//host" or "/\host", which browsers read as another host.
    if (data.type === "navigate" && typeof data.path === "string" && /^\/(?![\/\\])/.test(data.path)) {
      window.htmx.ajax("GET", data.path, { source: document.body, target: "body", swap: "innerHTML", push: "true" });
    }
  });

  if (config.event) {
    if (config.event.type === "session_expired") tellSessionEnded(config.event);
    else post(config.event.type, config.event);
  } else {
    post("ready", { path: portalPath(window.location.href) });
  }
})();
