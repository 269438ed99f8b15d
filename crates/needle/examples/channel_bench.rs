//! Channels under load, on loopback: messages in through a webhook connection beside the
//! same messages through `POST /api/v1/messages` (the baseline), and the outbox's
//! throughput against a local receiver.
//!
//! ```text
//! cargo build --release -p needle --examples
//! target/release/examples/channel_bench [--messages 100000] [--clients 4] [--items 50] [--events 5000]
//! ```
//!
//! Each client thread sends deliveries of `--items` messages one after another (signed
//! beforehand, so signing is not timed) over its own keep-alive connection. A webhook answer
//! comes after the store committed the delivery, so a request's time is its latency to
//! stored. Each mode runs against a fresh data dir.

#[path = "support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use needle_connect::webhook::sign;
use serde_json::{Value, json};

const SECRET: &str = "bench-secret";

struct Options {
    messages: usize,
    clients: usize,
    items: usize,
    events: usize,
}

fn options() -> Options {
    let mut o = Options {
        messages: 100_000,
        clients: 4,
        items: 50,
        events: 5_000,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value: usize = args
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| usage(&arg));
        match arg.as_str() {
            "--messages" => o.messages = value,
            "--clients" => o.clients = value.max(1),
            "--items" => o.items = value.clamp(1, 1000),
            "--events" => o.events = value,
            _ => usage(&arg),
        }
    }
    o
}

fn usage(arg: &str) -> ! {
    eprintln!(
        "channel_bench: bad argument {arg:?}; usage: [--messages N] [--clients N] [--items N] [--events N]"
    );
    std::process::exit(2)
}

