//! Working a case together, over real HTTP: who else has it open (presence, expiring), @mentions
//! that notify the person mentioned until they open the case, and bulk changes from the
//! queue and the API, with their per-case results, roles and CSRF.

use std::time::Duration;

use serde_json::{Value, json};

use crate::serve::*;
use crate::support::{Browser, EventStream};

const PASSWORD: &str = "a long passphrase";

fn email(id: &str, thread: &str, title: &str, minute: u32) -> Value {
    json!({"id": id, "channel": "email", "thread_id": thread,
           "created_at": format!("2026-03-02T14:{minute:02}:00Z"),
           "title": title, "text": format!("About {title}"),
           "author": {"email": format!("{thread}@customers.example"), "name": "Customer"}})
}

/// Ingests one conversation per title; their case ids, in the same order.
fn open_cases(server: &Server, titles: &[&str]) -> Vec<i64> {
    let batch: Vec<Value> = titles
        .iter()
        .enumerate()
        .map(|(i, t)| email(&format!("m{i}"), &format!("t{i}"), t, i as u32))
        .collect();
    let (status, body) = post(
        &server.url("/api/v1/messages"),
        "application/json",
        &json!(batch).to_string(),
    );
    assert_eq!(status, 200, "{body}");
    let (_, listed) = get(&server.url("/api/v1/cases?queue=open&limit=500"));
    titles
        .iter()
        .map(|t| {
            listed["cases"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["subject"] == *t)
                .unwrap_or_else(|| panic!("a case for {t}: {listed}"))["id"]
                .as_i64()
                .unwrap()
        })
        .collect()
}

/// A signed-in person: their session and the CSRF token of their pages.
struct Person {
    session: String,
    csrf: String,
}

fn person(server: &Server, data: &std::path::Path, email: &str, role: &str) -> Person {
    add_user(data, email, role, None, PASSWORD);
    let (status, session) = sign_in(server, email, PASSWORD);
    assert_eq!(status, 303);
    let session = session.unwrap();
    let (_, html) = page_as(server, &session, "/inbox?queue=open");
    Person {
        csrf: csrf_field(&html),
        session,
    }
}

