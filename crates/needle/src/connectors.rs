//! Runs the pulling connections (feeds) of every workspace: each one is read when due, what
//! it produced goes through the pipeline with its checkpoint (stored in the same transaction
//! as the messages), and the attempt is recorded in the connection's health.
//!
//! One thread reads the connections one after another; every read is bounded by the outbound
//! client's timeout, so a hanging server delays the others by at most that. After a failure
//! a connection waits 5 s, doubling up to its normal interval (with jitter, so that feeds on
//! one host do not retry in step), or as long as the server's `Retry-After` says.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use needle_connect::email::EmailSource;
use needle_connect::feed::FeedSource;
use needle_connect::mastodon::MastodonSource;
use needle_connect::{ConnectorConfig, Outbound, Source, SourceError};
use needle_http::AppState;
use needle_pipeline::{Batch, Item, Outcome};
use needle_store::Backend;
use needle_store::connections::{Attempt, Connection, SourceCheckpoint};
use time::OffsetDateTime;

use crate::streams::Streams;

/// How often the list of connections is read again (to see new and changed ones).
const RELOAD: Duration = Duration::from_secs(1);
/// How long the loop sleeps between looks at the clock.
const TICK: Duration = Duration::from_millis(100);
/// Messages per pipeline batch; the checkpoint rides on the last one.
const CHUNK: usize = 500;
/// The kinds of connection that are read by polling.
const PULLED: &[&str] = &["rss", "email", "mastodon"];
/// The first wait after a failure.
const FIRST_BACKOFF: Duration = Duration::from_secs(5);

