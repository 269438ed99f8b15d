//! The embedded store: one SQLite file in WAL mode.
//!
//! One writer connection (SQLite allows one writer at a time anyway) and a small pool of
//! reader connections, which WAL lets run beside the writer. `synchronous = FULL`: a batch
//! is on disk when `insert_batch` returns, so an acknowledged message survives a power cut,
//! not only a crash; batching keeps the cost to one sync per batch.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use needle_core::{Classification, Message};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::connections::SourceCheckpoint;
use crate::row::{
    check_classifications, classification_from_row, classification_of, doc_of, message_from_row,
};
use crate::{
    Cursor, Inserted, ListFilter, Result, Store, StoreError, StoredMessage, Workspace, from_micros,
    micros,
};

/// Migrations, in order; `PRAGMA user_version` records how many have run.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_init",
        include_str!("../migrations/sqlite/0001_init.sql"),
    ),
    (
        "0002_topics",
        include_str!("../migrations/sqlite/0002_topics.sql"),
    ),
    (
        "0003_backfill_leases",
        include_str!("../migrations/sqlite/0003_backfill_leases.sql"),
    ),
    (
        "0004_classification",
        include_str!("../migrations/sqlite/0004_classification.sql"),
    ),
    (
        "0005_profiles",
        include_str!("../migrations/sqlite/0005_profiles.sql"),
    ),
    (
        "0006_relevance_labels",
        include_str!("../migrations/sqlite/0006_relevance_labels.sql"),
    ),
    (
        "0007_profile_resolution",
        include_str!("../migrations/sqlite/0007_profile_resolution.sql"),
    ),
    (
        "0008_profile_segments",
        include_str!("../migrations/sqlite/0008_profile_segments.sql"),
    ),
    (
        "0009_connections",
        include_str!("../migrations/sqlite/0009_connections.sql"),
    ),
    (
        "0010_outbox",
        include_str!("../migrations/sqlite/0010_outbox.sql"),
    ),
    (
        "0011_accounts",
        include_str!("../migrations/sqlite/0011_accounts.sql"),
    ),
    (
        "0012_cases",
        include_str!("../migrations/sqlite/0012_cases.sql"),
    ),
    (
        "0013_mentions",
        include_str!("../migrations/sqlite/0013_mentions.sql"),
    ),
    (
        "0014_teams",
        include_str!("../migrations/sqlite/0014_teams.sql"),
    ),
    (
        "0015_inbox_indexes",
        include_str!("../migrations/sqlite/0015_inbox_indexes.sql"),
    ),
];

/// The SQLite store.
pub struct SqliteStore {
    path: PathBuf,
    pub(crate) writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    _checkpointer: Checkpointer,
}

/// Copies the write-ahead log back into the database file in the background, so that the
/// writer's commits never pay for it. Stops when the store is dropped.
struct Checkpointer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// How often the log is checkpointed.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);
/// Past this size a checkpoint waits for the writer, so the log cannot grow without bound,
/// and empties the file: SQLite reuses a log from its start but never shrinks the file, so a
/// log left at this size would make every later checkpoint wait for the writer too.
const WAL_HARD_LIMIT: u64 = 512 * 1024 * 1024;

