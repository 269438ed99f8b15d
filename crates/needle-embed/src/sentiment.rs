//! The model tier's sentiment: a softmax regression head on a sentence's embedding and the
//! lexicon tier's score of it, trained on the user's machine from real labelled data
//! (`needle models train sentiment`), never shipped. The lexicon's score goes in as two
//! inputs (the score and its size): it knows intensifiers, negation and the rated words
//! that a small embedding blurs, and the head learns how far to trust it (measured: about
//! +1.5 macro-F1 points over the embedding alone). Out come a label and a score,
//! P(positive) − P(negative), in [-1, 1] like the lexicon tier's.
//!
//! Training is full-batch gradient descent on the cross-entropy with L2, classes weighted
//! (the sets hold far fewer neutral rows, and macro-F1 weighs every class the same). How
//! much to weigh them and how much L2 to use is chosen on a validation split
//! ([`Training::candidates`]). A few thousand 384-dimensional vectors train in seconds.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use needle_classify::{ModelError, SentimentModel};
use needle_core::{Sentiment, SentimentLabel};
use serde::{Deserialize, Serialize};

use crate::{EmbedError, Embedder};

/// The file a trained head is kept in, inside the models directory.
pub const HEAD_FILE: &str = "sentiment-head.json";
/// What trains one.
pub const TRAIN_COMMAND: &str = "needle models train sentiment";
/// Bumped when the file's meaning changes; older files are refused with the fix.
const FORMAT: u32 = 1;

/// The labels in the order of the head's rows.
const CLASSES: [SentimentLabel; 3] = [
    SentimentLabel::Positive,
    SentimentLabel::Negative,
    SentimentLabel::Neutral,
];

/// One labelled sentence, as the head sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct SentimentExample {
    /// Its embedding.
    pub vector: Vec<f32>,
    /// The lexicon tier's compound score of the same text, in [-1, 1].
    pub lexicon: f32,
    pub label: SentimentLabel,
}

/// The head's inputs: the embedding, the lexicon's score and the score's size (a linear
/// head cannot see "near zero" in the score alone, and that is what neutral looks like).
fn inputs(vector: &[f32], lexicon: f32) -> Vec<f32> {
    let mut x = Vec::with_capacity(vector.len() + LEXICON_INPUTS);
    x.extend_from_slice(vector);
    x.extend([lexicon, lexicon.abs()]);
    x
}

const LEXICON_INPUTS: usize = 2;

/// How much each class's examples weigh in training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassWeights {
    /// Every example the same: rare classes are guessed less often.
    Equal,
    /// By the inverse square root of the class's size: halfway.
    SquareRoot,
    /// By the inverse of the class's size: each class weighs the same in total.
    Inverse,
}

impl ClassWeights {
    /// The weight of one example of each class, given how many examples each has; classes
    /// without examples weigh nothing, and the weights average to 1 over the examples.
    pub fn of(self, per_class: &[usize; 3]) -> [f32; 3] {
        let raw = per_class.map(|n| match (self, n) {
            (_, 0) => 0.0,
            (ClassWeights::Equal, _) => 1.0,
            (ClassWeights::SquareRoot, n) => 1.0 / (n as f32).sqrt(),
            (ClassWeights::Inverse, n) => 1.0 / n as f32,
        });
        let total: usize = per_class.iter().sum();
        let mass: f32 = raw.iter().zip(per_class).map(|(w, &n)| w * n as f32).sum();
        if mass == 0.0 {
            return raw;
        }
        raw.map(|w| w * total as f32 / mass)
    }
}

/// How a head is trained.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Training {
    pub iterations: usize,
    pub step: f32,
    /// L2 penalty on the weights (not the biases).
    pub l2: f32,
    pub class_weights: ClassWeights,
}

impl Default for Training {
    fn default() -> Self {
        Training {
            iterations: 600,
            step: 4.0,
            l2: 1e-4,
            class_weights: ClassWeights::Inverse,
        }
    }
}

