//! `needle models train sentiment`: the model tier's sentiment head, trained here from real
//! labelled data that `bench/fetch_eval_data.sh` fetched (never shipped, never committed),
//! and scored beside the lexicon tier on the same held-out rows.

use std::path::{Path, PathBuf};

use crate::cli::EmbedderChoice;
use crate::failure::{CliResult, Failure};

/// Where the fetch script puts the data by default.
#[cfg_attr(not(feature = "embed"), allow(dead_code))]
fn default_labelled() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"))
        .join("needle-eval")
}

/// `per_set` rows of `rows`, evenly spaced, so a capped set keeps its mix of labels.
#[cfg_attr(not(feature = "embed"), allow(dead_code))]
fn evenly<T: Clone>(rows: &[T], per_set: usize) -> Vec<T> {
    if rows.len() <= per_set {
        return rows.to_vec();
    }
    rows.iter()
        .enumerate()
        .filter(|(i, _)| (i * per_set) % rows.len() < per_set)
        .map(|(_, r)| r.clone())
        .collect()
}

#[cfg(feature = "embed")]
pub fn sentiment(
    labelled: Option<PathBuf>,
    per_set: usize,
    embedder: EmbedderChoice,
    models: &Path,
) -> CliResult<i32> {
    use std::time::Instant;

    use needle_classify::labelled::{Split, load_all, split};
    use needle_embed::sentiment::{SentimentExample, SentimentHead, Training};
    use serde_json::json;

    let failed = |e: needle_embed::EmbedError| Failure::new(e.code(), e.to_string());
    let labelled = labelled.unwrap_or_else(default_labelled);
    let sets = load_all(&labelled);
    if sets.is_empty() {
        return Err(Failure::environment(format!(
            "no labelled data under {}: run `bench/fetch_eval_data.sh {}` (it fetches the npm \
             package `sentiment` and the vaderSentiment source archive)",
            labelled.display(),
            labelled.display()
        )));
    }
    if per_set == 0 {
        return Err(Failure::usage("--per-set must be at least 1"));
    }
    let cores = super::models::all_cores();
    let model =
        super::models::try_load_embedder_named(models, embedder.model(), cores).map_err(failed)?;

    struct Part {
        name: String,
        binary: bool,
        train: Vec<SentimentExample>,
        validation: Vec<SentimentExample>,
        held: Vec<SentimentExample>,
    }
    let started = Instant::now();
    let mut parts = Vec::new();
    for set in &sets {
        let rows = evenly(&set.rows, per_set);
        let texts: Vec<&str> = rows.iter().map(|(t, _)| t.as_str()).collect();
        let took = Instant::now();
        let vectors = model.embed(&texts).map_err(failed)?;
        eprintln!(
            "embedded {} ({} of {} rows) in {:.1} s",
            set.name,
            rows.len(),
            set.rows.len(),
            took.elapsed().as_secs_f64()
        );
        let mut part = Part {
            name: set.name.clone(),
            binary: set.binary,
            train: Vec::new(),
            validation: Vec::new(),
            held: Vec::new(),
        };
        for ((text, label), vector) in rows.into_iter().zip(vectors) {
            let example = SentimentExample {
                vector,
                lexicon: needle_classify::vader::compound(&text) as f32,
                label,
            };
            match split(&text) {
                Split::Train => part.train.push(example),
                Split::Validation => part.validation.push(example),
                Split::HeldOut => part.held.push(example),
            }
        }
        parts.push(part);
    }
    let embed_seconds = started.elapsed().as_secs_f64();

    // Choose how to train on the validation fifth (mean macro-F1 over sets, so a big set
    // does not decide alone), then train on training and validation rows together.
    let took = Instant::now();
    let train: Vec<SentimentExample> = parts.iter().flat_map(|p| p.train.iter().cloned()).collect();
    let mut tried = Vec::new();
    let mut best: Option<(f64, Training)> = None;
    for training in Training::candidates() {
        let head = SentimentHead::train(model.name(), &train, training).map_err(failed)?;
        let mut sum = 0.0;
        for part in &parts {
            sum += scores(&head, &part.validation, part.binary)
                .map_err(failed)?
                .1;
        }
        let f1 = sum / parts.len() as f64;
        eprintln!(
            "validation macro-F1 {f1:.3}: class weights {:?}, L2 {}",
            training.class_weights, training.l2
        );
        tried.push(json!({"training": training, "validation_macro_f1": f1}));
        if best.is_none_or(|(b, _)| f1 > b) {
            best = Some((f1, training));
        }
    }
    let (validation_f1, chosen) = best.expect("at least one candidate");
    let train: Vec<SentimentExample> = parts
        .iter()
        .flat_map(|p| p.train.iter().chain(&p.validation).cloned())
        .collect();
    let mut head = SentimentHead::train(model.name(), &train, chosen).map_err(failed)?;
    let train_seconds = took.elapsed().as_secs_f64();

    println!(
        "chose class weights {:?}, L2 {} (validation macro-F1 {validation_f1:.3} of {} tried)",
        chosen.class_weights,
        chosen.l2,
        tried.len()
    );
    println!(
        "sentiment on held-out rows (a fifth of each set, by a hash of the text); macro-F1 over \
         positive and negative for the binary sets (UCI, Rotten Tomatoes), and neutral too for \
         the others"
    );
    println!(
        "| {:<28} | {:>6} | {:>6} | {:>8} | {:>8} | {:>7} |",
        "set", "train", "held", "lexicon", "model", "points"
    );
    println!(
        "|{:-<30}|{:->8}|{:->8}|{:->10}|{:->10}|{:->9}|",
        "", "", "", "", "", ""
    );
    let mut rows = Vec::new();
    let (mut lexicon_sum, mut model_sum) = (0.0, 0.0);
    for part in &parts {
        let (l, m) = scores(&head, &part.held, part.binary).map_err(failed)?;
        lexicon_sum += l;
        model_sum += m;
        println!(
            "| {:<28} | {:>6} | {:>6} | {:>8.3} | {:>8.3} | {:>+7.1} |",
            part.name,
            part.train.len() + part.validation.len(),
            part.held.len(),
            l,
            m,
            (m - l) * 100.0
        );
        rows.push(json!({
            "set": part.name,
            "train": part.train.len() + part.validation.len(),
            "held_out": part.held.len(),
            "lexicon_macro_f1": l,
            "model_macro_f1": m,
        }));
    }
    let n = parts.len() as f64;
    println!(
        "| {:<28} | {:>6} | {:>6} | {:>8.3} | {:>8.3} | {:>+7.1} |",
        "mean over sets",
        train.len(),
        parts.iter().map(|p| p.held.len()).sum::<usize>(),
        lexicon_sum / n,
        model_sum / n,
        (model_sum - lexicon_sum) / n * 100.0
    );
    head.report = json!({
        "labelled": labelled.display().to_string(),
        "per_set": per_set,
        "sets": rows,
        "inputs": format!("{} embedding and the lexicon's compound score", model.name()),
        "training": chosen,
        "tried": tried,
        "embed_seconds": embed_seconds,
        "train_seconds": train_seconds,
    });
    let path = head.save(models).map_err(failed)?;
    println!(
        "embedded in {embed_seconds:.1} s, trained in {train_seconds:.1} s; wrote {}",
        path.display()
    );
    Ok(0)
}

