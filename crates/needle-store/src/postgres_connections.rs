//! [`ConnectionStore`] for the PostgreSQL store: the same behaviour as the SQLite one
//! (`sqlite_connections.rs`), proven by the same conformance suite.

use ::postgres::Row;
use time::OffsetDateTime;

use crate::connections::{Attempt, Connection, ConnectionSpec, ConnectionStore, Health};
use crate::postgres::PostgresStore;
use crate::{Result, StoreError, from_micros, micros};

macro_rules! columns {
    () => {
        "id, workspace_id, name, kind, config, secret, enabled, created_at, updated_at,
         checkpoint, checkpoint_at, last_attempt_at, last_success_at, last_error, last_error_at,
         consecutive_failures, messages_total, errors_total"
    };
}

const BEFORE: &str =
    "SELECT id, kind, config FROM connections WHERE workspace_id = $1 AND name = $2 FOR UPDATE";
const UPDATE: &str = "UPDATE connections SET kind = $1, config = $2, secret = $3, enabled = $4,
        updated_at = $5,
        checkpoint = CASE WHEN $6 THEN checkpoint END,
        checkpoint_at = CASE WHEN $6 THEN checkpoint_at END
    WHERE id = $7";
// ON CONFLICT DO NOTHING: a concurrent creator of the same name wins, and this writer then
// updates the row it made (see `put_connection`).
const INSERT: &str = "INSERT INTO connections (workspace_id, name, kind, config, secret, enabled,
        created_at, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
    ON CONFLICT (workspace_id, name) DO NOTHING RETURNING id";
const BY_ID: &str = concat!("SELECT ", columns!(), " FROM connections WHERE id = $1");
const BY_NAME: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM connections WHERE workspace_id = $1 AND name = $2"
);
const ALL: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM connections WHERE $1::BIGINT IS NULL OR workspace_id = $1 ORDER BY workspace_id, name"
);
const REMOVE: &str = "DELETE FROM connections WHERE workspace_id = $1 AND name = $2";
const SUCCEEDED: &str = "UPDATE connections SET last_attempt_at = $1, last_success_at = $1,
        consecutive_failures = 0, messages_total = messages_total + $2
    WHERE id = $3";
const FAILED: &str = "UPDATE connections SET last_attempt_at = $1, last_error = $2,
        last_error_at = $1, consecutive_failures = consecutive_failures + 1,
        errors_total = errors_total + 1
    WHERE id = $3";

fn connection_row(row: &Row) -> Result<Connection, crate::postgres::Failure> {
    let config: String = row.try_get(4)?;
    let time = |i: usize| -> Result<Option<OffsetDateTime>, ::postgres::Error> {
        Ok(row.try_get::<_, Option<i64>>(i)?.map(from_micros))
    };
    Ok(Connection {
        id: row.try_get(0)?,
        workspace_id: row.try_get(1)?,
        spec: ConnectionSpec {
            name: row.try_get(2)?,
            kind: row.try_get(3)?,
            config: serde_json::from_str(&config)
                .map_err(|e| StoreError::Other(format!("stored connection settings: {e}")))?,
            secret: row.try_get(5)?,
            enabled: row.try_get(6)?,
        },
        created_at: from_micros(row.try_get(7)?),
        updated_at: from_micros(row.try_get(8)?),
        checkpoint: row.try_get(9)?,
        checkpoint_at: time(10)?,
        health: Health {
            last_attempt_at: time(11)?,
            last_success_at: time(12)?,
            last_error: row.try_get(13)?,
            last_error_at: time(14)?,
            consecutive_failures: row.try_get(15)?,
            messages_total: row.try_get(16)?,
            errors_total: row.try_get(17)?,
        },
    })
}

impl ConnectionStore for PostgresStore {
    fn put_connection(
        &self,
        workspace_id: i64,
        spec: &ConnectionSpec,
    ) -> Result<(Connection, bool)> {
        let now = micros(OffsetDateTime::now_utc());
        let config = serde_json::to_string(&spec.config)
            .map_err(|e| StoreError::Other(format!("connection settings: {e}")))?;
        self.with_conn(|conn| {
            let mut tx = conn.client.transaction()?;
            let mut created = false;
            let mut before = tx.query_opt(BEFORE, &[&workspace_id, &spec.name])?;
            if before.is_none() {
                let inserted = tx.query_opt(
                    INSERT,
                    &[
                        &workspace_id,
                        &spec.name,
                        &spec.kind,
                        &config,
                        &spec.secret,
                        &spec.enabled,
                        &now,
                    ],
                )?;
                created = inserted.is_some();
                if !created {
                    before = tx.query_opt(BEFORE, &[&workspace_id, &spec.name])?;
                }
            }
            let id: i64 = match (&before, created) {
                (Some(row), false) => {
                    let id: i64 = row.try_get(0)?;
                    let kind: &str = row.try_get(1)?;
                    let old_config: &str = row.try_get(2)?;
                    let same_source = kind == spec.kind && old_config == config;
                    tx.execute(
                        UPDATE,
                        &[
                            &spec.kind,
                            &config,
                            &spec.secret,
                            &spec.enabled,
                            &now,
                            &same_source,
                            &id,
                        ],
                    )?;
                    id
                }
                _ => tx
                    .query_one(
                        "SELECT id FROM connections WHERE workspace_id = $1 AND name = $2",
                        &[&workspace_id, &spec.name],
                    )?
                    .try_get(0)?,
            };
            let stored = connection_row(&tx.query_one(BY_ID, &[&id])?)?;
            tx.commit()?;
            Ok((stored, created))
        })
    }

    fn connection(&self, workspace_id: i64, name: &str) -> Result<Option<Connection>> {
        self.with_conn(|conn| {
            let by_name = conn.prepare(BY_NAME)?;
            conn.client
                .query_opt(&by_name, &[&workspace_id, &name])?
                .map(|row| connection_row(&row))
                .transpose()
        })
    }

    fn connections(&self, workspace_id: Option<i64>) -> Result<Vec<Connection>> {
        self.with_conn(|conn| {
            let all = conn.prepare(ALL)?;
            conn.client
                .query(&all, &[&workspace_id])?
                .iter()
                .map(connection_row)
                .collect()
        })
    }

    fn remove_connection(&self, workspace_id: i64, name: &str) -> Result<bool> {
        self.with_conn(|conn| {
            let remove = conn.prepare(REMOVE)?;
            Ok(conn.client.execute(&remove, &[&workspace_id, &name])? > 0)
        })
    }

    fn record_attempt(
        &self,
        connection_id: i64,
        at: OffsetDateTime,
        attempt: &Attempt,
    ) -> Result<()> {
        let at = micros(at);
        self.with_conn(|conn| {
            match attempt {
                Attempt::Succeeded { messages } => {
                    let messages = i64::try_from(*messages).unwrap_or(i64::MAX);
                    let succeeded = conn.prepare(SUCCEEDED)?;
                    conn.client
                        .execute(&succeeded, &[&at, &messages, &connection_id])?
                }
                Attempt::Failed { reason } => {
                    let failed = conn.prepare(FAILED)?;
                    conn.client
                        .execute(&failed, &[&at, reason, &connection_id])?
                }
            };
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestPostgres;

    // As in `postgres.rs`: skipped when no PostgreSQL is installed, an empty database each.
    crate::connection_store_conformance_tests!({
        let Some(pg) = TestPostgres::shared() else {
            return;
        };
        move || {
            let url = pg.fresh_database();
            (Box::new(PostgresStore::connect(&url).unwrap()), ())
        }
    });
}
