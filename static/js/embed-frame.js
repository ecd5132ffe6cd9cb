// The embedded portal's side of the conversation with the host page (the host runs
// static/connex-embed.js), and how it moves between pages without ever putting the session
// token in a URL. Loaded only on embedded pages; the server renders its settings into
// #connex-embed: the partner's allowed origins, the session token (this page's memory only),
// the event of a refusal page, and where to mint navigation tickets.
(function () {
  "use strict";

  var HEADER = "X-Connex-Embed";
  var configElement = document.getElementById("connex-embed");
  if (!configElement) return;
  var config = JSON.parse(configElement.textContent);

  // The ticket that opened this page is spent: take it out of the address at once, so that the
  // history entry, a reload and anything built from location.href hold no trace of it.
  (function forgetTicket() {
    var url = new URL(window.location.href);
    if (!url.searchParams.has(config.ticket_param)) return;
    url.searchParams.delete(config.ticket_param);
    window.history.replaceState(window.history.state, "", url.pathname + url.search + url.hash);
  })();

  if (window.parent === window) return;
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
  var leaving = false;

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
    if (!origins.length) {
      // A refusal that names no partner holds no data and no controls: whichever page frames
      // it may hear why, so that it can open the portal again.
      return config.event ? candidates[0] || null : null;
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

  // The page's path for the host, without any ticket.
  function portalPath(url) {
    var parsed = new URL(url, window.location.href);
    parsed.searchParams.delete(config.ticket_param);
    return parsed.pathname + parsed.search;
  }

  // Why the portal refused a request made with the header (its HX-Trigger names the reason).
  function refusalReason(xhr) {
    try {
      return JSON.parse(xhr.getResponseHeader("HX-Trigger"))["connex:session_expired"].reason;
    } catch (error) {
      return "expired";
    }
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

  if (window.htmx && config.token) {
    document.addEventListener("htmx:pushedIntoHistory", function (event) {
      post("navigated", { path: portalPath(event.detail.path) });
    });
    // Back and forward fetch the page with htmx, which sends the header, rather than reload it:
    // a reload carries no session (history holds none) and would only show a refusal. Set once
    // htmx has read the page's htmx-config, which it does on DOMContentLoaded.
    document.addEventListener("DOMContentLoaded", function () {
      window.htmx.config.refreshOnHistoryMiss = false;
    });
    document.addEventListener("htmx:historyCacheMiss", function (event) {
      event.detail.xhr.setRequestHeader(HEADER, config.token);
    });
    document.addEventListener("htmx:historyRestore", function (event) {
      post("navigated", { path: portalPath(event.detail.path) });
    });
    document.addEventListener("htmx:historyCacheMissLoadError", function (event) {
      if (event.detail.xhr.status === 401) tellSessionEnded({ reason: refusalReason(event.detail.xhr) });
    });
  }

  // --- Full-page loads: a link or GET form that htmx did not take (it prevents the default of
  // those it takes) opens with a navigation ticket minted for it, never with the token.
  function openWithTicket(url) {
    if (leaving || sessionEnded) return;
    leaving = true;
    var headers = {};
    headers[HEADER] = config.token;
    window
      .fetch(config.tickets, {
        method: "POST",
        headers: headers,
        body: new URLSearchParams({ path: url.pathname + url.search }),
        credentials: "omit",
        cache: "no-store",
      })
      .then(function (response) {
        if (response.status === 401) {
          leaving = false;
          tellSessionEnded({ reason: "expired" });
          return null;
        }
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (minted) {
        if (minted) window.location.assign(minted.url + url.hash);
      })
      .catch(function () {
        leaving = false;
      });
  }

  function sameSitePage(url) {
    return url.origin === window.location.origin;
  }

  if (config.token) {
    document.addEventListener("click", function (event) {
      if (event.defaultPrevented || event.button !== 0) return;
      if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      var link = event.target.closest ? event.target.closest("a[href]") : null;
      if (!link || link.hasAttribute("download") || (link.target && link.target !== "_self")) return;
      var url = new URL(link.href, window.location.href);
      if (!sameSitePage(url)) return;
      var here = new URL(window.location.href);
      if (url.hash && url.pathname === here.pathname && url.search === here.search) return;
      event.preventDefault();
      openWithTicket(url);
    });
    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (event.defaultPrevented || (form.getAttribute("method") || "get").toLowerCase() !== "get") return;
      var url = new URL(form.action, window.location.href);
      if (!sameSitePage(url)) return;
      event.preventDefault();
      url.search = new URLSearchParams(new FormData(form, event.submitter)).toString();
      openWithTicket(url);
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
