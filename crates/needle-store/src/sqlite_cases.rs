//! [`CaseStore`] for the embedded SQLite store.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::cases::{
    CannedResponse, Case, CaseChange, CaseEvent, CaseStatus, CaseStore, CaseTouch, Mention,
    Priority, Queue, QueueArg, queue_sql,
};
use crate::sqlite::{MESSAGE_COLUMNS, SqliteStore, row_to_message};
use crate::{Result, StoredMessage, from_micros, micros};

const COLUMNS: &str = "id, workspace_id, channel, thread_id, subject, customer, status,
    snoozed_until, priority, assignee, labels, opened_at, last_inbound_at, first_response_due,
    first_response_at, resolution_due, resolved_at, messages, updated_at, team";

fn bad(i: usize, why: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, why.into())
}

fn case_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Case> {
    let status: String = row.get(6)?;
    let labels: String = row.get(10)?;
    let time = |i: usize| -> rusqlite::Result<Option<OffsetDateTime>> {
        Ok(row.get::<_, Option<i64>>(i)?.map(from_micros))
    };
    Ok(Case {
        id: row.get(0)?,
        workspace_id: row.get(1)?,
        channel: row.get(2)?,
        thread_id: row.get(3)?,
        subject: row.get(4)?,
        customer: row.get(5)?,
        status: CaseStatus::parse(&status)
            .ok_or_else(|| bad(6, format!("unknown case status {status:?}")))?,
        snoozed_until: time(7)?,
        priority: Priority::from_rank(row.get(8)?),
        assignee: row.get(9)?,
        labels: serde_json::from_str(&labels).map_err(|e| bad(10, e.to_string()))?,
        opened_at: from_micros(row.get(11)?),
        last_inbound_at: from_micros(row.get(12)?),
        first_response_due: from_micros(row.get(13)?),
        first_response_at: time(14)?,
        resolution_due: from_micros(row.get(15)?),
        resolved_at: time(16)?,
        messages: row.get(17)?,
        updated_at: from_micros(row.get(18)?),
        team: row.get(19)?,
    })
}

fn case_in(conn: &Connection, workspace_id: i64, id: i64) -> rusqlite::Result<Option<Case>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM cases WHERE workspace_id = ?1 AND id = ?2"),
        params![workspace_id, id],
        case_row,
    )
    .optional()
}

fn record_event(
    conn: &Connection,
    case_id: i64,
    at: i64,
    actor: &str,
    kind: &str,
    body: &Value,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO case_events (case_id, at, actor, kind, body) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![case_id, at, actor, kind, body.to_string()],
    )?;
    Ok(())
}

fn queue_value(arg: Option<QueueArg>, now: OffsetDateTime) -> SqlValue {
    match arg {
        Some(QueueArg::Now) => SqlValue::Integer(micros(now)),
        Some(QueueArg::Text(text)) => SqlValue::Text(text),
        None => SqlValue::Null,
    }
}

/// Files one message (see [`CaseStore::record_case_messages`]).
fn record_one(
    conn: &Connection,
    workspace_id: i64,
    touch: &CaseTouch<'_>,
    now: i64,
) -> rusqlite::Result<Option<i64>> {
    let at = micros(touch.at);
    if !touch.inbound {
        return conn
            .prepare_cached(
                "UPDATE cases SET messages = messages + 1, updated_at = ?1,
                     first_response_at = COALESCE(first_response_at, ?2)
                 WHERE workspace_id = ?3 AND channel = ?4 AND thread_id = ?5
                 RETURNING id",
            )?
            .query_row(
                params![now, at, workspace_id, touch.channel, touch.thread_id],
                |r| r.get(0),
            )
            .optional();
    }
    // Every value in SET is the row's before this statement: `status` below is the old
    // status, so a resolved case gets new due times as it reopens.
    conn.prepare_cached(
        "INSERT INTO cases (workspace_id, channel, thread_id, subject, customer, status,
             priority, opened_at, last_inbound_at, first_response_due, resolution_due,
             messages, updated_at, team)
         VALUES (?1, ?2, ?3, ?4, ?5, 'open', ?6, ?7, ?7, ?8, ?9, 1, ?10, ?11)
         ON CONFLICT (workspace_id, channel, thread_id) DO UPDATE SET
             messages = messages + 1,
             updated_at = excluded.updated_at,
             last_inbound_at = MAX(last_inbound_at, excluded.last_inbound_at),
             priority = MIN(priority, excluded.priority),
             first_response_due = CASE WHEN status = 'resolved'
                 THEN excluded.first_response_due ELSE first_response_due END,
             resolution_due = CASE WHEN status = 'resolved'
                 THEN excluded.resolution_due ELSE resolution_due END,
             first_response_at = CASE WHEN status = 'resolved'
                 THEN NULL ELSE first_response_at END,
             resolved_at = NULL,
             snoozed_until = NULL,
             status = 'open'
         RETURNING id",
    )?
    .query_row(
        params![
            workspace_id,
            touch.channel,
            touch.thread_id,
            touch.subject,
            touch.customer,
            touch.priority.rank(),
            at,
            micros(touch.first_response_due),
            micros(touch.resolution_due),
            now,
            touch.team
        ],
        |r| r.get(0),
    )
    .map(Some)
}

