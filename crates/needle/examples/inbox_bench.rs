//! The inbox at size (issue 6): with 1,000,000 messages in 100,000 cases, how long the inbox
//! page and a conversation take to serve one agent, and what 50 agents working at once see.
//!
//! ```text
//! cargo build --release -p needle --no-default-features --bins --examples
//! target/release/examples/inbox_bench [--messages 1000000] [--cases 100000] [--agents 50]
//!     [--requests 500] [--seconds 60] [--think-ms 1000] [--reuse]
//! ```
//!
//! 1. Seeds a data dir through the store's own API, in the pipeline's shape: messages stored
//!    classified in batches of [`BATCH`], each batch filed into its conversations' cases by
//!    `needle_cases::rules` and `record_case_messages`, as the cases stage does; then the
//!    cases' statuses and assignees set with `update_case` (one event each, as agents leave
//!    them). Agents are added with `needle user add`, and one `needle serve` catches the search
//!    index up and resolves every author's profile, so the measured server starts from the
//!    steady state a live one would be in. The seeded dir is kept under
//!    `target/tmp/inbox_bench/` by its parameters; `--reuse` starts from it when it is there.
//! 2. Copies the seeded dir (every run starts from the same data), serves it on loopback and
//!    signs every agent in through `POST /signin`, as a browser does.
//! 3. One agent, one request at a time (`--requests` of each kind, interleaved): the inbox
//!    as the nav link opens it, four queues, and random conversations.
//! 4. `--agents` threads for `--seconds`, each an agent working: a queue, a case from it, and
//!    about one time in three an action (assign to self, a note, a status) posted with the
//!    page's CSRF token and its redirect followed. `--think-ms` is the mean pause between
//!    clicks (0: as fast as the server answers).
//!
//! The server sends no timing of its own: times are taken by the client, on loopback, from
//! sending the request to the last byte of the answer.

// Only the binary lookup is used here; the API token is for the benches that ingest.
#[allow(dead_code)]
#[path = "support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use needle_cases::rules::{self, Policy};
use needle_core::classification::Sentiment;
use needle_core::{Classification, Message};
use needle_store::Backend;
use needle_store::cases::{CaseChange, CaseStatus};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Messages stored (and filed) per transaction while seeding.
const BATCH: usize = 5_000;
const WORKSPACE: &str = "default";
/// Bump when the seeded data changes shape, so old caches are not reused.
const SEED_VERSION: u32 = 1;

struct Options {
    messages: usize,
    cases: usize,
    agents: usize,
    requests: usize,
    seconds: u64,
    think_ms: u64,
    reuse: bool,
}

fn options() -> Options {
    let mut o = Options {
        messages: 1_000_000,
        cases: 100_000,
        agents: 50,
        requests: 500,
        seconds: 60,
        think_ms: 1_000,
        reuse: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--reuse" {
            o.reuse = true;
            continue;
        }
        let value: u64 = args
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| usage(&arg));
        match arg.as_str() {
            "--messages" => o.messages = value as usize,
            "--cases" => o.cases = (value as usize).max(1),
            "--agents" => o.agents = (value as usize).clamp(1, 99),
            "--requests" => o.requests = value as usize,
            "--seconds" => o.seconds = value,
            "--think-ms" => o.think_ms = value,
            _ => usage(&arg),
        }
    }
    if o.messages < o.cases {
        eprintln!("inbox_bench: --messages must be at least --cases (every case has a message)");
        std::process::exit(2);
    }
    o
}

fn usage(arg: &str) -> ! {
    eprintln!(
        "inbox_bench: bad argument {arg:?}; usage: [--messages N] [--cases N] [--agents N] \
         [--requests N] [--seconds N] [--think-ms N] [--reuse]"
    );
    std::process::exit(2)
}

fn needle_bin() -> PathBuf {
    support::needle_bin("inbox_bench", "cargo build --release -p needle")
}

fn agent_email(i: usize) -> String {
    format!("agent{i:02}@bench.example")
}

fn agent_password(i: usize) -> String {
    format!("inbox-bench-password-{i:02}")
}

/// `target/tmp/inbox_bench`, beside the build this example belongs to.
fn work_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("own path");
    let target = exe
        .ancestors()
        .nth(3)
        .expect("examples live in target/PROFILE/examples");
    target.join("tmp").join("inbox_bench")
}

// ---------------------------------------------------------------------------------------
// Seeding

#[derive(Clone, Copy, PartialEq)]
enum Fate {
    Open,
    Pending,
    Snoozed,
    Resolved,
}

/// One conversation to seed: where it happens, how it ends, its messages' times.
struct Conversation {
    channel: &'static str,
    account: Option<&'static str>,
    fate: Fate,
    customer: u32,
    /// Who works it, when someone does.
    agent: Option<usize>,
    /// Microseconds since the epoch, one per message, rising.
    times: Vec<i64>,
    topic: usize,
    /// Classification of the opening message: intents, sentiment.
    intents: &'static [&'static str],
    score: f64,
    followers: u64,
}

