//! Profiles through the binary: CRM import, messages joining profiles, `profile show`.

use serde_json::Value;

use crate::support::{needle, stderr, stdout};

const CRM: &str = "\
customer_no,email,phone,name,country,lifetime_value,event,event_id,at,amount
4711,Kim@Example.com,+49 30 1234567,Kim Lee,DE,620,,,,
4711,,,,,,purchase,o-1,2026-03-01T10:00:00Z,80
4712,lees@example.com,,Min Lee,DE,10,,,,
4713,lees@example.com,,Joon Lee,KR,5,,,,
,nobody@example.com,,,,,,,,
";

const MESSAGES: &str = r#"{"id":"e1","channel":"email","created_at":"2026-03-02T10:00:00Z","text":"where is my order","author":{"email":"KIM@example.com","name":"Kim Lee"}}
{"id":"c1","channel":"chat","created_at":"2026-03-03T10:00:00Z","text":"hello","author":{"id":"v-93","email":"kim@example.com"}}
{"id":"t1","channel":"mastodon","created_at":"2026-03-04T10:00:00Z","text":"I am kim@example.com, acme is slow","author":{"handle":"kim_lee","email":"kim@example.com","name":"Kim Lee"}}
"#;

fn show(data: &std::path::Path, identity: &str) -> Value {
    let out = needle(data, &["profile", "show", identity, "--json"]);
    assert!(out.status.success(), "{identity}: {}", stderr(&out));
    serde_json::from_str(stdout(&out).trim()).expect("profile show --json prints JSON")
}

