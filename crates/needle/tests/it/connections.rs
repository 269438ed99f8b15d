//! Connections through the running binary: a feed read from a real HTTP server on loopback
//! (conditional GET, new entries, health, metrics), the private-address guard, webhooks with
//! HMAC signatures, and a crash in the middle of a feed's batches.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use needle_connect::webhook::sign;
use serde_json::{Value, json};

use crate::serve::{Server, agent, get, send};
use crate::support::*;

/// What the feed server answers with now.
struct Feed {
    etag: String,
    document: String,
    /// Every request's `If-None-Match`, in order (`None` when absent).
    conditions: Vec<Option<String>>,
    /// Tells the test each time a full document has been sent.
    sent: Option<std::sync::mpsc::Sender<()>>,
}

/// A feed served over HTTP/1.1 from a thread: 304 when the client's `If-None-Match` matches.
fn feed_server(feed: Arc<Mutex<Feed>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/feed.xml", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut condition = None;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("if-none-match")
                {
                    condition = Some(value.trim().to_string());
                }
            }
            let mut feed = feed.lock().unwrap();
            feed.conditions.push(condition.clone());
            let mut stream = stream;
            if condition.as_deref() == Some(feed.etag.as_str()) {
                let _ = stream.write_all(
                    b"HTTP/1.1 304 Not Modified\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                continue;
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nETag: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                feed.etag,
                feed.document.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(feed.document.as_bytes());
            let _ = stream.flush();
            if let Some(sent) = &feed.sent {
                let _ = sent.send(());
            }
        }
    });
    url
}

