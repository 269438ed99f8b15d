//! Benchmark: the fast tier (language, lexicon sentiment, entities) on generated messages
//! (needle-demo's bench corpus), on one thread, beside Python vaderSentiment's
//! `polarity_scores` (sentiment only) on the same texts in the same run. Prints numbers;
//! passes or fails nothing.
//!
//! ```text
//! cargo run --release -p needle-classify --example bench_fast_tier -- [MESSAGES] [PYTHON] [LID]
//! ```
//!
//! PYTHON is an interpreter with vaderSentiment installed (default `python3`; `-` skips the
//! baseline). LID is fastText's `lid.176.ftz` (`needle models fetch` puts it in
//! `MODELS/lid.176/`); with it, the language and the whole tier are timed again with it.
//!
//! Reported: the fast tier as the issue defines it (language, sentiment, entities), and
//! `Classifier::classify` whole (those plus intents and building the classification). The
//! two sides take turns for three rounds; each side's best round is reported.

use std::io::{BufWriter, Write};
use std::process::Command;
use std::time::Instant;

use needle_classify::{Classifier, Dictionary};
use needle_demo::Corpus;
use serde_json::{Value, json};

const BASELINE: &str = include_str!("../../../bench/baseline_vader.py");
const BENCH_SEED: u64 = 7;
const ROUNDS: usize = 3;

/// Each measure's fastest round, in seconds.
struct Best {
    fast_tier: f64,
    lid_fast_tier: f64,
    classify: f64,
    lid_classify: f64,
    python: f64,
}

impl Default for Best {
    fn default() -> Self {
        Best {
            fast_tier: f64::INFINITY,
            lid_fast_tier: f64::INFINITY,
            classify: f64::INFINITY,
            lid_classify: f64::INFINITY,
            python: f64::INFINITY,
        }
    }
}

impl Best {
    fn keep(best: &mut f64, seconds: f64) {
        *best = best.min(seconds);
    }
}

type Result<T> = std::result::Result<T, String>;

fn env_failure(what: &str, e: impl std::fmt::Display) -> String {
    format!("{what}: {e}")
}

/// The texts of `n` generated messages.
fn texts(n: u64) -> Vec<String> {
    Corpus::new(BENCH_SEED)
        .bench_lines(n)
        .filter_map(|line| {
            let value: Value = serde_json::from_str(&line).ok()?;
            value.get("text")?.as_str().map(str::to_string)
        })
        .collect()
}

