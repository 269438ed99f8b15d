//! The store: the source of truth for everything Needle has accepted.
//!
//! [`Store`] is the one interface every backend implements; [`sqlite::SqliteStore`] is the
//! embedded default, and `postgres::PostgresStore` (Cargo feature `postgres`) keeps the data
//! in PostgreSQL. [`conformance`] holds the behaviour every backend must show, written
//! once and run against each of them (`store_conformance_tests!`).
//!
//! The trait is synchronous: the pipeline runs its stages on threads of their own, and the
//! async server calls in through `spawn_blocking`, so no backend has to pretend to be async.

pub mod conformance;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod sqlite;
mod sqlite_topics;
#[cfg(feature = "postgres")]
pub mod testing;
pub mod topics;

use needle_core::{ErrorCode, Message};
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
    #[error("cannot open the store at {path}: {reason}")]
    Open { path: String, reason: String },
    #[error("the stored data is damaged: {0}")]
    Corrupt(String),
    #[error("unknown workspace {0:?}")]
    UnknownWorkspace(String),
    #[error("store error: {0}")]
    Other(String),
}

impl StoreError {
    pub fn code(&self) -> ErrorCode {
        match self {
            StoreError::Full(_) => ErrorCode::StorageFull,
            StoreError::ReadOnly(_) => ErrorCode::ReadOnly,
            StoreError::UnknownWorkspace(_) => ErrorCode::NotFound,
            StoreError::Open { .. } | StoreError::Corrupt(_) | StoreError::Other(_) => {
                ErrorCode::Internal
            }
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Everything the rest of Needle asks of a store. Every implementation passes
/// [`conformance`].
pub trait Store: Send + Sync {
    /// The workspace with this name, creating it if needed.
    fn ensure_workspace(&self, name: &str, demo: bool) -> Result<Workspace>;
    fn workspace(&self, name: &str) -> Result<Option<Workspace>>;
    fn workspaces(&self) -> Result<Vec<Workspace>>;

    /// Stores messages in one transaction, committed before it returns. Messages already
    /// stored (same workspace, channel and id) are left as they are and reported as
    /// duplicates. The result has one entry per input, in order.
    fn insert_batch(&self, workspace_id: i64, messages: &[&Message]) -> Result<Vec<Inserted>>;

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

/// A store that holds everything Needle keeps: messages and topics. Backends implement the
/// parts; this names the whole.
pub trait Backend: Store + topics::TopicStore {}

impl<T: Store + topics::TopicStore + ?Sized> Backend for T {}