fn rss(items: impl IntoIterator<Item = (String, String)>) -> String {
    let items: String = items
        .into_iter()
        .map(|(guid, text)| {
            format!(
                "<item><guid>{guid}</guid><title>Post {guid}</title>\
                 <pubDate>Mon, 02 Mar 2026 09:00:00 GMT</pubDate>\
                 <description>&lt;p&gt;{text}&lt;/p&gt;</description></item>"
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Acme blog</title>\
         <link>https://blog.acme.example/</link>{items}</channel></rss>"
    )
}

fn rss_messages(server: &Server) -> Vec<Value> {
    let (status, page) = get(&server.url("/api/v1/messages?channel=rss&limit=1000"));
    assert_eq!(status, 200, "{page}");
    page["messages"].as_array().unwrap().clone()
}

const LOOPBACK: &[(&str, &str)] = &[("NEEDLE_OUTBOUND_ALLOW", "127.0.0.1/32")];

#[test]
fn a_feed_is_read_with_conditional_get_and_its_health_shows_in_the_api_and_metrics() {
    let feed = Arc::new(Mutex::new(Feed {
        etag: "\"v1\"".into(),
        document: rss([
            ("a1".into(), "The kettle leaks".into()),
            ("a2".into(), "Lovely mugs".into()),
        ]),
        conditions: Vec::new(),
        sent: None,
    }));
    let url = feed_server(feed.clone());
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_env(&dir.path().join("data"), &[], LOOPBACK);
    let api = |path: &str| server.url(&format!("/api/v1{path}"));

    let (status, created) = send(
        "PUT",
        &api("/connections/blog"),
        Some(json!({"kind": "rss", "config": {"url": url, "poll_seconds": 1}})),
    );
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["health"]["status"], "waiting");

    let messages = wait_for("two feed entries", Duration::from_secs(20), || {
        let m = rss_messages(&server);
        (m.len() == 2).then(|| json!(m))
    });
    let texts: Vec<&str> = messages
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert!(
        texts.contains(&"The kettle leaks"),
        "HTML is stripped: {texts:?}"
    );
    let first = &messages[0];
    assert_eq!(first["account"], "blog");
    assert_eq!(first["author"]["handle"], "Acme blog");

    // The next reads are conditional and find nothing new.
    wait_for("a conditional read", Duration::from_secs(10), || {
        let f = feed.lock().unwrap();
        f.conditions
            .iter()
            .any(|c| c.as_deref() == Some("\"v1\""))
            .then(|| json!(true))
    });
    assert_eq!(
        feed.lock().unwrap().conditions[0],
        None,
        "the first read is unconditional"
    );
    let (_, blog) = get(&api("/connections/blog"));
    assert_eq!(blog["health"]["status"], "ok", "{blog}");
    assert!(blog["health"]["last_success_at"].is_string(), "{blog}");
    assert!(
        blog["health"]["lag_seconds"].as_i64().unwrap() < 30,
        "{blog}"
    );
    assert!(blog["checkpoint_at"].is_string(), "{blog}");

    // A new entry: read once, the old ones not doubled.
    {
        let mut f = feed.lock().unwrap();
        f.etag = "\"v2\"".into();
        f.document = rss([
            ("a3".into(), "Refund please".into()),
            ("a1".into(), "The kettle leaks".into()),
            ("a2".into(), "Lovely mugs".into()),
        ]);
    }
    wait_for("the third entry", Duration::from_secs(20), || {
        let m = rss_messages(&server);
        (m.len() == 3).then(|| json!(m))
    });

    // A feed at the cloud metadata address is refused, and says so where operators look.
    let (status, body) = send(
        "PUT",
        &api("/connections/meta"),
        Some(
            json!({"kind": "rss", "config": {"url": "http://169.254.169.254/latest/meta-data/", "poll_seconds": 1}}),
        ),
    );
    assert_eq!(status, 201, "{body}");
    let meta = wait_for("the refusal", Duration::from_secs(20), || {
        let (_, c) = get(&api("/connections/meta"));
        (c["health"]["status"] == "failing").then_some(c)
    });
    let error = meta["health"]["last_error"].as_str().unwrap();
    assert!(
        error.contains("169.254.169.254") && error.contains("non-public"),
        "{error}"
    );

    let (_, metrics) = get(&server.url("/metrics"));
    let metrics = metrics.as_str().unwrap().to_string();
    assert!(
        metrics.contains(
            r#"needle_connection_up{workspace="default",connection="meta",kind="rss"} 0"#
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            r#"needle_connection_up{workspace="default",connection="blog",kind="rss"} 1"#
        ),
        "{metrics}"
    );
    assert!(metrics.contains("needle_connection_messages{"), "{metrics}");

    // Bad settings are refused with the reason; a removed feed stops being read.
    let (status, body) = send(
        "PUT",
        &api("/connections/bad"),
        Some(json!({"kind": "rss", "config": {"url": "file:///etc/passwd"}})),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("http://"),
        "{body}"
    );
    let (status, body) = send(
        "PUT",
        &api("/connections/Bad%20Name"),
        Some(json!({"kind": "rss"})),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(send("DELETE", &api("/connections/blog"), None).0, 204);
    assert_eq!(send("DELETE", &api("/connections/blog"), None).0, 404);
    std::thread::sleep(Duration::from_millis(1500));
    let reads = feed.lock().unwrap().conditions.len();
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        feed.lock().unwrap().conditions.len(),
        reads,
        "a removed feed is not read"
    );
    assert_eq!(rss_messages(&server).len(), 3, "its messages stay");
    assert!(server.stop().success());
}

fn post_signed(url: &str, body: &str, signature: Option<&str>) -> (u16, Value) {
    let mut request = agent()
        .post(url)
        .header("authorization", bearer())
        .header("content-type", "application/json");
    if let Some(signature) = signature {
        request = request.header("X-Needle-Signature", signature);
    }
    let mut response = request.send(body).unwrap();
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[test]
fn webhooks_take_signed_bodies_only_and_refuse_bad_shapes_whole() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let api = |path: &str| server.url(&format!("/api/v1{path}"));
    let secret = "whsec-needle-test-7f3a";

    let (status, body) = send(
        "PUT",
        &api("/connections/shop"),
        Some(json!({"kind": "webhook", "config": {"fields": {"text": "/x"}}, "secret": secret})),
    );
    assert_eq!(
        status, 400,
        "a mapping without an author is refused: {body}"
    );
    let config = json!({
        "channel": "shop",
        "items": "/reviews",
        "fields": {"id": "/id", "text": "/body", "author.email": "/customer/email", "rating": "/stars"}
    });
    let (status, body) = send(
        "PUT",
        &api("/connections/shop"),
        Some(json!({"kind": "webhook", "config": config})),
    );
    assert_eq!(status, 400, "a webhook without a secret is refused: {body}");
    let (status, created) = send(
        "PUT",
        &api("/connections/shop"),
        Some(json!({"kind": "webhook", "config": config, "secret": secret})),
    );
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["has_secret"], true);
    assert_eq!(created["endpoint"], "/api/v1/hooks/shop?workspace=default");
    let hook = server.url(created["endpoint"].as_str().unwrap());

    let delivery = json!({"reviews": [
        {"id": 1, "body": "<b>Broken</b> on arrival", "stars": 1, "customer": {"email": "kim@example.com"}},
        {"id": 2, "body": "Works fine", "stars": 4, "customer": {"email": "lee@example.com"}}
    ]})
    .to_string();
    let good = format!("sha256={}", sign(secret.as_bytes(), delivery.as_bytes()));

    // Unsigned, wrongly signed, or signed for another body: 401 and nothing stored.
    for signature in [
        None,
        Some("sha256=00"),
        Some(good.replace('a', "b").as_str()),
    ] {
        let (status, body) = post_signed(&hook, &delivery, signature);
        assert_eq!(status, 401, "{signature:?}: {body}");
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    let tampered = delivery.replace("Works fine", "Works fine!");
    assert_eq!(post_signed(&hook, &tampered, Some(&good)).0, 401);
    assert_eq!(stats(&data)["messages"], 0, "nothing stored");

    let (status, body) = post_signed(&hook, &delivery, Some(&good));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["created"].as_u64(), body["duplicates"].as_u64()),
        (Some(2), Some(0))
    );
    let (status, body) = post_signed(&hook, &delivery, Some(&good));
    assert_eq!(
        (status, body["duplicates"].as_u64()),
        (200, Some(2)),
        "a resend is a duplicate"
    );
    let (status, stored) = get(&api("/messages/shop/1"));
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["text"], "Broken on arrival");
    assert_eq!(stored["account"], "shop");
    assert_eq!(stored["rating"], 1.0);

    // One item that cannot be a message refuses the delivery whole, saying which.
    let bad = json!({"reviews": [
        {"id": 3, "body": "fine", "customer": {"email": "a@example.com"}},
        {"id": 4, "body": "no author"}
    ]})
    .to_string();
    let signed = format!("sha256={}", sign(secret.as_bytes(), bad.as_bytes()));
    let (status, body) = post_signed(&hook, &bad, Some(&signed));
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["index"], 1, "{body}");
    assert_eq!(get(&api("/messages/shop/3")).0, 404, "nothing of it stored");
    let not_json = "{not json";
    let signed = sign(secret.as_bytes(), not_json.as_bytes());
    assert_eq!(post_signed(&hook, not_json, Some(&signed)).0, 400);
    assert_eq!(
        post_signed(&api("/hooks/nope"), &delivery, Some(&good)).0,
        404
    );

    // Health counts deliveries; the secret never comes back, even after an update without it.
    let (status, replaced) = send(
        "PUT",
        &api("/connections/shop"),
        Some(json!({"kind": "webhook", "config": config, "enabled": true})),
    );
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["has_secret"], true, "the stored secret stays");
    let (status, list) = get(&api("/connections"));
    assert_eq!(status, 200);
    let shop = &list["connections"][0];
    assert_eq!(shop["health"]["messages_total"], 4, "{shop}");
    assert!(
        shop["health"]["errors_total"].as_i64().unwrap() >= 6,
        "{shop}"
    );
    for text in [list.to_string(), replaced.to_string(), created.to_string()] {
        assert!(!text.contains(secret), "the secret leaked: {text}");
    }
    // Still signed with the kept secret.
    let again =
        json!({"reviews": [{"id": 5, "body": "ok", "customer": {"email": "x@example.com"}}]})
            .to_string();
    let signed = sign(secret.as_bytes(), again.as_bytes());
    assert_eq!(post_signed(&hook, &again, Some(&signed)).0, 200);
    assert!(server.stop().success());
}

