//! [`ProfileStore`] for the embedded SQLite store.

use rusqlite::{Connection, TransactionBehavior, params, params_from_iter};

use crate::Result;
use crate::profiles::{
    ActivityRow, AuditRow, ERASED_TEXT, EventMark, IdentityRow, LinkRow, ProfileBatch,
    ProfileSnapshot, ProfileStore, SegmentRow, SuggestionRow, TimelineCursor, TimelineEntry,
    TimelineRow, TraitRow, moved, redact_doc, stale,
};
use crate::sqlite::SqliteStore;

/// `?,?,?` for `n` parameters after the first `skip`.
fn placeholders(skip: usize, n: usize) -> String {
    (skip + 1..=skip + n)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn generation_of(conn: &Connection, ws: i64) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT coalesce((SELECT generation FROM profile_generations WHERE workspace_id = ?1), 0)",
        [ws],
        |r| r.get(0),
    )
}

fn resolved_seq(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT resolved_seq FROM profile_resolution WHERE id = 1",
        [],
        |r| r.get(0),
    )
}

fn write_batch(conn: &Connection, ws: i64, b: &ProfileBatch) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO profile_identities (workspace_id, id, kind, value, first_seen, erased)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
    )?;
    for i in &b.identities {
        stmt.execute(params![ws, i.id, i.kind, i.value, i.first_seen, i.erased])?;
    }
    let mut stmt = conn.prepare_cached(
        "INSERT INTO profile_links (workspace_id, id, a, b, kind, source, confidence, created_at, removed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING",
    )?;
    for l in &b.links {
        stmt.execute(params![
            ws,
            l.id,
            l.a,
            l.b,
            l.kind,
            l.source,
            l.confidence,
            l.created_at,
            l.removed_at
        ])?;
    }
    let mut stmt = conn.prepare_cached(
        "UPDATE profile_links SET removed_at = ?3 WHERE workspace_id = ?1 AND id = ?2 AND removed_at IS NULL",
    )?;
    for (id, at) in &b.removed {
        stmt.execute(params![ws, id, at])?;
    }
    let mut stmt = conn.prepare_cached(
        "INSERT INTO profile_audit (workspace_id, at, actor, action, a, b, link_id, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for a in &b.audit {
        stmt.execute(params![
            ws, a.at, a.actor, a.action, a.a, a.b, a.link_id, a.reason
        ])?;
    }
    let mut stmt = conn.prepare_cached(
        "INSERT INTO profile_suggestions (workspace_id, id, a, b, score, evidence, status, created_at, decided_by, decided_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (workspace_id, id) DO UPDATE SET score = excluded.score, evidence = excluded.evidence,
             status = excluded.status, decided_by = excluded.decided_by, decided_at = excluded.decided_at",
    )?;
    for s in &b.suggestions {
        stmt.execute(params![
            ws,
            s.id,
            s.a,
            s.b,
            s.score,
            s.evidence,
            s.status,
            s.created_at,
            s.decided_by,
            s.decided_at
        ])?;
    }
    let mut stmt = conn.prepare_cached(
        "INSERT INTO profile_traits (workspace_id, identity_id, name, source, value, trusted, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (workspace_id, identity_id, name, source) DO UPDATE SET
             value = excluded.value, trusted = excluded.trusted, at = excluded.at",
    )?;
    for t in &b.traits {
        stmt.execute(params![
            ws,
            t.identity_id,
            t.name,
            t.source,
            t.value,
            t.trusted,
            t.at
        ])?;
    }
    let mut stmt = conn.prepare_cached(
        "INSERT INTO profile_activity (workspace_id, identity_id, data) VALUES (?1, ?2, ?3)
         ON CONFLICT (workspace_id, identity_id) DO UPDATE SET data = excluded.data",
    )?;
    for a in &b.activity {
        stmt.execute(params![ws, a.identity_id, a.data])?;
    }
    let mut stmt = conn.prepare_cached(
        "INSERT INTO profile_sightings (message_seq, workspace_id, identity_id, at)
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
    )?;
    for s in &b.sightings {
        stmt.execute(params![s.message_seq, ws, s.identity_id, s.at])?;
    }
    let mut stmt = conn.prepare_cached(
        "INSERT INTO profile_events (workspace_id, identity_id, kind, event_id, at, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
    )?;
    for e in &b.events {
        stmt.execute(params![ws, e.identity_id, e.kind, e.event_id, e.at, e.data])?;
    }
    let mut stmt = conn.prepare_cached(
        "INSERT INTO profile_segments (workspace_id, key, definition, updated_at)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (workspace_id, key) DO UPDATE SET
             definition = excluded.definition, updated_at = excluded.updated_at",
    )?;
    for s in &b.segments {
        stmt.execute(params![ws, s.key, s.definition, s.updated_at])?;
    }
    let mut stmt =
        conn.prepare_cached("DELETE FROM profile_segments WHERE workspace_id = ?1 AND key = ?2")?;
    for key in &b.segments_removed {
        stmt.execute(params![ws, key])?;
    }
    Ok(())
}

