//! Running the binary, and small helpers shared by the scenarios.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub fn needle_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_needle"))
}

/// `needle ARGS --data DATA`, run to completion.
pub fn needle(data: &Path, args: &[&str]) -> Output {
    Command::new(needle_bin())
        .args(args)
        .arg("--data")
        .arg(data)
        .env_remove("NEEDLE_DATA")
        .output()
        .expect("run needle")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `needle stats --json`.
pub fn stats(data: &Path) -> Value {
    let out = needle(data, &["stats", "--json"]);
    assert!(out.status.success(), "stats failed: {}", stderr(&out));
    serde_json::from_str(stdout(&out).trim()).expect("stats prints JSON")
}

/// One valid message line.
pub fn line(id: &str, text: &str) -> String {
    serde_json::json!({
        "id": id, "channel": "email", "created_at": "2026-03-02T14:05:09Z",
        "text": text, "author": {"email": "kim@example.com", "name": "Kim"}
    })
    .to_string()
}

/// Writes `count` generated messages as JSON Lines.
pub fn generated_file(path: &Path, count: u64) {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for line in needle_demo::Corpus::new(99).bench_lines(count) {
        writeln!(out, "{line}").unwrap();
    }
    out.flush().unwrap();
}

/// `needle ARGS` for commands that read no data dir.
pub fn needle_stateless(args: &[&str]) -> Output {
    Command::new(needle_bin())
        .args(args)
        .output()
        .expect("run needle")
}
