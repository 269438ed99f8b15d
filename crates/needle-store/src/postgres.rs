//! The PostgreSQL store, for deployments that already run PostgreSQL or want the data on a
//! machine of its own.
//!
//! It behaves as [`SqliteStore`](crate::sqlite::SqliteStore) does, and the same conformance
//! suite proves it. The schema is `migrations/postgres/`, the same logical schema as the
//! SQLite one (a test below compares the two); `needle_schema_migrations` records which
//! migrations have run.
//!
//! # Connections
//!
//! The `postgres` crate is a synchronous client, which fits the synchronous [`Store`]
//! trait. Connections live in a small pool of our own, the same shape as the SQLite reader
//! pool: store calls are short and synchronous, and what a pool library such as `r2d2` adds
//! (a reaper thread, lifetime limits, three more crates) buys little here. The pool is
//! bounded (PostgreSQL refuses clients past `max_connections`, and the server may run
//! hundreds of blocking threads), drops connections that broke, checks one that sat idle
//! for a while before handing it out, and caches each connection's prepared statements.
//!
//! # Seqs and commit order
//!
//! `messages.seq` is a `BIGINT` identity column. A PostgreSQL sequence hands numbers out when
//! rows are inserted, not when their transaction commits, so two transactions inserting at
//! the same time can commit their seqs out of order: a reader may see seq 12 while seq 11 is
//! still in flight, and see 11 appear a moment later. The search index catches up with
//! `scan(after_seq)` from the highest seq it holds; it would skip such a seq for ever.
//! SQLite cannot do this (one writer at a time), and the rest of Needle relies on it: once a
//! seq is visible, every smaller seq that will ever exist is visible too. So `insert_batch`
//! takes a transaction-scoped advisory lock before it inserts, and writers to one database,
//! in this process or any other, commit one after another. PostgreSQL releases the lock only
//! after the commit is visible to others, so the next writer's seqs are both larger and
//! later. (Seqs can still have gaps: a batch that rolls back, or a duplicate caught by
//! `ON CONFLICT`, uses numbers up. Nothing relies on seqs being dense.)
//! Dropping that lock for more write throughput would need the catch-up to stop at the
//! oldest seq still in flight instead.
//!
//! # Errors
//!
//! Failing to connect while [`PostgresStore::connect`] runs is [`StoreError::Open`]. Once
//! the store is open, a connection lost or refused (the server stopped or restarted, an
//! administrator ended the session, the network failed) is [`StoreError::Unavailable`]: that
//! call fails, the broken connection is dropped, and the next call connects afresh. Nothing
//! is retried here: a batch whose commit was cut off may or may not be stored, and a caller
//! that sends it again is told which (`Inserted::Duplicate` if it was).
//!
//! # Topics
//!
//! The [`TopicStore`](crate::topics::TopicStore) half is in `postgres_topics.rs`.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use ::postgres::config::Host;
use ::postgres::error::SqlState;
use ::postgres::{Client, Config, IsolationLevel, NoTls, Row, Statement};
use needle_core::{Classification, Message};

use crate::connections::SourceCheckpoint;
use crate::row::{
    check_classifications, classification_from_row, classification_of, doc_of, message_from_row,
};
use crate::{
    Cursor, Inserted, ListFilter, Result, Store, StoreError, StoredMessage, Workspace, from_micros,
    micros,
};

/// Migrations, in order; version N is the Nth, recorded in `needle_schema_migrations`.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_init",
        include_str!("../migrations/postgres/0001_init.sql"),
    ),
    (
        "0002_topics",
        include_str!("../migrations/postgres/0002_topics.sql"),
    ),
    (
        "0003_backfill_leases",
        include_str!("../migrations/postgres/0003_backfill_leases.sql"),
    ),
    (
        "0004_classification",
        include_str!("../migrations/postgres/0004_classification.sql"),
    ),
    (
        "0005_profiles",
        include_str!("../migrations/postgres/0005_profiles.sql"),
    ),
    (
        "0006_relevance_labels",
        include_str!("../migrations/postgres/0006_relevance_labels.sql"),
    ),
    (
        "0007_profile_resolution",
        include_str!("../migrations/postgres/0007_profile_resolution.sql"),
    ),
    (
        "0008_profile_segments",
        include_str!("../migrations/postgres/0008_profile_segments.sql"),
    ),
    (
        "0009_connections",
        include_str!("../migrations/postgres/0009_connections.sql"),
    ),
    (
        "0010_outbox",
        include_str!("../migrations/postgres/0010_outbox.sql"),
    ),
    (
        "0011_accounts",
        include_str!("../migrations/postgres/0011_accounts.sql"),
    ),
    (
        "0012_cases",
        include_str!("../migrations/postgres/0012_cases.sql"),
    ),
    (
        "0013_mentions",
        include_str!("../migrations/postgres/0013_mentions.sql"),
    ),
    (
        "0014_teams",
        include_str!("../migrations/postgres/0014_teams.sql"),
    ),
    (
        "0015_inbox_indexes",
        include_str!("../migrations/postgres/0015_inbox_indexes.sql"),
    ),
];

/// Advisory lock keys (database-wide, shared with anything else using advisory locks there,
/// hence values unlikely to clash: "NEEDLE" in ASCII, then a number).
const MIGRATION_LOCK: i64 = 0x4e45_4544_4c45_0001;
const WRITE_LOCK: i64 = 0x4e45_4544_4c45_0002;

/// At most this many connections per store; callers past it wait for one to come back.
const MAX_CONNECTIONS: usize = 16;
/// How long a caller waits for a free connection before giving up.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(30);
/// A connection idle for longer than this is checked with a round trip before it is reused:
/// the server may have restarted or closed it meanwhile.
const VALIDATE_AFTER_IDLE: Duration = Duration::from_secs(30);
/// Used when the URL sets no `connect_timeout`: an unreachable host fails instead of hanging.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

const CREATE_MIGRATIONS_TABLE: &str = "
    CREATE TABLE needle_schema_migrations (
        version     INTEGER PRIMARY KEY,
        name        TEXT NOT NULL,
        -- Bookkeeping for people reading the database, so a plain timestamp.
        applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
    )";

/// The columns [`row_to_message`] reads, from `messages m`.
macro_rules! message_columns {
    () => {
        "m.seq, m.workspace_id, m.ingested_at, m.text, m.doc, m.classification"
    };
}
pub(crate) use message_columns;

