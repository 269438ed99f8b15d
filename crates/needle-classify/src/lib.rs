//! The fast classification tier: everything Needle can say about a message without a model
//! file, in microseconds, on one core.
//!
//! - language: script rules plus whatlang, or fastText's `lid.176` when it was fetched,
//!   `und` when unsure ([`language`]);
//! - sentiment: VADER, ported from the Python reference ([`vader`]);
//! - intents: cue phrases with guards against near misses ([`intents`]);
//! - entities: workspace dictionaries and patterns with byte spans ([`entities`]).
//!
//! [`labelled`] reads the real labelled sentiment data both tiers are scored on.
//!
//! Pure: no disk, no clock. Texts longer than [`MAX_CLASSIFY_BYTES`] are classified on a
//! prefix, and the result says where it stopped.
//!
//! [`SentimentModel`] is the seam to the model tier: the crate that owns models
//! (`needle-embed`) implements it, and the pipeline's cascade and `needle classify` call it
//! without knowing what is behind it.

pub mod dictionary;
pub mod entities;
pub mod intents;
pub mod labelled;
pub mod language;
pub mod vader;

use std::sync::Arc;

use needle_core::{Classification, Sentiment};

pub use dictionary::{Dictionary, DictionaryError};

/// The longest prefix classified. Sentiment, intents and entities of a support message are
/// in its first pages; a megabyte of pasted logs would only cost time.
pub const MAX_CLASSIFY_BYTES: usize = 16 * 1024;

/// The fast tier, with a workspace's dictionary compiled in. Cheap to share across threads.
#[derive(Debug, Clone)]
pub struct Classifier {
    dictionary: entities::DictionaryMatcher,
    language_model: Option<Arc<language::fasttext::Model>>,
}

impl Default for Classifier {
    fn default() -> Self {
        Classifier::new(&Dictionary::default())
    }
}

impl Classifier {
    pub fn new(dictionary: &Dictionary) -> Self {
        Classifier {
            dictionary: entities::DictionaryMatcher::new(dictionary),
            language_model: None,
        }
    }

    /// Identifies languages with fastText's model instead of whatlang.
    pub fn with_language_model(mut self, model: Arc<language::fasttext::Model>) -> Self {
        self.language_model = Some(model);
        self
    }

    pub fn classify(&self, text: &str) -> Classification {
        let classified = prefix(text, MAX_CLASSIFY_BYTES);
        let score = vader::compound(classified);
        let mut entities = Vec::new();
        self.dictionary.find(classified, &mut entities);
        entities::find_patterns(classified, &mut entities);
        entities.sort_by_key(|e| (e.start, e.end));
        Classification {
            lang: language::detect_with(classified, self.language_model.as_deref()).to_string(),
            sentiment: Sentiment::from_score(score),
            intents: intents::detect(classified, score),
            entities,
            truncated_at: (classified.len() < text.len()).then_some(classified.len()),
            tier: None,
            relevance: None,
        }
    }
}

/// What [`Classification::tier`] says when the model tier gave the sentiment.
pub const MODEL_TIER: &str = "model";

/// Why the model tier could not answer (a model that failed to run, not bad input).
pub type ModelError = Box<dyn std::error::Error + Send + Sync>;

/// Sentiment from a model: slower than the lexicon, better on what it was trained on.
pub trait SentimentModel: Send + Sync {
    /// One sentiment per text, in order. Texts are the bounded prefixes the fast tier read.
    fn sentiments(&self, texts: &[&str]) -> Result<Vec<Sentiment>, ModelError>;
}

/// Puts the model tier's sentiment into a fast-tier classification and says so.
pub fn apply_model_sentiment(classification: &mut Classification, sentiment: Sentiment) {
    classification.sentiment = sentiment;
    classification.tier = Some(MODEL_TIER.to_string());
}

/// At most `max` bytes of `text`, cut at a character boundary and, when one is near, at the
/// last whitespace so no word is cut in half.
pub fn prefix(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let cut = &text[..end];
    match cut.rfind(char::is_whitespace) {
        Some(space) if space >= end.saturating_sub(64) => &cut[..space],
        _ => cut,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_contract_example() {
        let dictionary = Dictionary::new([("product", vec!["Office"])]).unwrap();
        let c = Classifier::new(&dictionary)
            .classify("I can't uninstall Office, this is terrible and nobody helps");
        assert_eq!(c.lang, "en");
        assert_eq!(c.sentiment.label, needle_core::SentimentLabel::Negative);
        assert!(c.has_intent("complaint"), "{:?}", c.intents);
        assert_eq!(c.entities.len(), 1);
        assert_eq!((c.entities[0].start, c.entities[0].end), (18, 24));
    }

    #[test]
    fn bad_input_gives_an_answer_not_a_panic() {
        let classifier = Classifier::default();
        let empty = classifier.classify("");
        assert_eq!((empty.lang.as_str(), empty.sentiment.score), ("und", 0.0));
        assert!(empty.intents.is_empty() && empty.entities.is_empty());

        let emoji = classifier.classify("😍😍😍");
        assert_eq!(emoji.lang, "und");
        assert_eq!(emoji.sentiment.label, needle_core::SentimentLabel::Positive);

        let html = classifier
            .classify("<script>alert('x')</script><img src=x onerror=alert(1)> this is awful");
        assert_eq!(html.sentiment.label, needle_core::SentimentLabel::Negative);
        let json = serde_json::to_string(&html).unwrap();
        assert_eq!(serde_json::from_str::<Classification>(&json).unwrap(), html);

        let mixed = classifier.classify("Обожаю this phone, 最高");
        assert!(mixed.sentiment.score.is_finite());
    }

    #[test]
    fn huge_text_is_classified_on_a_bounded_prefix() {
        let mut text = "The support was terrible. ".repeat(50_000);
        text.push_str("kim@example.com");
        assert!(text.len() > 1024 * 1024);
        let c = Classifier::default().classify(&text);
        let at = c.truncated_at.expect("marked truncated");
        assert!(at <= MAX_CLASSIFY_BYTES && text.is_char_boundary(at));
        assert_eq!(c.sentiment.label, needle_core::SentimentLabel::Negative);
        // The address after the cut is not seen, and no span points past it.
        assert!(c.entities.iter().all(|e| e.end <= at));
    }

    #[test]
    fn prefix_cuts_on_character_and_word_boundaries() {
        assert_eq!(prefix("héllo wörld", 100), "héllo wörld");
        assert_eq!(prefix("héllo wörld", 9), "héllo");
        let long_word = "é".repeat(100);
        let cut = prefix(&long_word, 11);
        assert_eq!(cut.len(), 10);
    }
}