impl Checkpointer {
    fn start(path: &Path) -> Result<Checkpointer> {
        let conn = SqliteStore::connect(path, false)?;
        let wal = PathBuf::from(format!("{}-wal", path.display()));
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = stop.clone();
        let thread = std::thread::Builder::new()
            .name("needle-checkpoint".into())
            .spawn(move || {
                let (lock, wake) = &*signal;
                let mut stopped = lock.lock().expect("checkpoint flag");
                loop {
                    let (guard, _) = wake
                        .wait_timeout(stopped, CHECKPOINT_EVERY)
                        .expect("checkpoint flag");
                    stopped = guard;
                    let big = std::fs::metadata(&wal)
                        .map(|m| m.len() > WAL_HARD_LIMIT)
                        .unwrap_or(false);
                    let mode = if *stopped || big {
                        "TRUNCATE"
                    } else {
                        "PASSIVE"
                    };
                    if let Err(e) =
                        conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(()))
                    {
                        tracing::warn!(error = %e, "WAL checkpoint failed; will retry");
                    }
                    if *stopped {
                        break;
                    }
                }
            })
            .map_err(|e| StoreError::Other(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(Checkpointer {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let (lock, wake) = &*self.stop;
        *lock.lock().expect("checkpoint flag") = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn map_err(path: &Path, e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode as C;
    let where_ = path.display().to_string();
    match &e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            C::DiskFull => StoreError::Full(where_),
            C::ReadOnly => StoreError::ReadOnly(where_),
            C::CannotOpen | C::PermissionDenied => StoreError::Open {
                path: where_,
                reason: e.to_string(),
            },
            C::DatabaseCorrupt | C::NotADatabase => StoreError::Corrupt(format!("{where_}: {e}")),
            _ => StoreError::Other(e.to_string()),
        },
        _ => StoreError::Other(e.to_string()),
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the store file at `path` and brings its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore> {
        let path = path.as_ref().to_path_buf();
        let mut writer = Self::connect(&path, false)?;
        Self::migrate(&path, &mut writer)?;
        let checkpointer = Checkpointer::start(&path)?;
        Ok(SqliteStore {
            path,
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            _checkpointer: checkpointer,
        })
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn connect(path: &Path, read_only: bool) -> Result<Connection> {
        let flags = if read_only {
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
        };
        let conn = Connection::open_with_flags(path, flags).map_err(|e| map_err(path, e))?;
        let setup = || -> rusqlite::Result<()> {
            conn.busy_timeout(std::time::Duration::from_secs(10))?;
            if !read_only {
                conn.pragma_update(None, "journal_mode", "WAL")?;
                conn.pragma_update(None, "synchronous", "FULL")?;
                // Checkpoints run on a thread of their own (see `Checkpointer`), not inside
                // the writer's commits.
                conn.pragma_update(None, "wal_autocheckpoint", 0)?;
            }
            conn.pragma_update(None, "foreign_keys", "ON")?;
            // 256 MiB of page cache: index seeks dominate inserts once the tables outgrow it.
            conn.pragma_update(None, "cache_size", -256_000)?;
            Ok(())
        };
        setup().map_err(|e| map_err(path, e))?;
        Ok(conn)
    }

    fn migrate(path: &Path, conn: &mut Connection) -> Result<()> {
        let done: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| map_err(path, e))?;
        if done as usize > MIGRATIONS.len() {
            return Err(StoreError::Open {
                path: path.display().to_string(),
                reason: format!(
                    "it was written by a newer Needle (schema version {done}, this one knows {})",
                    MIGRATIONS.len()
                ),
            });
        }
        for (number, (_name, sql)) in MIGRATIONS.iter().enumerate().skip(done as usize) {
            let tx = conn.transaction().map_err(|e| map_err(path, e))?;
            tx.execute_batch(sql).map_err(|e| map_err(path, e))?;
            tx.pragma_update(None, "user_version", number as i64 + 1)
                .map_err(|e| map_err(path, e))?;
            tx.commit().map_err(|e| map_err(path, e))?;
        }
        Ok(())
    }

    pub(crate) fn err(&self, e: rusqlite::Error) -> StoreError {
        map_err(&self.path, e)
    }

    /// Runs `f` on a pooled reader connection.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let pooled = self.readers.lock().expect("reader pool").pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => Self::connect(&self.path, true)?,
        };
        let out = f(&conn).map_err(|e| self.err(e));
        let mut pool = self.readers.lock().expect("reader pool");
        if pool.len() < 8 {
            pool.push(conn);
        }
        out
    }
}

pub(crate) const MESSAGE_COLUMNS: &str =
    "seq, workspace_id, ingested_at, text, doc, classification";

pub(crate) fn row_to_message(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredMessage> {
    let seq: i64 = row.get(0)?;
    let workspace_id: i64 = row.get(1)?;
    let ingested_at: i64 = row.get(2)?;
    let text: String = row.get(3)?;
    let doc: String = row.get(4)?;
    let classification: Option<String> = row.get(5)?;
    let message = message_from_row(&doc, text).map_err(|why| {
        rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, why.into())
    })?;
    let classification = classification_from_row(classification.as_deref()).map_err(|why| {
        rusqlite::Error::FromSqlConversionFailure(5, rusqlite::types::Type::Text, why.into())
    })?;
    Ok(StoredMessage {
        seq,
        workspace_id,
        ingested_at: from_micros(ingested_at),
        message,
        classification,
    })
}

fn workspace_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Workspace> {
    Ok(Workspace {
        id: row.get(0)?,
        name: row.get(1)?,
        demo: row.get(2)?,
        created_at: from_micros(row.get(3)?),
    })
}

impl SqliteStore {
    /// Stores a batch, and a source's checkpoint with it, in one transaction.
    fn insert(
        &self,
        workspace_id: i64,
        messages: &[&Message],
        classifications: &[Option<&Classification>],
        checkpoint: Option<&SourceCheckpoint>,
    ) -> Result<Vec<Inserted>> {
        check_classifications(messages, classifications)?;
        let now = micros(time::OffsetDateTime::now_utc());
        let mut conn = self.writer.lock().expect("writer");
        let tx = conn.transaction().map_err(|e| map_err(&self.path, e))?;
        let mut out = Vec::with_capacity(messages.len());
        {
            let mut insert_message = tx
                .prepare_cached(
                    "INSERT INTO messages (workspace_id, channel, source_id, direction, created_at,
                        ingested_at, author_id, thread_id, text, doc, classification)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                     ON CONFLICT (workspace_id, channel, source_id) DO NOTHING",
                )
                .map_err(|e| self.err(e))?;
            let mut existing = tx
                .prepare_cached(
                    "SELECT seq FROM messages
                     WHERE workspace_id = ?1 AND channel = ?2 AND source_id = ?3",
                )
                .map_err(|e| self.err(e))?;
            let mut upsert_author = tx
                .prepare_cached(
                    "INSERT INTO authors (workspace_id, channel, key, handle, name, email, phone,
                        followers, verified, country, first_seen, last_seen)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                     ON CONFLICT (workspace_id, channel, key) DO UPDATE SET
                        handle = coalesce(excluded.handle, handle),
                        name = coalesce(excluded.name, name),
                        email = coalesce(excluded.email, email),
                        phone = coalesce(excluded.phone, phone),
                        followers = coalesce(excluded.followers, followers),
                        verified = coalesce(excluded.verified, verified),
                        country = coalesce(excluded.country, country),
                        first_seen = min(first_seen, excluded.first_seen),
                        last_seen = max(last_seen, excluded.last_seen)
                     RETURNING id",
                )
                .map_err(|e| self.err(e))?;
            // One upsert per distinct author in the batch, with its latest details and the
            // batch's first and last time seen: far fewer index seeks than one per message.
            let mut authors: HashMap<(&str, String), (usize, i64, i64)> = HashMap::new();
            for (i, message) in messages.iter().enumerate() {
                let created = micros(message.created_at);
                authors
                    .entry((message.channel.as_str(), message.author.key()))
                    .and_modify(|(last, first_seen, last_seen)| {
                        *last = i;
                        *first_seen = (*first_seen).min(created);
                        *last_seen = (*last_seen).max(created);
                    })
                    .or_insert((i, created, created));
            }
            let mut author_ids: HashMap<(&str, String), i64> =
                HashMap::with_capacity(authors.len());
            for ((channel, key), (last, first_seen, last_seen)) in authors {
                let a = &messages[last].author;
                let id: i64 = upsert_author
                    .query_row(
                        params![
                            workspace_id,
                            channel,
                            key,
                            a.handle,
                            a.name,
                            a.email,
                            a.phone,
                            a.followers.map(|f| f.min(i64::MAX as u64) as i64),
                            a.verified,
                            a.country,
                            first_seen,
                            last_seen
                        ],
                        |r| r.get(0),
                    )
                    .map_err(|e| self.err(e))?;
                author_ids.insert((channel, key), id);
            }
            for (message, classification) in messages.iter().zip(classifications) {
                let created = micros(message.created_at);
                let author_id = author_ids[&(message.channel.as_str(), message.author.key())];
                // No RETURNING: SQLite builds a temporary table per statement for it.
                // A changed row count of 1 means this message is new, under the last rowid.
                let changed = insert_message
                    .execute(params![
                        workspace_id,
                        message.channel,
                        message.id,
                        message.direction.as_str(),
                        created,
                        now,
                        author_id,
                        message.thread_id,
                        message.text,
                        doc_of(message),
                        classification.map(classification_of)
                    ])
                    .map_err(|e| self.err(e))?;
                match (changed == 1).then(|| tx.last_insert_rowid()) {
                    Some(seq) => out.push(Inserted::New(seq)),
                    // The same key twice in one batch: the first one won.
                    None => {
                        let seq = existing
                            .query_row(params![workspace_id, message.channel, message.id], |r| {
                                r.get(0)
                            })
                            .map_err(|e| self.err(e))?;
                        out.push(Inserted::Duplicate(seq));
                    }
                }
            }
        }
        if let Some(checkpoint) = checkpoint {
            tx.execute(
                "UPDATE connections SET checkpoint = ?1, checkpoint_at = ?2 WHERE id = ?3",
                params![checkpoint.value, now, checkpoint.connection_id],
            )
            .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(out)
    }
}

impl Store for SqliteStore {
    fn ensure_workspace(&self, name: &str, demo: bool) -> Result<Workspace> {
        if let Some(ws) = self.workspace(name)? {
            return Ok(ws);
        }
        let now = micros(time::OffsetDateTime::now_utc());
        let conn = self.writer.lock().expect("writer");
        conn.execute(
            "INSERT INTO workspaces (name, demo, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (name) DO NOTHING",
            params![name, demo, now],
        )
        .map_err(|e| self.err(e))?;
        conn.query_row(
            "SELECT id, name, demo, created_at FROM workspaces WHERE name = ?1",
            [name],
            workspace_row,
        )
        .map_err(|e| self.err(e))
    }

