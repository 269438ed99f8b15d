//! Listening from the command line: `query lint`, `match`, `topics load`, NQL `search`.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::*;

const TOPICS: &str = r#"
[[topic]]
id = "office"
level = "brand"
query = '({Office} OR "Microsoft Office" OR o365) NEAR/6 ({Windows} OR PC OR laptop)'
exclude = '(window OR windows) NEAR/4 (glass OR squeegee OR cleaner OR wash)'

[[topic]]
id = "refunds"
level = "owned"
query = 'refund* OR "money back"'
"#;

#[test]
fn query_lint_reports_codes_and_spans() {
    let out = needle_stateless(&["query", "lint", "apple AND banana OR cherry", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let error = &report["errors"][0];
    assert_eq!(error["code"], "mixed_and_or");
    assert!(error["start"].as_u64().unwrap() < error["end"].as_u64().unwrap());

    let ok = needle_stateless(&["query", "lint", "apple banana"]);
    assert_eq!(ok.status.code(), Some(0), "warnings alone exit 0");
    assert!(
        stdout(&ok).contains("warning[implicit_and]"),
        "{}",
        stdout(&ok)
    );
}

#[test]
fn match_prints_one_line_per_message_in_order_with_explanations() {
    let dir = tempfile::tempdir().unwrap();
    let topics = dir.path().join("topics.toml");
    std::fs::write(&topics, TOPICS).unwrap();
    let mut child = Command::new(needle_bin())
        .args(["match", "--topics", topics.to_str().unwrap(), "--explain"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input = [
        r#"{"id":"1","text":"I need to clean Office off my Windows laptop, it keeps crashing"}"#,
        r#"{"id":"2","text":"clean the windows on my office"}"#,
        r#"{"id":"3","text":"I want my money back, refunding takes forever"}"#,
    ];
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.join("\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["topics"], serde_json::json!(["office"]));
    let why = &lines[0]["why"]["office"];
    assert!(
        why.as_array()
            .unwrap()
            .iter()
            .any(|t| t["term"] == "Office" && t["start"] == 16 && t["end"] == 22),
        "{why}"
    );
    assert_eq!(lines[1]["topics"], serde_json::json!([]));
    assert_eq!(lines[2]["topics"], serde_json::json!(["refunds"]));

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[topic]]\nid = \"broken\"\nlevel = \"brand\"\nquery = \"apple AND\"\n",
    )
    .unwrap();
    let out = needle_stateless(&[
        "match",
        "--topics",
        bad.to_str().unwrap(),
        "--input",
        "/dev/null",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("broken"),
        "the error names the topic: {}",
        stderr(&out)
    );
}

#[test]
fn topics_load_tags_history_and_search_speaks_nql() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("m.jsonl");
    std::fs::write(
        &file,
        [
            line("a", "I need to clean Office off my Windows laptop"),
            line("b", "clean the windows on my office with a squeegee"),
            line("c", "Where is my refund?"),
        ]
        .join("\n"),
    )
    .unwrap();
    assert!(
        needle(&data, &["import", file.to_str().unwrap()])
            .status
            .success()
    );
    let topics = dir.path().join("topics.toml");
    std::fs::write(&topics, TOPICS).unwrap();
    let out = needle(&data, &["topics", "load", topics.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("loaded 2 topics, 2 new or changed"),
        "{}",
        stdout(&out)
    );

    let listed = needle(&data, &["topics", "list", "--json"]);
    let listed: Vec<Value> = stdout(&listed)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let office = listed.iter().find(|t| t["id"] == "office").unwrap();
    assert_eq!(
        office["messages"], 1,
        "the backfill found the one Office message"
    );

    let found = needle(&data, &["search", "office NOT squeegee", "--json"]);
    let rows: Vec<Value> = stdout(&found)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["id"], "a");
    assert_eq!(
        rows[0]["classification"]["topics"],
        serde_json::json!(["office"])
    );

    let again = needle(&data, &["topics", "load", topics.to_str().unwrap()]);
    assert!(
        stdout(&again).starts_with("loaded 2 topics, 0 new or changed"),
        "{}",
        stdout(&again)
    );
    let bad = needle(&data, &["search", "(office"]);
    assert_eq!(bad.status.code(), Some(1));
}
