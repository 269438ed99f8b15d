//! Streams that wake the connector runner: for each Mastodon connection that reads
//! notifications, a thread follows the streaming API; for each mailbox, a thread keeps an
//! IMAP IDLE open. Either marks the connection due at once when something arrives, so it is
//! read within a tick instead of at the next poll. Polling stays the source of truth; a
//! stream that cannot connect (an instance without streaming, a server without IDLE) backs
//! off and polling carries on alone.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use needle_connect::email::{EmailConfig, watch_mailbox};
use needle_connect::mastodon::{MastodonConfig, follow_mentions};
use needle_connect::{ConnectorConfig, ConnectorError, Outbound};
use needle_store::connections::Connection;

/// Connections a stream said have something new.
pub type Woken = Arc<Mutex<HashSet<i64>>>;

/// The first wait before reconnecting a stream; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_secs(2);
const MAX_PAUSE: Duration = Duration::from_secs(120);

struct Running {
    /// The settings the stream was started with: a change restarts it.
    settings: String,
    stop: Arc<AtomicBool>,
}

/// The streams of the connections that have one.
pub struct Streams {
    outbound: Outbound,
    woken: Woken,
    running: HashMap<i64, Running>,
}

impl Streams {
    pub fn new(outbound: Outbound) -> Streams {
        Streams {
            outbound,
            woken: Arc::new(Mutex::new(HashSet::new())),
            running: HashMap::new(),
        }
    }

    /// Whether a stream marked the connection due; clears the mark.
    pub fn take_woken(&self, connection_id: i64) -> bool {
        self.woken
            .lock()
            .expect("woken connections")
            .remove(&connection_id)
    }

    /// Starts streams for the connections that want one, and stops those of connections
    /// that are gone, disabled or changed.
    pub fn sync(&mut self, connections: &[Connection]) {
        let mut wanted: HashMap<i64, (String, Watch)> = HashMap::new();
        for c in connections.iter().filter(|c| c.spec.enabled) {
            let Some(secret) = c.spec.secret.clone() else {
                continue;
            };
            let watch = match ConnectorConfig::parse(&c.spec.kind, &c.spec.config, true) {
                Ok(ConnectorConfig::Mastodon(config))
                    if config.notifications && config.streaming =>
                {
                    Watch::Mastodon(config, secret.clone())
                }
                Ok(ConnectorConfig::Email(config)) if config.idle => {
                    Watch::Mailbox(config, secret.clone())
                }
                _ => continue,
            };
            // A changed secret restarts the stream too; only a digest of it is kept.
            let settings = format!("{}{:x}", c.spec.config, fingerprint(&secret));
            wanted.insert(c.id, (settings, watch));
        }
        self.running.retain(|id, running| {
            let keep = wanted.get(id).is_some_and(|w| w.0 == running.settings);
            if !keep {
                running.stop.store(true, Ordering::SeqCst);
            }
            keep
        });
        for (id, (settings, watch)) in wanted {
            if self.running.contains_key(&id) {
                continue;
            }
            let stop = Arc::new(AtomicBool::new(false));
            let (outbound, woken, flag) = (self.outbound.clone(), self.woken.clone(), stop.clone());
            // Not joined: a thread blocked in a read sees `stop` at the next heartbeat.
            let spawned = std::thread::Builder::new()
                .name("needle-stream".into())
                .spawn(move || follow(&outbound, &watch, id, &woken, &flag));
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "could not start a stream thread");
                continue;
            }
            self.running.insert(id, Running { settings, stop });
        }
    }
}

impl Drop for Streams {
    fn drop(&mut self) {
        for running in self.running.values() {
            running.stop.store(true, Ordering::SeqCst);
        }
    }
}

/// What a stream thread follows.
enum Watch {
    Mastodon(MastodonConfig, String),
    Mailbox(EmailConfig, String),
}

impl Watch {
    /// Follows until the stream ends or fails, or `stop` is set.
    fn once(
        &self,
        outbound: &Outbound,
        stop: &AtomicBool,
        nudge: impl FnMut(),
    ) -> Result<(), ConnectorError> {
        match self {
            Watch::Mastodon(config, token) => follow_mentions(outbound, config, token, stop, nudge),
            Watch::Mailbox(config, password) => {
                watch_mailbox(config, password, outbound.policy(), stop, nudge)
            }
        }
    }
}

/// A short digest of a secret, so that a change of it is noticed without keeping it twice.
fn fingerprint(secret: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    secret.hash(&mut hasher);
    hasher.finish()
}

fn follow(outbound: &Outbound, watch: &Watch, id: i64, woken: &Woken, stop: &AtomicBool) {
    let mut pause = FIRST_PAUSE;
    while !stop.load(Ordering::SeqCst) {
        let nudge = || {
            woken.lock().expect("woken connections").insert(id);
        };
        match watch.once(outbound, stop, nudge) {
            Ok(()) => return,
            Err(e) => {
                tracing::debug!(connection = id, reason = %e, "stream closed; polling goes on")
            }
        }
        let until = std::time::Instant::now() + pause;
        while std::time::Instant::now() < until && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(200));
        }
        pause = (pause * 2).min(MAX_PAUSE);
    }
}