fn needle_bin() -> PathBuf {
    support::needle_bin("channel_bench", "cargo build --release -p needle")
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(data: &Path) -> Server {
        support::grant_token(&needle_bin(), data, &[]);
        let mut child = Command::new(needle_bin())
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .env("NEEDLE_OUTBOUND_ALLOW", "127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start needle");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let base = loop {
            let line = lines.next().expect("needle serve started").expect("stderr");
            if let Some(addr) = line.strip_prefix("needle listening on ") {
                break addr.to_string();
            }
        };
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
        Server { child, base }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .new_agent()
}

fn put(base: &str, path: &str, body: Value) {
    let mut r = agent()
        .put(&format!("{base}{path}"))
        .header("authorization", format!("Bearer {}", support::BENCH_TOKEN))
        .header("content-type", "application/json")
        .send(body.to_string())
        .expect("PUT");
    let status = r.status().as_u16();
    assert!(
        status < 300,
        "{path}: {status} {}",
        r.body_mut().read_to_string().unwrap_or_default()
    );
}

/// One delivery: its URL, headers and body, ready to send.
struct Request {
    url: String,
    headers: Vec<(&'static str, String)>,
    body: String,
}

fn item(n: usize) -> Value {
    json!({"id": format!("w{n}"), "body": format!("Order {n}: the kettle arrived dented, can you help?"),
           "at": "2026-03-02T10:00:00Z", "customer": {"email": format!("c{}@example.com", n % 5000)}})
}

fn webhook_requests(base: &str, o: &Options) -> Vec<Request> {
    (0..o.messages)
        .collect::<Vec<_>>()
        .chunks(o.items)
        .map(|chunk| {
            let body =
                json!({"items": chunk.iter().map(|&n| item(n)).collect::<Vec<_>>()}).to_string();
            let signature = format!("sha256={}", sign(SECRET.as_bytes(), body.as_bytes()));
            Request {
                url: format!("{base}/api/v1/hooks/bench"),
                headers: vec![
                    ("content-type", "application/json".into()),
                    ("x-needle-signature", signature),
                ],
                body,
            }
        })
        .collect()
}

fn ingest_requests(base: &str, o: &Options) -> Vec<Request> {
    (0..o.messages)
        .collect::<Vec<_>>()
        .chunks(o.items)
        .map(|chunk| {
            let lines: Vec<String> = chunk
                .iter()
                .map(|&n| {
                    let i = item(n);
                    json!({"id": i["id"], "channel": "shop", "created_at": i["at"], "text": i["body"],
                           "author": {"email": i["customer"]["email"]}})
                    .to_string()
                })
                .collect();
            Request {
                url: format!("{base}/api/v1/messages"),
                headers: vec![
                    ("content-type", "application/x-ndjson".into()),
                    ("authorization", format!("Bearer {}", support::BENCH_TOKEN)),
                ],
                body: lines.join("\n"),
            }
        })
        .collect()
}

/// Sends every request from `clients` threads; returns (seconds, per-request latencies).
fn load(requests: Vec<Request>, clients: usize) -> (f64, Vec<Duration>) {
    let requests = Arc::new(requests);
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let (requests, next) = (requests.clone(), next.clone());
            std::thread::spawn(move || {
                let agent = agent();
                let mut latencies = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    let Some(r) = requests.get(i) else { break };
                    let sent = Instant::now();
                    let mut request = agent.post(&r.url);
                    for (name, value) in &r.headers {
                        request = request.header(*name, value.as_str());
                    }
                    let mut response = request.send(r.body.as_str()).expect("send");
                    let status = response.status().as_u16();
                    let _ = response.body_mut().read_to_string();
                    assert!(status < 300, "answered {status}");
                    latencies.push(sent.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    (seconds, latencies)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// A receiver that answers 200 to everything, keeping connections alive; counts requests.
fn receiver() -> (String, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    let count = Arc::new(AtomicU64::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut writer = stream.try_clone().unwrap();
                let mut reader = BufReader::new(stream);
                loop {
                    let mut length = 0usize;
                    let mut first = true;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" && !first {
                            break;
                        }
                        first = false;
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    seen.fetch_add(1, Ordering::Relaxed);
                    if writer
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (url, count)
}

fn main() {
    let o = options();
    println!(
        "channel_bench: {} messages in deliveries of {} from {} clients; {} outbound events",
        o.messages, o.items, o.clients, o.events
    );
    let mut rates = Vec::new();
    for mode in ["ingest (baseline)", "webhook"] {
        let dir = tempfile::tempdir().expect("temp dir");
        let server = Server::start(&dir.path().join("data"));
        let requests = if mode == "webhook" {
            put(
                &server.base,
                "/api/v1/connections/bench",
                json!({
                "kind": "webhook", "secret": SECRET,
                "config": {"channel": "shop", "items": "/items",
                           "fields": {"id": "/id", "text": "/body", "created_at": "/at", "author.email": "/customer/email"}}}),
            );
            webhook_requests(&server.base, &o)
        } else {
            ingest_requests(&server.base, &o)
        };
        let (seconds, latencies) = load(requests, o.clients);
        let rate = o.messages as f64 / seconds;
        println!(
            "{mode:>18}: {rate:>9.0} msg/s   latency to stored p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99),
            percentile(&latencies, 1.0)
        );
        rates.push(rate);
    }
    println!("webhook / ingest throughput: {:.2}", rates[1] / rates[0]);

    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"));
    let (url, received) = receiver();
    put(
        &server.base,
        "/api/v1/connections/out",
        json!({
        "kind": "webhook_out", "secret": SECRET, "config": {"url": url}}),
    );
    // The worker takes its starting point within a step; then the events are made.
    std::thread::sleep(Duration::from_secs(1));
    let started = Instant::now();
    let requests = ingest_requests(
        &server.base,
        &Options {
            messages: o.events,
            ..o
        },
    );
    load(requests, o.clients);
    while (received.load(Ordering::Relaxed) as usize) < o.events {
        assert!(
            started.elapsed() < Duration::from_secs(1800),
            "the outbox stalled"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "            outbox: {:>9.0} deliveries/s ({} events stored and delivered in {seconds:.2} s)",
        o.events as f64 / seconds,
        o.events
    );
}