#[test]
fn a_crash_in_the_middle_of_a_feed_loses_and_doubles_nothing() {
    const ENTRIES: usize = 2400;
    let (sent_tx, sent_rx) = std::sync::mpsc::channel();
    let feed = Arc::new(Mutex::new(Feed {
        etag: "\"big\"".into(),
        document: rss(
            (0..ENTRIES).map(|i| (format!("e{i}"), format!("Entry number {i} about kettles")))
        ),
        conditions: Vec::new(),
        sent: Some(sent_tx),
    }));
    let url = feed_server(feed.clone());
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start_with_env(&data, &[], LOOPBACK);
    let (status, body) = send(
        "PUT",
        &server.url("/api/v1/connections/big"),
        Some(json!({"kind": "rss", "config": {"url": url, "poll_seconds": 1}})),
    );
    assert_eq!(status, 201, "{body}");
    // Killed once the first of the feed's batches is stored and before the last one is.
    sent_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the feed was read");
    let health = server.url("/healthz");
    wait_for("the first batch", Duration::from_secs(30), || {
        let (_, h) = get(&health);
        (h["messages"].as_u64().unwrap_or(0) > 0).then_some(h)
    });
    drop(server);
    let stored_at_crash = stats(&data)["messages"].as_u64().unwrap();
    eprintln!("killed with {stored_at_crash} of {ENTRIES} entries stored");
    assert!(
        (1..ENTRIES as u64).contains(&stored_at_crash),
        "the kill came mid-feed"
    );

    let server = Server::start_with_env(&data, &[], LOOPBACK);
    let count = wait_for("every entry", Duration::from_secs(60), || {
        let n = stats(&data)["messages"].as_u64().unwrap();
        (n == ENTRIES as u64).then(|| json!(n))
    });
    assert_eq!(count, ENTRIES as u64);
    // Once stored, the checkpoint says the feed is unchanged: reads become conditional.
    wait_for(
        "a conditional read after the restart",
        Duration::from_secs(10),
        || {
            let f = feed.lock().unwrap();
            (f.conditions.last().cloned().flatten().as_deref() == Some("\"big\""))
                .then(|| json!(true))
        },
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(stats(&data)["messages"], ENTRIES as u64, "nothing doubled");
    let out = needle(&data, &["search", "kettles", "--limit", "1", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(server.stop().success());
}

/// One request a receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) key: String,
    pub(crate) signature: String,
    pub(crate) event: String,
    pub(crate) body: String,
}

/// A webhook receiver on loopback: answers from `script` in order (status, `Retry-After`),
/// then 200; waits `delay` before answering; records every request.
pub(crate) struct Receiver {
    pub(crate) url: String,
    pub(crate) received: Arc<Mutex<Vec<Received>>>,
}

pub(crate) fn receiver(script: Vec<(u16, Option<u64>)>, delay: Duration) -> Receiver {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    let received = Arc::new(Mutex::new(Vec::new()));
    let log = received.clone();
    std::thread::spawn(move || {
        let mut script = script.into_iter();
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut headers = std::collections::HashMap::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':') {
                    headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
                }
            }
            let length: usize = headers
                .get("content-length")
                .and_then(|l| l.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0u8; length];
            if std::io::Read::read_exact(&mut reader, &mut body).is_err() {
                continue;
            }
            let header = |name: &str| headers.get(name).cloned().unwrap_or_default();
            log.lock().unwrap().push(Received {
                key: header("idempotency-key"),
                signature: header("x-needle-signature"),
                event: header("x-needle-event"),
                body: String::from_utf8(body).unwrap(),
            });
            std::thread::sleep(delay);
            let (status, retry_after) = script.next().unwrap_or((200, None));
            let retry = retry_after.map_or(String::new(), |s| format!("Retry-After: {s}\r\n"));
            let mut stream = stream;
            let _ = stream.write_all(
                format!(
                    "HTTP/1.1 {status} X\r\n{retry}Content-Length: 2\r\nConnection: close\r\n\r\nok"
                )
                .as_bytes(),
            );
        }
    });
    Receiver { url, received }
}

