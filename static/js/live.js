// Pushed updates (crm.live): htmx's sse extension holds the page's stream (the element with
// sse-connect), and each event it receives becomes an event on <body> that the page's fragments listen
// for: "inbox" → the open conversation re-fetches its new messages (inbox:pane) and then the list
// (inbox:list): the pane first, as an operator reading it waits for that; "fleet" → live:fleet.
//
// While the stream is down the page falls back to polling: the inbox's #poll asks every 500 ms as it
// always did (its requests are cancelled while the stream is up), and live:poll fires every 10 s for
// the fleet. When the stream opens again one poll goes through, to catch what happened in between.
(function () {
  var live = window.switchboardLive = { open: false, catchUp: true, events: 0 };
  var FALLBACK_MS = 10000;

  function fire(name) { htmx.trigger(document.body, name); }

  document.addEventListener("htmx:sseOpen", function () {
    var reopened = live.open === false && live.seen;
    live.open = true;
    live.seen = true;
    live.catchUp = true;
    document.body.dataset.live = "push";
    if (reopened) fire("live:poll");
  });
  function down() {
    live.open = false;
    document.body.dataset.live = "poll";
  }
  document.addEventListener("htmx:sseError", down);
  document.addEventListener("htmx:sseClose", down);

  var listAfterPane = false;
  document.addEventListener("htmx:sseMessage", function (event) {
    var type = event.detail && event.detail.type;
    live.events++;
    if (type === "inbox") {
      if (document.getElementById("recent")) { listAfterPane = true; fire("inbox:pane"); }
      else fire("inbox:list");
    } else if (type === "fleet") fire("live:fleet");
    else if (type === "notify") fire("live:notify");  // the unread count (notify.js)
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (!listAfterPane || event.detail.elt.id !== "recent") return;
    listAfterPane = false;
    fire("inbox:list");
  });

  // The poll stands down while pushed events arrive, except once right after the stream (re)opens.
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt.id !== "poll") return;
    if (live.open && !live.catchUp) event.preventDefault();
    live.catchUp = false;
  });

  setInterval(function () { if (!live.open) fire("live:poll"); }, FALLBACK_MS);
})();