/// An API call as a signed-in browser (session cookie; the CSRF header unless `None`).
fn call_as(
    server: &Server,
    who: &Person,
    method: &str,
    path: &str,
    body: Option<Value>,
    csrf: Option<&str>,
) -> (u16, Value) {
    let agent = browser();
    let cookie = format!("needle_session={}", who.session);
    let mut response = if method == "GET" {
        agent
            .get(&server.url(path))
            .header("cookie", &cookie)
            .call()
            .unwrap()
    } else {
        let mut request = agent
            .post(&server.url(path))
            .header("cookie", &cookie)
            .header("content-type", "application/json");
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        request
            .send(body.unwrap_or(Value::Null).to_string())
            .unwrap()
    };
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Posts a form as a signed-in browser: the status and where it redirects.
fn form(server: &Server, who: &Person, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect();
    let response = browser()
        .post(&server.url(path))
        .header("cookie", &format!("needle_session={}", who.session))
        .header("content-type", "application/x-www-form-urlencoded")
        .send(body.join("&"))
        .unwrap();
    let location = response
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or("")
        .to_string();
    (response.status().as_u16(), location)
}

/// `who`'s page says what they are doing on case `id`, as `inbox.js` does.
fn say(server: &Server, who: &Person, id: i64, state: &str) -> (u16, Value) {
    call_as(
        server,
        who,
        "POST",
        &format!("/api/v1/cases/{id}/presence"),
        Some(json!({"state": state})),
        Some(&who.csrf),
    )
}

fn presence_of(server: &Server, who: &Person, id: i64) -> Value {
    let (status, got) = call_as(
        server,
        who,
        "GET",
        &format!("/api/v1/cases/{id}"),
        None,
        None,
    );
    assert_eq!(status, 200, "{got}");
    got["presence"].clone()
}

#[test]
fn colleagues_see_who_else_is_viewing_or_typing_until_they_go_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Pages that stop saying so are gone after 2 s here (30 s by default).
    let server = Server::start(&data, &["--presence-seconds", "2"]);
    let [id, other_case] = open_cases(&server, &["Lost parcel", "Refund"])[..] else {
        unreachable!()
    };
    let kim = person(&server, &data, "kim@example.com", "agent");
    let ann = person(&server, &data, "ann.lee@example.com", "agent");
    let events = EventStream::open(&server.url("/api/v1/events"));
    let presence = format!("/api/v1/cases/{id}/presence");

    let (status, body) = say(&server, &kim, id, "viewing");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["presence"], json!([]), "nobody else is there yet");
    let announced = events.next_of("case.presence", 1, Duration::from_secs(5));
    assert_eq!(announced[0]["id"], id, "open pages hear of it");

    // Ann opens the case: she sees Kim, Kim does not see himself.
    let (_, html) = page_as(&server, &ann.session, &format!("/inbox/{id}"));
    assert!(
        html.contains("<strong>Kim</strong> (kim@example.com) is viewing"),
        "{html}"
    );
    assert!(
        html.contains("aria-live=\"polite\""),
        "said to screen readers"
    );
    assert_eq!(
        presence_of(&server, &ann, id),
        json!([{"email": "kim@example.com", "state": "viewing"}])
    );
    assert_eq!(presence_of(&server, &kim, id), json!([]));
    assert_eq!(
        presence_of(&server, &ann, other_case),
        json!([]),
        "presence is per case"
    );

    // Kim types a reply; Ann says she is viewing and hears he is typing.
    let (status, _) = say(&server, &kim, id, "typing");
    assert_eq!(status, 200);
    let (_, body) = say(&server, &ann, id, "viewing");
    assert_eq!(
        body["presence"],
        json!([{"email": "kim@example.com", "state": "typing"}])
    );
    let (_, html) = page_as(&server, &ann.session, &format!("/inbox/{id}"));
    assert!(
        html.contains("(kim@example.com) is typing a reply"),
        "{html}"
    );
    let (_, html) = page_as(&server, &kim.session, &format!("/inbox/{id}"));
    assert!(
        html.contains("<strong>Ann</strong> (ann.lee@example.com) is viewing"),
        "{html}"
    );

    // Refused: no CSRF header, a made-up state, a case that is not there, a token.
    let (status, _) = call_as(
        &server,
        &kim,
        "POST",
        &presence,
        Some(json!({"state": "typing"})),
        None,
    );
    assert_eq!(status, 403, "a session must send its CSRF token");
    let (status, body) = say(&server, &kim, id, "dancing");
    assert_eq!(status, 400, "{body}");
    let (status, _) = call_as(
        &server,
        &kim,
        "POST",
        "/api/v1/cases/999999/presence",
        Some(json!({"state": "viewing"})),
        Some(&kim.csrf),
    );
    assert_eq!(status, 404);
    let (status, _) = send(
        "POST",
        &server.url(&presence),
        Some(json!({"state": "viewing"})),
    );
    assert_eq!(status, 400, "a token is nobody to be present");

    // Kim goes quiet: gone after the time-out, without saying anything.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(presence_of(&server, &ann, id), json!([]), "Kim expired");
    let (_, html) = page_as(&server, &ann.session, &format!("/inbox/{id}"));
    assert!(!html.contains("kim@example.com) is"), "{html}");

    // Leaving says so at once.
    say(&server, &ann, id, "viewing");
    assert_eq!(presence_of(&server, &kim, id).as_array().unwrap().len(), 1);
    say(&server, &ann, id, "gone");
    assert_eq!(presence_of(&server, &kim, id), json!([]));
    assert!(server.stop().success());
}