impl Training {
    /// The ways of training that `needle models train` tries on the validation split, the
    /// default first: every class weighting with three strengths of L2.
    pub fn candidates() -> Vec<Training> {
        let default = Training::default();
        let mut all = vec![default];
        for class_weights in [
            ClassWeights::Inverse,
            ClassWeights::SquareRoot,
            ClassWeights::Equal,
        ] {
            for l2 in [0.0, 1e-4, 1e-3] {
                let candidate = Training {
                    l2,
                    class_weights,
                    ..default
                };
                if candidate != default {
                    all.push(candidate);
                }
            }
        }
        all
    }
}

/// A trained head, as kept on disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentimentHead {
    format: u32,
    /// The embedding model whose vectors it reads (`all-MiniLM-L6-v2`).
    pub model: String,
    /// One row of weights per label (positive, negative, neutral).
    weights: Vec<Vec<f32>>,
    bias: Vec<f32>,
    /// What it was trained on and how it scored on held-out data, for `needle models status`
    /// and the closing note; free-form JSON written by the training command.
    #[serde(default)]
    pub report: serde_json::Value,
}

impl SentimentHead {
    /// Trains a head; every example's vector must have the same length.
    pub fn train(
        model: &str,
        examples: &[SentimentExample],
        training: Training,
    ) -> Result<SentimentHead, EmbedError> {
        let dimension = examples.first().map(|e| e.vector.len()).unwrap_or(0);
        if dimension == 0 {
            return Err(EmbedError::Input(
                "no examples to train the sentiment head on".into(),
            ));
        }
        if let Some(i) = examples.iter().position(|e| e.vector.len() != dimension) {
            return Err(EmbedError::Input(format!(
                "example {i} has {} dimensions, the first has {dimension}",
                examples[i].vector.len()
            )));
        }
        let class = |label: SentimentLabel| CLASSES.iter().position(|c| *c == label).unwrap();
        let mut per_class = [0usize; 3];
        for e in examples {
            per_class[class(e.label)] += 1;
        }
        let rows: Vec<(Vec<f32>, usize)> = examples
            .iter()
            .map(|e| (inputs(&e.vector, e.lexicon), class(e.label)))
            .collect();
        let width = dimension + LEXICON_INPUTS;
        let present = per_class.iter().filter(|n| **n > 0).count();
        if present < 2 {
            return Err(EmbedError::Input(
                "the sentiment head needs examples of at least two labels".into(),
            ));
        }
        let n = examples.len() as f32;
        let class_weight = training.class_weights.of(&per_class);
        let mut weights = vec![vec![0.0f32; width]; 3];
        let mut bias = vec![0.0f32; 3];
        let mut grad_w = vec![vec![0.0f32; width]; 3];
        let mut probabilities = [0.0f32; 3];
        for _ in 0..training.iterations {
            for row in grad_w.iter_mut() {
                row.fill(0.0);
            }
            let mut grad_b = [0.0f32; 3];
            for (x, truth) in &rows {
                let truth = *truth;
                softmax(&weights, &bias, x, &mut probabilities);
                let w = class_weight[truth] / n;
                for k in 0..3 {
                    let error = w * (probabilities[k] - if k == truth { 1.0 } else { 0.0 });
                    grad_b[k] += error;
                    for (g, xi) in grad_w[k].iter_mut().zip(x) {
                        *g += error * xi;
                    }
                }
            }
            for k in 0..3 {
                for (w, g) in weights[k].iter_mut().zip(&grad_w[k]) {
                    *w -= training.step * (g + training.l2 * *w);
                }
                bias[k] -= training.step * grad_b[k];
            }
        }
        Ok(SentimentHead {
            format: FORMAT,
            model: model.to_string(),
            weights,
            bias,
            report: serde_json::Value::Null,
        })
    }

    /// Length of the embeddings it reads.
    pub fn dimension(&self) -> usize {
        self.weights
            .first()
            .map_or(0, |w| w.len().saturating_sub(LEXICON_INPUTS))
    }

