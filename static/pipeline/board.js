// The pipeline board: cards are dragged between columns with SortableJS. A drop posts the same form the
// card's Move button sends (from_stage, to_stage) and the board answers with itself re-rendered, so a
// refused move (someone else moved the deal meanwhile) puts the card back where it really is and says why.
(function () {
  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
    } catch (e) {
      return "";
    }
  }

  function replaceBoard(html) {
    var holder = document.createElement("template");
    holder.innerHTML = html.trim();
    var fresh = holder.content.querySelector("#board");
    var board = document.getElementById("board");
    if (!fresh || !board) {
      window.location.reload();
      return;
    }
    board.replaceWith(fresh);
    if (window.htmx) window.htmx.process(fresh);
    init();
  }

  function moved(event) {
    if (event.from === event.to) return;
    var card = event.item;
    var body = new FormData();
    body.append("from_stage", card.dataset.stage);
    body.append("to_stage", event.to.dataset.stage);
    card.classList.add("saving");
    fetch(card.dataset.move, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "X-Requested-With": "fetch" },
    })
      .then(function (response) { return response.text(); })
      .then(replaceBoard)
      .catch(function () { window.location.reload(); });
  }

  function init() {
    var board = document.getElementById("board");
    if (!board || !window.Sortable) return;
    board.classList.add("draggable");
    board.querySelectorAll(".board-cards").forEach(function (list) {
      window.Sortable.create(list, {
        group: "deals",
        animation: 150,
        // Mouse and touch the same way in every browser (no native HTML drag-and-drop).
        forceFallback: true,
        // The card's own controls keep working: a drag never starts on them.
        filter: "select, button, a, input",
        preventOnFilter: false,
        onEnd: moved,
      });
    });
  }

  document.addEventListener("DOMContentLoaded", init);
})();
