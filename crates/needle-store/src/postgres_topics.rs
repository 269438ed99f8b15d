//! [`TopicStore`] for the PostgreSQL store: the same behaviour as the SQLite one
//! (`sqlite_topics.rs`), proven by the same conformance suite.
//!
//! SQLite has one writer at a time; here several run at once, in this process and others,
//! so what the SQLite store gets from its writer lock is spelled out:
//!
//! * `save_topic` locks the topic's row (`FOR UPDATE`) before it compares definitions, so two
//!   saves of one topic take turns, and the second sees the first's version. Two saves of a
//!   new key race on the `(workspace_id, key)` unique key; the loser waits for the winner's
//!   commit, then carries on as a save of an existing topic.
//! * Tags go in sorted, so that two transactions tagging overlapping messages take their
//!   row locks in the same order and cannot deadlock.
//! * None of these draw message seqs, so none takes the write lock that keeps seqs committing
//!   in order (see "Seqs and commit order" in `postgres.rs`): `tag` and `advance_backfill`
//!   only add rows to `message_topics`, which has no identity column, and update
//!   `backfills`. The topic ids `save_topic` draws are not seqs; nothing catches up on them.
//!
//! Keys sort as bytes (`COLLATE "C"`), as SQLite sorts, whatever the database's locale.

use ::postgres::types::ToSql;
use ::postgres::{IsolationLevel, Row, Statement, Transaction};

use crate::postgres::{Failure, PostgresStore, limit, message_columns, rows_to_messages};
use crate::topics::{
    Backfill, SeriesBucket, SeriesWindow, Tag, TopicDefinition, TopicRecord, TopicStore,
    TopicVersion,
};
use crate::{Cursor, Result, StoreError, StoredMessage, from_micros, micros};

/// The columns [`topic_row`] reads, from `topics t JOIN topic_versions v` at the current
/// version.
macro_rules! topic_columns {
    () => {
        "t.id, t.workspace_id, t.key, t.current_version, v.level, v.query, v.exclude, \
         t.created_at, t.updated_at"
    };
}

/// The columns [`backfill_row`] reads, from `backfills`.
macro_rules! backfill_columns {
    () => {
        "topic_id, version, upto_seq, next_seq, total, done, matched, started_at, finished_at"
    };
}

const TOPIC_FOR_UPDATE: &str = "SELECT id, current_version, deleted_at FROM topics
     WHERE workspace_id = $1 AND key = $2 FOR UPDATE";
/// Nothing comes back when another transaction holds (or just committed) the key.
const INSERT_TOPIC: &str = "
    INSERT INTO topics (workspace_id, key, current_version, created_at, updated_at)
    VALUES ($1, $2, 1, $3, $3)
    ON CONFLICT (workspace_id, key) DO NOTHING
    RETURNING id";
const INSERT_VERSION: &str = "
    INSERT INTO topic_versions (topic_id, version, level, query, exclude, created_at)
    VALUES ($1, $2, $3, $4, $5, $6)";
const CURRENT_DEFINITION: &str =
    "SELECT level, query, exclude FROM topic_versions WHERE topic_id = $1 AND version = $2";
const NEW_VERSION: &str = "
    UPDATE topics SET current_version = $2, updated_at = $3, deleted_at = NULL WHERE id = $1";
const TOPIC_BY_ID: &str = concat!(
    "SELECT ",
    topic_columns!(),
    " FROM topics t
      JOIN topic_versions v ON v.topic_id = t.id AND v.version = t.current_version
      WHERE t.id = $1"
);
const DELETE_TOPIC: &str = "
    UPDATE topics SET deleted_at = $3
    WHERE workspace_id = $1 AND key = $2 AND deleted_at IS NULL";
const TOPIC_BY_KEY: &str = concat!(
    "SELECT ",
    topic_columns!(),
    " FROM topics t
      JOIN topic_versions v ON v.topic_id = t.id AND v.version = t.current_version
      WHERE t.workspace_id = $1 AND t.key = $2 AND t.deleted_at IS NULL"
);
const LIVE_TOPICS: &str = concat!(
    "SELECT ",
    topic_columns!(),
    " FROM topics t
      JOIN topic_versions v ON v.topic_id = t.id AND v.version = t.current_version
      WHERE ($1::int8 IS NULL OR t.workspace_id = $1) AND t.deleted_at IS NULL
      ORDER BY t.workspace_id, t.key COLLATE \"C\""
);
const TOPIC_VERSIONS: &str = "
    SELECT version, level, query, exclude, created_at FROM topic_versions
    WHERE topic_id = $1 ORDER BY version";

