//! The listening benchmark: how fast live messages are matched against large topic sets.
//!
//! ```sh
//! cargo run --release -p needle-listen --example listen_bench -- \
//!     --messages 1000000 --topics 100,1000,10000,100000
//! ```
//!
//! Options: `--messages N` (default 200,000), `--topics A,B,…` (default 100,1000,10000,100000),
//! `--seed S` (default 7), `--dir DIR` (default `bench/out/listen`), `--brute-seconds S` (time
//! budget for evaluating every topic, per size; default 20), `--baseline-seconds S` (the same
//! for the Python baseline; default 20), `--no-baseline`.
//!
//! What it does, single-threaded:
//!
//! 1. Generates N messages with `needle_demo::Corpus::new(seed).bench_lines(n)`. It parses
//!    each one with `Message::from_json` and normalises it as the pipeline does. Parsing is not
//!    timed. The normalised messages go to `DIR/messages.jsonl` for the Python baseline.
//! 2. For each size it generates a topic set with the same seed (see [`TopicGen`]). It compiles
//!    the set into a presearch [`TopicIndex`] and measures that memory: the VmRSS delta and
//!    the live heap bytes counted by this binary's allocator. The topics and their plain
//!    keywords go to `DIR/topics-N.json`.
//! 3. It times `TopicIndex::matches` on every message. That covers preparing the document
//!    (tokenize, fold, index) and checking the candidates with explanations, as the pipeline
//!    stage does.
//! 4. It times brute force (`matches_brute_force`: every topic on every message) on as many
//!    messages as fit in the time budget. On that sample it asserts that both give the same
//!    topics for every message.
//! 5. It runs `bench/baseline_keywords.py` on the same files, if `python3` exists.
//!
//! It prints a table, then one JSON line per size, then whether the issue's goals were met.
//! Benchmarks report numbers; they are not tests and do not run in CI.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashSet;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Instant;

use needle_core::Message;
use needle_listen::{PresearchScratch, TopicIndex, compile_topic, document_of};
use serde_json::json;

const BASELINE: &str = include_str!("../../../bench/baseline_keywords.py");

/// Counts live heap bytes, so the compiled topics' memory is known exactly (RSS moves in
/// pages and keeps freed memory).
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live_heap() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// Current resident memory of this process in bytes (Linux).
fn vm_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

const MIB: f64 = 1024.0 * 1024.0;

// ---------------------------------------------------------------------------------------------
// Topic generation

/// SplitMix64: small, fast and deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len())]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// A brand: name, handle, hashtag and products.
struct Brand {
    name: String,
    handle: String,
    products: Vec<String>,
}

impl Brand {
    fn new(name: &str, handle: &str, products: &[&str]) -> Brand {
        Brand {
            name: name.to_string(),
            handle: handle.to_string(),
            products: products.iter().map(|p| p.to_string()).collect(),
        }
    }

    fn tag(&self) -> String {
        format!("#{}", self.name)
    }

    /// A product written as one word (`AcmePhoneX`), as in hashtags.
    fn compact(product: &str) -> String {
        product.split_whitespace().collect()
    }
}

const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "zen", "tor", "vex", "qua", "ri", "bel", "nor", "dra", "fin", "gal", "sy",
    "tek", "pho", "lux", "mar", "ven", "zu", "ox", "ar", "el", "io", "tra", "nix", "sol", "ber",
    "cor", "dax", "em", "fy", "gro", "hal", "jun", "kip", "lem", "mo", "nu", "pra", "quo", "ros",
];
const MODELS: &[&str] = &[
    "One", "Pro", "Max", "Air", "Go", "Mini", "Plus", "Ultra", "Neo", "Lite", "Edge", "Flex",
];
/// Problems people report, mostly words the corpus uses.
const ISSUES: &[&str] = &[
    "broken",
    "cracked",
    "refund",
    "battery",
    "screen",
    "\"not working\"",
    "return*",
    "warranty",
    "crash*",
    "slow",
    "overheating",
    "disconnect*",
    "late",
    "missing",
    "\"charged twice\"",
    "cancel*",
    "écran",
    "cassé",
    "remboursement",
    "Bildschirm",
    "kaputt",
    "Rückerstattung",
    "pantalla",
    "reembolso",
    "画面",
    "返金",
    "화면",
    "환불",
];
const COMPARE: &[&str] = &[
    "vs",
    "versus",
    "\"switched to\"",
    "\"better than\"",
    "compar*",
    "alternative",
];
const NOISE: &[&str] = &[
    "job",
    "jobs",
    "hiring",
    "giveaway",
    "\"promo code\"",
    "sweepstake*",
    "lottery",
];
const CHANNELS: &[&str] = &[
    "twitter", "email", "chat", "reddit", "review", "mastodon", "forum", "rss",
];
const LANGS: &[&str] = &["en", "de", "fr", "es", "pt", "it", "ja", "ko", "ar"];

