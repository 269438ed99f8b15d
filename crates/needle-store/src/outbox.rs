//! The outbox: everything Needle sends out, one row per delivery, with every attempt kept.
//!
//! Deliveries are queued with an idempotency key that is unique per connection (queueing the
//! same event twice queues it once) and sent by a worker that records each attempt: sent (with
//! the remote's receipt), to be retried at a time, or failed for good. A connection's
//! checkpoint can move in the same transaction as the deliveries it queued, so a producer that
//! follows the store (events for new messages) neither skips nor repeats after a crash.
//!
//! A trait of its own beside [`crate::Store`]; [`conformance`] says what every backend must do.

use serde_json::Value;
use time::OffsetDateTime;

use crate::Result;

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its first or next attempt.
    Queued,
    Sent,
    /// Given up on: an agent sees it and why.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Queued => "queued",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        match s {
            "queued" => Some(DeliveryStatus::Queued),
            "sent" => Some(DeliveryStatus::Sent),
            "failed" => Some(DeliveryStatus::Failed),
            _ => None,
        }
    }
}

/// One delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: i64,
    pub workspace_id: i64,
    pub connection_id: i64,
    /// The idempotency key, sent with every attempt.
    pub key: String,
    pub payload: Value,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub next_attempt_at: OffsetDateTime,
    pub last_error: Option<String>,
    /// What the remote answered when it took the delivery (its id for it, or the status).
    pub receipt: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A delivery to queue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDelivery {
    pub key: String,
    pub payload: Value,
}

/// What one attempt did.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryResult {
    Sent {
        receipt: String,
    },
    /// Failed for now; the next attempt is at `next_at`.
    Retry {
        reason: String,
        next_at: OffsetDateTime,
    },
    /// Failed for good.
    Failed {
        reason: String,
    },
}

/// One recorded attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryAttempt {
    pub at: OffsetDateTime,
    /// `sent`, `retry` or `failed`.
    pub outcome: String,
    pub detail: Option<String>,
}

/// Which deliveries to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeliveryFilter {
    pub connection_id: Option<i64>,
    pub status: Option<DeliveryStatus>,
    /// Only deliveries with a smaller id (the page before).
    pub before: Option<i64>,
}

/// Everything Needle asks of a store about the outbox.
pub trait OutboxStore: Send + Sync {
    /// Queues deliveries for a connection, due at once; a key the connection already has is
    /// skipped. When `checkpoint` is given, the connection's checkpoint is set to it in the
    /// same transaction. Returns how many were queued.
    fn enqueue(
        &self,
        workspace_id: i64,
        connection_id: i64,
        deliveries: &[NewDelivery],
        checkpoint: Option<&str>,
    ) -> Result<usize>;
    /// Queued deliveries due at `now`, the earliest due first, at most `limit`.
    fn due_deliveries(&self, now: OffsetDateTime, limit: usize) -> Result<Vec<Delivery>>;
    /// Records one attempt at `at` and what it did; a delivery no longer queued is left as
    /// it is (false).
    fn record_delivery(&self, id: i64, at: OffsetDateTime, result: &DeliveryResult)
    -> Result<bool>;
    /// A workspace's deliveries, newest first.
    fn deliveries(
        &self,
        workspace_id: i64,
        filter: &DeliveryFilter,
        limit: usize,
    ) -> Result<Vec<Delivery>>;
    fn delivery(&self, workspace_id: i64, id: i64) -> Result<Option<Delivery>>;
    /// The delivery a connection queued under `key`.
    fn delivery_by_key(&self, connection_id: i64, key: &str) -> Result<Option<Delivery>>;
    /// A delivery's attempts, oldest first.
    fn delivery_attempts(&self, id: i64) -> Result<Vec<DeliveryAttempt>>;
}

pub mod conformance {
    //! What every [`OutboxStore`] must do; run with `outbox_store_conformance_tests!`.

    use serde_json::json;

    use super::*;
    use crate::Store;
    use crate::connections::{ConnectionSpec, ConnectionStore};

    /// Generates one `#[test]` per check for a backend that is a `Store`, a
    /// `ConnectionStore` and an `OutboxStore`.
    #[macro_export]
    macro_rules! outbox_store_conformance_tests {
        ($open:expr) => {
            $crate::outbox_store_conformance_tests!(@each $open;
                deliveries_queue_once_per_key_with_the_checkpoint,
                attempts_are_kept_and_decide_the_status,
                deliveries_list_newest_first_by_connection_and_status);
        };
        (@each $open:expr; $($check:ident),*) => {
            $(
                #[test]
                fn $check() {
                    let (store, _guard) = ($open)();
                    $crate::outbox::conformance::$check(&*store);
                }
            )*
        };
    }

    /// A backend under test.
    pub trait All: Store + ConnectionStore + OutboxStore {}
    impl<T: Store + ConnectionStore + OutboxStore> All for T {}

    fn setup(store: &dyn All) -> (i64, i64) {
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        let (c, _) = store
            .put_connection(
                ws,
                &ConnectionSpec {
                    name: "crm-events".into(),
                    kind: "webhook_out".into(),
                    config: json!({"url": "https://crm.example/hooks"}),
                    secret: Some("k".into()),
                    enabled: true,
                },
            )
            .unwrap();
        (ws, c.id)
    }

    fn new(key: &str) -> NewDelivery {
        NewDelivery {
            key: key.into(),
            payload: json!({"event": "message.received", "key": key}),
        }
    }

