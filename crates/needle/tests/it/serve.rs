//! `needle serve` over real HTTP: ingest, list, search, get, errors, OpenAPI, metrics, the
//! page's escaping, and a graceful shutdown that keeps everything accepted.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::*;

pub(crate) struct Server {
    child: Child,
    base: String,
}

impl Server {
    pub(crate) fn start(data: &Path, extra: &[&str]) -> Server {
        Server::start_with_env(data, extra, &[])
    }

    /// [`Server::start`] with extra environment variables.
    pub(crate) fn start_with_env(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        grant_test_token(data, None);
        let mut child = Command::new(needle_bin())
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--data",
                data.to_str().unwrap(),
            ])
            .args(extra)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("needle serve said where it listens")
                .unwrap();
            if let Some(addr) = line.strip_prefix("needle listening on ") {
                break addr.to_string();
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                eprintln!("[needle serve] {line}");
            }
        });
        Server { child, base }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub(crate) fn stop(mut self) -> std::process::ExitStatus {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no clean stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent()
}

pub(crate) fn post(url: &str, content_type: &str, body: &str) -> (u16, Value) {
    let mut response = agent()
        .post(url)
        .header("authorization", bearer())
        .header("content-type", content_type)
        .send(body)
        .unwrap();
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

pub(crate) fn get(url: &str) -> (u16, Value) {
    let mut response = agent()
        .get(url)
        .header("authorization", bearer())
        .call()
        .unwrap();
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Creates a user with a chosen password through `needle user add`.
pub(crate) fn add_user(
    data: &Path,
    email: &str,
    role: &str,
    workspace: Option<&str>,
    password: &str,
) {
    use std::io::Write;
    let mut command = Command::new(needle_bin());
    command
        .args([
            "user",
            "add",
            email,
            "--role",
            role,
            "--password-stdin",
            "--data",
        ])
        .arg(data);
    if let Some(w) = workspace {
        command.args(["--workspace", w]);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "user add: {}", stderr(&output));
}

/// An agent that does not follow redirects, to see them.
pub(crate) fn browser() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .new_agent()
}

/// The value of cookie `name` a response sets.
pub(crate) fn set_cookie<B>(response: &ureq::http::Response<B>, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next()?.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The value of the hidden `csrf` input of a page.
pub(crate) fn csrf_field(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let at = html.find(marker).expect("a csrf field") + marker.len();
    html[at..].split('"').next().unwrap().to_string()
}

/// Signs in through the form like a browser; `(status, session cookie)`.
pub(crate) fn sign_in(server: &Server, email: &str, password: &str) -> (u16, Option<String>) {
    let agent = browser();
    let mut form = agent.get(&server.url("/signin")).call().unwrap();
    let presession = set_cookie(&form, "needle_signin").expect("a pre-session cookie");
    let csrf = csrf_field(&form.body_mut().read_to_string().unwrap());
    let response = agent
        .post(&server.url("/signin"))
        .header("cookie", &format!("needle_signin={presession}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .send(format!(
            "email={}&password={}&csrf={csrf}",
            urlencode(email),
            urlencode(password)
        ))
        .unwrap();
    (
        response.status().as_u16(),
        set_cookie(&response, "needle_session"),
    )
}

/// A page as a signed-in browser sees it: `(status, html)`.
pub(crate) fn page_as(server: &Server, session: &str, path: &str) -> (u16, String) {
    let mut response = browser()
        .get(&server.url(path))
        .header("cookie", &format!("needle_session={session}"))
        .call()
        .unwrap();
    let status = response.status().as_u16();
    (status, response.body_mut().read_to_string().unwrap())
}

pub(crate) fn message(id: &str, text: &str, minute: u32) -> Value {
    json!({"id": id, "channel": "mastodon", "created_at": format!("2026-03-02T14:{minute:02}:00Z"),
           "text": text, "author": {"handle": "kim", "name": "Kim <b>Lee</b>"}})
}

/// Polls a search until it returns `want` messages (the index commits on a short timer).
fn search_until(server: &Server, query: &str, want: usize) -> Value {
    let started = Instant::now();
    loop {
        let (status, body) = get(&server.url(&format!("/api/v1/messages?q={query}")));
        assert_eq!(status, 200, "{body}");
        if body["messages"].as_array().unwrap().len() == want
            || started.elapsed() > Duration::from_secs(10)
        {
            return body;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_api_ingests_searches_and_answers_bad_requests_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let messages_url = server.url("/api/v1/messages");

    let batch = json!([
        message("1", "My screen cracked, refund please", 1),
        message("2", "Refund arrived, thanks!", 2),
        {"id": "3", "channel": "mastodon", "text": "no time"},
        message("1", "duplicate of the first", 3),
    ]);
    let (status, body) = post(&messages_url, "application/json", &batch.to_string());
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (
            body["created"].as_u64(),
            body["duplicates"].as_u64(),
            body["rejected"].as_u64()
        ),
        (Some(2), Some(1), Some(1))
    );
    assert_eq!(body["results"][2]["status"], "rejected");
    assert!(
        body["results"][2]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("created_at")
    );

    let found = search_until(&server, "refund", 2);
    let ids: Vec<&str> = found["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["2", "1"], "newest first");
    let phrase = search_until(&server, "%22screen%20cracked%22", 1);
    assert_eq!(phrase["messages"][0]["id"], "1");

    let (status, one) = get(&server.url("/api/v1/messages/mastodon/2"));
    assert_eq!(status, 200);
    assert_eq!(one["text"], "Refund arrived, thanks!");
    assert_eq!(get(&server.url("/api/v1/messages/mastodon/404")).0, 404);

    // JSON Lines and pagination with cursors.
    let lines: Vec<String> = (10..25)
        .map(|i| message(&i.to_string(), "page me", i).to_string())
        .collect();
    let (status, _) = post(&messages_url, "application/x-ndjson", &lines.join("\n"));
    assert_eq!(status, 200);
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = get(&server.url(&format!(
            "/api/v1/messages?limit=4&channel=mastodon{cursor}"
        )));
        assert_eq!(status, 200, "{page}");
        seen.extend(
            page["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 17);
    assert_eq!(
        seen.iter().collect::<std::collections::HashSet<_>>().len(),
        17
    );

    // Bad requests: each with a code and a reason, never a 500.
    let too_many: Vec<Value> = (0..1001)
        .map(|i| message(&format!("m{i}"), "x", 1))
        .collect();
    let (status, body) = post(
        &messages_url,
        "application/json",
        &Value::Array(too_many).to_string(),
    );
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "payload_too_large");
    let (status, body) = post(&messages_url, "text/plain", "hello");
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (415, Some("unsupported_media_type"))
    );
    let (status, body) = post(&messages_url, "application/json", "{\"broken");
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("bad_request"))
    );
    let (status, body) = post(&messages_url, "application/json", "[{\"id\": 5}]");
    assert_eq!(status, 422, "{body}");
    assert!(
        body["results"][0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("channel")
    );
    let (status, body) = post(&messages_url, "application/json", "[]");
    assert_eq!(status, 400, "{body}");
    let (status, body) = post(
        &format!("{messages_url}?workspace=nope"),
        "application/json",
        &json!([message("x", "y", 1)]).to_string(),
    );
    assert_eq!(status, 404, "{body}");
    let (status, body) = get(&server.url("/api/v1/messages?since=yesterday"));
    assert_eq!(status, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("since"));
    let (status, _) = get(&server.url("/api/v1/messages?limit=abc"));
    assert_eq!(status, 400);
    let (status, _) = get(&server.url("/api/v1/messages?cursor=garbage"));
    assert_eq!(status, 400);
    let huge = "x".repeat(33 * 1024 * 1024);
    let (status, _) = post(&messages_url, "application/json", &format!("[\"{huge}\"]"));
    assert_eq!(status, 413);

    // Operations endpoints.
    let (status, openapi) = get(&server.url("/api/openapi.json"));
    assert_eq!(status, 200);
    for path in [
        "/api/v1/messages",
        "/api/v1/messages/{channel}/{id}",
        "/healthz",
    ] {
        assert!(
            openapi["paths"][path].is_object(),
            "{path} in the OpenAPI document"
        );
    }
    let (status, health) = get(&server.url("/healthz"));
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    let mut metrics = agent().get(&server.url("/metrics")).call().unwrap();
    let metrics = metrics.body_mut().read_to_string().unwrap();
    for name in [
        "needle_messages_ingested_total 17",
        "needle_messages_rejected_total",
        "needle_pipeline_stage_seconds_bucket",
        "needle_pipeline_queue_depth",
    ] {
        assert!(metrics.contains(name), "{name} in /metrics:\n{metrics}");
    }
    assert_eq!(get(&server.url("/api/v1/nothing-here")).0, 404);

    assert!(server.stop().success());
}

#[test]
fn the_page_escapes_hostile_text_and_sets_a_strict_csp() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let hostile = json!([{
        "id": "xss", "channel": "chat", "created_at": "2026-03-02T14:00:00Z",
        "text": "hello world", "title": "title",
        "url": "javascript:alert(1)",
        "author": {"handle": "x", "name": "\"><img src=x onerror=alert(1)>"}
    }, {
        "id": "xss2", "channel": "chat", "created_at": "2026-03-02T14:01:00Z",
        "text": "&lt;script&gt;alert('x')&lt;/script&gt; <style>body{display:none}</style> visible",
        "author": {"handle": "y"}
    }]);
    let (status, body) = post(
        &server.url("/api/v1/messages"),
        "application/json",
        &hostile.to_string(),
    );
    assert_eq!(status, 200, "{body}");
    std::thread::sleep(Duration::from_millis(100));
    let data = dir.path().join("data");
    add_user(&data, "ann@example.com", "agent", None, "a long passphrase");
    let (status, session) = sign_in(&server, "ann@example.com", "a long passphrase");
    assert_eq!(status, 303);
    let mut response = browser()
        .get(&server.url("/?channel=chat"))
        .header("cookie", &format!("needle_session={}", session.unwrap()))
        .call()
        .unwrap();
    let csp = response
        .headers()
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let html = response.body_mut().read_to_string().unwrap();
    assert!(!html.contains("<img src=x"), "author names are escaped");
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(
        !html.contains("<script>alert"),
        "decoded entities are escaped again"
    );
    assert!(html.contains("&lt;script&gt;alert"));
    assert!(
        !html.contains("href=\"javascript:"),
        "javascript: links are not links"
    );
    assert!(
        !html.contains("display:none"),
        "style blocks in text are dropped"
    );
    assert!(server.stop().success());
}

#[test]
fn a_demo_server_is_labelled_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &["--demo"]);
    let (_, workspaces) = get(&server.url("/api/v1/workspaces"));
    let demo = &workspaces[0];
    assert_eq!(demo["demo"], true);
    let count = demo["messages"].as_u64().unwrap();
    assert!(count >= 2000, "a few thousand demo messages, got {count}");
    add_user(
        &data,
        "ann@example.com",
        "analyst",
        None,
        "a long passphrase",
    );
    let (_, session) = sign_in(&server, "ann@example.com", "a long passphrase");
    let (status, html) = page_as(&server, &session.unwrap(), "/");
    assert_eq!(status, 200);
    assert!(html.contains("Demo data"));
    // Languages the issue asks for are all there.
    for word in ["Bestellung", "commande", "주문번호", "الطلب"] {
        let (_, found) =
            get(&server.url(&format!("/api/v1/messages?q={}&limit=1", urlencode(word))));
        assert_eq!(
            found["messages"].as_array().unwrap().len(),
            1,
            "demo has {word}"
        );
    }
    let (status, _) = post(
        &server.url("/api/v1/messages"),
        "application/json",
        &json!([message("after", "kept across restarts", 1)]).to_string(),
    );
    assert_eq!(status, 200);
    assert!(server.stop().success(), "SIGTERM stops the server cleanly");

    let again = Server::start(&data, &["--demo"]);
    let (_, workspaces) = get(&again.url("/api/v1/workspaces"));
    assert_eq!(
        workspaces[0]["messages"].as_u64().unwrap(),
        count + 1,
        "--demo does not refill a used data dir"
    );
    let found = search_until(&again, "restarts", 1);
    assert_eq!(
        found["messages"][0]["id"], "after",
        "the message accepted before SIGTERM was indexed"
    );
    assert!(again.stop().success());
}

