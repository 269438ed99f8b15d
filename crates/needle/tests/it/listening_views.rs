//! The listening views over real HTTP: a topic's volume and sentiment over time (API and
//! charts), its stream with the matched words marked, and the topic editor that lints and
//! tries a draft on recent messages before saving it; roles and CSRF hold.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::serve::*;
use crate::support::Browser;

fn at(days_ago: i64) -> String {
    (OffsetDateTime::now_utc() - time::Duration::days(days_ago))
        .format(&Rfc3339)
        .unwrap()
}

fn ingest(server: &Server, messages: Value) {
    let (status, body) = post(
        &server.url("/api/v1/messages"),
        "application/json",
        &messages.to_string(),
    );
    assert_eq!(status, 200, "{body}");
}

/// Creates a topic and waits until its backfill has found `want` messages.
fn topic(server: &Server, key: &str, query: &str, want: u64) {
    let (status, body) = send(
        "PUT",
        &server.url(&format!("/api/v1/topics/{key}")),
        Some(json!({"level": "brand", "query": query})),
    );
    assert_eq!(status, 200, "{body}");
    let started = Instant::now();
    loop {
        let (_, got) = get(&server.url(&format!("/api/v1/topics/{key}")));
        if got["messages"] == want && got["backfill"]["state"] == "done" {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "backfill of {key}: {got}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn blender_messages() -> Value {
    json!([
        {"id": "b1", "channel": "twitter", "created_at": at(2), "author": {"handle": "ann"},
         "text": "I love my new blender, it is amazing!"},
        {"id": "b2", "channel": "twitter", "created_at": at(2), "author": {"handle": "bo"},
         "text": "My blender broke after a week. Terrible, awful quality."},
        {"id": "b3", "channel": "reddit", "created_at": at(1), "author": {"handle": "cy"},
         "text": "The blender is ok I guess"},
        {"id": "b4", "channel": "twitter", "created_at": at(0), "author": {"handle": "di"},
         "text": "blender &lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(2)&gt; broken again, worst purchase"},
        {"id": "t1", "channel": "twitter", "created_at": at(0), "author": {"handle": "ed"},
         "text": "My toaster is fine"},
    ])
}

#[test]
fn a_topic_charts_its_volume_and_sentiment_and_drafts_are_tried_before_saving() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    ingest(&server, blender_messages());
    topic(&server, "blender", "blender", 4);

    // What the series should say, from the stored messages themselves.
    let (_, stream) = get(&server.url("/api/v1/topics/blender/messages"));
    let mut expected: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    for m in stream["messages"].as_array().unwrap() {
        let day = m["created_at"].as_str().unwrap()[..10].to_string();
        let label = m["classification"]["sentiment"]["label"].as_str().unwrap();
        let e = expected.entry(day).or_default();
        e.0 += 1;
        e.1 += u64::from(label == "positive");
        e.2 += u64::from(label == "negative");
    }
    let (status, series) = get(&server.url("/api/v1/topics/blender/series?days=7"));
    assert_eq!(status, 200, "{series}");
    assert_eq!(series["bucket"], "day");
    assert_eq!(series["moved_to_newest"], false);
    let buckets = series["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 7, "every day of the window, empty ones too");
    let mut got: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    for b in buckets {
        let n = b["messages"].as_u64().unwrap();
        assert_eq!(
            n,
            b["positive"].as_u64().unwrap()
                + b["neutral"].as_u64().unwrap()
                + b["negative"].as_u64().unwrap()
                + b["unclassified"].as_u64().unwrap(),
            "{b}"
        );
        if n > 0 {
            got.insert(
                b["start"].as_str().unwrap()[..10].to_string(),
                (
                    n,
                    b["positive"].as_u64().unwrap(),
                    b["negative"].as_u64().unwrap(),
                ),
            );
        } else {
            assert!(b["mean_sentiment"].is_null(), "{b}");
        }
    }
    assert_eq!(got, expected, "{series}");
    let today = &buckets[6];
    assert_eq!(today["start"].as_str().unwrap()[..10], at(0)[..10]);
    let hourly = get(&server.url("/api/v1/topics/blender/series?days=1")).1;
    assert_eq!(hourly["bucket"], "hour");
    assert_eq!(hourly["buckets"].as_array().unwrap().len(), 24);
    for bad in ["days=0", "days=400", "days=x"] {
        let (status, body) = get(&server.url(&format!("/api/v1/topics/blender/series?{bad}")));
        assert_eq!(status, 400, "{bad}: {body}");
    }
    assert_eq!(get(&server.url("/api/v1/topics/nope/series")).0, 404);

    // A topic whose messages are all old: the window ends at its newest message.
    ingest(
        &server,
        json!([{"id": "k1", "channel": "rss", "created_at": "2025-01-10T12:00:00Z",
                "text": "A kettle review", "author": {"handle": "news"}}]),
    );
    topic(&server, "kettle", "kettle", 1);
    let old = get(&server.url("/api/v1/topics/kettle/series?days=30")).1;
    assert_eq!(old["moved_to_newest"], true, "{old}");
    let last = old["buckets"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["start"], "2025-01-10T00:00:00Z");
    assert_eq!(last["messages"], 1);

    // Drafts: lint first; a clean draft is tried on the newest messages.
    let preview = |body: Value| send("POST", &server.url("/api/v1/query/preview"), Some(body));
    let (status, broken) = preview(json!({"query": "blender AND"}));
    assert_eq!(status, 200, "{broken}");
    assert!(broken["preview"].is_null(), "{broken}");
    assert!(
        !broken["lint"]["query"]["errors"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let (status, tried) = preview(json!({"query": "blender", "exclude": "ok OR toaster"}));
    assert_eq!(status, 200, "{tried}");
    let p = &tried["preview"];
    assert_eq!(
        p["examined"], 6,
        "every message of this small workspace: {p}"
    );
    assert_eq!(p["matched"], 3, "the 'ok' message is left out: {p}");
    for m in p["messages"].as_array().unwrap() {
        let text = m["text"].as_str().unwrap();
        let term = &m["match"]["terms"][0];
        let (s, e) = (
            term["start"].as_u64().unwrap(),
            term["end"].as_u64().unwrap(),
        );
        assert_eq!(
            text[s as usize..e as usize].to_lowercase(),
            "blender",
            "{m}"
        );
    }
    let (status, body) = preview(json!({"query": "blender", "limit": 1}));
    assert_eq!(
        (status, body["preview"]["matched"].clone()),
        (200, json!(4))
    );
    assert_eq!(body["preview"]["messages"].as_array().unwrap().len(), 1);
    for bad in [
        json!({"query": "blender", "recent": 0}),
        json!({"query": "blender", "limit": 101}),
        json!({"query": 5}),
        json!({"query": "blender", "surprise": true}),
    ] {
        let (status, body) = preview(bad.clone());
        assert!(status == 400 || status == 422, "{bad}: {status} {body}");
    }
    assert!(server.stop().success());
}

/// Posts a form as a signed-in browser: `(status, location, body)`.
fn form(
    server: &Server,
    session: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> (u16, String, String) {
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect();
    let mut response = browser()
        .post(&server.url(path))
        .header("cookie", &format!("needle_session={session}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .send(body.join("&"))
        .unwrap();
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let status = response.status().as_u16();
    (
        status,
        location,
        response.body_mut().read_to_string().unwrap(),
    )
}

#[test]
fn analysts_read_topics_by_level_and_edit_them_in_the_browser_pages() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    add_user(
        &data,
        "ann@example.com",
        "analyst",
        None,
        "a long passphrase",
    );
    add_user(&data, "kim@example.com", "agent", None, "a long passphrase");
    ingest(&server, blender_messages());
    topic(&server, "blender", "blender", 4);
    let (_, ann) = sign_in(&server, "ann@example.com", "a long passphrase");
    let ann = ann.unwrap();
    let (_, kim) = sign_in(&server, "kim@example.com", "a long passphrase");
    let kim = kim.unwrap();

    let (status, html) = page_as(&server, &ann, "/listening");
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("href=\"/listening/blender?workspace=default\""),
        "{html}"
    );
    assert!(
        html.contains("No competitor topics yet."),
        "every level is listed"
    );
    assert!(
        html.contains("<svg class=\"spark\""),
        "a sparkline per topic"
    );
    assert!(
        html.contains("4 messages"),
        "the sparkline's name says the volume"
    );

    for path in ["/listening?days=x", "/listening/blender?days=x"] {
        let (status, html) = page_as(&server, &kim, path);
        assert_eq!(status, 400, "{path}");
        assert!(
            html.contains("days"),
            "the page says which parameter: {html}"
        );
    }
    let (status, html) = page_as(&server, &kim, "/listening/blender?days=7");
    assert_eq!(status, 200, "agents read topics too: {html}");
    assert!(html.contains("<svg class=\"chart\""), "{html}");
    assert!(
        html.contains("<mark>blender</mark>"),
        "matched words are marked"
    );
    assert!(html.contains("Matched: blender"));
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        &html[html.find("alert").map_or(0, |i| i.saturating_sub(300))..]
    );
    assert!(!html.contains("<script>alert") && !html.contains("<img src=x"));
    assert!(html.contains("&lt;img src=x onerror=alert(2)&gt;"));
    assert!(!html.contains("Edit topic"), "agents do not edit topics");
    assert_eq!(page_as(&server, &ann, "/listening/nope").0, 404);

    // The editor: lint and preview without saving.
    let (status, editor) = page_as(&server, &ann, "/listening/new");
    assert_eq!(status, 200);
    let csrf = csrf_field(&editor);
    let (status, _, tried) = form(
        &server,
        &ann,
        "/listening/try",
        &[
            ("csrf", &csrf),
            ("id", "x"),
            ("level", "brand"),
            ("query", "blender AND"),
        ],
    );
    assert_eq!(status, 200);
    assert!(tried.contains("<li class=\"error\">"), "{tried}");
    assert!(
        tried.contains("<mark>"),
        "the problem's span is marked: {tried}"
    );
    let (status, _, tried) = form(
        &server,
        &ann,
        "/listening/try",
        &[
            ("csrf", &csrf),
            ("id", "x"),
            ("level", "brand"),
            ("query", "blender"),
            ("exclude", "ok"),
        ],
    );
    assert_eq!(status, 200);
    assert!(
        tried.contains("<strong>3</strong> of the newest 5 messages match"),
        "{tried}"
    );
    assert_eq!(
        get(&server.url("/api/v1/topics/x")).0,
        404,
        "trying saves nothing"
    );

    // Saving: CSRF, role, errors, then a real save and an edit.
    let fields = |csrf: &str, id: &str, query: &str| -> Vec<(String, String)> {
        vec![
            ("csrf".into(), csrf.into()),
            ("id".into(), id.into()),
            ("level".into(), "category".into()),
            ("query".into(), query.into()),
        ]
    };
    let post_fields = |session: &str, f: Vec<(String, String)>| {
        let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        form(&server, session, "/listening/new", &refs)
    };
    assert_eq!(
        post_fields(&ann, fields("forged", "blenders", "blender")).0,
        403
    );
    let kim_csrf = csrf_field(&page_as(&server, &kim, "/listening/new").1);
    let (status, _, refused) = post_fields(&kim, fields(&kim_csrf, "blenders", "blender"));
    assert_eq!(status, 403, "{refused}");
    assert!(refused.contains("an analyst or admin"), "{refused}");
    let (status, _, bad) = post_fields(&ann, fields(&csrf, "blenders", "(blender"));
    assert_eq!(status, 422, "{bad}");
    assert!(bad.contains("<li class=\"error\">"), "{bad}");
    assert_eq!(get(&server.url("/api/v1/topics/blenders")).0, 404);
    let (status, _, taken) = post_fields(&ann, fields(&csrf, "blender", "blender"));
    assert_eq!(status, 422);
    assert!(taken.contains("exists already"), "{taken}");
    let (status, location, _) = post_fields(&ann, fields(&csrf, "blenders", "blender OR smoothie"));
    assert_eq!(
        (status, location.as_str()),
        (303, "/listening/blenders?workspace=default")
    );
    let (_, saved) = get(&server.url("/api/v1/topics/blenders"));
    assert_eq!(
        (saved["level"].clone(), saved["version"].clone()),
        (json!("category"), json!(1))
    );

    let (status, edit) = page_as(&server, &ann, "/listening/blenders/edit");
    assert_eq!(status, 200);
    assert!(edit.contains("blender OR smoothie"), "{edit}");
    assert!(
        edit.contains("of the newest"),
        "the saved query is tried at once"
    );
    let mut change = fields(&csrf, "blenders", "blender NOT toaster");
    change.push(("editing".into(), "1".into()));
    assert_eq!(post_fields(&ann, change).0, 303);
    let (_, saved) = get(&server.url("/api/v1/topics/blenders"));
    assert_eq!(saved["version"], 2, "{saved}");
    assert!(server.stop().success());
}

#[test]
fn an_analyst_writes_a_topic_with_live_lint_and_preview_in_a_real_browser() {
    let Some(browser) = Browser::find() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    add_user(
        &data,
        "ann@example.com",
        "analyst",
        None,
        "a long passphrase",
    );
    ingest(&server, blender_messages());
    browser.run(
        "listening.mjs",
        &[&server.url(""), "ann@example.com", "a long passphrase"],
    );
    let (status, saved) = get(&server.url("/api/v1/topics/blenders"));
    assert_eq!(status, 200, "the browser saved the topic: {saved}");
    assert_eq!(saved["query"], "blender NOT toaster");
    assert!(browser.shots.join("topic-editor.png").exists());
    assert!(browser.shots.join("topic.png").exists());
    assert!(server.stop().success());
}