fn outbox(server: &Server, query: &str) -> Vec<Value> {
    let (status, page) = get(&server.url(&format!("/api/v1/outbox?{query}")));
    assert_eq!(status, 200, "{page}");
    page["deliveries"].as_array().unwrap().clone()
}

fn ingest(server: &Server, ids: &[&str]) {
    let lines: Vec<String> = ids
        .iter()
        .map(|id| line(id, &format!("message {id} about the kettle")))
        .collect();
    let (status, body) = crate::serve::post(
        &server.url("/api/v1/messages"),
        "application/x-ndjson",
        &lines.join("\n"),
    );
    assert_eq!(status, 200, "{body}");
}

#[test]
fn outbound_webhooks_are_signed_retried_and_recorded_and_final_errors_fail() {
    let secret = "out-secret-91c2";
    let flaky = receiver(vec![(503, None), (429, Some(1))], Duration::ZERO);
    let refusing = receiver(vec![(400, None); 10], Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_env(&dir.path().join("data"), &[], LOOPBACK);
    let api = |path: &str| server.url(&format!("/api/v1{path}"));
    for (name, url) in [("crm", &flaky.url), ("strict", &refusing.url)] {
        let (status, body) = send(
            "PUT",
            &api(&format!("/connections/{name}")),
            Some(json!({"kind": "webhook_out", "config": {"url": url}, "secret": secret})),
        );
        assert_eq!(status, 201, "{body}");
    }
    // Let the worker take its starting point, then store one message.
    std::thread::sleep(Duration::from_millis(800));
    ingest(&server, &["m1"]);

    let sent = wait_for("the delivery to crm", Duration::from_secs(30), || {
        let d = outbox(&server, "connection=crm");
        (d.len() == 1 && d[0]["status"] == "sent").then(|| d[0].clone())
    });
    assert_eq!(sent["attempts"], 3, "503, then 429, then taken: {sent}");
    let (_, detail) = get(&api(&format!("/outbox/{}", sent["id"])));
    let outcomes: Vec<&str> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["retry", "retry", "sent"], "{detail}");
    assert_eq!(detail["history"][0]["detail"], "the receiver answered 503");

    let got = flaky.received.lock().unwrap().clone();
    assert_eq!(got.len(), 3);
    assert!(
        got.iter().all(|r| r.key == got[0].key),
        "one idempotency key for every try"
    );
    assert!(got[0].key.starts_with("message.received:"), "{:?}", got[0]);
    for r in &got {
        assert_eq!(r.event, "message.received");
        assert_eq!(
            r.signature,
            format!("sha256={}", sign(secret.as_bytes(), r.body.as_bytes()))
        );
        let body: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["message"]["id"], "m1");
        assert!(
            body["message"]["classification"]["sentiment"].is_object(),
            "{body}"
        );
    }

    let failed = wait_for("the refused delivery", Duration::from_secs(20), || {
        let d = outbox(&server, "connection=strict&status=failed");
        (d.len() == 1).then(|| d[0].clone())
    });
    assert_eq!(failed["attempts"], 1, "a 400 is not retried: {failed}");
    assert!(
        failed["last_error"]
            .as_str()
            .unwrap()
            .starts_with("the receiver answered 400: ok"),
        "{failed}"
    );
    assert_eq!(get(&api("/outbox?status=maybe")).0, 400);

    // A disabled connection sends nothing; enabled again, it goes on from where it was.
    let toggle = |enabled: bool| {
        let (status, body) = send(
            "PUT",
            &api("/connections/crm"),
            Some(json!({"kind": "webhook_out", "config": {"url": flaky.url}, "enabled": enabled})),
        );
        assert_eq!(status, 200, "{body}");
    };
    toggle(false);
    ingest(&server, &["m2"]);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        flaky.received.lock().unwrap().len(),
        3,
        "nothing sent while disabled"
    );
    toggle(true);
    wait_for(
        "the event stored while disabled",
        Duration::from_secs(20),
        || {
            let got = flaky.received.lock().unwrap().clone();
            got.iter()
                .any(|r| r.body.contains("\"id\":\"m2\""))
                .then(|| json!(true))
        },
    );
    assert!(server.stop().success());
}

