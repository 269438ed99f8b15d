//! Connections: the channels a workspace has configured (a feed to poll, a webhook endpoint),
//! each with its settings, its secret, its checkpoint and its health.
//!
//! The checkpoint of a pulling source is written by [`crate::Store::insert_from_source`], in
//! the transaction that stores the messages it produced: after a crash the source goes on
//! from the last committed batch, so nothing is lost and nothing is stored twice. Health is
//! written by [`ConnectionStore::record_attempt`] after each try.
//!
//! A trait of its own beside [`crate::Store`]; [`conformance`] says what every backend must do.

use serde_json::Value;
use time::OffsetDateTime;

use crate::Result;

/// Where a pulling source goes on from, saved with the messages it produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceCheckpoint {
    pub connection_id: i64,
    /// The source's own encoding (a feed's validators, a mailbox's UID).
    pub value: String,
}

/// What a connection is, as the operator configures it.
#[derive(Clone, PartialEq)]
pub struct ConnectionSpec {
    /// Unique in its workspace; names the connection in the API and in metrics.
    pub name: String,
    /// `rss`, `webhook`, …: which connector runs it.
    pub kind: String,
    /// The connector's settings, without the secret.
    pub config: Value,
    /// A signing key or password; stored, never shown back.
    pub secret: Option<String>,
    pub enabled: bool,
}

impl std::fmt::Debug for ConnectionSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionSpec")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("config", &self.config)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("enabled", &self.enabled)
            .finish()
    }
}

/// A stored connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    pub id: i64,
    pub workspace_id: i64,
    pub spec: ConnectionSpec,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub checkpoint: Option<String>,
    pub checkpoint_at: Option<OffsetDateTime>,
    pub health: Health,
}

impl Connection {
    /// `disabled`, `failing` (the last attempt failed), `waiting` (never tried) or `ok`.
    pub fn status(&self) -> &'static str {
        if !self.spec.enabled {
            "disabled"
        } else if self.health.consecutive_failures > 0 {
            "failing"
        } else if self.health.last_attempt_at.is_none() {
            "waiting"
        } else {
            "ok"
        }
    }
}

/// What the connection's recent attempts did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Health {
    pub last_attempt_at: Option<OffsetDateTime>,
    pub last_success_at: Option<OffsetDateTime>,
    /// The last failure's reason, kept after later successes so the API can show it.
    pub last_error: Option<String>,
    pub last_error_at: Option<OffsetDateTime>,
    /// Failures since the last success: 0 when healthy.
    pub consecutive_failures: i64,
    /// Messages the connection produced, new or not, since it was created.
    pub messages_total: i64,
    pub errors_total: i64,
}

/// One attempt's result, for [`ConnectionStore::record_attempt`].
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    /// It worked and produced this many messages.
    Succeeded { messages: u64 },
    /// It failed for this reason (already free of secrets).
    Failed { reason: String },
}

/// Everything Needle asks of a store about connections.
pub trait ConnectionStore: Send + Sync {
    /// Creates the connection, or replaces the one of that name (true when created). A
    /// replaced connection whose kind or settings changed starts again without a checkpoint:
    /// the old one belongs to another source.
    fn put_connection(
        &self,
        workspace_id: i64,
        spec: &ConnectionSpec,
    ) -> Result<(Connection, bool)>;
    fn connection(&self, workspace_id: i64, name: &str) -> Result<Option<Connection>>;
    /// A workspace's connections (every workspace's with `None`), by workspace then name.
    fn connections(&self, workspace_id: Option<i64>) -> Result<Vec<Connection>>;
    /// False when there was no such connection.
    fn remove_connection(&self, workspace_id: i64, name: &str) -> Result<bool>;
    /// Records one attempt in the connection's health; a removed connection is ignored.
    fn record_attempt(
        &self,
        connection_id: i64,
        at: OffsetDateTime,
        attempt: &Attempt,
    ) -> Result<()>;
}

pub mod conformance {
    //! What every [`ConnectionStore`] must do; run with `connection_store_conformance_tests!`.

    use serde_json::json;

    use super::*;
    use crate::conformance::message;
    use crate::{Inserted, Store};

