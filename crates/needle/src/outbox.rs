//! The outbox worker: queues the events outbound webhooks asked for and sends everything the
//! outbox holds, retrying with backoff.
//!
//! - **Queueing** follows the store: each outbound webhook keeps the highest message seq it
//!   has queued events for as its checkpoint, moved in the transaction that queues them, so a
//!   crash neither skips nor repeats an event (and a repeat would be one delivery anyway: the
//!   key `message.received:{seq}` is unique per connection). A new connection starts at the
//!   newest message: it gets events from its creation on, not the history.
//! - **Sending** takes due deliveries, earliest first. A retryable failure waits 1 s,
//!   doubling up to an hour (±20 % jitter), or what `Retry-After` said, in which case the
//!   whole connection waits (the remote is rate-limiting it). After [`MAX_ATTEMPTS`] the
//!   delivery is marked failed with the last reason. Every attempt is recorded. A crash after
//!   a send and before its record sends it again, with the same idempotency key.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use needle_connect::chat::ChatSink;
use needle_connect::email::EmailSink;
use needle_connect::mastodon::MastodonSink;
use needle_connect::outgoing::{OutgoingConfig, WebhookSink};
use needle_connect::{ConnectorConfig, Delivered, Outbound, Sink, SinkError};
use needle_core::message::format_time;
use needle_core::{Direction, Message};
use needle_http::AppState;
use needle_pipeline::{Batch, Item, Outcome};
use needle_store::Backend;
use needle_store::connections::Connection;
use needle_store::outbox::{Delivery, DeliveryResult, NewDelivery};
use serde_json::json;
use time::OffsetDateTime;

/// Attempts before a delivery is given up on.
pub const MAX_ATTEMPTS: i64 = 8;
/// How long the loop sleeps when there was nothing to do.
const IDLE: Duration = Duration::from_millis(200);
/// Messages read from the store per step when queueing events.
const SCAN: usize = 500;
/// Deliveries taken per step.
const DUE: usize = 100;

/// The running outbox worker; stops when dropped (after the send in progress).
pub struct OutboxWorker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl OutboxWorker {
    /// `state`, when this process runs the pipeline, records posted replies through it
    /// (classified, indexed, on the author's timeline); otherwise they go to the store.
    pub fn start(
        store: Arc<dyn Backend>,
        state: Option<Arc<AppState>>,
        outbound: Outbound,
    ) -> OutboxWorker {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("needle-outbox".into())
                .spawn(move || {
                    let mut worker = Worker {
                        store,
                        state,
                        outbound,
                        held: HashMap::new(),
                    };
                    while !stop.load(Ordering::SeqCst) {
                        let busy = worker.step(&stop);
                        if !busy {
                            std::thread::sleep(IDLE);
                        }
                    }
                })
                .expect("spawn the outbox thread")
        };
        OutboxWorker {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for OutboxWorker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Worker {
    store: Arc<dyn Backend>,
    state: Option<Arc<AppState>>,
    outbound: Outbound,
    /// Connections the remote asked to wait (`Retry-After`), until when.
    held: HashMap<i64, OffsetDateTime>,
}

impl Worker {
    /// One round: queue new events, send what is due. True when there was work.
    fn step(&mut self, stop: &AtomicBool) -> bool {
        let connections = match self.store.connections(None) {
            Ok(all) => all,
            Err(e) => {
                tracing::warn!(error = %e, "outbox: could not read the connections");
                return false;
            }
        };
        let mut busy = false;
        for c in connections.iter().filter(|c| c.spec.enabled) {
            if let Ok(ConnectorConfig::WebhookOut(config)) =
                ConnectorConfig::parse(&c.spec.kind, &c.spec.config, c.spec.secret.is_some())
            {
                match self.queue_events(c, &config) {
                    Ok(queued) => busy |= queued,
                    Err(e) => {
                        tracing::warn!(connection = %c.spec.name, error = %e, "outbox: could not queue events")
                    }
                }
            }
        }
        let now = OffsetDateTime::now_utc();
        let due = match self.store.due_deliveries(now, DUE) {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "outbox: could not read due deliveries");
                return busy;
            }
        };
        let by_id: HashMap<i64, &Connection> = connections.iter().map(|c| (c.id, c)).collect();
        for delivery in &due {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            if self
                .held
                .get(&delivery.connection_id)
                .is_some_and(|until| *until > now)
            {
                continue;
            }
            let connection = by_id.get(&delivery.connection_id).copied();
            // A disabled connection's deliveries wait for it to be enabled again.
            if connection.is_some_and(|c| !c.spec.enabled) {
                continue;
            }
            busy = true;
            let result = self.send(connection, delivery);
            if let Err(e) =
                self.store
                    .record_delivery(delivery.id, OffsetDateTime::now_utc(), &result)
            {
                tracing::warn!(delivery = delivery.id, error = %e, "outbox: could not record an attempt");
            }
        }
        busy
    }

