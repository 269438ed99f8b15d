//! Throughput of the same ingest in embedded mode and as a cluster with 1, 2 and 3 pipeline
//! workers, side by side in one run, with the CPU time each `needle` process used.
//!
//! ```text
//! cargo build --release -p needle --features cluster --examples
//! target/release/examples/cluster_bench [--messages 100000] [--workers 1,2,3]
//! ```
//!
//! Each run starts from nothing: a fresh SQLite data dir (embedded), or a fresh PostgreSQL
//! database and a fresh nats-server (private, temp dirs, free ports). The clock runs from the
//! first POST of 1,000-message batches to the moment the store holds every message. CPU time
//! is user + system from `/proc/PID/stat` of each `needle` process, and, for the cluster,
//! what PostgreSQL (the postmaster, its live backends and the ones that exited) and
//! nats-server used during the run.

#[path = "support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use needle_bus::testing::TestNats;
use needle_store::testing::TestPostgres;
use serde_json::Value;

struct Options {
    messages: usize,
    workers: Vec<usize>,
}

fn options() -> Options {
    let mut options = Options {
        messages: 100_000,
        workers: vec![1, 2, 3],
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().unwrap_or_else(|| usage(&arg));
        match arg.as_str() {
            "--messages" => options.messages = value.parse().unwrap_or_else(|_| usage(&arg)),
            "--workers" => {
                options.workers = value
                    .split(',')
                    .map(|n| n.parse().unwrap_or_else(|_| usage(&arg)))
                    .collect()
            }
            _ => usage(&arg),
        }
    }
    options
}

fn usage(arg: &str) -> ! {
    eprintln!("cluster_bench: bad argument {arg:?}; usage: [--messages N] [--workers 1,2,3]");
    std::process::exit(2)
}

/// The `needle` binary built beside this example (`target/PROFILE/needle`).
fn needle_bin() -> PathBuf {
    support::needle_bin(
        "cluster_bench",
        "cargo build --release -p needle --features cluster",
    )
}

struct Process {
    child: Child,
    base: Option<String>,
}

impl Process {
    fn start(data: &Path, args: &[&str]) -> Process {
        let store: Vec<&str> = args
            .windows(2)
            .find(|pair| pair[0] == "--store")
            .map_or_else(Vec::new, |pair| pair.to_vec());
        support::grant_token(&needle_bin(), data, &store);
        let mut child = Command::new(needle_bin())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .arg("--data")
            .arg(data)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start needle");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("needle serve started")
                .expect("read stderr");
            if let Some(addr) = line.strip_prefix("needle listening on ") {
                break Some(addr.to_string());
            }
            if line.starts_with("needle running roles") {
                break None;
            }
        };
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
        Process { child, base }
    }

    /// User + system CPU seconds so far.
    fn cpu_seconds(&self) -> f64 {
        proc_cpu(self.child.id(), false)
    }
}

/// The fields of `/proc/PID/stat` after the command name (which is in parentheses and may
/// hold spaces): field N of the whole line is index N - 3 here.
fn stat_fields(pid: u32) -> Vec<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    rest.split_whitespace().map(str::to_string).collect()
}

/// User + system CPU seconds of a process; with `children`, also of its waited-for children.
fn proc_cpu(pid: u32, children: bool) -> f64 {
    let fields = stat_fields(pid);
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
    // utime, stime, cutime, cstime: fields 14 to 17.
    let mut total = ticks(11).unwrap_or(0.0) + ticks(12).unwrap_or(0.0);
    if children {
        total += ticks(13).unwrap_or(0.0) + ticks(14).unwrap_or(0.0);
    }
    total / clock_ticks()
}

fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// CPU seconds of a PostgreSQL server: the postmaster, every live backend and every backend
/// that exited (the postmaster's waited-for children).
fn postgres_cpu(pg: &TestPostgres) -> f64 {
    let pid_file = pg.dir().join("data").join("postmaster.pid");
    let Some(postmaster) = std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|s| s.lines().next()?.trim().parse::<u32>().ok())
    else {
        return 0.0;
    };
    let backends: f64 = all_pids()
        .into_iter()
        .filter(|&pid| {
            stat_fields(pid).get(1).and_then(|p| p.parse::<u32>().ok()) == Some(postmaster)
        })
        .map(|pid| proc_cpu(pid, false))
        .sum();
    proc_cpu(postmaster, true) + backends
}

/// CPU seconds of the nats-server started in `nats`'s directory.
fn nats_cpu(nats: &TestNats) -> f64 {
    let dir = nats.dir().to_string_lossy().into_owned();
    all_pids()
        .into_iter()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&dir))
                && !stat_fields(*pid).is_empty()
        })
        .map(|pid| proc_cpu(pid, false))
        .sum()
}