    fn workspace(&self, name: &str) -> Result<Option<Workspace>> {
        self.read(|conn| {
            conn.query_row(
                "SELECT id, name, demo, created_at FROM workspaces WHERE name = ?1",
                [name],
                workspace_row,
            )
            .optional()
        })
    }

    fn workspaces(&self) -> Result<Vec<Workspace>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, name, demo, created_at FROM workspaces ORDER BY name",
            )?;
            stmt.query_map([], workspace_row)?.collect()
        })
    }

    fn insert_classified(
        &self,
        workspace_id: i64,
        messages: &[&Message],
        classifications: &[Option<&Classification>],
    ) -> Result<Vec<Inserted>> {
        self.insert(workspace_id, messages, classifications, None)
    }

    fn insert_from_source(
        &self,
        workspace_id: i64,
        messages: &[&Message],
        classifications: &[Option<&Classification>],
        checkpoint: &SourceCheckpoint,
    ) -> Result<Vec<Inserted>> {
        self.insert(workspace_id, messages, classifications, Some(checkpoint))
    }

    fn existing(&self, workspace_id: i64, keys: &[(&str, &str)]) -> Result<Vec<Option<i64>>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT seq FROM messages WHERE workspace_id = ?1 AND channel = ?2 AND source_id = ?3",
            )?;
            keys.iter()
                .map(|(channel, id)| {
                    stmt.query_row(params![workspace_id, channel, id], |r| r.get(0))
                        .optional()
                })
                .collect()
        })
    }

    fn get(&self, workspace_id: i64, channel: &str, id: &str) -> Result<Option<StoredMessage>> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages
                 WHERE workspace_id = ?1 AND channel = ?2 AND source_id = ?3"
            ))?
            .query_row(params![workspace_id, channel, id], row_to_message)
            .optional()
        })
    }

    fn get_many(&self, seqs: &[i64]) -> Result<Vec<StoredMessage>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE seq = ?1"
            ))?;
            let mut out = Vec::with_capacity(seqs.len());
            for seq in seqs {
                if let Some(m) = stmt.query_row([seq], row_to_message).optional()? {
                    out.push(m);
                }
            }
            Ok(out)
        })
    }

    fn list(
        &self,
        workspace_id: i64,
        filter: &ListFilter,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Vec<StoredMessage>> {
        let (cursor_ts, cursor_seq) =
            cursor.map_or((i64::MAX, i64::MAX), |c| (c.created_at_us, c.seq));
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages
                 WHERE workspace_id = ?1
                   AND (?2 IS NULL OR channel = ?2)
                   AND created_at >= ?3 AND created_at < ?4
                   AND (created_at < ?5 OR (created_at = ?5 AND seq < ?6))
                 ORDER BY created_at DESC, seq DESC
                 LIMIT ?7"
            ))?;
            stmt.query_map(
                params![
                    workspace_id,
                    filter.channel,
                    filter.since.map_or(i64::MIN, micros),
                    filter.until.map_or(i64::MAX, micros),
                    cursor_ts,
                    cursor_seq,
                    limit as i64
                ],
                row_to_message,
            )?
            .collect()
        })
    }

    fn scan(&self, after_seq: i64, limit: usize) -> Result<Vec<StoredMessage>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE seq > ?1 ORDER BY seq LIMIT ?2"
            ))?;
            stmt.query_map(params![after_seq, limit as i64], row_to_message)?
                .collect()
        })
    }

    fn count(&self, workspace_id: Option<i64>) -> Result<u64> {
        self.read(|conn| {
            let n: i64 = match workspace_id {
                Some(ws) => conn.query_row(
                    "SELECT count(*) FROM messages WHERE workspace_id = ?1",
                    [ws],
                    |r| r.get(0),
                )?,
                None => conn.query_row("SELECT count(*) FROM messages", [], |r| r.get(0))?,
            };
            Ok(n as u64)
        })
    }

    fn max_seq(&self) -> Result<i64> {
        self.read(|conn| {
            conn.query_row("SELECT coalesce(max(seq), 0) FROM messages", [], |r| {
                r.get(0)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::store_conformance_tests!(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("needle.db")).unwrap();
        (Box::new(store) as Box<dyn Store>, dir)
    });

    #[test]
    fn reopening_keeps_data_and_does_not_rerun_migrations() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("needle.db");
        {
            let store = SqliteStore::open(&path).unwrap();
            store.ensure_workspace("acme", false).unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.workspaces().unwrap().len(), 1);
    }

    #[test]
    fn a_file_from_a_newer_needle_is_refused_with_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("needle.db");
        drop(SqliteStore::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = SqliteStore::open(&path).err().unwrap();
        assert!(err.to_string().contains("newer Needle"), "{err}");
    }

    #[test]
    fn a_file_that_is_not_a_database_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("needle.db");
        std::fs::write(&path, vec![b'x'; 8192]).unwrap();
        let err = SqliteStore::open(&path).err().unwrap();
        assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    }
}
