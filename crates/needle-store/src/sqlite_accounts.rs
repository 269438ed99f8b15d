//! [`AccountStore`] for the embedded SQLite store.

use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;

use crate::accounts::{AccountStore, ApiToken, AuditEntry, Grant, NewUser, Role, Session, User};
use crate::sqlite::SqliteStore;
use crate::{Result, StoreError, from_micros, micros};

fn bad_text(i: usize, e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
}

fn role_at(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Role> {
    let role: String = row.get(i)?;
    Role::parse(&role).ok_or_else(|| bad_text(i, format!("unknown role {role:?}")))
}

fn grants(conn: &Connection, user_id: i64) -> rusqlite::Result<Vec<Grant>> {
    let mut stmt = conn.prepare_cached(
        "SELECT workspace_id, role FROM user_roles WHERE user_id = ?1 ORDER BY workspace_id",
    )?;
    stmt.query_map([user_id], |r| {
        Ok(Grant {
            workspace_id: r.get(0)?,
            role: role_at(r, 1)?,
        })
    })?
    .collect()
}

/// The user `condition` (on `users`, with `?1`) picks, with their password hash.
fn user_where(
    conn: &Connection,
    condition: &str,
    value: &dyn rusqlite::ToSql,
) -> rusqlite::Result<Option<(User, String)>> {
    let sql = format!(
        "SELECT id, email, created_at, password_hash, must_change_password FROM users
         WHERE {condition}"
    );
    let found = conn
        .query_row(&sql, [value], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, bool>(4)?,
            ))
        })
        .optional()?;
    found
        .map(|(id, email, created_at, hash, must_change_password)| {
            Ok((
                User {
                    id,
                    email,
                    created_at: from_micros(created_at),
                    grants: grants(conn, id)?,
                    must_change_password,
                },
                hash,
            ))
        })
        .transpose()
}

fn token_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ApiToken> {
    Ok(ApiToken {
        id: row.get(0)?,
        name: row.get(1)?,
        grant: Grant {
            workspace_id: row.get(2)?,
            role: role_at(row, 3)?,
        },
        created_at: from_micros(row.get(4)?),
        revoked_at: row.get::<_, Option<i64>>(5)?.map(from_micros),
    })
}

const TOKEN_COLUMNS: &str = "id, name, workspace_id, role, created_at, revoked_at";

fn audit_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEntry> {
    let detail: String = row.get(6)?;
    Ok(AuditEntry {
        id: row.get(0)?,
        at: from_micros(row.get(1)?),
        workspace_id: row.get(2)?,
        actor: row.get(3)?,
        action: row.get(4)?,
        subject: row.get(5)?,
        detail: serde_json::from_str(&detail).map_err(|e| bad_text(6, e))?,
    })
}