    /// Generates one `#[test]` per check for a backend that is a `Store` and a
    /// `ConnectionStore`. The closure returns `(store, guard)` like `store_conformance_tests!`.
    #[macro_export]
    macro_rules! connection_store_conformance_tests {
        ($open:expr) => {
            $crate::connection_store_conformance_tests!(@each $open;
                connections_are_kept_per_workspace_by_name,
                a_changed_source_starts_without_its_old_checkpoint,
                the_checkpoint_commits_with_the_messages_it_produced,
                health_counts_attempts_and_keeps_the_last_error);
        };
        (@each $open:expr; $($check:ident),*) => {
            $(
                #[test]
                fn $check() {
                    let (store, _guard) = ($open)();
                    $crate::connections::conformance::$check(&*store);
                }
            )*
        };
    }

    /// A backend under test: both traits at once.
    pub trait All: Store + ConnectionStore {}
    impl<T: Store + ConnectionStore> All for T {}

    fn feed(name: &str, url: &str) -> ConnectionSpec {
        ConnectionSpec {
            name: name.into(),
            kind: "rss".into(),
            config: json!({"url": url, "poll_seconds": 300}),
            secret: None,
            enabled: true,
        }
    }

    pub fn connections_are_kept_per_workspace_by_name(store: &dyn All) {
        let acme = store.ensure_workspace("acme", false).unwrap().id;
        let other = store.ensure_workspace("other", false).unwrap().id;
        let mut hook = feed("orders", "");
        hook.kind = "webhook".into();
        hook.config = json!({"mapping": {"text": "/body"}});
        hook.secret = Some("s3cret".into());
        let (created, new) = store.put_connection(acme, &hook).unwrap();
        assert!(new);
        assert_eq!(created.spec, hook, "the secret is stored with the rest");
        assert_eq!(created.workspace_id, acme);
        assert_eq!(created.checkpoint, None);
        assert_eq!(created.health, Health::default());
        store
            .put_connection(acme, &feed("blog", "https://a.example/feed"))
            .unwrap();
        store
            .put_connection(other, &feed("blog", "https://b.example/feed"))
            .unwrap();

        let names = |ws| -> Vec<String> {
            store
                .connections(ws)
                .unwrap()
                .into_iter()
                .map(|c| format!("{}/{}", c.workspace_id, c.spec.name))
                .collect()
        };
        assert_eq!(
            names(Some(acme)),
            [format!("{acme}/blog"), format!("{acme}/orders")]
        );
        assert_eq!(names(None).len(), 3);
        let got = store.connection(other, "blog").unwrap().unwrap();
        assert_eq!(got.spec.config["url"], "https://b.example/feed");
        assert!(store.connection(other, "orders").unwrap().is_none());

        let mut disabled = hook.clone();
        disabled.enabled = false;
        disabled.secret = None;
        let (replaced, new) = store.put_connection(acme, &disabled).unwrap();
        assert!(!new);
        assert_eq!(
            replaced.id, created.id,
            "a replaced connection keeps its id"
        );
        assert_eq!(replaced.spec, disabled);

        assert!(store.remove_connection(acme, "orders").unwrap());
        assert!(!store.remove_connection(acme, "orders").unwrap());
        assert_eq!(names(Some(acme)), [format!("{acme}/blog")]);
    }

    pub fn a_changed_source_starts_without_its_old_checkpoint(store: &dyn All) {
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        let (c, _) = store
            .put_connection(ws, &feed("blog", "https://a.example/feed"))
            .unwrap();
        let checkpoint = SourceCheckpoint {
            connection_id: c.id,
            value: "etag-1".into(),
        };
        store.insert_from_source(ws, &[], &[], &checkpoint).unwrap();
        let mut same = feed("blog", "https://a.example/feed");
        same.enabled = false;
        let (kept, _) = store.put_connection(ws, &same).unwrap();
        assert_eq!(
            kept.checkpoint.as_deref(),
            Some("etag-1"),
            "only enabled changed"
        );
        let (moved, _) = store
            .put_connection(ws, &feed("blog", "https://elsewhere.example/feed"))
            .unwrap();
        assert_eq!(moved.checkpoint, None, "a new URL is a new source");
    }

