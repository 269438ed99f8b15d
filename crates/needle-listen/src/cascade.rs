//! The cascade: the fast tier has classified every message; the model tier, a hundred times
//! slower, sees only what matters — messages in one of the workspace's topics, messages on
//! the channels the team answers (its owned channels), or everything when the operator says
//! so. The rest keep the fast tier's answer, so the pipeline keeps up with the stream.
//!
//! The stage runs before the store stage, so the model tier's sentiment is stored (and
//! indexed, and filterable with `sentiment:`) with the message in the same transaction. It
//! matches topics itself for that, on the fast tier's classification; the topics stage
//! after the store matches again on the final one, which is what search sees.

use std::collections::HashSet;
use std::sync::Arc;

use needle_classify::{MAX_CLASSIFY_BYTES, SentimentModel, apply_model_sentiment, prefix};
use needle_pipeline::{Batch, PipelineMetrics, Stage, StageError};

use crate::presearch::PresearchScratch;
use crate::{Listening, document_classified};

/// Which messages the model tier sees, besides those on [`Cascade::channels`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    /// None: the fast tier answers alone (channels listed still go to the model).
    Off,
    /// Messages that match at least one of their workspace's topics.
    #[default]
    Topics,
    /// Every message (when the machine keeps up, or for a small stream).
    All,
}

/// What the model tier runs on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cascade {
    pub scope: Scope,
    /// Channels whose every message goes to the model tier (the team's owned channels:
    /// `email`, `chat`, …), whether or not a topic matches.
    pub channels: HashSet<String>,
}

impl Cascade {
    /// True when no message can reach the model tier.
    pub fn is_off(&self) -> bool {
        self.scope == Scope::Off && self.channels.is_empty()
    }

    /// One line for the operator: what gets the model tier.
    pub fn describe(&self) -> String {
        let mut channels: Vec<&str> = self.channels.iter().map(String::as_str).collect();
        channels.sort_unstable();
        let on = |prefix: &str| match channels.as_slice() {
            [] => String::new(),
            list => format!("{prefix}{}", list.join(", ")),
        };
        match self.scope {
            Scope::All => "every message".to_string(),
            Scope::Topics => format!("messages in a topic{}", on(" or on ")),
            Scope::Off if channels.is_empty() => "no message".to_string(),
            Scope::Off => format!("messages on {}", on("")),
        }
    }
}

/// The pipeline stage that gives chosen messages the model tier's sentiment.
pub struct ModelTierStage {
    listening: Arc<Listening>,
    model: Arc<dyn SentimentModel>,
    cascade: Cascade,
    metrics: Arc<PipelineMetrics>,
    scratch: PresearchScratch,
}

impl ModelTierStage {
    pub fn new(
        listening: Arc<Listening>,
        model: Arc<dyn SentimentModel>,
        cascade: Cascade,
        metrics: Arc<PipelineMetrics>,
    ) -> ModelTierStage {
        ModelTierStage {
            listening,
            model,
            cascade,
            metrics,
            scratch: PresearchScratch::default(),
        }
    }

    /// Positions of the pending, classified items the model tier should see.
    fn chosen(&mut self, batch: &Batch) -> Vec<usize> {
        let topics = match self.cascade.scope {
            Scope::Topics => self
                .listening
                .topics_of(batch.workspace_id)
                .filter(|t| !t.is_empty()),
            Scope::Off | Scope::All => None,
        };
        batch
            .items
            .iter()
            .enumerate()
            .filter(|(_, item)| item.is_pending() && item.classification.is_some())
            .filter(|(_, item)| {
                self.cascade.scope == Scope::All
                    || self.cascade.channels.contains(&item.message.channel)
                    || topics.as_ref().is_some_and(|topics| {
                        let doc = document_classified(&item.message, item.classification.as_ref());
                        !topics.matches(&doc, &mut self.scratch).is_empty()
                    })
            })
            .map(|(i, _)| i)
            .collect()
    }
}

