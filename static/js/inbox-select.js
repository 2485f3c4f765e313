// Selecting conversations for a bulk action (inbox/list_views.py): tick rows (shift-click ticks a range,
// x ticks the open conversation's row), tick the whole page, then "select all in this view". The row
// checkboxes carry hx-preserve, so a live refresh of the list keeps them as they were.
(function () {
  function form() { return document.getElementById("bulk-form"); }
  function picks() { return Array.prototype.slice.call(document.querySelectorAll("#conv-list input.pick")); }
  function allSlot() { return document.getElementById("bulk-all"); }
  function wholeView() { var slot = allSlot(); return !!(slot && slot.querySelector("input[name=all]")); }

  function clearView() { var slot = allSlot(); if (slot) slot.innerHTML = ""; }

  // The count, the page box, the actions and the "select all in this view" offer follow the ticks.
  function update() {
    var f = form();
    if (!f) return;
    var boxes = picks(), ticked = boxes.filter(function (b) { return b.checked; }).length;
    var page = f.querySelector("[data-pick-page]");
    page.checked = boxes.length > 0 && ticked === boxes.length;
    page.indeterminate = ticked > 0 && ticked < boxes.length;
    if (wholeView() && ticked < boxes.length) clearView();
    f.querySelector("[data-picked]").textContent = ticked ? ticked + " selected" : "Select";
    f.classList.add("scripted");
    f.classList.toggle("picking", ticked > 0);
    var list = document.getElementById("conv-list");
    var offer = f.querySelector("[data-pick-view]");
    offer.hidden = !(page.checked && list && list.dataset.hasNext === "1") || wholeView();
  }

  function tickAll(on) { picks().forEach(function (b) { b.checked = on; }); }

  var last = null;  // the box ticked last, the start of a shift-click range
  document.addEventListener("click", function (event) {
    var box = event.target.closest && event.target.closest("#conv-list input.pick");
    if (!box) return;
    if (event.shiftKey && last && last !== box && document.body.contains(last)) {
      var boxes = picks(), a = boxes.indexOf(last), b = boxes.indexOf(box);
      boxes.slice(Math.min(a, b), Math.max(a, b) + 1).forEach(function (x) { x.checked = box.checked; });
    }
    last = box;
    update();
  });
  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-pick-page]")) { tickAll(event.target.checked); if (!event.target.checked) clearView(); update(); }
    else if (event.target.matches("#conv-list input.pick")) update();
    else if (event.target.form && event.target.form.id === "filters") clearView();  // another view now
  });
  document.addEventListener("input", function (event) {
    if (event.target.form && event.target.form.id === "filters") clearView();
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-pick-none]")) { tickAll(false); clearView(); update(); }
    else if (event.target.closest("[data-pick-view]")) {
      var list = document.getElementById("conv-list");
      htmx.ajax("GET", list.getAttribute("hx-get"), { target: "#bulk-all", swap: "innerHTML" }).then(update);
    }
  });

  // x ticks the open conversation's row (j/k move, as in inbox.js).
  document.addEventListener("keydown", function (event) {
    var t = event.target;
    if (event.key !== "x" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) return;
    var row = document.querySelector("#conv-list .conv-row.active");
    var box = row && row.parentNode.querySelector("input.pick");
    if (!box) return;
    box.checked = !box.checked;
    last = box;
    update();
    event.preventDefault();
  });

  // Forms that act on "this view" send the list's current filters: the address bar has them (the
  // filters push it), while the page's hidden copy is from when the page loaded.
  document.addEventListener("submit", function (event) {
    var f = event.target;
    if (!f.hasAttribute || !f.hasAttribute("data-carries-query")) return;
    var query = window.location.search.replace(/^\?/, "");
    f.querySelectorAll("input[name=query], input[name=view]").forEach(function (i) { i.value = query; });
  }, true);

  // The saved views mark the one the list shows: their refresh asks with the list's current filters,
  // and a change of filters refreshes them.
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.elt.id === "saved-views") event.detail.path = event.detail.path.split("?")[0] + window.location.search;
  });
  var shownQuery = window.location.search;
  document.addEventListener("htmx:pushedIntoHistory", function () {
    var views = document.getElementById("saved-views");
    if (!views || window.location.search === shownQuery) return;  // opening a conversation keeps the filters
    shownQuery = window.location.search;
    htmx.trigger(views, "views:refresh");
  });

  // A bulk action done: the selection is spent (the list refreshes itself on the response's trigger).
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.elt !== form() || !event.detail.successful) return;
    if (!event.detail.xhr.getResponseHeader("HX-Trigger")) return;  // refused as a whole: keep the ticks
    tickAll(false);
    clearView();
    update();
  });
  document.addEventListener("htmx:afterSettle", update);
  document.addEventListener("DOMContentLoaded", update);
})();
