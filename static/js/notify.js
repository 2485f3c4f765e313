// Notifications (inbox.notify): the unread count in the top bar and in the tab title ("(3) Inbox ·
// Switchboard"), kept current by "notify" events on the user's channel, and a browser notification for
// each new one while the tab is hidden, when the user allows it (preferences and the browser's permission).
//
// The inbox's own stream carries the notify events (live.js turns them into live:notify on <body>);
// every other page opens a small stream of its own. Where no stream can be held (a WSGI server answers
// 204) the count is polled every 30 s.
(function () {
  var link = document.getElementById("notify");
  if (!link) return;
  var badge = document.getElementById("notify-count");
  var latest = parseInt(link.dataset.latest, 10) || 0;
  var browserWanted = link.dataset.browser === "1";
  var state = window.switchboardNotify = { count: parseInt(link.dataset.count, 10) || 0, shown: 0 };

  function title(count) {
    var base = document.title.replace(/^\(\d+\) /, "");
    document.title = count > 0 ? "(" + count + ") " + base : base;
  }
  function show(count) {
    state.count = count;
    badge.textContent = String(count);
    badge.hidden = count === 0;
    title(count);
  }

  function announce(items) {
    if (!browserWanted || !("Notification" in window) || Notification.permission !== "granted") return;
    if (!document.hidden) return;  // the page itself shows it; the browser need not
    items.forEach(function (item) {
      var n = new Notification(item.title, { body: item.body, tag: "switchboard-" + item.id });
      state.shown++;
      n.onclick = function () { window.focus(); window.location.href = item.url; };
    });
  }

  var asking = false;
  function refresh() {
    if (asking) { asking = "again"; return; }
    asking = true;
    fetch(link.dataset.unread + "?after=" + latest, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (!body) return;
        latest = Math.max(latest, body.latest || 0);
        browserWanted = !!body.browser;
        show(body.count);
        announce(body["new"] || []);
      })
      .catch(function () {})
      .then(function () {
        var again = asking === "again";
        asking = false;
        if (again) refresh();
      });
  }
  state.refresh = refresh;

  show(state.count);
  document.body.addEventListener("live:notify", refresh);
  // The inbox retitles itself when a conversation opens: put the count back in front.
  document.body.addEventListener("htmx:afterSettle", function () { title(state.count); });

  if (!link.dataset.stream) {
    setInterval(refresh, 30000);  // the server cannot hold a stream (see crm.live.context): poll
  } else if (!document.querySelector("[sse-connect][data-notify]") && "EventSource" in window) {
    var source = new EventSource(link.dataset.stream);
    source.addEventListener("notify", refresh);
    source.addEventListener("open", function () { refresh(); });  // catch up after a reconnect
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) setInterval(refresh, 30000);
    });
  }

  // Browsers only ask for the permission after a gesture: the first click on the page asks, once.
  if (browserWanted && "Notification" in window && Notification.permission === "default") {
    document.addEventListener("click", function ask() {
      document.removeEventListener("click", ask);
      Notification.requestPermission();
    });
  }
})();
