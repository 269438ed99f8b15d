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
//! `Classifier::classify` whole (those plus intents and building the classification).

use std::io::{BufWriter, Write};
use std::process::Command;
use std::time::Instant;

use needle_classify::{Classifier, Dictionary};
use needle_demo::Corpus;
use serde_json::{Value, json};

const BASELINE: &str = include_str!("../../../bench/baseline_vader.py");
const BENCH_SEED: u64 = 7;

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
    let (fast_tier_seconds, undetermined) = fast_tier(None);
    let lid_fast_tier = lid.as_deref().map(|model| fast_tier(Some(model)));

    let classify = |classifier: &Classifier| {
        let started = Instant::now();
        let mut entities = 0usize;
        for text in &texts {
            entities += classifier.classify(text).entities.len();
        }
        (started.elapsed().as_secs_f64(), entities)
    };
    let (classify_seconds, entities) = classify(&classifier);
    let lid_classify = lid
        .clone()
        .map(|model| classify(&classifier.clone().with_language_model(model)).0);

    let n = texts.len() as f64;
    let mut report = json!({
        "messages": texts.len(),
        "threads": 1,
        "needle_sentiment_per_s": (n / sentiment_seconds).round(),
        "needle_fast_tier_per_s": (n / fast_tier_seconds).round(),
        "needle_classify_per_s": (n / classify_seconds).round(),
        "needle_checksum": checksum,
        "entities_found": entities,
        "lang_und": undetermined,
        "parts_per_s": parts,
    });
    if let Some((seconds, undetermined)) = lid_fast_tier {
        report["needle_fast_tier_lid176_per_s"] = json!((n / seconds).round());
        report["lang_und_lid176"] = json!(undetermined);
    }
    if let Some(seconds) = lid_classify {
        report["needle_classify_lid176_per_s"] = json!((n / seconds).round());
    }
    if !no_baseline {
        let baseline = run_baseline(python, &texts)?;
        let seconds = baseline["seconds"].as_f64().unwrap_or(f64::NAN);
        report["python_vader_per_s"] = json!((n / seconds).round());
        report["python_checksum"] = baseline["checksum"].clone();
        report["ratio_fast_tier_vs_python_vader"] = json!(seconds / fast_tier_seconds);
        report["ratio_classify_vs_python_vader"] = json!(seconds / classify_seconds);
        if let Some((lid_seconds, _)) = lid_fast_tier {
            report["ratio_fast_tier_lid176_vs_python_vader"] = json!(seconds / lid_seconds);
        }
        if let Some(lid_seconds) = lid_classify {
            report["ratio_classify_lid176_vs_python_vader"] = json!(seconds / lid_seconds);
        }
        report["ratio_sentiment_vs_python_vader"] = json!(seconds / sentiment_seconds);
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&report).unwrap_or_default()
    );
    Ok(())
}
