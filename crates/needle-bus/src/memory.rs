//! The in-process transport of embedded mode: a bounded queue in memory.
//!
//! It has the semantics of the JetStream transport (dedupe window, ack wait, naks with a
//! delay, at most `max_deliveries` deliveries, dead letters) except durability: what it holds
//! is lost with the process. In embedded mode the durability point is therefore the store's
//! commit, not `publish`: the API must wait for the pipeline to store a batch before it
//! answers, as it always has.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use crate::{
    BusError, BusStats, DeadLetter, Delivery, DeliveryPolicy, Envelope, Event, Feed, Published,
    Receipt, Settle, Transport, unacknowledged_reason,
};

/// Settings of an [`InProcess`] transport.
#[derive(Debug, Clone)]
pub struct InProcessConfig {
    /// Messages held (waiting, delayed and in flight) before `publish` waits for room: the
    /// backpressure that keeps memory flat when the pipeline is behind.
    pub capacity: usize,
    pub policy: DeliveryPolicy,
    /// How long a key is remembered for de-duplication; zero turns de-duplication off.
    pub dedupe_window: Duration,
    /// How long `publish` waits for room before it answers [`BusError::Unavailable`].
    pub publish_timeout: Duration,
    /// Dead letters kept (the oldest go first).
    pub dead_letter_limit: usize,
}

impl Default for InProcessConfig {
    fn default() -> Self {
        InProcessConfig {
            capacity: 10_000,
            policy: DeliveryPolicy::default(),
            dedupe_window: Duration::from_secs(120),
            publish_timeout: Duration::from_secs(30),
            dead_letter_limit: 10_000,
        }
    }
}

/// A bounded in-memory [`Transport`]; see the module documentation.
pub struct InProcess {
    shared: Arc<Shared>,
}

struct Shared {
    config: InProcessConfig,
    state: Mutex<State>,
    /// Signalled when there may be something to pull.
    arrived: Condvar,
    /// Signalled when messages leave, making room for publishers.
    room: Condvar,
    /// Feeds that hear this bus's live events.
    followers: Mutex<Vec<Feed>>,
}

#[derive(Default)]
struct State {
    next_seq: u64,
    /// New messages, in publish order.
    ready: VecDeque<Entry>,
    /// Messages due for another delivery; served before new ones.
    redeliver: VecDeque<Entry>,
    /// Nak'ed messages and when they are due again.
    delayed: Vec<(Instant, Entry)>,
    in_flight: HashMap<u64, InFlight>,
    /// Keys published within the dedupe window, and when, oldest first.
    recent: HashMap<String, Instant>,
    recent_order: VecDeque<(Instant, String)>,
    dead: VecDeque<DeadLetter>,
    next_dead_id: u64,
}

struct Entry {
    seq: u64,
    envelope: Envelope,
    /// Deliveries so far.
    deliveries: u32,
}

struct InFlight {
    entry: Entry,
    deadline: Instant,
}