/// Macro-F1 of the lexicon tier and of `head` on `examples`.
#[cfg(feature = "embed")]
fn scores(
    head: &needle_embed::sentiment::SentimentHead,
    examples: &[needle_embed::sentiment::SentimentExample],
    binary: bool,
) -> Result<(f64, f64), needle_embed::EmbedError> {
    use needle_classify::labelled::Confusion;
    use needle_core::SentimentLabel;

    let (mut lexicon, mut ours) = (Confusion::default(), Confusion::default());
    for example in examples {
        // The compound score has four decimals: as f32 it keeps its side of ±0.05.
        lexicon.add(
            example.label,
            SentimentLabel::from_score(f64::from(example.lexicon)),
        );
        let (model_says, _) = head.predict(&example.vector, example.lexicon)?;
        ours.add(example.label, model_says);
    }
    Ok((lexicon.macro_f1(binary), ours.macro_f1(binary)))
}

#[cfg(not(feature = "embed"))]
pub fn sentiment(
    _labelled: Option<PathBuf>,
    _per_set: usize,
    _embedder: EmbedderChoice,
    _models: &Path,
) -> CliResult<i32> {
    Err(Failure::usage("this build has no `embed` feature"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capped_set_keeps_rows_from_all_along_it() {
        let rows: Vec<usize> = (0..10).collect();
        assert_eq!(evenly(&rows, 20), rows);
        assert_eq!(evenly(&rows, 5), [0, 2, 4, 6, 8]);
        let picked = evenly(&(0..1000).collect::<Vec<_>>(), 300);
        assert_eq!(picked.len(), 300);
        assert!(picked.first() == Some(&0) && *picked.last().unwrap() > 990);
    }
}
