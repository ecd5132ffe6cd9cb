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
})();