    /// The label of the likeliest class and P(positive) − P(negative), from a text's
    /// embedding and its lexicon score.
    pub fn predict(
        &self,
        vector: &[f32],
        lexicon: f32,
    ) -> Result<(SentimentLabel, f32), EmbedError> {
        if vector.len() != self.dimension() {
            return Err(EmbedError::Input(format!(
                "a vector of {} dimensions for a head trained on {}",
                vector.len(),
                self.dimension()
            )));
        }
        let mut p = [0.0f32; 3];
        softmax(&self.weights, &self.bias, &inputs(vector, lexicon), &mut p);
        let best = (0..3)
            .max_by(|a, b| p[*a].total_cmp(&p[*b]))
            .expect("three classes");
        Ok((CLASSES[best], (p[0] - p[1]).clamp(-1.0, 1.0)))
    }

    /// Where the head lives in a models directory.
    pub fn path(models: &Path) -> PathBuf {
        models.join(HEAD_FILE)
    }

    pub fn save(&self, models: &Path) -> Result<PathBuf, EmbedError> {
        let path = SentimentHead::path(models);
        let io = |source| EmbedError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(models).map_err(io)?;
        let json = serde_json::to_vec(self).expect("a head serialises");
        // Written beside and renamed, so a reader never sees half a file.
        let partial = path.with_extension("json.partial");
        std::fs::write(&partial, json).map_err(io)?;
        std::fs::rename(&partial, &path).map_err(io)?;
        Ok(path)
    }

    /// The head in `models`, checked: `MissingFile` when none was trained, `Load` naming the
    /// file and the fix when it cannot be used.
    pub fn load(models: &Path) -> Result<SentimentHead, EmbedError> {
        let path = SentimentHead::path(models);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(EmbedError::MissingFile {
                    path,
                    fix: TRAIN_COMMAND.into(),
                });
            }
            Err(source) => return Err(EmbedError::Io { path, source }),
        };
        let unusable = |why: String| EmbedError::Load {
            model: path.display().to_string(),
            reason: format!("{why}; run `{TRAIN_COMMAND}` again"),
        };
        let head: SentimentHead =
            serde_json::from_slice(&bytes).map_err(|e| unusable(e.to_string()))?;
        if head.format != FORMAT {
            return Err(unusable(format!(
                "format {} (this Needle reads {FORMAT})",
                head.format
            )));
        }
        let dimension = head.dimension();
        let width = dimension + LEXICON_INPUTS;
        if dimension == 0
            || head.weights.len() != 3
            || head.bias.len() != 3
            || head.weights.iter().any(|row| row.len() != width)
            || head.weights.iter().flatten().any(|w| !w.is_finite())
        {
            return Err(unusable("its weights are malformed".into()));
        }
        Ok(head)
    }
}

/// The model tier's sentiment: an embedder and a head trained on its vectors.
pub struct ModelSentiment {
    embedder: Arc<dyn Embedder>,
    head: SentimentHead,
}

impl ModelSentiment {
    /// Pairs a head with the embedder it was trained on; a head trained on another model's
    /// vectors is refused, naming both and the fix.
    pub fn new(embedder: Arc<dyn Embedder>, head: SentimentHead) -> Result<Self, EmbedError> {
        if head.model != embedder.name() || head.dimension() != embedder.dimension() {
            return Err(EmbedError::Load {
                model: head.model.clone(),
                reason: format!(
                    "the sentiment head reads {} vectors of {} dimensions, the embedder is {} \
                     with {}; run `{TRAIN_COMMAND}` again",
                    head.model,
                    head.dimension(),
                    embedder.name(),
                    embedder.dimension()
                ),
            });
        }
        Ok(ModelSentiment { embedder, head })
    }
}

impl SentimentModel for ModelSentiment {
    fn sentiments(&self, texts: &[&str]) -> Result<Vec<Sentiment>, ModelError> {
        let vectors = self.embedder.embed(texts)?;
        vectors
            .iter()
            .zip(texts)
            .map(|(vector, text)| {
                let lexicon = needle_classify::vader::compound(text) as f32;
                let (label, score) = self.head.predict(vector, lexicon)?;
                Ok(Sentiment {
                    label,
                    score: f64::from(score),
                })
            })
            .collect()
    }
}