fn audit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
        id: r.get(0)?,
        at: r.get(1)?,
        actor: r.get(2)?,
        action: r.get(3)?,
        a: r.get(4)?,
        b: r.get(5)?,
        link_id: r.get(6)?,
        reason: r.get(7)?,
    })
}

impl ProfileStore for SqliteStore {
    fn apply_profile_batch(
        &self,
        workspace_id: i64,
        generation: i64,
        batch: &ProfileBatch,
    ) -> Result<i64> {
        if batch.is_empty() {
            return Ok(generation);
        }
        let mut conn = self.writer.lock().expect("writer");
        // Immediate: another process (an import beside a server) cannot slip a write in
        // between the checks and the writes.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let found = generation_of(&tx, workspace_id).map_err(|e| self.err(e))?;
        if found != generation {
            return Err(stale(workspace_id, generation, found));
        }
        if let Some((from, to)) = batch.resolved {
            let at = resolved_seq(&tx).map_err(|e| self.err(e))?;
            if at != from {
                return Err(moved(from, at));
            }
            tx.execute(
                "UPDATE profile_resolution SET resolved_seq = ?1 WHERE id = 1",
                [to],
            )
            .map_err(|e| self.err(e))?;
        }
        let next = if batch.changes_nothing() {
            generation
        } else {
            write_batch(&tx, workspace_id, batch).map_err(|e| self.err(e))?;
            tx.execute(
                "INSERT INTO profile_generations (workspace_id, generation) VALUES (?1, ?2)
                 ON CONFLICT (workspace_id) DO UPDATE SET generation = excluded.generation",
                [workspace_id, generation + 1],
            )
            .map_err(|e| self.err(e))?;
            generation + 1
        };
        tx.commit().map_err(|e| self.err(e))?;
        Ok(next)
    }

    fn profile_generation(&self, workspace_id: i64) -> Result<i64> {
        self.read(|conn| generation_of(conn, workspace_id))
    }

    fn profiles_resolved_seq(&self) -> Result<i64> {
        self.read(resolved_seq)
    }

    fn take_resolution_lease(&self, owner: &str, now: i64, until: i64) -> Result<bool> {
        let conn = self.writer.lock().expect("writer");
        let taken = conn
            .execute(
                "UPDATE profile_resolution SET lease_owner = ?1, lease_until = ?3
                 WHERE id = 1 AND (lease_owner IS NULL OR lease_owner = ?1 OR lease_until < ?2)",
                params![owner, now, until],
            )
            .map_err(|e| self.err(e))?;
        Ok(taken == 1)
    }

