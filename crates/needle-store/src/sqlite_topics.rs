//! [`TopicStore`] for the embedded SQLite store.

use rusqlite::{OptionalExtension, params};

use crate::sqlite::{MESSAGE_COLUMNS, SqliteStore, row_to_message};
use crate::topics::{
    Backfill, SeriesBucket, SeriesWindow, Tag, TopicDefinition, TopicRecord, TopicStore,
    TopicVersion,
};
use crate::{Cursor, Result, StoredMessage, from_micros, micros};

const TOPIC_COLUMNS: &str = "t.id, t.workspace_id, t.key, t.current_version, v.level, v.query, v.exclude, \
                             t.created_at, t.updated_at";

fn topic_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<TopicRecord> {
    Ok(TopicRecord {
        id: row.get(0)?,
        workspace_id: row.get(1)?,
        key: row.get(2)?,
        version: row.get(3)?,
        level: row.get(4)?,
        query: row.get(5)?,
        exclude: row.get(6)?,
        created_at: from_micros(row.get(7)?),
        updated_at: from_micros(row.get(8)?),
    })
}

const BACKFILL_COLUMNS: &str =
    "topic_id, version, upto_seq, next_seq, total, done, matched, started_at, finished_at";

fn backfill_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Backfill> {
    Ok(Backfill {
        topic_id: row.get(0)?,
        version: row.get(1)?,
        upto_seq: row.get(2)?,
        next_seq: row.get(3)?,
        total: row.get::<_, i64>(4)? as u64,
        done: row.get::<_, i64>(5)? as u64,
        matched: row.get::<_, i64>(6)? as u64,
        started_at: from_micros(row.get(7)?),
        finished_at: row.get::<_, Option<i64>>(8)?.map(from_micros),
    })
}

fn now_us() -> i64 {
    micros(time::OffsetDateTime::now_utc())
}

fn insert_tags(conn: &rusqlite::Connection, tags: &[Tag]) -> rusqlite::Result<usize> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO message_topics (topic_id, version, message_seq, created_at)
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
    )?;
    let mut added = 0;
    for tag in tags {
        added += stmt.execute(params![
            tag.topic_id,
            tag.version,
            tag.seq,
            tag.created_at_us
        ])?;
    }
    Ok(added)
}

