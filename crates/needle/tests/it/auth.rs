//! Sign-in, roles, tokens and the audit log over real HTTP against `needle serve`.

use std::process::Stdio;

use serde_json::{Value, json};

use crate::serve::*;
use crate::support::*;

/// `method path` with an optional bearer token and JSON body: `(status, body)`.
fn call(
    server: &Server,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let agent = browser();
    let url = server.url(path);
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut response = match (method, body) {
        ("GET", _) => {
            let mut r = agent.get(&url);
            if let Some(a) = &auth {
                r = r.header("authorization", a);
            }
            r.call().unwrap()
        }
        (_, body) => {
            let mut r = match method {
                "PUT" => agent.put(&url),
                _ => agent.post(&url),
            };
            if let Some(a) = &auth {
                r = r.header("authorization", a);
            }
            r.header("content-type", "application/json")
                .send(body.unwrap_or(Value::Null).to_string())
                .unwrap()
        }
    };
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// `needle token add` for a role (and workspace): the printed token.
fn token(data: &std::path::Path, name: &str, role: &str, workspace: Option<&str>) -> String {
    let mut args = vec!["token", "add", name, "--role", role];
    if let Some(w) = workspace {
        args.extend(["--workspace", w]);
    }
    let output = needle(data, &args);
    assert!(output.status.success(), "{}", stderr(&output));
    let printed = stdout(&output).trim().to_string();
    assert!(
        printed.starts_with("ndl_") && printed.len() == 68,
        "{printed}"
    );
    printed
}

#[test]
fn the_api_refuses_anonymous_callers_and_holds_each_token_to_its_role_and_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let (status, _) = call(
        &server,
        "POST",
        "/api/v1/workspaces",
        Some(TEST_TOKEN),
        Some(json!({"name": "acme"})),
    );
    assert_eq!(status, 201);

    // Anonymous: 401 with a reason and a challenge; a made-up token too.
    let (status, body) = call(&server, "GET", "/api/v1/messages", None, None);
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "unauthorized");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Authorization: Bearer")
    );
    let (status, _) = call(&server, "GET", "/api/v1/messages", Some("ndl_madeup"), None);
    assert_eq!(status, 401);
    // Webhooks prove themselves with their signature, not a token: not 401 but 404 here.
    let (status, _) = call(
        &server,
        "POST",
        "/api/v1/hooks/nothing",
        None,
        Some(json!({})),
    );
    assert_eq!(status, 404);

    // An agent token of acme: reads acme by default, may not ingest, configure or look
    // into another workspace.
    let agent = token(&data, "helpdesk", "agent", Some("acme"));
    let (status, body) = call(&server, "GET", "/api/v1/messages", Some(&agent), None);
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(
        &server,
        "POST",
        "/api/v1/messages",
        Some(&agent),
        Some(json!([message("m1", "hi", 1)])),
    );
    assert_eq!(status, 403, "{body}");
    let reason = body["error"]["message"].as_str().unwrap();
    assert!(
        reason.contains("token:helpdesk is agent") && reason.contains("an analyst or admin"),
        "{reason}"
    );
    let (status, _) = call(&server, "GET", "/api/v1/connections", Some(&agent), None);
    assert_eq!(status, 403, "channels are admin things");
    let (status, _) = call(
        &server,
        "GET",
        "/api/v1/messages?workspace=default",
        Some(&agent),
        None,
    );
    assert_eq!(status, 403, "no role in another workspace");
    let (_, listed) = call(&server, "GET", "/api/v1/workspaces", Some(&agent), None);
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["acme"], "only its own workspaces are listed");

    // An analyst ingests and configures listening, but is no admin.
    let analyst = token(&data, "listening", "analyst", Some("acme"));
    let (status, body) = call(
        &server,
        "POST",
        "/api/v1/messages",
        Some(&analyst),
        Some(json!([message("m1", "hi", 1)])),
    );
    assert_eq!(status, 200, "{body}");
    // Both one-workspace tokens went to acme without naming it: the message is there, not
    // in `default`.
    let ids = |token: &str, path: &str| -> Vec<String> {
        let (status, body) = call(&server, "GET", path, Some(token), None);
        assert_eq!(status, 200, "{body}");
        body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&agent, "/api/v1/messages"), ["m1"]);
    assert_eq!(ids(TEST_TOKEN, "/api/v1/messages?workspace=acme"), ["m1"]);
    assert!(
        ids(TEST_TOKEN, "/api/v1/messages").is_empty(),
        "nothing went to default"
    );
    let (status, body) = call(
        &server,
        "PUT",
        "/api/v1/topics/brand",
        Some(&analyst),
        Some(json!({"level": "brand", "query": "hi"})),
    );
    assert!(status == 200 || status == 201, "{status} {body}");
    let (status, _) = call(
        &server,
        "POST",
        "/api/v1/workspaces",
        Some(&analyst),
        Some(json!({"name": "b"})),
    );
    assert_eq!(status, 403);

    // Revoked tokens stop working at once.
    let listed = needle(&data, &["token", "list", "--json"]);
    let id = stdout(&listed)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|t| t["name"] == "helpdesk")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    assert!(
        needle(&data, &["token", "revoke", &id.to_string()])
            .status
            .success()
    );
    let (status, _) = call(&server, "GET", "/api/v1/messages", Some(&agent), None);
    assert_eq!(status, 401);

    // The audit log says who did what; only admins read it.
    let (status, _) = call(
        &server,
        "GET",
        "/api/v1/audit?workspace=acme",
        Some(&analyst),
        None,
    );
    assert_eq!(status, 403);
    let (status, log) = call(
        &server,
        "GET",
        "/api/v1/audit?workspace=acme",
        Some(TEST_TOKEN),
        None,
    );
    assert_eq!(status, 200, "{log}");
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"token.added") && actions.contains(&"token.revoked"),
        "{actions:?}"
    );
    assert!(server.stop().success());
}