#[test]
fn a_mention_notifies_only_the_person_mentioned_until_they_open_the_case() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let [id, quiet] = open_cases(&server, &["Broken lamp", "Late invoice"])[..] else {
        unreachable!()
    };
    let kim = person(&server, &data, "kim@example.com", "agent");
    let ann = person(&server, &data, "ann@example.com", "analyst");
    let lee = person(&server, &data, "lee@example.com", "agent");
    let events = EventStream::open(&server.url("/api/v1/events"));

    // Kim writes a note mentioning Ann (and himself, which notifies nobody).
    let (status, location) = form(
        &server,
        &kim,
        &format!("/inbox/{id}?workspace=default"),
        &[
            ("csrf", &kim.csrf),
            ("action", "note"),
            ("text", "@ann can you check the stock? cc @kim"),
        ],
    );
    assert_eq!(
        (status, location.as_str()),
        (303, &*format!("/inbox/{id}?workspace=default"))
    );
    let live = events.next_of("mention.created", 1, Duration::from_secs(5));
    assert_eq!(live[0], json!({"id": id, "to": ["ann@example.com"]}));

    let (status, mine) = call_as(&server, &ann, "GET", "/api/v1/notifications", None, None);
    assert_eq!(status, 200, "{mine}");
    let notes = mine["notifications"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{mine}");
    assert_eq!(notes[0]["case"], id);
    assert_eq!(notes[0]["subject"], "Broken lamp");
    assert_eq!(notes[0]["from"], "user:kim@example.com");
    assert_eq!(notes[0]["text"], "@ann can you check the stock? cc @kim");
    assert_eq!(notes[0]["read"], false);
    assert_eq!(mine["unread_cases"], 1);
    for other in [&kim, &lee] {
        let (_, theirs) = call_as(&server, other, "GET", "/api/v1/notifications", None, None);
        assert_eq!(
            theirs["notifications"],
            json!([]),
            "only Ann was notified: {theirs}"
        );
    }
    let (status, _) = get(&server.url("/api/v1/notifications"));
    assert_eq!(status, 400, "a token has no notifications of its own");

    // Ann's inbox: the Mentions queue holds the case, its count is in the queue nav.
    let (_, html) = page_as(&server, &ann.session, "/inbox?queue=open");
    assert!(
        html.contains(
            "mentions <span class=\"count unread\">1<span class=\"visually-hidden\"> unread</span>"
        ),
        "{html}"
    );
    let (_, html) = page_as(&server, &ann.session, "/inbox?queue=mentions");
    assert!(
        html.contains("Broken lamp") && !html.contains("Late invoice"),
        "{html}"
    );
    let (_, html) = page_as(&server, &lee.session, "/inbox?queue=mentions");
    assert!(html.contains("Nothing here."), "Lee was not mentioned");
    let (_, api) = call_as(
        &server,
        &ann,
        "GET",
        "/api/v1/cases?queue=mentions",
        None,
        None,
    );
    assert_eq!(api["counts"]["mentions"], 1, "{api}");

    // Opening another case changes nothing; opening this one reads the mention.
    page_as(&server, &ann.session, &format!("/inbox/{quiet}"));
    let (_, mine) = call_as(&server, &ann, "GET", "/api/v1/notifications", None, None);
    assert_eq!(mine["unread_cases"], 1);
    let (status, _) = page_as(&server, &ann.session, &format!("/inbox/{id}"));
    assert_eq!(status, 200);
    let (_, mine) = call_as(&server, &ann, "GET", "/api/v1/notifications", None, None);
    assert_eq!(mine["unread_cases"], 0);
    assert_eq!(mine["notifications"][0]["read"], true, "kept, read");
    let (_, html) = page_as(&server, &ann.session, "/inbox?queue=mentions");
    assert!(html.contains("Nothing here."), "cleared on open");
    assert!(html.contains("mentions <span class=\"count\">0</span>"));

    // A second note mentions her again: unread again, newest first.
    let (status, _) = send(
        "POST",
        &server.url(&format!("/api/v1/cases/{id}/notes")),
        Some(json!({"text": "@ann@example.com any news?"})),
    );
    assert_eq!(status, 201);
    let (_, mine) = call_as(&server, &ann, "GET", "/api/v1/notifications", None, None);
    assert_eq!(mine["unread_cases"], 1);
    assert_eq!(
        mine["notifications"][0]["text"],
        "@ann@example.com any news?"
    );
    assert_eq!(mine["notifications"][0]["read"], false);
    assert_eq!(mine["notifications"][1]["read"], true);
    assert!(server.stop().success());
}