/// The running connector loop; stops when dropped (after the read in progress).
pub struct Connectors {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Connectors {
    pub fn start(store: Arc<dyn Backend>, state: Arc<AppState>, outbound: Outbound) -> Connectors {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("needle-connectors".into())
                .spawn(move || Runner::new(store, state, outbound).run(&stop))
                .expect("spawn the connector thread")
        };
        Connectors {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Connectors {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// When a connection is next read, and what it was when scheduled.
struct Due {
    at: Instant,
    failures: u32,
    /// Settings as last seen: a change makes the connection due at once.
    settings: (String, String),
}

struct Runner {
    store: Arc<dyn Backend>,
    state: Arc<AppState>,
    outbound: Outbound,
    due: HashMap<i64, Due>,
    /// Streams that mark a connection due at once (Mastodon mentions).
    streams: Streams,
}

/// Why one read did not complete.
struct Failed {
    reason: String,
    retry_after: Option<Duration>,
}

impl From<SourceError> for Failed {
    fn from(e: SourceError) -> Failed {
        match e {
            SourceError::Retryable { reason, after } => Failed {
                reason,
                retry_after: after,
            },
            SourceError::Final(reason) => Failed {
                reason,
                retry_after: None,
            },
        }
    }
}

impl Runner {
    fn new(store: Arc<dyn Backend>, state: Arc<AppState>, outbound: Outbound) -> Runner {
        Runner {
            store,
            state,
            streams: Streams::new(outbound.clone()),
            outbound,
            due: HashMap::new(),
        }
    }

    fn run(&mut self, stop: &AtomicBool) {
        let mut connections: Vec<Connection> = Vec::new();
        let mut loaded: Option<Instant> = None;
        while !stop.load(Ordering::SeqCst) {
            if loaded.is_none_or(|t| t.elapsed() >= RELOAD) {
                match self.store.connections(None) {
                    Ok(all) => {
                        self.streams.sync(&all);
                        connections = all
                            .into_iter()
                            .filter(|c| c.spec.enabled && PULLED.contains(&c.spec.kind.as_str()))
                            .collect();
                        self.due
                            .retain(|id, _| connections.iter().any(|c| c.id == *id));
                    }
                    Err(e) => tracing::warn!(error = %e, "could not read the connections"),
                }
                loaded = Some(Instant::now());
            }
            for connection in &connections {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                if self.is_due(connection) {
                    self.read(connection);
                    // Read again from the store next time: the checkpoint moved.
                    loaded = None;
                }
            }
            std::thread::sleep(TICK);
        }
    }

    fn is_due(&mut self, c: &Connection) -> bool {
        if self.streams.take_woken(c.id) {
            return true;
        }
        let settings = (c.spec.kind.clone(), c.spec.config.to_string());
        match self.due.get(&c.id) {
            Some(due) if due.settings == settings => Instant::now() >= due.at,
            _ => true,
        }
    }

    /// Reads one connection once and schedules its next read.
    fn read(&mut self, c: &Connection) {
        let settings = (c.spec.kind.clone(), c.spec.config.to_string());
        let (interval, result) =
            match ConnectorConfig::parse(&c.spec.kind, &c.spec.config, c.spec.secret.is_some()) {
                Ok(ConnectorConfig::Feed(config)) => {
                    let mut source = FeedSource::new(config, &c.spec.name, self.outbound.clone());
                    (source.interval(), self.pull(c, &mut source))
                }
                Ok(ConnectorConfig::Mastodon(config)) => {
                    let token = c.spec.secret.as_deref().unwrap_or_default();
                    let mut source =
                        MastodonSource::new(config, token, &c.spec.name, self.outbound.clone());
                    (source.interval(), self.pull(c, &mut source))
                }
                Ok(ConnectorConfig::Email(config)) => {
                    let password = c.spec.secret.as_deref().unwrap_or_default();
                    let mut source = EmailSource::new(
                        config,
                        password,
                        &c.spec.name,
                        self.outbound.policy().clone(),
                    );
                    (source.interval(), self.pull(c, &mut source))
                }
                // Pushed to (webhooks) or sent through the outbox (outbound webhooks).
                Ok(
                    ConnectorConfig::Webhook(_)
                    | ConnectorConfig::WebhookOut(_)
                    | ConnectorConfig::Chat(_),
                ) => return,
                Err(reason) => (
                    needle_connect::feed::DEFAULT_INTERVAL,
                    Err(Failed {
                        reason: format!("the settings are wrong: {reason}"),
                        retry_after: None,
                    }),
                ),
            };
        let failures = self.due.get(&c.id).map_or(0, |d| d.failures);
        let (attempt, wait, failures) = match result {
            Ok(messages) => (Attempt::Succeeded { messages }, interval, 0),
            Err(failed) => {
                tracing::warn!(connection = %c.spec.name, reason = %failed.reason, "connection failed");
                let wait = failed
                    .retry_after
                    .unwrap_or_else(|| backoff(failures, interval));
                (
                    Attempt::Failed {
                        reason: failed.reason,
                    },
                    wait,
                    failures + 1,
                )
            }
        };
        if let Err(e) = self
            .store
            .record_attempt(c.id, OffsetDateTime::now_utc(), &attempt)
        {
            tracing::warn!(connection = %c.spec.name, error = %e, "could not record the connection's health");
        }
        self.due.insert(
            c.id,
            Due {
                at: Instant::now() + wait,
                failures,
                settings,
            },
        );
    }

    /// Pulls from the source and runs what it produced through the pipeline, the
    /// checkpoint with the last batch. Returns how many messages the source produced.
    fn pull(&self, c: &Connection, source: &mut dyn Source) -> Result<u64, Failed> {
        let pulled = source.pull(c.checkpoint.as_deref())?;
        let produced = pulled.messages.len() as u64;
        let pipeline = self.state.pipeline.as_ref().ok_or_else(|| Failed {
            reason: "this process runs no pipeline".into(),
            retry_after: None,
        })?;
        let mut messages = pulled.messages.into_iter().peekable();
        loop {
            let chunk: Vec<Item> = messages.by_ref().take(CHUNK).map(Item::new).collect();
            let last = messages.peek().is_none();
            let mut batch = Batch::new(c.workspace_id, chunk);
            if last {
                batch.checkpoint = Some(SourceCheckpoint {
                    connection_id: c.id,
                    value: pulled.checkpoint.clone(),
                });
            }
            let done = pipeline.process(batch).map_err(|_| Failed {
                reason: "the pipeline is shutting down".into(),
                retry_after: Some(Duration::from_secs(1)),
            })?;
            for item in &done.items {
                match &item.outcome {
                    Outcome::Failed { reason, .. } => {
                        return Err(Failed {
                            reason: format!("storing {:?} failed: {reason}", item.message.id),
                            retry_after: None,
                        });
                    }
                    Outcome::Rejected(invalid) => tracing::info!(
                        connection = %c.spec.name,
                        id = %item.message.id,
                        reason = %invalid,
                        "an entry was not a valid message"
                    ),
                    _ => {}
                }
            }
            if last {
                return Ok(produced);
            }
        }
    }
}

/// 5 s after the first failure, doubling, never longer than the normal interval; ±20 %.
fn backoff(failures: u32, interval: Duration) -> Duration {
    let base = FIRST_BACKOFF
        .saturating_mul(1 << failures.min(16))
        .min(interval.max(FIRST_BACKOFF));
    base.mul_f64(0.8 + 0.4 * fastrand::f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_interval_with_jitter() {
        let hour = Duration::from_secs(3600);
        for (failures, centre) in [(0, 5.0), (1, 10.0), (2, 20.0), (10, 3600.0), (40, 3600.0)] {
            let wait = backoff(failures, hour).as_secs_f64();
            assert!(
                (centre * 0.8..=centre * 1.2).contains(&wait),
                "{failures} failures: {wait} s"
            );
        }
        // A feed read every second still waits at least the first backoff after a failure.
        let wait = backoff(3, Duration::from_secs(1)).as_secs_f64();
        assert!((4.0..=6.0).contains(&wait), "{wait}");
    }
}