    /// Queues `message.received` (and `reply.sent` for our own outbound messages) for
    /// messages stored since the connection's checkpoint.
    fn queue_events(&self, c: &Connection, config: &OutgoingConfig) -> needle_store::Result<bool> {
        let Some(after) = c.checkpoint.as_deref().and_then(|s| s.parse::<i64>().ok()) else {
            let newest = self.store.max_seq()?;
            self.store
                .enqueue(c.workspace_id, c.id, &[], Some(&newest.to_string()))?;
            return Ok(false);
        };
        let stored = self.store.scan(after, SCAN)?;
        let Some(last) = stored.last().map(|m| m.seq) else {
            return Ok(false);
        };
        let deliveries: Vec<NewDelivery> = stored
            .iter()
            .filter(|m| m.workspace_id == c.workspace_id)
            .filter_map(|m| {
                // What we sent is a reply; what anyone else wrote was received.
                let event = match m.message.direction {
                    Direction::Outbound => "reply.sent",
                    Direction::Inbound => "message.received",
                };
                config.wants(event).then_some((event, m))
            })
            .map(|(event, m)| {
                let key = format!("{event}:{}", m.seq);
                let mut message = m.message.to_json();
                if let Some(classification) = &m.classification {
                    message["classification"] =
                        serde_json::to_value(classification).unwrap_or_default();
                }
                NewDelivery {
                    payload: json!({
                        "event": event,
                        "id": key,
                        "occurred_at": format_time(m.ingested_at),
                        "seq": m.seq,
                        "message": message,
                    }),
                    key,
                }
            })
            .collect();
        self.store
            .enqueue(c.workspace_id, c.id, &deliveries, Some(&last.to_string()))?;
        Ok(true)
    }

    fn send(&mut self, connection: Option<&Connection>, delivery: &Delivery) -> DeliveryResult {
        let Some(c) = connection else {
            return DeliveryResult::Failed {
                reason: "the connection was removed".into(),
            };
        };
        let sink: Box<dyn Sink> =
            match ConnectorConfig::parse(&c.spec.kind, &c.spec.config, c.spec.secret.is_some()) {
                Ok(ConnectorConfig::WebhookOut(config)) => Box::new(WebhookSink::new(
                    config,
                    c.spec.secret.as_deref().unwrap_or_default(),
                    self.outbound.clone(),
                )),
                Ok(ConnectorConfig::Chat(config)) => Box::new(ChatSink::new(config, &c.spec.name)),
                Ok(ConnectorConfig::Email(config)) => Box::new(EmailSink::new(
                    config,
                    c.spec.secret.as_deref().unwrap_or_default(),
                    &c.spec.name,
                    self.outbound.policy().clone(),
                )),
                Ok(ConnectorConfig::Mastodon(config)) => Box::new(MastodonSink::new(
                    config,
                    c.spec.secret.as_deref().unwrap_or_default(),
                    &c.spec.name,
                    self.outbound.clone(),
                )),
                Ok(_) => {
                    return DeliveryResult::Failed {
                        reason: format!("a {} connection sends nothing", c.spec.kind),
                    };
                }
                Err(e) => {
                    return DeliveryResult::Failed {
                        reason: format!("the connection's settings are wrong: {e}"),
                    };
                }
            };
        let attempt = delivery.attempts + 1;
        match sink.deliver(&delivery.key, &delivery.payload) {
            Ok(Delivered { receipt, posted }) => {
                if let Some(message) = posted {
                    self.record_posted(c.workspace_id, message);
                }
                DeliveryResult::Sent { receipt }
            }
            Err(SinkError::Final(reason)) => DeliveryResult::Failed { reason },
            Err(SinkError::Retryable { reason, .. }) if attempt >= MAX_ATTEMPTS => {
                DeliveryResult::Failed {
                    reason: format!("gave up after {attempt} attempts; the last one: {reason}"),
                }
            }
            Err(SinkError::Retryable { reason, after }) => {
                let now = OffsetDateTime::now_utc();
                let wait = match after {
                    Some(after) => {
                        self.held.insert(c.id, now + after);
                        after
                    }
                    None => backoff(attempt),
                };
                DeliveryResult::Retry {
                    reason,
                    next_at: now + wait,
                }
            }
        }
    }
}

impl Worker {
    /// Stores what a sink posted (a reply) as an outbound message on its channel.
    fn record_posted(&self, workspace_id: i64, message: Message) {
        let stored = match self.state.as_ref().and_then(|s| s.pipeline.as_ref()) {
            Some(pipeline) => pipeline
                .process(Batch::new(workspace_id, vec![Item::new(message)]))
                .map(|done| {
                    done.items
                        .iter()
                        .all(|i| matches!(i.outcome, Outcome::Stored(_) | Outcome::Duplicate(_)))
                })
                .unwrap_or(false),
            None => self.store.insert_batch(workspace_id, &[&message]).is_ok(),
        };
        if !stored {
            tracing::warn!("outbox: a posted reply could not be stored as a message");
        }
    }
}

/// 1 s after the first failed attempt, doubling, at most an hour; ±20 %.
fn backoff(attempt: i64) -> Duration {
    let exponent = u32::try_from(attempt.clamp(1, 13) - 1).unwrap_or(0);
    let base = Duration::from_secs(1 << exponent).min(Duration::from_secs(3600));
    base.mul_f64(0.8 + 0.4 * fastrand::f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_longer_each_time_up_to_an_hour() {
        for (attempt, centre) in [(1, 1.0), (2, 2.0), (5, 16.0), (13, 3600.0), (40, 3600.0)] {
            let wait = backoff(attempt).as_secs_f64();
            assert!(
                (centre * 0.8..=centre * 1.2).contains(&wait),
                "attempt {attempt}: {wait} s"
            );
        }
    }
}
