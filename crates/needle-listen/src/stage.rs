//! The pipeline stage that tags every newly stored message with the topics it is in.

use std::sync::Arc;

use needle_pipeline::{Batch, Outcome, Stage, StageError};
use needle_store::micros;
use needle_store::topics::Tag;

use crate::presearch::PresearchScratch;
use crate::{Listening, document_classified, document_of_stored};

/// Runs after the store stage (it needs each message's seq) and before the index stage.
/// A crash between storing and tagging is healed when the message comes again (a bus
/// redelivery, a client's retry, a re-import): duplicates are tagged too.
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
        let mut tag = |seq: i64, doc, created_at| {
            for (topic, _) in topics.matches(&doc, &mut self.scratch) {
                tags.push(Tag {
                    seq,
                    topic_id: topic.id,
                    version: topic.version,
                    created_at_us: micros(created_at),
                });
            }
        };
        let mut duplicates = Vec::new();
        for item in &batch.items {
            match item.outcome {
                Outcome::Stored(seq) => tag(
                    seq,
                    document_classified(&item.message, item.classification.as_ref()),
                    item.message.created_at,
                ),
                Outcome::Duplicate(seq) => duplicates.push(seq),
                _ => {}
            }
        }
        // A message stored by a process that died before it tagged it comes back as a
        // duplicate (a redelivery, a re-import, a client's retry): tag it again, from what
        // is stored (the copy sent again may differ). Tags are idempotent.
        if !duplicates.is_empty() {
            match self.listening.store().get_many(&duplicates) {
                Ok(stored) => {
                    for m in &stored {
                        tag(m.seq, document_of_stored(m), m.message.created_at);
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "could not read duplicates to tag them again")
                }
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