#[test]
fn user_add_prints_a_one_time_password_that_must_be_replaced_at_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let output = needle(
        &data,
        &["user", "add", "Kim@Example.com", "--role", "agent"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let password = stdout(&output).trim().to_string();
    assert_eq!(password.chars().count(), 20, "the password alone on stdout");
    let again = needle(
        &data,
        &["user", "add", "kim@example.com", "--role", "admin"],
    );
    assert_eq!(again.status.code(), Some(1), "an email has one account");
    assert!(stderr(&again).contains("already has an account"));
    let bad = needle(&data, &["user", "add", "not-an-email", "--role", "agent"]);
    assert_eq!(bad.status.code(), Some(1));
    let usage = needle(&data, &["user", "add", "a@example.com", "--role", "owner"]);
    assert_eq!(
        usage.status.code(),
        Some(2),
        "an unknown role is a usage error"
    );
    let short = std::process::Command::new(needle_bin())
        .args([
            "user",
            "add",
            "b@example.com",
            "--role",
            "agent",
            "--password-stdin",
            "--data",
        ])
        .arg(&data)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(short.status.code(), Some(1), "an empty password is refused");
    assert!(stderr(&short).contains("at least 12"), "{}", stderr(&short));

    // Wrong password: 401 and the form again. Right one: a session, sent to choose a password.
    let (status, session) = sign_in(&server, "kim@example.com", "wrong password!");
    assert_eq!((status, session), (401, None));
    let (status, session) = sign_in(&server, "KIM@example.com", &password);
    assert_eq!(status, 303);
    let session = session.expect("a session cookie");
    let (status, _) = page_as(&server, &session, "/");
    assert_eq!(status, 303, "nothing else until the password is chosen");
    let (status, html) = page_as(&server, &session, "/account/password");
    assert_eq!(status, 200);
    let csrf = csrf_field(&html);
    let change = |csrf: &str, new: &str| {
        browser()
            .post(&server.url("/account/password"))
            .header("cookie", &format!("needle_session={session}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .send(format!(
                "csrf={csrf}&current={}&new={}&repeat={}",
                urlencode(&password),
                urlencode(new),
                urlencode(new)
            ))
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(
        change("forged", "my own passphrase"),
        403,
        "CSRF token required"
    );
    assert_eq!(change(&csrf, "short"), 400);
    assert_eq!(change(&csrf, "my own passphrase"), 303);
    let (status, html) = page_as(&server, &session, "/");
    assert_eq!(status, 200, "the session goes on after the change");
    assert!(html.contains("kim@example.com") && html.contains("Sign out"));
    // The one-time password is gone; the chosen one works.
    assert_eq!(sign_in(&server, "kim@example.com", &password).0, 401);
    assert_eq!(
        sign_in(&server, "kim@example.com", "my own passphrase").0,
        303
    );

    // A browser session may call the API, but changes need its CSRF token.
    let (_, html) = page_as(&server, &session, "/");
    let csrf = csrf_field(&html);
    let reply = |csrf: Option<&str>| {
        let mut r = browser()
            .post(&server.url("/api/v1/topics/x/labels"))
            .header("cookie", &format!("needle_session={session}"))
            .header("content-type", "application/json");
        if let Some(c) = csrf {
            r = r.header("x-csrf-token", c);
        }
        r.send("{}").unwrap().status().as_u16()
    };
    assert_eq!(reply(None), 403);
    assert_ne!(
        reply(Some(&csrf)),
        403,
        "with the token the request reaches the handler"
    );

    // Agents do not manage people.
    let (status, html) = page_as(&server, &session, "/admin/people");
    assert_eq!(status, 403);
    assert!(html.contains("Only admins manage people"));
    assert!(server.stop().success());
}

#[test]
fn sign_in_is_rate_limited_per_account() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    add_user(&data, "ann@example.com", "admin", None, "a long passphrase");
    for _ in 0..5 {
        assert_eq!(
            sign_in(&server, "ann@example.com", "guess guess guess").0,
            401
        );
    }
    let (status, session) = sign_in(&server, "ann@example.com", "a long passphrase");
    assert_eq!(
        (status, session),
        (429, None),
        "held even with the right password"
    );
    // Another account from the same address is not held.
    add_user(
        &data,
        "bob@example.com",
        "agent",
        None,
        "another passphrase",
    );
    assert_eq!(
        sign_in(&server, "bob@example.com", "another passphrase").0,
        303
    );

    let (_, log) = call(&server, "GET", "/api/v1/audit", Some(TEST_TOKEN), None);
    let failed = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "signin.failed" && e["subject"] == "ann@example.com")
        .count();
    assert_eq!(failed, 5, "every failed sign-in is in the audit log");
    assert!(server.stop().success());
}

#[test]
fn an_agent_signs_in_in_a_real_browser_sees_hostile_text_as_text_and_is_refused_admin_pages() {
    let Some(browser) = Browser::find() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let hostile = json!([{
        "id": "xss", "channel": "chat", "created_at": "2026-03-02T14:00:00Z",
        "text": "&lt;script&gt;alert('x')&lt;/script&gt; please help",
        "url": "javascript:alert(1)",
        "author": {"handle": "x", "name": "<img src=x onerror=alert(1)>"}
    }]);
    let (status, body) = post(
        &server.url("/api/v1/messages"),
        "application/json",
        &hostile.to_string(),
    );
    assert_eq!(status, 200, "{body}");
    add_user(&data, "kim@example.com", "agent", None, "a long passphrase");

    browser.run(
        "signin.mjs",
        &[&server.url(""), "kim@example.com", "a long passphrase"],
    );
    let shots = &browser.shots;
    assert!(shots.join("inbox-signed-in.png").exists());
    assert!(server.stop().success());
}