impl InProcess {
    pub fn new(config: InProcessConfig) -> InProcess {
        assert!(config.capacity > 0, "an in-process bus needs room");
        assert!(
            config.policy.max_deliveries > 0,
            "max_deliveries must be at least 1"
        );
        InProcess {
            shared: Arc::new(Shared {
                config,
                state: Mutex::new(State::default()),
                arrived: Condvar::new(),
                room: Condvar::new(),
                followers: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Messages held: waiting, delayed or in flight.
    pub fn held(&self) -> usize {
        self.shared.lock().held()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves the queues consistent (every
        // change is a single push or pop), so carry on rather than poison every caller.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn bury(&self, state: &mut State, envelope: &Envelope, attempts: u32, reason: &str) {
        tracing::warn!(key = %envelope.key(), attempts, reason, "message dead-lettered");
        state.next_dead_id += 1;
        state.dead.push_back(DeadLetter {
            id: state.next_dead_id,
            workspace_id: Some(envelope.workspace_id),
            key: Some(envelope.key()),
            envelope_json: String::from_utf8_lossy(&envelope.to_bytes()).into_owned(),
            reason: reason.to_string(),
            attempts,
            at: OffsetDateTime::now_utc(),
        });
        while state.dead.len() > self.config.dead_letter_limit {
            state.dead.pop_front();
        }
        self.room.notify_all();
    }
}

impl State {
    fn held(&self) -> usize {
        self.ready.len() + self.redeliver.len() + self.delayed.len() + self.in_flight.len()
    }

    /// Moves what is due (delays over, ack waits run out) to the redelivery queue.
    fn sweep(&mut self, now: Instant) {
        let mut due: Vec<Entry> = Vec::new();
        let mut i = 0;
        while i < self.delayed.len() {
            if self.delayed[i].0 <= now {
                due.push(self.delayed.swap_remove(i).1);
            } else {
                i += 1;
            }
        }
        let expired: Vec<u64> = self
            .in_flight
            .iter()
            .filter(|(_, f)| f.deadline <= now)
            .map(|(seq, _)| *seq)
            .collect();
        for seq in expired {
            if let Some(f) = self.in_flight.remove(&seq) {
                due.push(f.entry);
            }
        }
        due.sort_by_key(|e| e.seq);
        self.redeliver.extend(due);
    }

    /// The next moment something becomes due.
    fn next_due(&self) -> Option<Instant> {
        let delayed = self.delayed.iter().map(|(at, _)| *at);
        let in_flight = self.in_flight.values().map(|f| f.deadline);
        delayed.chain(in_flight).min()
    }

    fn forget_keys_before(&mut self, oldest: Instant) {
        while let Some((at, _)) = self.recent_order.front() {
            if *at >= oldest {
                break;
            }
            let (at, key) = self.recent_order.pop_front().expect("front exists");
            // A key is in `recent` once, under its first publish time.
            if self.recent.get(&key) == Some(&at) {
                self.recent.remove(&key);
            }
        }
    }
}

impl Transport for InProcess {
    fn publish(&self, batch: &[Envelope]) -> Result<Published, BusError> {
        let mut published = Published::default();
        if batch.is_empty() {
            return Ok(published);
        }
        let config = &self.shared.config;
        let deadline = Instant::now() + config.publish_timeout;
        let mut state = self.shared.lock();
        // Waits for room for one message, not the whole batch: a batch larger than the
        // capacity must still go in, so the bound is capacity plus one batch.
        while state.held() >= config.capacity {
            let now = Instant::now();
            if now >= deadline {
                return Err(BusError::Unavailable(format!(
                    "the in-process queue has held {} messages, its capacity, for {:?}: \
                     the pipeline is behind",
                    state.held(),
                    config.publish_timeout
                )));
            }
            state = self
                .shared
                .room
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        let now = Instant::now();
        let dedupe = !config.dedupe_window.is_zero();
        if dedupe && let Some(oldest) = now.checked_sub(config.dedupe_window) {
            state.forget_keys_before(oldest);
        }
        for envelope in batch {
            if dedupe {
                let key = envelope.key();
                if state.recent.contains_key(&key) {
                    published.duplicates += 1;
                    continue;
                }
                state.recent.insert(key.clone(), now);
                state.recent_order.push_back((now, key));
            }
            state.next_seq += 1;
            let seq = state.next_seq;
            state.ready.push_back(Entry {
                seq,
                envelope: envelope.clone(),
                deliveries: 0,
            });
            published.new += 1;
        }
        drop(state);
        self.shared.arrived.notify_all();
        Ok(published)
    }

    fn pull(&self, max: usize, wait: Duration) -> Result<Vec<Delivery>, BusError> {
        let mut out = Vec::new();
        if max == 0 {
            return Ok(out);
        }
        let policy = self.shared.config.policy;
        let deadline = Instant::now() + wait;
        let mut state = self.shared.lock();
        loop {
            let now = Instant::now();
            state.sweep(now);
            while out.len() < max {
                let Some(mut entry) = state
                    .redeliver
                    .pop_front()
                    .or_else(|| state.ready.pop_front())
                else {
                    break;
                };
                entry.deliveries += 1;
                if entry.deliveries > policy.max_deliveries {
                    // Its last delivery ran out of ack wait: nobody will ever settle it.
                    let attempts = entry.deliveries - 1;
                    let reason = unacknowledged_reason(attempts);
                    self.shared
                        .bury(&mut state, &entry.envelope, attempts, &reason);
                    continue;
                }
                let handle = Handle {
                    shared: self.shared.clone(),
                    seq: entry.seq,
                    delivery: entry.deliveries,
                };
                out.push(Delivery {
                    envelope: entry.envelope.clone(),
                    receipt: Receipt::new(
                        entry.deliveries,
                        policy.max_deliveries,
                        Box::new(handle),
                    ),
                });
                state.in_flight.insert(
                    entry.seq,
                    InFlight {
                        entry,
                        deadline: now + policy.ack_wait,
                    },
                );
            }
            if !out.is_empty() || now >= deadline {
                return Ok(out);
            }
            let wake = state.next_due().map_or(deadline, |due| due.min(deadline));
            state = self
                .shared
                .arrived
                .wait_timeout(state, wake.saturating_duration_since(now))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, BusError> {
        let state = self.shared.lock();
        Ok(state.dead.iter().rev().take(limit).cloned().collect())
    }

    fn policy(&self) -> DeliveryPolicy {
        self.shared.config.policy
    }

    fn announce(&self, event: &Event) -> Result<(), BusError> {
        let followers = self
            .shared
            .followers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for feed in followers.iter() {
            feed.deliver(event.clone());
        }
        Ok(())
    }

    fn follow_events(&self, feed: Feed) -> Result<(), BusError> {
        self.shared
            .followers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(feed);
        Ok(())
    }

    fn stats(&self) -> Result<BusStats, BusError> {
        let mut state = self.shared.lock();
        state.sweep(Instant::now());
        let waiting_again = state
            .redeliver
            .iter()
            .chain(state.delayed.iter().map(|(_, e)| e));
        let redelivered_in_flight = state
            .in_flight
            .values()
            .filter(|f| f.entry.deliveries > 1)
            .count();
        Ok(BusStats {
            waiting: state.ready.len() as u64,
            unacknowledged: (state.in_flight.len() + state.redeliver.len() + state.delayed.len())
                as u64,
            redelivered: (redelivered_in_flight
                + waiting_again.filter(|e| e.deliveries > 1).count())
                as u64,
            dead_letters: state.dead.len() as u64,
        })
    }
}

/// Settles one in-process delivery.
///
/// A delivery whose ack wait ran out may be settled late, after the message was delivered
/// again (or while it waits to be). An ack still counts, as in JetStream: the message was
/// processed. A late nak or dead letter is ignored: the newer delivery decides.
struct Handle {
    shared: Arc<Shared>,
    seq: u64,
    delivery: u32,
}

impl Handle {
    /// Takes the message out of flight if it is still this delivery's.
    fn take(&self, state: &mut State) -> Option<Entry> {
        match state.in_flight.get(&self.seq) {
            Some(f) if f.entry.deliveries == self.delivery => {
                state.in_flight.remove(&self.seq).map(|f| f.entry)
            }
            _ => None,
        }
    }
}

impl Settle for Handle {
    fn ack(self: Box<Self>) -> Result<(), BusError> {
        let mut state = self.shared.lock();
        let removed = state.in_flight.remove(&self.seq).is_some() || {
            // Acked late, while waiting for its next delivery: done with all the same.
            let before = state.held();
            state.redeliver.retain(|e| e.seq != self.seq);
            state.delayed.retain(|(_, e)| e.seq != self.seq);
            state.held() < before
        };
        if removed {
            self.shared.room.notify_all();
        }
        Ok(())
    }

    fn nak(self: Box<Self>, delay: Duration) -> Result<(), BusError> {
        let mut state = self.shared.lock();
        if let Some(entry) = self.take(&mut state) {
            if delay.is_zero() {
                state.redeliver.push_back(entry);
            } else {
                state.delayed.push((Instant::now() + delay, entry));
            }
            // Wakes pullers also for a delay: their sleep may end after it.
            self.shared.arrived.notify_all();
        }
        Ok(())
    }

    fn dead_letter(self: Box<Self>, reason: &str, attempts: u32) -> Result<(), BusError> {
        let mut state = self.shared.lock();
        if let Some(entry) = self.take(&mut state) {
            self.shared
                .bury(&mut state, &entry.envelope, attempts, reason);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::{self, envelope};

    fn open(policy: DeliveryPolicy) -> Option<(Box<dyn Transport>, ())> {
        let config = InProcessConfig {
            capacity: 1_000,
            policy,
            ..InProcessConfig::default()
        };
        Some((Box::new(InProcess::new(config)), ()))
    }

    crate::transport_conformance_tests!(open);

    #[test]
    fn publish_waits_for_room_then_gives_up() {
        let bus = InProcess::new(InProcessConfig {
            capacity: 2,
            publish_timeout: Duration::from_millis(200),
            ..InProcessConfig::default()
        });
        bus.publish(&[envelope(1, "a"), envelope(1, "b")]).unwrap();
        let started = Instant::now();
        let error = bus.publish(&[envelope(1, "c")]).unwrap_err();
        assert!(matches!(error, BusError::Unavailable(_)), "{error}");
        assert!(started.elapsed() >= Duration::from_millis(200));

        // Room made while a publisher waits lets it in.
        let bus = Arc::new(InProcess::new(InProcessConfig {
            capacity: 2,
            publish_timeout: Duration::from_secs(30),
            ..InProcessConfig::default()
        }));
        bus.publish(&[envelope(1, "a"), envelope(1, "b")]).unwrap();
        let publisher = {
            let bus = bus.clone();
            std::thread::spawn(move || bus.publish(&[envelope(1, "c")]))
        };
        std::thread::sleep(Duration::from_millis(100));
        assert!(!publisher.is_finished(), "publish did not wait for room");
        let first = bus.pull(1, Duration::ZERO).unwrap().pop().unwrap();
        first.ack().unwrap();
        assert_eq!(publisher.join().unwrap().unwrap().new, 1);
        assert_eq!(bus.held(), 2);
    }

    #[test]
    fn keys_are_forgotten_after_the_dedupe_window() {
        let bus = InProcess::new(InProcessConfig {
            dedupe_window: Duration::from_millis(100),
            ..InProcessConfig::default()
        });
        assert_eq!(bus.publish(&[envelope(1, "a")]).unwrap().new, 1);
        assert_eq!(bus.publish(&[envelope(1, "a")]).unwrap().duplicates, 1);
        std::thread::sleep(Duration::from_millis(150));
        assert_eq!(bus.publish(&[envelope(1, "a")]).unwrap().new, 1);
        assert_eq!(bus.held(), 2);
        assert_eq!(bus.shared.lock().recent.len(), 1);
    }

    #[test]
    fn settling_a_delivery_that_timed_out_is_harmless() {
        let policy = conformance::POLICY;
        let bus = InProcess::new(InProcessConfig {
            policy: DeliveryPolicy {
                ack_wait: Duration::from_millis(50),
                ..policy
            },
            ..InProcessConfig::default()
        });
        bus.publish(&[envelope(1, "a")]).unwrap();
        let stale = bus.pull(1, Duration::ZERO).unwrap().pop().unwrap();
        std::thread::sleep(Duration::from_millis(80));
        let fresh = bus.pull(1, Duration::from_secs(1)).unwrap().pop().unwrap();
        assert_eq!(fresh.attempt(), 2);
        // The stale receipt no longer names anything in flight.
        stale.nak(Duration::ZERO, "late").unwrap();
        assert!(bus.pull(1, Duration::ZERO).unwrap().is_empty());
        fresh.ack().unwrap();
        assert_eq!(bus.held(), 0);
    }
}