/// Words of one category, for topics about a category rather than a brand. The first is the
/// corpus's own (phones and gadgets); the others are other industries.
const CATEGORIES: &[&[&str]] = &[
    &[
        "phone",
        "smartphone",
        "earbuds",
        "laptop",
        "battery",
        "charger",
        "esim",
        "camera",
    ],
    &[
        "bank",
        "loan",
        "mortgage",
        "overdraft",
        "savings",
        "atm",
        "interest",
        "branch",
    ],
    &[
        "flight", "airline", "luggage", "boarding", "lounge", "layover", "airport", "seat",
    ],
    &[
        "pizza",
        "burger",
        "vegan",
        "restaurant",
        "menu",
        "takeaway",
        "cafe",
        "brunch",
    ],
    &[
        "skincare",
        "lipstick",
        "mascara",
        "serum",
        "moisturizer",
        "fragrance",
        "shampoo",
        "sunscreen",
    ],
    &[
        "car",
        "dealership",
        "mileage",
        "hybrid",
        "suv",
        "sedan",
        "tyres",
        "recall",
    ],
    &[
        "console",
        "gamepad",
        "multiplayer",
        "patch",
        "lag",
        "controller",
        "esports",
        "dlc",
    ],
    &[
        "streaming",
        "subscription",
        "episode",
        "series",
        "playlist",
        "buffering",
        "podcast",
        "trailer",
    ],
    &[
        "sneakers", "jacket", "dress", "jeans", "hoodie", "boots", "outfit", "fabric",
    ],
    &[
        "broadband",
        "signal",
        "router",
        "roaming",
        "fibre",
        "outage",
        "wifi",
        "coverage",
    ],
    &[
        "insurance",
        "claim",
        "premium",
        "policy",
        "deductible",
        "renewal",
        "broker",
        "adjuster",
    ],
    &[
        "hotel",
        "booking",
        "checkin",
        "suite",
        "resort",
        "housekeeping",
        "reservation",
        "hostel",
    ],
    &[
        "gym",
        "workout",
        "treadmill",
        "protein",
        "yoga",
        "trainer",
        "membership",
        "pilates",
    ],
];

/// Generates realistic topic sets, deterministically from a seed.
///
/// A set of N topics is about `max(20, N / 10)` brands, about ten topics per brand, the way a
/// platform grows by adding customers rather than piling topics on one brand. Four of the
/// brands are the corpus's own (Acme and its rivals Globex, Initech, Umbrella), with their
/// real product names, so matches happen. The others get made-up names, handles and product
/// lines. The mix of topics:
///
/// | share | kind | example |
/// |---|---|---|
/// | 25% | brand mentions, NOT noise | `(Acme OR #Acme OR @acme_support OR "Acme Cloud") NOT (job OR hiring)` |
/// | 25% | product problems, NEAR / ordered NEAR / SENTENCE / wildcards | `("Acme Buds" OR #AcmeBuds) NEAR/5 (broken OR refund OR disconnect*)` |
/// | 15% | competitor comparisons | `(Acme OR "Acme Phone X") NEAR/10 (Globex OR "Globex G5")` |
/// | 10% | brand plus fields (case-sensitive, wildcards, lang, channel, rating, followers, site) | `acme* AND (site:reddit.com OR channel:forum)` |
/// | 10% | phrases with `~` | `"Acme support useless"~6` |
/// | 5% | owned: handles, support tags, `author:` | `@acme_support OR author:acme_support OR #AcmeSupport` |
/// | 10% | category topics with no brand, one of 13 industries: buying intent or complaints near the category's words | `("looking for" OR recommend*) NEAR/5 (phone OR earbuds)` |
struct TopicGen {
    brands: Vec<Brand>,
    rng: Rng,
}

