//! Mastodon both ways, against a local server that speaks the documented REST formats
//! (docs.joinmastodon.org: Notification and Status entities, `min_id` paging with `Link`
//! headers, 429 with `X-RateLimit-Reset`, `Idempotency-Key` on `POST /api/v1/statuses`),
//! since no Mastodon server can run here.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::serve::{Server, agent, get, send};
use crate::support::wait_for;

const TOKEN: &str = "tok-acme-123";

#[derive(Default)]
struct Instance {
    base: String,
    next_id: u64,
    notifications: Vec<Value>,
    tags: HashMap<String, Vec<Value>>,
    /// Statuses posted through the API, by idempotency key.
    posted: Vec<(String, Value)>,
    /// Requests to refuse with 429 before answering again.
    rate_limited: usize,
    /// POSTs whose answer is "lost" (503 after the status was made).
    lose_answers: usize,
    requests: Vec<String>,
    /// Open streaming connections (`/api/v1/streaming/user/notification`).
    streams: Vec<std::net::TcpStream>,
}

fn account(acct: &str, host: &str) -> Value {
    let user = acct.split('@').next().unwrap();
    json!({"id": "1", "username": user, "acct": acct, "display_name": user.to_uppercase(),
           "url": format!("https://{host}/@{user}"), "followers_count": 10, "bot": false})
}

impl Instance {
    fn status(&mut self, acct: &str, host: &str, content: &str, visibility: &str) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        json!({
            "id": id.to_string(),
            "uri": format!("https://{host}/users/{}/statuses/{id}", acct.split('@').next().unwrap()),
            "url": format!("https://{host}/@{}/{id}", acct.split('@').next().unwrap()),
            "created_at": "2026-03-02T10:00:00.000Z",
            "content": format!("<p>{content}</p>"),
            "visibility": visibility, "spoiler_text": "", "sensitive": false,
            "in_reply_to_id": null, "in_reply_to_account_id": null, "language": "en",
            "reblogs_count": 0, "favourites_count": 0, "replies_count": 0,
            "mentions": [], "tags": [], "emojis": [], "media_attachments": [],
            "account": account(acct, host),
        })
    }

    fn mention(&mut self, acct: &str, text: &str, visibility: &str) {
        let status = self.status(acct, "other.example", text, visibility);
        self.next_id += 1;
        let notification = json!({
            "id": self.next_id.to_string(), "type": "mention",
            "created_at": "2026-03-02T10:00:00.000Z",
            "account": status["account"].clone(), "status": status,
        });
        // The streaming API's format: an SSE event named after the payload's kind.
        let event = format!("event: notification\ndata: {notification}\n\n");
        self.streams
            .retain_mut(|s| s.write_all(event.as_bytes()).is_ok());
        self.notifications.push(notification);
    }

    /// One page as Mastodon pages: `min_id` gives the items just after it, newest first.
    fn page(
        &self,
        path: &str,
        items: &[Value],
        query: &HashMap<String, String>,
    ) -> (Vec<Value>, String) {
        let limit: usize = query
            .get("limit")
            .and_then(|l| l.parse().ok())
            .unwrap_or(20);
        let id = |v: &Value| v["id"].as_str().unwrap().parse::<u64>().unwrap();
        let mut chosen: Vec<Value> = match query.get("min_id").and_then(|m| m.parse::<u64>().ok()) {
            Some(min) => items
                .iter()
                .filter(|v| id(v) > min)
                .take(limit)
                .cloned()
                .collect(),
            None => items
                .iter()
                .rev()
                .take(limit)
                .cloned()
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect(),
        };
        chosen.reverse();
        let mut link = String::new();
        if let (Some(newest), Some(oldest)) = (chosen.first(), chosen.last()) {
            let extra = if path.contains("notifications") {
                "&types%5B%5D=mention"
            } else {
                ""
            };
            link = format!(
                "<{base}{path}?limit={limit}{extra}&max_id={}>; rel=\"next\", <{base}{path}?limit={limit}{extra}&min_id={}>; rel=\"prev\"",
                id(oldest),
                id(newest),
                base = self.base
            );
        }
        (chosen, link)
    }
}

fn query_of(target: &str) -> (String, HashMap<String, String>) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let params = query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.replace("%5B%5D", "[]"), v.to_string()))
        .collect();
    (path.to_string(), params)
}

fn respond(
    stream: &mut std::net::TcpStream,
    status: u16,
    headers: &[(String, String)],
    body: &str,
) {
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
}

