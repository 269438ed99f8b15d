//! [`AccountStore`] for the PostgreSQL store: the same behaviour as the SQLite one
//! (`sqlite_accounts.rs`), proven by the same conformance suite.

use ::postgres::Row;
use time::OffsetDateTime;

use crate::accounts::{AccountStore, ApiToken, AuditEntry, Grant, NewUser, Role, Session, User};
use crate::postgres::{Conn, Failure, PostgresStore};
use crate::{Result, StoreError, from_micros, micros};

const ADD_USER: &str = "INSERT INTO users (email, password_hash, must_change_password, created_at)
    VALUES ($1, $2, $3, $4) ON CONFLICT (email) DO NOTHING RETURNING id";
const ADD_ROLE: &str = "INSERT INTO user_roles (user_id, workspace_id, role) VALUES ($1, $2, $3)
    ON CONFLICT (user_id, workspace_id) DO UPDATE SET role = excluded.role";
const USER_BY_EMAIL: &str =
    "SELECT id, email, created_at, password_hash, must_change_password FROM users WHERE email = $1";
const USER_BY_ID: &str =
    "SELECT id, email, created_at, password_hash, must_change_password FROM users WHERE id = $1";
const ALL_USERS: &str =
    "SELECT id, email, created_at, password_hash, must_change_password FROM users ORDER BY email";
const GRANTS: &str =
    "SELECT workspace_id, role FROM user_roles WHERE user_id = $1 ORDER BY workspace_id";
const SET_PASSWORD: &str =
    "UPDATE users SET password_hash = $1, must_change_password = $2 WHERE id = $3";
const END_USER_SESSIONS: &str = "DELETE FROM sessions WHERE user_id = $1";
const USER_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)";
const SWEEP_SESSIONS: &str = "DELETE FROM sessions WHERE expires_at <= $1";
const START_SESSION: &str = "INSERT INTO sessions (id_hash, user_id, csrf, created_at, expires_at)
    VALUES ($1, $2, $3, $4, $5)";
const SESSION: &str = "SELECT user_id, csrf, expires_at FROM sessions
    WHERE id_hash = $1 AND expires_at > $2";
const END_SESSION: &str = "DELETE FROM sessions WHERE id_hash = $1";
const ADD_TOKEN: &str = "INSERT INTO api_tokens (token_hash, name, workspace_id, role, created_at)
    VALUES ($1, $2, $3, $4, $5) RETURNING id";
const TOKEN: &str = "SELECT id, name, workspace_id, role, created_at, revoked_at FROM api_tokens
    WHERE token_hash = $1 AND revoked_at IS NULL";
const TOKENS: &str =
    "SELECT id, name, workspace_id, role, created_at, revoked_at FROM api_tokens ORDER BY id";
const REVOKE: &str = "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL";
const RECORD: &str = "INSERT INTO audit_log (at, workspace_id, actor, action, subject, detail)
    VALUES ($1, $2, $3, $4, $5, $6)";
const LOG: &str = "SELECT id, at, workspace_id, actor, action, subject, detail FROM audit_log
    WHERE ($1::BIGINT IS NULL OR workspace_id IN ($1, 0)) AND ($2::BIGINT IS NULL OR id < $2)
    ORDER BY id DESC LIMIT $3";

fn role(text: &str) -> Result<Role, Failure> {
    Role::parse(text)
        .ok_or_else(|| StoreError::Other(format!("unknown stored role {text:?}")).into())
}

fn grants(conn: &mut Conn, user_id: i64) -> Result<Vec<Grant>, Failure> {
    let stmt = conn.prepare(GRANTS)?;
    conn.client
        .query(&stmt, &[&user_id])?
        .iter()
        .map(|r| {
            Ok(Grant {
                workspace_id: r.try_get(0)?,
                role: role(r.try_get(1)?)?,
            })
        })
        .collect()
}

