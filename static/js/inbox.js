// The inbox's only script: keyboard (j/k move, r reply, e close), reply-to, canned replies, and keeping
// the history scrolled to the newest message while new ones arrive.
(function () {
  function rows() { return Array.prototype.slice.call(document.querySelectorAll(".conv-row")); }
  function typing(el) { return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable); }
  function history() { return document.getElementById("history"); }
  function nearBottom(el) { return el.scrollHeight - el.scrollTop - el.clientHeight < 120; }
  function toBottom() { var h = history(); if (h) h.scrollTop = h.scrollHeight; }

  function move(step) {
    var list = rows();
    if (!list.length) return;
    var at = list.findIndex(function (r) { return r.classList.contains("active"); });
    var next = list[Math.min(list.length - 1, Math.max(0, at + step))];
    if (at === -1) next = list[0];
    else if (next === list[at]) return;  // already at the end of the list
    open(next);
  }

  // Load a conversation into the pane by URL, not by clicking its row: a live refresh of the list may
  // replace the rows at any moment, and a detached row cannot reach #pane. The address bar follows
  // when that conversation has settled in the pane (see htmx:afterSettle), not when the request ends:
  // with quick presses htmx queues requests and an earlier one may finish after a later one.
  var keyed = null;
  function open(row) {
    var id = row.dataset.conversation;
    markActive(id);
    row.scrollIntoView({ block: "nearest" });
    keyed = { id: id, href: row.getAttribute("href") };
    htmx.ajax("GET", row.getAttribute("hx-get"), { target: "#pane", swap: "innerHTML" });
  }

  function markActive(id) {
    rows().forEach(function (r) {
      var on = r.dataset.conversation === String(id);
      r.classList.toggle("active", on);
      if (on) {  // opening it reads it: do not wait for the next live refresh to drop the badge
        r.classList.remove("unread");
        var badge = r.querySelector(".unread-count");
        if (badge) badge.remove();
      }
    });
  }

  var inbox = window.inbox = {
    clearReplyTo: function () {
      var form = document.getElementById("reply-form");
      if (!form) return;
      form.elements.reply_to.value = "";
      form.querySelector(".replying-to").hidden = true;
    }
  };

  document.addEventListener("keydown", function (event) {
    var form = document.getElementById("reply-form");
    if (event.target.tagName === "TEXTAREA" && event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      var owner = event.target.form;
      if (owner) owner.requestSubmit();
      return;
    }
    if (event.key === "Escape" && typing(event.target)) { event.target.blur(); return; }
    if (typing(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "j") { move(1); event.preventDefault(); }
    else if (event.key === "k") { move(-1); event.preventDefault(); }
    else if (event.key === "r" && form) { form.elements.text.focus(); event.preventDefault(); }
    else if (event.key === "e") {
      var close = document.querySelector('[data-key="close"]');
      if (close) { close.click(); event.preventDefault(); }
    }
  });

  document.addEventListener("click", function (event) {
    var form = document.getElementById("reply-form");
    var target = event.target.closest("[data-reply-to], [data-cancel-reply], .canned, .conv-row");
    if (!target) return;
    if (target.classList.contains("conv-row")) { keyed = null; markActive(target.dataset.conversation); return; }
    if (!form) return;
    if (target.hasAttribute("data-cancel-reply")) { inbox.clearReplyTo(); return; }
    if (target.hasAttribute("data-reply-to")) {
      form.elements.reply_to.value = target.dataset.replyTo;
      var box = form.querySelector(".replying-to");
      box.querySelector("span").textContent = "Replying to “" + target.dataset.quote + "”";
      box.hidden = false;
      form.elements.text.focus();
      return;
    }
    if (target.classList.contains("canned")) {
      form.elements.text.value = target.dataset.text;
      form.querySelector(".canned-menu").hidden = true;
      form.elements.text.focus();
    }
  });

  // Typing "/" followed by letters lists the canned replies whose shortcut starts with them.
  document.addEventListener("input", function (event) {
    var form = event.target.form;
    if (!form || form.id !== "reply-form" || event.target.name !== "text") return;
    var menu = form.querySelector(".canned-menu");
    var match = /^\/([\w-]*)$/.exec(event.target.value);
    var shown = 0;
    menu.querySelectorAll(".canned").forEach(function (b) {
      var on = !!match && b.dataset.shortcut.indexOf(match[1].toLowerCase()) === 0;
      b.classList.toggle("hidden", !on);
      if (on) shown++;
    });
    menu.hidden = shown === 0;
  });

  // A sent reply empties the form. An HX-Trigger header means the server refused it (the text stays).
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.target;
    if (form.id !== "reply-form") return;
    if (event.detail.successful && !event.detail.xhr.getResponseHeader("HX-Trigger")) {
      form.reset();
      inbox.clearReplyTo();
    }
  });

  var stick = true;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var h = history();
    stick = !h || nearBottom(h) || event.detail.target.id === "pane";
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var id = event.detail.target && event.detail.target.id;
    if (id === "pane" || ((id === "recent" || id === "conversation") && stick)) toBottom();
    var convo = document.getElementById("conversation");
    // While a keyed conversation is still on its way, the selection stays where j/k put it: an earlier
    // one settling must not pull it back, or the next press would move from the wrong row.
    if (convo) markActive(keyed ? keyed.id : convo.dataset.conversation);
    if (id === "pane" && convo && keyed && keyed.id === convo.dataset.conversation) {
      // window.history: this script's own history() (the message pane) shadows the global.
      window.history.pushState({ htmx: true }, "", keyed.href);
      keyed = null;
    }
  });
  function keyedFailed(event) {
    if (event.detail.target && event.detail.target.id === "pane") keyed = null;
  }
  document.addEventListener("htmx:responseError", keyedFailed);
  document.addEventListener("htmx:sendError", keyedFailed);
  document.addEventListener("DOMContentLoaded", toBottom);
})();