const WORKSPACE_BY_NAME: &str = "SELECT id, name, demo, created_at FROM workspaces WHERE name = $1";
const INSERT_WORKSPACE: &str = "INSERT INTO workspaces (name, demo, created_at) VALUES ($1, $2, $3)
     ON CONFLICT (name) DO NOTHING";
// `COLLATE "C"`: byte order, as SQLite sorts, whatever the database's locale.
const ALL_WORKSPACES: &str =
    "SELECT id, name, demo, created_at FROM workspaces ORDER BY name COLLATE \"C\"";

const TAKE_WRITE_LOCK: &str = "SELECT pg_advisory_xact_lock($1)";

// Batches go in as arrays, one statement for all rows: a round trip per row would cost more
// than the inserts themselves once the server is not on the same machine.
const UPSERT_AUTHORS: &str = "
    INSERT INTO authors AS a (workspace_id, channel, key, handle, name, email, phone,
        followers, verified, country, first_seen, last_seen)
    SELECT $1::int8, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
        $7::text[], $8::int8[], $9::bool[], $10::text[], $11::int8[], $12::int8[])
    ON CONFLICT (workspace_id, channel, key) DO UPDATE SET
        handle = coalesce(excluded.handle, a.handle),
        name = coalesce(excluded.name, a.name),
        email = coalesce(excluded.email, a.email),
        phone = coalesce(excluded.phone, a.phone),
        followers = coalesce(excluded.followers, a.followers),
        verified = coalesce(excluded.verified, a.verified),
        country = coalesce(excluded.country, a.country),
        first_seen = least(a.first_seen, excluded.first_seen),
        last_seen = greatest(a.last_seen, excluded.last_seen)
    RETURNING channel, key, id";
// `ORDER BY ord`: rows are inserted, and so numbered, in the order of the batch.
const INSERT_MESSAGES: &str = "
    INSERT INTO messages (workspace_id, channel, source_id, direction, created_at, ingested_at,
        author_id, thread_id, text, doc, classification)
    SELECT $1::int8, channel, source_id, direction, created_at, $2::int8, author_id,
        thread_id, text, doc, classification
    FROM unnest($3::text[], $4::text[], $5::text[], $6::int8[], $7::int8[], $8::text[],
        $9::text[], $10::text[], $11::text[])
        WITH ORDINALITY AS b(channel, source_id, direction, created_at, author_id, thread_id,
            text, doc, classification, ord)
    ORDER BY ord
    ON CONFLICT (workspace_id, channel, source_id) DO NOTHING
    RETURNING channel, source_id, seq";
/// One row per key asked, in order: the seq, or NULL.
const EXISTING: &str = "
    SELECT m.seq
    FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS k(channel, source_id, ord)
    LEFT JOIN messages m
        ON m.workspace_id = $1 AND m.channel = k.channel AND m.source_id = k.source_id
    ORDER BY k.ord";

const GET: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM messages m WHERE m.workspace_id = $1 AND m.channel = $2 AND m.source_id = $3"
);
const GET_MANY: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM unnest($1::int8[]) WITH ORDINALITY AS q(seq, ord)
      JOIN messages m ON m.seq = q.seq
      ORDER BY q.ord"
);
const LIST: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM messages m
      WHERE m.workspace_id = $1
        AND ($2::text IS NULL OR m.channel = $2)
        AND m.created_at >= $3 AND m.created_at < $4
        AND (m.created_at, m.seq) < ($5, $6)
      ORDER BY m.created_at DESC, m.seq DESC
      LIMIT $7"
);
const SCAN: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM messages m WHERE m.seq > $1 ORDER BY m.seq LIMIT $2"
);
const COUNT_ALL: &str = "SELECT count(*) FROM messages";
const COUNT_WORKSPACE: &str = "SELECT count(*) FROM messages WHERE workspace_id = $1";
const MAX_SEQ: &str = "SELECT coalesce(max(seq), 0) FROM messages";