#[test]
fn bulk_changes_from_the_queue_and_the_api_report_each_case() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let ids = open_cases(&server, &["One", "Two", "Three", "Four"]);
    let kim = person(&server, &data, "kim@example.com", "agent");
    let ann = person(&server, &data, "ann@example.com", "analyst");
    let case = |id: i64| get(&server.url(&format!("/api/v1/cases/{id}"))).1;

    // The queue page: a labelled checkbox per case, and the bulk bar.
    let (_, html) = page_as(&server, &kim.session, "/inbox?queue=open");
    assert!(html.contains(&format!(
        "<input type=\"checkbox\" name=\"id\" value=\"{}\" form=\"bulk\" aria-label=\"Select One\">",
        ids[0]
    )), "{html}");
    assert!(html.contains("action=\"/inbox/bulk\""));

    // Kim assigns himself three cases, one of them named twice and one that does not exist.
    let (first, second) = (ids[0].to_string(), ids[1].to_string());
    let (status, location) = form(
        &server,
        &kim,
        "/inbox/bulk",
        &[
            ("csrf", &kim.csrf),
            ("workspace", "default"),
            ("queue", "open"),
            ("action", "assign-me"),
            ("id", &first),
            ("id", &second),
            ("id", &first),
            ("id", "999999"),
        ],
    );
    assert_eq!(status, 303);
    assert_eq!(
        location, "/inbox?workspace=default&queue=open&changed=2&failed=1",
        "back to the same queue, saying how it went"
    );
    let (_, html) = page_as(&server, &kim.session, &location);
    assert!(html.contains("2 changed, 1 could not be"), "{html}");
    assert_eq!(case(ids[0])["case"]["assignee"], "kim@example.com");
    assert_eq!(case(ids[1])["case"]["assignee"], "kim@example.com");
    assert_eq!(case(ids[2])["case"]["assignee"], Value::Null);
    let kinds: Vec<Value> = case(ids[0])["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].clone())
        .collect();
    assert_eq!(kinds, [json!("assigned")], "once, in the case's history");

    // Resolve from the list, then a label added to each case's own labels.
    send(
        "POST",
        &server.url(&format!("/api/v1/cases/{}", ids[2])),
        Some(json!({"labels": ["vip"]})),
    );
    let third = ids[2].to_string();
    let (status, _) = form(
        &server,
        &kim,
        "/inbox/bulk",
        &[
            ("csrf", &kim.csrf),
            ("workspace", "default"),
            ("queue", "label:vip"),
            ("action", "label"),
            ("label", " Refund "),
            ("id", &first),
            ("id", &third),
        ],
    );
    assert_eq!(status, 303);
    assert_eq!(case(ids[0])["case"]["labels"], json!(["refund"]));
    assert_eq!(case(ids[2])["case"]["labels"], json!(["refund", "vip"]));
    let (status, location) = form(
        &server,
        &kim,
        "/inbox/bulk",
        &[
            ("csrf", &kim.csrf),
            ("workspace", "default"),
            ("queue", "mine"),
            ("action", "status"),
            ("status", "resolved"),
            ("id", &first),
            ("id", &second),
        ],
    );
    assert_eq!(
        (status, location.as_str()),
        (
            303,
            "/inbox?workspace=default&queue=mine&changed=2&failed=0"
        )
    );
    assert_eq!(case(ids[0])["case"]["status"], "resolved");
    assert_eq!(case(ids[1])["case"]["status"], "resolved");

    // Refused: a forged form, an analyst assigning, nothing selected.
    let (status, _) = form(
        &server,
        &kim,
        "/inbox/bulk",
        &[
            ("csrf", "forged"),
            ("workspace", "default"),
            ("action", "unassign"),
            ("id", &first),
        ],
    );
    assert_eq!(status, 403);
    let (status, _) = form(
        &server,
        &ann,
        "/inbox/bulk",
        &[
            ("csrf", &ann.csrf),
            ("workspace", "default"),
            ("action", "assign-me"),
            ("id", &third),
        ],
    );
    assert_eq!(status, 403, "analysts do not assign");
    let (status, _) = form(
        &server,
        &kim,
        "/inbox/bulk",
        &[
            ("csrf", &kim.csrf),
            ("workspace", "default"),
            ("action", "unassign"),
        ],
    );
    assert_eq!(status, 400, "select cases first");
    assert_eq!(
        case(ids[0])["case"]["assignee"],
        "kim@example.com",
        "unchanged"
    );
    let (_, html) = page_as(&server, &ann.session, "/inbox?queue=open");
    assert!(
        !html.contains("action=\"/inbox/bulk\""),
        "analysts see no bulk bar"
    );

    // The API: per-id results in order, a case of another workspace reported, not skipped.
    let (status, _) = send(
        "POST",
        &server.url("/api/v1/workspaces"),
        Some(json!({"name": "acme"})),
    );
    assert_eq!(status, 201);
    let (status, body) = post(
        &server.url("/api/v1/messages?workspace=acme"),
        "application/json",
        &json!([email("x1", "tx", "Elsewhere", 0)]).to_string(),
    );
    assert_eq!(status, 200, "{body}");
    let (_, acme) = get(&server.url("/api/v1/cases?workspace=acme"));
    let elsewhere = acme["cases"][0]["id"].as_i64().unwrap();
    let (status, body) = send(
        "POST",
        &server.url("/api/v1/cases/bulk"),
        Some(json!({"ids": [ids[2], elsewhere, ids[3], 424242],
                    "change": {"priority": "urgent", "status": "pending"}})),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["changed"].as_u64(), body["failed"].as_u64()),
        (Some(2), Some(2))
    );
    let results = body["results"].as_array().unwrap();
    let outcome: Vec<(i64, bool)> = results
        .iter()
        .map(|r| (r["id"].as_i64().unwrap(), r["ok"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        outcome,
        [
            (ids[2], true),
            (elsewhere, false),
            (ids[3], true),
            (424242, false)
        ]
    );
    assert_eq!(results[1]["error"]["code"], "not_found", "{body}");
    assert_eq!(results[0]["case"]["priority"], "urgent");
    assert_eq!(results[2]["case"]["status"], "pending");
    let (_, acme) = get(&server.url(&format!("/api/v1/cases/{elsewhere}?workspace=acme")));
    assert_eq!(
        acme["case"]["priority"], "normal",
        "the other workspace's case is untouched"
    );
    let (_, log) = get(&server.url("/api/v1/audit"));
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "case.assigned").count(),
        2,
        "each assignment audited like a single one: {actions:?}"
    );
    assert!(actions.contains(&"case.bulk"), "{actions:?}");

    // API refusals: too many ids, none, an empty change, an analyst, a session without CSRF.
    let many: Vec<i64> = (1..=501).collect();
    let (status, body) = send(
        "POST",
        &server.url("/api/v1/cases/bulk"),
        Some(json!({"ids": many, "change": {"status": "resolved"}})),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1 to 500")
    );
    let (status, _) = send(
        "POST",
        &server.url("/api/v1/cases/bulk"),
        Some(json!({"ids": [], "change": {"status": "resolved"}})),
    );
    assert_eq!(status, 400);
    let (status, _) = send(
        "POST",
        &server.url("/api/v1/cases/bulk"),
        Some(json!({"ids": [ids[3]], "change": {}})),
    );
    assert_eq!(status, 400, "a change that changes nothing");
    let (status, _) = send(
        "POST",
        &server.url("/api/v1/cases/bulk"),
        Some(json!({"ids": [ids[3]], "change": {"status": "closed"}})),
    );
    assert_eq!(status, 400);
    let assign_me = json!({"ids": [ids[3]], "change": {"assignee": "me"}});
    let (status, _) = call_as(
        &server,
        &ann,
        "POST",
        "/api/v1/cases/bulk",
        Some(assign_me.clone()),
        Some(&ann.csrf),
    );
    assert_eq!(status, 403, "analysts do not assign");
    let (status, _) = call_as(
        &server,
        &kim,
        "POST",
        "/api/v1/cases/bulk",
        Some(assign_me.clone()),
        None,
    );
    assert_eq!(status, 403, "a session must send its CSRF token");
    let (status, body) = call_as(
        &server,
        &kim,
        "POST",
        "/api/v1/cases/bulk",
        Some(assign_me),
        Some(&kim.csrf),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"][0]["case"]["assignee"], "kim@example.com");
    assert!(server.stop().success());
}

#[test]
fn two_agents_see_each_other_typing_and_resolve_in_bulk_in_a_real_browser() {
    let Some(browser) = Browser::find() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let ids = open_cases(&server, &["Cracked screen", "Wrong size", "Never arrived"]);
    add_user(&data, "kim@example.com", "agent", None, PASSWORD);
    add_user(&data, "lee@example.com", "agent", None, PASSWORD);
    browser.run(
        "collab.mjs",
        &[
            &server.url(""),
            &ids[0].to_string(),
            "kim@example.com",
            "lee@example.com",
            PASSWORD,
        ],
    );
    // What the browsers did is in Needle.
    let (_, resolved) = get(&server.url("/api/v1/cases?queue=resolved"));
    let mut subjects: Vec<&str> = resolved["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["subject"].as_str().unwrap())
        .collect();
    subjects.sort();
    assert_eq!(subjects, ["Never arrived", "Wrong size"]);
    assert!(browser.shots.join("presence-typing.png").exists());
    assert!(browser.shots.join("bulk-resolved.png").exists());
    assert!(server.stop().success());
}
