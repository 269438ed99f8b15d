//! The live chat widget in a real browser: Debian's Chromium driven by playwright-core
//! (both installed by `scripts/setup.sh`) through `tests/browser/chat.mjs`. A page on
//! another origin embeds `chat.js`; a visitor writes, an agent answers through the API, the
//! answer appears live, hostile text stays text, a dropped connection loses nothing, a
//! signed-in visitor is identified, and the conversation survives a reload. Screenshots go
//! to `target/tmp/screenshots/`.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use needle_connect::webhook::sign;
use serde_json::{Value, json};

use crate::serve::{Server, get, send};

const SECRET: &str = "site-identity-secret";

/// Serves one page that embeds the chat from `needle`.
fn page_server(needle: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            // Keeps the page's sockets reachable, so the test can drop one.
            let page = format!(
                "<!doctype html><html><head><title>Acme shop</title><script>\
                 window.__needleSockets=[];const W=window.WebSocket;\
                 window.WebSocket=function(u,p){{const s=new W(u,p);window.__needleSockets.push(s);return s;}};\
                 window.WebSocket.prototype=W.prototype;\
                 </script></head><body><h1>Acme shop</h1>\
                 <script src=\"{needle}/chat.js\" data-chat=\"site\" data-workspace=\"default\"></script>\
                 </body></html>"
            );
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
        }
    });
    url
}

#[test]
fn a_visitor_chats_live_in_a_real_browser_and_loses_nothing() {
    let Some(browser) = crate::support::Browser::find() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let needle = server.url("");
    let page = page_server(needle.clone());
    let origin = page.trim_end_matches('/').to_string();

    let (status, body) = send(
        "PUT",
        &server.url("/api/v1/connections/site"),
        Some(
            json!({"kind": "chat", "secret": SECRET, "config": {"allowed_origins": [origin], "agent_name": "Acme"}}),
        ),
    );
    assert_eq!(status, 201, "{body}");
    let (status, script) = get(&server.url("/chat.js"));
    assert_eq!(status, 200);
    assert!(script.as_str().unwrap().contains("NeedleChat"));

    let signature = sign(SECRET.as_bytes(), b"kim-42");
    browser.run("chat.mjs", &[&page, &needle, &signature]);
    let shots = &browser.shots;

    // What the browser did is in Needle: four visitor messages (none twice), the answer,
    // and the last one from the identified user.
    let (_, page_of) = get(&server.url("/api/v1/messages?channel=chat&limit=100"));
    let messages = page_of["messages"].as_array().unwrap();
    let inbound: Vec<&Value> = messages
        .iter()
        .filter(|m| m["direction"] != "outbound")
        .collect();
    assert_eq!(inbound.len(), 4, "{page_of}");
    let kim = inbound
        .iter()
        .find(|m| m["text"] == "It is me, Kim")
        .unwrap();
    assert_eq!(kim["author"]["id"], "user:kim-42");
    assert_eq!(kim["author"]["verified"], true);
    assert_eq!(kim["author"]["email"], "kim@example.com");
    let answer = messages
        .iter()
        .find(|m| m["direction"] == "outbound")
        .unwrap();
    assert_eq!(answer["author"]["name"], "Acme");
    assert_eq!(answer["thread_id"], inbound[0]["thread_id"]);
    assert!(shots.join("chat-answered.png").exists());

    // The conversation is a case, answered by the agent's reply, which its history shows.
    let (_, cases) = get(&server.url("/api/v1/cases?queue=open"));
    let case = cases["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["thread_id"] == inbound[0]["thread_id"])
        .unwrap_or_else(|| panic!("a case for the chat: {cases}"));
    assert!(case["first_response_at"].is_string(), "{case}");
    let (_, got) = get(&server.url(&format!("/api/v1/cases/{}", case["id"])));
    let replies: Vec<&Value> = got["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "reply")
        .collect();
    assert_eq!(replies.len(), 1, "{got}");
    assert_eq!(
        replies[0]["body"]["text"],
        "Yes! It left our warehouse today."
    );

    // Another origin may not open the chat; an unknown chat is refused.
    let refused = crate::serve::agent()
        .get(&server.url("/api/v1/chat/site/socket?visitor=0123456789abcdef"))
        .header("Origin", "https://evil.example")
        .header("Connection", "Upgrade")
        .header("Upgrade", "websocket")
        .header("Sec-WebSocket-Version", "13")
        .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        .call()
        .unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    std::thread::sleep(Duration::from_millis(10));
    assert!(server.stop().success());
}
