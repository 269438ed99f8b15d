//! [`CaseStore`] for the PostgreSQL store: the same behaviour as the SQLite one
//! (`sqlite_cases.rs`), proven by the same conformance suite.

use ::postgres::Row;
use ::postgres::types::ToSql;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::cases::{
    CannedResponse, Case, CaseChange, CaseEvent, CaseStatus, CaseStore, CaseTouch, Mention,
    Priority, Queue, QueueArg, queue_sql,
};
use crate::postgres::{Failure, PostgresStore, message_columns, row_to_message};
use crate::{Result, StoreError, StoredMessage, from_micros, micros};

macro_rules! columns {
    () => {
        "id, workspace_id, channel, thread_id, subject, customer, status, snoozed_until,
         priority, assignee, labels, opened_at, last_inbound_at, first_response_due,
         first_response_at, resolution_due, resolved_at, messages, updated_at, team"
    };
}

// Every value in SET is the row's before this statement (`cases.status` is the old status),
// so a resolved case gets new due times as it reopens.
const OPEN: &str = "INSERT INTO cases (workspace_id, channel, thread_id, subject, customer,
        status, priority, opened_at, last_inbound_at, first_response_due, resolution_due,
        messages, updated_at, team)
    VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $7, $8, $9, 1, $10, $11)
    ON CONFLICT (workspace_id, channel, thread_id) DO UPDATE SET
        messages = cases.messages + 1,
        updated_at = excluded.updated_at,
        last_inbound_at = GREATEST(cases.last_inbound_at, excluded.last_inbound_at),
        priority = LEAST(cases.priority, excluded.priority),
        first_response_due = CASE WHEN cases.status = 'resolved'
            THEN excluded.first_response_due ELSE cases.first_response_due END,
        resolution_due = CASE WHEN cases.status = 'resolved'
            THEN excluded.resolution_due ELSE cases.resolution_due END,
        first_response_at = CASE WHEN cases.status = 'resolved'
            THEN NULL ELSE cases.first_response_at END,
        resolved_at = NULL,
        snoozed_until = NULL,
        status = 'open'
    RETURNING id";
const ANSWERED: &str = "UPDATE cases SET messages = messages + 1, updated_at = $1,
        first_response_at = COALESCE(first_response_at, $2)
    WHERE workspace_id = $3 AND channel = $4 AND thread_id = $5
    RETURNING id";
const ONE: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM cases WHERE workspace_id = $1 AND id = $2"
);
const OF_THREAD: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM cases WHERE workspace_id = $1 AND channel = $2 AND thread_id = $3"
);
const SET_STATUS: &str = "UPDATE cases SET status = $1::TEXT, snoozed_until = $2,
        resolved_at = CASE WHEN $1::TEXT = 'resolved' THEN $3::BIGINT END
    WHERE id = $4";
const SET_ASSIGNEE: &str = "UPDATE cases SET assignee = $1 WHERE id = $2";
const SET_PRIORITY: &str = "UPDATE cases SET priority = $1 WHERE id = $2";
const SET_TEAM: &str = "UPDATE cases SET team = $1 WHERE id = $2";
const SET_LABELS: &str = "UPDATE cases SET labels = $1 WHERE id = $2";
const TOUCHED: &str = "UPDATE cases SET updated_at = $1 WHERE id = $2";
const EVENT: &str =
    "INSERT INTO case_events (case_id, at, actor, kind, body) VALUES ($1, $2, $3, $4, $5)";
const EVENT_IF_CASE: &str = "INSERT INTO case_events (case_id, at, actor, kind, body)
    SELECT id, $1, $2, $3, $4 FROM cases WHERE workspace_id = $5 AND id = $6";
const NOTE: &str = "INSERT INTO case_events (case_id, at, actor, kind, body)
    VALUES ($1, $2, $3, 'note', $4) RETURNING id";
const MENTION: &str = "INSERT INTO case_mentions (workspace_id, case_id, event_id, recipient, at)
    VALUES ($1, $2, $3, $4, $5)";
const MENTIONS: &str = "SELECT m.id, m.case_id, c.subject, e.actor, e.body, m.at, m.seen_at
    FROM case_mentions m
    JOIN case_events e ON e.id = m.event_id
    JOIN cases c ON c.id = m.case_id
    WHERE m.workspace_id = $1 AND m.recipient = $2
    ORDER BY m.seen_at IS NOT NULL, m.at DESC, m.id DESC LIMIT $3";
