//! The stages of this release: normalise, dedupe, store, announce, index (classify has its
//! own module).

use std::sync::Arc;
use std::time::Duration;

use needle_bus::{Event, Feed};
use needle_core::normalize::normalize;
use needle_search::SearchIndex;
use needle_store::{Inserted, Store};

use crate::{Batch, Outcome, Stage, StageError};

fn store_error(e: needle_store::StoreError) -> StageError {
    StageError {
        code: e.code(),
        message: e.to_string(),
    }
}

/// HTML to text, Unicode NFC, control characters removed; refuses what is left empty.
pub struct NormalizeStage;

impl Stage for NormalizeStage {
    fn name(&self) -> &'static str {
        "normalize"
    }

    fn process(&mut self, batch: &mut Batch) -> Result<(), StageError> {
        for item in batch.pending_mut() {
            if let Err(invalid) = normalize(&mut item.message) {
                item.outcome = Outcome::Rejected(invalid);
            }
        }
        Ok(())
    }
}

/// Marks messages the store already holds, reading beside the writer so that replays and
/// re-imports cost a lookup, not a write. Duplicates inside one batch, and races between
/// batches in flight, are settled by the store's unique key.
pub struct DedupeStage {
    store: Arc<dyn Store>,
}

impl DedupeStage {
    pub fn new(store: Arc<dyn Store>) -> Self {
        DedupeStage { store }
    }
}

impl Stage for DedupeStage {
    fn name(&self) -> &'static str {
        "dedupe"
    }

    fn process(&mut self, batch: &mut Batch) -> Result<(), StageError> {
        let keys: Vec<(&str, &str)> = batch
            .items
            .iter()
            .filter(|i| i.is_pending())
            .map(|i| (i.message.channel.as_str(), i.message.id.as_str()))
            .collect();
        if keys.is_empty() {
            return Ok(());
        }
        let known = self
            .store
            .existing(batch.workspace_id, &keys)
            .map_err(store_error)?;
        for (item, seq) in batch.pending_mut().zip(known) {
            if let Some(seq) = seq {
                item.outcome = Outcome::Duplicate(seq);
            }
        }
        Ok(())
    }
}

/// Writes the batch in one transaction; once it returns, the messages are durable.
pub struct StoreStage {
    store: Arc<dyn Store>,
}

impl StoreStage {
    pub fn new(store: Arc<dyn Store>) -> Self {
        StoreStage { store }
    }
}

impl Stage for StoreStage {
    fn name(&self) -> &'static str {
        "store"
    }

    fn process(&mut self, batch: &mut Batch) -> Result<(), StageError> {
        let (messages, classifications): (Vec<_>, Vec<_>) = batch
            .items
            .iter()
            .filter(|i| i.is_pending())
            .map(|i| (&i.message, i.classification.as_ref()))
            .unzip();
        // A message an earlier stage failed is not stored: then the source must not move
        // past it, and reads it again next time.
        let failed = batch
            .items
            .iter()
            .any(|i| matches!(i.outcome, Outcome::Failed { .. }));
        let checkpoint = batch.checkpoint.as_ref().filter(|_| !failed);
        let inserted = match checkpoint {
            // Saved even when every message was a duplicate or rejected: the source moves on.
            Some(checkpoint) => self.store.insert_from_source(
                batch.workspace_id,
                &messages,
                &classifications,
                checkpoint,
            ),
            None if messages.is_empty() => return Ok(()),
            None => self
                .store
                .insert_classified(batch.workspace_id, &messages, &classifications),
        }
        .map_err(store_error)?;
        for (item, result) in batch.pending_mut().zip(inserted) {
            item.outcome = match result {
                Inserted::New(seq) => Outcome::Stored(seq),
                Inserted::Duplicate(seq) => Outcome::Duplicate(seq),
            };
        }
        Ok(())
    }
}

/// Announces each newly stored message on the live feed (`message.stored`), after the
/// stages that tag it, so that open pages in every process see it arrive.
pub struct AnnounceStage {
    feed: Feed,
}