/// Class probabilities of `x` into `out`.
fn softmax(weights: &[Vec<f32>], bias: &[f32], x: &[f32], out: &mut [f32; 3]) {
    for k in 0..3 {
        out[k] = bias[k] + crate::dot(&weights[k], x);
    }
    let max = out.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in out.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in out.iter_mut() {
        *v /= sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SentimentLabel::{Negative, Neutral, Positive};

    /// A unit vector near `axis` of 16 (or anywhere, for `None`), with seeded noise.
    fn near(axis: Option<usize>, seed: u64) -> Vec<f32> {
        let mut rng = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut v: Vec<f32> = (0..16)
            .map(|_| {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                (rng % 1000) as f32 / 1000.0 - 0.5
            })
            .collect();
        if let Some(axis) = axis {
            v[axis] += 3.0;
        }
        crate::normalize(&mut v);
        v
    }

    fn example(vector: Vec<f32>, lexicon: f32, label: SentimentLabel) -> SentimentExample {
        SentimentExample {
            vector,
            lexicon,
            label,
        }
    }

    /// Three classes the embeddings tell apart; the lexicon says nothing.
    fn examples(range: std::ops::Range<u64>) -> Vec<SentimentExample> {
        range
            .flat_map(|i| {
                [
                    example(near(Some(0), i), 0.0, Positive),
                    example(near(Some(1), i + 1_000), 0.0, Negative),
                    example(near(Some(2), i + 2_000), 0.0, Neutral),
                ]
            })
            .collect()
    }

    #[test]
    fn learns_three_classes_and_scores_between_minus_one_and_one() {
        // Few neutral examples: class weights keep it from being drowned.
        let mut train = examples(0..60);
        let mut neutral_seen = 0;
        train.retain(|e| {
            e.label != Neutral || {
                neutral_seen += 1;
                neutral_seen <= 10
            }
        });
        let head = SentimentHead::train("test", &train, Training::default()).unwrap();
        assert_eq!(head.dimension(), 16);
        let held = examples(500..540);
        let right = held
            .iter()
            .filter(|e| head.predict(&e.vector, e.lexicon).unwrap().0 == e.label)
            .count();
        assert!(right >= held.len() * 95 / 100, "{right}/{}", held.len());
        let (label, score) = head.predict(&near(Some(0), 9_999), 0.0).unwrap();
        assert_eq!(label, Positive);
        assert!(score > 0.5 && score <= 1.0, "{score}");
        let (label, score) = head.predict(&near(Some(1), 9_999), 0.0).unwrap();
        assert_eq!(label, Negative);
        assert!((-1.0..-0.5).contains(&score), "{score}");
    }

    #[test]
    fn learns_to_trust_the_lexicon_where_the_embedding_says_nothing() {
        let train: Vec<SentimentExample> = (0..90)
            .map(|i| {
                let (lexicon, label) = [(0.8, Positive), (-0.8, Negative), (0.0, Neutral)][i % 3];
                example(near(None, i as u64), lexicon, label)
            })
            .collect();
        let head = SentimentHead::train("test", &train, Training::default()).unwrap();
        for (lexicon, want) in [(0.7, Positive), (-0.7, Negative), (0.05, Neutral)] {
            let (label, _) = head.predict(&near(None, 5_000), lexicon).unwrap();
            assert_eq!(label, want, "lexicon {lexicon}");
        }
    }

    #[test]
    fn class_weights_average_to_one_and_favour_rare_classes_as_asked() {
        let sizes = [100, 300, 0];
        for weights in [
            ClassWeights::Equal,
            ClassWeights::SquareRoot,
            ClassWeights::Inverse,
        ] {
            let w = weights.of(&sizes);
            let mean = (w[0] * 100.0 + w[1] * 300.0) / 400.0;
            assert!((mean - 1.0).abs() < 1e-5, "{weights:?} {w:?}");
            assert_eq!(w[2], 0.0);
        }
        assert_eq!(ClassWeights::Equal.of(&sizes)[0], 1.0);
        let sqrt = ClassWeights::SquareRoot.of(&sizes);
        assert!((sqrt[0] / sqrt[1] - 3f32.sqrt()).abs() < 1e-4);
        let inverse = ClassWeights::Inverse.of(&sizes);
        assert!((inverse[0] * 100.0 - inverse[1] * 300.0).abs() < 1e-3);
    }

    #[test]
    fn candidates_start_with_the_default_and_differ() {
        let all = Training::candidates();
        assert_eq!(all[0], Training::default());
        assert_eq!(all.len(), 9);
        for (i, a) in all.iter().enumerate() {
            assert!(all[i + 1..].iter().all(|b| b != a), "{a:?} twice");
        }
    }

    #[test]
    fn refuses_what_it_cannot_learn_from() {
        let t = Training::default();
        assert!(SentimentHead::train("m", &[], t).is_err());
        let one_label = vec![
            example(near(Some(0), 1), 0.0, Positive),
            example(near(Some(0), 2), 0.0, Positive),
        ];
        assert!(SentimentHead::train("m", &one_label, t).is_err());
        let ragged = vec![
            example(near(Some(0), 1), 0.0, Positive),
            example(vec![1.0, 0.0], 0.0, Negative),
        ];
        let e = SentimentHead::train("m", &ragged, t).unwrap_err();
        assert!(e.to_string().contains("example 1 has 2 dimensions"), "{e}");
        let head = SentimentHead::train("m", &examples(0..5), t).unwrap();
        assert!(head.predict(&[0.5; 3], 0.0).is_err());
    }

    /// Vectors near one axis for texts that say "good", another for "bad", a third otherwise.
    struct AxisEmbedder;

    impl Embedder for AxisEmbedder {
        fn name(&self) -> &str {
            "axis"
        }
        fn dimension(&self) -> usize {
            16
        }
        fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
            Ok(texts
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let axis = if t.contains("good") {
                        Some(0)
                    } else if t.contains("bad") {
                        Some(1)
                    } else {
                        Some(2)
                    };
                    near(axis, 7_000 + i as u64)
                })
                .collect())
        }
    }

    #[test]
    fn the_model_tier_reads_its_embedder_and_refuses_another_models_head() {
        let head = SentimentHead::train("axis", &examples(0..30), Training::default()).unwrap();
        let model = ModelSentiment::new(Arc::new(AxisEmbedder), head.clone()).unwrap();
        let got = model
            .sentiments(&["a good day", "a bad day", "a day"])
            .unwrap();
        let labels: Vec<SentimentLabel> = got.iter().map(|s| s.label).collect();
        assert_eq!(labels, [Positive, Negative, Neutral]);
        assert!(got[0].score > 0.5 && got[1].score < -0.5, "{got:?}");

        let mut other = head;
        other.model = "all-MiniLM-L6-v2".into();
        let e = ModelSentiment::new(Arc::new(AxisEmbedder), other)
            .err()
            .expect("refused")
            .to_string();
        assert!(
            e.contains("all-MiniLM-L6-v2") && e.contains(TRAIN_COMMAND),
            "{e}"
        );
    }

    #[test]
    fn saves_loads_and_names_the_fix_for_a_bad_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = SentimentHead::load(dir.path()).unwrap_err();
        assert!(matches!(missing, EmbedError::MissingFile { .. }));
        assert!(missing.to_string().contains(TRAIN_COMMAND), "{missing}");

        let mut head = SentimentHead::train("m", &examples(0..10), Training::default()).unwrap();
        head.report = serde_json::json!({"sets": []});
        let path = head.save(dir.path()).unwrap();
        assert_eq!(SentimentHead::load(dir.path()).unwrap(), head);

        for bad in [
            "not json".to_string(),
            r#"{"format": 99, "model": "m", "weights": [[1.0, 0, 0]], "bias": [0,0,0]}"#.into(),
            r#"{"format": 1, "model": "m", "weights": [[1.0, 0, 0], [1.0, 2.0], [1.0, 0, 0]], "bias": [0,0,0]}"#
                .into(),
        ] {
            std::fs::write(&path, bad).unwrap();
            let e = SentimentHead::load(dir.path()).unwrap_err().to_string();
            assert!(e.contains(HEAD_FILE) && e.contains(TRAIN_COMMAND), "{e}");
        }
    }
}
