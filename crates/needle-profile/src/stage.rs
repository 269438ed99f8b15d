//! The pipeline stage that turns every stored message's author into identities and keeps
//! computed traits up to date, as soon as a batch is stored (so an API answer that follows
//! an ingest already shows the profile); and the follower that does the same for messages
//! other processes stored (pipeline workers in a cluster, an import beside a server).

use std::sync::Arc;

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use needle_core::{Direction, Message};
use needle_pipeline::{Batch, Outcome, Stage, StageError};
use needle_store::micros;

use crate::engine::{Author, Sighting};
use crate::service::ProfileService;

pub struct ProfilesStage {
    service: Arc<ProfileService>,
}

impl ProfilesStage {
    pub fn new(service: Arc<ProfileService>) -> ProfilesStage {
        ProfilesStage { service }
    }
}

/// What profiles read of a message. `sentiment` is the classifier's score when known.
pub fn sighting_of(message: &Message, seq: Option<i64>, sentiment: Option<f32>) -> Sighting<'_> {
    let a = &message.author;
    Sighting {
        channel: &message.channel,
        message_id: &message.id,
        seq,
        at: micros(message.created_at),
        outbound: message.direction == Direction::Outbound,
        author: Author {
            id: a.id.as_deref(),
            handle: a.handle.as_deref(),
            email: a.email.as_deref(),
            phone: a.phone.as_deref(),
            name: a.name.as_deref(),
            country: a.country.as_deref(),
        },
        sentiment,
    }
}

impl Stage for ProfilesStage {
    fn name(&self) -> &'static str {
        "profiles"
    }

    fn process(&mut self, batch: &mut Batch) -> Result<(), StageError> {
        if !batch
            .items
            .iter()
            .any(|item| matches!(item.outcome, Outcome::Stored(_)))
        {
            return Ok(());
        }
        // Follows the store from the resolution cursor, so this batch's messages are resolved
        // along with any a crash or another process left behind. A failure leaves the
        // messages stored (they are not failed) and the cursor where it was: the next batch,
        // or the follower, resolves them.
        if let Err(e) = self.service.resolve_stored() {
            tracing::error!(error = %e, "could not resolve message authors into profiles");
        }
        Ok(())
    }
}

/// How long a resolver's lease lasts; renewed at every look, so another process takes over
/// this long after the holder died.
const LEASE: Duration = Duration::from_secs(10);

/// Resolves message authors in the background by following the store: one process of a
/// cluster at a time (the holder of the resolution lease) does the work.
pub struct ProfileFollower {
    stop: std::sync::Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ProfileFollower {
    /// Looks every `every` for stored messages the cursor has not passed.
    pub fn start(service: Arc<ProfileService>, every: Duration) -> ProfileFollower {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("needle-profiles-follow".into())
                .spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        if let Err(e) = follow_once(&service) {
                            tracing::warn!(error = %e, "could not resolve message authors; will retry");
                        }
                        std::thread::sleep(every);
                    }
                })
                .expect("spawn the profile follower")
        };
        ProfileFollower {
            stop,
            thread: Some(thread),
        }
    }
}

fn follow_once(service: &ProfileService) -> crate::service::Result<()> {
    let now = micros(time::OffsetDateTime::now_utc());
    let store = service.store();
    if store.take_resolution_lease(
        needle_store::lease_owner(),
        now,
        now + LEASE.as_micros() as i64,
    )? && store.max_seq()? > store.profiles_resolved_seq()?
    {
        service.resolve_stored()?;
    }
    Ok(())
}

impl Drop for ProfileFollower {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
