// The inbox, live and by keyboard. When a message arrives or a case changes in this
// workspace, the parts of the page marked data-live are fetched again from the server and
// swapped in; forms are never replaced, so nothing being typed is lost. Keys: j/k move
// between cases, a assigns (or unassigns) me, r goes to the reply, n to a note, e resolves.
// Without this script every page still works. Loaded from /assets (the
// Content-Security-Policy allows no inline script); it inserts only markup the server
// rendered and escaped.
(function () {
  "use strict";
  var workspace = document.body.getAttribute("data-workspace");
  if (!workspace) return;

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  function moveCase(step) {
    var links = Array.prototype.slice.call(document.querySelectorAll("table.cases td a[href^='/inbox/']"));
    if (!links.length) return;
    var at = links.indexOf(document.activeElement);
    var next = at < 0 ? 0 : Math.min(links.length - 1, Math.max(0, at + step));
    links[next].focus();
  }

  function submitAction(action, value) {
    var form = document.querySelector("form input[name=action][value=" + action + "]");
    form = form && form.form;
    if (!form) return;
    if (value) form.querySelector("select[name=status]").value = value;
    form.submit();
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var handled = true;
    switch (event.key) {
      case "j": moveCase(1); break;
      case "k": moveCase(-1); break;
      case "a": submitAction("assign"); break;
      case "e": submitAction("status", "resolved"); break;
      case "r": var reply = document.querySelector("form.reply textarea"); if (reply) reply.focus(); break;
      case "n": var note = document.querySelector("form.note textarea"); if (note) note.focus(); break;
      default: handled = false;
    }
    if (handled) event.preventDefault();
  });

  if (!document.querySelector("[data-live]") || !window.EventSource) return;
  var pending = null;

  function refresh() {
    pending = null;
    fetch(window.location.href, { credentials: "same-origin", headers: { accept: "text/html" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live]").forEach(function (old) {
          var now = fresh.querySelector('[data-live="' + old.getAttribute("data-live") + '"]');
          if (now) old.replaceWith(document.importNode(now, true));
        });
        document.body.setAttribute("data-refreshed", String(Date.now()));
      })
      .catch(function () { /* the next event tries again */ });
  }

  var events = new EventSource("/api/v1/events?workspace=" + encodeURIComponent(workspace));
  ["message.stored", "case.changed"].forEach(function (kind) {
    events.addEventListener(kind, function () {
      // Bursts (an import) refresh once.
      if (!pending) pending = setTimeout(refresh, 250);
    });
  });
  document.body.setAttribute("data-live-ready", "true");
})();
