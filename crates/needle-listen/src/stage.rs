//! The pipeline stage that tags every newly stored message with the topics it is in.

use std::sync::Arc;

use needle_pipeline::{Batch, Outcome, Stage, StageError};
use needle_store::micros;
use needle_store::topics::Tag;

use crate::presearch::PresearchScratch;
use crate::{Listening, document_classified};

/// Runs after the store stage (it needs each message's seq) and before the index stage.
pub struct TopicsStage {
    listening: Arc<Listening>,
    scratch: PresearchScratch,
}

impl TopicsStage {
    pub fn new(listening: Arc<Listening>) -> TopicsStage {
        TopicsStage {
            listening,
            scratch: PresearchScratch::default(),
        }
    }
}

impl Stage for TopicsStage {
    fn name(&self) -> &'static str {
        "topics"
    }

    fn process(&mut self, batch: &mut Batch) -> Result<(), StageError> {
        let Some(topics) = self.listening.topics_of(batch.workspace_id) else {
            return Ok(());
        };
        if topics.is_empty() {
            return Ok(());
        }
        let mut tags = Vec::new();
        for item in &batch.items {
            let Outcome::Stored(seq) = item.outcome else {
                continue;
            };
            let doc = document_classified(&item.message, item.classification.as_ref());
            for (topic, _) in topics.matches(&doc, &mut self.scratch) {
                tags.push(Tag {
                    seq,
                    topic_id: topic.id,
                    version: topic.version,
                    created_at_us: micros(item.message.created_at),
                });
            }
        }
        // A failure here leaves the messages stored (they are not failed); the topic's next
        // backfill or a reindex of topics can tag them. Report it loudly.
        if let Err(e) = self.listening.store().tag(&tags) {
            tracing::error!(error = %e, tags = tags.len(), "could not record topic matches");
        }
        Ok(())
    }
}