/// One generated topic: its query, and the plain keywords a keyword tool would be given.
struct GenTopic {
    query: String,
    keywords: Vec<String>,
}

impl TopicGen {
    fn new(topics: usize, seed: u64) -> TopicGen {
        let mut rng = Rng(seed ^ 0x1157_E4B3_0000_0000 ^ topics as u64);
        let mut brands = vec![
            Brand::new(
                "Acme",
                "acme_support",
                &[
                    "Acme Phone X",
                    "Acme Phone X Pro",
                    "Acme Buds",
                    "Acme Buds Pro",
                    "AcmeBook Air",
                    "Acme Watch 3",
                    "AcmeOS",
                    "Acme Cloud",
                ],
            ),
            Brand::new("Globex", "globex", &["Globex G5"]),
            Brand::new("Initech", "initech", &["Initech One"]),
            Brand::new("Umbrella", "umbrella", &["Umbrella Nova 2"]),
        ];
        let count = (topics / 10).max(20);
        let mut seen: HashSet<String> = brands.iter().map(|b| b.name.to_lowercase()).collect();
        while brands.len() < count {
            let syllables = 2 + rng.below(2);
            let mut name = String::new();
            for _ in 0..syllables {
                name.push_str(rng.pick(SYLLABLES));
            }
            if !seen.insert(name.clone()) {
                continue;
            }
            let mut display = name.clone();
            display[..1].make_ascii_uppercase();
            let handle = match rng.below(3) {
                0 => name.clone(),
                1 => format!("{name}_help"),
                _ => format!("{name}_support"),
            };
            let products: Vec<String> = (0..1 + rng.below(3))
                .map(|_| {
                    let model = rng.pick(MODELS);
                    if rng.chance(40) {
                        format!("{display} {model} {}", 2 + rng.below(8))
                    } else {
                        format!("{display} {model}")
                    }
                })
                .collect();
            brands.push(Brand {
                name: display,
                handle,
                products,
            });
        }
        TopicGen { brands, rng }
    }

    fn issues(&mut self, n: usize) -> String {
        let mut words: Vec<&str> = Vec::new();
        while words.len() < n {
            let w = self.rng.pick(ISSUES);
            if !words.contains(&w) {
                words.push(w);
            }
        }
        words.join(" OR ")
    }

    fn one_of(&mut self, items: &[&str], n: usize) -> String {
        let mut words: Vec<&str> = Vec::new();
        while words.len() < n.min(items.len()) {
            let w = self.rng.pick(items);
            if !words.contains(&w) {
                words.push(w);
            }
        }
        words.join(" OR ")
    }