fn user_row(conn: &mut Conn, row: &Row) -> Result<(User, String), Failure> {
    let id: i64 = row.try_get(0)?;
    Ok((
        User {
            id,
            email: row.try_get(1)?,
            created_at: from_micros(row.try_get(2)?),
            grants: grants(conn, id)?,
            must_change_password: row.try_get(4)?,
        },
        row.try_get(3)?,
    ))
}

fn user_by(
    conn: &mut Conn,
    sql: &'static str,
    value: &(dyn ::postgres::types::ToSql + Sync),
) -> Result<Option<(User, String)>, Failure> {
    let stmt = conn.prepare(sql)?;
    match conn.client.query_opt(&stmt, &[value])? {
        Some(row) => Ok(Some(user_row(conn, &row)?)),
        None => Ok(None),
    }
}

fn token_row(row: &Row) -> Result<ApiToken, Failure> {
    Ok(ApiToken {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        grant: Grant {
            workspace_id: row.try_get(2)?,
            role: role(row.try_get(3)?)?,
        },
        created_at: from_micros(row.try_get(4)?),
        revoked_at: row.try_get::<_, Option<i64>>(5)?.map(from_micros),
    })
}

fn audit_row(row: &Row) -> Result<AuditEntry, Failure> {
    let detail: String = row.try_get(6)?;
    Ok(AuditEntry {
        id: row.try_get(0)?,
        at: from_micros(row.try_get(1)?),
        workspace_id: row.try_get(2)?,
        actor: row.try_get(3)?,
        action: row.try_get(4)?,
        subject: row.try_get(5)?,
        detail: serde_json::from_str(&detail)
            .map_err(|e| StoreError::Other(format!("stored audit detail: {e}")))?,
    })
}

impl AccountStore for PostgresStore {
    fn add_user(&self, new: &NewUser<'_>) -> Result<Option<User>> {
        let now = micros(OffsetDateTime::now_utc());
        self.with_conn(|conn| {
            let add_user = conn.prepare(ADD_USER)?;
            let add_role = conn.prepare(ADD_ROLE)?;
            let mut tx = conn.client.transaction()?;
            let row = tx.query_opt(
                &add_user,
                &[
                    &new.email,
                    &new.password_hash,
                    &new.must_change_password,
                    &now,
                ],
            )?;
            let Some(row) = row else {
                return Ok(None);
            };
            let id: i64 = row.try_get(0)?;
            let grant = new.grant;
            tx.execute(&add_role, &[&id, &grant.workspace_id, &grant.role.as_str()])?;
            tx.commit()?;
            Ok(Some(User {
                id,
                email: new.email.to_string(),
                created_at: from_micros(now),
                grants: vec![grant],
                must_change_password: new.must_change_password,
            }))
        })
    }

    fn user_by_email(&self, email: &str) -> Result<Option<(User, String)>> {
        self.with_conn(|conn| user_by(conn, USER_BY_EMAIL, &email))
    }

    fn user(&self, id: i64) -> Result<Option<User>> {
        Ok(self
            .with_conn(|conn| user_by(conn, USER_BY_ID, &id))?
            .map(|(user, _)| user))
    }

    fn users(&self) -> Result<Vec<User>> {
        self.with_conn(|conn| {
            let all = conn.prepare(ALL_USERS)?;
            let rows = conn.client.query(&all, &[])?;
            rows.iter().map(|row| Ok(user_row(conn, row)?.0)).collect()
        })
    }

    fn set_password(&self, user_id: i64, password_hash: &str, must_change: bool) -> Result<bool> {
        self.with_conn(|conn| {
            let mut tx = conn.client.transaction()?;
            let changed = tx.execute(SET_PASSWORD, &[&password_hash, &must_change, &user_id])?;
            tx.execute(END_USER_SESSIONS, &[&user_id])?;
            tx.commit()?;
            Ok(changed > 0)
        })
    }

    fn set_role(&self, user_id: i64, grant: Grant) -> Result<bool> {
        self.with_conn(|conn| {
            let exists: bool = conn
                .client
                .query_one(USER_EXISTS, &[&user_id])?
                .try_get(0)?;
            if exists {
                let add_role = conn.prepare(ADD_ROLE)?;
                conn.client.execute(
                    &add_role,
                    &[&user_id, &grant.workspace_id, &grant.role.as_str()],
                )?;
            }
            Ok(exists)
        })
    }

