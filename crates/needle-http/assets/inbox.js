// The inbox, live and by keyboard. When a message arrives or a case changes in this
// workspace, the parts of the page marked data-live are fetched again from the server and
// swapped in; forms are never replaced, so nothing being typed is lost, and the cases ticked
// for the bulk bar stay ticked. Keys: j/k move between cases, x ticks one, a assigns (or
// unassigns) me, r goes to the reply, n to a note, e resolves.
// On a case page it tells the server this person is here (every 10 s, and when they start
// typing a reply), so that colleagues see "… is typing a reply" before answering too.
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

  function tickCase() {
    var row = document.activeElement && document.activeElement.closest("tr");
    var box = row && row.querySelector("input[type=checkbox][name=id]");
    if (box) box.checked = !box.checked;
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
      case "x": tickCase(); break;
      case "a": submitAction("assign"); break;
      case "e": submitAction("status", "resolved"); break;
      case "r": var reply = document.querySelector("form.reply textarea"); if (reply) reply.focus(); break;
      case "n": var note = document.querySelector("form.note textarea"); if (note) note.focus(); break;
      default: handled = false;
    }
    if (handled) event.preventDefault();
  });

  // Presence: "viewing" while the page is open, "typing" while the reply box is being
  // written in (it is then said at once, and again with each beat for 10 s), "gone" on leaving.
  var caseSection = document.querySelector("section.case[data-case]");
  var csrfInput = document.querySelector("input[name=csrf]");
  var caseId = caseSection && caseSection.getAttribute("data-case");
  if (caseId && csrfInput && window.fetch) {
    var typedAt = 0, said = null;
    var say = function (state, leaving) {
      said = state;
      fetch("/api/v1/cases/" + encodeURIComponent(caseId) + "/presence?workspace=" + encodeURIComponent(workspace), {
        method: "POST", credentials: "same-origin", keepalive: !!leaving,
        headers: { "content-type": "application/json", "x-csrf-token": csrfInput.value },
        body: JSON.stringify({ state: state }),
      }).catch(function () { /* the next beat tries again */ });
    };
    var typingNow = function () { return Date.now() - typedAt < 10000; };
    say("viewing");
    setInterval(function () { say(typingNow() ? "typing" : "viewing"); }, 10000);
    document.addEventListener("input", function (event) {
      if (!event.target.closest || !event.target.closest("form.reply")) return;
      typedAt = Date.now();
      if (said !== "typing") say("typing");
    });
    window.addEventListener("pagehide", function () { say("gone", true); });
  }

  if (!document.querySelector("[data-live]") || !window.EventSource) return;
  var pending = null;

  function refresh() {
    pending = null;
    fetch(window.location.href, { credentials: "same-origin", headers: { accept: "text/html" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var ticked = Array.prototype.map.call(
          document.querySelectorAll("input[name=id]:checked"), function (box) { return box.value; });
        document.querySelectorAll("[data-live]").forEach(function (old) {
          var now = fresh.querySelector('[data-live="' + old.getAttribute("data-live") + '"]');
          if (!now) return;
          if (old.hasAttribute("aria-live")) {
            // A live region is kept and its content changed, so screen readers announce it.
            old.replaceChildren.apply(old, Array.prototype.map.call(now.childNodes, function (n) {
              return document.importNode(n, true);
            }));
          } else {
            old.replaceWith(document.importNode(now, true));
          }
        });
        document.querySelectorAll("input[name=id]").forEach(function (box) {
          if (ticked.indexOf(box.value) >= 0) box.checked = true;
        });
        document.body.setAttribute("data-refreshed", String(Date.now()));
        settling();
      })
      .catch(function () { /* the next event tries again */ });
  }

  var events = new EventSource("/api/v1/events?workspace=" + encodeURIComponent(workspace));
  var later = function () {
    // Bursts (an import, a bulk change) refresh once, and late enough that the server's
    // shared queue counts (recounted at most once a second, queue_counts.rs) include them.
    if (!pending) pending = setTimeout(refresh, 1100);
  };
  // Counts being made again on the server (queue_counts.rs): fetch the page once more soon.
  var settling = function () {
    if (document.querySelector("[data-settling]")) later();
  };
  settling();
  ["message.stored", "case.changed", "mention.created"].forEach(function (kind) {
    events.addEventListener(kind, later);
  });
  // Presence matters only on the case's own page.
  events.addEventListener("case.presence", function (event) {
    try {
      if (caseId && String(JSON.parse(event.data).id) === caseId) later();
    } catch (e) { /* not ours */ }
  });
  document.body.setAttribute("data-live-ready", "true");
})();
