//! Relevance learned from an agent's labels: vectors in, scores out.
//!
//! A topic's keyword query finds candidates; agents mark some of them relevant or not, and
//! this module learns from those marks which side a new message is on. With only a few
//! labels of either side it votes among the nearest labelled examples (k nearest neighbours,
//! weighted by similarity); from [`MIN_PER_CLASS`] labels of each side on it fits a logistic
//! regression on the embeddings. Retraining starts from the previous weights, so adding a
//! label costs a few dozen gradient steps. Every score comes with its explanation: the
//! nearest labelled examples and how similar each is.

use crate::EmbedError;
use crate::vector::dot;

/// Labels of each side from which logistic regression replaces the neighbour vote.
pub const MIN_PER_CLASS: usize = 4;
/// Neighbours that vote, and that explain a score.
pub const NEIGHBOURS: usize = 5;
/// Examples listed as a score's explanation.
pub const EXPLAIN: usize = 3;
/// How sharply the vote favours the nearest neighbours (softmax temperature on cosine).
const VOTE_TEMPERATURE: f32 = 0.05;
/// L2 penalty of the logistic regression.
const L2: f32 = 1e-3;
/// Gradient-descent step; inputs are unit vectors, so a large step is stable.
const STEP: f32 = 2.0;
const MAX_ITERATIONS: usize = 2000;
/// Training stops when no weight's gradient is larger than this.
const TOLERANCE: f32 = 1e-4;

/// A labelled message: its id (for the explanation), text, unit vector and label.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub id: String,
    pub text: String,
    pub vector: Vec<f32>,
    pub relevant: bool,
}

/// How a score was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Similarity-weighted vote of the nearest labelled examples.
    Neighbours,
    /// Logistic regression on the embeddings.
    Logistic,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Neighbours => "neighbours",
            Method::Logistic => "logistic",
        }
    }
}

/// A labelled example near the scored text.
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbour {
    pub id: String,
    pub text: String,
    pub relevant: bool,
    /// Cosine similarity to the scored text.
    pub similarity: f32,
}

/// A score and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// Probability-like, in [0, 1]: above 0.5 is relevant.
    pub score: f32,
    pub relevant: bool,
    pub method: Method,
    /// The nearest labelled examples, most similar first.
    pub nearest: Vec<Neighbour>,
}

#[derive(Debug, Clone, PartialEq)]
struct Logistic {
    weights: Vec<f32>,
    bias: f32,
    /// Gradient steps the last training took (how much a warm start saved).
    iterations: usize,
}

/// A trained relevance model of one topic.
#[derive(Debug, Clone, PartialEq)]
pub struct Relevance {
    examples: Vec<Example>,
    dimension: usize,
    logistic: Option<Logistic>,
}

impl Relevance {
    /// Learns from labelled examples: at least one relevant and one irrelevant, all of one
    /// dimension, no NaN.
    pub fn train(examples: Vec<Example>) -> Result<Relevance, EmbedError> {
        Relevance::fit(examples, None)
    }

    /// Learns again after labels changed, starting from this model's weights.
    pub fn retrain(&self, examples: Vec<Example>) -> Result<Relevance, EmbedError> {
        Relevance::fit(examples, self.logistic.as_ref())
    }

    fn fit(examples: Vec<Example>, warm: Option<&Logistic>) -> Result<Relevance, EmbedError> {
        let dimension = check_examples(&examples)?;
        let relevant = examples.iter().filter(|e| e.relevant).count();
        let irrelevant = examples.len() - relevant;
        let logistic = (relevant >= MIN_PER_CLASS && irrelevant >= MIN_PER_CLASS).then(|| {
            let start = warm.filter(|w| w.weights.len() == dimension);
            fit_logistic(&examples, dimension, start)
        });
        Ok(Relevance {
            examples,
            dimension,
            logistic,
        })
    }

    pub fn method(&self) -> Method {
        if self.logistic.is_some() {
            Method::Logistic
        } else {
            Method::Neighbours
        }
    }

    pub fn examples(&self) -> &[Example] {
        &self.examples
    }

    pub fn dimension(&self) -> usize {
        self.dimension
    }

    /// Gradient steps the logistic regression took in its last training (0 for the vote).
    pub fn iterations(&self) -> usize {
        self.logistic.as_ref().map_or(0, |l| l.iterations)
    }

