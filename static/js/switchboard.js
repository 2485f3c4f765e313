// Shared by every page. The Content-Security-Policy refuses style="" attributes, so values the server
// computes (a label's colour, a progress bar's width) arrive as data attributes and are applied here
// through the CSSOM, which the policy allows. htmx.onLoad runs for the page and for every swapped-in part.
(function () {
  function within(root, selector) {
    var found = Array.prototype.slice.call(root.querySelectorAll(selector));
    if (root.matches && root.matches(selector)) found.unshift(root);
    return found;
  }
  htmx.onLoad(function (root) {
    within(root, "[data-label-color]").forEach(function (el) {
      el.style.setProperty("--label", el.dataset.labelColor);
    });
    within(root, "[data-percent]").forEach(function (el) {
      el.style.width = Math.max(0, Math.min(100, Number(el.dataset.percent) || 0)) + "%";
    });
  });
})();
