//! Macro-F1 of the lexicon tier (VADER port) on real labelled data fetched by
//! `bench/fetch_eval_data.sh DIR` (never committed), per data set; see
//! [`needle_classify::labelled`] for the sets and how they are scored. The model tier's
//! figures, on the held-out fifth, come from `needle models train sentiment`.
//!
//! ```text
//! cargo run --release -p needle-classify --example eval_sentiment -- DIR [--errors N]
//! ```

use std::path::Path;

use needle_classify::labelled::{Confusion, LABELS, load_all};
use needle_core::SentimentLabel;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .expect("usage: eval_sentiment DIR [--errors N] (see bench/fetch_eval_data.sh)");
    let show_errors: usize = match (args.next().as_deref(), args.next()) {
        (Some("--errors"), Some(n)) => n.parse().unwrap_or(5),
        _ => 0,
    };
    let sets = load_all(Path::new(&dir));
    if sets.is_empty() {
        eprintln!("no data under {dir}: run bench/fetch_eval_data.sh first");
        std::process::exit(1);
    }
    for set in sets {
        let mut confusion = Confusion::default();
        let mut errors = Vec::new();
        for (text, truth) in &set.rows {
            let score = needle_classify::vader::compound(text);
            let answer = SentimentLabel::from_score(score);
            confusion.add(*truth, answer);
            if *truth != answer && errors.len() < show_errors {
                errors.push(format!(
                    "    truth {} got {} ({score:+.3}): {}",
                    truth.as_str(),
                    answer.as_str(),
                    text.chars().take(140).collect::<String>()
                ));
            }
        }
        let classes = if set.binary { 2 } else { 3 };
        let per_class: Vec<String> = LABELS[..classes]
            .iter()
            .map(|l| format!("{} {:.3}", l.as_str(), confusion.f1(*l)))
            .collect();
        println!(
            "{:<28} n={:<5} macro-F1 {:.3}  accuracy {:.3}  ({})  neutral answers {}",
            set.name,
            set.rows.len(),
            confusion.macro_f1(set.binary),
            confusion.accuracy(),
            per_class.join(", "),
            (0..3).map(|t| confusion.counts[t][2]).sum::<usize>()
        );
        for e in errors {
            println!("{e}");
        }
    }
}
