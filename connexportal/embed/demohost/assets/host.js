// The demo partner app's page: asks its own server for a launch URL (the server holds the API
// key), mounts the portal with connex-embed.js, and logs every event the portal sends.
(function () {
  "use strict";

  var form = document.getElementById("session-form");
  var status = document.getElementById("status");
  var log = document.getElementById("event-log");
  var container = document.getElementById("portal");
  var portal = null;

  function record(event) {
    var item = document.createElement("li");
    item.dataset.type = event.type;
    var detail = Object.assign({}, event);
    delete detail.type;
    var extra = Object.keys(detail).length ? " " + JSON.stringify(detail) : "";
    item.textContent = new Date().toLocaleTimeString() + " " + event.type + extra;
    log.appendChild(item);
    if (event.type === "session_expired") {
      status.textContent = "The portal session ended: press New session to open a fresh one.";
    } else if (event.type === "launch_failed" && event.reason === "frame_refused") {
      status.textContent =
        "The portal would not open inside this page: the partner does not allow " + location.origin + " to embed it.";
    } else if (event.type === "launch_failed") {
      status.textContent =
        "The launch URL did not open the portal (" + event.reason + "): press New session to try again.";
    }
  }

  function newSession() {
    status.textContent = "Asking the partner API for a launch URL…";
    fetch("/sessions", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ merchant: form.merchant.value, language: form.language.value }),
    })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) throw new Error(body.error || "HTTP " + response.status);
          return body;
        });
      })
      .then(function (session) {
        if (portal) portal.destroy();
        portal = window.ConnexPortal.mount(container, { url: session.url, onEvent: record });
        status.textContent = "Launch URL valid until " + new Date(session.expires_at).toLocaleTimeString() + ".";
      })
      .catch(function (error) {
        status.textContent = "Could not open the portal: " + error.message;
      });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    newSession();
  });
  document.querySelectorAll("[data-path]").forEach(function (button) {
    button.addEventListener("click", function () {
      if (portal) portal.navigate(button.dataset.path);
    });
  });
  newSession();
})();