impl Drop for Process {
    fn drop(&mut self) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

fn clock_ticks() -> f64 {
    (unsafe { libc::sysconf(libc::_SC_CLK_TCK) }) as f64
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .new_agent()
}

fn stored(base: &str) -> u64 {
    let Ok(mut response) = agent()
        .get(&format!("{base}/api/v1/workspaces"))
        .header("authorization", format!("Bearer {}", support::BENCH_TOKEN))
        .call()
    else {
        return 0;
    };
    let text = response.body_mut().read_to_string().unwrap_or_default();
    serde_json::from_str::<Value>(&text).map_or(0, |v| v[0]["messages"].as_u64().unwrap_or(0))
}

/// Posts every batch (retrying on 503) and waits until all are stored; returns the seconds.
fn ingest(base: &str, batches: &[String], total: usize) -> f64 {
    let started = Instant::now();
    for batch in batches {
        loop {
            let response = agent()
                .post(&format!("{base}/api/v1/messages"))
                .header("authorization", format!("Bearer {}", support::BENCH_TOKEN))
                .header("content-type", "application/x-ndjson")
                .send(batch.as_str())
                .expect("post a batch");
            match response.status().as_u16() {
                200..=299 => break,
                503 => std::thread::sleep(Duration::from_millis(200)),
                status => panic!("ingest answered {status}"),
            }
        }
    }
    while stored(base) < total as u64 {
        assert!(
            started.elapsed() < Duration::from_secs(3600),
            "not every message was stored within an hour"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    started.elapsed().as_secs_f64()
}

struct Run {
    label: String,
    seconds: f64,
    cpu: Vec<(String, f64)>,
}

fn report(runs: &[Run], messages: usize) {
    let baseline = runs[0].seconds;
    let cpu_of = |run: &Run| run.cpu.iter().map(|(_, s)| s).sum::<f64>();
    let baseline_cpu = cpu_of(&runs[0]);
    println!("{messages} messages through the API, 1,000 per request");
    println!(
        "{:<24} {:>9} {:>10} {:>9} {:>14}  CPU seconds per process",
        "mode", "seconds", "msg/s", "ratio", "CPU µs/msg"
    );
    for run in runs {
        let per_message = cpu_of(run) * 1e6 / messages as f64;
        let cpu_ratio = cpu_of(run) / baseline_cpu;
        let cpu: Vec<String> = run
            .cpu
            .iter()
            .map(|(who, s)| format!("{who} {s:.1}"))
            .collect();
        println!(
            "{:<24} {:>9.1} {:>10.0} {:>8.2}× {:>6.0} ({:.2}×)  {}",
            run.label,
            run.seconds,
            messages as f64 / run.seconds,
            baseline / run.seconds,
            per_message,
            cpu_ratio,
            cpu.join(", ")
        );
    }
}

fn main() {
    let options = options();
    let batches: Vec<String> = {
        let lines: Vec<String> = needle_demo::Corpus::new(11)
            .bench_lines(options.messages as u64)
            .collect();
        lines.chunks(1000).map(|chunk| chunk.join("\n")).collect()
    };
    let mut runs = Vec::new();

    let dir = tempfile::tempdir().expect("temp dir");
    {
        let server = Process::start(&dir.path().join("embedded"), &[]);
        let base = server.base.clone().expect("embedded serves HTTP");
        let seconds = ingest(&base, &batches, options.messages);
        runs.push(Run {
            label: "embedded (SQLite)".into(),
            seconds,
            cpu: vec![("serve".into(), server.cpu_seconds())],
        });
    }

    let Some(pg) = TestPostgres::start() else {
        eprintln!("cluster_bench: PostgreSQL binaries are missing (scripts/setup.sh)");
        report(&runs, options.messages);
        std::process::exit(3);
    };
    for &workers in &options.workers {
        let Some(nats) = TestNats::start() else {
            eprintln!("cluster_bench: nats-server is missing (scripts/setup.sh)");
            std::process::exit(3);
        };
        let store = pg.fresh_database();
        let bus = nats.url();
        let cluster = |name: &str, roles: &str| {
            Process::start(
                &dir.path().join(format!("{workers}-{name}")),
                &["--role", roles, "--store", &store, "--bus", &bus],
            )
        };
        let (pg_before, nats_before) = (postgres_cpu(&pg), nats_cpu(&nats));
        let web = cluster("web", "web,ingest");
        let pool: Vec<Process> = (0..workers)
            .map(|i| cluster(&format!("worker{i}"), "pipeline"))
            .collect();
        let seconds = ingest(
            web.base.as_deref().expect("web"),
            &batches,
            options.messages,
        );
        let mut cpu = vec![("web".to_string(), web.cpu_seconds())];
        cpu.extend(
            pool.iter()
                .enumerate()
                .map(|(i, p)| (format!("worker{i}"), p.cpu_seconds())),
        );
        cpu.push(("postgres".into(), postgres_cpu(&pg) - pg_before));
        cpu.push(("nats".into(), nats_cpu(&nats) - nats_before));
        runs.push(Run {
            label: format!("cluster, {workers} worker(s)"),
            seconds,
            cpu,
        });
    }
    report(&runs, options.messages);
}
