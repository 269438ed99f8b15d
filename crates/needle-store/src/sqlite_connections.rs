//! [`ConnectionStore`] for the embedded SQLite store.

use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;

use crate::connections::{Attempt, Connection, ConnectionSpec, ConnectionStore, Health};
use crate::sqlite::SqliteStore;
use crate::{Result, StoreError, from_micros, micros};

const COLUMNS: &str = "id, workspace_id, name, kind, config, secret, enabled, created_at,
    updated_at, checkpoint, checkpoint_at, last_attempt_at, last_success_at, last_error,
    last_error_at, consecutive_failures, messages_total, errors_total";

fn connection_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Connection> {
    let config: String = row.get(4)?;
    let time = |i: usize| -> rusqlite::Result<Option<OffsetDateTime>> {
        Ok(row.get::<_, Option<i64>>(i)?.map(from_micros))
    };
    Ok(Connection {
        id: row.get(0)?,
        workspace_id: row.get(1)?,
        spec: ConnectionSpec {
            name: row.get(2)?,
            kind: row.get(3)?,
            config: serde_json::from_str(&config).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, e.into())
            })?,
            secret: row.get(5)?,
            enabled: row.get(6)?,
        },
        created_at: from_micros(row.get(7)?),
        updated_at: from_micros(row.get(8)?),
        checkpoint: row.get(9)?,
        checkpoint_at: time(10)?,
        health: Health {
            last_attempt_at: time(11)?,
            last_success_at: time(12)?,
            last_error: row.get(13)?,
            last_error_at: time(14)?,
            consecutive_failures: row.get(15)?,
            messages_total: row.get(16)?,
            errors_total: row.get(17)?,
        },
    })
}

impl ConnectionStore for SqliteStore {
    fn put_connection(
        &self,
        workspace_id: i64,
        spec: &ConnectionSpec,
    ) -> Result<(Connection, bool)> {
        let now = micros(OffsetDateTime::now_utc());
        let config = serde_json::to_string(&spec.config)
            .map_err(|e| StoreError::Other(format!("connection settings: {e}")))?;
        let mut conn = self.writer.lock().expect("writer");
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        let before: Option<(i64, String, String)> = tx
            .query_row(
                "SELECT id, kind, config FROM connections WHERE workspace_id = ?1 AND name = ?2",
                params![workspace_id, spec.name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let id = match &before {
            Some((id, kind, old_config)) => {
                let same_source = *kind == spec.kind && *old_config == config;
                tx.execute(
                    "UPDATE connections SET kind = ?1, config = ?2, secret = ?3, enabled = ?4,
                         updated_at = ?5,
                         checkpoint = CASE WHEN ?6 THEN checkpoint END,
                         checkpoint_at = CASE WHEN ?6 THEN checkpoint_at END
                     WHERE id = ?7",
                    params![
                        spec.kind,
                        config,
                        spec.secret,
                        spec.enabled,
                        now,
                        same_source,
                        id
                    ],
                )
                .map_err(|e| self.err(e))?;
                *id
            }
            None => tx
                .query_row(
                    "INSERT INTO connections (workspace_id, name, kind, config, secret, enabled,
                         created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) RETURNING id",
                    params![
                        workspace_id,
                        spec.name,
                        spec.kind,
                        config,
                        spec.secret,
                        spec.enabled,
                        now
                    ],
                    |r| r.get(0),
                )
                .map_err(|e| self.err(e))?,
        };
        let stored = tx
            .query_row(
                &format!("SELECT {COLUMNS} FROM connections WHERE id = ?1"),
                params![id],
                connection_row,
            )
            .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok((stored, before.is_none()))
    }

    fn connection(&self, workspace_id: i64, name: &str) -> Result<Option<Connection>> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM connections WHERE workspace_id = ?1 AND name = ?2"
            ))?
            .query_row(params![workspace_id, name], connection_row)
            .optional()
        })
    }

    fn connections(&self, workspace_id: Option<i64>) -> Result<Vec<Connection>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM connections
                 WHERE ?1 IS NULL OR workspace_id = ?1
                 ORDER BY workspace_id, name"
            ))?;
            stmt.query_map(params![workspace_id], connection_row)?
                .collect()
        })
    }

    fn remove_connection(&self, workspace_id: i64, name: &str) -> Result<bool> {
        let conn = self.writer.lock().expect("writer");
        let removed = conn
            .execute(
                "DELETE FROM connections WHERE workspace_id = ?1 AND name = ?2",
                params![workspace_id, name],
            )
            .map_err(|e| self.err(e))?;
        Ok(removed > 0)
    }

    fn record_attempt(
        &self,
        connection_id: i64,
        at: OffsetDateTime,
        attempt: &Attempt,
    ) -> Result<()> {
        let at = micros(at);
        let conn = self.writer.lock().expect("writer");
        match attempt {
            Attempt::Succeeded { messages } => conn.execute(
                "UPDATE connections SET last_attempt_at = ?1, last_success_at = ?1,
                     consecutive_failures = 0, messages_total = messages_total + ?2
                 WHERE id = ?3",
                params![
                    at,
                    i64::try_from(*messages).unwrap_or(i64::MAX),
                    connection_id
                ],
            ),
            Attempt::Failed { reason } => conn.execute(
                "UPDATE connections SET last_attempt_at = ?1, last_error = ?2, last_error_at = ?1,
                     consecutive_failures = consecutive_failures + 1,
                     errors_total = errors_total + 1
                 WHERE id = ?3",
                params![at, reason, connection_id],
            ),
        }
        .map_err(|e| self.err(e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::sqlite::SqliteStore;

    crate::connection_store_conformance_tests!(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("needle.db")).unwrap();
        (Box::new(store), dir)
    });
}
