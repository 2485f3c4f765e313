// The console's only script: live countdowns (cooldowns, flood waits), "select all" in the fleet, and the
// copy button beside a new API key's token.
(function () {
  function left(seconds) {
    if (seconds <= 0) return "now";
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    return (h ? h + " h " : "") + (h || m ? m + " min " : "") + s + " s";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-countdown]").forEach(function (el) {
      var end = Date.parse(el.getAttribute("datetime"));
      if (!isNaN(end)) el.textContent = left(Math.max(0, Math.round((end - now) / 1000)));
    });
  }
  setInterval(tick, 1000);
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSettle", tick);
  document.addEventListener("change", function (event) {
    var name = event.target.getAttribute("data-select-all");
    if (!name) return;
    document.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (box) {
      box.checked = event.target.checked;
    });
  });
  // Without a secure context (plain HTTP to a remote host) there is no clipboard API: the token is then
  // selected, so Ctrl+C copies it.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var field = document.querySelector(button.getAttribute("data-copy"));
    if (!field) return;
    field.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(function () { button.textContent = "Copied"; },
        function () { button.textContent = "Press Ctrl+C"; });
    } else {
      button.textContent = "Press Ctrl+C";
    }
  });
})();
