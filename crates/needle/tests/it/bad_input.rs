//! Bad input gets a clear answer naming the line; the rest imports; the environment's
//! failures (full disk, read-only data dir) exit 3 with a reason, never a panic.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use crate::support::*;

#[test]
fn every_kind_of_bad_line_is_rejected_with_its_line_and_the_rest_imports() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("mixed.jsonl");
    let mut bytes = Vec::new();
    let mut push = |l: &[u8]| {
        bytes.extend_from_slice(l);
        bytes.push(b'\n');
    };
    push(line("ok-1", "first good line").as_bytes()); // 1
    push(b"{this is not json"); // 2
    push(br#"{"id":"m","channel":"email","text":"x","author":{"handle":"k"}}"#); // 3: no created_at
    push(br#"{"id":"t","channel":"email","created_at":"last tuesday","text":"x","author":{"handle":"k"}}"#); // 4
    push(br#"{"id":"w","channel":"email","created_at":"2026-01-01T00:00:00Z","text":["x"],"author":{"handle":"k"}}"#); // 5
    push(b"{\"id\":\"u\",\"channel\":\"email\",\"created_at\":\"2026-01-01T00:00:00Z\",\"text\":\"bad \xff\xfe bytes\",\"author\":{\"handle\":\"k\"}}"); // 6
    let huge = line("huge", &"x".repeat(10 * 1024 * 1024));
    push(huge.as_bytes()); // 7
    push(b""); // 8: blank lines are skipped, not rejected
    push(line("ok-2", "last good line").as_bytes()); // 9
    std::fs::write(&file, &bytes).unwrap();

    let out = needle(&data, &["import", file.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "rejected lines make the exit code 1"
    );
    let summary = stdout(&out);
    assert!(
        summary.starts_with("imported 2, duplicates 0, rejected 6 (rejects in "),
        "{summary}"
    );

    let rejects_path = dir.path().join("mixed.jsonl.rejects.jsonl");
    let rejects: Vec<serde_json::Value> = std::fs::read_to_string(&rejects_path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let by_line: Vec<(u64, String)> = rejects
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expect = [
        (2, "not valid JSON"),
        (3, "`created_at`: is required"),
        (4, "RFC 3339"),
        (5, "`text`: expected a string"),
        (6, "invalid UTF-8"),
        (7, "limit"),
    ];
    for (line_no, reason) in expect.iter().filter(|(l, _)| *l != 7) {
        assert!(
            by_line
                .iter()
                .any(|(l, r)| l == line_no && r.contains(reason)),
            "line {line_no} should be rejected for {reason:?}: {by_line:?}"
        );
    }
    assert!(
        by_line.iter().any(|(l, r)| *l == 7 && r.contains("limit")),
        "{by_line:?}"
    );
    assert!(
        stderr(&out).contains("mixed.jsonl:2: not valid JSON"),
        "{}",
        stderr(&out)
    );
    assert!(
        rejects
            .iter()
            .all(|r| r["raw"].as_str().map_or(0, str::len) <= 4096),
        "rejects keep an excerpt, not a 10 MB line"
    );
    assert_eq!(stats(&data)["messages"], 2);
}

#[test]
fn an_empty_file_is_reported_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("empty.jsonl");
    std::fs::write(&file, "").unwrap();
    let out = needle(
        &dir.path().join("data"),
        &["import", file.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).starts_with("imported 0, duplicates 0, rejected 1"),
        "{}",
        stdout(&out)
    );
    assert!(stderr(&out).contains("empty"), "{}", stderr(&out));
}

#[test]
fn a_missing_file_is_bad_input_and_a_file_as_data_dir_is_an_environment_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = needle(
        &dir.path().join("data"),
        &["import", "/definitely/not/here.jsonl"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot read /definitely/not/here.jsonl"),
        "{}",
        stderr(&out)
    );

    let not_a_dir = dir.path().join("plain-file");
    std::fs::write(&not_a_dir, "x").unwrap();
    let input = dir.path().join("m.jsonl");
    std::fs::write(&input, line("1", "hello")).unwrap();
    let out = needle(&not_a_dir, &["import", input.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("is a file, not a directory"),
        "{}",
        stderr(&out)
    );
}

/// Runs `needle import` with its data dir on a tmpfs mounted with `options`, in a private
/// mount namespace. Returns None where this machine does not allow mounting.
fn import_on_tmpfs(options: &str, input: &Path, mountpoint: &Path) -> Option<std::process::Output> {
    let script = format!(
        "mount -t tmpfs -o {options} tmpfs {mnt} && exec {bin} import {input} --data {mnt}/data",
        mnt = mountpoint.display(),
        bin = needle_bin().display(),
        input = input.display(),
    );
    let probe = Command::new("unshare")
        .args([
            "-m",
            "sh",
            "-c",
            &format!("mount -t tmpfs -o size=1m tmpfs {}", mountpoint.display()),
        ])
        .output()
        .ok()?;
    if !probe.status.success() {
        eprintln!(
            "skipped: this machine does not allow tmpfs mounts ({})",
            String::from_utf8_lossy(&probe.stderr)
        );
        return None;
    }
    Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .output()
        .ok()
}

#[test]
fn a_full_disk_is_reported_with_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("m.jsonl");
    generated_file(&input, 20_000);
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let Some(out) = import_on_tmpfs("size=1m", &input, &mnt) else {
        return;
    };
    assert_eq!(
        out.status.code(),
        Some(3),
        "stdout {} stderr {}",
        stdout(&out),
        stderr(&out)
    );
    let err = stderr(&out);
    assert!(err.contains("full"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_read_only_data_dir_is_reported_with_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("m.jsonl");
    std::fs::File::create(&input)
        .unwrap()
        .write_all(line("1", "hello").as_bytes())
        .unwrap();
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let Some(out) = import_on_tmpfs("ro", &input, &mnt) else {
        return;
    };
    assert_eq!(
        out.status.code(),
        Some(3),
        "stdout {} stderr {}",
        stdout(&out),
        stderr(&out)
    );
    let err = stderr(&out);
    assert!(
        err.contains("cannot be written") || err.contains("read-only"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}
