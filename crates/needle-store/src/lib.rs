//! The store: the source of truth for everything Needle has accepted.
//!
//! [`Store`] is the one interface every backend implements; [`sqlite::SqliteStore`] is the
//! embedded default, and `postgres::PostgresStore` (Cargo feature `postgres`) keeps the data
//! in PostgreSQL. [`conformance`] holds the behaviour every backend must show, written
//! once and run against each of them (`store_conformance_tests!`).
//!
//! The trait is synchronous: the pipeline runs its stages on threads of their own, and the
//! async server calls in through `spawn_blocking`, so no backend has to pretend to be async.
//!
//! [`open`] picks the backend from what it is given: a PostgreSQL URL or a SQLite file.

pub mod accounts;
pub mod cases;
pub mod conformance;
pub mod connections;
pub mod labels;
pub mod outbox;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "postgres")]
mod postgres_accounts;
#[cfg(feature = "postgres")]
mod postgres_cases;
#[cfg(feature = "postgres")]
mod postgres_connections;
#[cfg(feature = "postgres")]
mod postgres_labels;
#[cfg(feature = "postgres")]
mod postgres_outbox;
#[cfg(feature = "postgres")]
mod postgres_profiles;
#[cfg(feature = "postgres")]
mod postgres_teams;
#[cfg(feature = "postgres")]
mod postgres_topics;
pub mod profiles;
mod row;
pub mod sqlite;
mod sqlite_accounts;
mod sqlite_cases;
mod sqlite_connections;
mod sqlite_labels;
mod sqlite_outbox;
mod sqlite_profiles;
mod sqlite_teams;
mod sqlite_topics;
pub mod teams;
#[cfg(feature = "postgres")]
pub mod testing;
pub mod topics;

use std::sync::Arc;

use needle_core::{Classification, ErrorCode, Message};
use time::OffsetDateTime;

/// A workspace: one brand or business unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    pub id: i64,
    pub name: String,
    /// Filled by `needle serve --demo`: the UI labels it as demo data.
    pub demo: bool,
    pub created_at: OffsetDateTime,
}

/// A message as stored: its arrival number and workspace with it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMessage {
    /// Arrival order, unique across the store; the search index keys on it.
    pub seq: i64,
    pub workspace_id: i64,
    pub ingested_at: OffsetDateTime,
    pub message: Message,
    /// What the classification tier said when the message was stored; `None` for messages
    /// stored without one.
    pub classification: Option<Classification>,
}

/// What became of one message handed to [`Store::insert_batch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// Stored now, under this seq.
    New(i64),
    /// Already stored (same workspace, channel and id) under this seq; nothing changed.
    Duplicate(i64),
}

impl Inserted {
    pub fn seq(self) -> i64 {
        match self {
            Inserted::New(seq) | Inserted::Duplicate(seq) => seq,
        }
    }
}

/// Where a newest-first listing left off: strictly older than this (time, then seq).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub created_at_us: i64,
    pub seq: i64,
}

impl Cursor {
    pub fn after(m: &StoredMessage) -> Cursor {
        Cursor {
            created_at_us: micros(m.message.created_at),
            seq: m.seq,
        }
    }

    /// An opaque token for APIs: `<micros>_<seq>`.
    pub fn encode(self) -> String {
        format!("{}_{}", self.created_at_us, self.seq)
    }

    pub fn decode(token: &str) -> Option<Cursor> {
        let (ts, seq) = token.split_once('_')?;
        Some(Cursor {
            created_at_us: ts.parse().ok()?,
            seq: seq.parse().ok()?,
        })
    }
}

/// Filters for listing messages newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListFilter {
    pub channel: Option<String>,
    /// Inclusive lower bound on `created_at`.
    pub since: Option<OffsetDateTime>,
    /// Exclusive upper bound on `created_at`.
    pub until: Option<OffsetDateTime>,
}

/// Microseconds since the Unix epoch: how times are stored and compared.
/// Who this process is when it takes a lease (on a backfill, on resolving profiles): unique
/// among the processes sharing a store.
pub fn lease_owner() -> &'static str {
    static OWNER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    OWNER.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        format!("pid{}-{nanos:x}", std::process::id())
    })
}

pub fn micros(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000) as i64
}

pub fn from_micros(us: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the disk holding {0} is full; free some space and try again")]
    Full(String),
    #[error("{0} cannot be written (read-only file system or missing permission)")]
    ReadOnly(String),
    /// The store could not be opened at all (bad path or URL, refused connection, wrong
    /// password, a schema from a newer Needle).
    #[error("cannot open the store at {path}: {reason}")]
    Open { path: String, reason: String },
    /// A store that was open cannot be reached now: its database server went away, restarted
    /// or refuses connections. Worth trying again later.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    #[error("the stored data is damaged: {0}")]
    Corrupt(String),
    #[error("unknown workspace {0:?}")]
    UnknownWorkspace(String),
    /// Another writer changed what this one read first (a stale in-memory copy).
    #[error("write conflict: {0}")]
    Conflict(String),
    #[error("store error: {0}")]
    Other(String),
}

