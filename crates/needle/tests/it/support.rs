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
    line_on(id, "email", text)
}

/// One valid message line on `channel`.
pub fn line_on(id: &str, channel: &str, text: &str) -> String {
    serde_json::json!({
        "id": id, "channel": channel, "created_at": "2026-03-02T14:05:09Z",
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

/// A server-sent events stream read on a thread of its own: `(event, data)` pairs.
pub struct EventStream {
    events: std::sync::mpsc::Receiver<(String, Value)>,
}

impl EventStream {
    /// Opens `url` (an SSE endpoint) and returns once the server answered.
    pub fn open(url: &str) -> EventStream {
        let agent = ureq::Agent::config_builder()
            .timeout_global(None)
            .build()
            .new_agent();
        let response = agent
            .get(url)
            .header("authorization", bearer())
            .call()
            .expect("open the event stream");
        assert_eq!(response.status().as_u16(), 200);
        let (tx, events) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            let reader = std::io::BufReader::new(response.into_body().into_reader());
            let mut kind = String::new();
            for line in reader.lines().map_while(Result::ok) {
                if let Some(k) = line.strip_prefix("event:") {
                    kind = k.trim().to_string();
                } else if let Some(data) = line.strip_prefix("data:") {
                    let data = serde_json::from_str(data.trim()).unwrap_or(Value::Null);
                    if tx.send((std::mem::take(&mut kind), data)).is_err() {
                        return;
                    }
                }
            }
        });
        EventStream { events }
    }

    /// The data of the next `count` events of `kind`, waiting at most `limit` in all.
    pub fn next_of(&self, kind: &str, count: usize, limit: std::time::Duration) -> Vec<Value> {
        let deadline = std::time::Instant::now() + limit;
        let mut found = Vec::new();
        while found.len() < count {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.events.recv_timeout(left) {
                Ok((k, data)) if k == kind => found.push(data),
                Ok(_) => {}
                Err(_) => panic!("{} of {count} {kind} events came", found.len()),
            }
        }
        found
    }
}

/// Polls `check` every 100 ms until it finds something, failing after `limit`.
pub fn wait_for<T>(
    what: &str,
    limit: std::time::Duration,
    mut check: impl FnMut() -> Option<T>,
) -> T {
    let started = std::time::Instant::now();
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(started.elapsed() < limit, "waited {limit:?} for {what}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Where `scripts/setup.sh` puts the test tools (aiosmtpd, playwright-core, corpora).
pub fn tools_cache() -> PathBuf {
    std::env::var_os("NEEDLE_TOOLS_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME is set"))
                .join(".cache/needle-tools")
        })
}

/// The API token every test server accepts: an admin of every workspace.
pub const TEST_TOKEN: &str = "ndl_tests_0123456789abcdef0123456789abcdef";

/// `Authorization` header value for [`TEST_TOKEN`].
pub fn bearer() -> String {
    format!("Bearer {TEST_TOKEN}")
}

/// Lets [`TEST_TOKEN`] in to the data dir's (or `store`'s) server; running it again is fine.
pub fn grant_test_token(data: &Path, store: Option<&str>) {
    use std::io::Write;
    let mut command = Command::new(needle_bin());
    command
        .args([
            "token",
            "add",
            "tests",
            "--role",
            "admin",
            "--token-stdin",
            "--data",
        ])
        .arg(data);
    if let Some(store) = store {
        command.args(["--store", store]);
    }
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{TEST_TOKEN}").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "token add: {}", stderr(&output));
}

/// Where browser tests find Chromium and playwright-core (both installed by
/// `scripts/setup.sh`). `None` means skip: allowed on a developer's machine, a failure in CI.
pub struct Browser {
    playwright: PathBuf,
    chromium: PathBuf,
    /// Screenshots land here (`target/tmp/screenshots`).
    pub shots: PathBuf,
}

impl Browser {
    pub fn find() -> Option<Browser> {
        let playwright = tools_cache().join("playwright/node_modules/playwright-core/index.mjs");
        let chromium =
            PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
        if !playwright.exists() || !chromium.exists() {
            assert!(
                std::env::var_os("CI").is_none(),
                "Chromium or playwright-core is missing: scripts/setup.sh installs them"
            );
            eprintln!(
                "skipped: Chromium or playwright-core is missing (scripts/setup.sh installs them)"
            );
            return None;
        }
        let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
        std::fs::create_dir_all(&shots).unwrap();
        Some(Browser {
            playwright,
            chromium,
            shots,
        })
    }

    /// Runs `tests/browser/SCRIPT` with `args`, then the screenshot dir and playwright-core,
    /// with the test token in `NEEDLE_TOKEN`; fails the test with what the script said.
    pub fn run(&self, script: &str, args: &[&str]) {
        let out = Command::new("node")
            .arg(
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/browser")
                    .join(script),
            )
            .args(args)
            .arg(&self.shots)
            .arg(&self.playwright)
            .env("CHROMIUM", &self.chromium)
            .env("NEEDLE_TOKEN", TEST_TOKEN)
            .output()
            .unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{script}: {said}");
    }
}
