//! The inbox's queue counts, shared by everyone looking at a workspace.
//!
//! Every inbox page shows how many cases each queue holds. Most of those counts (open,
//! unassigned, breached, pending, snoozed, resolved, each team's) are the same for every
//! agent of a workspace and cost a pass over its cases: at 100,000 cases about 25 ms of CPU,
//! which 50 agents paging through queues on two cores turned into seconds of waiting
//! (`examples/inbox_bench.rs`). So this process counts them once for everybody: a workspace's
//! shared counts are recounted when a case or message of it changed (as the live feed tells)
//! and the last count is at least [`SETTLE`] old, or when the last count is [`MAX_AGE`] old,
//! because time alone moves cases into *breached* and out of *snoozed*. A recount runs on a
//! thread of its own while pages take the last count and say it is settling (only the very
//! first count of a workspace is waited for), so no page waits for a count.
//!
//! The counts of one person's queues (*mine*, *mentions*) are cheap index lookups and are
//! always counted on the spot. A page's counts are thus at most [`SETTLE`] and a count behind
//! a change; an open page refreshes itself after a change late enough to see it, and again
//! while its counts settle (`inbox.js`).

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use needle_bus::{Event, Feed};
use needle_store::cases::{CaseStore, Queue};
use time::OffsetDateTime;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::TryRecvError;

/// After a change, shared counts are recounted at most this often.
pub const SETTLE: Duration = Duration::from_secs(1);
/// Shared counts are recounted at least this often, changes or not.
pub const MAX_AGE: Duration = Duration::from_secs(10);

/// Live events after which a workspace's counts may be different.
const CHANGES: [&str; 2] = [Event::MESSAGE_STORED, crate::cases::CASE_CHANGED];

/// A page's queue counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Counts {
    /// One per queue asked for, in that order.
    pub counts: Vec<u64>,
    /// False when the shared ones are an older count while a new one is being made: the page
    /// says so, and `inbox.js` fetches it again shortly.
    pub settled: bool,
}

/// Shared queue counts per workspace, in this process.
pub struct QueueCounts {
    settle: Duration,
    max_age: Duration,
    events: Mutex<Receiver<Event>>,
    changes: Mutex<Changes>,
    slots: Mutex<HashMap<i64, Arc<Slot>>>,
}

/// One workspace's shared counts.
#[derive(Default)]
struct Slot {
    state: Mutex<SlotState>,
    /// Told when a count ends, for those who had no count to take meanwhile.
    done: Condvar,
}

#[derive(Default)]
struct SlotState {
    counted: Option<Counted>,
    /// A request is counting now.
    counting: bool,
}

/// Marks the end of a count, whether it succeeded, failed or panicked.
struct Counting<'a>(&'a Slot);

impl Drop for Counting<'_> {
    fn drop(&mut self) {
        lock(&self.0.state).counting = false;
        self.0.done.notify_all();
    }
}

/// When each workspace last changed, as far as this process has heard.
#[derive(Default)]
struct Changes {
    by_workspace: HashMap<i64, Instant>,
    /// When the feed last dropped events on us: every workspace may have changed then.
    missed: Option<Instant>,
}

/// One workspace's last shared count.
struct Counted {
    /// When counting began: a change after this may be missing from `counts`.
    began: Instant,
    queues: Vec<Queue>,
    counts: Vec<u64>,
}

impl QueueCounts {
    pub fn new(feed: &Feed) -> QueueCounts {
        QueueCounts::with_timing(feed, SETTLE, MAX_AGE)
    }

    pub fn with_timing(feed: &Feed, settle: Duration, max_age: Duration) -> QueueCounts {
        QueueCounts {
            settle,
            max_age,
            events: Mutex::new(feed.subscribe()),
            changes: Mutex::default(),
            slots: Mutex::default(),
        }
    }

