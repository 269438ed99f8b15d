//! [`OutboxStore`] for the PostgreSQL store: the same behaviour as the SQLite one
//! (`sqlite_outbox.rs`), proven by the same conformance suite.

use ::postgres::Row;
use time::OffsetDateTime;

use crate::outbox::{
    Delivery, DeliveryAttempt, DeliveryFilter, DeliveryResult, DeliveryStatus, NewDelivery,
    OutboxStore,
};
use crate::postgres::{Failure, PostgresStore};
use crate::sqlite_outbox::attempt_row;
use crate::{Result, StoreError, from_micros, micros};

macro_rules! columns {
    () => {
        "id, workspace_id, connection_id, key, payload, status, attempts, next_attempt_at,
         last_error, receipt, created_at, updated_at"
    };
}

const INSERT: &str = "INSERT INTO outbox (workspace_id, connection_id, key, payload, status,
        next_attempt_at, created_at, updated_at)
    VALUES ($1, $2, $3, $4, 'queued', $5, $5, $5)
    ON CONFLICT (connection_id, key) DO NOTHING";
const SAVE_CHECKPOINT: &str =
    "UPDATE connections SET checkpoint = $1, checkpoint_at = $2 WHERE id = $3";
const DUE: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM outbox WHERE status = 'queued' AND next_attempt_at <= $1
      ORDER BY next_attempt_at, id LIMIT $2"
);
const SENT: &str = "UPDATE outbox SET status = 'sent', attempts = attempts + 1, receipt = $1,
        updated_at = $2
    WHERE id = $3 AND status = 'queued'";
const RETRY: &str = "UPDATE outbox SET attempts = attempts + 1, last_error = $1,
        next_attempt_at = $2, updated_at = $3
    WHERE id = $4 AND status = 'queued'";
const FAILED: &str = "UPDATE outbox SET status = 'failed', attempts = attempts + 1,
        last_error = $1, updated_at = $2
    WHERE id = $3 AND status = 'queued'";
const ATTEMPT: &str =
    "INSERT INTO outbox_attempts (outbox_id, at, outcome, detail) VALUES ($1, $2, $3, $4)";
const LIST: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM outbox
      WHERE workspace_id = $1 AND ($2::BIGINT IS NULL OR connection_id = $2)
        AND ($3::TEXT IS NULL OR status = $3) AND ($4::BIGINT IS NULL OR id < $4)
      ORDER BY id DESC LIMIT $5"
);
const ONE: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM outbox WHERE workspace_id = $1 AND id = $2"
);
const BY_KEY: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM outbox WHERE connection_id = $1 AND key = $2"
);
const ATTEMPTS: &str =
    "SELECT at, outcome, detail FROM outbox_attempts WHERE outbox_id = $1 ORDER BY id";

fn delivery_row(row: &Row) -> Result<Delivery, Failure> {
    let payload: String = row.try_get(4)?;
    let status: String = row.try_get(5)?;
    Ok(Delivery {
        id: row.try_get(0)?,
        workspace_id: row.try_get(1)?,
        connection_id: row.try_get(2)?,
        key: row.try_get(3)?,
        payload: serde_json::from_str(&payload)
            .map_err(|e| StoreError::Other(format!("stored delivery payload: {e}")))?,
        status: DeliveryStatus::parse(&status)
            .ok_or_else(|| StoreError::Other(format!("unknown delivery status {status:?}")))?,
        attempts: row.try_get(6)?,
        next_attempt_at: from_micros(row.try_get(7)?),
        last_error: row.try_get(8)?,
        receipt: row.try_get(9)?,
        created_at: from_micros(row.try_get(10)?),
        updated_at: from_micros(row.try_get(11)?),
    })
}