fn start_instance(instance: Arc<Mutex<Instance>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    instance.lock().unwrap().base = base.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                continue;
            }
            let mut headers = HashMap::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((n, v)) = line.split_once(':') {
                    headers.insert(n.trim().to_ascii_lowercase(), v.trim().to_string());
                }
            }
            let length: usize = headers
                .get("content-length")
                .and_then(|l| l.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let mut parts = request_line.split_whitespace();
            let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let (path, query) = query_of(target);
            let mut inst = instance.lock().unwrap();
            inst.requests.push(format!("{method} {target}"));
            if headers.get("authorization").map(String::as_str) != Some(&format!("Bearer {TOKEN}"))
            {
                respond(
                    &mut stream,
                    401,
                    &[],
                    r#"{"error":"The access token is invalid"}"#,
                );
                continue;
            }
            if path == "/api/v1/streaming/user/notification" {
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\r\n:)\n",
                );
                inst.streams.push(stream);
                continue;
            }
            if inst.rate_limited > 0 {
                inst.rate_limited -= 1;
                let reset = time::OffsetDateTime::now_utc() + time::Duration::seconds(1);
                let reset = reset
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap();
                respond(
                    &mut stream,
                    429,
                    &[
                        ("X-RateLimit-Limit".into(), "300".into()),
                        ("X-RateLimit-Remaining".into(), "0".into()),
                        ("X-RateLimit-Reset".into(), reset),
                    ],
                    r#"{"error":"Too many requests"}"#,
                );
                continue;
            }
            match (method, path.as_str()) {
                ("GET", "/api/v1/notifications") => {
                    assert_eq!(query.get("types[]").map(String::as_str), Some("mention"));
                    let (items, link) = inst.page(&path, &inst.notifications.clone(), &query);
                    respond(
                        &mut stream,
                        200,
                        &[("Link".into(), link)],
                        &Value::Array(items).to_string(),
                    );
                }
                ("GET", p) if p.starts_with("/api/v1/timelines/tag/") => {
                    let tag = p.trim_start_matches("/api/v1/timelines/tag/").to_string();
                    let items = inst.tags.get(&tag).cloned().unwrap_or_default();
                    let (items, link) = inst.page(&path, &items, &query);
                    respond(
                        &mut stream,
                        200,
                        &[("Link".into(), link)],
                        &Value::Array(items).to_string(),
                    );
                }
                ("POST", "/api/v1/statuses") => {
                    let key = headers.get("idempotency-key").cloned().unwrap_or_default();
                    let params: Value = serde_json::from_slice(&body).unwrap();
                    let existing = inst
                        .posted
                        .iter()
                        .find(|(k, _)| !k.is_empty() && *k == key)
                        .map(|(_, s)| s.clone());
                    let status = match existing {
                        Some(status) => status,
                        None => {
                            let text = params["status"].as_str().unwrap().to_string();
                            let visibility = params["visibility"]
                                .as_str()
                                .unwrap_or("public")
                                .to_string();
                            let mut status = inst.status("acme", "m.example", &text, &visibility);
                            status["in_reply_to_id"] = params["in_reply_to_id"].clone();
                            inst.posted.push((key, status.clone()));
                            status
                        }
                    };
                    if inst.lose_answers > 0 {
                        inst.lose_answers -= 1;
                        respond(&mut stream, 503, &[], r#"{"error":"lost"}"#);
                    } else {
                        respond(&mut stream, 200, &[], &status.to_string());
                    }
                }
                _ => respond(&mut stream, 404, &[], r#"{"error":"Record not found"}"#),
            }
        }
    });
    base
}