/// `ORDER BY`: rows are inserted, and so locked, in key order (see the module docs).
const INSERT_TAGS: &str = "
    INSERT INTO message_topics (topic_id, version, message_seq, created_at)
    SELECT * FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[])
        AS t(topic_id, version, message_seq, created_at)
    ORDER BY topic_id, version, message_seq
    ON CONFLICT DO NOTHING";
const TOPIC_MESSAGES: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM message_topics mt JOIN messages m ON m.seq = mt.message_seq
      WHERE mt.topic_id = $1 AND mt.version = $2
        AND (mt.created_at, mt.message_seq) < ($3, $4)
      ORDER BY mt.created_at DESC, mt.message_seq DESC
      LIMIT $5"
);
const TOPIC_COUNT: &str =
    "SELECT count(*) FROM message_topics WHERE topic_id = $1 AND version = $2";
/// Volume and sentiment per bucket; the classification is JSON text.
const TOPIC_SERIES: &str = "
    SELECT (mt.created_at - $3) / $5 AS bucket, count(*),
           count(*) FILTER (WHERE s.label = 'positive'),
           count(*) FILTER (WHERE s.label = 'negative'),
           count(s.score), coalesce(sum(s.score), 0)
    FROM message_topics mt
    JOIN messages m ON m.seq = mt.message_seq
    CROSS JOIN LATERAL (
        SELECT m.classification::jsonb #>> '{sentiment,label}' AS label,
               (m.classification::jsonb #>> '{sentiment,score}')::float8 AS score
    ) s
    WHERE mt.topic_id = $1 AND mt.version = $2
      AND mt.created_at >= $3 AND mt.created_at < $4
    GROUP BY bucket ORDER BY bucket";
/// In the order the seqs were asked (repeats included), then by key.
const TOPICS_OF: &str = "
    SELECT mt.message_seq, t.key
    FROM unnest($1::int8[]) WITH ORDINALITY AS q(seq, ord)
    JOIN message_topics mt ON mt.message_seq = q.seq
    JOIN topics t ON t.id = mt.topic_id AND t.current_version = mt.version
    WHERE t.deleted_at IS NULL
    ORDER BY q.ord, t.key COLLATE \"C\"";

/// Counts and inserts in one statement; does nothing when the backfill exists already.
const START_BACKFILL: &str = "
    INSERT INTO backfills (topic_id, version, upto_seq, next_seq, total, done, matched,
        started_at)
    VALUES ($1, $2, $3::int8, $3::int8 + 1,
        (SELECT count(*) FROM messages WHERE workspace_id = $4 AND seq <= $3::int8),
        0, 0, $5)
    ON CONFLICT (topic_id, version) DO NOTHING";
const BACKFILL: &str = concat!(
    "SELECT ",
    backfill_columns!(),
    " FROM backfills WHERE topic_id = $1 AND version = $2"
);
/// Ties (backfills started in the same microsecond) in key order, so the order is stable.
const UNFINISHED_BACKFILLS: &str = concat!(
    "SELECT ",
    backfill_columns!(),
    " FROM backfills WHERE finished_at IS NULL ORDER BY started_at, topic_id, version"
);
const BACKFILL_CHUNK: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM messages m WHERE m.workspace_id = $1 AND m.seq < $2 ORDER BY m.seq DESC LIMIT $3"
);
/// `done` stops at `total`; written so that a huge `looked_at` cannot overflow.
const ADVANCE_BACKFILL: &str = concat!(
    "UPDATE backfills SET next_seq = $3,
        done = done + least($4::int8, total - done),
        matched = matched + $5,
        finished_at = coalesce($6::int8, finished_at)
     WHERE topic_id = $1 AND version = $2
     RETURNING ",
    backfill_columns!()
);

fn topic_row(row: &Row) -> Result<TopicRecord, Failure> {
    Ok(TopicRecord {
        id: row.try_get(0)?,
        workspace_id: row.try_get(1)?,
        key: row.try_get(2)?,
        version: row.try_get(3)?,
        level: row.try_get(4)?,
        query: row.try_get(5)?,
        exclude: row.try_get(6)?,
        created_at: from_micros(row.try_get(7)?),
        updated_at: from_micros(row.try_get(8)?),
    })
}

fn backfill_row(row: &Row) -> Result<Backfill, Failure> {
    let count = |i: usize| -> Result<u64, Failure> {
        Ok(u64::try_from(row.try_get::<_, i64>(i)?).unwrap_or(0))
    };
    Ok(Backfill {
        topic_id: row.try_get(0)?,
        version: row.try_get(1)?,
        upto_seq: row.try_get(2)?,
        next_seq: row.try_get(3)?,
        total: count(4)?,
        done: count(5)?,
        matched: count(6)?,
        started_at: from_micros(row.try_get(7)?),
        finished_at: row.try_get::<_, Option<i64>>(8)?.map(from_micros),
    })
}