const CHANNELS: &[(&str, Option<&str>, u32)] = &[
    ("email", None, 35),
    ("chat", None, 30),
    ("whatsapp", Some("whatsapp-main"), 10),
    ("mastodon", Some("mastodon-brand"), 10),
    ("twitter", None, 10),
    ("trustpilot", None, 5),
];

const TOPICS: &[(&str, &str)] = &[
    (
        "Where is my order",
        "Hi, I ordered a pair of running shoes on the 3rd (order #{n}) and the tracking page has not moved for four days. Can you tell me where it is?",
    ),
    (
        "Refund not received",
        "I returned the jacket two weeks ago and still have no refund for order #{n}. The return label says delivered. Please check.",
    ),
    (
        "Wrong size delivered",
        "The box for order #{n} had a medium instead of the large I ordered. How do I swap it without paying shipping again?",
    ),
    (
        "Cancel my subscription",
        "Please cancel my monthly plan, account {n}. I've been charged twice this month and I'm done with it.",
    ),
    (
        "Discount code not working",
        "The code SPRING{n} from your newsletter says it's expired but the email says it's valid until Sunday.",
    ),
    (
        "Damaged parcel",
        "My parcel (#{n}) arrived crushed and the glass bottle inside is broken. Photos attached. What now?",
    ),
    (
        "Question about sizing",
        "Do the trail shoes run small? I'm a 42 in most brands. Also, is there a wide version?",
    ),
    (
        "Change delivery address",
        "I just placed order #{n} and realised it's going to my old flat. Can you change the address before it ships?",
    ),
    (
        "App keeps logging me out",
        "Since the last update the app logs me out every time I close it. iPhone 13, account {n}.",
    ),
    (
        "Invoice for my company",
        "Could you send an invoice with our VAT number for order #{n}? Our accounts team needs it by Friday.",
    ),
];

const REPLIES: &[&str] = &[
    "Thanks for reaching out! I've looked into this and passed it to our warehouse team; you'll hear from us within a day.",
    "Sorry about that. I've issued a prepaid return label to your email address, and the replacement leaves as soon as we scan it.",
    "I can see the refund was approved this morning; banks usually take three to five working days to show it.",
    "Could you send us a photo of the label on the box? That helps us find the parcel with the courier.",
    "Done: the address is updated and the order has not shipped yet, so it will go to the new one.",
];

const FOLLOW_UPS: &[&str] = &[
    "Thanks, but it still hasn't arrived. Any news?",
    "Here is the photo you asked for.",
    "OK, that works for me. Thank you!",
    "This is the third time I'm writing about this. Please escalate.",
    "Sorry, one more thing: can I also change the colour?",
    "Still waiting for an answer here...",
];

fn pick<'a, T>(rng: &mut fastrand::Rng, weighted: &'a [(T, u32)]) -> &'a T {
    let total: u32 = weighted.iter().map(|(_, w)| w).sum();
    let mut at = rng.u32(0..total);
    for (item, weight) in weighted {
        if at < *weight {
            return item;
        }
        at -= weight;
    }
    &weighted[0].0
}

/// Conversation lengths summing to exactly `messages`: skewed, most short, a few long.
fn lengths(rng: &mut fastrand::Rng, cases: usize, messages: usize) -> Vec<usize> {
    let raw: Vec<f64> = (0..cases).map(|_| rng.f64().powi(3)).collect();
    let sum: f64 = raw.iter().sum::<f64>().max(f64::MIN_POSITIVE);
    let scale = (messages - cases) as f64 / sum;
    let mut lens: Vec<usize> = raw.iter().map(|r| 1 + (r * scale) as usize).collect();
    let mut total: usize = lens.iter().sum();
    while total < messages {
        lens[rng.usize(0..cases)] += 1;
        total += 1;
    }
    while total > messages {
        let i = rng.usize(0..cases);
        if lens[i] > 1 {
            lens[i] -= 1;
            total -= 1;
        }
    }
    lens
}

