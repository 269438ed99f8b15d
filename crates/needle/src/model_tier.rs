//! The model tier the pipeline runs: the sentiment model from a models directory, and the
//! cascade that picks which messages it sees (`--model-tier`, `--model-tier-channel`).

use std::path::Path;
use std::sync::Arc;

use needle_classify::SentimentModel;
use needle_embed::Embedder;
use needle_embed::sentiment::{HEAD_FILE, ModelSentiment, SentimentHead, TRAIN_COMMAND};
use needle_listen::Cascade;

use crate::cli::ModelTierArgs;

/// What a pipeline classifies with: the fast tier on every message (with fastText's
/// language model when it was fetched), the model tier on those its cascade picks.
pub struct Tiers {
    pub fast: needle_classify::Classifier,
    pub model: Option<ModelTier>,
}

/// A sentiment model and the messages it classifies.
#[derive(Clone)]
pub struct ModelTier {
    pub model: Arc<dyn SentimentModel>,
    pub cascade: Cascade,
}

impl ModelTier {
    /// The model tier for a pipeline, or `None` when the cascade is off, no sentiment head
    /// is trained in `models`, or it cannot be used. Says on standard error which messages
    /// get it, or why it is off (a head that is merely missing is the quiet default).
    /// The embedder, by the name of the model the head was trained on, is asked for only
    /// when a head is there, so a data dir without one never pays for loading it.
    pub fn load(
        models: &Path,
        args: &ModelTierArgs,
        embedder: impl FnOnce(&str) -> Option<Arc<dyn Embedder>>,
    ) -> Option<ModelTier> {
        let cascade = args.cascade();
        if cascade.is_off() {
            return None;
        }
        let head = match SentimentHead::load(models) {
            Ok(head) => head,
            // The usual case until someone trains one: the fast tier is the default.
            Err(needle_embed::EmbedError::MissingFile { .. }) => {
                tracing::debug!(
                    "sentiment from the lexicon tier: no {HEAD_FILE} in {} (`{TRAIN_COMMAND}` trains one)",
                    models.display()
                );
                return None;
            }
            Err(e) => {
                eprintln!("the model tier is off, the lexicon tier gives sentiment: {e}");
                return None;
            }
        };
        let embedder = embedder(&head.model)?;
        match ModelSentiment::new(embedder, head) {
            Ok(model) => {
                let tier = ModelTier {
                    model: Arc::new(model),
                    cascade,
                };
                eprintln!("{}", tier.describe());
                Some(tier)
            }
            Err(e) => {
                eprintln!("the model tier is off, the lexicon tier gives sentiment: {e}");
                None
            }
        }
    }

    /// One line for the operator: which messages get which tier's sentiment.
    fn describe(&self) -> String {
        match self.cascade.scope {
            needle_listen::Scope::All => "sentiment from the model tier for every message".into(),
            _ => format!(
                "sentiment from the model tier for {}; the lexicon tier's for the rest",
                self.cascade.describe()
            ),
        }
    }
}
