//! The same Needle as a cluster: PostgreSQL for state, NATS JetStream between ingest and
//! pipeline workers, several processes. Servers are private (temp dirs, free ports).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use needle_bus::testing::TestNats;
use needle_store::testing::TestPostgres;
use serde_json::{Value, json};

use crate::support::*;

struct Process {
    child: Child,
    base: Option<String>,
}

impl Process {
    /// `needle serve` with `roles`; waits until it listens (web/ingest) or runs.
    fn start(data: &Path, store: &str, bus: &str, roles: &str) -> Process {
        grant_test_token(data, Some(store));
        let mut child = Command::new(needle_bin())
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--role",
                roles,
                "--store",
                store,
                "--bus",
                bus,
            ])
            .arg("--data")
            .arg(data)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let base = loop {
            let line = lines.next().expect("needle serve started").unwrap();
            if let Some(addr) = line.strip_prefix("needle listening on ") {
                break Some(addr.to_string());
            }
            if line.starts_with("needle running roles") {
                break None;
            }
        };
        let label = roles.to_string();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                eprintln!("[{label}] {line}");
            }
        });
        Process { child, base }
    }

    fn kill(mut self) {
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap();
    }

    fn stop(mut self) -> bool {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        self.child.wait().unwrap().success()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .new_agent()
}

