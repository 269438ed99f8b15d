//! Cases and the inbox over real HTTP: messages that need the team open one case per
//! conversation; agents assign, resolve and note in the inbox (forms with CSRF); the
//! customer writing again reopens the case; roles hold.

use serde_json::{Value, json};

use crate::serve::*;
use crate::support::Browser;

fn email(id: &str, thread: &str, text: &str, minute: u32) -> Value {
    json!({"id": id, "channel": "email", "thread_id": thread,
           "created_at": format!("2026-03-02T14:{minute:02}:00Z"),
           "title": "Order &lt;script&gt;alert(1)&lt;/script&gt; A-1", "text": text,
           "author": {"email": "kim@example.com", "name": "Kim Lee"}})
}

/// Posts a form to an inbox page as a signed-in browser: the status.
fn form(server: &Server, session: &str, path: &str, fields: &[(&str, &str)]) -> u16 {
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect();
    browser()
        .post(&server.url(path))
        .header("cookie", &format!("needle_session={session}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .send(body.join("&"))
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn conversations_become_cases_that_agents_assign_resolve_and_note_and_customers_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let batch = json!([
        email("e1", "t-1", "My order never arrived.", 0),
        email("e2", "t-1", "Hello? Still waiting for my order.", 5),
        {"id": "n1", "channel": "rss", "created_at": "2026-03-02T14:01:00Z",
         "text": "Acme opens a new store", "author": {"handle": "news"}},
    ]);
    let (status, body) = post(
        &server.url("/api/v1/messages"),
        "application/json",
        &batch.to_string(),
    );
    assert_eq!(status, 200, "{body}");

    let (status, listed) = get(&server.url("/api/v1/cases?queue=open"));
    assert_eq!(status, 200, "{listed}");
    let cases = listed["cases"].as_array().unwrap();
    assert_eq!(
        cases.len(),
        1,
        "one conversation needs the team; news does not: {listed}"
    );
    let case = &cases[0];
    assert_eq!(case["messages"], 2);
    assert_eq!(case["status"], "open");
    assert_eq!(case["customer"], "Kim Lee");
    assert_eq!(listed["counts"]["open"], 1);
    let id = case["id"].as_i64().unwrap();

    // An agent works it in the inbox.
    add_user(
        &data,
        "kim.agent@example.com",
        "agent",
        None,
        "a long passphrase",
    );
    add_user(
        &data,
        "ann@example.com",
        "analyst",
        None,
        "a long passphrase",
    );
    let (_, session) = sign_in(&server, "kim.agent@example.com", "a long passphrase");
    let session = session.unwrap();
    let (status, html) = page_as(&server, &session, "/inbox?queue=unassigned");
    assert_eq!(status, 200);
    assert!(
        html.contains(&format!("/inbox/{id}?workspace=default")),
        "the case is listed"
    );
    assert!(!html.contains("<script>alert(1)"), "subjects are escaped");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    let path = format!("/inbox/{id}?workspace=default");
    let (status, html) = page_as(&server, &session, &path);
    assert_eq!(status, 200);
    assert!(html.contains("Still waiting for my order."));
    assert!(html.contains("Nothing yet: no assignment, note or reply."));
    assert!(
        html.contains("no connection of ours"),
        "no reply form for a message we cannot answer"
    );
    let csrf = csrf_field(&html);

    assert_eq!(
        form(
            &server,
            &session,
            &path,
            &[("csrf", "forged"), ("action", "assign"), ("assignee", "me")]
        ),
        403
    );
    assert_eq!(
        form(
            &server,
            &session,
            &path,
            &[("csrf", &csrf), ("action", "assign"), ("assignee", "me")]
        ),
        303
    );
    assert_eq!(
        form(
            &server,
            &session,
            &path,
            &[
                ("csrf", &csrf),
                ("action", "note"),
                ("text", "@ann is this the A-1 order?")
            ]
        ),
        303
    );
    assert_eq!(
        form(
            &server,
            &session,
            &path,
            &[
                ("csrf", &csrf),
                ("action", "status"),
                ("status", "resolved")
            ]
        ),
        303
    );
    let (status, html) = page_as(&server, &session, "/inbox?queue=mine");
    assert_eq!(status, 200);
    assert!(
        html.contains("Nothing here."),
        "resolved cases leave my queue"
    );

    let (_, got) = get(&server.url(&format!("/api/v1/cases/{id}")));
    assert_eq!(got["case"]["status"], "resolved");
    assert_eq!(got["case"]["assignee"], "kim.agent@example.com");
    assert_eq!(
        got["messages"].as_array().unwrap().len(),
        2,
        "the conversation, oldest first"
    );
    assert_eq!(got["messages"][0]["id"], "e1");
    let events = got["events"].as_array().unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["assigned", "note", "status"]);
    assert_eq!(
        events[1]["body"]["mentions"],
        json!(["ann@example.com"]),
        "@ann is a colleague"
    );
    assert_eq!(events[0]["actor"], "user:kim.agent@example.com");
    let identities = got["profile"]["identities"].as_array().unwrap();
    assert!(
        identities.iter().any(|i| i == "email:kim@example.com"),
        "the customer's profile comes with the case: {}",
        got["profile"]
    );
    let (_, html) = page_as(&server, &session, &path);
    assert!(
        html.contains("email:kim@example.com"),
        "and shows beside the conversation"
    );
    assert!(!html.contains("Nothing yet"), "the history has events now");
    let (_, log) = get(&server.url("/api/v1/audit"));
    assert!(
        log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "case.assigned"),
        "assignments are audited"
    );

    // A listening find becomes a case by hand, once.
    let (status, body) = send(
        "POST",
        &server.url("/api/v1/cases"),
        Some(json!({"channel": "rss", "id": "n1"})),
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["case"]["subject"], "Acme opens a new store");
    assert_eq!(body["case"]["status"], "open");
    let (status, again) = send(
        "POST",
        &server.url("/api/v1/cases"),
        Some(json!({"channel": "rss", "id": "n1"})),
    );
    assert_eq!(
        status, 200,
        "the conversation's case already exists: {again}"
    );
    assert_eq!(again["case"]["id"], body["case"]["id"]);
    let (status, _) = send(
        "POST",
        &server.url("/api/v1/cases"),
        Some(json!({"channel": "rss", "id": "nope"})),
    );
    assert_eq!(status, 404);

    // Canned responses: checked when saved, filled from the profile, the case and the agent.
    let (status, body) = send(
        "PUT",
        &server.url("/api/v1/canned/thanks"),
        Some(
            json!({"body": "Hi {{ profile.first_name }}, about {{ case.subject }}: on it. {{ agent.email }}"}),
        ),
    );
    assert_eq!(status, 201, "{body}");
    let (status, body) = send(
        "PUT",
        &server.url("/api/v1/canned/broken"),
        Some(json!({"body": "Hi {{ profile.first_name "})),
    );
    assert_eq!(status, 400, "{body}");
    send(
        "PUT",
        &server.url("/api/v1/canned/nick"),
        Some(json!({"body": "Yo {{ profile.nickname }}"})),
    );
    let (status, filled) = get(&server.url(&format!("/api/v1/cases/{id}/canned/thanks")));
    assert_eq!(status, 200, "{filled}");
    assert_eq!(
        filled["text"],
        "Hi Kim, about Order <script>alert(1)</script> A-1: on it. token:tests"
    );
    let (_, html) = page_as(&server, &session, &format!("{path}&canned=thanks"));
    assert!(
        html.contains("Hi Kim, about Order &lt;script&gt;alert(1)&lt;/script&gt; A-1: on it. kim.agent@example.com"),
        "the reply box starts with the filled, escaped answer"
    );
    let (_, html) = page_as(&server, &session, &format!("{path}&canned=nick"));
    assert!(
        html.contains("cannot fill the canned response"),
        "an unknown variable is said, not sent"
    );

    // The customer writes again: the case opens again, still Kim's.
    let (status, _) = post(
        &server.url("/api/v1/messages"),
        "application/json",
        &json!([email("e3", "t-1", "It arrived broken!", 30)]).to_string(),
    );
    assert_eq!(status, 200);
    let (_, got) = get(&server.url(&format!("/api/v1/cases/{id}")));
    assert_eq!(got["case"]["status"], "open");
    assert_eq!(got["case"]["messages"], 3);

    // Roles: an analyst may note but not assign; the API says why; bad changes are refused.
    let (_, session_ann) = sign_in(&server, "ann@example.com", "a long passphrase");
    let session_ann = session_ann.unwrap();
    let (_, html) = page_as(&server, &session_ann, &path);
    assert!(
        !html.contains("Assign to me"),
        "analysts see no assignment buttons"
    );
    let ann_csrf = csrf_field(&html);
    assert_eq!(
        form(
            &server,
            &session_ann,
            &path,
            &[
                ("csrf", &ann_csrf),
                ("action", "assign"),
                ("assignee", "me")
            ]
        ),
        403
    );
    assert_eq!(
        form(
            &server,
            &session_ann,
            &path,
            &[
                ("csrf", &ann_csrf),
                ("action", "note"),
                ("text", "looks like shipping")
            ]
        ),
        303
    );
    let (status, body) = send(
        "POST",
        &server.url(&format!("/api/v1/cases/{id}")),
        Some(json!({"status": "closed"})),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("open, pending, snoozed or resolved")
    );
    let (status, _) = send(
        "POST",
        &server.url(&format!("/api/v1/cases/{id}")),
        Some(json!({"status": "snoozed"})),
    );
    assert_eq!(status, 400, "snoozing needs a time");
    let (status, body) = send(
        "POST",
        &server.url(&format!("/api/v1/cases/{id}")),
        Some(json!({"priority": "urgent", "labels": ["VIP", "vip", " refund "], "assignee": null})),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["case"]["labels"], json!(["refund", "vip"]));
    assert_eq!(body["case"]["assignee"], Value::Null);
    let (_, vip) = get(&server.url("/api/v1/cases?queue=label:vip"));
    assert_eq!(vip["cases"].as_array().unwrap().len(), 1);
    let (status, _) = get(&server.url("/api/v1/cases?queue=mine"));
    assert_eq!(status, 400, "a token has no queue of its own");
    assert_eq!(get(&server.url("/api/v1/cases/999999")).0, 404);
    assert!(server.stop().success());
}

