// The inbox, live: when a message arrives or a case changes in this workspace, the parts of
// the page marked data-live are fetched again from the server and swapped in. Forms are never
// replaced, so nothing being typed is lost. Without this script every page still works; it
// only saves a reload. Loaded from /assets (the Content-Security-Policy allows no inline
// script), and it inserts only markup the server rendered and escaped.
(function () {
  "use strict";
  var workspace = document.body.getAttribute("data-workspace");
  if (!workspace || !document.querySelector("[data-live]") || !window.EventSource) return;
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