impl CaseStore for SqliteStore {
    fn record_case_messages(
        &self,
        workspace_id: i64,
        touches: &[CaseTouch<'_>],
    ) -> Result<Vec<Option<i64>>> {
        let now = micros(OffsetDateTime::now_utc());
        let mut conn = self.writer.lock().expect("writer");
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        let ids = touches
            .iter()
            .map(|touch| record_one(&tx, workspace_id, touch, now))
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(ids)
    }

    fn case(&self, workspace_id: i64, id: i64) -> Result<Option<Case>> {
        self.read(|conn| case_in(conn, workspace_id, id))
    }

    fn case_of_thread(
        &self,
        workspace_id: i64,
        channel: &str,
        thread_id: &str,
    ) -> Result<Option<Case>> {
        self.read(|conn| {
            conn.query_row(
                &format!(
                    "SELECT {COLUMNS} FROM cases
                     WHERE workspace_id = ?1 AND channel = ?2 AND thread_id = ?3"
                ),
                params![workspace_id, channel, thread_id],
                case_row,
            )
            .optional()
        })
    }

    fn cases(
        &self,
        workspace_id: i64,
        queue: &Queue,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Case>> {
        // `?2 IS NULL OR TRUE` mentions the queue's value in every statement, so the same
        // three parameters bind whether the queue's condition uses it or not.
        let (condition, order, arg) = queue_sql(queue, "?1", "?2", false);
        let sql = format!(
            "SELECT {COLUMNS} FROM cases WHERE (?2 IS NULL OR TRUE)
             AND {condition} ORDER BY {order} LIMIT ?3"
        );
        let value = queue_value(arg, now);
        self.read(|conn| {
            conn.prepare_cached(&sql)?
                .query_map(params![workspace_id, value, limit as i64], case_row)?
                .collect()
        })
    }

    fn count_cases(
        &self,
        workspace_id: i64,
        queues: &[Queue],
        now: OffsetDateTime,
    ) -> Result<Vec<u64>> {
        self.read(|conn| {
            queues
                .iter()
                .map(|queue| {
                    let (condition, _, arg) = queue_sql(queue, "?1", "?2", false);
                    let sql = format!(
                        "SELECT COUNT(*) FROM cases WHERE (?2 IS NULL OR TRUE) AND {condition}"
                    );
                    conn.prepare_cached(&sql)?
                        .query_row(params![workspace_id, queue_value(arg, now)], |r| {
                            r.get::<_, i64>(0)
                        })
                        .map(|n| n as u64)
                })
                .collect()
        })
    }

    fn update_case(
        &self,
        workspace_id: i64,
        id: i64,
        change: &CaseChange,
        actor: &str,
        at: OffsetDateTime,
    ) -> Result<Option<Case>> {
        let at_us = micros(at);
        let mut conn = self.writer.lock().expect("writer");
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        let result = (|| -> rusqlite::Result<Option<Case>> {
            let Some(before) = case_in(&tx, workspace_id, id)? else {
                return Ok(None);
            };
            if let Some(status) = change.status {
                let snoozed_until = (status == CaseStatus::Snoozed)
                    .then_some(change.snoozed_until)
                    .flatten()
                    .map(micros);
                tx.execute(
                    "UPDATE cases SET status = ?1, snoozed_until = ?2,
                         resolved_at = CASE WHEN ?1 = 'resolved' THEN ?3 END
                     WHERE id = ?4",
                    params![status.as_str(), snoozed_until, at_us, id],
                )?;
                let mut body = json!({"from": before.status.as_str(), "to": status.as_str()});
                if let Some(until) = snoozed_until {
                    body["until"] = json!(from_micros(until).unix_timestamp());
                }
                record_event(&tx, id, at_us, actor, "status", &body)?;
            }
            if let Some(assignee) = &change.assignee {
                tx.execute(
                    "UPDATE cases SET assignee = ?1 WHERE id = ?2",
                    params![assignee, id],
                )?;
                let body = json!({"from": before.assignee, "to": assignee});
                record_event(&tx, id, at_us, actor, "assigned", &body)?;
            }
            if let Some(priority) = change.priority {
                tx.execute(
                    "UPDATE cases SET priority = ?1 WHERE id = ?2",
                    params![priority.rank(), id],
                )?;
                let body = json!({"from": before.priority.as_str(), "to": priority.as_str()});
                record_event(&tx, id, at_us, actor, "priority", &body)?;
            }
            if let Some(labels) = &change.labels {
                tx.execute(
                    "UPDATE cases SET labels = ?1 WHERE id = ?2",
                    params![json!(labels).to_string(), id],
                )?;
                let body = json!({"from": before.labels, "to": labels});
                record_event(&tx, id, at_us, actor, "labels", &body)?;
            }
            if let Some(team) = &change.team {
                tx.execute(
                    "UPDATE cases SET team = ?1 WHERE id = ?2",
                    params![team, id],
                )?;
                let body = json!({"from": before.team, "to": team});
                record_event(&tx, id, at_us, actor, "team", &body)?;
            }
            tx.execute(
                "UPDATE cases SET updated_at = ?1 WHERE id = ?2",
                params![at_us, id],
            )?;
            case_in(&tx, workspace_id, id)
        })();
        let case = result.map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(case)
    }

    fn add_case_event(
        &self,
        workspace_id: i64,
        id: i64,
        actor: &str,
        kind: &str,
        body: &Value,
        at: OffsetDateTime,
    ) -> Result<bool> {
        let conn = self.writer.lock().expect("writer");
        let added = conn
            .execute(
                "INSERT INTO case_events (case_id, at, actor, kind, body)
                 SELECT id, ?1, ?2, ?3, ?4 FROM cases WHERE workspace_id = ?5 AND id = ?6",
                params![micros(at), actor, kind, body.to_string(), workspace_id, id],
            )
            .map_err(|e| self.err(e))?;
        Ok(added > 0)
    }

    fn add_case_note(
        &self,
        workspace_id: i64,
        id: i64,
        actor: &str,
        body: &Value,
        mentioned: &[String],
        at: OffsetDateTime,
    ) -> Result<bool> {
        let at = micros(at);
        let mut conn = self.writer.lock().expect("writer");
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        let result = (|| -> rusqlite::Result<bool> {
            if case_in(&tx, workspace_id, id)?.is_none() {
                return Ok(false);
            }
            record_event(&tx, id, at, actor, "note", body)?;
            let event = tx.last_insert_rowid();
            for who in mentioned {
                tx.execute(
                    "INSERT INTO case_mentions (workspace_id, case_id, event_id, recipient, at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![workspace_id, id, event, who, at],
                )?;
            }
            Ok(true)
        })();
        let added = result.map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(added)
    }

    fn mentions(&self, workspace_id: i64, recipient: &str, limit: usize) -> Result<Vec<Mention>> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT m.id, m.case_id, c.subject, e.actor, e.body, m.at, m.seen_at
                 FROM case_mentions m
                 JOIN case_events e ON e.id = m.event_id
                 JOIN cases c ON c.id = m.case_id
                 WHERE m.workspace_id = ?1 AND m.recipient = ?2
                 ORDER BY m.seen_at IS NOT NULL, m.at DESC, m.id DESC LIMIT ?3",
            )?
            .query_map(params![workspace_id, recipient, limit as i64], |r| {
                let body: String = r.get(4)?;
                let body: Value = serde_json::from_str(&body).map_err(|e| bad(4, e.to_string()))?;
                Ok(Mention {
                    id: r.get(0)?,
                    case_id: r.get(1)?,
                    subject: r.get(2)?,
                    actor: r.get(3)?,
                    text: body["text"].as_str().unwrap_or_default().to_string(),
                    at: from_micros(r.get(5)?),
                    seen_at: r.get::<_, Option<i64>>(6)?.map(from_micros),
                })
            })?
            .collect()
        })
    }

    fn mark_mentions_seen(
        &self,
        workspace_id: i64,
        case_id: i64,
        recipient: &str,
        at: OffsetDateTime,
    ) -> Result<u64> {
        // Every view of a case asks, and few have unread mentions: a reader answers most,
        // so case pages do not queue behind the writer's commits.
        let unread: bool = self.read(|conn| {
            conn.prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM case_mentions WHERE workspace_id = ?1
                   AND recipient = ?2 AND seen_at IS NULL AND case_id = ?3)",
            )?
            .query_row(params![workspace_id, recipient, case_id], |r| r.get(0))
        })?;
        if !unread {
            return Ok(0);
        }
        let conn = self.writer.lock().expect("writer");
        let marked = conn
            .execute(
                "UPDATE case_mentions SET seen_at = ?1
                 WHERE workspace_id = ?2 AND case_id = ?3 AND recipient = ?4
                   AND seen_at IS NULL",
                params![micros(at), workspace_id, case_id, recipient],
            )
            .map_err(|e| self.err(e))?;
        Ok(marked as u64)
    }

    fn case_events(&self, case_id: i64) -> Result<Vec<CaseEvent>> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT id, case_id, at, actor, kind, body FROM case_events
                 WHERE case_id = ?1 ORDER BY id",
            )?
            .query_map([case_id], |r| {
                let body: String = r.get(5)?;
                Ok(CaseEvent {
                    id: r.get(0)?,
                    case_id: r.get(1)?,
                    at: from_micros(r.get(2)?),
                    actor: r.get(3)?,
                    kind: r.get(4)?,
                    body: serde_json::from_str(&body).map_err(|e| bad(5, e.to_string()))?,
                })
            })?
            .collect()
        })
    }

    fn put_canned(&self, workspace_id: i64, name: &str, body: &str) -> Result<bool> {
        let now = micros(OffsetDateTime::now_utc());
        let conn = self.writer.lock().expect("writer");
        let existed: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM canned_responses WHERE workspace_id = ?1 AND name = ?2)",
                params![workspace_id, name],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        conn.execute(
            "INSERT INTO canned_responses (workspace_id, name, body, updated_at)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (workspace_id, name) DO UPDATE SET body = excluded.body,
                 updated_at = excluded.updated_at",
            params![workspace_id, name, body, now],
        )
        .map_err(|e| self.err(e))?;
        Ok(!existed)
    }

    fn canned(&self, workspace_id: i64) -> Result<Vec<CannedResponse>> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT name, body, updated_at FROM canned_responses
                 WHERE workspace_id = ?1 ORDER BY name",
            )?
            .query_map([workspace_id], |r| {
                Ok(CannedResponse {
                    name: r.get(0)?,
                    body: r.get(1)?,
                    updated_at: from_micros(r.get(2)?),
                })
            })?
            .collect()
        })
    }

    fn remove_canned(&self, workspace_id: i64, name: &str) -> Result<bool> {
        let conn = self.writer.lock().expect("writer");
        let removed = conn
            .execute(
                "DELETE FROM canned_responses WHERE workspace_id = ?1 AND name = ?2",
                params![workspace_id, name],
            )
            .map_err(|e| self.err(e))?;
        Ok(removed > 0)
    }

    fn thread_messages(
        &self,
        workspace_id: i64,
        channel: &str,
        thread_id: &str,
        limit: usize,
    ) -> Result<Vec<StoredMessage>> {
        // Two index seeks merged in time order: the thread's messages, and the message that
        // is a thread of its own. Written with `OR`, SQLite (which keeps no statistics here)
        // walked every message of the workspace instead: 0.5 s a conversation at a million.
        // The unary `+` keeps it from doing the same to get the merge's order from the
        // workspace's time index (`messages_newest`): each side is sorted on its own.
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS}, +created_at AS at FROM messages
                 WHERE workspace_id = ?1 AND channel = ?2 AND thread_id = ?3
                 UNION ALL
                 SELECT {MESSAGE_COLUMNS}, +created_at AS at FROM messages
                 WHERE workspace_id = ?1 AND channel = ?2 AND thread_id IS NULL
                   AND source_id = ?3
                 ORDER BY at, seq LIMIT ?4"
            ))?
            .query_map(
                params![workspace_id, channel, thread_id, limit as i64],
                row_to_message,
            )?
            .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::sqlite::SqliteStore;

    crate::case_store_conformance_tests!(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("needle.db")).unwrap();
        (Box::new(store), dir)
    });
}