fn plan(o: &Options, now_us: i64) -> Vec<Conversation> {
    let mut rng = fastrand::Rng::with_seed(6);
    let lens = lengths(&mut rng, o.cases, o.messages);
    let minute = 60_000_000i64;
    let day = 24 * 60 * minute;
    let channels: Vec<((&str, Option<&str>), u32)> =
        CHANNELS.iter().map(|(c, a, w)| ((*c, *a), *w)).collect();
    let fates = [
        (Fate::Resolved, 55),
        (Fate::Open, 30),
        (Fate::Pending, 10),
        (Fate::Snoozed, 5),
    ];
    let intents: [(&[&str], u32); 5] = [
        (&["question"], 45),
        (&["complaint"], 35),
        (&["churn_risk", "complaint"], 10),
        (&["purchase_intent"], 8),
        (&["crisis"], 2),
    ];
    lens.into_iter()
        .map(|len| {
            let (channel, account) = *pick(&mut rng, &channels);
            let fate = *pick(&mut rng, &fates);
            // Open work is recent; resolved cases spread over a quarter.
            let age = match fate {
                Fate::Open => rng.i64(5 * minute..3 * day),
                Fate::Pending | Fate::Snoozed => rng.i64(60 * minute..7 * day),
                Fate::Resolved => rng.i64(2 * day..90 * day),
            };
            let start = now_us - age;
            let longest_gap = (age / len as i64).clamp(1, 180 * minute);
            let mut at = start;
            let times = (0..len)
                .map(|_| {
                    let t = at;
                    at += rng.i64(1..=longest_gap);
                    t
                })
                .collect();
            let assigned = match fate {
                Fate::Open => rng.bool(),
                Fate::Pending | Fate::Snoozed => true,
                Fate::Resolved => rng.u32(0..10) < 9,
            };
            Conversation {
                channel,
                account,
                fate,
                customer: rng.u32(0..(o.cases as u32 * 7 / 10).max(1)),
                agent: assigned.then(|| rng.usize(0..o.agents)),
                times,
                topic: rng.usize(0..TOPICS.len()),
                intents: pick::<&[&str]>(&mut rng, &intents),
                score: rng.f64() * 1.6 - 1.0,
                followers: if rng.u32(0..20) == 0 { 25_000 } else { 120 },
            }
        })
        .collect()
}

fn time_text(us: i64) -> String {
    needle_store::from_micros(us)
        .format(&Rfc3339)
        .expect("format a time")
}

/// The `i`th message of conversation `c`; the first one is the customer's.
fn message(c: usize, conv: &Conversation, i: usize, rng: &mut fastrand::Rng) -> Message {
    let inbound = i == 0 || rng.u32(0..100) < 55;
    let (subject, opening) = TOPICS[conv.topic];
    let text = if i == 0 {
        opening.replace("{n}", &format!("{}", 100_000 + c))
    } else if inbound {
        FOLLOW_UPS[rng.usize(0..FOLLOW_UPS.len())].to_string()
    } else {
        REPLIES[rng.usize(0..REPLIES.len())].to_string()
    };
    let customer = conv.customer;
    let author = if inbound {
        let mut a = json!({
            "id": format!("cust-{customer}"),
            "name": format!("Customer {customer}"),
            "handle": format!("customer{customer}"),
            "followers": conv.followers,
        });
        if conv.channel == "email" {
            a["email"] = json!(format!("customer{customer}@mail.example"));
        }
        a
    } else {
        let agent = conv.agent.unwrap_or(0);
        json!({"id": format!("agent-{agent}"), "name": format!("Agent {agent:02}")})
    };
    let mut m = json!({
        "id": format!("{}-{c}-{i}", conv.channel),
        "channel": conv.channel,
        "direction": if inbound { "inbound" } else { "outbound" },
        "created_at": time_text(conv.times[i]),
        "text": text,
        "thread_id": format!("conv-{c}"),
        "author": author,
    });
    if let Some(account) = conv.account {
        m["account"] = json!(account);
    }
    if conv.channel == "email" {
        m["title"] = json!(if i == 0 {
            subject.to_string()
        } else {
            format!("Re: {subject}")
        });
    }
    Message::from_json(m).expect("a valid bench message")
}

fn classification(conv: &Conversation, i: usize, inbound: bool) -> Classification {
    let (intents, score) = match (i, inbound) {
        (0, _) => (conv.intents, conv.score),
        (_, true) => (&["question"][..], conv.score * 0.5),
        (_, false) => (&[][..], 0.4),
    };
    Classification {
        lang: "en".into(),
        sentiment: Sentiment::from_score(score),
        intents: intents.iter().map(|s| s.to_string()).collect(),
        entities: Vec::new(),
        truncated_at: None,
        tier: None,
        relevance: None,
    }
}

/// What seeding took, kept beside the seeded dir.
#[derive(Default)]
struct SeedTimes {
    store_s: f64,
    states_s: f64,
    users_s: f64,
    index_s: f64,
    profiles_s: f64,
    cases: usize,
    bytes: u64,
}

impl SeedTimes {
    fn save(&self, path: &Path) {
        let text = format!(
            "store_s={:.1}\nstates_s={:.1}\nusers_s={:.1}\nindex_s={:.1}\nprofiles_s={:.1}\ncases={}\nbytes={}\n",
            self.store_s,
            self.states_s,
            self.users_s,
            self.index_s,
            self.profiles_s,
            self.cases,
            self.bytes
        );
        std::fs::write(path, text).expect("write the seed record");
    }