impl AccountStore for SqliteStore {
    fn add_user(&self, new: &NewUser<'_>) -> Result<Option<User>> {
        let now = micros(OffsetDateTime::now_utc());
        let mut conn = self.writer.lock().expect("writer");
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        let inserted = tx
            .execute(
                "INSERT INTO users (email, password_hash, must_change_password, created_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (email) DO NOTHING",
                params![new.email, new.password_hash, new.must_change_password, now],
            )
            .map_err(|e| self.err(e))?;
        if inserted == 0 {
            return Ok(None);
        }
        let id = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO user_roles (user_id, workspace_id, role) VALUES (?1, ?2, ?3)",
            params![id, new.grant.workspace_id, new.grant.role.as_str()],
        )
        .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(Some(User {
            id,
            email: new.email.to_string(),
            created_at: from_micros(now),
            grants: vec![new.grant],
            must_change_password: new.must_change_password,
        }))
    }

    fn user_by_email(&self, email: &str) -> Result<Option<(User, String)>> {
        self.read(|conn| user_where(conn, "email = ?1", &email))
    }

    fn user(&self, id: i64) -> Result<Option<User>> {
        Ok(self
            .read(|conn| user_where(conn, "id = ?1", &id))?
            .map(|(user, _)| user))
    }

    fn users(&self) -> Result<Vec<User>> {
        self.read(|conn| {
            let ids: Vec<i64> = conn
                .prepare("SELECT id FROM users ORDER BY email")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            ids.into_iter()
                .filter_map(|id| user_where(conn, "id = ?1", &id).transpose())
                .map(|found| found.map(|(user, _)| user))
                .collect()
        })
    }

    fn set_password(&self, user_id: i64, password_hash: &str, must_change: bool) -> Result<bool> {
        let mut conn = self.writer.lock().expect("writer");
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        let changed = tx
            .execute(
                "UPDATE users SET password_hash = ?1, must_change_password = ?2 WHERE id = ?3",
                params![password_hash, must_change, user_id],
            )
            .map_err(|e| self.err(e))?;
        tx.execute("DELETE FROM sessions WHERE user_id = ?1", [user_id])
            .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(changed > 0)
    }

    fn set_role(&self, user_id: i64, grant: Grant) -> Result<bool> {
        let conn = self.writer.lock().expect("writer");
        let exists: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1)",
                [user_id],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        if !exists {
            return Ok(false);
        }
        conn.execute(
            "INSERT INTO user_roles (user_id, workspace_id, role) VALUES (?1, ?2, ?3)
             ON CONFLICT (user_id, workspace_id) DO UPDATE SET role = excluded.role",
            params![user_id, grant.workspace_id, grant.role.as_str()],
        )
        .map_err(|e| self.err(e))?;
        Ok(true)
    }

    fn start_session(
        &self,
        id_hash: &str,
        user_id: i64,
        csrf: &str,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        let now = micros(OffsetDateTime::now_utc());
        let conn = self.writer.lock().expect("writer");
        // Expired sessions are swept as new ones start, so the table stays small.
        conn.execute("DELETE FROM sessions WHERE expires_at <= ?1", [now])
            .map_err(|e| self.err(e))?;
        conn.execute(
            "INSERT INTO sessions (id_hash, user_id, csrf, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id_hash, user_id, csrf, now, micros(expires_at)],
        )
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn session(&self, id_hash: &str, now: OffsetDateTime) -> Result<Option<Session>> {
        self.read(|conn| {
            let found = conn
                .query_row(
                    "SELECT user_id, csrf, expires_at FROM sessions
                     WHERE id_hash = ?1 AND expires_at > ?2",
                    params![id_hash, micros(now)],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get(2)?)),
                )
                .optional()?;
            let Some((user_id, csrf, expires_at)) = found else {
                return Ok(None);
            };
            Ok(
                user_where(conn, "id = ?1", &user_id)?.map(|(user, _)| Session {
                    user,
                    csrf,
                    expires_at: from_micros(expires_at),
                }),
            )
        })
    }

    fn end_session(&self, id_hash: &str) -> Result<bool> {
        let conn = self.writer.lock().expect("writer");
        let ended = conn
            .execute("DELETE FROM sessions WHERE id_hash = ?1", [id_hash])
            .map_err(|e| self.err(e))?;
        Ok(ended > 0)
    }

    fn add_token(&self, token_hash: &str, name: &str, grant: Grant) -> Result<ApiToken> {
        let now = micros(OffsetDateTime::now_utc());
        let conn = self.writer.lock().expect("writer");
        conn.execute(
            "INSERT INTO api_tokens (token_hash, name, workspace_id, role, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                token_hash,
                name,
                grant.workspace_id,
                grant.role.as_str(),
                now
            ],
        )
        .map_err(|e| self.err(e))?;
        Ok(ApiToken {
            id: conn.last_insert_rowid(),
            name: name.to_string(),
            grant,
            created_at: from_micros(now),
            revoked_at: None,
        })
    }

    fn token(&self, token_hash: &str) -> Result<Option<ApiToken>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = ?1 AND revoked_at IS NULL"
        );
        self.read(|conn| conn.query_row(&sql, [token_hash], token_row).optional())
    }

    fn tokens(&self) -> Result<Vec<ApiToken>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY id");
        self.read(|conn| conn.prepare(&sql)?.query_map([], token_row)?.collect())
    }

    fn revoke_token(&self, id: i64, at: OffsetDateTime) -> Result<bool> {
        let conn = self.writer.lock().expect("writer");
        let revoked = conn
            .execute(
                "UPDATE api_tokens SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
                params![micros(at), id],
            )
            .map_err(|e| self.err(e))?;
        Ok(revoked > 0)
    }

    fn record_audit(&self, entry: &AuditEntry) -> Result<()> {
        let detail = serde_json::to_string(&entry.detail)
            .map_err(|e| StoreError::Other(format!("audit detail: {e}")))?;
        let conn = self.writer.lock().expect("writer");
        conn.execute(
            "INSERT INTO audit_log (at, workspace_id, actor, action, subject, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                micros(entry.at),
                entry.workspace_id,
                entry.actor,
                entry.action,
                entry.subject,
                detail
            ],
        )
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn audit_log(
        &self,
        workspace_id: Option<i64>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT id, at, workspace_id, actor, action, subject, detail FROM audit_log
                 WHERE (?1 IS NULL OR workspace_id IN (?1, 0)) AND (?2 IS NULL OR id < ?2)
                 ORDER BY id DESC LIMIT ?3",
            )?
            .query_map(params![workspace_id, before, limit as i64], audit_row)?
            .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::sqlite::SqliteStore;

    crate::account_store_conformance_tests!(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("needle.db")).unwrap();
        (Box::new(store), dir)
    });
}
