//! Live events: what happened just now (a message stored, a topic changed), fanned out to
//! every process so that a page open on web process A sees what worker B did, and workers
//! see a topic saved on A without waiting for their reload timer.
//!
//! Events are notifications, not records: the store is the truth. Delivery is best effort
//! (a subscriber that falls behind skips events and is told how many, a process that dies
//! between a commit and its announcement announces nothing), so every consumer must be able
//! to catch up from the store, as a reloaded page does.
//!
//! A [`Feed`] is the process's end: [`Feed::subscribe`] hands out receivers,
//! [`Feed::announce`] sends. A local feed keeps events inside the process (embedded mode);
//! a feed relayed through a [`Transport`] publishes to every process, its own included.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::broadcast;

use crate::{BusError, Transport};

/// Events a subscriber may fall behind by before it starts skipping.
const FEED_CAPACITY: usize = 4096;

/// One thing that happened, in one workspace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub workspace_id: i64,
    /// What happened: `message.stored`, `topic.changed`, …
    pub kind: String,
    /// The details, by kind (ids, not whole records: readers fetch what they show).
    pub data: Value,
}

impl Event {
    pub const MESSAGE_STORED: &'static str = "message.stored";
    pub const TOPIC_CHANGED: &'static str = "topic.changed";

    pub fn new(workspace_id: i64, kind: &str, data: Value) -> Event {
        Event {
            workspace_id,
            kind: kind.to_string(),
            data,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an event serialises")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Event, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// A process's end of the live events; cheap to clone.
#[derive(Clone)]
pub struct Feed {
    local: broadcast::Sender<Event>,
    relay: Option<Arc<dyn Transport>>,
}

impl Feed {
    /// Events stay in this process.
    pub fn local() -> Feed {
        Feed {
            local: broadcast::channel(FEED_CAPACITY).0,
            relay: None,
        }
    }

    /// Events go through `bus` to every process that follows it, this one included.
    pub fn relayed(bus: Arc<dyn Transport>) -> Result<Feed, BusError> {
        let feed = Feed {
            local: broadcast::channel(FEED_CAPACITY).0,
            relay: None,
        };
        bus.follow_events(feed.clone())?;
        Ok(Feed {
            relay: Some(bus),
            ..feed
        })
    }

    /// Every event announced from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.local.subscribe()
    }

    /// Sends an event to every subscriber. Never fails the caller: an event that cannot be
    /// relayed now is logged and dropped (see the module documentation).
    pub fn announce(&self, event: Event) {
        match &self.relay {
            None => self.deliver(event),
            Some(bus) => {
                if let Err(e) = bus.announce(&event) {
                    tracing::debug!(error = %e, kind = %event.kind, "event not relayed");
                }
            }
        }
    }

    /// Hands an event that arrived from the relay to this process's subscribers.
    pub fn deliver(&self, event: Event) {
        // No subscriber is not an error: nobody is watching.
        let _ = self.local.send(event);
    }
}

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed")
            .field("relayed", &self.relay.is_some())
            .field("subscribers", &self.local.receiver_count())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{InProcess, InProcessConfig};
    use serde_json::json;

    #[test]
    fn a_local_feed_reaches_every_subscriber_in_order() {
        let feed = Feed::local();
        let (mut a, mut b) = (feed.subscribe(), feed.subscribe());
        feed.announce(Event::new(1, Event::MESSAGE_STORED, json!({"seq": 1})));
        feed.announce(Event::new(
            2,
            Event::TOPIC_CHANGED,
            json!({"key": "refunds"}),
        ));
        for rx in [&mut a, &mut b] {
            assert_eq!(rx.try_recv().unwrap().data["seq"], 1);
            assert_eq!(rx.try_recv().unwrap().kind, Event::TOPIC_CHANGED);
            assert!(rx.try_recv().is_err());
        }
    }

    #[test]
    fn a_slow_subscriber_is_told_what_it_missed() {
        let feed = Feed::local();
        let mut rx = feed.subscribe();
        for seq in 0..FEED_CAPACITY + 10 {
            feed.announce(Event::new(1, Event::MESSAGE_STORED, json!({"seq": seq})));
        }
        assert!(matches!(
            rx.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(10))
        ));
        assert_eq!(rx.try_recv().unwrap().data["seq"], 10);
    }

    #[test]
    fn feeds_relayed_through_one_bus_hear_each_other() {
        let bus: Arc<dyn Transport> = Arc::new(InProcess::new(InProcessConfig::default()));
        let (a, b) = (
            Feed::relayed(bus.clone()).unwrap(),
            Feed::relayed(bus).unwrap(),
        );
        let (mut on_a, mut on_b) = (a.subscribe(), b.subscribe());
        a.announce(Event::new(7, Event::TOPIC_CHANGED, json!({"key": "x"})));
        assert_eq!(
            on_a.try_recv().unwrap().workspace_id,
            7,
            "the sender hears itself"
        );
        assert_eq!(on_b.try_recv().unwrap().workspace_id, 7);
    }

    #[test]
    fn events_round_trip_as_json() {
        let event = Event::new(3, Event::MESSAGE_STORED, json!({"seq": 9, "id": "m-1"}));
        assert_eq!(Event::from_bytes(&event.to_bytes()).unwrap(), event);
        assert!(Event::from_bytes(b"{\"kind\": 1}").is_err());
    }
}