pub(crate) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub(crate) fn send(method: &str, url: &str, body: Option<Value>) -> (u16, Value) {
    let agent = agent();
    let mut response = match (method, body) {
        ("PUT", Some(b)) => agent
            .put(url)
            .header("authorization", bearer())
            .header("content-type", "application/json")
            .send(b.to_string())
            .unwrap(),
        ("POST", Some(b)) => agent
            .post(url)
            .header("authorization", bearer())
            .header("content-type", "application/json")
            .send(b.to_string())
            .unwrap(),
        ("DELETE", _) => agent
            .delete(url)
            .header("authorization", bearer())
            .call()
            .unwrap(),
        _ => agent
            .get(url)
            .header("authorization", bearer())
            .call()
            .unwrap(),
    };
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[test]
fn topics_through_the_api_match_live_and_backfill_history() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let ingest = |messages: Value| {
        let (status, body) = post(
            &server.url("/api/v1/messages"),
            "application/json",
            &messages.to_string(),
        );
        assert_eq!(status, 200, "{body}");
    };
    ingest(json!([
        message("old-1", "I need to clean Office off my Windows laptop", 1),
        message("old-2", "clean the windows on my office", 2),
    ]));
    let topic = json!({
        "id": "office", "level": "brand",
        "query": "({Office} OR \"Microsoft Office\") NEAR/6 ({Windows} OR PC OR laptop)",
        "exclude": "(window OR windows) NEAR/4 (glass OR squeegee)"
    });
    let (status, created) = send("POST", &server.url("/api/v1/topics"), Some(topic.clone()));
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["version"], 1);
    assert_eq!(
        send("POST", &server.url("/api/v1/topics"), Some(topic)).0,
        409
    );
    let (status, refused) = send(
        "POST",
        &server.url("/api/v1/topics"),
        Some(json!({"id": "bad", "level": "brand", "query": "apple AND banana OR cherry"})),
    );
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["lint"]["errors"][0]["code"], "mixed_and_or");

    ingest(json!([message(
        "new-1",
        "Microsoft Office on my PC froze",
        3
    )]));
    // Live matching and the background backfill together give the whole history.
    let started = Instant::now();
    let ids = loop {
        let (_, page) = send("GET", &server.url("/api/v1/topics/office/messages"), None);
        let ids: Vec<String> = page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_string())
            .collect();
        if ids.len() == 2 || started.elapsed() > Duration::from_secs(10) {
            break ids;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(ids, ["new-1", "old-1"]);
    let (_, listed) = send("GET", &server.url("/api/v1/topics"), None);
    assert_eq!(listed[0]["backfill"]["state"], "done");
    assert_eq!(listed[0]["messages"], 2);

    let (status, changed) = send(
        "PUT",
        &server.url("/api/v1/topics/office"),
        Some(json!({"level": "brand", "query": "office"})),
    );
    assert_eq!((status, changed["version"].as_u64()), (200, Some(2)));
    let (_, detail) = send("GET", &server.url("/api/v1/topics/office"), None);
    assert_eq!(detail["versions"].as_array().unwrap().len(), 2);

    let found = search_until(&server, "%7BOffice%7D%20NEAR%2F6%20laptop", 1);
    assert_eq!(found["messages"][0]["id"], "old-1", "{found}");
    assert_eq!(found["matches"][0]["terms"][0]["term"], "Office");
    let (status, bad) = get(&server.url("/api/v1/messages?q=%28office"));
    assert_eq!(status, 422, "{bad}");

    let (status, lint) = send(
        "POST",
        &server.url("/api/v1/query/lint"),
        Some(json!({"query": "apple ~5"})),
    );
    assert_eq!(status, 200);
    assert!(!lint["errors"].as_array().unwrap().is_empty());

    assert_eq!(
        send("DELETE", &server.url("/api/v1/topics/office"), None).0,
        204
    );
    assert_eq!(
        send("DELETE", &server.url("/api/v1/topics/office"), None).0,
        404
    );
    assert!(server.stop().success());
}