    fn topic(&mut self) -> GenTopic {
        let b = self.rng.below(self.brands.len());
        // Corpus brands compete with each other; made-up ones with any other brand.
        let r = if b < 4 {
            (b + 1 + self.rng.below(3)) % 4
        } else {
            let r = self.rng.below(self.brands.len());
            if r == b {
                (b + 1) % self.brands.len()
            } else {
                r
            }
        };
        let brand = &self.brands[b];
        let rival = &self.brands[r];
        let name = brand.name.clone();
        let handle = brand.handle.clone();
        let tag = brand.tag();
        let product = brand.products[self.rng.below(brand.products.len())].clone();
        let compact = Brand::compact(&product);
        let rival_name = rival.name.clone();
        let rival_product = rival.products[self.rng.below(rival.products.len())].clone();
        let lower = name.to_lowercase();
        let roll = self.rng.below(100);
        let variant = self.rng.below(3);
        let (query, keywords) = match roll {
            // Brand mentions.
            0..25 => {
                let noise = self.one_of(NOISE, 2 + variant);
                let query = match variant {
                    0 => format!("({name} OR {tag} OR @{handle}) NOT ({noise})"),
                    1 => format!("({name} OR {tag} OR @{handle} OR \"{product}\") NOT ({noise})"),
                    _ => format!("({{{name}}} OR {tag} OR #{compact}) NOT ({noise})"),
                };
                (query, vec![name.clone(), tag.clone(), format!("@{handle}")])
            }
            // Product problems.
            25..50 => {
                let issues = self.issues(3 + variant);
                let query = match variant {
                    0 => format!("(\"{product}\" OR #{compact}) NEAR/5 ({issues})"),
                    1 => format!("(\"{product}\" OR {compact}) NEAR/6f ({issues})"),
                    _ => format!("(\"{product}\" OR {lower}*) SENTENCE ({issues})"),
                };
                (query, vec![product.clone(), compact.clone()])
            }
            // Competitor comparisons.
            50..65 => {
                let compare = self.one_of(COMPARE, 3);
                let query = match variant {
                    0 => format!(
                        "({name} OR \"{product}\") NEAR/10 ({rival_name} OR \"{rival_product}\")"
                    ),
                    1 => format!("({name} OR {rival_name}) NEAR/8 ({compare})"),
                    _ => format!(
                        "(\"{product}\" AND \"{rival_product}\") NOT ({})",
                        self.one_of(NOISE, 2)
                    ),
                };
                (query, vec![name.clone(), rival_name.clone()])
            }
            // Brand plus fields.
            65..75 => {
                let channel = self.rng.pick(CHANNELS);
                let lang = self.rng.pick(LANGS);
                let query = match self.rng.below(5) {
                    0 => format!("({name} OR {tag}) AND lang:{lang} AND channel:{channel}"),
                    1 => format!("{{{name}}} AND rating:[1 TO 2]"),
                    2 => format!(
                        "({name} OR @{handle}) AND authorFollowers:[1000 TO 100000000] NOT channel:rss"
                    ),
                    3 => format!("{lower}* AND (site:reddit.com OR channel:forum)"),
                    _ => format!("(\"{product}\" OR #{compact}) AND country:GB"),
                };
                (query, vec![name.clone(), tag.clone()])
            }
            // Phrases with ~.
            75..85 => {
                let query = match variant {
                    0 => format!("\"{name} support useless\"~6"),
                    1 => format!(
                        "\"{product} {}\"~4",
                        self.rng.pick(&["battery", "screen", "update", "case"])
                    ),
                    _ => format!("({name} AND (refund OR \"money back\"))~10"),
                };
                (query, vec![name.clone(), product.clone()])
            }
            // Owned.
            85..90 => {
                let query = match variant {
                    0 => format!("@{handle} OR author:{handle} OR #{name}Support"),
                    1 => format!("author:{handle} AND (sorry OR apologi* OR DM)"),
                    _ => format!("(@{handle} OR \"{name} support\") NOT author:{handle}"),
                };
                (query, vec![format!("@{handle}"), format!("{name} support")])
            }
            // Category topics: no brand.
            _ => {
                let category = CATEGORIES[self.rng.below(CATEGORIES.len())];
                let words = self.one_of(category, 2 + variant);
                let first = category[self.rng.below(category.len())];
                let query = match variant {
                    0 => format!(
                        "(\"looking for\" OR recommend* OR \"any suggestions\") NEAR/5 ({words})"
                    ),
                    1 => format!(
                        "({words}) AND (hate OR terrible OR awful OR worst) NOT ({})",
                        self.one_of(NOISE, 2)
                    ),
                    _ => format!(
                        "(\"should I buy\" OR \"thinking of getting\" OR \"best {first}\") NEAR/6 ({words}) AND lang:en"
                    ),
                };
                let keywords = words
                    .split(" OR ")
                    .map(|w| w.trim_matches('"').to_string())
                    .collect();
                (query, keywords)
            }
        };
        GenTopic { query, keywords }
    }
}

// ---------------------------------------------------------------------------------------------
// The run

struct Args {
    messages: u64,
    sizes: Vec<usize>,
    seed: u64,
    dir: PathBuf,
    brute_seconds: f64,
    baseline_seconds: f64,
    baseline: bool,
}

