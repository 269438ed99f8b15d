//! [`TeamStore`] for the PostgreSQL store: the same behaviour as the SQLite one
//! (`sqlite_teams.rs`), proven by the same conformance suite.

use ::postgres::Row;
use time::OffsetDateTime;

use crate::postgres::{Failure, PostgresStore};
use crate::teams::{Assignment, Team, TeamSpec, TeamStore};
use crate::{Result, StoreError, from_micros, micros};

const PUT_TEAM: &str = "
    INSERT INTO teams (workspace_id, name, members, hours, assignment, channels, next_turn,
        updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, 0, $7)
    ON CONFLICT (workspace_id, name) DO UPDATE SET
        members = excluded.members, hours = excluded.hours, assignment = excluded.assignment,
        channels = excluded.channels, next_turn = 0, updated_at = excluded.updated_at
    RETURNING xmax = 0";
const TEAMS: &str = "
    SELECT id, workspace_id, name, members, hours, assignment, channels, updated_at
    FROM teams WHERE workspace_id = $1 ORDER BY name";
const REMOVE_TEAM: &str = "DELETE FROM teams WHERE workspace_id = $1 AND name = $2";
const TAKE_TURN: &str = "
    UPDATE teams SET next_turn = next_turn + 1 WHERE workspace_id = $1 AND name = $2
    RETURNING next_turn - 1, members";
const OPEN_LOAD: &str = "
    SELECT m.email, count(c.id)
    FROM unnest($2::text[]) AS m(email)
    LEFT JOIN cases c ON c.workspace_id = $1 AND c.assignee = m.email AND c.status <> 'resolved'
    GROUP BY m.email";

fn list(text: &str) -> Result<Vec<String>, Failure> {
    serde_json::from_str(text)
        .map_err(|e| Failure::Store(StoreError::Corrupt(format!("a team's list: {e}"))))
}

fn team_row(row: &Row) -> Result<Team, Failure> {
    let assignment: String = row.try_get(5)?;
    Ok(Team {
        id: row.try_get(0)?,
        workspace_id: row.try_get(1)?,
        name: row.try_get(2)?,
        members: list(row.try_get(3)?)?,
        hours: row.try_get(4)?,
        assignment: Assignment::parse(&assignment).unwrap_or(Assignment::Manual),
        channels: list(row.try_get(6)?)?,
        updated_at: from_micros(row.try_get(7)?),
    })
}

impl TeamStore for PostgresStore {
    fn put_team(&self, workspace_id: i64, spec: &TeamSpec<'_>) -> Result<bool> {
        let now = micros(OffsetDateTime::now_utc());
        let members = serde_json::json!(spec.members).to_string();
        let channels = serde_json::json!(spec.channels).to_string();
        self.with_conn(|conn| {
            let row = conn.client.query_one(
                PUT_TEAM,
                &[
                    &workspace_id,
                    &spec.name,
                    &members,
                    &spec.hours,
                    &spec.assignment.as_str(),
                    &channels,
                    &now,
                ],
            )?;
            Ok(row.try_get(0)?)
        })
    }

    fn teams(&self, workspace_id: i64) -> Result<Vec<Team>> {
        self.with_conn(|conn| {
            conn.client
                .query(TEAMS, &[&workspace_id])?
                .iter()
                .map(team_row)
                .collect()
        })
    }

    fn remove_team(&self, workspace_id: i64, name: &str) -> Result<bool> {
        self.with_conn(|conn| Ok(conn.client.execute(REMOVE_TEAM, &[&workspace_id, &name])? > 0))
    }

    fn take_turn(&self, workspace_id: i64, name: &str) -> Result<Option<String>> {
        self.with_conn(|conn| {
            let Some(row) = conn.client.query_opt(TAKE_TURN, &[&workspace_id, &name])? else {
                return Ok(None);
            };
            let turn: i64 = row.try_get(0)?;
            let members = list(row.try_get(1)?)?;
            Ok((!members.is_empty())
                .then(|| members[turn.rem_euclid(members.len() as i64) as usize].clone()))
        })
    }

    fn open_load(&self, workspace_id: i64, members: &[String]) -> Result<Vec<u64>> {
        if members.is_empty() {
            return Ok(Vec::new());
        }
        self.with_conn(|conn| {
            let rows = conn.client.query(OPEN_LOAD, &[&workspace_id, &members])?;
            let mut load = vec![0; members.len()];
            for row in rows {
                let email: String = row.try_get(0)?;
                let n: i64 = row.try_get(1)?;
                for (i, m) in members.iter().enumerate() {
                    if *m == email {
                        load[i] = u64::try_from(n).unwrap_or(0);
                    }
                }
            }
            Ok(load)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestPostgres;

    // As in `postgres.rs`: skipped when no PostgreSQL is installed, an empty database each.
    crate::team_store_conformance_tests!({
        let Some(pg) = TestPostgres::shared() else {
            return;
        };
        move || {
            let url = pg.fresh_database();
            (Box::new(PostgresStore::connect(&url).unwrap()), ())
        }
    });
}