#[test]
fn crm_and_messages_make_one_profile_with_one_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let crm = dir.path().join("crm.csv");
    std::fs::write(&crm, CRM).unwrap();
    let out = needle(
        &data,
        &[
            "import-profiles",
            crm.to_str().unwrap(),
            "--map",
            "id=customer_no",
        ],
    );
    // One row without a customer id: rejected with its line, exit 1, the rest imported.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).lines().next(),
        Some("imported 4, duplicates 0, rejected 1")
    );
    assert!(
        stderr(&out).contains("crm.csv:6: rejected"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("two different crm identities"),
        "{}",
        stderr(&out)
    );
    // Again: Kim and Min change nothing; the event goes to the store again (which keeps it
    // once) and 4713's refused link is attempted, refused and logged again.
    let again = needle(
        &data,
        &[
            "import-profiles",
            crm.to_str().unwrap(),
            "--map",
            "id=customer_no",
        ],
    );
    assert!(
        stdout(&again).starts_with("imported 2, duplicates 2, rejected 1"),
        "{}",
        stdout(&again)
    );

    let messages = dir.path().join("m.jsonl");
    std::fs::write(&messages, MESSAGES).unwrap();
    let out = needle(&data, &["import", messages.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));

    let kim = show(&data, "email:kim@example.com");
    assert_eq!(
        kim,
        show(&data, "phone:+4930 1234567"),
        "every identity shows the same profile"
    );
    let identities: Vec<&str> = kim["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        identities,
        [
            "crm:4711",
            "email:kim@example.com",
            "phone:+49301234567",
            "visitor:v-93"
        ]
    );
    assert_eq!(kim["traits"]["country"], "DE");
    assert_eq!(kim["traits"]["lifetime_value"], 620);
    assert_eq!(
        kim["traits"]["messages"],
        serde_json::json!({"chat": 1, "email": 1})
    );
    let timeline: Vec<(String, String)> = kim["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_string(),
                e["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected = [("message", "c1"), ("message", "e1"), ("purchase", "o-1")]
        .map(|(k, i)| (k.to_string(), i.to_string()));
    assert_eq!(timeline, expected);
    // The public post claims the address but is not linked by it.
    let handle = show(&data, "mastodon:kim_lee");
    assert_eq!(
        handle["identities"],
        serde_json::json!(["mastodon:kim_lee"])
    );
    assert_ne!(handle["profile"], kim["profile"]);
    // The family email stays with the first customer; the second is alone.
    assert_eq!(
        show(&data, "crm:4713")["identities"],
        serde_json::json!(["crm:4713"])
    );

    let plain = needle(&data, &["profile", "show", "crm:4711"]);
    assert!(plain.status.success());
    assert!(
        stdout(&plain).contains("purchase  o-1"),
        "{}",
        stdout(&plain)
    );
}

#[test]
fn unknown_and_malformed_identities_exit_1_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let crm = dir.path().join("crm.csv");
    std::fs::write(&crm, "id,email\n1,kim@example.com\n").unwrap();
    assert!(
        needle(&data, &["import-profiles", crm.to_str().unwrap()])
            .status
            .success()
    );
    for (identity, says) in [
        (
            "email:nobody@example.com",
            "no identity email:nobody@example.com has been seen",
        ),
        ("kim@example.com", "KIND:VALUE"),
        ("email:kim@", "domain"),
        ("phone:abc", "not a valid phone number"),
    ] {
        let out = needle(&data, &["profile", "show", identity]);
        assert_eq!(out.status.code(), Some(1), "{identity}");
        assert!(stderr(&out).contains(says), "{identity}: {}", stderr(&out));
    }
    let out = needle(
        &data,
        &[
            "import-profiles",
            crm.to_str().unwrap(),
            "--map",
            "colour=x",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    std::fs::write(&crm, "email\nkim@example.com\n").unwrap();
    let out = needle(&data, &["import-profiles", crm.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no \"id\" column"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_api_links_unlinks_reviews_exports_and_erases() {
    use crate::serve::{Server, get, post, send, urlencode};
    use serde_json::json;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let api = |path: &str| server.url(&format!("/api/v1{path}"));
    let (status, body) = post(
        &api("/profiles/import?map=id%3Dcustomer_no"),
        "text/csv",
        CRM,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["customers"].as_u64(), body["rejected"].as_u64()),
        (Some(3), Some(1)),
        "{body}"
    );
    let (status, body) = post(&api("/messages"), "application/x-ndjson", MESSAGES);
    assert!(status < 300, "{body}");
    let lookup = |identity: &str| get(&api(&format!("/profiles?identity={}", urlencode(identity))));
    // Wait for the pipeline to resolve the messages' authors.
    let started = std::time::Instant::now();
    while lookup("mastodon:kim_lee").0 != 200 {
        assert!(
            started.elapsed().as_secs() < 10,
            "the messages never reached profiles"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let (status, kim) = lookup("email:kim@example.com");
    assert_eq!(status, 200, "{kim}");
    let name = kim["profile"].as_str().unwrap().to_string();
    assert_eq!(lookup("email:nobody@example.com").0, 404);
    assert_eq!(lookup("nonsense").0, 400);

    // The public claim waits in the review queue; accepting it links the handle.
    let (_, queue) = get(&api("/profiles/suggestions"));
    let claim = queue
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["evidence"][0].as_str().unwrap().contains("claims"))
        .expect("claim suggested");
    let id = claim["id"].as_u64().unwrap();
    let (status, body) = send(
        "POST",
        &api(&format!("/profiles/suggestions/{id}/accept")),
        Some(json!({"actor": "ana", "reason": "same order number"})),
    );
    assert_eq!(status, 200, "{body}");
    let (status, again) = send(
        "POST",
        &api(&format!("/profiles/suggestions/{id}/accept")),
        Some(json!({"actor": "ana"})),
    );
    assert_eq!(status, 409, "{again}");
    assert_eq!(lookup("mastodon:kim_lee").1["profile"], name);

    // Unlinking splits it back; unlinking again is a conflict that says why.
    let unlink = json!({"a": "mastodon:kim_lee", "b": "email:kim@example.com", "reason": "wrong person", "actor": "ana"});
    let (status, body) = send("POST", &api("/profiles/unlink"), Some(unlink.clone()));
    assert_eq!(
        (status, body["split"].as_bool()),
        (200, Some(true)),
        "{body}"
    );
    assert_ne!(lookup("mastodon:kim_lee").1["profile"], name);
    let (status, body) = send("POST", &api("/profiles/unlink"), Some(unlink));
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains("not linked"), "{body}");
    let (status, body) = send(
        "POST",
        &api("/profiles/links"),
        Some(json!({"a": "crm:4711", "b": "email:kim@example.com", "reason": "x"})),
    );
    assert_eq!(status, 409, "merging a profile into itself: {body}");
    let (status, body) = send(
        "POST",
        &api("/profiles/links"),
        Some(json!({"a": "crm:4712", "b": "email:kim@example.com", "reason": "x"})),
    );
    assert_eq!(status, 409, "two CRM ids: {body}");

    let (_, audit) = get(&api("/profiles/audit"));
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(&actions[..3], ["refuse", "unlink", "accept"], "{audit}");
    assert_eq!(audit[1]["actor"], "ana");
    assert_eq!(audit[1]["reason"], "wrong person");

    let (status, page) = get(&api(&format!("/profiles/{name}/timeline?limit=2")));
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["entries"].as_array().unwrap().len(), 2);
    let (_, rest) = get(&api(&format!(
        "/profiles/{name}/timeline?limit=2&cursor={}",
        page["next"].as_str().unwrap()
    )));
    assert_eq!(rest["entries"][0]["id"], "o-1");

    let (status, export) = get(&api(&format!("/profiles/{name}/export")));
    assert_eq!(status, 200);
    assert_eq!(export["timeline"][0]["message"]["text"], "hello");
    assert!(export["audit"].as_array().unwrap().len() >= 3);

    // Erasure: the texts are gone from the store and the search index; counts stay.
    let started = std::time::Instant::now();
    while get(&api("/messages?q=order")).1["messages"]
        .as_array()
        .unwrap()
        .is_empty()
    {
        assert!(
            started.elapsed().as_secs() < 10,
            "the message was never indexed"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let (status, body) = send(
        "POST",
        &api(&format!("/profiles/{name}/erase")),
        Some(json!({"actor": "dpo", "reason": "GDPR request 17"})),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["messages_redacted"], 2);
    assert_eq!(lookup("email:kim@example.com").0, 404);
    assert_eq!(get(&api(&format!("/profiles/{name}"))).0, 404);
    let (_, found) = get(&api("/messages?q=order"));
    assert_eq!(found["messages"].as_array().unwrap().len(), 0, "{found}");
    let (_, stored) = get(&api("/messages/email/e1"));
    assert_eq!(stored["text"], "[erased]", "{stored}");
    let (status, _) = send(
        "POST",
        &api("/profiles/p999/erase"),
        Some(json!({"reason": "x"})),
    );
    assert_eq!(status, 404);
    let (_, doc) = get(&server.url("/api/openapi.json"));
    assert!(doc["paths"]["/api/v1/profiles/{profile}/timeline"].is_object());
    assert!(server.stop().success());
}

#[test]
fn segments_are_live_report_mistakes_with_spans_and_survive_a_restart() {
    use crate::serve::{Server, get, post, send};
    use serde_json::json;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let api = |path: &str| server.url(&format!("/api/v1{path}"));
    let (status, body) = post(
        &api("/profiles/import?map=id%3Dcustomer_no"),
        "text/csv",
        CRM,
    );
    assert_eq!(status, 200, "{body}");

    let define = |key: &str, definition: &str| {
        send(
            "PUT",
            &api(&format!("/segments/{key}")),
            Some(json!({ "definition": definition })),
        )
    };
    let (status, vip) = define("de_vip", "country = DE and lifetime_value > 500");
    assert_eq!((status, &vip["members"]), (201, &json!(1)), "{vip}");
    let (status, buyers) = define("buyers", "events(purchase) >= 1 and not country = KR");
    assert_eq!((status, &buyers["members"]), (201, &json!(1)), "{buyers}");
    let (status, on_mastodon) = define("on_mastodon", "messages.mastodon >= 1");
    assert_eq!((status, &on_mastodon["members"]), (201, &json!(0)));

    // Mistakes come back all at once, each with the bytes it covers; nothing is saved.
    let wrong = "country = DE and (lifetime_value >> 5";
    let (status, body) = define("broken", wrong);
    assert_eq!(status, 400, "{body}");
    let errors = body["errors"].as_array().expect("errors listed");
    assert!(!errors.is_empty(), "{body}");
    for e in errors {
        let (start, end) = (e["start"].as_u64().unwrap(), e["end"].as_u64().unwrap());
        assert!(start <= end && end as usize <= wrong.len(), "{e}");
        assert!(!e["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(get(&api("/segments/broken")).0, 404);
    let (status, body) = define("bad%20key", "country = DE");
    assert_eq!(status, 400, "{body}");
    let (status, body) = send("PUT", &api("/segments/x"), Some(json!({"definition": 5})));
    assert_eq!(status, 422, "{body}");

    // Messages arriving move members in: no rebuild asked for.
    let (status, body) = post(&api("/messages"), "application/x-ndjson", MESSAGES);
    assert!(status < 300, "{body}");
    let started = std::time::Instant::now();
    loop {
        let (_, segment) = get(&api("/segments/on_mastodon"));
        if segment["members"] == 1 {
            let profiles = segment["profiles"].as_array().unwrap();
            assert_eq!(profiles[0]["identities"], json!(["mastodon:kim_lee"]));
            break;
        }
        assert!(started.elapsed().as_secs() < 10, "{segment}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    // Linking the handle to Kim moves the merged profile into both segments.
    let (_, queue) = get(&api("/profiles/suggestions"));
    let claim = queue
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["evidence"][0].as_str().unwrap().contains("claims"))
        .expect("claim suggested")["id"]
        .as_u64()
        .unwrap();
    let (status, body) = send(
        "POST",
        &api(&format!("/profiles/suggestions/{claim}/accept")),
        Some(json!({"actor": "ana", "reason": "same order number"})),
    );
    assert_eq!(status, 200, "{body}");
    let (_, kim) = get(&api("/profiles?identity=email%3Akim%40example.com"));
    let (_, segment) = get(&api("/segments/on_mastodon"));
    assert_eq!(
        segment["profiles"][0]["profile"], kim["profile"],
        "{segment}"
    );
    assert_eq!(segment["members"], 1);

    // Paging, listing, replacing and removing.
    let (status, page) = get(&api("/segments/buyers?limit=1"));
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["profiles"].as_array().unwrap().len(), 1);
    let (_, rest) = get(&api(&format!(
        "/segments/buyers?limit=1&cursor={}",
        page["next"].as_str().unwrap()
    )));
    assert!(rest["profiles"].as_array().unwrap().is_empty(), "{rest}");
    assert_eq!(get(&api("/segments/buyers?limit=0")).0, 400);
    assert_eq!(get(&api("/segments/buyers?cursor=zz")).0, 400);
    let (status, body) = define("buyers", "lifetime_value < 100");
    assert_eq!((status, &body["members"]), (200, &json!(2)), "{body}");
    let (status, _) = send("DELETE", &api("/segments/on_mastodon"), None);
    assert_eq!(status, 204);
    assert_eq!(send("DELETE", &api("/segments/on_mastodon"), None).0, 404);
    let (_, doc) = get(&server.url("/api/openapi.json"));
    assert!(doc["paths"]["/api/v1/segments/{key}"].is_object());
    drop(server);

    // Definitions are stored; members are found again from the profiles on start.
    let server = Server::start(&data, &[]);
    let (status, list) = get(&server.url("/api/v1/segments"));
    assert_eq!(status, 200, "{list}");
    let summary: Vec<(String, u64)> = list["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["key"].as_str().unwrap().to_string(),
                s["members"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [("buyers".to_string(), 2), ("de_vip".to_string(), 1)]
    );
}
