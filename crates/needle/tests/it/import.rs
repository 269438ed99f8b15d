//! `needle import`, `needle search`, `needle reindex` as users run them.

use crate::support::*;

#[test]
fn import_is_idempotent_and_search_finds_words_and_phrases() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("messages.jsonl");
    let lines = [
        line("1", "My Acme Phone screen is broken, I want a refund"),
        line("2", "<p>The <b>screen</b> works now &amp; thanks</p>"),
        line("3", "Un niño con su teléfono"),
    ];
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();

    let first = needle(&data, &["import", file.to_str().unwrap()]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(
        stdout(&first).trim(),
        "imported 3, duplicates 0, rejected 0"
    );
    let again = needle(&data, &["import", file.to_str().unwrap()]);
    assert_eq!(
        stdout(&again).trim(),
        "imported 0, duplicates 3, rejected 0"
    );

    let found = needle(&data, &["search", "screen", "--json"]);
    assert!(found.status.success(), "{}", stderr(&found));
    let ids: Vec<String> = stdout(&found)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ids.len(), 2);
    let html_one = stdout(&found)
        .lines()
        .find(|l| l.contains("\"id\":\"2\""))
        .unwrap()
        .to_string();
    assert!(
        html_one.contains("The screen works now & thanks"),
        "HTML became text: {html_one}"
    );

    let phrase = needle(&data, &["search", "\"screen is broken\""]);
    assert_eq!(stdout(&phrase).lines().count(), 1);
    let folded = needle(&data, &["search", "nino"]);
    assert_eq!(stdout(&folded).lines().count(), 1, "accent folding");
    let none = needle(&data, &["search", "chargeback"]);
    assert!(none.status.success());
    assert_eq!(stdout(&none), "");

    let bad_query = needle(&data, &["search", "\"unclosed"]);
    assert_eq!(bad_query.status.code(), Some(1));
    assert!(
        stderr(&bad_query).contains("never closed"),
        "{}",
        stderr(&bad_query)
    );
}

#[test]
fn csv_import_maps_columns() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("reviews.csv");
    std::fs::write(
        &file,
        "review_id,channel,created_at,body,author.handle,stars,campaign\n\
         r1,review,2026-01-01T10:00:00Z,\"Great earbuds, really\",kim,5,spring\n\
         r2,review,2026-01-02T10:00:00Z,Battery died,lee,1,spring\n",
    )
    .unwrap();
    let out = needle(
        &data,
        &[
            "import",
            file.to_str().unwrap(),
            "--map",
            "id=review_id",
            "--map",
            "text=body",
            "--map",
            "rating=stars",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "imported 2, duplicates 0, rejected 0");
    let found = needle(&data, &["search", "earbuds", "--json"]);
    let message: serde_json::Value =
        serde_json::from_str(stdout(&found).lines().next().unwrap()).unwrap();
    assert_eq!(message["id"], "r1");
    assert_eq!(message["rating"], 5.0);
    assert_eq!(message["extra"]["campaign"], "spring");

    let bad_map = needle(
        &data,
        &["import", file.to_str().unwrap(), "--map", "shoe=stars"],
    );
    assert_eq!(
        bad_map.status.code(),
        Some(2),
        "an unknown field in --map is a usage error"
    );
}

#[test]
fn reindex_rebuilds_an_index_that_was_lost() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("m.jsonl");
    generated_file(&file, 3000);
    assert!(
        needle(&data, &["import", file.to_str().unwrap()])
            .status
            .success()
    );
    std::fs::remove_dir_all(data.join("index")).unwrap();
    let out = needle(&data, &["reindex"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("reindexed 3000 messages"),
        "{}",
        stdout(&out)
    );
    let stats = stats(&data);
    assert_eq!(stats["messages"], 3000);
    assert_eq!(stats["indexed"], 3000);
}