    fn load(path: &Path) -> Option<SeedTimes> {
        let text = std::fs::read_to_string(path).ok()?;
        let values: BTreeMap<&str, f64> = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .filter_map(|(k, v)| Some((k, v.parse().ok()?)))
            .collect();
        Some(SeedTimes {
            store_s: *values.get("store_s")?,
            states_s: *values.get("states_s")?,
            users_s: *values.get("users_s")?,
            index_s: *values.get("index_s")?,
            profiles_s: *values.get("profiles_s")?,
            cases: *values.get("cases")? as usize,
            bytes: *values.get("bytes")? as u64,
        })
    }
}

/// Runs a store call again while the database is locked: the store's checkpointer takes the
/// write lock to copy a big write-ahead log back, which on a slow disk can outlast the
/// writer's busy timeout.
fn retried<T>(what: &str, mut call: impl FnMut() -> needle_store::Result<T>) -> T {
    let mut tries = 0;
    loop {
        match call() {
            Ok(done) => return done,
            Err(e) if tries < 20 && e.to_string().contains("locked") => {
                tries += 1;
                eprintln!("  {what}: {e}; trying again");
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(e) => panic!("{what}: {e}"),
        }
    }
}

fn open_store(dir: &Path) -> Arc<dyn Backend> {
    let path = dir.join("needle.db");
    needle_store::open(path.to_str().expect("a UTF-8 path")).expect("open the store")
}

/// Stores the messages and files them into cases; then gives the cases their fates.
fn seed_store(o: &Options, dir: &Path, times: &mut SeedTimes) {
    let store = open_store(dir);
    let ws = store
        .ensure_workspace(WORKSPACE, false)
        .expect("workspace")
        .id;
    let now_us = needle_store::micros(OffsetDateTime::now_utc());
    let conversations = plan(o, now_us);
    let mut order: Vec<(i64, u32, u32)> = conversations
        .iter()
        .enumerate()
        .flat_map(|(c, conv)| {
            conv.times
                .iter()
                .enumerate()
                .map(move |(i, t)| (*t, c as u32, i as u32))
        })
        .collect();
    order.sort_unstable();

    let policy = Policy::default();
    let mut rng = fastrand::Rng::with_seed(66);
    let mut case_of: Vec<Option<i64>> = vec![None; conversations.len()];
    let started = Instant::now();
    for (n, chunk) in order.chunks(BATCH).enumerate() {
        let messages: Vec<Message> = chunk
            .iter()
            .map(|&(_, c, i)| message(c as usize, &conversations[c as usize], i as usize, &mut rng))
            .collect();
        let classes: Vec<Classification> = chunk
            .iter()
            .zip(&messages)
            .map(|(&(_, c, i), m)| {
                let inbound = m.direction == needle_core::Direction::Inbound;
                classification(&conversations[c as usize], i as usize, inbound)
            })
            .collect();
        let refs: Vec<&Message> = messages.iter().collect();
        let class_refs: Vec<Option<&Classification>> = classes.iter().map(Some).collect();
        retried("store a batch", || {
            store.insert_classified(ws, &refs, &class_refs)
        });
        // As the cases stage files a stored batch.
        let names: Vec<(String, String)> = messages
            .iter()
            .map(|m| (rules::subject_of(m), rules::customer_of(m)))
            .collect();
        let mut owners = Vec::new();
        let touches: Vec<_> = chunk
            .iter()
            .zip(messages.iter().zip(&classes))
            .zip(&names)
            .filter_map(|((&(_, c, _), (m, class)), (subject, customer))| {
                let touch = rules::touch(&policy, m, Some(class), subject, customer)?;
                owners.push(c as usize);
                Some(touch)
            })
            .collect();
        let ids = retried("file a batch", || store.record_case_messages(ws, &touches));
        for (c, id) in owners.into_iter().zip(ids) {
            if let Some(id) = id {
                case_of[c] = Some(id);
            }
        }
        if n % 40 == 39 {
            let done = (n + 1) * BATCH;
            eprintln!(
                "  stored {done} messages, {:.0} msg/s",
                done as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    times.store_s = started.elapsed().as_secs_f64();
    times.cases = case_of.iter().flatten().count();
    eprintln!(
        "stored {} messages in {} cases in {:.1} s ({:.0} msg/s)",
        o.messages,
        times.cases,
        times.store_s,
        o.messages as f64 / times.store_s
    );

    // Agents leave cases assigned, waiting, snoozed and resolved: one update each, as the
    // inbox makes it (with its events).
    let started = Instant::now();
    let mut updates = 0usize;
    for (conv, id) in conversations.iter().zip(&case_of) {
        let Some(id) = *id else { continue };
        let last = *conv.times.last().expect("a message");
        let (status, snoozed_until) = match conv.fate {
            Fate::Open => (None, None),
            Fate::Pending => (Some(CaseStatus::Pending), None),
            Fate::Snoozed => (
                Some(CaseStatus::Snoozed),
                Some(now_us + rng.i64(3_600_000_000..48 * 3_600_000_000)),
            ),
            Fate::Resolved => (Some(CaseStatus::Resolved), None),
        };
        if status.is_none() && conv.agent.is_none() {
            continue;
        }
        let change = CaseChange {
            status,
            snoozed_until: snoozed_until.map(needle_store::from_micros),
            assignee: conv.agent.map(|a| Some(agent_email(a))),
            ..CaseChange::default()
        };
        let actor = format!("user:{}", agent_email(conv.agent.unwrap_or(0)));
        let at = needle_store::from_micros((last + 3_600_000_000).min(now_us));
        retried("update a case", || {
            store.update_case(ws, id, &change, &actor, at)
        });
        updates += 1;
    }
    times.states_s = started.elapsed().as_secs_f64();
    eprintln!(
        "set the state of {updates} cases in {:.1} s ({:.0}/s)",
        times.states_s,
        updates as f64 / times.states_s
    );
}

fn add_users(o: &Options, dir: &Path) {
    for i in 0..o.agents {
        let mut child = Command::new(needle_bin())
            .args(["user", "add"])
            .arg(agent_email(i))
            .args([
                "--role",
                "agent",
                "--workspace",
                WORKSPACE,
                "--password-stdin",
                "--data",
            ])
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run needle user add");
        writeln!(child.stdin.take().expect("stdin"), "{}", agent_password(i))
            .expect("write the password");
        let done = child.wait_with_output().expect("needle user add");
        assert!(
            done.status.success(),
            "needle user add failed: {}",
            String::from_utf8_lossy(&done.stderr)
        );
    }
}

/// A seeded data dir for these parameters: the kept one, or a new one.
fn seeded(o: &Options) -> (PathBuf, SeedTimes) {
    let dir = work_dir().join(format!(
        "seed-v{SEED_VERSION}-{}m-{}c-{}a",
        o.messages, o.cases, o.agents
    ));
    let record = dir.join("seeded.txt");
    if o.reuse
        && let Some(times) = SeedTimes::load(&record)
    {
        eprintln!("reusing the seeded data in {}", dir.display());
        return (dir, times);
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("remove the old seed");
    }
    std::fs::create_dir_all(&dir).expect("create the seed dir");
    eprintln!("seeding {} ...", dir.display());
    let mut times = SeedTimes::default();
    seed_store(o, &dir, &mut times);

    let started = Instant::now();
    add_users(o, &dir);
    times.users_s = started.elapsed().as_secs_f64();

    // One serve catches the index up (before it listens) and resolves every author's
    // profile (in the background): what a live server would have done as the messages came.
    let started = Instant::now();
    let server = Server::start(&dir);
    times.index_s = started.elapsed().as_secs_f64();
    eprintln!("search index caught up in {:.1} s", times.index_s);
    let started = Instant::now();
    let store = open_store(&dir);
    let target = store.max_seq().expect("max seq");
    loop {
        let resolved = store.profiles_resolved_seq().expect("resolved seq");
        if resolved >= target {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    times.profiles_s = started.elapsed().as_secs_f64();
    eprintln!("profiles resolved in {:.1} s", times.profiles_s);
    drop(store);
    server.stop();
    times.bytes = dir_size(&dir);
    times.save(&record);
    (dir, times)
}

/// The machine's load average over the last minute: other work skews the times.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------
// The server and its clients

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(data: &Path) -> Server {
        let mut child = Command::new(needle_bin())
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
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

    /// Asks the server to stop and waits: what it holds is written before it ends.
    fn stop(mut self) {
        // SAFETY: a plain signal to our own child process.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A signed-in agent: its own connection and session.
struct Client {
    http: ureq::Agent,
    base: String,
    cookie: String,
}

/// What one request gave: its status, where it redirects, its body.
struct Answer {
    status: u16,
    location: Option<String>,
    body: String,
}

fn http_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .new_agent()
}

fn set_cookie(response: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let pair = v.split(';').next()?;
            let (k, value) = pair.split_once('=')?;
            (k.trim() == name).then(|| value.to_string())
        })
}

/// The value of the first `name="csrf"` hidden input of a page.
fn csrf_of(page: &str) -> Option<String> {
    let at = page.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    let rest = &page[at..];
    Some(rest[..rest.find('"')?].to_string())
}

/// The case ids a queue page links to.
fn case_links(page: &str) -> Vec<i64> {
    page.match_indices("href=\"/inbox/")
        .filter_map(|(at, m)| {
            let digits: String = page[at + m.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .collect()
}

fn answer(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    match response {
        Ok(mut r) => {
            let status = r.status().as_u16();
            let location = r
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body = r.body_mut().read_to_string().unwrap_or_default();
            Answer {
                status,
                location,
                body,
            }
        }
        Err(e) => Answer {
            status: 0,
            location: None,
            body: e.to_string(),
        },
    }
}

impl Client {
    fn sign_in(base: &str, i: usize) -> Client {
        let http = http_agent();
        let mut form = http
            .get(&format!("{base}/signin"))
            .call()
            .expect("GET /signin");
        let pre = set_cookie(&form, "needle_signin").expect("a sign-in cookie");
        let page = form.body_mut().read_to_string().expect("sign-in page");
        let csrf = csrf_of(&page).expect("a csrf field on the sign-in page");
        let email = agent_email(i);
        let password = agent_password(i);
        let done = http
            .post(&format!("{base}/signin"))
            .header("cookie", format!("needle_signin={pre}"))
            .send_form([
                ("email", email.as_str()),
                ("password", password.as_str()),
                ("csrf", csrf.as_str()),
            ])
            .expect("POST /signin");
        let session = set_cookie(&done, "needle_session").unwrap_or_else(|| {
            panic!(
                "signing in {email} gave {} and no session cookie",
                done.status()
            )
        });
        Client {
            http,
            base: base.to_string(),
            cookie: format!("needle_session={session}"),
        }
    }

    fn get(&self, path: &str) -> (Answer, Duration) {
        let started = Instant::now();
        let got = answer(
            self.http
                .get(&format!("{}{path}", self.base))
                .header("cookie", &self.cookie)
                .call(),
        );
        (got, started.elapsed())
    }

    fn post(&self, path: &str, form: &[(&str, &str)]) -> (Answer, Duration) {
        let started = Instant::now();
        let got = answer(
            self.http
                .post(&format!("{}{path}", self.base))
                .header("cookie", &self.cookie)
                .send_form(form.iter().copied()),
        );
        (got, started.elapsed())
    }
}

// ---------------------------------------------------------------------------------------
// Measuring

/// Times per kind of request, the errors seen, and the slowest requests.
#[derive(Default)]
struct Tally {
    times: BTreeMap<&'static str, Vec<Duration>>,
    errors: usize,
    first_errors: Vec<String>,
    /// The [`SLOWEST`] requests: how long, what, and when they began (since `origin`).
    slowest: Vec<(Duration, String, Duration)>,
    origin: Option<Instant>,
}

/// Slowest requests listed per phase.
const SLOWEST: usize = 5;

impl Tally {
    fn record(&mut self, kind: &'static str, what: &str, got: &Answer, took: Duration) {
        self.times.entry(kind).or_default().push(took);
        let began = self
            .origin
            .map_or(Duration::ZERO, |o| o.elapsed().saturating_sub(took));
        self.note_slow(took, format!("{kind}: {what}"), began);
        if !(200..400).contains(&got.status) {
            self.errors += 1;
            if self.first_errors.len() < 5 {
                let body: String = got.body.chars().take(200).collect();
                self.first_errors
                    .push(format!("{what} → {} {body:?}", got.status));
            }
        }
    }

    fn note_slow(&mut self, took: Duration, what: String, began: Duration) {
        self.slowest.push((took, what, began));
        self.slowest.sort_by_key(|s| std::cmp::Reverse(s.0));
        self.slowest.truncate(SLOWEST);
    }

    fn merge(&mut self, other: Tally) {
        for (kind, times) in other.times {
            self.times.entry(kind).or_default().extend(times);
        }
        for (took, what, began) in other.slowest {
            self.note_slow(took, what, began);
        }
        self.errors += other.errors;
        for e in other.first_errors {
            if self.first_errors.len() < 5 {
                self.first_errors.push(e);
            }
        }
    }

    fn all(&self) -> Vec<Duration> {
        self.times.values().flatten().copied().collect()
    }
}

struct Stats {
    n: usize,
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
}

fn stats(times: &[Duration]) -> Stats {
    let mut ms: Vec<f64> = times.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| {
        if ms.is_empty() {
            return 0.0;
        }
        let rank = ((q * ms.len() as f64).ceil() as usize).clamp(1, ms.len());
        ms[rank - 1]
    };
    Stats {
        n: ms.len(),
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        max: ms.last().copied().unwrap_or(0.0),
    }
}

fn row(name: &str, s: &Stats) {
    println!(
        "| {name:<28} | {:>6} | {:>8.1} | {:>8.1} | {:>8.1} | {:>8.1} |",
        s.n, s.p50, s.p90, s.p99, s.max
    );
}

fn header() {
    println!(
        "| {:<28} | {:>6} | {:>8} | {:>8} | {:>8} | {:>8} |",
        "request", "n", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    println!(
        "|{:-<30}|{:->8}|{:->10}|{:->10}|{:->10}|{:->10}|",
        "", "", "", "", "", ""
    );
}

/// The pages one agent opens, one request at a time.
const PAGES: &[(&str, &str)] = &[
    ("GET /inbox (nav link)", "/inbox"),
    (
        "GET /inbox?queue=mine",
        "/inbox?workspace=default&queue=mine",
    ),
    (
        "GET /inbox?queue=open",
        "/inbox?workspace=default&queue=open",
    ),
    (
        "GET /inbox?queue=unassigned",
        "/inbox?workspace=default&queue=unassigned",
    ),
    (
        "GET /inbox?queue=breached",
        "/inbox?workspace=default&queue=breached",
    ),
];

fn single_client(client: &Client, o: &Options, cases: usize) -> Tally {
    let mut tally = Tally::default();
    let mut rng = fastrand::Rng::with_seed(7);
    for _ in 0..o.requests {
        for (kind, path) in PAGES {
            let (got, took) = client.get(path);
            tally.record(kind, path, &got, took);
        }
        let path = format!("/inbox/{}?workspace=default", rng.usize(1..=cases));
        let (got, took) = client.get(&path);
        tally.record("GET /inbox/{id}", &path, &got, took);
    }
    tally
}

/// Opens every page once: loads the profile graph and fills caches.
fn warm_up(client: &Client) {
    for (_, path) in PAGES {
        client.get(path);
    }
    client.get("/inbox/1?workspace=default");
}

/// One agent working until `until`.
fn work(
    client: &Client,
    seed: u64,
    think_ms: u64,
    cases: usize,
    origin: Instant,
    until: Instant,
) -> Tally {
    let mut tally = Tally {
        origin: Some(origin),
        ..Tally::default()
    };
    let mut rng = fastrand::Rng::with_seed(seed);
    let think = |rng: &mut fastrand::Rng| {
        if think_ms > 0 {
            let ms = think_ms / 2 + rng.u64(0..=think_ms);
            std::thread::sleep(Duration::from_millis(ms));
        }
    };
    // Agents arrive over one think time, as people do, rather than all in the same
    // millisecond (which measures a burst of 50 first pages, not a working team).
    if think_ms > 0 {
        std::thread::sleep(Duration::from_millis(rng.u64(0..think_ms)));
    }
    let queues = [
        ("/inbox?workspace=default&queue=mine", 40),
        ("/inbox?workspace=default&queue=open", 20),
        ("/inbox?workspace=default&queue=unassigned", 20),
        ("/inbox?workspace=default&queue=breached", 10),
        ("/inbox", 10),
    ];
    while Instant::now() < until {
        let path = *pick(&mut rng, &queues);
        let (got, took) = client.get(path);
        tally.record("inbox queue", path, &got, took);
        let links = case_links(&got.body);
        think(&mut rng);
        let id = if links.is_empty() {
            rng.usize(1..=cases) as i64
        } else {
            links[rng.usize(0..links.len())]
        };
        let path = format!("/inbox/{id}?workspace=default");
        let (got, took) = client.get(&path);
        tally.record("conversation", &path, &got, took);
        think(&mut rng);
        if rng.u32(0..100) >= 35 {
            continue;
        }
        let Some(csrf) = csrf_of(&got.body) else {
            continue;
        };
        let mention = format!("Called them, courier is on it. @agent{:02}", rng.u32(0..50));
        let status = ["pending", "resolved", "open"][rng.usize(0..3)];
        let (kind, form): (&'static str, Vec<(&str, &str)>) = match rng.u32(0..100) {
            0..35 => ("action: assign to me", vec![("assignee", "me")]),
            35..80 => ("action: note", vec![("text", mention.as_str())]),
            _ => ("action: status", vec![("status", status)]),
        };
        let action = match kind {
            "action: assign to me" => "assign",
            "action: note" => "note",
            _ => "status",
        };
        let mut fields = vec![("csrf", csrf.as_str()), ("action", action)];
        fields.extend(form);
        let (got, took) = client.post(&path, &fields);
        tally.record(kind, &format!("POST {path} ({action})"), &got, took);
        if got.status == 303
            && let Some(location) = got.location
        {
            let (got, took) = client.get(&location);
            tally.record("conversation", &location, &got, took);
        }
        think(&mut rng);
    }
    tally
}

fn main() {
    let o = options();
    let begun = Instant::now();
    let (seed_dir, seed) = seeded(&o);

    let run_dir = work_dir().join("run");
    if run_dir.exists() {
        std::fs::remove_dir_all(&run_dir).expect("remove the last run");
    }
    let copied = Command::new("cp")
        .arg("-a")
        .arg(&seed_dir)
        .arg(&run_dir)
        .status()
        .expect("cp");
    assert!(copied.success(), "could not copy the seeded dir");

    let started = Instant::now();
    let server = Server::start(&run_dir);
    let startup = started.elapsed();
    let started = Instant::now();
    let clients: Vec<Client> = (0..o.agents)
        .map(|i| Client::sign_in(&server.base, i))
        .collect();
    let signin = started.elapsed();
    eprintln!(
        "serving {} (started in {:.1} s); {} agents signed in in {:.1} s",
        server.base,
        startup.as_secs_f64(),
        clients.len(),
        signin.as_secs_f64()
    );

    // The first conversation after a start loads the workspace's profile graph (tens of
    // seconds at a million messages): paid here, and reported, not inside a phase.
    let started = Instant::now();
    warm_up(&clients[0]);
    let warm = started.elapsed();
    eprintln!("warmed up in {:.1} s", warm.as_secs_f64());
    let load_before_single = load_average();
    let single = (o.requests > 0).then(|| single_client(&clients[0], &o, seed.cases));
    let load_before_agents = load_average();

    let load = (o.seconds > 0).then(|| {
        let until = Instant::now() + Duration::from_secs(o.seconds);
        let total = Arc::new(Mutex::new(Tally::default()));
        let started = Instant::now();
        std::thread::scope(|scope| {
            for (i, client) in clients.iter().enumerate() {
                let total = total.clone();
                let (think, cases) = (o.think_ms, seed.cases);
                scope.spawn(move || {
                    let tally = work(client, 1000 + i as u64, think, cases, started, until);
                    total.lock().expect("tally").merge(tally);
                });
            }
        });
        let took = started.elapsed();
        let tally = Arc::try_unwrap(total)
            .ok()
            .expect("every agent done")
            .into_inner()
            .expect("tally");
        (tally, took)
    });
    drop(server);

    println!();
    println!(
        "inbox_bench: {} messages, {} cases, {} agents; client-side times on loopback",
        o.messages, seed.cases, o.agents
    );
    println!(
        "seeding: store {:.1} s ({:.0} msg/s, messages and cases), case states {:.1} s, \
         users {:.1} s, search index {:.1} s, profiles {:.1} s; data dir {:.0} MiB",
        seed.store_s,
        o.messages as f64 / seed.store_s.max(1e-9),
        seed.states_s,
        seed.users_s,
        seed.index_s,
        seed.profiles_s,
        seed.bytes as f64 / (1024.0 * 1024.0)
    );
    println!(
        "server start {:.1} s; sign-in of {} agents {:.1} s; first pages (profile graph load) {:.1} s",
        startup.as_secs_f64(),
        o.agents,
        signin.as_secs_f64(),
        warm.as_secs_f64()
    );
    let mut verdicts = Vec::new();
    if let Some(tally) = &single {
        println!();
        println!(
            "Phase 1: one agent, one request at a time ({} of each; load average {load_before_single})",
            o.requests
        );
        header();
        let mut worst: f64 = 0.0;
        let kinds = PAGES.iter().map(|(k, _)| *k).chain(["GET /inbox/{id}"]);
        for kind in kinds {
            let s = stats(tally.times.get(kind).map(Vec::as_slice).unwrap_or(&[]));
            worst = worst.max(s.p99);
            row(kind, &s);
        }
        println!("errors: {}", tally.errors);
        for e in &tally.first_errors {
            println!("  {e}");
        }
        verdicts.push(format!(
            "pages p99 {worst:.1} ms (goal < 100): {}",
            if worst < 100.0 && tally.errors == 0 {
                "MET"
            } else {
                "MISSED"
            }
        ));
    }
    if let Some((tally, took)) = &load {
        let all = tally.all();
        println!();
        println!(
            "Phase 2: {} agents for {:.0} s, think time {} ms mean (load average {load_before_agents}): {} requests, {:.1} requests/s",
            o.agents,
            took.as_secs_f64(),
            o.think_ms,
            all.len(),
            all.len() as f64 / took.as_secs_f64()
        );
        header();
        for (kind, times) in &tally.times {
            row(kind, &stats(times));
        }
        let overall = stats(&all);
        row("all", &overall);
        println!("errors: {}", tally.errors);
        for e in &tally.first_errors {
            println!("  {e}");
        }
        println!("slowest:");
        for (took, what, began) in &tally.slowest {
            println!(
                "  {:8.1} ms at {:5.1} s  {what}",
                took.as_secs_f64() * 1e3,
                began.as_secs_f64()
            );
        }
        verdicts.push(format!(
            "under load p99 {:.1} ms (goal < 200), {} errors (goal 0): {}",
            overall.p99,
            tally.errors,
            if overall.p99 < 200.0 && tally.errors == 0 {
                "MET"
            } else {
                "MISSED"
            }
        ));
    }
    println!();
    println!(
        "verdict: {} (whole run {:.0} s)",
        verdicts.join("; "),
        begun.elapsed().as_secs_f64()
    );
}
