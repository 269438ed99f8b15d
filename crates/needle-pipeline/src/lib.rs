//! The pipeline: ordered stages over batches of messages, each stage on a thread of its own,
//! joined by bounded queues so that a slow stage holds back the ones before it (backpressure)
//! instead of letting memory grow. Import, the API and (later) connectors all feed it.
//!
//! Adding a stage is local: write a type that implements [`Stage`] and put it in the list in
//! [`Pipeline::standard`].

mod classify;
mod metrics;
mod stages;

use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use needle_core::{Classification, ErrorCode, Invalid, Message};
use needle_search::SearchIndex;
use needle_store::Store;
use needle_store::connections::SourceCheckpoint;

pub use classify::ClassifyStage;
pub use metrics::PipelineMetrics;
pub use stages::{AnnounceStage, DedupeStage, IndexStage, NormalizeStage, StoreStage};

/// What has become of a message so far.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Still flowing: later stages work on it.
    Pending,
    /// Stored under this seq.
    Stored(i64),
    /// Already stored under this seq; nothing changed.
    Duplicate(i64),
    /// Refused for this reason; the rest of the batch goes on.
    Rejected(Invalid),
    /// A stage failed for reasons not of the message's making (disk full, …).
    Failed { code: ErrorCode, reason: String },
}

/// One message in a batch, with where it came from and what became of it.
#[derive(Debug, Clone)]
pub struct Item {
    /// Line number in an imported file, when there is one.
    pub line: Option<u64>,
    pub message: Message,
    /// Filled by the classify stage; stored with the message.
    pub classification: Option<Classification>,
    pub outcome: Outcome,
}

impl Item {
    pub fn new(message: Message) -> Item {
        Item {
            line: None,
            message,
            classification: None,
            outcome: Outcome::Pending,
        }
    }

    pub fn is_pending(&self) -> bool {
        self.outcome == Outcome::Pending
    }
}

/// Messages for one workspace that travel together.
#[derive(Debug, Default)]
pub struct Batch {
    pub workspace_id: i64,
    pub items: Vec<Item>,
    /// Asks every stage to make what it holds durable and visible (the index commits).
    pub flush: bool,
    /// Where the source that produced this batch goes on from: the store stage saves it in
    /// the transaction that stores the batch.
    pub checkpoint: Option<SourceCheckpoint>,
}

impl Batch {
    pub fn new(workspace_id: i64, items: Vec<Item>) -> Batch {
        Batch {
            workspace_id,
            items,
            flush: false,
            checkpoint: None,
        }
    }

    /// A batch with no messages that only flushes.
    pub fn flush(workspace_id: i64) -> Batch {
        Batch {
            workspace_id,
            items: Vec::new(),
            flush: true,
            checkpoint: None,
        }
    }

    pub fn pending_mut(&mut self) -> impl Iterator<Item = &mut Item> {
        self.items.iter_mut().filter(|i| i.is_pending())
    }

    /// Marks every message still pending as failed.
    fn fail_pending(&mut self, error: &StageError) {
        for item in self.pending_mut() {
            item.outcome = Outcome::Failed {
                code: error.code,
                reason: error.message.clone(),
            };
        }
    }
}

/// A stage failed as a whole (not one message of it).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct StageError {
    pub code: ErrorCode,
    pub message: String,
}

/// One step of the pipeline.
pub trait Stage: Send {
    /// A short name for metrics and logs.
    fn name(&self) -> &'static str;
    /// Works on the pending items of a batch, setting their outcome when it decides one.
    fn process(&mut self, batch: &mut Batch) -> Result<(), StageError>;
    /// Called when no batch arrived for a while: a chance to flush on a timer.
    fn idle(&mut self) -> Result<(), StageError> {
        Ok(())
    }
    /// Called once when the pipeline shuts down, after the last batch.
    fn finish(&mut self) -> Result<(), StageError> {
        Ok(())
    }
}

type Reply = Box<dyn FnOnce(Batch) + Send>;

struct Envelope {
    batch: Batch,
    reply: Option<Reply>,
}

/// The pipeline is shutting down and takes no more work.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the pipeline is shutting down")]
pub struct Closed;

/// A running pipeline.
pub struct Pipeline {
    input: Mutex<Option<SyncSender<Envelope>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    metrics: Arc<PipelineMetrics>,
    first_stage: &'static str,
}

/// How long a stage waits for work before calling [`Stage::idle`].
const IDLE_TICK: Duration = Duration::from_millis(200);

