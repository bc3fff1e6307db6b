// Progressive enhancement only: every page works without this file.
// On a narrow screen, start with the filters folded so the results come first.
(function () {
  var narrow = window.matchMedia("(max-width: 47.99rem)");
  function fold(root) {
    if (!narrow.matches) return;
    (root || document).querySelectorAll(".facets > details[open]").forEach(function (d) {
      d.open = false;
    });
  }
  document.addEventListener("DOMContentLoaded", function () { fold(); });
  document.addEventListener("htmx:load", function (event) { fold(event.target); });
})();
