//! What the bench examples share: finding the `needle` binary beside them and letting their
//! API token in. Included with `#[path]`; not an example of its own.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The API token the benches' servers accept (the API refuses anonymous callers).
pub const BENCH_TOKEN: &str = "ndl_bench_0123456789abcdef0123456789abcdef";

/// The `needle` binary of this build; exits with `build` as the fix when it is missing.
pub fn needle_bin(bench: &str, build: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("own path");
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("needle"))
        .expect("examples live in target/PROFILE/examples");
    if !bin.exists() {
        eprintln!("{bench}: {} is missing: run `{build}` first", bin.display());
        std::process::exit(3);
    }
    bin
}

/// Lets [`BENCH_TOKEN`] in to the data dir's store (or the one `store_args` name).
pub fn grant_token(needle: &Path, data: &Path, store_args: &[&str]) {
    let mut child = Command::new(needle)
        .args([
            "token",
            "add",
            "bench",
            "--role",
            "admin",
            "--token-stdin",
            "--data",
        ])
        .arg(data)
        .args(store_args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run needle token add");
    writeln!(child.stdin.take().expect("stdin"), "{BENCH_TOKEN}").expect("write the token");
    let done = child.wait_with_output().expect("needle token add");
    assert!(
        done.status.success(),
        "needle token add failed: {}",
        String::from_utf8_lossy(&done.stderr)
    );
}