    /// Scores a unit vector of the model's dimension.
    pub fn score(&self, vector: &[f32]) -> Result<Score, EmbedError> {
        if vector.len() != self.dimension {
            return Err(EmbedError::Input(format!(
                "the vector has {} dimensions, the labels {}",
                vector.len(),
                self.dimension
            )));
        }
        let mut ranked: Vec<(f32, &Example)> = self
            .examples
            .iter()
            .map(|e| (dot(&e.vector, vector), e))
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        let score = match &self.logistic {
            Some(model) => sigmoid(dot(&model.weights, vector) + model.bias),
            None => vote(&ranked[..ranked.len().min(NEIGHBOURS)]),
        };
        let nearest = ranked
            .iter()
            .take(EXPLAIN)
            .map(|(similarity, e)| Neighbour {
                id: e.id.clone(),
                text: e.text.clone(),
                relevant: e.relevant,
                similarity: *similarity,
            })
            .collect();
        Ok(Score {
            score,
            relevant: score > 0.5,
            method: self.method(),
            nearest,
        })
    }
}

fn check_examples(examples: &[Example]) -> Result<usize, EmbedError> {
    let Some(first) = examples.first() else {
        return Err(EmbedError::Input(
            "no labels yet: label at least one relevant and one irrelevant message".into(),
        ));
    };
    let dimension = first.vector.len();
    if dimension == 0 {
        return Err(EmbedError::Input("label vectors are empty".into()));
    }
    for e in examples {
        if e.vector.len() != dimension {
            return Err(EmbedError::Input(format!(
                "label {} has {} dimensions, the first label {dimension}",
                e.id,
                e.vector.len()
            )));
        }
        if e.vector.iter().any(|x| !x.is_finite()) {
            return Err(EmbedError::Input(format!(
                "label {} has a vector that is not finite",
                e.id
            )));
        }
    }
    let relevant = examples.iter().filter(|e| e.relevant).count();
    if relevant == 0 || relevant == examples.len() {
        let missing = if relevant == 0 {
            "relevant"
        } else {
            "irrelevant"
        };
        return Err(EmbedError::Input(format!(
            "all {} labels say the same; label at least one {missing} message",
            examples.len()
        )));
    }
    Ok(dimension)
}

