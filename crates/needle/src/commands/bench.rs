//! `needle bench import`: the spine's benchmark. Generates realistic messages, imports them
//! end to end (parse, normalise, store, index, committed), runs the Python sqlite3 + FTS5
//! baseline on the same file in the same run, and times typical searches. Prints numbers;
//! passes or fails nothing.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use needle_demo::Corpus;
use needle_search::{SearchRequest, TextQuery};
use serde_json::json;

use super::import::{ImportOptions, import_files};
use crate::context::DataDir;
use crate::failure::{CliResult, Failure};

const BASELINE: &str = include_str!("../../../../bench/baseline_sqlite_fts5.py");
const BENCH_SEED: u64 = 7;

/// Peak resident memory of this process so far, in MiB (Linux).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn env_failure(what: &str, e: impl std::fmt::Display) -> Failure {
    Failure::environment(format!("{what}: {e}"))
}

fn generate(path: &Path, messages: u64) -> CliResult<Duration> {
    let started = Instant::now();
    let file =
        std::fs::File::create(path).map_err(|e| env_failure("cannot create the bench file", e))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    for line in Corpus::new(BENCH_SEED).bench_lines(messages) {
        out.write_all(line.as_bytes())
            .and_then(|_| out.write_all(b"\n"))
            .map_err(|e| env_failure("cannot write the bench file", e))?;
    }
    out.flush()
        .map_err(|e| env_failure("cannot write the bench file", e))?;
    Ok(started.elapsed())
}

fn run_baseline(work: &Path, input: &Path) -> CliResult<serde_json::Value> {
    let script = work.join("baseline_sqlite_fts5.py");
    let _ = std::fs::remove_file(work.join("baseline.db"));
    std::fs::write(&script, BASELINE)
        .map_err(|e| env_failure("cannot write the baseline script", e))?;
    let output = Command::new("python3")
        .arg(&script)
        .arg(input)
        .arg(work.join("baseline.db"))
        .output()
        .map_err(|e| env_failure("cannot run python3", e))?;
    if !output.status.success() {
        return Err(Failure::environment(format!(
            "the baseline failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or("{}");
    serde_json::from_str(last).map_err(|e| env_failure("the baseline printed no JSON", e))
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

pub fn import(
    messages: u64,
    dir: Option<PathBuf>,
    no_baseline: bool,
    search_runs: usize,
) -> CliResult<i32> {
    let (work, temporary) = match dir {
        Some(dir) => (dir, false),
        None => (
            std::env::temp_dir().join(format!("needle-bench-{}", std::process::id())),
            true,
        ),
    };
    std::fs::create_dir_all(&work).map_err(|e| env_failure("cannot create the bench dir", e))?;
    let input = work.join("messages.jsonl");
    let generated = generate(&input, messages)?;
    let size_mib = std::fs::metadata(&input)
        .map(|m| m.len() as f64 / 1_048_576.0)
        .unwrap_or(0.0);
    eprintln!(
        "generated {messages} messages ({size_mib:.0} MiB) in {:.1}s",
        generated.as_secs_f64()
    );

    // The baseline runs first: a child forked later would report this process's peak memory
    // as its own (Linux carries the high-water mark across fork).
    let baseline = if no_baseline {
        None
    } else {
        Some(run_baseline(&work, &input)?)
    };
    let data = work.join("data");
    let _ = std::fs::remove_dir_all(&data);
    let started = Instant::now();
    let dir = DataDir::open(&crate::cli::DataArgs {
        data: data.clone(),
        workspace: "bench".into(),
        store: None,
    })?;
    let workspace = dir.store.ensure_workspace("bench", false)?;
    let (summary, _) = import_files(
        &dir,
        workspace.id,
        std::slice::from_ref(&input),
        ImportOptions::plain(5000),
    )?;
    let took = started.elapsed().as_secs_f64();
    let rate = summary.imported as f64 / took;
    let peak = peak_rss_mib().unwrap_or(0.0);
    eprintln!(
        "needle import: {} messages in {took:.1}s = {rate:.0} messages/s, peak RSS {peak:.0} MiB",
        summary.imported
    );

    let ratio = baseline
        .as_ref()
        .and_then(|b| b["rows_per_s"].as_f64())
        .map(|base| rate / base);
    if let (Some(b), Some(ratio)) = (&baseline, ratio) {
        eprintln!(
            "python sqlite3+fts5: {:.0} rows/s; needle is {ratio:.2}x",
            b["rows_per_s"].as_f64().unwrap_or(0.0)
        );
    }

    let searches = search_latency(&dir, workspace.id, search_runs)?;
    let result = json!({
        "bench": "import",
        "messages": messages,
        "imported": summary.imported,
        "seconds": took,
        "messages_per_s": rate,
        "peak_rss_mib": peak,
        "baseline": baseline,
        "ratio_vs_baseline": ratio,
        "search": searches,
    });
    println!("{result}");
    drop(dir);
    if temporary {
        let _ = std::fs::remove_dir_all(&work);
    }
    Ok(0)
}

/// Ten typical searches, each run `runs` times end to end (index, then the page of
/// messages from the store), reported as p50 and p99 in milliseconds.
fn search_latency(dir: &DataDir, workspace_id: i64, runs: usize) -> CliResult<serde_json::Value> {
    let span_start = Corpus::new(BENCH_SEED).start;
    let week = |days: i64| needle_store::micros(span_start + time::Duration::days(days));
    // (name, search text, channel, time window)
    type Case<'a> = (&'a str, &'a str, Option<&'a str>, Option<(i64, i64)>);
    let cases: Vec<Case> = vec![
        ("word", "refund", None, None),
        ("rare word", "swelling", None, None),
        ("common word", "acme", None, None),
        ("two words", "battery fire", None, None),
        ("phrase", "\"cracked screen\"", None, None),
        ("hashtag", "#acmephonex", None, None),
        ("word + channel", "refund", Some("email"), None),
        ("phrase + channel", "\"battery life\"", Some("review"), None),
        ("word + week", "order", None, Some((week(7), week(14)))),
        (
            "word + channel + week",
            "screen",
            Some("mastodon"),
            Some((week(20), week(27))),
        ),
    ];
    let mut all = Vec::new();
    let mut per_query = Vec::new();
    for (name, text, channel, window) in cases {
        let request = SearchRequest {
            workspace_id,
            query: Some(TextQuery::parse(text).map_err(|e| Failure::bad_input(e.to_string()))?),
            channel: channel.map(str::to_string),
            since_us: window.map(|w| w.0),
            until_us: window.map(|w| w.1),
            cursor: None,
            limit: 20,
        };
        let mut times = Vec::with_capacity(runs);
        let mut hits = 0;
        for _ in 0..runs.max(1) {
            let started = Instant::now();
            let page = dir.index.search(&request)?;
            let seqs: Vec<i64> = page.hits.iter().map(|c| c.seq).collect();
            hits = dir.store.get_many(&seqs)?.len();
            times.push(started.elapsed());
        }
        times.sort();
        per_query.push(json!({"query": name, "text": text, "hits": hits,
            "p50_ms": percentile(&times, 50.0), "p99_ms": percentile(&times, 99.0)}));
        all.extend(times);
    }
    all.sort();
    let summary = json!({"runs_per_query": runs, "p50_ms": percentile(&all, 50.0), "p99_ms": percentile(&all, 99.0), "queries": per_query});
    eprintln!(
        "search: p50 {:.2} ms, p99 {:.2} ms over {} searches",
        percentile(&all, 50.0),
        percentile(&all, 99.0),
        all.len()
    );
    Ok(summary)
}