/// The PostgreSQL store.
pub struct PostgresStore {
    /// The URL without its password: what messages name.
    display: String,
    pool: Pool,
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db`, or
    /// libpq's `key=value` form) and brings its schema up to date.
    ///
    /// Tables go into the first schema of the `search_path`, normally `public`; add
    /// `?options=-c%20search_path%3Dneedle` to the URL for another. TLS is not supported yet.
    pub fn connect(url: &str) -> Result<PostgresStore> {
        let mut config = Config::from_str(url).map_err(|e| StoreError::Open {
            // An unparsable URL cannot be shown safely: it may hold a password.
            path: "the PostgreSQL URL given".into(),
            reason: describe(&e),
        })?;
        let display = display_url(&config);
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("needle");
        }
        let pool = Pool::new(config, display.clone());
        let store = PostgresStore { display, pool };
        // Failing to connect here is `Open`: the store never worked. Later it is
        // `Unavailable` (see `Pool::checkout`): it worked, and may again.
        let first = store.pool.open().map_err(|reason| StoreError::Open {
            path: store.display.clone(),
            reason,
        })?;
        let mut conn = store.pool.adopt(first);
        migrate(&store.display, &mut conn.client).map_err(|e| match store.fail(e) {
            StoreError::Unavailable(reason) => StoreError::Open {
                path: store.display.clone(),
                reason,
            },
            e => e,
        })?;
        drop(conn);
        Ok(store)
    }

    /// The URL connected to, without its password.
    pub fn url(&self) -> &str {
        &self.display
    }

    fn fail(&self, failure: Failure) -> StoreError {
        match failure {
            Failure::Store(e) => e,
            Failure::Pg(e) => map_err(&self.display, &e),
        }
    }

    /// Runs `f` on a pooled connection.
    pub(crate) fn with_conn<T>(
        &self,
        f: impl FnOnce(&mut Conn) -> Result<T, Failure>,
    ) -> Result<T> {
        let mut conn = self.pool.checkout()?;
        match f(&mut conn) {
            Ok(out) => Ok(out),
            Err(Failure::Pg(e)) => {
                // Most errors the server reports leave the connection usable (the
                // transaction, if any, was rolled back); those that end the session do not,
                // nor does anything else (I/O, protocol).
                let lost = connection_lost(&e) || conn.client.is_closed();
                conn.broken |= lost || e.as_db_error().is_none();
                Err(if lost {
                    self::lost(&self.display, &e)
                } else {
                    map_err(&self.display, &e)
                })
            }
            Err(Failure::Store(e)) => Err(e),
        }
    }
}

/// Creates or updates the schema, holding a transaction-scoped advisory lock so that two
/// processes starting at once do not both migrate: the second waits, then finds it done.
fn migrate(display: &str, client: &mut Client) -> Result<(), Failure> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    // Looked up before creating, so that an up-to-date database opens on a read-only
    // connection too.
    let tracked: bool = tx
        .query_one(
            "SELECT to_regclass('needle_schema_migrations') IS NOT NULL",
            &[],
        )?
        .get(0);
    if !tracked {
        tx.batch_execute(CREATE_MIGRATIONS_TABLE)?;
    }
    let done: i32 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM needle_schema_migrations",
            &[],
        )?
        .get(0);
    let done = usize::try_from(done).unwrap_or(0);
    if done > MIGRATIONS.len() {
        return Err(StoreError::Open {
            path: display.to_string(),
            reason: format!(
                "it was written by a newer Needle (schema version {done}, this one knows {})",
                MIGRATIONS.len()
            ),
        }
        .into());
    }
    for (number, (name, sql)) in MIGRATIONS.iter().enumerate().skip(done) {
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO needle_schema_migrations (version, name) VALUES ($1, $2)",
            &[&(number as i32 + 1), name],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// Either error a store operation meets on the way; `?` takes both.
pub(crate) enum Failure {
    Pg(::postgres::Error),
    Store(StoreError),
}

impl From<::postgres::Error> for Failure {
    fn from(e: ::postgres::Error) -> Failure {
        Failure::Pg(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        Failure::Store(e)
    }
}

fn map_err(display: &str, e: &::postgres::Error) -> StoreError {
    let code = e.code();
    if connection_lost(e) {
        lost(display, e)
    } else if code == Some(&SqlState::DISK_FULL) {
        StoreError::Full(display.to_string())
    } else if code == Some(&SqlState::READ_ONLY_SQL_TRANSACTION) {
        StoreError::ReadOnly(display.to_string())
    } else if code == Some(&SqlState::DATA_CORRUPTED) || code == Some(&SqlState::INDEX_CORRUPTED) {
        StoreError::Corrupt(format!("{display}: {}", describe(e)))
    } else {
        StoreError::Other(format!("{display}: {}", describe(e)))
    }
}

/// Whether `e` says the connection is gone (the server stopped, restarted or dropped us, or
/// the network failed) rather than that the statement went wrong: worth trying again later.
fn connection_lost(e: &::postgres::Error) -> bool {
    match e.code() {
        // Class 08 is "connection exception"; the others: the server is shutting down (or
        // an administrator ended our session), restarting after a crash, or still starting.
        Some(code) => {
            code.code().starts_with("08")
                || [
                    SqlState::ADMIN_SHUTDOWN,
                    SqlState::CRASH_SHUTDOWN,
                    SqlState::CANNOT_CONNECT_NOW,
                ]
                .contains(code)
        }
        // The client's own errors: the socket failed, or the connection was already closed.
        // (Conversion errors, also the client's own, have no I/O error as their cause.)
        None => {
            e.is_closed()
                || std::error::Error::source(e).is_some_and(|cause| cause.is::<std::io::Error>())
        }
    }
}

fn lost(display: &str, e: &::postgres::Error) -> StoreError {
    StoreError::Unavailable(format!(
        "{display}: lost the connection to the database: {}",
        describe(e)
    ))
}

/// An error and its causes on one line: the client's own messages are only the outer layer
/// ("db error", "error connecting to server"), the useful part is in the sources.
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

/// `postgres://user@host:port/db`, rebuilt from the parsed settings, so the password cannot
/// leak into a message however the URL spelled it (`user:pw@`, `?password=`, `password=`).
fn display_url(config: &Config) -> String {
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let host = match host {
                Host::Tcp(name) if name.contains(':') => format!("[{name}]"),
                Host::Tcp(name) => name.clone(),
                Host::Unix(dir) => dir.display().to_string().replace('/', "%2F"),
            };
            // One port for every host, or one each.
            match ports.get(i).or(ports.first()) {
                Some(port) => format!("{host}:{port}"),
                None => host,
            }
        })
        .collect();
    let user = config
        .get_user()
        .map(|user| format!("{user}@"))
        .unwrap_or_default();
    let db = config.get_dbname().unwrap_or_default();
    format!("postgres://{user}{}/{db}", hosts.join(","))
}

/// A connection and the statements prepared on it.
pub(crate) struct Conn {
    pub(crate) client: Client,
    statements: HashMap<&'static str, Statement>,
    last_used: Instant,
}

impl Conn {
    /// The statement for `sql`, prepared once per connection: a query by text alone costs a
    /// second round trip every time.
    pub(crate) fn prepare(&mut self, sql: &'static str) -> Result<Statement, ::postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql)?;
        self.statements.insert(sql, statement.clone());
        Ok(statement)
    }
}

struct Pool {
    config: Config,
    display: String,
    state: Mutex<PoolState>,
    returned: Condvar,
}

struct PoolState {
    idle: Vec<Conn>,
    /// Connections open, idle or handed out.
    open: usize,
}

/// A connection on loan from the pool; it goes back (or is closed, if broken) when dropped.
struct Pooled<'a> {
    pool: &'a Pool,
    conn: Option<Conn>,
    broken: bool,
}

impl std::ops::Deref for Pooled<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn.as_ref().expect("connection on loan")
    }
}

impl std::ops::DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("connection on loan")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        let mut state = self.pool.lock();
        if self.broken || conn.client.is_closed() {
            state.open -= 1;
        } else {
            conn.last_used = Instant::now();
            state.idle.push(conn);
        }
        drop(state);
        self.pool.returned.notify_one();
    }
}