const MENTIONS_SEEN: &str = "UPDATE case_mentions SET seen_at = $1
    WHERE workspace_id = $2 AND case_id = $3 AND recipient = $4 AND seen_at IS NULL";
const EVENTS: &str = "SELECT id, case_id, at, actor, kind, body FROM case_events
    WHERE case_id = $1 ORDER BY id";
const THREAD: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM messages m WHERE m.workspace_id = $1 AND m.channel = $2
      AND (m.thread_id = $3 OR (m.thread_id IS NULL AND m.source_id = $3))
      ORDER BY m.created_at, m.seq LIMIT $4"
);

const PUT_CANNED: &str = "INSERT INTO canned_responses (workspace_id, name, body, updated_at)
    VALUES ($1, $2, $3, $4)
    ON CONFLICT (workspace_id, name) DO UPDATE SET body = excluded.body,
        updated_at = excluded.updated_at
    RETURNING (xmax = 0)";
const CANNED: &str = "SELECT name, body, updated_at FROM canned_responses
    WHERE workspace_id = $1 ORDER BY name COLLATE \"C\"";
const REMOVE_CANNED: &str = "DELETE FROM canned_responses WHERE workspace_id = $1 AND name = $2";

fn case_row(row: &Row) -> Result<Case, Failure> {
    let status: String = row.try_get(6)?;
    let labels: String = row.try_get(10)?;
    let time = |i: usize| -> Result<Option<OffsetDateTime>, ::postgres::Error> {
        Ok(row.try_get::<_, Option<i64>>(i)?.map(from_micros))
    };
    Ok(Case {
        id: row.try_get(0)?,
        workspace_id: row.try_get(1)?,
        channel: row.try_get(2)?,
        thread_id: row.try_get(3)?,
        subject: row.try_get(4)?,
        customer: row.try_get(5)?,
        status: CaseStatus::parse(&status)
            .ok_or_else(|| StoreError::Other(format!("unknown case status {status:?}")))?,
        snoozed_until: time(7)?,
        priority: Priority::from_rank(row.try_get(8)?),
        assignee: row.try_get(9)?,
        labels: serde_json::from_str(&labels)
            .map_err(|e| StoreError::Other(format!("stored case labels: {e}")))?,
        opened_at: from_micros(row.try_get(11)?),
        last_inbound_at: from_micros(row.try_get(12)?),
        first_response_due: from_micros(row.try_get(13)?),
        first_response_at: time(14)?,
        resolution_due: from_micros(row.try_get(15)?),
        resolved_at: time(16)?,
        messages: row.try_get(17)?,
        updated_at: from_micros(row.try_get(18)?),
        team: row.try_get(19)?,
    })
}

/// The value a queue's condition needs, as a parameter.
enum QueueValue {
    Micros(i64),
    Text(String),
}

impl QueueValue {
    fn of(arg: QueueArg, now: OffsetDateTime) -> QueueValue {
        match arg {
            QueueArg::Now => QueueValue::Micros(micros(now)),
            QueueArg::Text(text) => QueueValue::Text(text),
        }
    }

    fn param(&self) -> &(dyn ToSql + Sync) {
        match self {
            QueueValue::Micros(us) => us,
            QueueValue::Text(text) => text,
        }
    }
}