#[test]
fn a_crash_while_the_outbox_sends_delivers_every_event_once_per_key() {
    const EVENTS: usize = 6;
    let secret = "crash-secret";
    let slow = receiver(Vec::new(), Duration::from_millis(400));
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start_with_env(&data, &[], LOOPBACK);
    let (status, body) = send(
        "PUT",
        &server.url("/api/v1/connections/crm"),
        Some(json!({"kind": "webhook_out", "config": {"url": slow.url}, "secret": secret})),
    );
    assert_eq!(status, 201, "{body}");
    std::thread::sleep(Duration::from_millis(800));
    let ids: Vec<String> = (0..EVENTS).map(|i| format!("c{i}")).collect();
    ingest(&server, &ids.iter().map(String::as_str).collect::<Vec<_>>());
    // Killed while sending: some events are out, one is probably on the wire.
    wait_for("the first sends", Duration::from_secs(20), || {
        (slow.received.lock().unwrap().len() >= 2).then(|| json!(true))
    });
    drop(server);
    let before_restart = slow.received.lock().unwrap().len();
    assert!(
        before_restart < EVENTS,
        "killed mid-way ({before_restart} sent)"
    );

    let server = Server::start_with_env(&data, &[], LOOPBACK);
    wait_for("every delivery sent", Duration::from_secs(30), || {
        let d = outbox(&server, "connection=crm");
        (d.len() == EVENTS && d.iter().all(|d| d["status"] == "sent")).then(|| json!(d))
    });
    let got = slow.received.lock().unwrap().clone();
    let mut keys: Vec<&str> = got.iter().map(|r| r.key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(
        keys.len(),
        EVENTS,
        "every event arrived, once per key: {got:?}"
    );
    assert!(
        got.len() <= EVENTS + 1,
        "at most the one on the wire again: {}",
        got.len()
    );
    let messages: Vec<String> = got
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(&r.body).unwrap()["message"]["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    for id in &ids {
        assert!(messages.contains(id), "{id} never arrived");
    }
    assert!(server.stop().success());
}

#[test]
fn connections_come_from_a_checked_toml_file_with_secrets_kept_outside_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let secret_file = dir.path().join("hook.secret");
    std::fs::write(&secret_file, "file-secret-42\n").unwrap();
    let file = dir.path().join("connections.toml");
    let good = format!(
        r#"
[[connection]]
name = "acme-blog"
kind = "rss"
config = {{ url = "https://blog.example.com/feed.xml", poll_seconds = 600 }}

[[connection]]
name = "shop"
kind = "webhook"
secret_file = "{}"
[connection.config]
channel = "shop"
fields = {{ text = "/body", "author.email" = "/email" }}
"#,
        secret_file.display()
    );
    std::fs::write(&file, &good).unwrap();
    let out = needle(&data, &["connections", "apply", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "applied 2 connections: 2 new, 0 changed"
    );
    let out = needle(&data, &["connections", "apply", file.to_str().unwrap()]);
    assert_eq!(
        stdout(&out).trim(),
        "applied 2 connections: 0 new, 0 changed"
    );

    let out = needle(&data, &["connections", "list", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["name"], "acme-blog");
    assert_eq!(listed[0]["config"]["poll_seconds"], 600);
    assert_eq!(listed[1]["has_secret"], true);
    assert!(
        !stdout(&out).contains("file-secret-42"),
        "the secret is not shown"
    );

    // One bad connection refuses the whole file, naming it and the setting.
    for (bad, expect) in [
        (
            good.replace("kind = \"rss\"", "kind = \"carrier-pigeon\""),
            "\"acme-blog\": unknown connection kind",
        ),
        (
            good.replace("poll_seconds = 600", "poll_seconds = 0"),
            "poll_seconds",
        ),
        (
            good.replace(&secret_file.display().to_string(), "/nonexistent/secret"),
            "secret_file",
        ),
        (
            good.replace("name = \"shop\"", "name = \"acme-blog\""),
            "used twice",
        ),
        (
            good.replace(
                "[[connection]]\nname = \"acme-blog\"",
                "[[connection]]\nnmae = \"x\"",
            ),
            "nmae",
        ),
    ] {
        let broken = dir.path().join("broken.toml");
        std::fs::write(&broken, bad.replace("600", "601")).unwrap();
        let out = needle(&data, &["connections", "apply", broken.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{expect}: {}", stderr(&out));
        assert!(stderr(&out).contains(expect), "{expect}: {}", stderr(&out));
    }
    let out = needle(&data, &["connections", "list", "--json"]);
    assert!(
        stdout(&out).contains("\"poll_seconds\":600"),
        "nothing of a refused file is saved"
    );
}