impl StoreError {
    pub fn code(&self) -> ErrorCode {
        match self {
            StoreError::Full(_) => ErrorCode::StorageFull,
            StoreError::ReadOnly(_) => ErrorCode::ReadOnly,
            StoreError::UnknownWorkspace(_) => ErrorCode::NotFound,
            StoreError::Conflict(_) => ErrorCode::Conflict,
            StoreError::Unavailable(_) => ErrorCode::Unavailable,
            StoreError::Open { .. } | StoreError::Corrupt(_) | StoreError::Other(_) => {
                ErrorCode::Internal
            }
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Everything the rest of Needle asks of a store. Every implementation passes
/// [`conformance`].
///
/// # Seqs
///
/// Every stored message has a seq, unique across the store. Seqs rise in batch order: the
/// messages of one batch get larger seqs than those of every batch committed before it, and
/// within a batch they rise in the order given. Once a seq is visible (to any reader, in any
/// process), every smaller seq that will ever exist is visible too: a seq is never committed
/// below one a reader has already seen. The search index relies on this when it catches up
/// with [`Store::scan`] from the highest seq it holds. Seqs need not be dense: a batch that
/// rolls back, or a duplicate, may use numbers up.
pub trait Store: Send + Sync {
    /// The workspace with this name, creating it if needed.
    fn ensure_workspace(&self, name: &str, demo: bool) -> Result<Workspace>;
    fn workspace(&self, name: &str) -> Result<Option<Workspace>>;
    /// Every workspace, by name in byte order (of the UTF-8 names: `Zeta` before `alpha`),
    /// whatever the database's locale.
    fn workspaces(&self) -> Result<Vec<Workspace>>;

    /// Stores messages in one transaction, committed before it returns. Messages already
    /// stored (same workspace, channel and id) are left as they are and reported as
    /// duplicates. The result has one entry per input, in order. New messages get seqs as
    /// the trait's "Seqs" section says.
    fn insert_batch(&self, workspace_id: i64, messages: &[&Message]) -> Result<Vec<Inserted>> {
        self.insert_classified(workspace_id, messages, &vec![None; messages.len()])
    }

    /// [`Store::insert_batch`] with each message's classification (`classifications[i]`
    /// belongs to `messages[i]`), stored in the same transaction. A duplicate keeps the
    /// classification it was stored with.
    fn insert_classified(
        &self,
        workspace_id: i64,
        messages: &[&Message],
        classifications: &[Option<&Classification>],
    ) -> Result<Vec<Inserted>>;

    /// [`Store::insert_classified`] for what a pulling source produced: `checkpoint` is
    /// saved on its connection in the same transaction, so a crash replays the batch and
    /// never loses or doubles it. Saved even when `messages` is empty (a poll that found
    /// nothing new still moves on); ignored when the connection has been removed.
    fn insert_from_source(
        &self,
        workspace_id: i64,
        messages: &[&Message],
        classifications: &[Option<&Classification>],
        checkpoint: &connections::SourceCheckpoint,
    ) -> Result<Vec<Inserted>>;

    /// The seqs of messages already stored under these (channel, id) keys, in order: lets
    /// the dedupe stage skip known messages on a reader while the writer is busy.
    fn existing(&self, workspace_id: i64, keys: &[(&str, &str)]) -> Result<Vec<Option<i64>>>;

    /// One message by its channel and the channel's id for it.
    fn get(&self, workspace_id: i64, channel: &str, id: &str) -> Result<Option<StoredMessage>>;
    /// Messages by seq, in the order asked; unknown seqs are skipped.
    fn get_many(&self, seqs: &[i64]) -> Result<Vec<StoredMessage>>;
    /// Newest first (by `created_at`, then seq), strictly after `cursor` when given.
    fn list(
        &self,
        workspace_id: i64,
        filter: &ListFilter,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Vec<StoredMessage>>;
    /// Every message with a seq above `after_seq`, in seq order: for indexing and reindexing.
    fn scan(&self, after_seq: i64, limit: usize) -> Result<Vec<StoredMessage>>;
    /// How many messages are stored, in one workspace or all.
    fn count(&self, workspace_id: Option<i64>) -> Result<u64>;
    /// The highest seq stored, 0 when empty.
    fn max_seq(&self) -> Result<i64>;
}

/// A store that holds everything Needle keeps: messages, topics, profiles and relevance
/// labels, connections, the outbox, accounts, cases, teams. Backends implement the parts;
/// this names the whole.
pub trait Backend:
    Store
    + topics::TopicStore
    + profiles::ProfileStore
    + labels::LabelStore
    + connections::ConnectionStore
    + outbox::OutboxStore
    + accounts::AccountStore
    + cases::CaseStore
    + teams::TeamStore
{
}

impl<
    T: Store
        + topics::TopicStore
        + profiles::ProfileStore
        + labels::LabelStore
        + connections::ConnectionStore
        + outbox::OutboxStore
        + accounts::AccountStore
        + cases::CaseStore
        + teams::TeamStore
        + ?Sized,
> Backend for T
{
}

/// Opens the store `url_or_path` names: a `postgres://` or `postgresql://` URL is a
/// PostgreSQL database (this build must have the `postgres` feature); anything else is the
/// path of a SQLite file, created if missing. Either way the schema is brought up to date.
pub fn open(url_or_path: &str) -> Result<Arc<dyn Backend>> {
    match postgres_url(url_or_path) {
        Some(url) => open_postgres(&url),
        None => Ok(Arc::new(sqlite::SqliteStore::open(url_or_path)?)),
    }
}

#[cfg(feature = "postgres")]
fn open_postgres(url: &str) -> Result<Arc<dyn Backend>> {
    Ok(Arc::new(postgres::PostgresStore::connect(url)?))
}

#[cfg(not(feature = "postgres"))]
fn open_postgres(_url: &str) -> Result<Arc<dyn Backend>> {
    Err(StoreError::Open {
        // Not the URL itself: it may hold a password.
        path: "the PostgreSQL URL given".into(),
        reason: "this build of Needle has no PostgreSQL support; rebuild it with \
                 `--features postgres`"
            .into(),
    })
}

/// `Some(url)` when `s` is a PostgreSQL URL, with its scheme in lower case (as the client
/// wants it, though URL schemes are case-insensitive).
fn postgres_url(s: &str) -> Option<String> {
    ["postgres://", "postgresql://"].iter().find_map(|scheme| {
        let head = s.get(..scheme.len())?;
        head.eq_ignore_ascii_case(scheme)
            .then(|| format!("{scheme}{}", &s[scheme.len()..]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topics::TopicDefinition;

    const OFFICE: TopicDefinition<'static> = TopicDefinition {
        key: "office",
        level: "brand",
        query: "office",
        exclude: None,
    };

    /// Both halves of a `Backend` work on what `open` returns.
    fn exercise(store: &dyn Backend) {
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        let topic = store.save_topic(ws, &OFFICE).unwrap();
        assert_eq!(store.topics(Some(ws)).unwrap(), [topic]);
        assert_eq!(store.count(Some(ws)).unwrap(), 0);
    }

    #[test]
    fn postgres_urls_are_told_from_paths() {
        let cases = [
            ("postgres://kim@db/needle", Some("postgres://kim@db/needle")),
            (
                "postgresql://kim@db/needle",
                Some("postgresql://kim@db/needle"),
            ),
            (
                "PostgreSQL://kim@db/needle",
                Some("postgresql://kim@db/needle"),
            ),
            ("POSTGRES://db", Some("postgres://db")),
            ("needle.db", None),
            ("/var/lib/needle/needle.db", None),
            ("postgres/needle.db", None),
            ("./postgres://x", None),
            ("postgres:needle.db", None),
            ("postgres", None),
            ("ünïcode/pöstgres://", None),
            ("", None),
        ];
        for (given, url) in cases {
            assert_eq!(postgres_url(given).as_deref(), url, "{given:?}");
        }
    }

    #[test]
    fn a_path_opens_a_sqlite_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("needle.db");
        let store = open(path.to_str().unwrap()).unwrap();
        exercise(&*store);
        drop(store);
        assert!(path.is_file(), "no SQLite file at {}", path.display());
        // Opened again, it is the same store.
        let store = open(path.to_str().unwrap()).unwrap();
        assert_eq!(store.workspaces().unwrap().len(), 1);
    }

    #[cfg(not(feature = "postgres"))]
    #[test]
    fn a_postgres_url_without_the_feature_says_how_to_get_it() {
        for url in [
            "postgres://kim:s3cret@db.example/needle",
            "postgresql://kim:s3cret@db.example/needle",
        ] {
            let err = open(url).err().unwrap();
            assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
            assert_eq!(err.code(), ErrorCode::Internal);
            let text = err.to_string();
            assert!(text.contains("no PostgreSQL support"), "{text}");
            assert!(text.contains("`--features postgres`"), "{text}");
            assert!(!format!("{text} {err:?}").contains("s3cret"), "{err:?}");
        }
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn a_postgres_url_opens_postgresql() {
        let Some(pg) = testing::TestPostgres::shared() else {
            return;
        };
        let url = pg.fresh_database();
        let (_, rest) = url.split_once("://").unwrap();
        exercise(&*open(&url).unwrap());
        // The same database under the other spellings: the workspace and topic are there.
        for url in [
            format!("postgresql://{rest}"),
            format!("PostgreSQL://{rest}"),
        ] {
            let store = open(&url).unwrap();
            let ws = store.workspace("acme").unwrap().unwrap().id;
            assert_eq!(store.topic(ws, "office").unwrap().unwrap().version, 1);
        }
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn a_refused_postgres_url_is_an_open_error_not_a_sqlite_file() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = open(&format!("postgres://needle:s3cret@127.0.0.1:{port}/needle"))
            .err()
            .unwrap();
        assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
        assert!(err.to_string().contains("refused"), "{err}");
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }
}