fn now_us() -> i64 {
    micros(time::OffsetDateTime::now_utc())
}

/// Counts as `BIGINT`s.
fn big(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

/// Records `tags` (in one statement, so all or none) on `client`, a connection or a
/// transaction.
fn insert_tags(
    statement: &Statement,
    client: &mut impl ::postgres::GenericClient,
    tags: &[Tag],
) -> Result<(), Failure> {
    if tags.is_empty() {
        return Ok(());
    }
    let topic_ids: Vec<i64> = tags.iter().map(|t| t.topic_id).collect();
    let versions: Vec<i64> = tags.iter().map(|t| t.version).collect();
    let seqs: Vec<i64> = tags.iter().map(|t| t.seq).collect();
    let created: Vec<i64> = tags.iter().map(|t| t.created_at_us).collect();
    client.execute(statement, &[&topic_ids, &versions, &seqs, &created])?;
    Ok(())
}

/// A backfill that should exist and does not.
fn no_backfill(topic_id: i64, version: i64) -> Failure {
    StoreError::Other(format!(
        "no backfill of topic {topic_id} version {version} to advance"
    ))
    .into()
}

impl PostgresStore {
    fn query_messages(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<StoredMessage>> {
        self.with_conn(|conn| {
            let statement = conn.prepare(sql)?;
            rows_to_messages(&conn.client.query(&statement, params)?)
        })
    }
}

impl TopicStore for PostgresStore {
    fn save_topic(&self, workspace_id: i64, d: &TopicDefinition<'_>) -> Result<TopicRecord> {
        let now = now_us();
        self.with_conn(|conn| {
            let for_update = conn.prepare(TOPIC_FOR_UPDATE)?;
            let insert_topic = conn.prepare(INSERT_TOPIC)?;
            let insert_version = conn.prepare(INSERT_VERSION)?;
            let current = conn.prepare(CURRENT_DEFINITION)?;
            let new_version = conn.prepare(NEW_VERSION)?;
            let by_id = conn.prepare(TOPIC_BY_ID)?;
            // Read committed whatever the database's default: each statement must see what
            // other saves committed before it (see the module docs).
            let mut tx = conn
                .client
                .build_transaction()
                .isolation_level(IsolationLevel::ReadCommitted)
                .start()?;

            // An existing topic (its row locked): a new version if the definition changed
            // or the topic was deleted.
            let revise = |tx: &mut Transaction<'_>, row: &Row| -> Result<i64, Failure> {
                let id: i64 = row.try_get(0)?;
                let version: i64 = row.try_get(1)?;
                let deleted_at: Option<i64> = row.try_get(2)?;
                let definition = tx.query_one(&current, &[&id, &version])?;
                // Compared here, byte for byte as SQLite's `=` compares: a database
                // collation could call different strings equal.
                let same = definition.try_get::<_, &str>(0)? == d.level
                    && definition.try_get::<_, &str>(1)? == d.query
                    && definition.try_get::<_, Option<&str>>(2)? == d.exclude;
                if !same || deleted_at.is_some() {
                    let next = version + 1;
                    tx.execute(
                        &insert_version,
                        &[&id, &next, &d.level, &d.query, &d.exclude, &now],
                    )?;
                    tx.execute(&new_version, &[&id, &next, &now])?;
                }
                Ok(id)
            };
            let key = [&workspace_id as &(dyn ToSql + Sync), &d.key];
            let topic_id = match tx.query_opt(&for_update, &key)? {
                Some(row) => revise(&mut tx, &row)?,
                None => match tx.query_opt(&insert_topic, &[&workspace_id, &d.key, &now])? {
                    Some(row) => {
                        let id: i64 = row.try_get(0)?;
                        tx.execute(
                            &insert_version,
                            &[&id, &1i64, &d.level, &d.query, &d.exclude, &now],
                        )?;
                        id
                    }
                    // Another save created it meanwhile and has committed (the insert waited
                    // for it): this statement, a new one, sees its row.
                    None => {
                        let row = tx.query_one(&for_update, &key)?;
                        revise(&mut tx, &row)?
                    }
                },
            };
            let record = topic_row(&tx.query_one(&by_id, &[&topic_id])?)?;
            tx.commit()?;
            Ok(record)
        })
    }

    fn delete_topic(&self, workspace_id: i64, key: &str) -> Result<bool> {
        self.with_conn(|conn| {
            let delete = conn.prepare(DELETE_TOPIC)?;
            let changed = conn
                .client
                .execute(&delete, &[&workspace_id, &key, &now_us()])?;
            Ok(changed == 1)
        })
    }

    fn topic(&self, workspace_id: i64, key: &str) -> Result<Option<TopicRecord>> {
        self.with_conn(|conn| {
            let by_key = conn.prepare(TOPIC_BY_KEY)?;
            conn.client
                .query_opt(&by_key, &[&workspace_id, &key])?
                .as_ref()
                .map(topic_row)
                .transpose()
        })
    }

    fn topics(&self, workspace_id: Option<i64>) -> Result<Vec<TopicRecord>> {
        self.with_conn(|conn| {
            let live = conn.prepare(LIVE_TOPICS)?;
            conn.client
                .query(&live, &[&workspace_id])?
                .iter()
                .map(topic_row)
                .collect()
        })
    }

    fn topic_versions(&self, topic_id: i64) -> Result<Vec<TopicVersion>> {
        self.with_conn(|conn| {
            let versions = conn.prepare(TOPIC_VERSIONS)?;
            conn.client
                .query(&versions, &[&topic_id])?
                .iter()
                .map(|r| {
                    Ok(TopicVersion {
                        version: r.try_get(0)?,
                        level: r.try_get(1)?,
                        query: r.try_get(2)?,
                        exclude: r.try_get(3)?,
                        created_at: from_micros(r.try_get(4)?),
                    })
                })
                .collect()
        })
    }

    fn tag(&self, tags: &[Tag]) -> Result<()> {
        if tags.is_empty() {
            return Ok(());
        }
        // No write lock: tags draw no seqs (see the module docs).
        self.with_conn(|conn| {
            let insert = conn.prepare(INSERT_TAGS)?;
            insert_tags(&insert, &mut conn.client, tags)
        })
    }

    fn topic_messages(
        &self,
        topic_id: i64,
        version: i64,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Vec<StoredMessage>> {
        let (ts, seq) = cursor.map_or((i64::MAX, i64::MAX), |c| (c.created_at_us, c.seq));
        self.query_messages(
            TOPIC_MESSAGES,
            &[&topic_id, &version, &ts, &seq, &self::limit(limit)],
        )
    }

    fn topic_series(
        &self,
        topic_id: i64,
        version: i64,
        window: SeriesWindow,
    ) -> Result<Vec<SeriesBucket>> {
        self.with_conn(|conn| {
            let series = conn.prepare(TOPIC_SERIES)?;
            let bucket_us = window.bucket_us.max(1);
            let rows = conn.client.query(
                &series,
                &[
                    &topic_id,
                    &version,
                    &window.since_us,
                    &window.until_us,
                    &bucket_us,
                ],
            )?;
            let count = |row: &Row, i: usize| -> std::result::Result<u64, ::postgres::Error> {
                Ok(u64::try_from(row.try_get::<_, i64>(i)?).unwrap_or(0))
            };
            rows.iter()
                .map(|row| -> Result<SeriesBucket, Failure> {
                    Ok(SeriesBucket {
                        index: row.try_get(0)?,
                        messages: count(row, 1)?,
                        positive: count(row, 2)?,
                        negative: count(row, 3)?,
                        classified: count(row, 4)?,
                        sentiment_sum: row.try_get(5)?,
                    })
                })
                .collect()
        })
    }

    fn topic_count(&self, topic_id: i64, version: i64) -> Result<u64> {
        self.with_conn(|conn| {
            let count = conn.prepare(TOPIC_COUNT)?;
            let n: i64 = conn
                .client
                .query_one(&count, &[&topic_id, &version])?
                .try_get(0)?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    fn topics_of(&self, seqs: &[i64]) -> Result<Vec<(i64, String)>> {
        if seqs.is_empty() {
            return Ok(Vec::new());
        }
        self.with_conn(|conn| {
            let topics_of = conn.prepare(TOPICS_OF)?;
            conn.client
                .query(&topics_of, &[&seqs])?
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect()
        })
    }

    fn start_backfill(
        &self,
        workspace_id: i64,
        topic_id: i64,
        version: i64,
        upto_seq: i64,
    ) -> Result<Backfill> {
        let now = now_us();
        self.with_conn(|conn| {
            let start = conn.prepare(START_BACKFILL)?;
            let select = conn.prepare(BACKFILL)?;
            // Two statements, no transaction needed: the insert waits for a concurrent start
            // of the same backfill to commit, and the select, a statement of its own, then
            // sees whichever row won. Backfills are never deleted.
            conn.client.execute(
                &start,
                &[&topic_id, &version, &upto_seq, &workspace_id, &now],
            )?;
            backfill_row(&conn.client.query_one(&select, &[&topic_id, &version])?)
        })
    }

    fn backfill(&self, topic_id: i64, version: i64) -> Result<Option<Backfill>> {
        self.with_conn(|conn| {
            let select = conn.prepare(BACKFILL)?;
            conn.client
                .query_opt(&select, &[&topic_id, &version])?
                .as_ref()
                .map(backfill_row)
                .transpose()
        })
    }

    fn unfinished_backfills(&self) -> Result<Vec<Backfill>> {
        self.with_conn(|conn| {
            let unfinished = conn.prepare(UNFINISHED_BACKFILLS)?;
            conn.client
                .query(&unfinished, &[])?
                .iter()
                .map(backfill_row)
                .collect()
        })
    }

    fn backfill_chunk(
        &self,
        workspace_id: i64,
        before_seq: i64,
        limit: usize,
    ) -> Result<Vec<StoredMessage>> {
        self.query_messages(
            BACKFILL_CHUNK,
            &[&workspace_id, &before_seq, &self::limit(limit)],
        )
    }

    fn claim_backfill(
        &self,
        topic_id: i64,
        version: i64,
        owner: &str,
        now_us: i64,
        until_us: i64,
    ) -> Result<bool> {
        self.with_conn(|conn| {
            let claim = conn.prepare(
                "UPDATE backfills SET lease_owner = $3, lease_until = $5
                 WHERE topic_id = $1 AND version = $2
                   AND (lease_owner IS NULL OR lease_owner = $3 OR lease_until < $4)",
            )?;
            let changed = conn
                .client
                .execute(&claim, &[&topic_id, &version, &owner, &now_us, &until_us])?;
            Ok(changed == 1)
        })
    }

    fn advance_backfill(
        &self,
        topic_id: i64,
        version: i64,
        next_seq: i64,
        looked_at: u64,
        tags: &[Tag],
    ) -> Result<Backfill> {
        let finished = (next_seq <= 0).then(now_us);
        let next_seq = next_seq.max(0);
        let (looked_at, matched) = (big(looked_at), big(tags.len()));
        // No write lock: a step draws no seqs (see the module docs).
        self.with_conn(|conn| {
            let insert = conn.prepare(INSERT_TAGS)?;
            let advance = conn.prepare(ADVANCE_BACKFILL)?;
            let mut tx = conn.client.transaction()?;
            insert_tags(&insert, &mut tx, tags)?;
            // `matched` counts the tags given, as the SQLite store does.
            let row = tx
                .query_opt(
                    &advance,
                    &[
                        &topic_id, &version, &next_seq, &looked_at, &matched, &finished,
                    ],
                )?
                .ok_or_else(|| no_backfill(topic_id, version))?;
            let state = backfill_row(&row)?;
            tx.commit()?;
            Ok(state)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Barrier};

    use time::OffsetDateTime;

    use super::*;
    use crate::conformance::message;
    use crate::sqlite::SqliteStore;
    use crate::testing::TestPostgres;
    use crate::topics::conformance::Both;
    use crate::{Store, StoreError};

    // As in `postgres.rs`: skipped when no PostgreSQL is installed, an empty database each.
    crate::topic_store_conformance_tests!({
        let Some(pg) = TestPostgres::shared() else {
            return;
        };
        move || {
            let url = pg.fresh_database();
            (Box::new(PostgresStore::connect(&url).unwrap()), ())
        }
    });

    const EPOCH: OffsetDateTime = OffsetDateTime::UNIX_EPOCH;

    /// Answers with the clock's readings taken out, and errors as their codes.
    trait Timeless {
        fn timeless(self) -> String;
    }

    impl Timeless for TopicRecord {
        fn timeless(self) -> String {
            format!(
                "{:?}",
                TopicRecord {
                    created_at: EPOCH,
                    updated_at: EPOCH,
                    ..self
                }
            )
        }
    }

    impl Timeless for TopicVersion {
        fn timeless(self) -> String {
            format!(
                "{:?}",
                TopicVersion {
                    created_at: EPOCH,
                    ..self
                }
            )
        }
    }

    impl Timeless for Backfill {
        fn timeless(self) -> String {
            format!(
                "{:?}",
                Backfill {
                    started_at: EPOCH,
                    finished_at: self.finished_at.map(|_| EPOCH),
                    ..self
                }
            )
        }
    }

    impl Timeless for StoredMessage {
        fn timeless(self) -> String {
            format!("{}/{}/{}", self.seq, self.workspace_id, self.message.id)
        }
    }

    macro_rules! plain {
        ($($t:ty),*) => {$(
            impl Timeless for $t {
                fn timeless(self) -> String {
                    format!("{self:?}")
                }
            }
        )*};
    }
    plain!((), bool, u64, (i64, String));

    impl<T: Timeless> Timeless for Option<T> {
        fn timeless(self) -> String {
            self.map_or("None".into(), |t| format!("Some({})", t.timeless()))
        }
    }

    impl<T: Timeless> Timeless for Vec<T> {
        fn timeless(self) -> String {
            let items: Vec<String> = self.into_iter().map(Timeless::timeless).collect();
            format!("[{}]", items.join(", "))
        }
    }

    impl<T: Timeless> Timeless for Result<T, StoreError> {
        fn timeless(self) -> String {
            match self {
                Ok(t) => t.timeless(),
                Err(e) => format!("Err({:?})", e.code()),
            }
        }
    }

    fn definition<'a>(
        key: &'a str,
        query: &'a str,
        exclude: Option<&'a str>,
    ) -> TopicDefinition<'a> {
        TopicDefinition {
            key,
            level: "brand",
            query,
            exclude,
        }
    }

    fn tag(seq: i64, topic_id: i64, version: i64) -> Tag {
        Tag {
            seq,
            topic_id,
            version,
            created_at_us: 0,
        }
    }

    /// A run through every `TopicStore` call, edge cases included, recording each answer.
    fn script(store: &dyn Both) -> Vec<String> {
        let mut out = Vec::new();
        let mut log = |what: &str, answer: &dyn Fn() -> String| {
            out.push(format!("{what}: {}", answer()));
        };
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        let other = store.ensure_workspace("globex", false).unwrap().id;

        // Keys that sort differently by bytes and by most locales.
        for key in ["office", "Zeta", "alpha", "Ärger", "b-2", "b_1", "B"] {
            let d = definition(key, key, Some("window"));
            log(key, &|| store.save_topic(ws, &d).timeless());
        }
        let office = store.topic(ws, "office").unwrap().unwrap().id;
        let zeta = store.topic(ws, "Zeta").unwrap().unwrap().id;
        let alpha = store.topic(ws, "alpha").unwrap().unwrap().id;
        let arger = store.topic(ws, "Ärger").unwrap().unwrap().id;
        let big_b = store.topic(ws, "B").unwrap().unwrap().id;
        for (query, exclude) in [
            ("office", Some("window")),
            ("office", None),
            ("office", Some("")),
            ("office", Some("")),
            ("Office", Some("")),
        ] {
            let d = definition("office", query, exclude);
            log("resave", &|| store.save_topic(ws, &d).timeless());
        }
        let d = definition("alpha", "in globex", None);
        log("other ws", &|| store.save_topic(other, &d).timeless());
        log("topics ws", &|| store.topics(Some(ws)).timeless());
        log("topics all", &|| store.topics(None).timeless());
        log("topics none", &|| store.topics(Some(999)).timeless());
        log("versions", &|| store.topic_versions(office).timeless());
        log("versions unknown", &|| store.topic_versions(999).timeless());

        // Equal times, so that pages must break ties by seq.
        let messages: Vec<_> = [3, 1, 3, 2, 3, 0, 5, 5]
            .iter()
            .enumerate()
            .map(|(i, minute)| message(&i.to_string(), "chat", *minute))
            .collect();
        let refs: Vec<_> = messages.iter().collect();
        let seqs: Vec<i64> = store
            .insert_batch(ws, &refs)
            .unwrap()
            .iter()
            .map(|i| i.seq())
            .collect();
        store.insert_batch(other, &refs[..3]).unwrap();
        let tag_of = |i: usize, topic: i64, version: i64| Tag {
            created_at_us: micros(messages[i].created_at),
            ..tag(seqs[i], topic, version)
        };
        // Office is at version 4 now.
        let all: Vec<Tag> = (0..8).rev().map(|i| tag_of(i, office, 4)).collect();
        log("tag", &|| store.tag(&all).timeless());
        log("tag again", &|| store.tag(&all[2..5]).timeless());
        let twice = [tag_of(1, zeta, 1), tag_of(1, zeta, 1), tag_of(4, zeta, 1)];
        log("tag twice in one call", &|| store.tag(&twice).timeless());
        log("tag old version", &|| {
            store.tag(&[tag_of(0, office, 1)]).timeless()
        });
        log("tag alpha", &|| {
            store.tag(&[tag_of(0, alpha, 1)]).timeless()
        });
        let more = [
            tag_of(4, arger, 1),
            tag_of(4, big_b, 1),
            tag_of(4, alpha, 1),
        ];
        log("tag more", &|| store.tag(&more).timeless());
        log("tag nothing", &|| store.tag(&[]).timeless());
        let unknown = [tag_of(2, alpha, 1), tag(seqs[7] + 1000, alpha, 1)];
        let alpha_before = store.topic_count(alpha, 1).unwrap();
        log("tag unknown seq", &|| store.tag(&unknown).timeless());
        log("all or nothing", &|| {
            (store.topic_count(alpha, 1).unwrap() == alpha_before).timeless()
        });
        for (topic, version) in [(office, 4), (office, 1), (office, 3), (zeta, 1), (999, 1)] {
            log("count", &|| store.topic_count(topic, version).timeless());
        }
        let mut cursor = None;
        loop {
            let page = store.topic_messages(office, 4, cursor, 3).unwrap();
            let Some(last) = page.last() else { break };
            cursor = Some(Cursor::after(last));
            log("page", &|| page.clone().timeless());
        }
        log("page 0", &|| {
            store.topic_messages(office, 4, None, 0).timeless()
        });
        log("page none", &|| {
            store.topic_messages(office, 2, None, 10).timeless()
        });
        let asked = [seqs[4], seqs[0], seqs[4], seqs[7] + 1000, seqs[1], seqs[0]];
        log("topics_of", &|| store.topics_of(&asked).timeless());
        log("topics_of nothing", &|| store.topics_of(&[]).timeless());

        log("delete", &|| store.delete_topic(ws, "Zeta").timeless());
        log("delete again", &|| {
            store.delete_topic(ws, "Zeta").timeless()
        });
        log("delete unknown", &|| {
            store.delete_topic(ws, "nope").timeless()
        });
        log("deleted", &|| store.topic(ws, "Zeta").timeless());
        log("topics_of after delete", &|| {
            store.topics_of(&asked).timeless()
        });
        let d = definition("Zeta", "Zeta", Some("window"));
        log("back", &|| store.save_topic(ws, &d).timeless());
        log("versions back", &|| store.topic_versions(zeta).timeless());
        log("topics_of after back", &|| {
            store.topics_of(&asked).timeless()
        });
        log("count after back", &|| {
            store.topic_count(zeta, 1).timeless()
        });

        let upto = seqs[5];
        log("start", &|| {
            store.start_backfill(ws, office, 4, upto).timeless()
        });
        log("start again", &|| {
            store.start_backfill(ws, office, 4, seqs[7]).timeless()
        });
        log("start alpha", &|| {
            store.start_backfill(ws, alpha, 1, seqs[7]).timeless()
        });
        log("start empty", &|| {
            store.start_backfill(other, 999, 1, 0).timeless()
        });
        log("unfinished", &|| store.unfinished_backfills().timeless());
        log("chunk", &|| {
            store.backfill_chunk(ws, upto + 1, 3).timeless()
        });
        log("chunk rest", &|| {
            store.backfill_chunk(ws, seqs[3], 100).timeless()
        });
        log("chunk none", &|| {
            store.backfill_chunk(ws, seqs[0], 100).timeless()
        });
        let step = [
            tag_of(5, office, 4),
            tag_of(4, office, 4),
            tag_of(4, office, 3),
        ];
        log("advance", &|| {
            store
                .advance_backfill(office, 4, seqs[3], 3, &step)
                .timeless()
        });
        log("count after step", &|| {
            store.topic_count(office, 3).timeless()
        });
        log("advance past total", &|| {
            store
                .advance_backfill(office, 4, seqs[1], 100, &[])
                .timeless()
        });
        log("finish", &|| {
            store.advance_backfill(office, 4, 0, 0, &[]).timeless()
        });
        log("finish again", &|| {
            store.advance_backfill(office, 4, -5, 1, &[]).timeless()
        });
        let lost = [tag_of(6, zeta, 9)];
        log("advance unknown", &|| {
            store.advance_backfill(zeta, 9, 1, 1, &lost).timeless()
        });
        log("rolled back", &|| store.topic_count(zeta, 9).timeless());
        log("backfill", &|| store.backfill(office, 4).timeless());
        log("backfill unknown", &|| store.backfill(office, 3).timeless());
        log("unfinished after", &|| {
            store.unfinished_backfills().timeless()
        });
        out
    }

    /// The SQLite store is the reference: the same calls get the same answers here, on a
    /// database whose collation does not sort by bytes as SQLite does.
    #[test]
    fn answers_as_the_sqlite_store_does() {
        let Some(pg) = TestPostgres::shared() else {
            return;
        };
        let url = pg
            .fresh_database_with_icu_collation("en")
            .unwrap_or_else(|| {
                eprintln!("no ICU collations here: comparing on the C locale only");
                pg.fresh_database()
            });
        let dir = tempfile::tempdir().unwrap();
        let expected = script(&SqliteStore::open(dir.path().join("needle.db")).unwrap());
        let got = script(&PostgresStore::connect(&url).unwrap());
        for (sqlite, postgres) in expected.iter().zip(&got) {
            assert_eq!(postgres, sqlite, "(left: PostgreSQL, right: SQLite)");
        }
        assert_eq!(got.len(), expected.len());
    }

    /// Saves of one topic from many writers (two stores, as two processes would be) take
    /// turns: every save succeeds, each sees the version before it, and no change is lost.
    #[test]
    fn saves_from_many_writers_take_turns() {
        let Some(pg) = TestPostgres::shared() else {
            return;
        };
        let url = pg.fresh_database();
        let stores = [
            Arc::new(PostgresStore::connect(&url).unwrap()),
            Arc::new(PostgresStore::connect(&url).unwrap()),
        ];
        let ws = stores[0].ensure_workspace("acme", false).unwrap().id;
        let threads = 8;
        let start = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (store, start) = (Arc::clone(&stores[t % 2]), Arc::clone(&start));
                std::thread::spawn(move || {
                    start.wait();
                    // All create the same new topic at once, then change it back and forth.
                    let fresh = store
                        .save_topic(ws, &definition("fresh", "same", None))
                        .unwrap();
                    let ids: Vec<i64> = (0..10)
                        .map(|i| {
                            let query = if (t + i) % 2 == 0 { "even" } else { "odd" };
                            store
                                .save_topic(ws, &definition("office", query, None))
                                .unwrap()
                                .id
                        })
                        .collect();
                    (fresh, ids)
                })
            })
            .collect();
        let mut ids = Vec::new();
        for handle in handles {
            let (fresh, office) = handle.join().unwrap();
            assert_eq!(fresh.version, 1, "{fresh:?}");
            ids.extend(office);
        }
        let office = stores[1].topic(ws, "office").unwrap().unwrap();
        assert!(ids.iter().all(|&id| id == office.id), "{ids:?}");
        let versions = stores[1].topic_versions(office.id).unwrap();
        assert_eq!(versions.last().unwrap().version, office.version);
        for (i, pair) in versions.windows(2).enumerate() {
            assert_eq!(pair[0].version, i as i64 + 1);
            assert_eq!(pair[1].version, i as i64 + 2);
            assert_ne!(
                pair[0].query, pair[1].query,
                "a save did not see the one before"
            );
        }
        let fresh = stores[0].topic(ws, "fresh").unwrap().unwrap();
        assert_eq!(stores[0].topic_versions(fresh.id).unwrap().len(), 1);
    }

    /// Writers tagging the same new matches in opposite orders, at the same moments, neither
    /// deadlock nor lose a tag.
    #[test]
    fn overlapping_tags_from_many_writers_do_not_deadlock() {
        let Some(pg) = TestPostgres::shared() else {
            return;
        };
        let url = pg.fresh_database();
        let store = Arc::new(PostgresStore::connect(&url).unwrap());
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        let topic = store
            .save_topic(ws, &definition("office", "office", None))
            .unwrap();
        let messages: Vec<_> = (0..200)
            .map(|i| message(&i.to_string(), "chat", i))
            .collect();
        let refs: Vec<_> = messages.iter().collect();
        let seqs: Arc<Vec<i64>> = Arc::new(
            store
                .insert_batch(ws, &refs)
                .unwrap()
                .iter()
                .map(|i| i.seq())
                .collect(),
        );
        let (threads, rounds) = (4, 10);
        for version in 1..=rounds {
            store
                .start_backfill(ws, topic.id, version, seqs[199])
                .unwrap();
        }
        let start = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (store, seqs, start) =
                    (Arc::clone(&store), Arc::clone(&seqs), Arc::clone(&start));
                std::thread::spawn(move || {
                    // Every round to the end, errors or not: the others wait at the barrier.
                    let mut errors = Vec::new();
                    for version in 1..=rounds {
                        let mut tags: Vec<Tag> = seqs
                            .iter()
                            .map(|&seq| tag(seq, topic.id, version))
                            .collect();
                        if t % 2 == 1 {
                            tags.reverse();
                        }
                        start.wait();
                        let done = if t < 2 {
                            store.tag(&tags)
                        } else {
                            store
                                .advance_backfill(topic.id, version, 1, 0, &tags)
                                .map(drop)
                        };
                        errors.extend(done.err().map(|e| e.to_string()));
                    }
                    errors
                })
            })
            .collect();
        for handle in handles {
            let errors = handle.join().unwrap();
            assert!(errors.is_empty(), "{errors:#?}");
        }
        for version in 1..=rounds {
            assert_eq!(store.topic_count(topic.id, version).unwrap(), 200);
        }
    }
}