/// The inbox's shared queue counts are counted once for everyone, and follow a change within
/// about a second (`queue_counts.rs`); one person's own queues are counted on every page.
#[test]
fn inbox_counts_follow_changes_within_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let batch = json!([
        email("c1", "t-1", "My order never arrived.", 0),
        {"id": "c2", "channel": "email", "thread_id": "t-2",
         "created_at": "2026-03-02T15:00:00Z", "title": "Colour",
         "text": "Wrong colour, please swap it.",
         "author": {"email": "sam@example.com", "name": "Sam Roe"}},
    ]);
    let (status, body) = post(
        &server.url("/api/v1/messages"),
        "application/json",
        &batch.to_string(),
    );
    assert_eq!(status, 200, "{body}");
    add_user(&data, "lee@example.com", "agent", None, "a long passphrase");
    let (_, session) = sign_in(&server, "lee@example.com", "a long passphrase");
    let session = session.unwrap();
    let count = |html: &str, queue: &str| -> Option<u64> {
        let at = html.find(&format!("{queue} <span class=\"count"))?;
        let rest = &html[at..];
        let start = rest.find('>')? + 1;
        rest[start..].split('<').next()?.parse().ok()
    };
    let (status, html) = page_as(&server, &session, "/inbox?queue=open");
    assert_eq!(status, 200);
    assert_eq!(count(&html, "open"), Some(2), "{html}");
    assert_eq!(count(&html, "unassigned"), Some(2));
    assert_eq!(count(&html, "resolved"), Some(0));
    assert_eq!(count(&html, "mine"), Some(0));

    let (_, listed) = get(&server.url("/api/v1/cases?queue=open"));
    let id = listed["cases"][0]["id"].as_i64().unwrap();
    let (status, body) = send(
        "POST",
        &server.url(&format!("/api/v1/cases/{id}")),
        Some(json!({"assignee": "lee@example.com"})),
    );
    assert_eq!(status, 200, "{body}");
    let (_, html) = page_as(&server, &session, "/inbox?queue=mine");
    assert_eq!(count(&html, "mine"), Some(1), "my own queue is counted now");
    assert!(html.contains(&format!("/inbox/{id}?workspace=default")));

    let (status, body) = send(
        "POST",
        &server.url(&format!("/api/v1/cases/{id}")),
        Some(json!({"status": "resolved"})),
    );
    assert_eq!(status, 200, "{body}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let html = loop {
        let (_, html) = page_as(&server, &session, "/inbox?queue=open");
        if count(&html, "resolved") == Some(1) || std::time::Instant::now() > deadline {
            break html;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(count(&html, "resolved"), Some(1), "{html}");
    assert_eq!(count(&html, "open"), Some(1));
    assert_eq!(count(&html, "unassigned"), Some(1));
    assert_eq!(count(&html, "mine"), Some(0));
    assert!(server.stop().success());
}

#[test]
fn an_agent_works_a_live_case_in_a_real_browser() {
    let Some(browser) = Browser::find() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    add_user(&data, "kim@example.com", "agent", None, "a long passphrase");
    add_user(
        &data,
        "ann@example.com",
        "analyst",
        None,
        "a long passphrase",
    );
    browser.run(
        "inbox.mjs",
        &[&server.url(""), "kim@example.com", "a long passphrase"],
    );
    let shots = &browser.shots;

    // What the browser did is in Needle.
    let (_, listed) = get(&server.url("/api/v1/cases?queue=resolved"));
    let case = &listed["cases"][0];
    assert_eq!(case["subject"], "Broken blender");
    assert_eq!(case["assignee"], "kim@example.com");
    let (_, got) = get(&server.url(&format!("/api/v1/cases/{}", case["id"])));
    let note = got["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "note")
        .unwrap();
    assert_eq!(note["body"]["mentions"], json!(["ann@example.com"]));
    assert!(shots.join("conversation.png").exists());
    assert!(server.stop().success());
}