impl TopicStore for SqliteStore {
    fn save_topic(&self, workspace_id: i64, d: &TopicDefinition<'_>) -> Result<TopicRecord> {
        let now = now_us();
        let mut conn = self.writer.lock().expect("writer");
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        let existing: Option<(i64, i64, Option<i64>)> = tx
            .query_row(
                "SELECT id, current_version, deleted_at FROM topics WHERE workspace_id = ?1 AND key = ?2",
                params![workspace_id, d.key],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let topic_id = match existing {
            None => {
                tx.execute(
                    "INSERT INTO topics (workspace_id, key, current_version, created_at, updated_at)
                     VALUES (?1, ?2, 1, ?3, ?3)",
                    params![workspace_id, d.key, now],
                )
                .map_err(|e| self.err(e))?;
                let id = tx.last_insert_rowid();
                tx.execute(
                    "INSERT INTO topic_versions (topic_id, version, level, query, exclude, created_at)
                     VALUES (?1, 1, ?2, ?3, ?4, ?5)",
                    params![id, d.level, d.query, d.exclude, now],
                )
                .map_err(|e| self.err(e))?;
                id
            }
            Some((id, version, deleted_at)) => {
                let same: bool = tx
                    .query_row(
                        "SELECT level = ?3 AND query = ?4 AND exclude IS ?5 FROM topic_versions
                         WHERE topic_id = ?1 AND version = ?2",
                        params![id, version, d.level, d.query, d.exclude],
                        |r| r.get(0),
                    )
                    .map_err(|e| self.err(e))?;
                if !same || deleted_at.is_some() {
                    tx.execute(
                        "INSERT INTO topic_versions (topic_id, version, level, query, exclude, created_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        params![id, version + 1, d.level, d.query, d.exclude, now],
                    )
                    .map_err(|e| self.err(e))?;
                    tx.execute(
                        "UPDATE topics SET current_version = ?2, updated_at = ?3, deleted_at = NULL
                         WHERE id = ?1",
                        params![id, version + 1, now],
                    )
                    .map_err(|e| self.err(e))?;
                }
                id
            }
        };
        let record = tx
            .query_row(
                &format!(
                    "SELECT {TOPIC_COLUMNS} FROM topics t
                     JOIN topic_versions v ON v.topic_id = t.id AND v.version = t.current_version
                     WHERE t.id = ?1"
                ),
                [topic_id],
                topic_row,
            )
            .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(record)
    }

    fn delete_topic(&self, workspace_id: i64, key: &str) -> Result<bool> {
        let conn = self.writer.lock().expect("writer");
        let changed = conn
            .execute(
                "UPDATE topics SET deleted_at = ?3 WHERE workspace_id = ?1 AND key = ?2 AND deleted_at IS NULL",
                params![workspace_id, key, now_us()],
            )
            .map_err(|e| self.err(e))?;
        Ok(changed == 1)
    }

    fn topic(&self, workspace_id: i64, key: &str) -> Result<Option<TopicRecord>> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {TOPIC_COLUMNS} FROM topics t
                 JOIN topic_versions v ON v.topic_id = t.id AND v.version = t.current_version
                 WHERE t.workspace_id = ?1 AND t.key = ?2 AND t.deleted_at IS NULL"
            ))?
            .query_row(params![workspace_id, key], topic_row)
            .optional()
        })
    }

    fn topics(&self, workspace_id: Option<i64>) -> Result<Vec<TopicRecord>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {TOPIC_COLUMNS} FROM topics t
                 JOIN topic_versions v ON v.topic_id = t.id AND v.version = t.current_version
                 WHERE (?1 IS NULL OR t.workspace_id = ?1) AND t.deleted_at IS NULL
                 ORDER BY t.workspace_id, t.key"
            ))?;
            stmt.query_map([workspace_id], topic_row)?.collect()
        })
    }

    fn topic_versions(&self, topic_id: i64) -> Result<Vec<TopicVersion>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT version, level, query, exclude, created_at FROM topic_versions
                 WHERE topic_id = ?1 ORDER BY version",
            )?;
            stmt.query_map([topic_id], |r| {
                Ok(TopicVersion {
                    version: r.get(0)?,
                    level: r.get(1)?,
                    query: r.get(2)?,
                    exclude: r.get(3)?,
                    created_at: from_micros(r.get(4)?),
                })
            })?
            .collect()
        })
    }

    fn tag(&self, tags: &[Tag]) -> Result<()> {
        if tags.is_empty() {
            return Ok(());
        }
        let mut conn = self.writer.lock().expect("writer");
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        insert_tags(&tx, tags).map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))
    }

    fn topic_messages(
        &self,
        topic_id: i64,
        version: i64,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Vec<StoredMessage>> {
        let (ts, seq) = cursor.map_or((i64::MAX, i64::MAX), |c| (c.created_at_us, c.seq));
        let columns: Vec<String> = MESSAGE_COLUMNS
            .split(", ")
            .map(|c| format!("m.{c}"))
            .collect();
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {} FROM message_topics mt JOIN messages m ON m.seq = mt.message_seq
                 WHERE mt.topic_id = ?1 AND mt.version = ?2
                   AND (mt.created_at < ?3 OR (mt.created_at = ?3 AND mt.message_seq < ?4))
                 ORDER BY mt.created_at DESC, mt.message_seq DESC LIMIT ?5",
                columns.join(", ")
            ))?;
            stmt.query_map(
                params![topic_id, version, ts, seq, limit as i64],
                row_to_message,
            )?
            .collect()
        })
    }

    fn topic_count(&self, topic_id: i64, version: i64) -> Result<u64> {
        self.read(|conn| {
            conn.query_row(
                "SELECT count(*) FROM message_topics WHERE topic_id = ?1 AND version = ?2",
                params![topic_id, version],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
        })
    }

    fn topic_series(
        &self,
        topic_id: i64,
        version: i64,
        window: SeriesWindow,
    ) -> Result<Vec<SeriesBucket>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT (mt.created_at - ?3) / ?5 AS bucket, count(*),
                        sum(s.label = 'positive'), sum(s.label = 'negative'),
                        count(s.score), total(s.score)
                 FROM message_topics mt
                 JOIN (SELECT seq,
                              json_extract(classification, '$.sentiment.label') AS label,
                              json_extract(classification, '$.sentiment.score') AS score
                       FROM messages) s ON s.seq = mt.message_seq
                 WHERE mt.topic_id = ?1 AND mt.version = ?2
                   AND mt.created_at >= ?3 AND mt.created_at < ?4
                 GROUP BY bucket ORDER BY bucket",
            )?;
            let rows = stmt.query_map(
                params![
                    topic_id,
                    version,
                    window.since_us,
                    window.until_us,
                    window.bucket_us.max(1)
                ],
                |r| {
                    Ok(SeriesBucket {
                        index: r.get(0)?,
                        messages: r.get::<_, i64>(1)? as u64,
                        positive: r.get::<_, Option<i64>>(2)?.unwrap_or(0) as u64,
                        negative: r.get::<_, Option<i64>>(3)?.unwrap_or(0) as u64,
                        classified: r.get::<_, i64>(4)? as u64,
                        sentiment_sum: r.get(5)?,
                    })
                },
            )?;
            rows.collect()
        })
    }

    fn topics_of(&self, seqs: &[i64]) -> Result<Vec<(i64, String)>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT mt.message_seq, t.key FROM message_topics mt
                 JOIN topics t ON t.id = mt.topic_id AND t.current_version = mt.version
                 WHERE mt.message_seq = ?1 AND t.deleted_at IS NULL ORDER BY t.key",
            )?;
            let mut out = Vec::new();
            for seq in seqs {
                for row in stmt.query_map([seq], |r| Ok((r.get(0)?, r.get(1)?)))? {
                    out.push(row?);
                }
            }
            Ok(out)
        })
    }

    fn start_backfill(
        &self,
        workspace_id: i64,
        topic_id: i64,
        version: i64,
        upto_seq: i64,
    ) -> Result<Backfill> {
        let conn = self.writer.lock().expect("writer");
        let total: i64 = conn
            .query_row(
                "SELECT count(*) FROM messages WHERE workspace_id = ?1 AND seq <= ?2",
                params![workspace_id, upto_seq],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        conn.execute(
            "INSERT INTO backfills (topic_id, version, upto_seq, next_seq, total, done, matched, started_at)
             VALUES (?1, ?2, ?3, ?3 + 1, ?4, 0, 0, ?5) ON CONFLICT DO NOTHING",
            params![topic_id, version, upto_seq, total, now_us()],
        )
        .map_err(|e| self.err(e))?;
        conn.query_row(
            &format!(
                "SELECT {BACKFILL_COLUMNS} FROM backfills WHERE topic_id = ?1 AND version = ?2"
            ),
            params![topic_id, version],
            backfill_row,
        )
        .map_err(|e| self.err(e))
    }

    fn backfill(&self, topic_id: i64, version: i64) -> Result<Option<Backfill>> {
        self.read(|conn| {
            conn.query_row(
                &format!(
                    "SELECT {BACKFILL_COLUMNS} FROM backfills WHERE topic_id = ?1 AND version = ?2"
                ),
                params![topic_id, version],
                backfill_row,
            )
            .optional()
        })
    }

    fn unfinished_backfills(&self) -> Result<Vec<Backfill>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {BACKFILL_COLUMNS} FROM backfills WHERE finished_at IS NULL ORDER BY started_at"
            ))?;
            stmt.query_map([], backfill_row)?.collect()
        })
    }

    fn backfill_chunk(
        &self,
        workspace_id: i64,
        before_seq: i64,
        limit: usize,
    ) -> Result<Vec<StoredMessage>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE workspace_id = ?1 AND seq < ?2
                 ORDER BY seq DESC LIMIT ?3"
            ))?;
            stmt.query_map(
                params![workspace_id, before_seq, limit as i64],
                row_to_message,
            )?
            .collect()
        })
    }

    fn claim_backfill(
        &self,
        topic_id: i64,
        version: i64,
        owner: &str,
        now_us: i64,
        until_us: i64,
    ) -> Result<bool> {
        let conn = self.writer.lock().expect("writer");
        let changed = conn
            .execute(
                "UPDATE backfills SET lease_owner = ?3, lease_until = ?5
                 WHERE topic_id = ?1 AND version = ?2
                   AND (lease_owner IS NULL OR lease_owner = ?3 OR lease_until < ?4)",
                params![topic_id, version, owner, now_us, until_us],
            )
            .map_err(|e| self.err(e))?;
        Ok(changed == 1)
    }

    fn advance_backfill(
        &self,
        topic_id: i64,
        version: i64,
        next_seq: i64,
        looked_at: u64,
        tags: &[Tag],
    ) -> Result<Backfill> {
        let mut conn = self.writer.lock().expect("writer");
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        insert_tags(&tx, tags).map_err(|e| self.err(e))?;
        let finished = (next_seq <= 0).then(now_us);
        tx.execute(
            "UPDATE backfills SET next_seq = ?3, done = min(total, done + ?4), matched = matched + ?5,
                finished_at = coalesce(?6, finished_at)
             WHERE topic_id = ?1 AND version = ?2",
            params![topic_id, version, next_seq.max(0), looked_at as i64, tags.len() as i64, finished],
        )
        .map_err(|e| self.err(e))?;
        let state = tx
            .query_row(
                &format!(
                    "SELECT {BACKFILL_COLUMNS} FROM backfills WHERE topic_id = ?1 AND version = ?2"
                ),
                params![topic_id, version],
                backfill_row,
            )
            .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use crate::sqlite::SqliteStore;

    crate::topic_store_conformance_tests!(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("needle.db")).unwrap();
        (Box::new(store), dir)
    });
}
