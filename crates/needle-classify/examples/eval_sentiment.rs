//! Macro-F1 of the lexicon tier (VADER port) on real labelled data fetched by
//! `bench/fetch_eval_data.sh DIR` (never committed), per data set, so the model tier can be
//! compared against it:
//!
//! - UCI sentiment sentences from the npm `sentiment` package's fixtures (Amazon, IMDB, Yelp;
//!   binary: 1 positive, 0 negative). Macro-F1 over positive and negative; a `neutral`
//!   answer counts as wrong for either.
//! - Hutto & Gilbert's human-rated tweets and snippets from the vaderSentiment 3.3.2 source
//!   archive (mean rating in [-4, 4]). Three classes: above 0.5 positive, below -0.5
//!   negative, else neutral. Note VADER's lexicon was tuned with these raters, so these
//!   figures flatter it.
//!
//! ```text
//! cargo run --release -p needle-classify --example eval_sentiment -- DIR [--errors N]
//! ```

use std::path::Path;

use needle_core::SentimentLabel;

struct Set {
    name: String,
    rows: Vec<(String, SentimentLabel)>,
    binary: bool,
}

fn uci(dir: &Path, name: &str) -> Option<Set> {
    let path = dir.join(format!(
        "npm/node_modules/sentiment/test/fixtures/{name}.json"
    ));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    let rows = json
        .as_array()?
        .iter()
        .filter_map(|r| {
            let label = match r["class"].as_i64()? {
                1 => SentimentLabel::Positive,
                _ => SentimentLabel::Negative,
            };
            Some((r["text"].as_str()?.to_string(), label))
        })
        .collect();
    Some(Set {
        name: format!("uci-{name}"),
        rows,
        binary: true,
    })
}

fn hutto(dir: &Path, name: &str) -> Option<Set> {
    let path = dir.join(format!("vader/hutto_ICWSM_2014/{name}_GroundTruth.txt"));
    let bytes = std::fs::read(path).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let rows = text
        .lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, '\t');
            let _id = parts.next()?;
            let rating: f64 = parts.next()?.trim().parse().ok()?;
            let text = parts.next()?.trim().to_string();
            let label = if rating > 0.5 {
                SentimentLabel::Positive
            } else if rating < -0.5 {
                SentimentLabel::Negative
            } else {
                SentimentLabel::Neutral
            };
            Some((text, label))
        })
        .collect();
    Some(Set {
        name: format!("hutto-{name}"),
        rows,
        binary: false,
    })
}

const LABELS: [SentimentLabel; 3] = [
    SentimentLabel::Positive,
    SentimentLabel::Negative,
    SentimentLabel::Neutral,
];

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .expect("usage: eval_sentiment DIR [--errors N] (see bench/fetch_eval_data.sh)");
    let show_errors: usize = match (args.next().as_deref(), args.next()) {
        (Some("--errors"), Some(n)) => n.parse().unwrap_or(5),
        _ => 0,
    };
    let dir = Path::new(&dir);
    let sets: Vec<Set> = ["amazon", "imdb", "yelp"]
        .iter()
        .filter_map(|n| uci(dir, n))
        .chain(
            [
                "tweets",
                "movieReviewSnippets",
                "amazonReviewSnippets",
                "nytEditorialSnippets",
            ]
            .iter()
            .filter_map(|n| hutto(dir, n)),
        )
        .collect();
    if sets.is_empty() {
        eprintln!(
            "no data under {}: run bench/fetch_eval_data.sh first",
            dir.display()
        );
        std::process::exit(1);
    }
    for set in sets {
        // confusion[truth][predicted]
        let mut confusion = [[0usize; 3]; 3];
        let mut errors = Vec::new();
        for (text, truth) in &set.rows {
            let score = needle_classify::vader::compound(text);
            let predicted = SentimentLabel::from_score(score);
            let t = LABELS.iter().position(|l| l == truth).unwrap_or(2);
            let p = LABELS.iter().position(|l| *l == predicted).unwrap_or(2);
            confusion[t][p] += 1;
            if t != p && errors.len() < show_errors {
                errors.push(format!(
                    "    truth {} got {} ({score:+.3}): {}",
                    truth.as_str(),
                    predicted.as_str(),
                    text.chars().take(140).collect::<String>()
                ));
            }
        }
        let classes = if set.binary { 2 } else { 3 };
        let mut f1_sum = 0.0;
        let mut per_class = Vec::new();
        for c in 0..classes {
            let tp = confusion[c][c] as f64;
            let predicted: usize = (0..3).map(|t| confusion[t][c]).sum();
            let actual: usize = confusion[c].iter().sum();
            let precision = if predicted > 0 {
                tp / predicted as f64
            } else {
                0.0
            };
            let recall = if actual > 0 { tp / actual as f64 } else { 0.0 };
            let f1 = if precision + recall > 0.0 {
                2.0 * precision * recall / (precision + recall)
            } else {
                0.0
            };
            f1_sum += f1;
            per_class.push(format!("{} {:.3}", LABELS[c].as_str(), f1));
        }
        let correct: usize = (0..3).map(|c| confusion[c][c]).sum();
        println!(
            "{:<28} n={:<5} macro-F1 {:.3}  accuracy {:.3}  ({})  neutral answers {}",
            set.name,
            set.rows.len(),
            f1_sum / classes as f64,
            correct as f64 / set.rows.len().max(1) as f64,
            per_class.join(", "),
            (0..3).map(|t| confusion[t][2]).sum::<usize>()
        );
        for e in errors {
            println!("{e}");
        }
    }
}