impl Pipeline {
    /// Starts `stages` in order, with queues of `capacity` batches between them.
    pub fn start(
        stages: Vec<Box<dyn Stage>>,
        capacity: usize,
        metrics: Arc<PipelineMetrics>,
    ) -> Pipeline {
        let (input, mut receiver) = sync_channel::<Envelope>(capacity);
        let mut threads = Vec::new();
        let names: Vec<&'static str> = stages.iter().map(|s| s.name()).collect();
        for (position, stage) in stages.into_iter().enumerate() {
            let next = names.get(position + 1).copied();
            let (sender, next_receiver) = sync_channel::<Envelope>(capacity);
            let metrics = metrics.clone();
            let from = std::mem::replace(&mut receiver, next_receiver);
            let handle = std::thread::Builder::new()
                .name(format!("needle-{}", names[position]))
                .spawn(move || run_stage(stage, from, next.map(|n| (n, sender)), metrics))
                .expect("spawn a pipeline thread");
            threads.push(handle);
        }
        Pipeline {
            input: Mutex::new(Some(input)),
            threads: Mutex::new(threads),
            metrics,
            first_stage: names.first().copied().unwrap_or("none"),
        }
    }

    /// The stages every message goes through: normalise, dedupe, classify, `before_store`
    /// (stages that refine the classification, such as the model tier, so it is stored with
    /// the message), store, then `after_store` (stages that need the stored message's seq,
    /// such as topic tagging), then index. Without an index (another process holds its
    /// writer) messages are only stored; that process indexes them from the store.
    pub fn standard(
        store: Arc<dyn Store>,
        index: Option<Arc<SearchIndex>>,
        metrics: Arc<PipelineMetrics>,
        classifier: needle_classify::Classifier,
        before_store: Vec<Box<dyn Stage>>,
        after_store: Vec<Box<dyn Stage>>,
    ) -> Pipeline {
        let mut stages: Vec<Box<dyn Stage>> = vec![
            Box::new(NormalizeStage),
            Box::new(DedupeStage::new(store.clone())),
            Box::new(ClassifyStage::new(classifier)),
        ];
        stages.extend(before_store);
        stages.push(Box::new(StoreStage::new(store.clone())));
        stages.extend(after_store);
        if let Some(index) = index {
            stages.push(Box::new(IndexStage::new(
                index,
                store,
                Duration::from_millis(500),
            )));
        }
        Pipeline::start(stages, 4, metrics)
    }

    pub fn metrics(&self) -> &Arc<PipelineMetrics> {
        &self.metrics
    }

    /// Hands a batch to the pipeline; `reply` gets it back once every stage has seen it.
    /// Blocks while the first queue is full: that is the backpressure.
    pub fn submit(
        &self,
        batch: Batch,
        reply: impl FnOnce(Batch) + Send + 'static,
    ) -> Result<(), Closed> {
        // Clone the sender so a full queue blocks only this caller, not shutdown.
        let input = self
            .input
            .lock()
            .expect("pipeline input")
            .clone()
            .ok_or(Closed)?;
        self.metrics.queued(self.first_stage);
        input
            .send(Envelope {
                batch,
                reply: Some(Box::new(reply)),
            })
            .map_err(|_| Closed)
    }

    /// Submits a batch and waits for it to come out.
    pub fn process(&self, batch: Batch) -> Result<Batch, Closed> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.submit(batch, move |done| {
            let _ = tx.send(done);
        })?;
        rx.recv().map_err(|_| Closed)
    }

    /// Stops taking work, lets every batch in flight finish, and waits for the stages.
    /// Callers blocked in `submit` finish their send first; later calls get [`Closed`].
    pub fn shutdown(&self) {
        self.input.lock().expect("pipeline input").take();
        let threads = std::mem::take(&mut *self.threads.lock().expect("pipeline threads"));
        for handle in threads {
            let _ = handle.join();
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn run_stage(
    mut stage: Box<dyn Stage>,
    from: Receiver<Envelope>,
    to: Option<(&'static str, SyncSender<Envelope>)>,
    metrics: Arc<PipelineMetrics>,
) {
    let name = stage.name();
    loop {
        let mut envelope = match from.recv_timeout(IDLE_TICK) {
            Ok(envelope) => envelope,
            Err(RecvTimeoutError::Timeout) => {
                if let Err(e) = stage.idle() {
                    tracing::warn!(stage = name, error = %e, "stage failed while idle");
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        metrics.dequeued(name);
        let started = Instant::now();
        if let Err(e) = stage.process(&mut envelope.batch) {
            tracing::error!(stage = name, error = %e, "stage failed; its batch is marked failed");
            envelope.batch.fail_pending(&e);
        }
        metrics.observe_stage(name, started.elapsed(), envelope.batch.items.len());
        match &to {
            Some((next_name, next)) => {
                metrics.queued(next_name);
                if next.send(envelope).is_err() {
                    break;
                }
            }
            None => {
                metrics.count_outcomes(&envelope.batch);
                if let Some(reply) = envelope.reply.take() {
                    reply(envelope.batch);
                }
            }
        }
    }
    if let Err(e) = stage.finish() {
        tracing::error!(stage = name, error = %e, "stage failed to finish");
    }
}

#[cfg(test)]
mod tests;
