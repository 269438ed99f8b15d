//! Streams that wake the connector runner: for each Mastodon connection that reads
//! notifications, a thread follows the streaming API and marks the connection due at once
//! when a mention arrives, so it is read within a tick instead of at the next poll. Polling
//! stays the source of truth; a stream that cannot connect (an instance without streaming)
//! backs off and polling carries on alone.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use needle_connect::mastodon::{MastodonConfig, follow_mentions};
use needle_connect::{ConnectorConfig, Outbound};
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
        let mut wanted: HashMap<i64, (String, MastodonConfig, String)> = HashMap::new();
        for c in connections.iter().filter(|c| c.spec.enabled) {
            if let (Ok(ConnectorConfig::Mastodon(config)), Some(token)) = (
                ConnectorConfig::parse(&c.spec.kind, &c.spec.config, c.spec.secret.is_some()),
                c.spec.secret.clone(),
            ) && config.notifications
                && config.streaming
            {
                let settings = format!("{}{}", c.spec.config, token.len());
                wanted.insert(c.id, (settings, config, token));
            }
        }
        self.running.retain(|id, running| {
            let keep = wanted.get(id).is_some_and(|w| w.0 == running.settings);
            if !keep {
                running.stop.store(true, Ordering::SeqCst);
            }
            keep
        });
        for (id, (settings, config, token)) in wanted {
            if self.running.contains_key(&id) {
                continue;
            }
            let stop = Arc::new(AtomicBool::new(false));
            let (outbound, woken, flag) = (self.outbound.clone(), self.woken.clone(), stop.clone());
            // Not joined: a thread blocked in a read sees `stop` at the next heartbeat.
            let spawned = std::thread::Builder::new()
                .name("needle-stream".into())
                .spawn(move || follow(&outbound, &config, &token, id, &woken, &flag));
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

fn follow(
    outbound: &Outbound,
    config: &MastodonConfig,
    token: &str,
    id: i64,
    woken: &Woken,
    stop: &AtomicBool,
) {
    let mut pause = FIRST_PAUSE;
    while !stop.load(Ordering::SeqCst) {
        let nudge = || {
            woken.lock().expect("woken connections").insert(id);
        };
        match follow_mentions(outbound, config, token, stop, nudge) {
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