impl CaseStore for PostgresStore {
    fn record_case_messages(
        &self,
        workspace_id: i64,
        touches: &[CaseTouch<'_>],
    ) -> Result<Vec<Option<i64>>> {
        let now = micros(OffsetDateTime::now_utc());
        self.with_conn(|conn| {
            let open = conn.prepare(OPEN)?;
            let answered = conn.prepare(ANSWERED)?;
            let mut tx = conn.client.transaction()?;
            let mut ids = Vec::with_capacity(touches.len());
            for touch in touches {
                let at = micros(touch.at);
                let id = if touch.inbound {
                    let row = tx.query_one(
                        &open,
                        &[
                            &workspace_id,
                            &touch.channel,
                            &touch.thread_id,
                            &touch.subject,
                            &touch.customer,
                            &touch.priority.rank(),
                            &at,
                            &micros(touch.first_response_due),
                            &micros(touch.resolution_due),
                            &now,
                            &touch.team,
                        ],
                    )?;
                    Some(row.try_get(0)?)
                } else {
                    tx.query_opt(
                        &answered,
                        &[&now, &at, &workspace_id, &touch.channel, &touch.thread_id],
                    )?
                    .map(|r| r.get(0))
                };
                ids.push(id);
            }
            tx.commit()?;
            Ok(ids)
        })
    }

    fn case(&self, workspace_id: i64, id: i64) -> Result<Option<Case>> {
        self.with_conn(|conn| {
            let one = conn.prepare(ONE)?;
            conn.client
                .query_opt(&one, &[&workspace_id, &id])?
                .as_ref()
                .map(case_row)
                .transpose()
        })
    }

    fn case_of_thread(
        &self,
        workspace_id: i64,
        channel: &str,
        thread_id: &str,
    ) -> Result<Option<Case>> {
        self.with_conn(|conn| {
            let of_thread = conn.prepare(OF_THREAD)?;
            conn.client
                .query_opt(&of_thread, &[&workspace_id, &channel, &thread_id])?
                .as_ref()
                .map(case_row)
                .transpose()
        })
    }

    fn cases(
        &self,
        workspace_id: i64,
        queue: &Queue,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Case>> {
        let (condition, order, arg) = queue_sql(queue, "$1", "$3", true);
        let value = arg.map(|a| QueueValue::of(a, now));
        let placeholder_used = value.is_some();
        let sql = format!(
            concat!(
                "SELECT ",
                columns!(),
                " FROM cases WHERE {} ORDER BY {} LIMIT $2"
            ),
            condition, order
        );
        let limit = limit as i64;
        self.with_conn(|conn| {
            let mut params: Vec<&(dyn ToSql + Sync)> = vec![&workspace_id, &limit];
            if placeholder_used {
                params.push(value.as_ref().expect("checked").param());
            }
            conn.client
                .query(&sql, &params)?
                .iter()
                .map(case_row)
                .collect()
        })
    }

    fn count_cases(
        &self,
        workspace_id: i64,
        queues: &[Queue],
        now: OffsetDateTime,
    ) -> Result<Vec<u64>> {
        self.with_conn(|conn| {
            queues
                .iter()
                .map(|queue| {
                    let (condition, _, arg) = queue_sql(queue, "$1", "$2", true);
                    let value = arg.map(|a| QueueValue::of(a, now));
                    let sql = format!("SELECT COUNT(*) FROM cases WHERE {condition}");
                    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&workspace_id];
                    if let Some(v) = &value {
                        params.push(v.param());
                    }
                    let n: i64 = conn.client.query_one(&sql, &params)?.try_get(0)?;
                    Ok(n as u64)
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
        self.with_conn(|conn| {
            let mut tx = conn.client.transaction()?;
            let Some(before) = tx
                .query_opt(&format!("{ONE} FOR UPDATE"), &[&workspace_id, &id])?
                .as_ref()
                .map(case_row)
                .transpose()?
            else {
                return Ok(None);
            };
            let mut events: Vec<(&str, Value)> = Vec::new();
            if let Some(status) = change.status {
                let snoozed_until = (status == CaseStatus::Snoozed)
                    .then_some(change.snoozed_until)
                    .flatten()
                    .map(micros);
                tx.execute(SET_STATUS, &[&status.as_str(), &snoozed_until, &at_us, &id])?;
                let mut body = json!({"from": before.status.as_str(), "to": status.as_str()});
                if let Some(until) = snoozed_until {
                    body["until"] = json!(from_micros(until).unix_timestamp());
                }
                events.push(("status", body));
            }
            if let Some(assignee) = &change.assignee {
                tx.execute(SET_ASSIGNEE, &[assignee, &id])?;
                events.push(("assigned", json!({"from": before.assignee, "to": assignee})));
            }
            if let Some(priority) = change.priority {
                tx.execute(SET_PRIORITY, &[&priority.rank(), &id])?;
                events.push((
                    "priority",
                    json!({"from": before.priority.as_str(), "to": priority.as_str()}),
                ));
            }
            if let Some(labels) = &change.labels {
                tx.execute(SET_LABELS, &[&json!(labels).to_string(), &id])?;
                events.push(("labels", json!({"from": before.labels, "to": labels})));
            }
            if let Some(team) = &change.team {
                tx.execute(SET_TEAM, &[team, &id])?;
                events.push(("team", json!({"from": before.team, "to": team})));
            }
            for (kind, body) in &events {
                tx.execute(EVENT, &[&id, &at_us, &actor, kind, &body.to_string()])?;
            }
            tx.execute(TOUCHED, &[&at_us, &id])?;
            let after = tx
                .query_opt(ONE, &[&workspace_id, &id])?
                .as_ref()
                .map(case_row)
                .transpose()?;
            tx.commit()?;
            Ok(after)
        })
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
        self.with_conn(|conn| {
            let added = conn.client.execute(
                EVENT_IF_CASE,
                &[
                    &micros(at),
                    &actor,
                    &kind,
                    &body.to_string(),
                    &workspace_id,
                    &id,
                ],
            )?;
            Ok(added > 0)
        })
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
        self.with_conn(|conn| {
            let mut tx = conn.client.transaction()?;
            if tx
                .query_opt(&format!("{ONE} FOR UPDATE"), &[&workspace_id, &id])?
                .is_none()
            {
                return Ok(false);
            }
            let event: i64 = tx
                .query_one(NOTE, &[&id, &at, &actor, &body.to_string()])?
                .try_get(0)?;
            for who in mentioned {
                tx.execute(MENTION, &[&workspace_id, &id, &event, who, &at])?;
            }
            tx.commit()?;
            Ok(true)
        })
    }

    fn mentions(&self, workspace_id: i64, recipient: &str, limit: usize) -> Result<Vec<Mention>> {
        let limit = limit as i64;
        self.with_conn(|conn| {
            conn.client
                .query(MENTIONS, &[&workspace_id, &recipient, &limit])?
                .iter()
                .map(|r| {
                    let body: String = r.try_get(4)?;
                    let body: Value = serde_json::from_str(&body)
                        .map_err(|e| StoreError::Other(format!("stored case event: {e}")))?;
                    Ok(Mention {
                        id: r.try_get(0)?,
                        case_id: r.try_get(1)?,
                        subject: r.try_get(2)?,
                        actor: r.try_get(3)?,
                        text: body["text"].as_str().unwrap_or_default().to_string(),
                        at: from_micros(r.try_get(5)?),
                        seen_at: r.try_get::<_, Option<i64>>(6)?.map(from_micros),
                    })
                })
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
        self.with_conn(|conn| {
            Ok(conn.client.execute(
                MENTIONS_SEEN,
                &[&micros(at), &workspace_id, &case_id, &recipient],
            )?)
        })
    }

    fn case_events(&self, case_id: i64) -> Result<Vec<CaseEvent>> {
        self.with_conn(|conn| {
            let events = conn.prepare(EVENTS)?;
            conn.client
                .query(&events, &[&case_id])?
                .iter()
                .map(|r| {
                    let body: String = r.try_get(5)?;
                    Ok(CaseEvent {
                        id: r.try_get(0)?,
                        case_id: r.try_get(1)?,
                        at: from_micros(r.try_get(2)?),
                        actor: r.try_get(3)?,
                        kind: r.try_get(4)?,
                        body: serde_json::from_str(&body)
                            .map_err(|e| StoreError::Other(format!("stored case event: {e}")))?,
                    })
                })
                .collect()
        })
    }

    fn put_canned(&self, workspace_id: i64, name: &str, body: &str) -> Result<bool> {
        let now = micros(OffsetDateTime::now_utc());
        self.with_conn(|conn| {
            // `xmax = 0` only for a row this statement inserted.
            let row = conn
                .client
                .query_one(PUT_CANNED, &[&workspace_id, &name, &body, &now])?;
            Ok(row.try_get(0)?)
        })
    }

    fn canned(&self, workspace_id: i64) -> Result<Vec<CannedResponse>> {
        self.with_conn(|conn| {
            conn.client
                .query(CANNED, &[&workspace_id])?
                .iter()
                .map(|r| {
                    Ok(CannedResponse {
                        name: r.try_get(0)?,
                        body: r.try_get(1)?,
                        updated_at: from_micros(r.try_get(2)?),
                    })
                })
                .collect()
        })
    }

    fn remove_canned(&self, workspace_id: i64, name: &str) -> Result<bool> {
        self.with_conn(|conn| {
            Ok(conn
                .client
                .execute(REMOVE_CANNED, &[&workspace_id, &name])?
                > 0)
        })
    }

    fn thread_messages(
        &self,
        workspace_id: i64,
        channel: &str,
        thread_id: &str,
        limit: usize,
    ) -> Result<Vec<StoredMessage>> {
        self.with_conn(|conn| {
            let thread = conn.prepare(THREAD)?;
            conn.client
                .query(
                    &thread,
                    &[&workspace_id, &channel, &thread_id, &(limit as i64)],
                )?
                .iter()
                .map(row_to_message)
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestPostgres;

    // As in `postgres.rs`: skipped when no PostgreSQL is installed, an empty database each.
    crate::case_store_conformance_tests!({
        let Some(pg) = TestPostgres::shared() else {
            return;
        };
        move || {
            let url = pg.fresh_database();
            (Box::new(PostgresStore::connect(&url).unwrap()), ())
        }
    });
}