impl Pool {
    fn new(config: Config, display: String) -> Pool {
        Pool {
            config,
            display,
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                open: 0,
            }),
            returned: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, PoolState> {
        // The state is two plain fields, consistent after any panic.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn checkout(&self) -> Result<Pooled<'_>> {
        let deadline = Instant::now() + CHECKOUT_TIMEOUT;
        let mut state = self.lock();
        loop {
            if let Some(mut conn) = state.idle.pop() {
                drop(state);
                let alive = conn.last_used.elapsed() < VALIDATE_AFTER_IDLE
                    || conn.client.is_valid(Duration::from_secs(5)).is_ok();
                if alive {
                    return Ok(self.loan(conn));
                }
                drop(conn);
                state = self.lock();
                state.open -= 1;
                continue;
            }
            if state.open < MAX_CONNECTIONS {
                state.open += 1;
                drop(state);
                return match self.open() {
                    Ok(conn) => Ok(self.loan(conn)),
                    Err(reason) => {
                        self.lock().open -= 1;
                        self.returned.notify_one();
                        Err(StoreError::Unavailable(format!(
                            "cannot connect to {}: {reason}",
                            self.display
                        )))
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                // Busy, not broken: a caller may well succeed a little later.
                return Err(StoreError::Unavailable(format!(
                    "{}: all {MAX_CONNECTIONS} connections stayed busy for {} s",
                    self.display,
                    CHECKOUT_TIMEOUT.as_secs()
                )));
            }
            state = self
                .returned
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Lends a connection opened with [`Pool::open`] outside of `checkout`, counting it.
    fn adopt(&self, conn: Conn) -> Pooled<'_> {
        self.lock().open += 1;
        self.loan(conn)
    }

    fn loan(&self, conn: Conn) -> Pooled<'_> {
        Pooled {
            pool: self,
            conn: Some(conn),
            broken: false,
        }
    }

    /// A new connection, or why there is none (without the password).
    fn open(&self) -> Result<Conn, String> {
        let client = self.config.connect(NoTls).map_err(|e| {
            let mut reason = describe(&e);
            // The client and server never echo the password, as far as we know; make sure.
            if let Some(password) = self.config.get_password().map(String::from_utf8_lossy)
                && !password.is_empty()
            {
                reason = reason.replace(password.as_ref(), "***");
            }
            reason
        })?;
        Ok(Conn {
            client,
            statements: HashMap::new(),
            last_used: Instant::now(),
        })
    }
}

/// A row of [`message_columns!`] as a message.
pub(crate) fn row_to_message(row: &Row) -> Result<StoredMessage, Failure> {
    let seq: i64 = row.try_get(0)?;
    let workspace_id: i64 = row.try_get(1)?;
    let ingested_at: i64 = row.try_get(2)?;
    let text: String = row.try_get(3)?;
    let doc: &str = row.try_get(4)?;
    let classification: Option<&str> = row.try_get(5)?;
    let message = message_from_row(doc, text)
        .map_err(|why| StoreError::Corrupt(format!("message {seq}: {why}")))?;
    let classification = classification_from_row(classification)
        .map_err(|why| StoreError::Corrupt(format!("message {seq}: {why}")))?;
    Ok(StoredMessage {
        seq,
        workspace_id,
        ingested_at: from_micros(ingested_at),
        message,
        classification,
    })
}

pub(crate) fn rows_to_messages(rows: &[Row]) -> Result<Vec<StoredMessage>, Failure> {
    rows.iter().map(row_to_message).collect()
}

fn workspace_row(row: &Row) -> Result<Workspace, Failure> {
    Ok(Workspace {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        demo: row.try_get(2)?,
        created_at: from_micros(row.try_get(3)?),
    })
}

/// `usize` limits as SQL `LIMIT`s.
pub(crate) fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// One author of a batch: the last message that names it gives the details, and its first
/// and last time seen span all of them.
struct BatchAuthor {
    last: usize,
    first_seen: i64,
    last_seen: i64,
}

impl PostgresStore {
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
        if messages.is_empty() {
            if let Some(checkpoint) = checkpoint {
                self.with_conn(|conn| {
                    conn.client.execute(
                        SAVE_CHECKPOINT,
                        &[&checkpoint.value, &now, &checkpoint.connection_id],
                    )?;
                    Ok(())
                })?;
            }
            return Ok(Vec::new());
        }
        let author_keys: Vec<String> = messages.iter().map(|m| m.author.key()).collect();

        // Each key once, at its first place in the batch: later copies are duplicates of it.
        let mut first_of: HashMap<(&str, &str), usize> = HashMap::with_capacity(messages.len());
        let mut firsts: Vec<usize> = Vec::with_capacity(messages.len());
        for (i, m) in messages.iter().enumerate() {
            first_of
                .entry((m.channel.as_str(), m.id.as_str()))
                .or_insert_with(|| {
                    firsts.push(i);
                    i
                });
        }

        // One upsert per distinct author, as the SQLite backend does. A BTreeMap, so that
        // rows are locked in the same order whoever writes.
        let mut authors: BTreeMap<(&str, &str), BatchAuthor> = BTreeMap::new();
        for (i, m) in messages.iter().enumerate() {
            let created = micros(m.created_at);
            authors
                .entry((m.channel.as_str(), author_keys[i].as_str()))
                .and_modify(|a| {
                    a.last = i;
                    a.first_seen = a.first_seen.min(created);
                    a.last_seen = a.last_seen.max(created);
                })
                .or_insert(BatchAuthor {
                    last: i,
                    first_seen: created,
                    last_seen: created,
                });
        }
        let details = |a: &BatchAuthor| &messages[a.last].author;
        let a_channels: Vec<&str> = authors.keys().map(|k| k.0).collect();
        let a_keys: Vec<&str> = authors.keys().map(|k| k.1).collect();
        let handles: Vec<Option<&str>> = authors
            .values()
            .map(|a| details(a).handle.as_deref())
            .collect();
        let names: Vec<Option<&str>> = authors
            .values()
            .map(|a| details(a).name.as_deref())
            .collect();
        let emails: Vec<Option<&str>> = authors
            .values()
            .map(|a| details(a).email.as_deref())
            .collect();
        let phones: Vec<Option<&str>> = authors
            .values()
            .map(|a| details(a).phone.as_deref())
            .collect();
        let followers: Vec<Option<i64>> = authors
            .values()
            .map(|a| {
                details(a)
                    .followers
                    .map(|f| i64::try_from(f).unwrap_or(i64::MAX))
            })
            .collect();
        let verified: Vec<Option<bool>> = authors.values().map(|a| details(a).verified).collect();
        let countries: Vec<Option<&str>> = authors
            .values()
            .map(|a| details(a).country.as_deref())
            .collect();
        let first_seen: Vec<i64> = authors.values().map(|a| a.first_seen).collect();
        let last_seen: Vec<i64> = authors.values().map(|a| a.last_seen).collect();

        self.with_conn(|conn| {
            let take_lock = conn.prepare(TAKE_WRITE_LOCK)?;
            let upsert_authors = conn.prepare(UPSERT_AUTHORS)?;
            let insert_messages = conn.prepare(INSERT_MESSAGES)?;
            let existing = conn.prepare(EXISTING)?;
            // Read committed whatever the database's default: the lookup of duplicates below
            // must see rows other writers committed after this transaction began.
            let mut tx = conn
                .client
                .build_transaction()
                .isolation_level(IsolationLevel::ReadCommitted)
                .start()?;
            // Before any seq is drawn: see "Seqs and commit order" above.
            tx.execute(&take_lock, &[&WRITE_LOCK])?;

            let rows = tx.query(
                &upsert_authors,
                &[
                    &workspace_id,
                    &a_channels,
                    &a_keys,
                    &handles,
                    &names,
                    &emails,
                    &phones,
                    &followers,
                    &verified,
                    &countries,
                    &first_seen,
                    &last_seen,
                ],
            )?;
            let mut author_ids: HashMap<(&str, &str), i64> = HashMap::with_capacity(rows.len());
            for row in &rows {
                let channel: &str = row.try_get(0)?;
                let key: &str = row.try_get(1)?;
                // Keyed by our own strings, which outlive the rows.
                if let Some((&k, _)) = authors.get_key_value(&(channel, key)) {
                    author_ids.insert(k, row.try_get(2)?);
                }
            }
            let author_of = |i: usize| -> Result<i64, Failure> {
                let key = (messages[i].channel.as_str(), author_keys[i].as_str());
                author_ids.get(&key).copied().ok_or_else(|| {
                    StoreError::Other(format!("no author id came back for {key:?}")).into()
                })
            };

            let m_channels: Vec<&str> = firsts
                .iter()
                .map(|&i| messages[i].channel.as_str())
                .collect();
            let m_ids: Vec<&str> = firsts.iter().map(|&i| messages[i].id.as_str()).collect();
            let directions: Vec<&str> = firsts
                .iter()
                .map(|&i| messages[i].direction.as_str())
                .collect();
            let created: Vec<i64> = firsts
                .iter()
                .map(|&i| micros(messages[i].created_at))
                .collect();
            let m_authors: Vec<i64> = firsts
                .iter()
                .map(|&i| author_of(i))
                .collect::<Result<_, _>>()?;
            let threads: Vec<Option<&str>> = firsts
                .iter()
                .map(|&i| messages[i].thread_id.as_deref())
                .collect();
            let texts: Vec<&str> = firsts.iter().map(|&i| messages[i].text.as_str()).collect();
            let docs: Vec<String> = firsts.iter().map(|&i| doc_of(messages[i])).collect();
            let classified: Vec<Option<String>> = firsts
                .iter()
                .map(|&i| classifications[i].map(classification_of))
                .collect();
            let rows = tx.query(
                &insert_messages,
                &[
                    &workspace_id,
                    &now,
                    &m_channels,
                    &m_ids,
                    &directions,
                    &created,
                    &m_authors,
                    &threads,
                    &texts,
                    &docs,
                    &classified,
                ],
            )?;

            // What each first occurrence became: new, or a duplicate of a stored message.
            let mut outcome: Vec<Option<Inserted>> = vec![None; messages.len()];
            for row in &rows {
                let channel: &str = row.try_get(0)?;
                let id: &str = row.try_get(1)?;
                if let Some(&i) = first_of.get(&(channel, id)) {
                    outcome[i] = Some(Inserted::New(row.try_get(2)?));
                }
            }
            let stored_before: Vec<usize> = firsts
                .iter()
                .copied()
                .filter(|&i| outcome[i].is_none())
                .collect();
            if !stored_before.is_empty() {
                let channels: Vec<&str> = stored_before
                    .iter()
                    .map(|&i| messages[i].channel.as_str())
                    .collect();
                let ids: Vec<&str> = stored_before
                    .iter()
                    .map(|&i| messages[i].id.as_str())
                    .collect();
                let rows = tx.query(&existing, &[&workspace_id, &channels, &ids])?;
                for (&i, row) in stored_before.iter().zip(&rows) {
                    let seq: Option<i64> = row.try_get(0)?;
                    let seq = seq.ok_or_else(|| {
                        StoreError::Other(format!(
                            "message {:?} on {:?} conflicted but cannot be found",
                            messages[i].id, messages[i].channel
                        ))
                    })?;
                    outcome[i] = Some(Inserted::Duplicate(seq));
                }
            }
            if let Some(checkpoint) = checkpoint {
                tx.execute(
                    SAVE_CHECKPOINT,
                    &[&checkpoint.value, &now, &checkpoint.connection_id],
                )?;
            }
            tx.commit()?;

            messages
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let first = first_of[&(m.channel.as_str(), m.id.as_str())];
                    match outcome[first] {
                        Some(first_outcome) if i == first => Ok(first_outcome),
                        // The same key twice in one batch: the first one won.
                        Some(first_outcome) => Ok(Inserted::Duplicate(first_outcome.seq())),
                        None => Err(StoreError::Other(format!(
                            "no seq came back for message {:?} on {:?}",
                            m.id, m.channel
                        ))
                        .into()),
                    }
                })
                .collect()
        })
    }
}