    /// How many cases each of `queues` holds in the workspace, in their order: one
    /// person's queues counted now, the others from the shared count.
    pub fn count(
        &self,
        store: Arc<dyn CaseStore>,
        workspace_id: i64,
        queues: &[Queue],
        now: OffsetDateTime,
    ) -> needle_store::Result<Counts> {
        let (personal, shared): (Vec<&Queue>, Vec<&Queue>) =
            queues.iter().partition(|q| is_personal(q));
        let personal: Vec<Queue> = personal.into_iter().cloned().collect();
        let shared: Vec<Queue> = shared.into_iter().cloned().collect();
        let mut personal_counts = store.count_cases(workspace_id, &personal, now)?.into_iter();
        let recount = shared.clone();
        let (shared_counts, settled) = self.shared(workspace_id, &shared, move || {
            store.count_cases(workspace_id, &recount, now)
        })?;
        let mut shared_counts = shared_counts.into_iter();
        let counts = queues
            .iter()
            .map(|q| {
                let next = if is_personal(q) {
                    personal_counts.next()
                } else {
                    shared_counts.next()
                };
                next.expect("a count per queue")
            })
            .collect();
        Ok(Counts { counts, settled })
    }

    /// The shared counts of `queues`, and whether they are up to date: the last count when
    /// it is fresh enough; else the last count all the same while `count` runs on a thread of
    /// its own (or already runs for somebody else); else, when there is no count yet, what
    /// `count` says now.
    fn shared<E>(
        &self,
        workspace_id: i64,
        queues: &[Queue],
        count: impl FnOnce() -> Result<Vec<u64>, E> + Send + 'static,
    ) -> Result<(Vec<u64>, bool), E>
    where
        E: std::fmt::Display + 'static,
    {
        if queues.is_empty() {
            return Ok((Vec::new(), true));
        }
        let slot = lock(&self.slots).entry(workspace_id).or_default().clone();
        let mut state = lock(&slot.state);
        loop {
            if let Some(last) = state.counted.as_ref().filter(|c| c.queues == queues) {
                let counts = last.counts.clone();
                if self.fresh(last, self.last_change(workspace_id)) {
                    return Ok((counts, true));
                }
                if !state.counting {
                    state.counting = true;
                    let (slot, queues) = (slot.clone(), queues.to_vec());
                    std::thread::spawn(move || {
                        if let Err(e) = recount(&slot, queues, count) {
                            tracing::warn!(error = %e, workspace_id, "queue counts");
                        }
                    });
                }
                return Ok((counts, false));
            }
            if !state.counting {
                break;
            }
            state = slot
                .done
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        state.counting = true;
        drop(state);
        recount(&slot, queues.to_vec(), count).map(|counts| (counts, true))
    }

    fn fresh(&self, counted: &Counted, changed: Option<Instant>) -> bool {
        let age = counted.began.elapsed();
        let missed_a_change = changed.is_some_and(|at| at >= counted.began);
        age < self.max_age && (!missed_a_change || age < self.settle)
    }

    /// Reads the feed's news so far, and says when the workspace last changed.
    fn last_change(&self, workspace_id: i64) -> Option<Instant> {
        let mut changes = lock(&self.changes);
        let mut events = lock(&self.events);
        loop {
            match events.try_recv() {
                Ok(event) if CHANGES.contains(&event.kind.as_str()) => {
                    changes
                        .by_workspace
                        .insert(event.workspace_id, Instant::now());
                }
                Ok(_) => {}
                Err(TryRecvError::Lagged(_)) => changes.missed = Some(Instant::now()),
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        changes
            .by_workspace
            .get(&workspace_id)
            .copied()
            .max(changes.missed)
    }
}

/// Counts `queues` into the slot, whose `counting` the caller has set.
fn recount<E>(
    slot: &Slot,
    queues: Vec<Queue>,
    count: impl FnOnce() -> Result<Vec<u64>, E>,
) -> Result<Vec<u64>, E> {
    let _counting = Counting(slot);
    let began = Instant::now();
    let counts = count()?;
    lock(&slot.state).counted = Some(Counted {
        began,
        queues,
        counts: counts.clone(),
    });
    Ok(counts)
}

/// Queues whose count depends on who is asking.
fn is_personal(queue: &Queue) -> bool {
    matches!(queue, Queue::Mine(_) | Queue::Mentioned(_))
}

/// A poisoned lock only means a count panicked; what it guards is still whole.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::convert::Infallible;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn queues() -> Vec<Queue> {
        vec![Queue::Open, Queue::Team("care".into())]
    }

    /// What the cache says, where a count would answer `answer`; returns once any recount
    /// this started is over.
    fn ask(cache: &QueueCounts, ws: i64, queues: &[Queue], answer: u64) -> (Vec<u64>, bool) {
        let n = queues.len();
        let got = cache
            .shared(ws, queues, move || Ok::<_, Infallible>(vec![answer; n]))
            .unwrap();
        recounted(cache, ws);
        got
    }

    /// Waits for the workspace's recount, if one runs.
    fn recounted(cache: &QueueCounts, ws: i64) {
        let Some(slot) = lock(&cache.slots).get(&ws).cloned() else {
            return;
        };
        let mut state = lock(&slot.state);
        while state.counting {
            state = slot.done.wait(state).unwrap();
        }
    }

    fn case_changed(feed: &Feed, ws: i64) {
        feed.announce(Event::new(ws, crate::cases::CASE_CHANGED, json!({"id": 3})));
    }

    #[test]
    fn counts_once_and_again_after_a_change() {
        let feed = Feed::local();
        let cache = QueueCounts::with_timing(&feed, Duration::ZERO, Duration::from_secs(60));
        let one = &queues()[..1];
        assert_eq!(ask(&cache, 1, &queues(), 5), (vec![5, 5], true));
        assert_eq!(ask(&cache, 1, &queues(), 6), (vec![5, 5], true));
        // Another workspace, and another set of queues, are counted on their own.
        assert_eq!(ask(&cache, 2, &queues(), 7), (vec![7, 7], true));
        assert_eq!(ask(&cache, 1, one, 8), (vec![8], true));
        assert_eq!(ask(&cache, 1, one, 9), (vec![8], true));
        // Events that change no count keep the count.
        feed.announce(Event::new(1, Event::TOPIC_CHANGED, json!({})));
        assert_eq!(ask(&cache, 1, one, 9), (vec![8], true));
        // A case change in workspace 1: the last count, unsettled, while it is counted again.
        case_changed(&feed, 1);
        assert_eq!(ask(&cache, 1, one, 10), (vec![8], false));
        assert_eq!(ask(&cache, 1, one, 11), (vec![10], true));
        assert_eq!(ask(&cache, 2, &queues(), 12), (vec![7, 7], true));
        feed.announce(Event::new(2, Event::MESSAGE_STORED, json!({})));
        assert_eq!(ask(&cache, 2, &queues(), 13), (vec![7, 7], false));
        assert_eq!(ask(&cache, 2, &queues(), 14), (vec![13, 13], true));
        assert_eq!(ask(&cache, 1, one, 15), (vec![10], true));
    }

    #[test]
    fn a_change_waits_for_the_settling_time_and_age_alone_recounts() {
        let feed = Feed::local();
        let settle = Duration::from_millis(300);
        let cache = QueueCounts::with_timing(&feed, settle, Duration::from_secs(60));
        assert_eq!(ask(&cache, 1, &queues(), 1), (vec![1, 1], true));
        case_changed(&feed, 1);
        assert_eq!(ask(&cache, 1, &queues(), 2), (vec![1, 1], true));
        std::thread::sleep(settle);
        assert_eq!(ask(&cache, 1, &queues(), 3), (vec![1, 1], false));
        assert_eq!(ask(&cache, 1, &queues(), 4), (vec![3, 3], true));

        let max_age = Duration::from_millis(200);
        let aging = QueueCounts::with_timing(&feed, settle, max_age);
        assert_eq!(ask(&aging, 1, &queues(), 1), (vec![1, 1], true));
        assert_eq!(ask(&aging, 1, &queues(), 2), (vec![1, 1], true));
        std::thread::sleep(max_age);
        assert_eq!(ask(&aging, 1, &queues(), 3), (vec![1, 1], false));
        assert_eq!(ask(&aging, 1, &queues(), 4), (vec![3, 3], true));
    }

    #[test]
    fn events_dropped_by_a_full_feed_count_as_changes_everywhere() {
        let feed = Feed::local();
        let cache = QueueCounts::with_timing(&feed, Duration::ZERO, Duration::from_secs(60));
        assert_eq!(ask(&cache, 1, &queues(), 1), (vec![1, 1], true));
        for _ in 0..5_000 {
            feed.announce(Event::new(9, Event::TOPIC_CHANGED, json!({})));
        }
        assert_eq!(ask(&cache, 1, &queues(), 2), (vec![1, 1], false));
        assert_eq!(ask(&cache, 1, &queues(), 3), (vec![2, 2], true));
    }

    #[test]
    fn the_first_count_is_made_once_for_everyone_asking() {
        let feed = Feed::local();
        let cache = QueueCounts::new(&feed);
        let counted = Arc::new(AtomicUsize::new(0));
        std::thread::scope(|s| {
            for _ in 0..8 {
                let counted = counted.clone();
                let cache = &cache;
                s.spawn(move || {
                    let got = cache
                        .shared(1, &queues(), move || {
                            counted.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(50));
                            Ok::<_, Infallible>(vec![4, 2])
                        })
                        .unwrap();
                    assert_eq!(got, (vec![4, 2], true));
                });
            }
        });
        assert_eq!(counted.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn nobody_waits_for_a_recount_and_only_one_runs() {
        let feed = Feed::local();
        let cache = QueueCounts::with_timing(&feed, Duration::ZERO, Duration::from_secs(60));
        assert_eq!(ask(&cache, 1, &queues(), 1), (vec![1, 1], true));
        case_changed(&feed, 1);
        let (release, released) = std::sync::mpsc::channel::<()>();
        let slow = cache
            .shared(1, &queues(), move || {
                released.recv().unwrap();
                Ok::<_, Infallible>(vec![2, 2])
            })
            .unwrap();
        assert_eq!(slow, (vec![1, 1], false), "the recount runs elsewhere");
        let meanwhile = cache
            .shared(1, &queues(), || Ok::<_, Infallible>(vec![3, 3]))
            .unwrap();
        assert_eq!(meanwhile, (vec![1, 1], false));
        release.send(()).unwrap();
        recounted(&cache, 1);
        assert_eq!(ask(&cache, 1, &queues(), 4), (vec![2, 2], true));
    }

    #[test]
    fn a_failed_count_is_not_kept() {
        let feed = Feed::local();
        let cache = QueueCounts::with_timing(&feed, Duration::ZERO, Duration::from_secs(60));
        let failed = cache.shared(1, &queues(), || Err::<Vec<u64>, _>("disk on fire"));
        assert_eq!(failed, Err("disk on fire"));
        assert_eq!(ask(&cache, 1, &queues(), 6), (vec![6, 6], true));
        case_changed(&feed, 1);
        let stale = cache.shared(1, &queues(), || Err::<Vec<u64>, _>("disk on fire"));
        assert_eq!(stale, Ok((vec![6, 6], false)));
        recounted(&cache, 1);
        assert_eq!(ask(&cache, 1, &queues(), 7), (vec![6, 6], false));
        assert_eq!(ask(&cache, 1, &queues(), 8), (vec![7, 7], true));
    }
}
