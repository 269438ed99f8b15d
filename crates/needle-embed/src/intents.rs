//! Custom intents defined by a few example sentences each: vectors in, intents out.
//!
//! Each intent is the normalised mean (centroid) of its examples' vectors. A text has every
//! intent whose centroid is at least [`DEFAULT_THRESHOLD`] similar to it — several, or none:
//! "none" is an answer, never a forced guess. Each match names the example that is most
//! like the text, which explains it the way relevance scores are explained.

use crate::EmbedError;
use crate::vector::{dot, normalize};

/// Cosine similarity to a centroid from which an intent applies. all-MiniLM-L6-v2 puts
/// paraphrases at about 0.6–0.9 and unrelated sentences below 0.3.
pub const DEFAULT_THRESHOLD: f32 = 0.45;

/// One example sentence of an intent, with its vector.
#[derive(Debug, Clone, PartialEq)]
pub struct IntentExample {
    pub intent: String,
    pub text: String,
    pub vector: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq)]
struct Intent {
    name: String,
    centroid: Vec<f32>,
    examples: Vec<(String, Vec<f32>)>,
}

/// An intent a text has.
#[derive(Debug, Clone, PartialEq)]
pub struct IntentMatch {
    pub intent: String,
    /// Cosine similarity to the intent's centroid.
    pub similarity: f32,
    /// The intent's example most like the text, and how alike.
    pub closest_example: String,
    pub closest_similarity: f32,
}

/// A workspace's custom intents.
#[derive(Debug, Clone, PartialEq)]
pub struct Intents {
    intents: Vec<Intent>,
    threshold: f32,
    dimension: usize,
}

impl Intents {
    /// Builds the intents from their examples (grouped by name, in first-seen order).
    pub fn new(examples: Vec<IntentExample>, threshold: f32) -> Result<Intents, EmbedError> {
        let dimension = examples.first().map_or(0, |e| e.vector.len());
        if dimension == 0 {
            return Err(EmbedError::Input(
                "no intent examples: give each intent at least one example sentence".into(),
            ));
        }
        if !(0.0..=1.0).contains(&threshold) {
            return Err(EmbedError::Input(format!(
                "threshold {threshold} is outside 0..=1"
            )));
        }
        let mut intents: Vec<Intent> = Vec::new();
        for example in examples {
            if example.intent.trim().is_empty() {
                return Err(EmbedError::Input(format!(
                    "example {:?} has no intent name",
                    example.text
                )));
            }
            if example.vector.len() != dimension || example.vector.iter().any(|x| !x.is_finite()) {
                return Err(EmbedError::Input(format!(
                    "example {:?} of intent {} has a vector of {} dimensions or not finite, the others {dimension}",
                    example.text,
                    example.intent,
                    example.vector.len()
                )));
            }
            let index = match intents.iter().position(|i| i.name == example.intent) {
                Some(index) => index,
                None => {
                    intents.push(Intent {
                        name: example.intent.clone(),
                        centroid: vec![0.0; dimension],
                        examples: Vec::new(),
                    });
                    intents.len() - 1
                }
            };
            let intent = &mut intents[index];
            intent
                .centroid
                .iter_mut()
                .zip(&example.vector)
                .for_each(|(c, x)| *c += x);
            intent.examples.push((example.text, example.vector));
        }
        for intent in &mut intents {
            normalize(&mut intent.centroid);
        }
        Ok(Intents {
            intents,
            threshold,
            dimension,
        })
    }

    /// The intents a unit vector has, most similar first; empty means "none".
    pub fn classify(&self, vector: &[f32]) -> Result<Vec<IntentMatch>, EmbedError> {
        if vector.len() != self.dimension {
            return Err(EmbedError::Input(format!(
                "the vector has {} dimensions, the intents {}",
                vector.len(),
                self.dimension
            )));
        }
        let mut matches: Vec<IntentMatch> = self
            .intents
            .iter()
            .filter_map(|intent| {
                let similarity = dot(&intent.centroid, vector);
                if similarity < self.threshold {
                    return None;
                }
                let (text, closest) = intent
                    .examples
                    .iter()
                    .map(|(text, v)| (text, dot(v, vector)))
                    .max_by(|a, b| a.1.total_cmp(&b.1))?;
                Some(IntentMatch {
                    intent: intent.name.clone(),
                    similarity,
                    closest_example: text.clone(),
                    closest_similarity: closest,
                })
            })
            .collect();
        matches.sort_by(|a, b| b.similarity.total_cmp(&a.similarity));
        Ok(matches)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.intents.iter().map(|i| i.name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axis(i: usize, tilt: f32) -> Vec<f32> {
        let mut v = vec![0.0; 4];
        v[i] = 1.0;
        v[3] = tilt;
        normalize(&mut v);
        v
    }

    fn ex(intent: &str, text: &str, vector: Vec<f32>) -> IntentExample {
        IntentExample {
            intent: intent.into(),
            text: text.into(),
            vector,
        }
    }

    #[test]
    fn nearest_centroids_above_the_threshold_and_none_otherwise() {
        let intents = Intents::new(
            vec![
                ex("refund", "give me my money back", axis(0, 0.1)),
                ex("refund", "I want a refund", axis(0, 0.3)),
                ex("delivery", "where is my parcel", axis(1, 0.2)),
            ],
            0.6,
        )
        .unwrap();
        assert_eq!(intents.names().collect::<Vec<_>>(), ["refund", "delivery"]);
        let refund = intents.classify(&axis(0, 0.25)).unwrap();
        assert_eq!(refund.len(), 1);
        assert_eq!(refund[0].intent, "refund");
        assert_eq!(refund[0].closest_example, "I want a refund");
        // Unlike every example: no intent at all.
        assert!(intents.classify(&axis(2, 0.0)).unwrap().is_empty());
        // Between two intents: both, most similar first.
        let mut both = vec![0.7, 0.6, 0.0, 0.2];
        normalize(&mut both);
        let found = intents.classify(&both).unwrap();
        assert_eq!(
            found.iter().map(|m| m.intent.as_str()).collect::<Vec<_>>(),
            ["refund", "delivery"]
        );
    }

    #[test]
    fn bad_definitions_are_refused_with_a_reason() {
        assert!(
            Intents::new(vec![], 0.5)
                .unwrap_err()
                .to_string()
                .contains("no intent examples")
        );
        let err = Intents::new(vec![ex(" ", "x", axis(0, 0.0))], 0.5).unwrap_err();
        assert!(err.to_string().contains("no intent name"), "{err}");
        let err = Intents::new(
            vec![ex("a", "x", axis(0, 0.0)), ex("b", "y", vec![1.0])],
            0.5,
        )
        .unwrap_err();
        assert!(err.to_string().contains("\"y\" of intent b"), "{err}");
        assert!(Intents::new(vec![ex("a", "x", axis(0, 0.0))], 1.5).is_err());
    }
}