    fn start_session(
        &self,
        id_hash: &str,
        user_id: i64,
        csrf: &str,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        let now = micros(OffsetDateTime::now_utc());
        self.with_conn(|conn| {
            conn.client.execute(SWEEP_SESSIONS, &[&now])?;
            conn.client.execute(
                START_SESSION,
                &[&id_hash, &user_id, &csrf, &now, &micros(expires_at)],
            )?;
            Ok(())
        })
    }

    fn session(&self, id_hash: &str, now: OffsetDateTime) -> Result<Option<Session>> {
        self.with_conn(|conn| {
            let stmt = conn.prepare(SESSION)?;
            let Some(row) = conn.client.query_opt(&stmt, &[&id_hash, &micros(now)])? else {
                return Ok(None);
            };
            let user_id: i64 = row.try_get(0)?;
            Ok(
                user_by(conn, USER_BY_ID, &user_id)?.map(|(user, _)| Session {
                    user,
                    csrf: row.get(1),
                    expires_at: from_micros(row.get(2)),
                }),
            )
        })
    }

    fn end_session(&self, id_hash: &str) -> Result<bool> {
        self.with_conn(|conn| Ok(conn.client.execute(END_SESSION, &[&id_hash])? > 0))
    }

    fn add_token(&self, token_hash: &str, name: &str, grant: Grant) -> Result<ApiToken> {
        let now = micros(OffsetDateTime::now_utc());
        self.with_conn(|conn| {
            let row = conn.client.query_one(
                ADD_TOKEN,
                &[
                    &token_hash,
                    &name,
                    &grant.workspace_id,
                    &grant.role.as_str(),
                    &now,
                ],
            )?;
            Ok(ApiToken {
                id: row.try_get(0)?,
                name: name.to_string(),
                grant,
                created_at: from_micros(now),
                revoked_at: None,
            })
        })
    }

    fn token(&self, token_hash: &str) -> Result<Option<ApiToken>> {
        self.with_conn(|conn| {
            let stmt = conn.prepare(TOKEN)?;
            conn.client
                .query_opt(&stmt, &[&token_hash])?
                .as_ref()
                .map(token_row)
                .transpose()
        })
    }

    fn tokens(&self) -> Result<Vec<ApiToken>> {
        self.with_conn(|conn| {
            conn.client
                .query(TOKENS, &[])?
                .iter()
                .map(token_row)
                .collect()
        })
    }

    fn revoke_token(&self, id: i64, at: OffsetDateTime) -> Result<bool> {
        self.with_conn(|conn| Ok(conn.client.execute(REVOKE, &[&micros(at), &id])? > 0))
    }

    fn record_audit(&self, entry: &AuditEntry) -> Result<()> {
        let detail = serde_json::to_string(&entry.detail)
            .map_err(|e| StoreError::Other(format!("audit detail: {e}")))?;
        self.with_conn(|conn| {
            let stmt = conn.prepare(RECORD)?;
            conn.client.execute(
                &stmt,
                &[
                    &micros(entry.at),
                    &entry.workspace_id,
                    &entry.actor,
                    &entry.action,
                    &entry.subject,
                    &detail,
                ],
            )?;
            Ok(())
        })
    }

    fn audit_log(
        &self,
        workspace_id: Option<i64>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>> {
        self.with_conn(|conn| {
            let stmt = conn.prepare(LOG)?;
            conn.client
                .query(&stmt, &[&workspace_id, &before, &(limit as i64)])?
                .iter()
                .map(audit_row)
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestPostgres;

    // As in `postgres.rs`: skipped when no PostgreSQL is installed, an empty database each.
    crate::account_store_conformance_tests!({
        let Some(pg) = TestPostgres::shared() else {
            return;
        };
        move || {
            let url = pg.fresh_database();
            (Box::new(PostgresStore::connect(&url).unwrap()), ())
        }
    });
}
