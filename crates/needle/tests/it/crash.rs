//! Nothing accepted is lost and nothing is stored twice, even when the process is killed
//! in the middle of a large import.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

#[test]
fn sigkill_mid_import_then_rerun_stores_each_message_once_and_index_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("big.jsonl");
    let total = 150_000;
    generated_file(&file, total);

    let mut child = Command::new(needle_bin())
        .args([
            "import",
            file.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until some messages are committed, then kill without warning.
    let db = data.join("needle.db-wal");
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if std::fs::metadata(&db)
            .map(|m| m.len() > 4 << 20)
            .unwrap_or(false)
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let still_running = child.try_wait().unwrap().is_none();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(
        still_running,
        "the import finished before it could be killed; make the file bigger"
    );

    let partial = stats(&data)["messages"].as_u64().unwrap();
    assert!(
        partial > 0 && partial < total,
        "killed mid-way: {partial} of {total} stored"
    );

    let rerun = needle(&data, &["import", file.to_str().unwrap()]);
    assert!(rerun.status.success(), "{}", stderr(&rerun));
    assert_eq!(
        stdout(&rerun).trim(),
        format!(
            "imported {}, duplicates {partial}, rejected 0",
            total - partial
        )
    );
    let after = stats(&data);
    assert_eq!(
        after["messages"], total,
        "every message stored exactly once"
    );
    assert_eq!(after["indexed"], total, "the index agrees with the store");
}