impl OutboxStore for PostgresStore {
    fn enqueue(
        &self,
        workspace_id: i64,
        connection_id: i64,
        deliveries: &[NewDelivery],
        checkpoint: Option<&str>,
    ) -> Result<usize> {
        let now = micros(OffsetDateTime::now_utc());
        let payloads = deliveries
            .iter()
            .map(|d| serde_json::to_string(&d.payload))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Other(format!("delivery payload: {e}")))?;
        self.with_conn(|conn| {
            let insert = conn.prepare(INSERT)?;
            let mut tx = conn.client.transaction()?;
            let mut queued = 0;
            for (d, payload) in deliveries.iter().zip(&payloads) {
                queued += tx.execute(
                    &insert,
                    &[&workspace_id, &connection_id, &d.key, payload, &now],
                )?;
            }
            if let Some(checkpoint) = checkpoint {
                tx.execute(SAVE_CHECKPOINT, &[&checkpoint, &now, &connection_id])?;
            }
            tx.commit()?;
            Ok(queued as usize)
        })
    }

    fn due_deliveries(&self, now: OffsetDateTime, limit: usize) -> Result<Vec<Delivery>> {
        self.with_conn(|conn| {
            let due = conn.prepare(DUE)?;
            conn.client
                .query(&due, &[&micros(now), &(limit as i64)])?
                .iter()
                .map(delivery_row)
                .collect()
        })
    }

    fn record_delivery(
        &self,
        id: i64,
        at: OffsetDateTime,
        result: &DeliveryResult,
    ) -> Result<bool> {
        let at_us = micros(at);
        self.with_conn(|conn| {
            let mut tx = conn.client.transaction()?;
            let changed = match result {
                DeliveryResult::Sent { receipt } => tx.execute(SENT, &[receipt, &at_us, &id])?,
                DeliveryResult::Retry { reason, next_at } => {
                    tx.execute(RETRY, &[reason, &micros(*next_at), &at_us, &id])?
                }
                DeliveryResult::Failed { reason } => tx.execute(FAILED, &[reason, &at_us, &id])?,
            };
            if changed > 0 {
                let (outcome, detail) = attempt_row(result);
                tx.execute(ATTEMPT, &[&id, &at_us, &outcome, &detail])?;
            }
            tx.commit()?;
            Ok(changed > 0)
        })
    }

    fn deliveries(
        &self,
        workspace_id: i64,
        filter: &DeliveryFilter,
        limit: usize,
    ) -> Result<Vec<Delivery>> {
        self.with_conn(|conn| {
            let list = conn.prepare(LIST)?;
            conn.client
                .query(
                    &list,
                    &[
                        &workspace_id,
                        &filter.connection_id,
                        &filter.status.map(DeliveryStatus::as_str),
                        &filter.before,
                        &(limit as i64),
                    ],
                )?
                .iter()
                .map(delivery_row)
                .collect()
        })
    }

    fn delivery(&self, workspace_id: i64, id: i64) -> Result<Option<Delivery>> {
        self.with_conn(|conn| {
            let one = conn.prepare(ONE)?;
            conn.client
                .query_opt(&one, &[&workspace_id, &id])?
                .map(|row| delivery_row(&row))
                .transpose()
        })
    }

    fn delivery_by_key(&self, connection_id: i64, key: &str) -> Result<Option<Delivery>> {
        self.with_conn(|conn| {
            let by_key = conn.prepare(BY_KEY)?;
            conn.client
                .query_opt(&by_key, &[&connection_id, &key])?
                .map(|row| delivery_row(&row))
                .transpose()
        })
    }

    fn delivery_attempts(&self, id: i64) -> Result<Vec<DeliveryAttempt>> {
        self.with_conn(|conn| {
            let attempts = conn.prepare(ATTEMPTS)?;
            let rows = conn.client.query(&attempts, &[&id])?;
            rows.iter()
                .map(|r| {
                    Ok(DeliveryAttempt {
                        at: from_micros(r.try_get(0)?),
                        outcome: r.try_get(1)?,
                        detail: r.try_get(2)?,
                    })
                })
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestPostgres;

    // As in `postgres.rs`: skipped when no PostgreSQL is installed, an empty database each.
    crate::outbox_store_conformance_tests!({
        let Some(pg) = TestPostgres::shared() else {
            return;
        };
        move || {
            let url = pg.fresh_database();
            (Box::new(PostgresStore::connect(&url).unwrap()), ())
        }
    });
}
