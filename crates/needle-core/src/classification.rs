//! What Needle concluded about a message: its language, sentiment, intents and entities.
//!
//! The JSON shape is the `needle classify` contract (shared/specs/cli.md). Fields a later
//! tier adds (the model tier's relevance scores, which tier produced the result) are optional
//! and skipped when absent, so older readers and stored rows keep parsing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Language code for "not sure": never a confident wrong guess.
pub const UNDETERMINED: &str = "und";

/// VADER's thresholds on the compound score: at or beyond ±0.05 the text leans.
pub const SENTIMENT_THRESHOLD: f64 = 0.05;

/// The built-in intents of the rule tier. Intents are strings so that workspace-defined
/// intents (the model tier's example-based ones) share the same list.
pub mod intent {
    pub const COMPLAINT: &str = "complaint";
    pub const QUESTION: &str = "question";
    pub const PURCHASE_INTENT: &str = "purchase_intent";
    pub const PRAISE: &str = "praise";
    pub const CHURN_RISK: &str = "churn_risk";
    pub const CRISIS: &str = "crisis";
    pub const SPAM: &str = "spam";
    pub const ALL: [&str; 7] = [
        COMPLAINT,
        QUESTION,
        PURCHASE_INTENT,
        PRAISE,
        CHURN_RISK,
        CRISIS,
        SPAM,
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SentimentLabel {
    Positive,
    Negative,
    Neutral,
}

impl SentimentLabel {
    pub fn as_str(self) -> &'static str {
        match self {
            SentimentLabel::Positive => "positive",
            SentimentLabel::Negative => "negative",
            SentimentLabel::Neutral => "neutral",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "positive" => Some(SentimentLabel::Positive),
            "negative" => Some(SentimentLabel::Negative),
            "neutral" => Some(SentimentLabel::Neutral),
            _ => None,
        }
    }

    /// The label VADER gives a compound score.
    pub fn from_score(score: f64) -> Self {
        if score >= SENTIMENT_THRESHOLD {
            SentimentLabel::Positive
        } else if score <= -SENTIMENT_THRESHOLD {
            SentimentLabel::Negative
        } else {
            SentimentLabel::Neutral
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sentiment {
    pub label: SentimentLabel,
    /// In [-1, 1]; negative is unhappy.
    pub score: f64,
}

impl Sentiment {
    pub fn from_score(score: f64) -> Self {
        let score = score.clamp(-1.0, 1.0);
        Sentiment {
            label: SentimentLabel::from_score(score),
            score,
        }
    }

    pub fn neutral() -> Self {
        Sentiment {
            label: SentimentLabel::Neutral,
            score: 0.0,
        }
    }
}

/// Something named in the text, with its byte span: `text[start..end] == self.text`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entity {
    /// `brand`, `product`, `competitor`, `order_number`, `serial_number`, `email`, `phone`,
    /// `url`, `money` or `date`.
    pub kind: String,
    pub text: String,
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    /// ISO 639-1, or `und`.
    pub lang: String,
    pub sentiment: Sentiment,
    /// Several, one or none; never a forced guess.
    #[serde(default)]
    pub intents: Vec<String>,
    #[serde(default)]
    pub entities: Vec<Entity>,
    /// Set when only a prefix of a very long text was classified; the prefix length in
    /// bytes. Entity spans all fall inside it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncated_at: Option<usize>,
    /// Which tier produced this (`fast`, or a model tier's name); absent means `fast`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// Relevance per topic, filled by the model tier when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relevance: Option<BTreeMap<String, f64>>,
}

impl Classification {
    pub fn has_intent(&self, name: &str) -> bool {
        self.intents.iter().any(|i| i == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_the_contract_prints_it() {
        let c = Classification {
            lang: "en".into(),
            sentiment: Sentiment::from_score(-0.62),
            intents: vec![intent::COMPLAINT.into()],
            entities: vec![Entity {
                kind: "product".into(),
                text: "Office".into(),
                start: 16,
                end: 22,
            }],
            truncated_at: None,
            tier: None,
            relevance: None,
        };
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(
            json,
            r#"{"lang":"en","sentiment":{"label":"negative","score":-0.62},"intents":["complaint"],"entities":[{"kind":"product","text":"Office","start":16,"end":22}]}"#
        );
        let back: Classification = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn labels_follow_vader_thresholds() {
        assert_eq!(SentimentLabel::from_score(0.05), SentimentLabel::Positive);
        assert_eq!(SentimentLabel::from_score(0.0499), SentimentLabel::Neutral);
        assert_eq!(SentimentLabel::from_score(-0.05), SentimentLabel::Negative);
        assert_eq!(Sentiment::from_score(3.0).score, 1.0);
    }

    #[test]
    fn later_tiers_add_fields_without_breaking_old_readers() {
        let json = r#"{"lang":"de","sentiment":{"label":"positive","score":0.5},"tier":"model","relevance":{"office":0.9}}"#;
        let c: Classification = serde_json::from_str(json).unwrap();
        assert!(c.intents.is_empty());
        assert_eq!(c.relevance.unwrap()["office"], 0.9);
    }
}