fn mastodon_messages(server: &Server) -> Vec<Value> {
    let (status, page) = get(&server.url("/api/v1/messages?channel=mastodon&limit=1000"));
    assert_eq!(status, 200, "{page}");
    page["messages"].as_array().unwrap().clone()
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn mentions_and_hashtags_come_in_page_by_page_and_replies_go_out_once_in_thread() {
    let instance = Arc::new(Mutex::new(Instance::default()));
    {
        let mut i = instance.lock().unwrap();
        i.mention("kim@other.example", "@acme my kettle leaks", "direct");
        let tagged = i.status(
            "lee@far.example",
            "far.example",
            "Love my #acme mug",
            "public",
        );
        i.tags.insert("acme".into(), vec![tagged]);
    }
    let base = start_instance(instance.clone());
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_env(
        &dir.path().join("data"),
        &[],
        &[("NEEDLE_OUTBOUND_ALLOW", "127.0.0.1")],
    );
    let api = |path: &str| server.url(&format!("/api/v1{path}"));

    let (status, body) = send(
        "PUT",
        &api("/connections/masto"),
        Some(json!({"kind": "mastodon", "secret": TOKEN,
                    "config": {"instance": base, "hashtags": ["acme"], "poll_seconds": 1}})),
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["has_secret"], true);
    assert!(
        !body.to_string().contains(TOKEN),
        "the token is never shown"
    );
    let first = wait_for(
        "the mention and the tagged post",
        Duration::from_secs(20),
        || {
            let m = mastodon_messages(&server);
            (m.len() == 2).then_some(m)
        },
    );
    let kim = first
        .iter()
        .find(|m| m["author"]["handle"] == "kim@other.example")
        .expect("the mention");
    assert_eq!(kim["text"], "@acme my kettle leaks");
    assert_eq!(kim["account"], "masto");
    assert_eq!(kim["extra"]["mastodon"]["visibility"], "direct");

    // More than a page of new mentions, behind a rate limit: all of them, none twice.
    {
        let mut i = instance.lock().unwrap();
        for n in 0..45 {
            i.mention(
                &format!("fan{n}@other.example"),
                &format!("question number {n}"),
                "public",
            );
        }
        i.rate_limited = 1;
    }
    wait_for("45 more mentions", Duration::from_secs(30), || {
        (mastodon_messages(&server).len() == 47).then_some(())
    });
    let requests = instance.lock().unwrap().requests.clone();
    assert!(
        requests.iter().any(|r| r.contains("min_id=")),
        "{requests:?}"
    );
    let (_, masto) = get(&api("/connections/masto"));
    assert!(
        masto["health"]["errors_total"].as_i64().unwrap() >= 1,
        "the 429 is recorded: {masto}"
    );
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(mastodon_messages(&server).len(), 47, "nothing read twice");

    // Another system wants to know about replies sent (and only those).
    let events = crate::connections::receiver(Vec::new(), Duration::ZERO);
    let (status, body) = send(
        "PUT",
        &api("/connections/crm"),
        Some(
            json!({"kind": "webhook_out", "secret": "s", "config": {"url": events.url, "events": ["reply.sent"]}}),
        ),
    );
    assert_eq!(status, 201, "{body}");
    std::thread::sleep(Duration::from_millis(800));

    // A reply, whose first answer is lost: posted once, in the thread, privately.
    instance.lock().unwrap().lose_answers = 1;
    let original = kim["id"].as_str().unwrap();
    let reply_url = api(&format!("/messages/mastodon/{}/replies", encode(original)));
    let post = |key: &str| {
        let mut r = agent()
            .post(&reply_url)
            .header("authorization", crate::support::bearer())
            .header("content-type", "application/json")
            .header("Idempotency-Key", key)
            .send(json!({"text": "Sorry to hear that! Which model is it?"}).to_string())
            .unwrap();
        let status = r.status().as_u16();
        let body: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
        (status, body)
    };
    let (status, queued) = post("agent-7-reply-1");
    assert_eq!(status, 202, "{queued}");
    let (status, again) = post("agent-7-reply-1");
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["delivery"]["id"], queued["delivery"]["id"]);

    let id = queued["delivery"]["id"].as_i64().unwrap();
    let sent = wait_for("the reply to be sent", Duration::from_secs(30), || {
        let (_, d) = get(&api(&format!("/outbox/{id}")));
        (d["status"] == "sent").then_some(d)
    });
    assert_eq!(sent["attempts"], 2, "the lost answer was retried: {sent}");
    let posted = instance.lock().unwrap().posted.clone();
    assert_eq!(posted.len(), 1, "one status for two attempts: {posted:?}");
    let (key, status) = &posted[0];
    assert_eq!(key, "reply:agent-7-reply-1");
    assert_eq!(
        status["in_reply_to_id"],
        kim["extra"]["mastodon"]["status_id"]
    );
    assert_eq!(
        status["visibility"], "direct",
        "a direct message is answered directly"
    );
    assert!(
        status["content"]
            .as_str()
            .unwrap()
            .contains("@kim@other.example Sorry"),
        "{status}"
    );

    let reply = wait_for(
        "the reply stored as outbound",
        Duration::from_secs(20),
        || {
            mastodon_messages(&server)
                .into_iter()
                .find(|m| m["direction"] == "outbound")
        },
    );
    assert_eq!(reply["in_reply_to"], original);
    assert_eq!(reply["account"], "masto");
    let event = wait_for("the reply.sent event", Duration::from_secs(20), || {
        events.received.lock().unwrap().first().cloned()
    });
    assert_eq!(event.event, "reply.sent");
    let event: Value = serde_json::from_str(&event.body).unwrap();
    assert_eq!(event["message"]["id"], reply["id"]);
    assert_eq!(
        events.received.lock().unwrap().len(),
        1,
        "received messages were not asked for"
    );

    // A reply to a disabled connection waits in the outbox until it is enabled again.
    let toggle = |enabled: bool| {
        let (status, body) = send(
            "PUT",
            &api("/connections/masto"),
            Some(json!({"kind": "mastodon", "enabled": enabled,
                        "config": {"instance": base, "hashtags": ["acme"], "poll_seconds": 1}})),
        );
        assert_eq!(status, 200, "{body}");
    };
    toggle(false);
    let (status, waiting) = post("agent-7-reply-2");
    assert_eq!(status, 202, "{waiting}");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        instance.lock().unwrap().posted.len(),
        1,
        "nothing posted while disabled"
    );
    let id = waiting["delivery"]["id"].as_i64().unwrap();
    assert_eq!(get(&api(&format!("/outbox/{id}"))).1["status"], "queued");
    toggle(true);
    wait_for(
        "the waiting reply to be posted",
        Duration::from_secs(20),
        || (instance.lock().unwrap().posted.len() == 2).then_some(()),
    );

    // Bad replies are refused with reasons.
    let (status, body) = send("POST", &reply_url, Some(json!({"text": "  "})));
    assert_eq!(status, 400, "{body}");
    let (status, body) = send(
        "POST",
        &api("/messages/mastodon/nope/replies"),
        Some(json!({"text": "hi"})),
    );
    assert_eq!(status, 404, "{body}");
    assert!(server.stop().success());
}