const SAVE_CHECKPOINT: &str =
    "UPDATE connections SET checkpoint = $1, checkpoint_at = $2 WHERE id = $3";

impl Store for PostgresStore {
    fn ensure_workspace(&self, name: &str, demo: bool) -> Result<Workspace> {
        if let Some(ws) = self.workspace(name)? {
            return Ok(ws);
        }
        let now = micros(time::OffsetDateTime::now_utc());
        self.with_conn(|conn| {
            let insert = conn.prepare(INSERT_WORKSPACE)?;
            let select = conn.prepare(WORKSPACE_BY_NAME)?;
            conn.client.execute(&insert, &[&name, &demo, &now])?;
            // A statement of its own, so it sees the row whoever inserted it.
            workspace_row(&conn.client.query_one(&select, &[&name])?)
        })
    }

    fn workspace(&self, name: &str) -> Result<Option<Workspace>> {
        self.with_conn(|conn| {
            let select = conn.prepare(WORKSPACE_BY_NAME)?;
            conn.client
                .query_opt(&select, &[&name])?
                .as_ref()
                .map(workspace_row)
                .transpose()
        })
    }

    fn workspaces(&self) -> Result<Vec<Workspace>> {
        self.with_conn(|conn| {
            let select = conn.prepare(ALL_WORKSPACES)?;
            conn.client
                .query(&select, &[])?
                .iter()
                .map(workspace_row)
                .collect()
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
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let channels: Vec<&str> = keys.iter().map(|k| k.0).collect();
        let ids: Vec<&str> = keys.iter().map(|k| k.1).collect();
        self.with_conn(|conn| {
            let existing = conn.prepare(EXISTING)?;
            conn.client
                .query(&existing, &[&workspace_id, &channels, &ids])?
                .iter()
                .map(|row| Ok(row.try_get(0)?))
                .collect()
        })
    }

    fn get(&self, workspace_id: i64, channel: &str, id: &str) -> Result<Option<StoredMessage>> {
        self.with_conn(|conn| {
            let get = conn.prepare(GET)?;
            conn.client
                .query_opt(&get, &[&workspace_id, &channel, &id])?
                .as_ref()
                .map(row_to_message)
                .transpose()
        })
    }

    fn get_many(&self, seqs: &[i64]) -> Result<Vec<StoredMessage>> {
        if seqs.is_empty() {
            return Ok(Vec::new());
        }
        self.with_conn(|conn| {
            let get_many = conn.prepare(GET_MANY)?;
            rows_to_messages(&conn.client.query(&get_many, &[&seqs])?)
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
        let since = filter.since.map_or(i64::MIN, micros);
        let until = filter.until.map_or(i64::MAX, micros);
        self.with_conn(|conn| {
            let list = conn.prepare(LIST)?;
            rows_to_messages(&conn.client.query(
                &list,
                &[
                    &workspace_id,
                    &filter.channel,
                    &since,
                    &until,
                    &cursor_ts,
                    &cursor_seq,
                    &self::limit(limit),
                ],
            )?)
        })
    }

    fn scan(&self, after_seq: i64, limit: usize) -> Result<Vec<StoredMessage>> {
        self.with_conn(|conn| {
            let scan = conn.prepare(SCAN)?;
            rows_to_messages(
                &conn
                    .client
                    .query(&scan, &[&after_seq, &self::limit(limit)])?,
            )
        })
    }

    fn count(&self, workspace_id: Option<i64>) -> Result<u64> {
        self.with_conn(|conn| {
            let n: i64 = match workspace_id {
                Some(ws) => {
                    let count = conn.prepare(COUNT_WORKSPACE)?;
                    conn.client.query_one(&count, &[&ws])?.try_get(0)?
                }
                None => {
                    let count = conn.prepare(COUNT_ALL)?;
                    conn.client.query_one(&count, &[])?.try_get(0)?
                }
            };
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    fn max_seq(&self) -> Result<i64> {
        self.with_conn(|conn| {
            let max_seq = conn.prepare(MAX_SEQ)?;
            Ok(conn.client.query_one(&max_seq, &[])?.try_get(0)?)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Barrier};

    use super::*;
    use crate::conformance::message;
    use crate::sqlite::SqliteStore;
    use crate::testing::TestPostgres;

    // The macro evaluates its argument inside each generated test function, so the `return`
    // below (outside the closure) ends that test early: skipped, not failed, when no
    // PostgreSQL is installed. Each test then gets an empty database on the shared server.
    crate::store_conformance_tests!({
        let Some(pg) = TestPostgres::shared() else {
            return;
        };
        move || {
            let url = pg.fresh_database();
            let store = PostgresStore::connect(&url).unwrap();
            (Box::new(store) as Box<dyn Store>, ())
        }
    });

    /// A raw connection, to look behind the store's back.
    fn client(url: &str) -> Client {
        Client::connect(url, NoTls).unwrap()
    }

    /// A URL nobody listens at, with a password in it.
    fn refused_url(password: &str) -> String {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        format!("postgres://needle:{password}@127.0.0.1:{port}/needle")
    }

    #[test]
    fn reconnecting_keeps_data_and_does_not_rerun_migrations() {
        let Some(pg) = TestPostgres::shared() else {
            return;
        };
        let url = pg.fresh_database();
        let applied_at = |url: &str| -> Vec<(i32, String, std::time::SystemTime)> {
            client(url)
                .query(
                    "SELECT version, name, applied_at FROM needle_schema_migrations
                     ORDER BY version",
                    &[],
                )
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect()
        };
        {
            let store = PostgresStore::connect(&url).unwrap();
            store.ensure_workspace("acme", false).unwrap();
        }
        let before = applied_at(&url);
        let names: Vec<&str> = before.iter().map(|m| m.1.as_str()).collect();
        let expected: Vec<&str> = MIGRATIONS.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, expected, "every migration, once, in order");
        assert!(names.starts_with(&["0001_init", "0002_topics"]));
        let store = PostgresStore::connect(&url).unwrap();
        assert_eq!(store.workspaces().unwrap().len(), 1);
        assert_eq!(applied_at(&url), before, "migrations ran again");
    }

    #[test]
    fn a_database_from_a_newer_needle_is_refused_with_a_reason() {
        let Some(pg) = TestPostgres::shared() else {
            return;
        };
        let url = pg.fresh_database();
        drop(PostgresStore::connect(&url).unwrap());
        client(&url)
            .execute(
                "INSERT INTO needle_schema_migrations (version, name) VALUES (99, 'future')",
                &[],
            )
            .unwrap();
        let err = PostgresStore::connect(&url).err().unwrap();
        assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
        assert!(err.to_string().contains("newer Needle"), "{err}");
        assert!(err.to_string().contains("schema version 99"), "{err}");
    }

    #[test]
    fn connections_racing_on_a_fresh_database_migrate_it_once() {
        let Some(pg) = TestPostgres::shared() else {
            return;
        };
        let url = pg.fresh_database();
        let racers = 4;
        let start = Arc::new(Barrier::new(racers));
        let handles: Vec<_> = (0..racers)
            .map(|_| {
                let (url, start) = (url.clone(), Arc::clone(&start));
                std::thread::spawn(move || {
                    start.wait();
                    PostgresStore::connect(&url).map(drop)
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap().unwrap();
        }
        let versions: i64 = client(&url)
            .query_one("SELECT count(*) FROM needle_schema_migrations", &[])
            .unwrap()
            .get(0);
        assert_eq!(versions, MIGRATIONS.len() as i64);
    }

    #[test]
    fn a_refused_connection_is_an_open_error_without_the_password() {
        let password = "s3cret-Pa55word";
        let err = PostgresStore::connect(&refused_url(password))
            .err()
            .unwrap();
        let text = err.to_string();
        assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
        assert!(text.contains("postgres://needle@127.0.0.1:"), "{text}");
        assert!(text.contains("refused"), "{text}");
        assert!(!text.contains(password), "{text}");
        assert!(!format!("{err:?}").contains(password), "{err:?}");
    }

    #[test]
    fn a_bad_url_is_an_open_error_without_the_password() {
        let password = "s3cret-Pa55word";
        for url in [
            format!("postgres://needle:{password}@127.0.0.1:notaport/needle"),
            format!("host=127.0.0.1 password={password} sslmode=sometimes"),
            format!("postgres://needle@127.0.0.1/needle?password={password}&bogus=1"),
        ] {
            let err = PostgresStore::connect(&url).err().unwrap();
            assert!(matches!(err, StoreError::Open { .. }), "{url}: {err:?}");
            assert!(!format!("{err} {err:?}").contains(password), "{err:?}");
        }
    }

    #[test]
    fn a_wrong_password_is_an_open_error_without_the_password() {
        let Some(pg) = TestPostgres::shared() else {
            return;
        };
        let password = "not-the-Pa55word";
        let url = pg.url();
        let (start, rest) = url.split_once(':').unwrap();
        let (_, rest) = rest.trim_start_matches("//").split_once(':').unwrap();
        let (_, host_and_db) = rest.split_once('@').unwrap();
        let wrong = format!("{start}://needle:{password}@{host_and_db}");
        let err = PostgresStore::connect(&wrong).err().unwrap();
        let text = err.to_string();
        assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
        assert!(text.contains("password authentication failed"), "{text}");
        assert!(!text.contains(password), "{text}");
    }

    /// The database server ends our sessions (as a restart or an administrator would): the
    /// call that finds out is `Unavailable`, and the next one connects afresh.
    #[test]
    fn a_lost_connection_is_unavailable_and_the_next_call_reconnects() {
        let Some(pg) = TestPostgres::shared() else {
            return;
        };
        let url = pg.fresh_database();
        let store = PostgresStore::connect(&url).unwrap();
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        let database = url.rsplit('/').next().unwrap();
        let ended: i64 = client(&pg.url())
            .query_one(
                "SELECT count(*) FROM (
                     -- Waits (up to 5 s) until the session is gone.
                     SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity
                     WHERE datname = $1 AND pid <> pg_backend_pid()) AS t",
                &[&database],
            )
            .unwrap()
            .get(0);
        assert!(ended >= 1, "no session to end");
        let err = store.count(Some(ws)).err().unwrap();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
        assert_eq!(err.code(), needle_core::ErrorCode::Unavailable);
        assert!(
            err.to_string().contains("postgres://needle@127.0.0.1:"),
            "{err}"
        );
        assert_eq!(store.count(Some(ws)).unwrap(), 0, "no reconnect");
    }

    /// `Store::workspaces` promises byte order whatever the database's locale: here one
    /// whose collation puts `alpha` before `B` before `Zeta`.
    #[test]
    fn workspaces_come_in_byte_order_as_in_sqlite() {
        let Some(pg) = TestPostgres::shared() else {
            return;
        };
        let Some(url) = pg.fresh_database_with_icu_collation("en") else {
            eprintln!("skipped: this PostgreSQL has no ICU collations");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let sqlite = SqliteStore::open(dir.path().join("needle.db")).unwrap();
        let postgres = PostgresStore::connect(&url).unwrap();
        let sorted_by_locale: Vec<String> = client(&url)
            .query(
                "SELECT n FROM unnest(ARRAY['Zeta', 'alpha', 'B']) AS n ORDER BY n",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(
            sorted_by_locale,
            ["alpha", "B", "Zeta"],
            "not an ICU collation"
        );
        let names = ["b", "Zeta", "alpha", "Ärger", "B", "a b", "a-b", "ab"];
        let listed = |store: &dyn Store| -> Vec<String> {
            for name in names {
                store.ensure_workspace(name, false).unwrap();
            }
            store
                .workspaces()
                .unwrap()
                .into_iter()
                .map(|w| w.name)
                .collect()
        };
        let mut expected: Vec<&str> = names.to_vec();
        expected.sort_by_key(|name| name.as_bytes());
        assert_eq!(listed(&sqlite), expected);
        assert_eq!(listed(&postgres), expected);
    }

    /// The server goes away for good: calls are `Unavailable` (not `Open`, which is for a
    /// store that never opened), first on the dead pooled connection, then on the refused
    /// new one.
    #[test]
    fn a_server_gone_after_opening_is_unavailable() {
        let Some(pg) = TestPostgres::start() else {
            return;
        };
        let store = PostgresStore::connect(&pg.fresh_database()).unwrap();
        store.ensure_workspace("acme", false).unwrap();
        drop(pg);
        for attempt in 0..3 {
            let err = store.workspaces().err().unwrap();
            assert!(
                matches!(err, StoreError::Unavailable(_)),
                "{attempt}: {err:?}"
            );
            assert!(!err.to_string().contains("Pa55"), "{err}");
        }
        let err = store
            .insert_batch(1, &[&message("1", "chat", 1)])
            .err()
            .unwrap();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    }

    #[test]
    fn a_read_only_database_reports_read_only() {
        let Some(pg) = TestPostgres::shared() else {
            return;
        };
        let url = pg.fresh_database();
        drop(PostgresStore::connect(&url).unwrap());
        let database = url.rsplit('/').next().unwrap();
        client(&url)
            .batch_execute(&format!(
                "ALTER DATABASE {database} SET default_transaction_read_only = on"
            ))
            .unwrap();
        // An up-to-date schema opens read-only; writing is refused with the right error.
        let store = PostgresStore::connect(&url).unwrap();
        let err = store.ensure_workspace("acme", false).err().unwrap();
        assert!(matches!(err, StoreError::ReadOnly(_)), "{err:?}");
        assert_eq!(store.count(None).unwrap(), 0);
    }

    #[test]
    fn writers_in_parallel_get_distinct_seqs_and_lose_nothing() {
        let Some(pg) = TestPostgres::shared() else {
            return;
        };
        let url = pg.fresh_database();
        // Two stores, as two processes would have.
        let stores = [
            Arc::new(PostgresStore::connect(&url).unwrap()),
            Arc::new(PostgresStore::connect(&url).unwrap()),
        ];
        let ws = stores[0].ensure_workspace("acme", false).unwrap().id;
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let store = Arc::clone(&stores[t % 2]);
                std::thread::spawn(move || {
                    let mut seqs = Vec::new();
                    for batch in 0..5 {
                        // Overlapping ids across threads: each is stored once.
                        let messages: Vec<Message> = (0..20)
                            .map(|i| message(&format!("{}", batch * 20 + i), "chat", i))
                            .collect();
                        let refs: Vec<&Message> = messages.iter().collect();
                        seqs.extend(store.insert_batch(ws, &refs).unwrap());
                    }
                    seqs
                })
            })
            .collect();
        let mut new = Vec::new();
        for handle in handles {
            for outcome in handle.join().unwrap() {
                if let Inserted::New(seq) = outcome {
                    new.push(seq);
                }
            }
        }
        new.sort();
        let stored: Vec<i64> = stores[1]
            .scan(0, 1000)
            .unwrap()
            .iter()
            .map(|m| m.seq)
            .collect();
        assert_eq!(
            new, stored,
            "every message stored once, under the seq reported"
        );
        assert_eq!(stored.len(), 100);
    }

    /// The property the search index's catch-up needs (see "Seqs and commit order"): a
    /// writer does not draw seqs while another writer's batch is uncommitted, so no seq can
    /// commit below one a reader has already seen.
    #[test]
    fn a_batch_waits_for_another_writers_uncommitted_batch() {
        let Some(pg) = TestPostgres::shared() else {
            return;
        };
        let url = pg.fresh_database();
        let store = Arc::new(PostgresStore::connect(&url).unwrap());
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        store.insert_batch(ws, &[&message("0", "chat", 0)]).unwrap();

        // Another writer (another Needle process, say) is in the middle of a batch.
        let mut other = client(&url);
        let mut batch = other.transaction().unwrap();
        batch.execute(TAKE_WRITE_LOCK, &[&WRITE_LOCK]).unwrap();
        let in_flight: i64 = batch
            .query_one(
                "INSERT INTO messages (workspace_id, channel, source_id, direction, created_at,
                     ingested_at, author_id, thread_id, text, doc)
                 SELECT workspace_id, channel, 'other', direction, created_at, ingested_at,
                     author_id, thread_id, text, doc
                 FROM messages
                 RETURNING seq",
                &[],
            )
            .unwrap()
            .get(0);

        let writer = {
            let store = Arc::clone(&store);
            std::thread::spawn(move || store.insert_batch(ws, &[&message("1", "chat", 1)]))
        };
        std::thread::sleep(Duration::from_millis(500));
        assert!(
            !writer.is_finished(),
            "a batch committed while seq {in_flight} was still in flight"
        );
        batch.commit().unwrap();
        let seq = writer.join().unwrap().unwrap()[0].seq();
        assert!(seq > in_flight, "{seq} after {in_flight}");
    }

    #[test]
    fn display_urls_never_show_the_password() {
        let cases = [
            (
                "postgres://kim:pw@db.example:6543/needle",
                "postgres://kim@db.example:6543/needle",
            ),
            (
                "postgresql://kim@[::1]/needle?password=pw",
                "postgres://kim@[::1]:5432/needle",
            ),
            (
                "host=/run/postgresql user=kim password=pw dbname=needle",
                "postgres://kim@%2Frun%2Fpostgresql/needle",
            ),
            ("postgres://a:pw@h1:1,h2:2/db", "postgres://a@h1:1,h2:2/db"),
        ];
        for (url, shown) in cases {
            assert_eq!(display_url(&Config::from_str(url).unwrap()), shown, "{url}");
        }
    }

    /// What a column holds, in terms both databases share.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Class {
        Integer,
        Text,
        Real,
        Boolean,
    }

    /// table → column → (class, nullable).
    type Shape = BTreeMap<String, BTreeMap<String, (Class, bool)>>;

    /// SQLite has no boolean type: these INTEGER columns hold 0 and 1, and are BOOLEAN in
    /// PostgreSQL. A new flag column belongs here (the comparison fails until it is).
    const SQLITE_BOOLEANS: &[(&str, &str)] = &[
        ("workspaces", "demo"),
        ("authors", "verified"),
        ("relevance_labels", "relevant"),
        ("connections", "enabled"),
        ("users", "must_change_password"),
    ];

    fn sqlite_shape() -> Shape {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("needle.db");
        drop(SqliteStore::open(&path).unwrap());
        let conn = rusqlite::Connection::open(&path).unwrap();
        let tables: Vec<String> = conn
            .prepare(
                "SELECT name FROM sqlite_master
                 WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let mut shape = Shape::new();
        for table in tables {
            let mut stmt = conn
                .prepare(&format!("PRAGMA table_info({table})"))
                .unwrap();
            let columns = stmt
                .query_map([], |r| {
                    let name: String = r.get("name")?;
                    let declared: String = r.get("type")?;
                    let not_null: bool = r.get("notnull")?;
                    let primary_key: i64 = r.get("pk")?;
                    Ok((name, declared, not_null || primary_key > 0))
                })
                .unwrap();
            for column in columns {
                let (name, declared, not_null) = column.unwrap();
                // SQLite's affinity rules, in its order (https://sqlite.org/datatype3.html).
                let declared = declared.to_uppercase();
                let class = if SQLITE_BOOLEANS.contains(&(table.as_str(), name.as_str())) {
                    Class::Boolean
                } else if declared.contains("INT") {
                    Class::Integer
                } else if ["CHAR", "CLOB", "TEXT"]
                    .iter()
                    .any(|t| declared.contains(t))
                {
                    Class::Text
                } else if ["REAL", "FLOA", "DOUB"]
                    .iter()
                    .any(|t| declared.contains(t))
                {
                    Class::Real
                } else {
                    panic!("{table}.{name}: no class for SQLite type {declared:?}")
                };
                shape
                    .entry(table.clone())
                    .or_default()
                    .insert(name, (class, !not_null));
            }
        }
        shape
    }

    fn postgres_shape(url: &str) -> Shape {
        drop(PostgresStore::connect(url).unwrap());
        let rows = client(url)
            .query(
                "SELECT table_name::text, column_name::text, data_type::text,
                        is_nullable = 'YES'
                 FROM information_schema.columns
                 WHERE table_schema = current_schema()
                   AND table_name <> 'needle_schema_migrations'",
                &[],
            )
            .unwrap();
        let mut shape = Shape::new();
        for row in rows {
            let (table, name, data_type): (String, String, String) =
                (row.get(0), row.get(1), row.get(2));
            let class = match data_type.as_str() {
                "smallint" | "integer" | "bigint" => Class::Integer,
                "text" | "character varying" | "character" => Class::Text,
                "real" | "double precision" | "numeric" => Class::Real,
                "boolean" => Class::Boolean,
                other => panic!("{table}.{name}: no class for PostgreSQL type {other:?}"),
            };
            shape
                .entry(table)
                .or_default()
                .insert(name, (class, row.get(3)));
        }
        shape
    }

    #[test]
    fn both_schemas_say_the_same_thing() {
        let Some(pg) = TestPostgres::shared() else {
            return;
        };
        let sqlite = sqlite_shape();
        assert!(sqlite["messages"].contains_key("seq"), "{sqlite:?}");
        assert_eq!(
            postgres_shape(&pg.fresh_database()),
            sqlite,
            "migrations/postgres and migrations/sqlite disagree (left: PostgreSQL)"
        );
    }
}