impl AnnounceStage {
    pub fn new(feed: Feed) -> Self {
        AnnounceStage { feed }
    }
}

impl Stage for AnnounceStage {
    fn name(&self) -> &'static str {
        "announce"
    }

    fn process(&mut self, batch: &mut Batch) -> Result<(), StageError> {
        for item in &batch.items {
            let Outcome::Stored(seq) = item.outcome else {
                continue;
            };
            let m = &item.message;
            self.feed.announce(Event::new(
                batch.workspace_id,
                Event::MESSAGE_STORED,
                serde_json::json!({
                    "seq": seq,
                    "channel": m.channel,
                    "id": m.id,
                    "thread_id": m.thread_id,
                    "created_at": needle_core::message::format_time(m.created_at),
                }),
            ));
        }
        Ok(())
    }
}

/// Adds newly stored messages to the search index and commits on a timer, on a flush, and
/// at shutdown. A commit lost to a crash is made good by catch-up from the store.
///
/// The index must hold every stored seq in order. A batch whose seqs follow the last one
/// indexed is added from memory; when there is a gap (another process, such as `needle
/// import` beside `needle serve`, wrote to the store, or a backend skipped seqs), the stage
/// reads the missing messages from the store first. When idle it also checks the store for
/// messages written by others.
pub struct IndexStage {
    index: Arc<SearchIndex>,
    store: Arc<dyn Store>,
    commit_interval: Duration,
}

impl IndexStage {
    pub fn new(index: Arc<SearchIndex>, store: Arc<dyn Store>, commit_interval: Duration) -> Self {
        IndexStage {
            index,
            store,
            commit_interval,
        }
    }

    fn index_error(e: needle_search::IndexError) -> StageError {
        StageError {
            code: e.code(),
            message: e.to_string(),
        }
    }
}

impl Stage for IndexStage {
    fn name(&self) -> &'static str {
        "index"
    }

    fn process(&mut self, batch: &mut Batch) -> Result<(), StageError> {
        let workspace_id = batch.workspace_id;
        let stored: Vec<(i64, i64, &needle_core::Message)> = batch
            .items
            .iter()
            .filter_map(|item| match item.outcome {
                Outcome::Stored(seq) => Some((seq, workspace_id, &item.message)),
                _ => None,
            })
            .collect();
        let contiguous = match (self.index.added_seq(), stored.first()) {
            (Ok(added), Some((first, _, _))) => {
                *first == added + 1 && stored.windows(2).all(|pair| pair[1].0 == pair[0].0 + 1)
            }
            _ => true,
        };
        // Indexing failures do not undo storage: the message is kept and catch-up retries.
        let added = if contiguous {
            self.index.add_messages(stored)
        } else {
            self.index.add_from_store(self.store.as_ref()).map(|_| ())
        };
        if let Err(e) = added {
            tracing::error!(error = %e, "indexing failed; the next catch-up will retry");
            return Ok(());
        }
        if batch.flush {
            self.index.commit().map_err(Self::index_error)?;
        } else {
            self.index
                .commit_if_due(self.commit_interval)
                .map_err(Self::index_error)?;
        }
        Ok(())
    }

    /// No batch for a while: whatever is pending becomes searchable now rather than at the
    /// next interval, so quiet periods see fresh results within a fraction of a second.
    fn idle(&mut self) -> Result<(), StageError> {
        let behind = match (self.store.max_seq(), self.index.added_seq()) {
            (Ok(stored), Ok(added)) => stored > added,
            _ => false,
        };
        if behind {
            self.index
                .add_from_store(self.store.as_ref())
                .map_err(Self::index_error)?;
        }
        self.index
            .commit_if_due(Duration::ZERO)
            .map(|_| ())
            .map_err(Self::index_error)
    }

    fn finish(&mut self) -> Result<(), StageError> {
        self.index.commit().map_err(Self::index_error)
    }
}
