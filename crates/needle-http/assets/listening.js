// The topic editor, answering while the analyst types. After a pause in typing, the form is
// posted to /listening/try (which saves nothing) and the parts of the page marked data-part
// (each query's lint, the preview of matches) are swapped for the ones the server rendered
// and escaped. The form itself is never replaced, so nothing being typed is lost. Without
// this script the "Try it" button does the same with a page load.
(function () {
  "use strict";
  var form = document.querySelector("form.topic");
  if (!form || !window.fetch) return;
  var tryButton = form.querySelector("button[formaction]");
  var action = tryButton && tryButton.getAttribute("formaction");
  if (!action) return;
  var timer = null;
  var sent = 0;
  var shown = 0;

  function swap(html, ticket) {
    if (ticket < shown) return; // an older answer arriving late
    shown = ticket;
    var fresh = new DOMParser().parseFromString(html, "text/html");
    document.querySelectorAll("[data-part]").forEach(function (old) {
      var now = fresh.querySelector('[data-part="' + old.getAttribute("data-part") + '"]');
      if (now) old.replaceWith(document.importNode(now, true));
    });
    document.body.setAttribute("data-tried", String(ticket));
  }

  function tryNow() {
    timer = null;
    var ticket = ++sent;
    fetch(action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "text/html" },
      body: new URLSearchParams(new FormData(form)).toString()
    })
      .then(function (r) { return r.text(); })
      .then(function (html) { swap(html, ticket); })
      .catch(function () { /* the next change tries again */ });
  }

  function changed() {
    if (timer) clearTimeout(timer);
    timer = setTimeout(tryNow, 300);
  }

  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  document.body.setAttribute("data-editor-ready", "true");
})();