fn usage(error: &str) -> ! {
    eprintln!(
        "{error}\nusage: listen_bench [--messages N] [--topics A,B,…] [--seed S] [--dir DIR] [--brute-seconds S] [--baseline-seconds S] [--no-baseline]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut args = Args {
        messages: 200_000,
        sizes: vec![100, 1_000, 10_000, 100_000],
        seed: 7,
        dir: PathBuf::from("bench/out/listen"),
        brute_seconds: 20.0,
        baseline_seconds: 20.0,
        baseline: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .unwrap_or_else(|| usage(&format!("{a} needs a value")))
        };
        match a.as_str() {
            "--messages" => {
                args.messages = value().parse().unwrap_or_else(|_| usage("bad --messages"))
            }
            "--topics" => {
                args.sizes = value()
                    .split(',')
                    .map(|s| s.trim().parse().unwrap_or_else(|_| usage("bad --topics")))
                    .collect()
            }
            "--seed" => args.seed = value().parse().unwrap_or_else(|_| usage("bad --seed")),
            "--dir" => args.dir = PathBuf::from(value()),
            "--brute-seconds" => {
                args.brute_seconds = value()
                    .parse()
                    .unwrap_or_else(|_| usage("bad --brute-seconds"))
            }
            "--baseline-seconds" => {
                args.baseline_seconds = value()
                    .parse()
                    .unwrap_or_else(|_| usage("bad --baseline-seconds"))
            }
            "--no-baseline" => args.baseline = false,
            other => usage(&format!("unknown argument {other}")),
        }
    }
    args
}

fn load_messages(args: &Args) -> Vec<Message> {
    let started = Instant::now();
    let path = args.dir.join("messages.jsonl");
    let mut out = BufWriter::new(std::fs::File::create(&path).expect("create messages.jsonl"));
    let mut messages = Vec::with_capacity(args.messages as usize);
    for line in needle_demo::Corpus::new(args.seed).bench_lines(args.messages) {
        let value: serde_json::Value = serde_json::from_str(&line).expect("generated JSON");
        let mut message = Message::from_json(value).expect("a generated message is valid");
        needle_core::normalize::normalize(&mut message).expect("a generated message normalises");
        let record = json!({"id": message.id, "text": message.text, "title": message.title});
        writeln!(out, "{record}").expect("write messages.jsonl");
        messages.push(message);
    }
    out.flush().expect("write messages.jsonl");
    eprintln!(
        "generated, parsed and normalised {} messages in {:.1}s ({})",
        messages.len(),
        started.elapsed().as_secs_f64(),
        path.display()
    );
    messages
}

struct SizeResult {
    topics: usize,
    compile_s: f64,
    rss_delta: Option<i64>,
    heap: isize,
    presearch_rate: f64,
    presearch_matches: u64,
    candidates_per_message: f64,
    brute_rate: f64,
    brute_sample: usize,
    brute_matches: u64,
    baseline: Option<serde_json::Value>,
}

fn write_topics(dir: &Path, size: usize, topics: &[GenTopic]) {
    let list: Vec<serde_json::Value> = topics
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"id": format!("t{i}"), "query": t.query, "keywords": t.keywords}))
        .collect();
    let path = dir.join(format!("topics-{size}.json"));
    std::fs::write(&path, serde_json::to_vec(&list).expect("json")).expect("write topics");
}