#[test]
fn an_import_beside_a_running_server_is_indexed_by_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    post(
        &server.url("/api/v1/messages"),
        "application/json",
        &json!([message("api-1", "from the api", 1)]).to_string(),
    );
    let file = dir.path().join("m.jsonl");
    std::fs::write(
        &file,
        [
            line("file-1", "imported beside the server"),
            line("file-2", "imported too"),
        ]
        .join("\n"),
    )
    .unwrap();
    let out = needle(&data, &["import", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("will index these messages"),
        "{}",
        stderr(&out)
    );
    post(
        &server.url("/api/v1/messages"),
        "application/json",
        &json!([message("api-2", "from the api again imported", 2)]).to_string(),
    );
    let found = search_until(&server, "imported", 3);
    let mut ids: Vec<&str> = found["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        ["api-2", "file-1", "file-2"],
        "the server indexed the other process's messages, in order"
    );
    assert!(server.stop().success());
    let stats = stats(&data);
    assert_eq!(
        (stats["messages"].as_u64(), stats["indexed"].as_u64()),
        (Some(4), Some(4))
    );
}

#[test]
fn live_events_stream_stored_messages_and_topic_changes_and_end_at_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let (status, body) = get(&server.url("/api/v1/events?workspace=nope"));
    assert_eq!(status, 404, "an unknown workspace: {body}");

    let events = EventStream::open(&server.url("/api/v1/events"));
    let other = EventStream::open(&server.url("/api/v1/events"));
    let batch = json!([
        message("live-1", "first", 1),
        message("live-2", "second", 2)
    ]);
    let (status, body) = post(
        &server.url("/api/v1/messages"),
        "application/json",
        &batch.to_string(),
    );
    assert_eq!(status, 200, "{body}");
    for stream in [&events, &other] {
        let stored = stream.next_of("message.stored", 2, Duration::from_secs(10));
        let ids: Vec<&str> = stored.iter().map(|e| e["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["live-1", "live-2"]);
        assert!(stored[0]["seq"].as_i64().unwrap() < stored[1]["seq"].as_i64().unwrap());
        assert_eq!(stored[0]["channel"], "mastodon");
    }
    // A duplicate is not news.
    post(
        &server.url("/api/v1/messages"),
        "application/json",
        &json!([message("live-1", "first", 1), message("live-3", "third", 3)]).to_string(),
    );
    let next = events.next_of("message.stored", 1, Duration::from_secs(10));
    assert_eq!(next[0]["id"], "live-3");

    let topic = json!({"id": "firsts", "level": "owned", "query": "first"});
    let (status, _) = send("POST", &server.url("/api/v1/topics"), Some(topic));
    assert_eq!(status, 201);
    let changed = events.next_of("topic.changed", 1, Duration::from_secs(10));
    assert_eq!(changed[0]["key"], "firsts");

    // Open streams do not hold a graceful shutdown up.
    let status = server.stop();
    assert!(status.success(), "{status:?}");
}