#[test]
fn a_refused_token_is_a_failing_connection_with_the_reason() {
    let instance = Arc::new(Mutex::new(Instance::default()));
    let base = start_instance(instance);
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_env(
        &dir.path().join("data"),
        &[],
        &[("NEEDLE_OUTBOUND_ALLOW", "127.0.0.1")],
    );
    let (status, body) = send(
        "PUT",
        &server.url("/api/v1/connections/masto"),
        Some(
            json!({"kind": "mastodon", "secret": "wrong", "config": {"instance": base, "poll_seconds": 1}}),
        ),
    );
    assert_eq!(status, 201, "{body}");
    let failing = wait_for("the refusal", Duration::from_secs(20), || {
        let (_, c) = get(&server.url("/api/v1/connections/masto"));
        (c["health"]["status"] == "failing").then_some(c)
    });
    let error = failing["health"]["last_error"].as_str().unwrap();
    assert!(
        error.contains("access token") && error.contains("401"),
        "{error}"
    );
    assert!(
        !failing.to_string().contains("wrong\""),
        "the token is not shown"
    );
    let (status, body) = send(
        "PUT",
        &server.url("/api/v1/connections/masto2"),
        Some(json!({"kind": "mastodon", "config": {"instance": base}})),
    );
    assert_eq!(status, 400, "a token is required: {body}");
    assert!(server.stop().success());
}

#[test]
fn the_streaming_api_brings_mentions_in_without_waiting_for_the_poll() {
    let instance = Arc::new(Mutex::new(Instance::default()));
    instance
        .lock()
        .unwrap()
        .mention("kim@other.example", "first", "public");
    let base = start_instance(instance.clone());
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_env(
        &dir.path().join("data"),
        &[],
        &[("NEEDLE_OUTBOUND_ALLOW", "127.0.0.1")],
    );
    // Polled every five minutes: only the stream can bring the next mention in quickly.
    let (status, body) = send(
        "PUT",
        &server.url("/api/v1/connections/masto"),
        Some(json!({"kind": "mastodon", "secret": TOKEN,
                    "config": {"instance": base, "poll_seconds": 300}})),
    );
    assert_eq!(status, 201, "{body}");
    wait_for("the first read", Duration::from_secs(20), || {
        (mastodon_messages(&server).len() == 1).then_some(())
    });
    wait_for("the stream to connect", Duration::from_secs(20), || {
        (!instance.lock().unwrap().streams.is_empty()).then_some(())
    });
    let posted = Instant::now();
    instance
        .lock()
        .unwrap()
        .mention("lee@other.example", "@acme where is my order?", "public");
    wait_for("the streamed mention", Duration::from_secs(10), || {
        (mastodon_messages(&server).len() == 2).then_some(())
    });
    eprintln!(
        "a streamed mention was stored {:?} after it was made",
        posted.elapsed()
    );
    assert!(posted.elapsed() < Duration::from_secs(10));
    assert!(server.stop().success());
}