    fn load_profiles(&self, ws: i64) -> Result<ProfileSnapshot> {
        self.read(|conn| {
            // One read transaction: every table as of the same moment (WAL snapshot).
            let conn = &conn.unchecked_transaction()?;
            let generation = generation_of(conn, ws)?;
            let identities = conn
                .prepare_cached("SELECT id, kind, value, first_seen, erased FROM profile_identities WHERE workspace_id = ?1 ORDER BY id")?
                .query_map([ws], |r| Ok(IdentityRow { id: r.get(0)?, kind: r.get(1)?, value: r.get(2)?, first_seen: r.get(3)?, erased: r.get(4)? }))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let links = conn
                .prepare_cached("SELECT id, a, b, kind, source, confidence, created_at, removed_at FROM profile_links WHERE workspace_id = ?1 ORDER BY id")?
                .query_map([ws], |r| {
                    Ok(LinkRow { id: r.get(0)?, a: r.get(1)?, b: r.get(2)?, kind: r.get(3)?, source: r.get(4)?, confidence: r.get(5)?, created_at: r.get(6)?, removed_at: r.get(7)? })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let suggestions = conn
                .prepare_cached("SELECT id, a, b, score, evidence, status, created_at, decided_by, decided_at FROM profile_suggestions WHERE workspace_id = ?1 ORDER BY id")?
                .query_map([ws], |r| {
                    Ok(SuggestionRow { id: r.get(0)?, a: r.get(1)?, b: r.get(2)?, score: r.get(3)?, evidence: r.get(4)?, status: r.get(5)?, created_at: r.get(6)?, decided_by: r.get(7)?, decided_at: r.get(8)? })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let traits = conn
                .prepare_cached("SELECT identity_id, name, source, value, trusted, at FROM profile_traits WHERE workspace_id = ?1 ORDER BY identity_id, name, source")?
                .query_map([ws], |r| Ok(TraitRow { identity_id: r.get(0)?, name: r.get(1)?, source: r.get(2)?, value: r.get(3)?, trusted: r.get(4)?, at: r.get(5)? }))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let activity = conn
                .prepare_cached("SELECT identity_id, data FROM profile_activity WHERE workspace_id = ?1 ORDER BY identity_id")?
                .query_map([ws], |r| Ok(ActivityRow { identity_id: r.get(0)?, data: r.get(1)? }))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let events = conn
                .prepare_cached("SELECT identity_id, kind, event_id, at FROM profile_events WHERE workspace_id = ?1 ORDER BY id")?
                .query_map([ws], |r| Ok(EventMark { identity_id: r.get(0)?, kind: r.get(1)?, event_id: r.get(2)?, at: r.get(3)? }))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let segments = conn
                .prepare_cached("SELECT key, definition, updated_at FROM profile_segments WHERE workspace_id = ?1 ORDER BY key")?
                .query_map([ws], |r| Ok(SegmentRow { key: r.get(0)?, definition: r.get(1)?, updated_at: r.get(2)? }))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(ProfileSnapshot { identities, links, suggestions, traits, activity, events, segments, generation })
        })
    }

    fn profile_timeline(
        &self,
        ws: i64,
        ids: &[i64],
        cursor: Option<TimelineCursor>,
        limit: usize,
    ) -> Result<Vec<TimelineRow>> {
        if ids.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let c = cursor.unwrap_or_else(TimelineCursor::start);
        let list = placeholders(5, ids.len());
        self.read(|conn| {
            let mut head: Vec<rusqlite::types::Value> = vec![ws.into(), c.at.into(), c.rank.into(), c.id.into(), (limit as i64).into()];
            head.extend(ids.iter().map(|&i| rusqlite::types::Value::from(i)));
            let mut out = conn
                .prepare(&format!(
                    "SELECT s.at, s.identity_id, s.message_seq, m.channel, m.source_id
                     FROM profile_sightings s JOIN messages m ON m.seq = s.message_seq
                     WHERE s.workspace_id = ?1 AND s.identity_id IN ({list})
                       AND (s.at < ?2 OR (s.at = ?2 AND (?3 > 1 OR (?3 = 1 AND s.message_seq < ?4))))
                     ORDER BY s.at DESC, s.message_seq DESC LIMIT ?5"
                ))?
                .query_map(params_from_iter(head.iter()), |r| {
                    Ok(TimelineRow { at: r.get(0)?, identity_id: r.get(1)?, entry: TimelineEntry::Message { seq: r.get(2)?, channel: r.get(3)?, source_id: r.get(4)? } })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let events = conn
                .prepare(&format!(
                    "SELECT at, identity_id, id, kind, event_id, data FROM profile_events
                     WHERE workspace_id = ?1 AND identity_id IN ({list})
                       AND (at < ?2 OR (at = ?2 AND (?3 > 0 OR id < ?4)))
                     ORDER BY at DESC, id DESC LIMIT ?5"
                ))?
                .query_map(params_from_iter(head.iter()), |r| {
                    Ok(TimelineRow { at: r.get(0)?, identity_id: r.get(1)?, entry: TimelineEntry::Event { id: r.get(2)?, kind: r.get(3)?, event_id: r.get(4)?, data: r.get(5)? } })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            out.extend(events);
            out.sort_by(|x, y| {
                let (a, b) = (TimelineCursor::after(x), TimelineCursor::after(y));
                (b.at, b.rank, b.id).cmp(&(a.at, a.rank, a.id))
            });
            out.truncate(limit);
            Ok(out)
        })
    }

    fn profile_audit(
        &self,
        ws: i64,
        ids: Option<&[i64]>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<AuditRow>> {
        let before = before.unwrap_or(i64::MAX);
        self.read(|conn| match ids {
            None => conn
                .prepare_cached(
                    "SELECT id, at, actor, action, a, b, link_id, reason FROM profile_audit
                     WHERE workspace_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
                )?
                .query_map(params![ws, before, limit as i64], audit_row)?
                .collect(),
            Some([]) => Ok(Vec::new()),
            Some(ids) => {
                let list = placeholders(3, ids.len());
                let mut values: Vec<rusqlite::types::Value> =
                    vec![ws.into(), before.into(), (limit as i64).into()];
                values.extend(ids.iter().map(|&i| rusqlite::types::Value::from(i)));
                conn.prepare(&format!(
                    "SELECT id, at, actor, action, a, b, link_id, reason FROM profile_audit
                     WHERE workspace_id = ?1 AND id < ?2 AND (a IN ({list}) OR b IN ({list}))
                     ORDER BY id DESC LIMIT ?3"
                ))?
                .query_map(params_from_iter(values.iter()), audit_row)?
                .collect()
            }
        })
    }

    fn erase_identities(&self, ws: i64, ids: &[i64]) -> Result<Vec<i64>> {
        let mut conn = self.writer.lock().expect("writer");
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        let run = || -> rusqlite::Result<Vec<i64>> {
            let mut seqs = Vec::new();
            for &id in ids {
                tx.execute(
                    "UPDATE profile_identities SET value = 'erased:' || id, erased = 1 WHERE workspace_id = ?1 AND id = ?2",
                    params![ws, id],
                )?;
                tx.execute(
                    "DELETE FROM profile_traits WHERE workspace_id = ?1 AND identity_id = ?2",
                    params![ws, id],
                )?;
                tx.execute(
                    "DELETE FROM profile_events WHERE workspace_id = ?1 AND identity_id = ?2",
                    params![ws, id],
                )?;
                let rows: Vec<(i64, String, i64)> = tx
                    .prepare_cached(
                        "SELECT m.seq, m.doc, m.author_id FROM profile_sightings s JOIN messages m ON m.seq = s.message_seq
                         WHERE s.workspace_id = ?1 AND s.identity_id = ?2 ORDER BY m.seq",
                    )?
                    .query_map(params![ws, id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                for (seq, doc, author) in rows {
                    tx.execute(
                        "UPDATE messages SET text = ?2, doc = ?3 WHERE seq = ?1",
                        params![seq, ERASED_TEXT, redact_doc(&doc)],
                    )?;
                    tx.execute(
                        "UPDATE authors SET key = 'erased:' || id, handle = NULL, name = NULL, email = NULL, phone = NULL WHERE id = ?1",
                        [author],
                    )?;
                    seqs.push(seq);
                }
            }
            seqs.sort_unstable();
            seqs.dedup();
            Ok(seqs)
        };
        let seqs = run().map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(seqs)
    }
}

#[cfg(test)]
mod tests {
    use crate::sqlite::SqliteStore;

    crate::profile_store_conformance_tests!(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("needle.db")).unwrap();
        (Box::new(store), dir)
    });
}