fn post_json(url: &str, body: &Value) -> (u16, Option<String>, Value) {
    let mut response = agent()
        .post(url)
        .header("authorization", bearer())
        .header("content-type", "application/json")
        .send(body.to_string())
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let text = response.body_mut().read_to_string().unwrap();
    (
        status,
        retry_after,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn get_json(url: &str) -> Value {
    let mut response = agent()
        .get(url)
        .header("authorization", bearer())
        .call()
        .unwrap();
    serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap()
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_cluster_stores_every_message_once_through_worker_kills_and_a_nats_restart() {
    let (Some(pg), Some(mut nats)) = (TestPostgres::shared(), TestNats::start()) else {
        eprintln!(
            "skipped: needs PostgreSQL and nats-server binaries (scripts/setup.sh installs them)"
        );
        return;
    };
    let store = pg.fresh_database();
    let bus = nats.url();
    let dir = tempfile::tempdir().unwrap();
    let web = Process::start(&dir.path().join("web"), &store, &bus, "web,ingest");
    let base = web.base.clone().unwrap();
    let mut workers: Vec<Process> = (0..3)
        .map(|i| {
            Process::start(
                &dir.path().join(format!("worker{i}")),
                &store,
                &bus,
                "pipeline",
            )
        })
        .collect();

    let topic = json!({"id": "refunds", "level": "owned", "query": "refund*"});
    let (status, _, body) = post_json(&format!("{base}/api/v1/topics"), &topic);
    assert_eq!(status, 201, "{body}");
    std::thread::sleep(Duration::from_secs(3)); // workers reload topics every 2 s

    let total = 100_000usize;
    let lines: Vec<Value> = needle_demo::Corpus::new(5)
        .bench_lines(total as u64)
        .map(|l| serde_json::from_str(&l).unwrap())
        .collect();
    for (n, chunk) in lines.chunks(1000).enumerate() {
        let (status, _, body) = post_json(
            &format!("{base}/api/v1/messages"),
            &Value::Array(chunk.to_vec()),
        );
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["accepted"], chunk.len());
        if n == 10 {
            workers.remove(0).kill(); // mid-stream, without warning
        }
        if n == 15 {
            let restarted = workers.remove(0);
            assert!(restarted.stop(), "a worker stops cleanly on SIGTERM");
            workers.push(Process::start(
                &dir.path().join("worker1"),
                &store,
                &bus,
                "pipeline",
            ));
        }
    }
    let count = || {
        get_json(&format!("{base}/api/v1/workspaces"))[0]["messages"]
            .as_u64()
            .unwrap_or(0)
    };
    wait_for("every message stored", Duration::from_secs(240), || {
        count() >= total as u64
    });
    assert_eq!(count(), total as u64, "every message stored exactly once");
    let health = || get_json(&format!("{base}/healthz"));
    wait_for(
        "the web process's index to follow",
        Duration::from_secs(60),
        || health()["indexed"].as_u64() == Some(total as u64),
    );

    // Operations: the bus is healthy and drained, and /metrics says so.
    wait_for("the consumer to drain", Duration::from_secs(60), || {
        health()["bus"]["waiting"].as_u64() == Some(0)
            && health()["bus"]["unacknowledged"].as_u64() == Some(0)
    });
    let report = health();
    assert_eq!(report["checks"]["bus"], "ok", "{report}");
    let metrics = agent()
        .get(&format!("{base}/metrics"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(
        metrics.contains("needle_bus_waiting_messages 0"),
        "consumer lag on /metrics:\n{metrics}"
    );
    assert!(metrics.contains("needle_bus_redelivered_messages "));

    // Live events cross processes: the web process streams what the workers stored.
    let events = EventStream::open(&format!("{base}/api/v1/events"));
    let live: Vec<Value> = (0..10)
        .map(|i| json!({"id": format!("live-{i}"), "channel": "chat", "created_at": "2026-11-02T00:00:00Z",
                        "text": "live one", "author": {"handle": "kim"}}))
        .collect();
    let (status, _, body) = post_json(&format!("{base}/api/v1/messages"), &Value::Array(live));
    assert_eq!(status, 202, "{body}");
    let stored = events.next_of("message.stored", 10, Duration::from_secs(30));
    let mut ids: Vec<&str> = stored.iter().map(|e| e["id"].as_str().unwrap()).collect();
    ids.sort();
    assert_eq!(
        ids,
        (0..10).map(|i| format!("live-{i}")).collect::<Vec<_>>()
    );
    let total = total + 10;

    // Each matching message is tagged once, whichever worker stored it and however often
    // it was delivered: the topic count equals what the matcher finds over the same lines.
    let expected = {
        let file = dir.path().join("lines.jsonl");
        let text: Vec<String> = lines.iter().map(Value::to_string).collect();
        std::fs::write(&file, text.join("\n")).unwrap();
        let topics = dir.path().join("t.toml");
        std::fs::write(
            &topics,
            "[[topic]]\nid = \"refunds\"\nlevel = \"owned\"\nquery = \"refund*\"\n",
        )
        .unwrap();
        let out = needle_stateless(&[
            "match",
            "--topics",
            topics.to_str().unwrap(),
            "--input",
            file.to_str().unwrap(),
        ]);
        stdout(&out)
            .lines()
            .filter(|l| l.contains("\"refunds\""))
            .count() as u64
    };
    assert!(expected > 0);
    let topics = get_json(&format!("{base}/api/v1/topics"));
    assert_eq!(
        topics[0]["messages"].as_u64(),
        Some(expected),
        "tagged once each: {topics}"
    );
    let found = get_json(&format!("{base}/api/v1/messages?q=refund*&limit=5"));
    assert_eq!(
        found["messages"].as_array().unwrap().len(),
        5,
        "searchable in the web process"
    );

    // NATS down: ingest answers 503 with Retry-After and takes nothing; back up: it resumes.
    nats.stop();
    let extra = json!([{"id": "during-outage", "channel": "chat", "created_at": "2026-11-01T00:00:00Z",
                         "text": "sent while the bus was down", "author": {"handle": "kim"}}]);
    let (status, retry_after, body) = post_json(&format!("{base}/api/v1/messages"), &extra);
    assert_eq!(status, 503, "{body}");
    assert!(retry_after.is_some(), "503 carries Retry-After");
    let mut response = agent().get(&format!("{base}/healthz")).call().unwrap();
    assert_eq!(
        response.status().as_u16(),
        503,
        "/healthz reports the bus down"
    );
    let report: Value =
        serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    assert!(report["checks"]["bus"]["error"].is_string(), "{report}");
    assert_eq!(report["checks"]["store"], "ok", "{report}");
    nats.restart();
    wait_for(
        "ingest to resume after NATS restarts",
        Duration::from_secs(60),
        || post_json(&format!("{base}/api/v1/messages"), &extra).0 == 202,
    );
    wait_for(
        "the message sent after the restart to be stored",
        Duration::from_secs(60),
        || count() == total as u64 + 1,
    );

    assert!(web.stop());
    for worker in workers {
        assert!(worker.stop());
    }
}
