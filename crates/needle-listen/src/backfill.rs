//! Backfill: a topic version's history over the messages stored before it existed,
//! computed in the background, newest first (so recent history shows at once), one chunk
//! per transaction (so a crash resumes where it stopped, and progress is visible).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use needle_store::micros;
use needle_store::topics::{Backfill, Tag};

use crate::presearch::PresearchScratch;
use crate::{Listening, Result, TopicIndex, TopicRef, compile_topic, document_of_stored};

/// Messages per backfill step.
const CHUNK: usize = 2000;
/// How long a claim on a backfill lasts; renewed at every step.
const LEASE: Duration = Duration::from_secs(30);

fn now_us() -> i64 {
    micros(time::OffsetDateTime::now_utc())
}

/// Claims or renews this process's turn on a backfill.
fn claim(listening: &Listening, state: &Backfill) -> Result<bool> {
    let now = now_us();
    let until = now + LEASE.as_micros() as i64;
    Ok(listening.store().claim_backfill(
        state.topic_id,
        state.version,
        needle_store::lease_owner(),
        now,
        until,
    )?)
}

/// Wakes the worker when a backfill starts.
#[derive(Default)]
pub(crate) struct Signal {
    pending: Mutex<bool>,
    wake: Condvar,
}

impl Signal {
    pub(crate) fn wake(&self) {
        *self.pending.lock().expect("backfill signal") = true;
        self.wake.notify_all();
    }

    fn wait(&self, timeout: Duration) {
        let mut pending = self.pending.lock().expect("backfill signal");
        if !*pending {
            pending = self
                .wake
                .wait_timeout(pending, timeout)
                .expect("backfill signal")
                .0;
        }
        *pending = false;
    }
}

/// The background worker; stops when dropped.
pub struct Worker {
    stop: Arc<AtomicBool>,
    listening: Arc<Listening>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    pub fn start(listening: Arc<Listening>) -> Worker {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (listening, stop) = (listening.clone(), stop.clone());
            std::thread::Builder::new()
                .name("needle-backfill".into())
                .spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        if let Err(e) = run_pending(&listening, &stop) {
                            tracing::error!(error = %e, "backfill failed; will retry");
                        }
                        listening.backfills.wait(Duration::from_secs(2));
                    }
                })
                .expect("spawn the backfill thread")
        };
        Worker {
            stop,
            listening,
            thread: Some(thread),
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.listening.backfills.wake();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Runs every unfinished backfill to its end (or until `stop`).
pub fn run_pending(listening: &Listening, stop: &AtomicBool) -> Result<()> {
    for backfill in listening.store().unfinished_backfills()? {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        run_one(listening, backfill, stop)?;
    }
    Ok(())
}

fn run_one(listening: &Listening, mut state: Backfill, stop: &AtomicBool) -> Result<()> {
    let store = listening.store();
    let versions = store.topic_versions(state.topic_id)?;
    let Some(version) = versions.iter().find(|v| v.version == state.version) else {
        return Ok(());
    };
    let workspace_id = store
        .topics(None)?
        .into_iter()
        .find(|t| t.id == state.topic_id)
        .map(|t| (t.workspace_id, t.key));
    let Some((workspace_id, key)) = workspace_id else {
        // The topic was deleted: its backfill has nothing left to show.
        store.advance_backfill(state.topic_id, state.version, 0, 0, &[])?;
        return Ok(());
    };
    let topic = compile_topic(
        &key,
        &version.level,
        &version.query,
        version.exclude.as_deref(),
    )?;
    let single = TopicIndex::new(vec![(
        TopicRef {
            id: state.topic_id,
            key,
            version: state.version,
        },
        topic,
    )]);
    let mut scratch = PresearchScratch::default();
    while !state.is_finished() && !stop.load(Ordering::SeqCst) {
        if !claim(listening, &state)? {
            // Another process is on it.
            return Ok(());
        }
        let chunk = store.backfill_chunk(workspace_id, state.next_seq, CHUNK)?;
        let tags: Vec<Tag> = chunk
            .iter()
            .filter(|m| {
                !single
                    .matches(&document_of_stored(m), &mut scratch)
                    .is_empty()
            })
            .map(|m| Tag {
                seq: m.seq,
                topic_id: state.topic_id,
                version: state.version,
                created_at_us: micros(m.message.created_at),
            })
            .collect();
        let next = if chunk.len() < CHUNK {
            let version_saved = version.created_at;
            if !tail_pass(
                listening,
                &single,
                &state,
                workspace_id,
                version_saved,
                stop,
            )? {
                return Ok(());
            }
            0
        } else {
            chunk.last().map_or(0, |m| m.seq)
        };
        state = store.advance_backfill(
            state.topic_id,
            state.version,
            next,
            chunk.len() as u64,
            &tags,
        )?;
    }
    Ok(())
}

/// Messages stored after the backfill's upper bound but before every other process had
/// reloaded its topics were tagged by no one: look at them once that time has passed.
/// Returns false when stopped before it could.
fn tail_pass(
    listening: &Listening,
    single: &TopicIndex<TopicRef>,
    state: &Backfill,
    workspace_id: i64,
    version_saved: time::OffsetDateTime,
    stop: &AtomicBool,
) -> Result<bool> {
    let lag = listening.others_lag();
    if lag.is_zero() {
        return Ok(true);
    }
    let seen_by_all = version_saved + lag;
    while time::OffsetDateTime::now_utc() < seen_by_all {
        if stop.load(Ordering::SeqCst) {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let store = listening.store();
    let end = store.max_seq()?;
    let mut after = state.upto_seq;
    let mut scratch = PresearchScratch::default();
    while after < end {
        let chunk = store.scan(after, CHUNK)?;
        let Some(last) = chunk.last() else { break };
        after = last.seq;
        let tags: Vec<Tag> = chunk
            .iter()
            .filter(|m| m.workspace_id == workspace_id && m.seq <= end)
            .filter(|m| {
                !single
                    .matches(&document_of_stored(m), &mut scratch)
                    .is_empty()
            })
            .map(|m| Tag {
                seq: m.seq,
                topic_id: state.topic_id,
                version: state.version,
                created_at_us: micros(m.message.created_at),
            })
            .collect();
        store.tag(&tags)?;
    }
    Ok(true)
}