impl Stage for ModelTierStage {
    fn name(&self) -> &'static str {
        "model_tier"
    }

    fn process(&mut self, batch: &mut Batch) -> Result<(), StageError> {
        let chosen = self.chosen(batch);
        if chosen.is_empty() {
            return Ok(());
        }
        // The model reads what the fast tier read: a bounded prefix of each text.
        let texts: Vec<&str> = chosen
            .iter()
            .map(|&i| prefix(&batch.items[i].message.text, MAX_CLASSIFY_BYTES))
            .collect();
        let sentiments = match self.model.sentiments(&texts) {
            Ok(s) if s.len() == texts.len() => s,
            // The fast tier's answer stands: a model failure must not cost a message.
            Ok(s) => {
                tracing::error!(
                    asked = texts.len(),
                    answered = s.len(),
                    "the model tier answered for the wrong number of messages; the fast tier's sentiment stands"
                );
                return Ok(());
            }
            Err(e) => {
                tracing::error!(error = %e, messages = texts.len(), "the model tier failed; the fast tier's sentiment stands");
                return Ok(());
            }
        };
        for (&i, sentiment) in chosen.iter().zip(sentiments) {
            if let Some(classification) = batch.items[i].classification.as_mut() {
                apply_model_sentiment(classification, sentiment);
            }
        }
        self.metrics.model_tier.inc_by(chosen.len() as u64);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use needle_classify::{Classifier, MODEL_TIER, ModelError};
    use needle_core::{Message, Sentiment, SentimentLabel};
    use needle_pipeline::Item;
    use needle_search::SearchIndex;
    use needle_store::Backend;
    use needle_store::sqlite::SqliteStore;

    use super::*;

    /// Says "positive" for every text and remembers what it was asked; or fails.
    #[derive(Default)]
    struct Recording {
        asked: Mutex<Vec<String>>,
        fail: bool,
    }

    impl SentimentModel for Recording {
        fn sentiments(&self, texts: &[&str]) -> Result<Vec<Sentiment>, ModelError> {
            if self.fail {
                return Err("the model broke".into());
            }
            self.asked
                .lock()
                .unwrap()
                .extend(texts.iter().map(|t| t.to_string()));
            Ok(texts.iter().map(|_| Sentiment::from_score(0.9)).collect())
        }
    }

    struct Setup {
        _dir: tempfile::TempDir,
        listening: Arc<Listening>,
        ws: i64,
    }

    fn setup() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Backend> = Arc::new(SqliteStore::open(dir.path().join("db")).unwrap());
        let index = Arc::new(SearchIndex::open(dir.path().join("index")).unwrap());
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        let listening = Listening::load(store, index).unwrap();
        listening
            .save_topic(ws, "router", "brand", "router", None)
            .unwrap();
        Setup {
            _dir: dir,
            listening,
            ws,
        }
    }

    /// A classified batch: (channel, text) per message, all pending.
    fn batch(ws: i64, messages: &[(&str, &str)]) -> Batch {
        let classifier = Classifier::default();
        let items = messages
            .iter()
            .enumerate()
            .map(|(i, (channel, text))| {
                let message = Message::from_json(serde_json::json!({
                    "id": format!("m{i}"), "channel": channel, "text": text,
                    "created_at": "2026-12-01T10:00:00Z",
                    "author": {"handle": "kim"}
                }))
                .unwrap();
                let mut item = Item::new(message);
                item.classification = Some(classifier.classify(text));
                item
            })
            .collect();
        Batch::new(ws, items)
    }

    fn tiers(batch: &Batch) -> Vec<Option<&str>> {
        batch
            .items
            .iter()
            .map(|i| i.classification.as_ref().unwrap().tier.as_deref())
            .collect()
    }

    const MESSAGES: [(&str, &str); 3] = [
        ("twitter", "my router is awful"),
        ("twitter", "terrible weather today"),
        ("email", "the invoice is awful"),
    ];

    fn run(setup: &Setup, cascade: Cascade, model: Arc<Recording>) -> (Batch, u64) {
        let metrics = Arc::new(PipelineMetrics::unregistered());
        let mut stage =
            ModelTierStage::new(setup.listening.clone(), model, cascade, metrics.clone());
        let mut batch = batch(setup.ws, &MESSAGES);
        stage.process(&mut batch).unwrap();
        (batch, metrics.model_tier.get())
    }

    #[test]
    fn topics_scope_sends_only_matching_messages_to_the_model() {
        let setup = setup();
        let model = Arc::new(Recording::default());
        let (batch, counted) = run(&setup, Cascade::default(), model.clone());
        assert_eq!(tiers(&batch), [Some(MODEL_TIER), None, None]);
        assert_eq!(*model.asked.lock().unwrap(), ["my router is awful"]);
        assert_eq!(counted, 1);
        let first = batch.items[0].classification.as_ref().unwrap();
        assert_eq!(first.sentiment.label, SentimentLabel::Positive);
        // The others keep the lexicon's verdict.
        let second = batch.items[1].classification.as_ref().unwrap();
        assert_eq!(second.sentiment.label, SentimentLabel::Negative);
    }

    #[test]
    fn owned_channels_and_all_widen_the_cascade_and_off_closes_it() {
        let setup = setup();
        let channels = Cascade {
            scope: Scope::Topics,
            channels: HashSet::from(["email".to_string()]),
        };
        let (batch, _) = run(&setup, channels, Arc::new(Recording::default()));
        assert_eq!(tiers(&batch), [Some(MODEL_TIER), None, Some(MODEL_TIER)]);

        let all = Cascade {
            scope: Scope::All,
            ..Cascade::default()
        };
        let (batch, counted) = run(&setup, all, Arc::new(Recording::default()));
        assert_eq!(tiers(&batch), [Some(MODEL_TIER); 3]);
        assert_eq!(counted, 3);

        let off = Cascade {
            scope: Scope::Off,
            ..Cascade::default()
        };
        assert!(off.is_off());
        let model = Arc::new(Recording::default());
        let (batch, counted) = run(&setup, off, model.clone());
        assert_eq!(tiers(&batch), [None; 3]);
        assert!(model.asked.lock().unwrap().is_empty());
        assert_eq!(counted, 0);
    }

    #[test]
    fn a_failing_model_leaves_the_fast_tier_and_the_batch_goes_on() {
        let setup = setup();
        let model = Arc::new(Recording {
            fail: true,
            ..Recording::default()
        });
        let (batch, counted) = run(&setup, Cascade::default(), model);
        assert_eq!(tiers(&batch), [None; 3]);
        assert!(batch.items.iter().all(Item::is_pending));
        assert_eq!(counted, 0);
    }

    #[test]
    fn describes_what_gets_the_model_tier() {
        let mut cascade = Cascade::default();
        assert_eq!(cascade.describe(), "messages in a topic");
        cascade.channels = HashSet::from(["sms".to_string(), "email".to_string()]);
        assert_eq!(cascade.describe(), "messages in a topic or on email, sms");
        cascade.scope = Scope::Off;
        assert_eq!(cascade.describe(), "messages on email, sms");
        assert!(!cascade.is_off());
        cascade.scope = Scope::All;
        assert_eq!(cascade.describe(), "every message");
    }
}