fn run_size(args: &Args, messages: &[Message], size: usize) -> SizeResult {
    let mut generator = TopicGen::new(size, args.seed);
    let generated: Vec<GenTopic> = (0..size).map(|_| generator.topic()).collect();
    drop(generator);
    write_topics(&args.dir, size, &generated);

    let rss_before = vm_rss();
    let heap_before = live_heap();
    let started = Instant::now();
    let compiled: Vec<(u32, needle_nql::Topic)> = generated
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let topic = compile_topic(&format!("t{i}"), "brand", &t.query, None)
                .unwrap_or_else(|e| panic!("generated topic {:?} does not compile: {e}", t.query));
            (i as u32, topic)
        })
        .collect();
    let index = TopicIndex::new(compiled);
    let compile_s = started.elapsed().as_secs_f64();
    let heap = live_heap() - heap_before;
    let rss_delta = rss_before
        .zip(vm_rss())
        .map(|(before, after)| after as i64 - before as i64);
    drop(generated);

    // Presearch on every message.
    let mut scratch = PresearchScratch::default();
    let started = Instant::now();
    let mut per_message: Vec<u32> = Vec::with_capacity(messages.len());
    for m in messages {
        let doc = document_of(m);
        per_message.push(index.matches(&doc, &mut scratch).len() as u32);
    }
    let took = started.elapsed().as_secs_f64();
    let presearch_rate = messages.len() as f64 / took;
    let presearch_matches: u64 = per_message.iter().map(|&n| u64::from(n)).sum();
    let candidates_per_message = scratch_candidates(&index, messages);

    // Brute force on as many messages as fit in the budget.
    let started = Instant::now();
    let mut brute: Vec<Vec<u32>> = Vec::new();
    for m in messages {
        let doc = document_of(m);
        brute.push(
            index
                .matches_brute_force(&doc)
                .into_iter()
                .map(|(id, _)| *id)
                .collect(),
        );
        if started.elapsed().as_secs_f64() > args.brute_seconds {
            break;
        }
    }
    let took = started.elapsed().as_secs_f64();
    let brute_sample = brute.len();
    let brute_rate = brute_sample as f64 / took;
    let brute_matches: u64 = brute.iter().map(|v| v.len() as u64).sum();

    // Both must give the same topics for every message of the sample.
    let sample_presearch: u64 = per_message[..brute_sample]
        .iter()
        .map(|&n| u64::from(n))
        .sum();
    assert_eq!(
        sample_presearch, brute_matches,
        "{size} topics: the presearch and brute force disagree on the match total"
    );
    for (m, expected) in messages.iter().zip(&brute) {
        let doc = document_of(m);
        let got: Vec<u32> = index
            .matches(&doc, &mut scratch)
            .into_iter()
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(
            &got, expected,
            "{size} topics: message {} matched differently",
            m.id
        );
    }
    drop(index);

    SizeResult {
        topics: size,
        compile_s,
        rss_delta,
        heap,
        presearch_rate,
        presearch_matches,
        candidates_per_message,
        brute_rate,
        brute_sample,
        brute_matches,
        baseline: None,
    }
}

/// Average number of topics the presearch evaluates per message, on up to 20,000 messages.
fn scratch_candidates(index: &TopicIndex<u32>, messages: &[Message]) -> f64 {
    let sample = &messages[..messages.len().min(20_000)];
    let mut total = 0usize;
    let mut scratch = PresearchScratch::default();
    for m in sample {
        let doc = document_of(m);
        total += index.candidates(&doc, &mut scratch);
    }
    total as f64 / sample.len().max(1) as f64
}

/// How fast documents are prepared alone (tokenize, fold, index): the floor under any topic
/// count.
fn prepare_rate(messages: &[Message]) -> f64 {
    let started = Instant::now();
    let mut tokens = 0usize;
    for m in messages {
        tokens += document_of(m).token_count();
    }
    std::hint::black_box(tokens);
    messages.len() as f64 / started.elapsed().as_secs_f64()
}

