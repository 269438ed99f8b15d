//! The pipeline role in a cluster: take deliveries from the bus, run them through the
//! pipeline, and settle each one once its outcome is known — ack after the store committed
//! it (or found it stored already), dead-letter what can never be valid, nak what failed for
//! reasons of the environment so that it comes back later.
//!
//! Redeliveries are harmless: the store's unique key turns a second storing into a duplicate.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use needle_bus::{Event, Feed, Receipt, Transport};
use needle_listen::Listening;
use needle_pipeline::{Batch, Item, Outcome, Pipeline};
use tokio::sync::broadcast::{self, error::TryRecvError};

/// Deliveries taken per pull.
const PULL_MAX: usize = 1000;
/// How long a pull waits for work.
const PULL_WAIT: Duration = Duration::from_millis(500);
/// How long a failed message waits before it is delivered again.
const RETRY_DELAY: Duration = Duration::from_secs(2);
/// How often the live topics are reloaded from the store, to see topics saved by other
/// processes.
const TOPICS_REFRESH: Duration = Duration::from_secs(2);

/// A running pipeline worker; stops (after settling what it holds) when dropped.
pub struct Worker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    pub fn start(
        bus: Arc<dyn Transport>,
        pipeline: Arc<Pipeline>,
        listening: Arc<Listening>,
        feed: &Feed,
    ) -> Worker {
        let stop = Arc::new(AtomicBool::new(false));
        let events = feed.subscribe();
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("needle-worker".into())
                .spawn(move || run(bus.as_ref(), &pipeline, &listening, events, &stop))
                .expect("spawn the pipeline worker")
        };
        Worker {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(
    bus: &dyn Transport,
    pipeline: &Pipeline,
    listening: &Listening,
    mut events: broadcast::Receiver<Event>,
    stop: &AtomicBool,
) {
    let mut refreshed = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        reload_changed_topics(listening, &mut events);
        if refreshed.elapsed() >= TOPICS_REFRESH {
            if let Err(e) = reload_topics(listening) {
                tracing::warn!(error = %e, "could not reload topics");
            }
            refreshed = Instant::now();
        }
        let deliveries = match bus.pull(PULL_MAX, PULL_WAIT) {
            Ok(deliveries) => deliveries,
            Err(e) => {
                tracing::warn!(error = %e, "the bus is unavailable; retrying");
                std::thread::sleep(PULL_WAIT);
                continue;
            }
        };
        if deliveries.is_empty() {
            continue;
        }
        // One pipeline batch per workspace, receipts kept in the same order as the items.
        let mut by_workspace: BTreeMap<i64, (Vec<Item>, Vec<Receipt>)> = BTreeMap::new();
        for delivery in deliveries {
            let (items, receipts) = by_workspace
                .entry(delivery.envelope.workspace_id)
                .or_default();
            items.push(Item::new(delivery.envelope.message));
            receipts.push(delivery.receipt);
        }
        for (workspace_id, (items, receipts)) in by_workspace {
            match pipeline.process(Batch::new(workspace_id, items)) {
                Ok(done) => settle(done, receipts),
                Err(_) => {
                    // Shutting down: the unsettled deliveries come back to another worker.
                    return;
                }
            }
        }
    }
}

fn settle(done: Batch, receipts: Vec<Receipt>) {
    for (item, receipt) in done.items.into_iter().zip(receipts) {
        let settled = match item.outcome {
            Outcome::Stored(_) | Outcome::Duplicate(_) => receipt.ack(),
            Outcome::Rejected(invalid) => receipt.dead_letter(&invalid.to_string()),
            Outcome::Failed { reason, .. } => receipt.nak(RETRY_DELAY, &reason),
            Outcome::Pending => receipt.nak(RETRY_DELAY, "left the pipeline unprocessed"),
        };
        if let Err(e) = settled {
            // The delivery stays in flight and comes back after the ack wait.
            tracing::warn!(error = %e, "could not settle a delivery");
        }
    }
}

/// Recompiles the topics of workspaces whose topics another process changed, as soon as the
/// event arrives; the timer reload stays as the safety net for events lost on the way.
fn reload_changed_topics(listening: &Listening, events: &mut broadcast::Receiver<Event>) {
    loop {
        match events.try_recv() {
            Ok(event) if event.kind == Event::TOPIC_CHANGED => {
                if let Err(e) = listening.reload(event.workspace_id) {
                    tracing::warn!(error = %e, "could not reload changed topics");
                }
            }
            Ok(_) => {}
            Err(TryRecvError::Lagged(_)) => {
                if let Err(e) = reload_topics(listening) {
                    tracing::warn!(error = %e, "could not reload topics");
                }
            }
            Err(TryRecvError::Empty | TryRecvError::Closed) => return,
        }
    }
}

/// Recompiles the topics of every workspace that has any.
fn reload_topics(listening: &Listening) -> needle_listen::Result<()> {
    let mut workspaces: Vec<i64> = listening
        .store()
        .workspaces()?
        .into_iter()
        .map(|w| w.id)
        .collect();
    workspaces.dedup();
    for workspace_id in workspaces {
        listening.reload(workspace_id)?;
    }
    Ok(())
}