    fn t(s: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000 + s).unwrap()
    }

    pub fn deliveries_queue_once_per_key_with_the_checkpoint(store: &dyn All) {
        let (ws, c) = setup(store);
        let queued = store
            .enqueue(ws, c, &[new("m:1"), new("m:2")], Some("2"))
            .unwrap();
        assert_eq!(queued, 2);
        let again = store
            .enqueue(ws, c, &[new("m:2"), new("m:3")], Some("3"))
            .unwrap();
        assert_eq!(again, 1, "m:2 was queued already");
        let connection = store.connection(ws, "crm-events").unwrap().unwrap();
        assert_eq!(connection.checkpoint.as_deref(), Some("3"));
        store.enqueue(ws, c, &[], Some("9")).unwrap();
        let connection = store.connection(ws, "crm-events").unwrap().unwrap();
        assert_eq!(
            connection.checkpoint.as_deref(),
            Some("9"),
            "an empty batch moves it too"
        );

        let due = store
            .due_deliveries(OffsetDateTime::now_utc() + time::Duration::seconds(1), 10)
            .unwrap();
        let keys: Vec<&str> = due.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(keys, ["m:1", "m:2", "m:3"]);
        assert!(
            due.iter()
                .all(|d| d.status == DeliveryStatus::Queued && d.attempts == 0)
        );
        assert_eq!(due[0].payload["key"], "m:1");
        let by_key = store.delivery_by_key(c, "m:2").unwrap().unwrap();
        assert_eq!(by_key.id, due[1].id);
        assert!(store.delivery_by_key(c, "m:4").unwrap().is_none());
        assert_eq!(
            store
                .due_deliveries(OffsetDateTime::now_utc() + time::Duration::seconds(1), 2)
                .unwrap()
                .len(),
            2
        );
    }

    pub fn attempts_are_kept_and_decide_the_status(store: &dyn All) {
        let (ws, c) = setup(store);
        store.enqueue(ws, c, &[new("a"), new("b")], None).unwrap();
        let due = store.due_deliveries(t(10_000_000), 10).unwrap();
        let (a, b) = (due[0].id, due[1].id);

        let retry = DeliveryResult::Retry {
            reason: "answered 503".into(),
            next_at: t(10_000_060),
        };
        assert!(store.record_delivery(a, t(10_000_000), &retry).unwrap());
        let due: Vec<i64> = store
            .due_deliveries(t(10_000_030), 10)
            .unwrap()
            .iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(due, [b], "a waits for its next attempt");
        let due_later: Vec<i64> = store
            .due_deliveries(t(10_000_060), 10)
            .unwrap()
            .iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(due_later, [b, a], "earliest due first");
        let sent = DeliveryResult::Sent {
            receipt: "202 Accepted".into(),
        };
        assert!(store.record_delivery(a, t(10_000_061), &sent).unwrap());
        assert!(
            !store.record_delivery(a, t(10_000_062), &retry).unwrap(),
            "a sent delivery is final"
        );
        let failed = DeliveryResult::Failed {
            reason: "answered 404".into(),
        };
        assert!(store.record_delivery(b, t(10_000_001), &failed).unwrap());
        assert!(store.due_deliveries(t(20_000_000), 10).unwrap().is_empty());

        let a_now = store.delivery(ws, a).unwrap().unwrap();
        assert_eq!(a_now.status, DeliveryStatus::Sent);
        assert_eq!(a_now.attempts, 2);
        assert_eq!(a_now.receipt.as_deref(), Some("202 Accepted"));
        assert_eq!(a_now.last_error.as_deref(), Some("answered 503"));
        let b_now = store.delivery(ws, b).unwrap().unwrap();
        assert_eq!(b_now.status, DeliveryStatus::Failed);
        assert_eq!(b_now.last_error.as_deref(), Some("answered 404"));

        let attempts = store.delivery_attempts(a).unwrap();
        let outcomes: Vec<(&str, Option<&str>)> = attempts
            .iter()
            .map(|x| (x.outcome.as_str(), x.detail.as_deref()))
            .collect();
        assert_eq!(
            outcomes,
            [
                ("retry", Some("answered 503")),
                ("sent", Some("202 Accepted"))
            ]
        );
        assert_eq!(attempts[0].at, t(10_000_000));
        assert!(
            store.delivery(ws + 1, a).unwrap().is_none(),
            "per workspace"
        );
    }

    pub fn deliveries_list_newest_first_by_connection_and_status(store: &dyn All) {
        let (ws, c) = setup(store);
        let (other, _) = store
            .put_connection(
                ws,
                &ConnectionSpec {
                    name: "second".into(),
                    kind: "webhook_out".into(),
                    config: json!({"url": "https://b.example/"}),
                    secret: Some("k".into()),
                    enabled: true,
                },
            )
            .unwrap();
        store
            .enqueue(ws, c, &[new("1"), new("2"), new("3")], None)
            .unwrap();
        store.enqueue(ws, other.id, &[new("1")], None).unwrap();
        let all = store
            .deliveries(ws, &DeliveryFilter::default(), 10)
            .unwrap();
        assert_eq!(all.len(), 4);
        assert!(all.windows(2).all(|w| w[0].id > w[1].id), "newest first");
        let mine = DeliveryFilter {
            connection_id: Some(c),
            ..DeliveryFilter::default()
        };
        let page = store.deliveries(ws, &mine, 2).unwrap();
        let keys: Vec<&str> = page.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(keys, ["3", "2"]);
        let next = DeliveryFilter {
            before: Some(page[1].id),
            ..mine.clone()
        };
        let rest = store.deliveries(ws, &next, 2).unwrap();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].key, "1");
        store
            .record_delivery(
                rest[0].id,
                t(0),
                &DeliveryResult::Failed {
                    reason: "no".into(),
                },
            )
            .unwrap();
        let failed = DeliveryFilter {
            status: Some(DeliveryStatus::Failed),
            ..DeliveryFilter::default()
        };
        let failed = store.deliveries(ws, &failed, 10).unwrap();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].id, rest[0].id);
    }
}
