//! `needle classify`: the fast tier over JSON Lines, as shared/specs/cli.md says.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::{needle_bin, needle_stateless, stderr, stdout};

fn classify(args: &[&str], input: &[u8]) -> std::process::Output {
    let mut child = Command::new(needle_bin())
        .arg("classify")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    // Written from a thread so a large input cannot deadlock against a full stdout pipe.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

fn lines(out: &std::process::Output) -> Vec<Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn classify_prints_the_contract_shape_in_input_order() {
    let dir = tempfile::tempdir().unwrap();
    let dictionary = dir.path().join("entities.toml");
    std::fs::write(
        &dictionary,
        "product = [\"Office\"]\ncompetitor = [\"Globex\"]\n",
    )
    .unwrap();
    let input = [
        r#"{"id":"1","text":"I can't uninstall Office, this is terrible. Switching to Globex"}"#,
        r#"{"id":"2","text":"Thinking of buying an SUV, what do you recommend?"}"#,
        r#"{"id":"3","text":"Danke, super Service! Alles hat perfekt funktioniert und die Lieferung war schnell"}"#,
        r#"{"id":"4","text":""}"#,
    ];
    let out = classify(
        &["--entities", dictionary.to_str().unwrap()],
        input.join("\n").as_bytes(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let got = lines(&out);
    assert_eq!(got.len(), 4);
    let ids: Vec<&str> = got.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["1", "2", "3", "4"]);

    let first = &got[0];
    let keys: Vec<&String> = first.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["id", "lang", "sentiment", "intents", "entities"]);
    assert_eq!(first["lang"], "en");
    assert_eq!(first["sentiment"]["label"], "negative");
    let score = first["sentiment"]["score"].as_f64().unwrap();
    assert!((-1.0..=-0.05).contains(&score), "{score}");
    let intents = first["intents"].as_array().unwrap();
    assert!(intents.contains(&"complaint".into()), "{intents:?}");
    assert!(intents.contains(&"churn_risk".into()), "{intents:?}");
    assert_eq!(
        first["entities"][0],
        serde_json::json!({"kind":"product","text":"Office","start":18,"end":24})
    );
    assert_eq!(first["entities"][1]["kind"], "competitor");

    assert!(
        got[1]["intents"]
            .as_array()
            .unwrap()
            .contains(&"purchase_intent".into())
    );
    assert_eq!(got[2]["lang"], "de");
    assert_eq!(got[3]["lang"], "und");
    assert_eq!(got[3]["sentiment"]["label"], "neutral");
    assert_eq!(got[3]["intents"], serde_json::json!([]));
}

#[test]
fn classify_reports_bad_lines_and_goes_on() {
    let mut input = Vec::new();
    input.extend_from_slice(b"{\"id\":\"a\",\"text\":\"great stuff, love it\"}\n");
    input.extend_from_slice(b"{\"id\":\"b\",\"text\":\"caf\xff\"}\n");
    input.extend_from_slice(b"[1,2]\n");
    input.extend_from_slice(b"{\"id\":\"c\",\"text\":42}\n");
    input.extend_from_slice(b"{\"id\":\"d\"}\n");
    input.extend_from_slice(b"{\"id\":\"e\",\"text\":\"<script>alert(1)</script> awful\"}\n");
    let out = classify(&[], &input);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let got = lines(&out);
    let ids: Vec<&str> = got.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["a", "e"]);
    assert_eq!(got[1]["sentiment"]["label"], "negative");
    let err = stderr(&out);
    assert!(err.contains("line 2: invalid UTF-8 at byte"), "{err}");
    assert!(
        err.contains("line 3: expected a message object, found an array"),
        "{err}"
    );
    assert!(
        err.contains("line 4: field `text`: expected a string, found a number"),
        "{err}"
    );
    assert!(
        err.contains("line 5: expected a message object with a `text`"),
        "{err}"
    );
}

#[test]
fn classify_truncates_huge_texts_and_stays_stateless() {
    let huge = "this is really bad. ".repeat(60_000); // 1.2 MB
    let line = serde_json::json!({"id": "big", "text": huge}).to_string();
    let out = classify(&[], line.as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    let got = lines(&out);
    let at = got[0]["truncated_at"].as_u64().unwrap();
    assert!(at > 0 && at <= 16 * 1024, "{at}");
    assert_eq!(got[0]["sentiment"]["label"], "negative");
}

#[test]
fn classify_refuses_a_bad_dictionary_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let dictionary = dir.path().join("entities.toml");
    std::fs::write(&dictionary, "product = [\"Office\", 7]\n").unwrap();
    let out = needle_stateless(&["classify", "--entities", dictionary.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("entities.toml"), "{err}");
    assert!(err.contains("term 2 is a number"), "{err}");
}

#[test]
fn imported_messages_are_classified_stored_and_searchable_by_sentiment() {
    use crate::support::{line, needle};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("in.jsonl");
    let lines = [
        line(
            "1",
            "My router arrived broken and support is useless. Terrible!",
        ),
        line(
            "2",
            "Love the new router, setup was quick and easy. Thank you!",
        ),
        line("3", "The router was delivered on Tuesday."),
        line(
            "4",
            "Der Router ist kaputt angekommen und niemand antwortet auf meine Mails",
        ),
    ];
    std::fs::write(&file, lines.join("\n")).unwrap();
    let out = needle(&data, &["import", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));

    let search = |query: &str| -> Vec<Value> {
        let out = needle(&data, &["search", query, "--json"]);
        assert!(out.status.success(), "{query}: {}", stderr(&out));
        lines_of(&out)
    };
    let ids = |found: &[Value]| -> Vec<String> {
        let mut ids: Vec<String> = found
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };

    let negative = search("sentiment:negative");
    assert_eq!(ids(&negative), ["1"], "{negative:?}");
    let c = &negative[0]["classification"];
    assert_eq!(c["sentiment"]["label"], "negative");
    assert!(c["sentiment"]["score"].as_f64().unwrap() < -0.05);
    assert!(
        c["intents"]
            .as_array()
            .unwrap()
            .contains(&"complaint".into())
    );
    assert_eq!(c["lang"], "en");

    assert_eq!(ids(&search("router AND sentiment:positive")), ["2"]);
    assert_eq!(ids(&search("sentiment:neutral")), ["3", "4"]);
    // The language was missing on input; the detected one is stored, so `lang:` finds it.
    let german = search("lang:de");
    assert_eq!(ids(&german), ["4"]);
    assert_eq!(german[0]["lang"], "de");
}

fn lines_of(out: &std::process::Output) -> Vec<Value> {
    lines(out)
}