fn run_baseline(args: &Args) -> Vec<serde_json::Value> {
    let script = args.dir.join("baseline_keywords.py");
    std::fs::write(&script, BASELINE).expect("write the baseline script");
    let output = Command::new("python3")
        .arg(&script)
        .arg(&args.dir)
        .arg("--seconds")
        .arg(args.baseline_seconds.to_string())
        .output();
    match output {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect(),
        Ok(out) => {
            eprintln!(
                "the Python baseline failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            Vec::new()
        }
        Err(e) => {
            eprintln!("no Python baseline ({e})");
            Vec::new()
        }
    }
}

fn fmt_rate(r: f64) -> String {
    if r >= 100.0 {
        let s = format!("{:.0}", r);
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        out
    } else {
        format!("{r:.1}")
    }
}

fn main() {
    let args = parse_args();
    std::fs::create_dir_all(&args.dir).expect("create the bench dir");
    let messages = load_messages(&args);
    let prepare = prepare_rate(&messages);
    eprintln!(
        "preparing documents alone (tokenize, fold, index): {} messages/s",
        fmt_rate(prepare)
    );

    let mut results = Vec::new();
    for &size in &args.sizes {
        let r = run_size(&args, &messages, size);
        eprintln!(
            "{size} topics: presearch {} msg/s, brute force {} msg/s ({} messages), {} matches, {:.1} MiB heap",
            fmt_rate(r.presearch_rate),
            fmt_rate(r.brute_rate),
            r.brute_sample,
            r.presearch_matches,
            r.heap as f64 / MIB
        );
        results.push(r);
    }
    if args.baseline {
        let baseline = run_baseline(&args);
        for r in &mut results {
            r.baseline = baseline
                .iter()
                .find(|b| b["topics"].as_u64() == Some(r.topics as u64))
                .cloned();
        }
    }

    println!();
    println!(
        "listening benchmark: {} messages (seed {}), single-threaded; document preparation alone {} msg/s",
        messages.len(),
        args.seed,
        fmt_rate(prepare)
    );
    println!(
        "| topics | presearch msg/s | brute force msg/s (sample) | presearch / brute | candidates per msg | matches | compile s | RSS delta MiB | heap MiB | python keywords msg/s (sample) | presearch / python |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &results {
        let base_rate = r
            .baseline
            .as_ref()
            .and_then(|b| b["messages_per_s"].as_f64());
        let base_sample = r.baseline.as_ref().and_then(|b| b["messages"].as_u64());
        println!(
            "| {} | {} | {} ({}) | {:.1}x | {:.1} | {} | {:.2} | {} | {:.1} | {} | {} |",
            fmt_rate(r.topics as f64),
            fmt_rate(r.presearch_rate),
            fmt_rate(r.brute_rate),
            fmt_rate(r.brute_sample as f64),
            r.presearch_rate / r.brute_rate,
            r.candidates_per_message,
            fmt_rate(r.presearch_matches as f64),
            r.compile_s,
            r.rss_delta
                .map_or("?".into(), |d| format!("{:.1}", d as f64 / MIB)),
            r.heap as f64 / MIB,
            base_rate.map_or("-".into(), |b| format!(
                "{} ({})",
                fmt_rate(b),
                fmt_rate(base_sample.unwrap_or(0) as f64)
            )),
            base_rate.map_or("-".into(), |b| format!("{:.0}x", r.presearch_rate / b)),
        );
    }
    println!();
    for r in &results {
        let base_rate = r
            .baseline
            .as_ref()
            .and_then(|b| b["messages_per_s"].as_f64());
        println!(
            "{}",
            json!({
                "bench": "listen",
                "topics": r.topics,
                "messages": messages.len(),
                "seed": args.seed,
                "presearch_msgs_per_s": r.presearch_rate,
                "brute_force_msgs_per_s": r.brute_rate,
                "brute_force_sample": r.brute_sample,
                "presearch_vs_brute_force": r.presearch_rate / r.brute_rate,
                "candidates_per_message": r.candidates_per_message,
                "matches": r.presearch_matches,
                "matches_in_brute_force_sample": r.brute_matches,
                "compile_s": r.compile_s,
                "rss_delta_mib": r.rss_delta.map(|d| d as f64 / MIB),
                "heap_mib": r.heap as f64 / MIB,
                "prepare_msgs_per_s": prepare,
                "baseline": r.baseline,
                "presearch_vs_baseline": base_rate.map(|b| r.presearch_rate / b),
            })
        );
    }

    // The issue's goals.
    let rate = |n: usize| {
        results
            .iter()
            .find(|r| r.topics == n)
            .map(|r| r.presearch_rate)
    };
    let mem = |n: usize| results.iter().find(|r| r.topics == n);
    println!();
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    if let Some(r) = rate(1_000) {
        println!(
            "goal: >= 100,000 msg/s with 1,000 topics: {} msg/s, {}",
            fmt_rate(r),
            verdict(r >= 100_000.0)
        );
    }
    if let (Some(a), Some(b)) = (rate(1_000), rate(10_000)) {
        println!(
            "goal: 10,000-topic throughput >= 1/3 of 1,000-topic: {:.2}, {}",
            b / a,
            verdict(b / a >= 1.0 / 3.0)
        );
    }
    if let Some(r) = rate(100_000) {
        println!(
            "goal: >= 10,000 msg/s with 100,000 topics: {} msg/s, {}",
            fmt_rate(r),
            verdict(r >= 10_000.0)
        );
    }
    if let Some(r) = mem(10_000) {
        let rss = r.rss_delta.map_or(f64::NAN, |d| d as f64 / MIB);
        let heap = r.heap as f64 / MIB;
        println!(
            "goal: < 200 MB for 10,000 compiled topics: RSS delta {rss:.1} MiB, heap {heap:.1} MiB, {}",
            verdict(rss.max(heap) < 200.0)
        );
    }
}
