//! [`TeamStore`] for the embedded SQLite store.

use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;

use crate::sqlite::SqliteStore;
use crate::teams::{Assignment, Team, TeamSpec, TeamStore};
use crate::{Result, from_micros, micros};

fn list(text: &str, column: usize) -> rusqlite::Result<Vec<String>> {
    serde_json::from_str(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, e.into())
    })
}

/// Runs `f` on the writer connection.
fn write<T>(
    store: &SqliteStore,
    f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
) -> Result<T> {
    let conn = store.writer.lock().expect("writer");
    f(&conn).map_err(|e| store.err(e))
}

fn team_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Team> {
    let assignment: String = row.get(5)?;
    Ok(Team {
        id: row.get(0)?,
        workspace_id: row.get(1)?,
        name: row.get(2)?,
        members: list(&row.get::<_, String>(3)?, 3)?,
        hours: row.get(4)?,
        assignment: Assignment::parse(&assignment).unwrap_or(Assignment::Manual),
        channels: list(&row.get::<_, String>(6)?, 6)?,
        updated_at: from_micros(row.get(7)?),
    })
}

impl TeamStore for SqliteStore {
    fn put_team(&self, workspace_id: i64, spec: &TeamSpec<'_>) -> Result<bool> {
        let now = micros(OffsetDateTime::now_utc());
        write(self, |conn| {
            let existed: bool = conn
                .query_row(
                    "SELECT 1 FROM teams WHERE workspace_id = ?1 AND name = ?2",
                    params![workspace_id, spec.name],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            conn.execute(
                "INSERT INTO teams (workspace_id, name, members, hours, assignment, channels,
                     next_turn, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7)
                 ON CONFLICT (workspace_id, name) DO UPDATE SET
                     members = excluded.members, hours = excluded.hours,
                     assignment = excluded.assignment, channels = excluded.channels,
                     next_turn = 0, updated_at = excluded.updated_at",
                params![
                    workspace_id,
                    spec.name,
                    serde_json::json!(spec.members).to_string(),
                    spec.hours,
                    spec.assignment.as_str(),
                    serde_json::json!(spec.channels).to_string(),
                    now
                ],
            )?;
            Ok(!existed)
        })
    }

    fn teams(&self, workspace_id: i64) -> Result<Vec<Team>> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT id, workspace_id, name, members, hours, assignment, channels, updated_at
                 FROM teams WHERE workspace_id = ?1 ORDER BY name",
            )?
            .query_map(params![workspace_id], team_row)?
            .collect()
        })
    }

    fn remove_team(&self, workspace_id: i64, name: &str) -> Result<bool> {
        write(self, |conn| {
            Ok(conn.execute(
                "DELETE FROM teams WHERE workspace_id = ?1 AND name = ?2",
                params![workspace_id, name],
            )? > 0)
        })
    }

    fn take_turn(&self, workspace_id: i64, name: &str) -> Result<Option<String>> {
        write(self, |conn| {
            let turn: Option<(i64, String)> = conn
                .query_row(
                    "UPDATE teams SET next_turn = next_turn + 1
                     WHERE workspace_id = ?1 AND name = ?2
                     RETURNING next_turn - 1, members",
                    params![workspace_id, name],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((turn, members)) = turn else {
                return Ok(None);
            };
            let members = list(&members, 1)?;
            Ok((!members.is_empty())
                .then(|| members[turn.rem_euclid(members.len() as i64) as usize].clone()))
        })
    }

    fn open_load(&self, workspace_id: i64, members: &[String]) -> Result<Vec<u64>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT count(*) FROM cases
                 WHERE workspace_id = ?1 AND assignee = ?2 AND status <> 'resolved'",
            )?;
            members
                .iter()
                .map(|m| {
                    stmt.query_row(params![workspace_id, m], |r| r.get::<_, i64>(0))
                        .map(|n| n as u64)
                })
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::sqlite::SqliteStore;

    crate::team_store_conformance_tests!(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("needle.db")).unwrap();
        (Box::new(store), dir)
    });
}
