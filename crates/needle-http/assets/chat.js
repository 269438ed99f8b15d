/* Needle live chat: <script src="https://needle.example.com/chat.js" data-chat="NAME"
   data-workspace="default" async></script>. Opens a chat bubble; talks to Needle over a
   WebSocket; keeps unsent messages until the server has them, so a reconnect loses nothing.
   The site identifies a signed-in visitor with
   NeedleChat.identify(userId, signatureFromYourServer, {email, name}). */
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me || window.NeedleChat) return;
  var base = new URL(me.src).origin;
  var chatName = me.getAttribute("data-chat");
  var workspace = me.getAttribute("data-workspace") || "default";
  var key = "needle-chat:" + base + ":" + workspace + ":" + chatName;
  var store = window.localStorage;
  function load(name, fallback) {
    try { var v = JSON.parse(store.getItem(key + ":" + name)); return v === null ? fallback : v; }
    catch (e) { return fallback; }
  }
  function save(name, value) {
    try { store.setItem(key + ":" + name, JSON.stringify(value)); } catch (e) { /* private mode */ }
  }
  function randomId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  var visitor = load("visitor", null);
  if (!visitor) { visitor = randomId(); save("visitor", visitor); }
  var pending = load("pending", []);   // [{client_id, text}] not yet acknowledged
  var lastSeq = 0;                     // the history is sent again on every connect
  var identity = null;
  var socket = null;
  var backoff = 500;
  var shown = {};

  var root = document.createElement("div");
  root.id = "needle-chat";
  root.setAttribute("style", "position:fixed;right:20px;bottom:20px;z-index:2147483000;font:14px/1.4 system-ui,sans-serif");
  var bubble = document.createElement("button");
  bubble.id = "needle-chat-bubble";
  bubble.type = "button";
  bubble.setAttribute("aria-label", "Open the chat");
  bubble.textContent = "Chat with us";
  bubble.setAttribute("style", "border:0;border-radius:24px;padding:12px 18px;background:#1f4e8c;color:#fff;cursor:pointer");
  var panel = document.createElement("section");
  panel.id = "needle-chat-panel";
  panel.hidden = true;
  panel.setAttribute("aria-label", "Chat");
  panel.setAttribute("style", "width:320px;height:420px;background:#fff;border:1px solid #ccd;border-radius:8px;display:flex;flex-direction:column;box-shadow:0 4px 16px rgba(0,0,0,.15)");
  var log = document.createElement("ol");
  log.id = "needle-chat-log";
  log.setAttribute("aria-live", "polite");
  log.setAttribute("style", "flex:1;overflow:auto;list-style:none;margin:0;padding:8px");
  var form = document.createElement("form");
  form.setAttribute("style", "display:flex;border-top:1px solid #ccd");
  var input = document.createElement("input");
  input.id = "needle-chat-input";
  input.setAttribute("aria-label", "Your message");
  input.setAttribute("autocomplete", "off");
  input.setAttribute("style", "flex:1;border:0;padding:10px");
  var send = document.createElement("button");
  send.type = "submit";
  send.textContent = "Send";
  send.setAttribute("style", "border:0;background:#1f4e8c;color:#fff;padding:0 14px");
  form.appendChild(input);
  form.appendChild(send);
  panel.appendChild(log);
  panel.appendChild(form);
  root.appendChild(panel);
  root.appendChild(bubble);
  (document.body || document.documentElement).appendChild(root);

  function show(id, direction, text, sent) {
    var li = shown[id];
    if (!li) {
      li = document.createElement("li");
      li.className = "needle-chat-msg " + direction;
      li.setAttribute("style", "margin:4px 0;padding:6px 10px;border-radius:10px;max-width:80%;" +
        (direction === "outbound" ? "background:#eef1f6" : "background:#1f4e8c;color:#fff;margin-left:auto"));
      li.textContent = text;   // text, never markup: messages come from strangers
      shown[id] = li;
      log.appendChild(li);
      log.scrollTop = log.scrollHeight;
    }
    if (sent) li.classList.add("sent");
  }
  function transmit(frame) {
    if (socket && socket.readyState === 1) socket.send(JSON.stringify(frame));
  }
  function flush() {
    pending.forEach(function (m) { transmit({ type: "message", client_id: m.client_id, text: m.text }); });
  }
  function connect() {
    var url = base.replace(/^http/, "ws") + "/api/v1/chat/" + encodeURIComponent(chatName) +
      "/socket?workspace=" + encodeURIComponent(workspace) + "&visitor=" + visitor + "&after=" + lastSeq;
    socket = new WebSocket(url);
    socket.onopen = function () {
      backoff = 500;
      if (identity) transmit(identity);
      flush();
    };
    socket.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame.type === "message") {
        lastSeq = Math.max(lastSeq, frame.seq || 0);
        var own = frame.id.indexOf(visitor + ":") === 0 ? frame.id.slice(visitor.length + 1) : null;
        show(own ? "c:" + own : frame.id, frame.direction, frame.text, true);
      } else if (frame.type === "error" && frame.client_id) {
        // Refused for good (empty after cleaning, too long): do not send it again.
        pending = pending.filter(function (m) { return m.client_id !== frame.client_id; });
        save("pending", pending);
        var failed = shown["c:" + frame.client_id];
        if (failed) { failed.classList.add("failed"); failed.title = frame.message; }
      } else if (frame.type === "ack") {
        pending = pending.filter(function (m) { return m.client_id !== frame.client_id; });
        save("pending", pending);
        var li = shown["c:" + frame.client_id];
        if (li) li.classList.add("sent");
      }
    };
    socket.onclose = function () {
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 15000);
    };
  }
  bubble.addEventListener("click", function () {
    panel.hidden = !panel.hidden;
    if (!panel.hidden) input.focus();
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    var m = { client_id: randomId(), text: text };
    pending.push(m);
    save("pending", pending);
    show("c:" + m.client_id, "inbound", text, false);
    input.value = "";
    transmit({ type: "message", client_id: m.client_id, text: text });
  });
  pending.forEach(function (m) { show("c:" + m.client_id, "inbound", m.text, false); });
  window.NeedleChat = {
    identify: function (userId, signature, details) {
      details = details || {};
      identity = { type: "identify", user_id: String(userId), signature: String(signature),
                   email: details.email, name: details.name };
      transmit(identity);
    },
    open: function () { panel.hidden = false; },
  };
  connect();
})();
