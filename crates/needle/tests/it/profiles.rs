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
