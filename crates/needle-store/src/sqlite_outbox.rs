//! [`OutboxStore`] for the embedded SQLite store.

use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;

use crate::outbox::{
    Delivery, DeliveryAttempt, DeliveryFilter, DeliveryResult, DeliveryStatus, NewDelivery,
    OutboxStore,
};
use crate::sqlite::SqliteStore;
use crate::{Result, StoreError, from_micros, micros};

const COLUMNS: &str = "id, workspace_id, connection_id, key, payload, status, attempts,
    next_attempt_at, last_error, receipt, created_at, updated_at";

fn delivery_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Delivery> {
    let payload: String = row.get(4)?;
    let status: String = row.get(5)?;
    let bad = |i: usize, e: Box<dyn std::error::Error + Send + Sync>| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e)
    };
    Ok(Delivery {
        id: row.get(0)?,
        workspace_id: row.get(1)?,
        connection_id: row.get(2)?,
        key: row.get(3)?,
        payload: serde_json::from_str(&payload).map_err(|e| bad(4, e.into()))?,
        status: DeliveryStatus::parse(&status)
            .ok_or_else(|| bad(5, format!("unknown delivery status {status:?}").into()))?,
        attempts: row.get(6)?,
        next_attempt_at: from_micros(row.get(7)?),
        last_error: row.get(8)?,
        receipt: row.get(9)?,
        created_at: from_micros(row.get(10)?),
        updated_at: from_micros(row.get(11)?),
    })
}

impl OutboxStore for SqliteStore {
    fn enqueue(
        &self,
        workspace_id: i64,
        connection_id: i64,
        deliveries: &[NewDelivery],
        checkpoint: Option<&str>,
    ) -> Result<usize> {
        let now = micros(OffsetDateTime::now_utc());
        let mut conn = self.writer.lock().expect("writer");
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        let mut queued = 0;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO outbox (workspace_id, connection_id, key, payload, status,
                         next_attempt_at, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?5, ?5)
                     ON CONFLICT (connection_id, key) DO NOTHING",
                )
                .map_err(|e| self.err(e))?;
            for d in deliveries {
                let payload = serde_json::to_string(&d.payload)
                    .map_err(|e| StoreError::Other(format!("delivery payload: {e}")))?;
                queued += insert
                    .execute(params![workspace_id, connection_id, d.key, payload, now])
                    .map_err(|e| self.err(e))?;
            }
        }
        if let Some(checkpoint) = checkpoint {
            tx.execute(
                "UPDATE connections SET checkpoint = ?1, checkpoint_at = ?2 WHERE id = ?3",
                params![checkpoint, now, connection_id],
            )
            .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(queued)
    }

    fn due_deliveries(&self, now: OffsetDateTime, limit: usize) -> Result<Vec<Delivery>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM outbox WHERE status = 'queued' AND next_attempt_at <= ?1
                 ORDER BY next_attempt_at, id LIMIT ?2"
            ))?;
            stmt.query_map(params![micros(now), limit as i64], delivery_row)?
                .collect()
        })
    }

    fn record_delivery(
        &self,
        id: i64,
        at: OffsetDateTime,
        result: &DeliveryResult,
    ) -> Result<bool> {
        let at = micros(at);
        let mut conn = self.writer.lock().expect("writer");
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        let changed = match result {
            DeliveryResult::Sent { receipt } => tx.execute(
                "UPDATE outbox SET status = 'sent', attempts = attempts + 1, receipt = ?1,
                     updated_at = ?2
                 WHERE id = ?3 AND status = 'queued'",
                params![receipt, at, id],
            ),
            DeliveryResult::Retry { reason, next_at } => tx.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?1, next_attempt_at = ?2,
                     updated_at = ?3
                 WHERE id = ?4 AND status = 'queued'",
                params![reason, micros(*next_at), at, id],
            ),
            DeliveryResult::Failed { reason } => tx.execute(
                "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ?1,
                     updated_at = ?2
                 WHERE id = ?3 AND status = 'queued'",
                params![reason, at, id],
            ),
        }
        .map_err(|e| self.err(e))?;
        if changed > 0 {
            let (outcome, detail) = attempt_row(result);
            tx.execute(
                "INSERT INTO outbox_attempts (outbox_id, at, outcome, detail) VALUES (?1, ?2, ?3, ?4)",
                params![id, at, outcome, detail],
            )
            .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(changed > 0)
    }

    fn deliveries(
        &self,
        workspace_id: i64,
        filter: &DeliveryFilter,
        limit: usize,
    ) -> Result<Vec<Delivery>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM outbox
                 WHERE workspace_id = ?1 AND (?2 IS NULL OR connection_id = ?2)
                   AND (?3 IS NULL OR status = ?3) AND (?4 IS NULL OR id < ?4)
                 ORDER BY id DESC LIMIT ?5"
            ))?;
            stmt.query_map(
                params![
                    workspace_id,
                    filter.connection_id,
                    filter.status.map(DeliveryStatus::as_str),
                    filter.before,
                    limit as i64
                ],
                delivery_row,
            )?
            .collect()
        })
    }

    fn delivery(&self, workspace_id: i64, id: i64) -> Result<Option<Delivery>> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM outbox WHERE workspace_id = ?1 AND id = ?2"
            ))?
            .query_row(params![workspace_id, id], delivery_row)
            .optional()
        })
    }

    fn delivery_by_key(&self, connection_id: i64, key: &str) -> Result<Option<Delivery>> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM outbox WHERE connection_id = ?1 AND key = ?2"
            ))?
            .query_row(params![connection_id, key], delivery_row)
            .optional()
        })
    }

    fn delivery_attempts(&self, id: i64) -> Result<Vec<DeliveryAttempt>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT at, outcome, detail FROM outbox_attempts WHERE outbox_id = ?1 ORDER BY id",
            )?;
            stmt.query_map(params![id], |r| {
                Ok(DeliveryAttempt {
                    at: from_micros(r.get(0)?),
                    outcome: r.get(1)?,
                    detail: r.get(2)?,
                })
            })?
            .collect()
        })
    }
}

/// How an attempt is written down: its outcome and the receipt or reason.
pub(crate) fn attempt_row(result: &DeliveryResult) -> (&'static str, &str) {
    match result {
        DeliveryResult::Sent { receipt } => ("sent", receipt),
        DeliveryResult::Retry { reason, .. } => ("retry", reason),
        DeliveryResult::Failed { reason } => ("failed", reason),
    }
}

#[cfg(test)]
mod tests {
    use crate::sqlite::SqliteStore;

    crate::outbox_store_conformance_tests!(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("needle.db")).unwrap();
        (Box::new(store), dir)
    });
}