fn run_baseline(python: &str, texts: &[String]) -> Result<Value> {
    let work = tempfile_dir()?;
    let script = work.join("baseline_vader.py");
    let input = work.join("texts.jsonl");
    std::fs::write(&script, BASELINE).map_err(|e| env_failure("cannot write the baseline", e))?;
    let mut out = BufWriter::new(
        std::fs::File::create(&input).map_err(|e| env_failure("cannot write the texts", e))?,
    );
    for text in texts {
        serde_json::to_writer(&mut out, text).map_err(|e| env_failure("cannot write", e))?;
        out.write_all(b"\n")
            .map_err(|e| env_failure("cannot write", e))?;
    }
    out.flush().map_err(|e| env_failure("cannot write", e))?;
    let output = Command::new(python)
        .arg(&script)
        .arg(&input)
        .output()
        .map_err(|e| env_failure(&format!("cannot run {python}"), e))?;
    let _ = std::fs::remove_dir_all(&work);
    if !output.status.success() {
        return Err(format!(
            "the baseline failed (is vaderSentiment installed for {python}?): {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or("{}"))
        .map_err(|e| env_failure("the baseline printed no JSON", e))
}

fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("needle-bench-classify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| env_failure("cannot create a temp dir", e))?;
    Ok(dir)
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let messages: u64 = args
        .next()
        .map_or(Ok(100_000), |a| a.parse())
        .map_err(|e| env_failure("MESSAGES", e))?;
    let python = args.next().unwrap_or_else(|| "python3".into());
    let lid = match args.next() {
        Some(path) => {
            let bytes = std::fs::read(&path).map_err(|e| env_failure(&path, e))?;
            let model = needle_classify::language::fasttext::Model::from_bytes(&bytes)
                .map_err(|e| env_failure(&path, e))?;
            Some(std::sync::Arc::new(model))
        }
        None => None,
    };
    let no_baseline = python == "-";
    let python = python.as_str();
    let texts = texts(messages);
    let dictionary = Dictionary::new([
        ("brand", vec!["Acme", "Needle"]),
        ("product", vec!["Office", "Windows", "router", "app"]),
        ("competitor", vec!["Globex", "Initech"]),
    ])
    .map_err(|e| env_failure("bench dictionary", e))?;
    let classifier = Classifier::new(&dictionary);

    // Sentiment alone first: the like-for-like comparison with the baseline.
    let started = Instant::now();
    let mut checksum = 0.0;
    for text in &texts {
        checksum += needle_classify::vader::compound(text);
    }
    let sentiment_seconds = started.elapsed().as_secs_f64();

    // Each part alone, to see where the time goes.
    let mut parts = serde_json::Map::new();
    let time = |f: &dyn Fn(&str)| {
        let started = Instant::now();
        for text in &texts {
            f(text);
        }
        (texts.len() as f64 / started.elapsed().as_secs_f64()).round()
    };
    parts.insert(
        "language".into(),
        json!(time(&|t| {
            std::hint::black_box(needle_classify::language::detect(t));
        })),
    );
    if let Some(model) = &lid {
        parts.insert(
            "language_lid176".into(),
            json!(time(&|t| {
                std::hint::black_box(needle_classify::language::detect_with(t, Some(model)));
            })),
        );
    }
    parts.insert(
        "intents".into(),
        json!(time(&|t| {
            std::hint::black_box(needle_classify::intents::detect(t, 0.0));
        })),
    );
    parts.insert(
        "entities".into(),
        json!(time(&|t| {
            let mut out = Vec::new();
            needle_classify::entities::find_patterns(t, &mut out);
            std::hint::black_box(out);
        })),
    );
    let matcher = needle_classify::entities::DictionaryMatcher::new(&dictionary);
    parts.insert(
        "dictionary".into(),
        json!(time(&|t| {
            let mut out = Vec::new();
            matcher.find(t, &mut out);
            std::hint::black_box(out);
        })),
    );

    // The fast tier as the issue names it: language, lexicon sentiment, entities.
    let fast_tier = |model: Option<&needle_classify::language::fasttext::Model>| {
        let started = Instant::now();
        let mut undetermined = 0usize;
        for text in &texts {
            let text = needle_classify::prefix(text, needle_classify::MAX_CLASSIFY_BYTES);
            let lang = needle_classify::language::detect_with(text, model);
            let score = needle_classify::vader::compound(text);
            let mut entities = Vec::new();
            matcher.find(text, &mut entities);
            needle_classify::entities::find_patterns(text, &mut entities);
            undetermined += usize::from(lang == "und");
            std::hint::black_box((score, entities));
        }
        (started.elapsed().as_secs_f64(), undetermined)
    };
    let classify = |classifier: &Classifier| {
        let started = Instant::now();
        let mut entities = 0usize;
        for text in &texts {
            entities += classifier.classify(text).entities.len();
        }
        (started.elapsed().as_secs_f64(), entities)
    };
    let lid_classifier = lid
        .clone()
        .map(|model| classifier.clone().with_language_model(model));

    // This machine's neighbours come and go: the two sides take turns for ROUNDS rounds,
    // and each side's best round is compared with the other's (the per-round ratios of
    // the headline figure are printed too).
    let mut best = Best::default();
    let mut undetermined = (0, 0);
    let mut entities = 0;
    let mut python_checksum = Value::Null;
    let mut lid_ratios = Vec::new();
    for _ in 0..ROUNDS {
        let python_seconds = if no_baseline {
            None
        } else {
            let baseline = run_baseline(python, &texts)?;
            python_checksum = baseline["checksum"].clone();
            baseline["seconds"].as_f64()
        };
        let (seconds, und) = fast_tier(None);
        Best::keep(&mut best.fast_tier, seconds);
        undetermined.0 = und;
        if let Some(model) = lid.as_deref() {
            let (seconds, und) = fast_tier(Some(model));
            Best::keep(&mut best.lid_fast_tier, seconds);
            undetermined.1 = und;
            if let Some(python_seconds) = python_seconds {
                lid_ratios.push(python_seconds / seconds);
            }
        }
        let (seconds, found) = classify(&classifier);
        Best::keep(&mut best.classify, seconds);
        entities = found;
        if let Some(classifier) = &lid_classifier {
            Best::keep(&mut best.lid_classify, classify(classifier).0);
        }
        if let Some(seconds) = python_seconds {
            Best::keep(&mut best.python, seconds);
        }
    }

    let n = texts.len() as f64;
    let per_s = |seconds: f64| (n / seconds).round();
    let mut report = json!({
        "messages": texts.len(),
        "threads": 1,
        "rounds": ROUNDS,
        "needle_sentiment_per_s": per_s(sentiment_seconds),
        "needle_fast_tier_per_s": per_s(best.fast_tier),
        "needle_classify_per_s": per_s(best.classify),
        "needle_checksum": checksum,
        "entities_found": entities,
        "lang_und": undetermined.0,
        "parts_per_s": parts,
    });
    if lid.is_some() {
        report["needle_fast_tier_lid176_per_s"] = json!(per_s(best.lid_fast_tier));
        report["needle_classify_lid176_per_s"] = json!(per_s(best.lid_classify));
        report["lang_und_lid176"] = json!(undetermined.1);
    }
    if !no_baseline {
        let seconds = best.python;
        report["python_vader_per_s"] = json!(per_s(seconds));
        report["python_checksum"] = python_checksum;
        report["ratio_fast_tier_vs_python_vader"] = json!(seconds / best.fast_tier);
        report["ratio_classify_vs_python_vader"] = json!(seconds / best.classify);
        if lid.is_some() {
            report["ratio_fast_tier_lid176_vs_python_vader"] = json!(seconds / best.lid_fast_tier);
            report["ratio_fast_tier_lid176_per_round"] = json!(lid_ratios);
            report["ratio_classify_lid176_vs_python_vader"] = json!(seconds / best.lid_classify);
        }
        report["ratio_sentiment_vs_python_vader"] = json!(seconds / sentiment_seconds);
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&report).unwrap_or_default()
    );
    Ok(())
}