/// Share of relevant among the neighbours, each weighted by exp(similarity / T).
fn vote(neighbours: &[(f32, &Example)]) -> f32 {
    let top = neighbours.first().map_or(0.0, |n| n.0);
    let (mut yes, mut all) = (0.0f32, 0.0f32);
    for (similarity, example) in neighbours {
        let weight = ((similarity - top) / VOTE_TEMPERATURE).exp();
        all += weight;
        if example.relevant {
            yes += weight;
        }
    }
    if all == 0.0 { 0.5 } else { yes / all }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Full-batch gradient descent on the class-balanced log loss with an L2 penalty.
fn fit_logistic(examples: &[Example], dimension: usize, start: Option<&Logistic>) -> Logistic {
    let relevant = examples.iter().filter(|e| e.relevant).count() as f32;
    let irrelevant = examples.len() as f32 - relevant;
    // Each side weighs as much as the other, whatever the agents labelled more of.
    let weight_of = |e: &Example| {
        if e.relevant {
            0.5 / relevant
        } else {
            0.5 / irrelevant
        }
    };
    let (mut weights, mut bias) = match start {
        Some(s) => (s.weights.clone(), s.bias),
        None => (vec![0.0; dimension], 0.0),
    };
    let mut gradient = vec![0.0f32; dimension];
    let mut iterations = 0;
    while iterations < MAX_ITERATIONS {
        iterations += 1;
        gradient
            .iter_mut()
            .zip(&weights)
            .for_each(|(g, w)| *g = L2 * w);
        let mut bias_gradient = 0.0;
        for e in examples {
            let target = if e.relevant { 1.0 } else { 0.0 };
            let error = (sigmoid(dot(&weights, &e.vector) + bias) - target) * weight_of(e);
            bias_gradient += error;
            gradient
                .iter_mut()
                .zip(&e.vector)
                .for_each(|(g, x)| *g += error * x);
        }
        let largest = gradient
            .iter()
            .fold(bias_gradient.abs(), |m, g| m.max(g.abs()));
        if largest < TOLERANCE {
            break;
        }
        weights
            .iter_mut()
            .zip(&gradient)
            .for_each(|(w, g)| *w -= STEP * g);
        bias -= STEP * bias_gradient;
    }
    Logistic {
        weights,
        bias,
        iterations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vector::normalize;

    /// A unit vector pointing mostly along axis `axis` of 8, nudged by `jitter`.
    fn unit(axis: usize, jitter: f32, seed: usize) -> Vec<f32> {
        let mut v: Vec<f32> = (0..8)
            .map(|i| {
                let noise = (((seed * 31 + i * 17) % 13) as f32 / 13.0 - 0.5) * jitter;
                if i == axis { 1.0 + noise } else { noise }
            })
            .collect();
        normalize(&mut v);
        v
    }

    fn example(id: &str, axis: usize, seed: usize, relevant: bool) -> Example {
        Example {
            id: id.into(),
            text: format!("text {id}"),
            vector: unit(axis, 0.3, seed),
            relevant,
        }
    }

    #[test]
    fn few_labels_vote_among_neighbours_and_explain_by_them() {
        let model =
            Relevance::train(vec![example("yes", 0, 1, true), example("no", 1, 2, false)]).unwrap();
        assert_eq!(model.method(), Method::Neighbours);
        let near_yes = model.score(&unit(0, 0.3, 7)).unwrap();
        assert!(near_yes.relevant && near_yes.score > 0.9, "{near_yes:?}");
        assert_eq!(near_yes.nearest[0].id, "yes");
        assert!(near_yes.nearest[0].similarity > near_yes.nearest[1].similarity);
        let near_no = model.score(&unit(1, 0.3, 8)).unwrap();
        assert!(!near_no.relevant && near_no.score < 0.1, "{near_no:?}");
        assert_eq!(near_no.nearest[0].id, "no");
    }

    #[test]
    fn enough_labels_of_each_side_fit_a_logistic_regression() {
        // Relevant texts lie along axes 0 and 2, irrelevant ones along 1 and 3.
        let mut examples = Vec::new();
        for seed in 0..4 {
            examples.push(example(&format!("r{seed}"), 2 * (seed % 2), seed, true));
            examples.push(example(
                &format!("i{seed}"),
                1 + 2 * (seed % 2),
                seed + 9,
                false,
            ));
        }
        let model = Relevance::train(examples).unwrap();
        assert_eq!(model.method(), Method::Logistic);
        for seed in 20..26 {
            let relevant = model.score(&unit(2 * (seed % 2), 0.3, seed)).unwrap();
            assert!(relevant.relevant, "{relevant:?}");
            let irrelevant = model.score(&unit(1 + 2 * (seed % 2), 0.3, seed)).unwrap();
            assert!(!irrelevant.relevant, "{irrelevant:?}");
        }
        assert_eq!(
            model.score(&unit(0, 0.0, 0)).unwrap().nearest.len(),
            EXPLAIN
        );
    }

    #[test]
    fn retraining_from_the_last_weights_takes_fewer_steps() {
        let mut examples = Vec::new();
        for seed in 0..5 {
            examples.push(example(&format!("r{seed}"), 0, seed, true));
            examples.push(example(&format!("i{seed}"), 1, seed + 5, false));
        }
        let first = Relevance::train(examples.clone()).unwrap();
        examples.push(example("r-new", 0, 40, true));
        let cold = Relevance::train(examples.clone()).unwrap();
        let warm = first.retrain(examples).unwrap();
        assert!(
            warm.iterations() < cold.iterations(),
            "warm {} cold {}",
            warm.iterations(),
            cold.iterations()
        );
        let probe = unit(0, 0.3, 77);
        let (a, b) = (cold.score(&probe).unwrap(), warm.score(&probe).unwrap());
        assert_eq!(a.relevant, b.relevant);
        assert!((a.score - b.score).abs() < 0.05, "{a:?} {b:?}");
    }

    #[test]
    fn a_lopsided_label_set_says_which_side_is_missing() {
        let err =
            Relevance::train(vec![example("a", 0, 1, true), example("b", 0, 2, true)]).unwrap_err();
        assert!(
            err.to_string().contains("label at least one irrelevant"),
            "{err}"
        );
        let err = Relevance::train(vec![]).unwrap_err();
        assert!(err.to_string().contains("no labels yet"), "{err}");
    }

    #[test]
    fn bad_vectors_are_refused_with_the_label_named() {
        let mut short = example("short", 1, 2, false);
        short.vector.truncate(3);
        let err = Relevance::train(vec![example("a", 0, 1, true), short]).unwrap_err();
        assert!(
            err.to_string().contains("label short has 3 dimensions"),
            "{err}"
        );
        let mut nan = example("nan", 1, 2, false);
        nan.vector[0] = f32::NAN;
        let err = Relevance::train(vec![example("a", 0, 1, true), nan]).unwrap_err();
        assert!(err.to_string().contains("label nan"), "{err}");
        let model =
            Relevance::train(vec![example("a", 0, 1, true), example("b", 1, 2, false)]).unwrap();
        assert!(model.score(&[1.0, 0.0]).is_err());
    }
}
