// The partner console's branding page: the preview frame follows the form before it is saved.
// The values travel in the preview's address, where the server checks each one again.
(function () {
  "use strict";

  var form = document.getElementById("branding-form");
  var frame = document.getElementById("branding-preview");
  if (!form || !frame) return;
  var fields = frame.dataset.fields.split(" ");
  var timer = null;

  function previewAddress() {
    var params = new URLSearchParams();
    fields.forEach(function (name) {
      var element = form.elements[name];
      if (!element) return;
      if (element.type === "checkbox") {
        if (element.checked) params.set(name, "on");
      } else {
        params.set(name, element.value);
      }
    });
    return frame.dataset.src + "?" + params.toString();
  }

  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      var address = previewAddress();
      if (frame.getAttribute("src") !== address) frame.setAttribute("src", address);
    }, 250);
  }

  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
})();