    pub fn the_checkpoint_commits_with_the_messages_it_produced(store: &dyn All) {
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        let (c, _) = store
            .put_connection(ws, &feed("blog", "https://a.example/feed"))
            .unwrap();
        let first = [message("e1", "rss", 1), message("e2", "rss", 2)];
        let refs: Vec<_> = first.iter().collect();
        let at = |value: &str| SourceCheckpoint {
            connection_id: c.id,
            value: value.into(),
        };
        let stored = store
            .insert_from_source(ws, &refs, &[None, None], &at("after-e2"))
            .unwrap();
        assert!(stored.iter().all(|i| matches!(i, Inserted::New(_))));
        let saved = store.connection(ws, "blog").unwrap().unwrap();
        assert_eq!(saved.checkpoint.as_deref(), Some("after-e2"));
        assert!(saved.checkpoint_at.is_some());

        // A replay of the same entries after a crash: duplicates, and the checkpoint moves.
        let again = [message("e2", "rss", 2), message("e3", "rss", 3)];
        let refs: Vec<_> = again.iter().collect();
        let stored = store
            .insert_from_source(ws, &refs, &[None, None], &at("after-e3"))
            .unwrap();
        assert!(matches!(stored[0], Inserted::Duplicate(_)));
        assert!(matches!(stored[1], Inserted::New(_)));
        assert_eq!(store.count(Some(ws)).unwrap(), 3);
        let saved = store.connection(ws, "blog").unwrap().unwrap();
        assert_eq!(saved.checkpoint.as_deref(), Some("after-e3"));

        // A batch that fails stores neither its messages nor its checkpoint.
        let bad = [message("e4", "rss", 4)];
        let refs: Vec<_> = bad.iter().collect();
        assert!(
            store
                .insert_from_source(ws, &refs, &[], &at("after-e4"))
                .is_err(),
            "one classification slot per message is required"
        );
        assert_eq!(store.count(Some(ws)).unwrap(), 3);
        let saved = store.connection(ws, "blog").unwrap().unwrap();
        assert_eq!(saved.checkpoint.as_deref(), Some("after-e3"));

        // A connection removed while its source ran: the messages are kept, the checkpoint
        // has nowhere to go.
        assert!(store.remove_connection(ws, "blog").unwrap());
        let late = [message("e5", "rss", 5)];
        let refs: Vec<_> = late.iter().collect();
        store
            .insert_from_source(ws, &refs, &[None], &at("after-e5"))
            .unwrap();
        assert_eq!(store.count(Some(ws)).unwrap(), 4);
    }

    pub fn health_counts_attempts_and_keeps_the_last_error(store: &dyn All) {
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        let (c, _) = store
            .put_connection(ws, &feed("blog", "https://a.example/feed"))
            .unwrap();
        let t = |s: i64| OffsetDateTime::from_unix_timestamp(1_800_000_000 + s).unwrap();
        store
            .record_attempt(c.id, t(0), &Attempt::Succeeded { messages: 5 })
            .unwrap();
        let failed = Attempt::Failed {
            reason: "the server answered 500".into(),
        };
        store.record_attempt(c.id, t(10), &failed).unwrap();
        store.record_attempt(c.id, t(20), &failed).unwrap();
        let h = store.connection(ws, "blog").unwrap().unwrap().health;
        assert_eq!(h.last_attempt_at, Some(t(20)));
        assert_eq!(h.last_success_at, Some(t(0)));
        assert_eq!(h.last_error.as_deref(), Some("the server answered 500"));
        assert_eq!(h.last_error_at, Some(t(20)));
        assert_eq!(h.consecutive_failures, 2);
        assert_eq!((h.messages_total, h.errors_total), (5, 2));

        store
            .record_attempt(c.id, t(30), &Attempt::Succeeded { messages: 1 })
            .unwrap();
        let h = store.connection(ws, "blog").unwrap().unwrap().health;
        assert_eq!(h.last_success_at, Some(t(30)));
        assert_eq!(h.consecutive_failures, 0);
        assert_eq!(h.last_error_at, Some(t(20)), "the last error stays visible");
        assert_eq!((h.messages_total, h.errors_total), (6, 2));

        // Replacing the settings keeps the history.
        let (replaced, _) = store
            .put_connection(ws, &feed("blog", "https://b.example/"))
            .unwrap();
        assert_eq!(replaced.health.messages_total, 6);
        // Attempts of a removed connection are ignored.
        store.remove_connection(ws, "blog").unwrap();
        store.record_attempt(c.id, t(40), &failed).unwrap();
    }
}
