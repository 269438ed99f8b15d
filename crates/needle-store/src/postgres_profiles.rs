//! [`ProfileStore`] for the PostgreSQL store: the same behaviour as the SQLite one
//! (`sqlite_profiles.rs`), proven by the same conformance suite.
//!
//! Batches go in as arrays, one statement per table, so a batch of thousands of sightings
//! costs a handful of round trips. A batch first locks its workspace's generation row (and
//! the resolution cursor's, when it moves it, always in that order: cursor, then
//! generation), so two writers with the same stale graph cannot both pass the check.

use ::postgres::Row;

use crate::Result;
use crate::postgres::{Failure, PostgresStore, limit};
use crate::profiles::{
    ActivityRow, AuditRow, ERASED_TEXT, EventMark, IdentityRow, LinkRow, ProfileBatch,
    ProfileSnapshot, ProfileStore, SegmentRow, SuggestionRow, TimelineCursor, TimelineEntry,
    TimelineRow, TraitRow, moved, redact_doc, stale,
};

const INSERT_IDENTITIES: &str = "
    INSERT INTO profile_identities (workspace_id, id, kind, value, first_seen, erased)
    SELECT $1::int8, * FROM unnest($2::int8[], $3::text[], $4::text[], $5::int8[], $6::int8[])
    ON CONFLICT DO NOTHING";
const INSERT_LINKS: &str = "
    INSERT INTO profile_links (workspace_id, id, a, b, kind, source, confidence, created_at, removed_at)
    SELECT $1::int8, * FROM unnest($2::int8[], $3::int8[], $4::int8[], $5::text[], $6::text[],
        $7::float8[], $8::int8[], $9::int8[])
    ON CONFLICT DO NOTHING";
const REMOVE_LINKS: &str = "
    UPDATE profile_links l SET removed_at = r.at
    FROM unnest($2::int8[], $3::int8[]) AS r(id, at)
    WHERE l.workspace_id = $1 AND l.id = r.id AND l.removed_at IS NULL";
const INSERT_AUDIT: &str = "
    INSERT INTO profile_audit (workspace_id, at, actor, action, a, b, link_id, reason)
    SELECT $1::int8, at, actor, action, a, b, link_id, reason
    FROM unnest($2::int8[], $3::text[], $4::text[], $5::int8[], $6::int8[], $7::int8[], $8::text[])
        WITH ORDINALITY AS x(at, actor, action, a, b, link_id, reason, ord)
    ORDER BY ord";
const UPSERT_SUGGESTIONS: &str = "
    INSERT INTO profile_suggestions (workspace_id, id, a, b, score, evidence, status, created_at,
        decided_by, decided_at)
    SELECT $1::int8, * FROM unnest($2::int8[], $3::int8[], $4::int8[], $5::float8[], $6::text[],
        $7::text[], $8::int8[], $9::text[], $10::int8[])
    ON CONFLICT (workspace_id, id) DO UPDATE SET score = excluded.score,
        evidence = excluded.evidence, status = excluded.status,
        decided_by = excluded.decided_by, decided_at = excluded.decided_at";
const UPSERT_TRAITS: &str = "
    INSERT INTO profile_traits (workspace_id, identity_id, name, source, value, trusted, at)
    SELECT $1::int8, * FROM unnest($2::int8[], $3::text[], $4::text[], $5::text[], $6::int8[],
        $7::int8[])
    ON CONFLICT (workspace_id, identity_id, name, source) DO UPDATE SET
        value = excluded.value, trusted = excluded.trusted, at = excluded.at";
const UPSERT_ACTIVITY: &str = "
    INSERT INTO profile_activity (workspace_id, identity_id, data)
    SELECT $1::int8, * FROM unnest($2::int8[], $3::text[])
    ON CONFLICT (workspace_id, identity_id) DO UPDATE SET data = excluded.data";
const INSERT_SIGHTINGS: &str = "
    INSERT INTO profile_sightings (message_seq, workspace_id, identity_id, at)
    SELECT s, $1::int8, i, t FROM unnest($2::int8[], $3::int8[], $4::int8[]) AS x(s, i, t)
    ON CONFLICT DO NOTHING";
const INSERT_EVENTS: &str = "
    INSERT INTO profile_events (workspace_id, identity_id, kind, event_id, at, data)
    SELECT $1::int8, * FROM unnest($2::int8[], $3::text[], $4::text[], $5::int8[], $6::text[])
    ON CONFLICT DO NOTHING";
const UPSERT_SEGMENTS: &str = "
    INSERT INTO profile_segments (workspace_id, key, definition, updated_at)
    SELECT $1::int8, * FROM unnest($2::text[], $3::text[], $4::int8[])
    ON CONFLICT (workspace_id, key) DO UPDATE SET definition = excluded.definition,
        updated_at = excluded.updated_at";
const DELETE_SEGMENTS: &str =
    "DELETE FROM profile_segments WHERE workspace_id = $1 AND key = ANY($2::text[])";

const ENSURE_GENERATION: &str = "INSERT INTO profile_generations (workspace_id, generation)
    VALUES ($1, 0) ON CONFLICT DO NOTHING";
const LOCK_GENERATION: &str =
    "SELECT generation FROM profile_generations WHERE workspace_id = $1 FOR UPDATE";
const SET_GENERATION: &str =
    "UPDATE profile_generations SET generation = $2 WHERE workspace_id = $1";
const GENERATION: &str = "SELECT coalesce((SELECT generation FROM profile_generations
    WHERE workspace_id = $1), 0::int8)";
const LOCK_RESOLVED: &str = "SELECT resolved_seq FROM profile_resolution WHERE id = 1 FOR UPDATE";
const SET_RESOLVED: &str = "UPDATE profile_resolution SET resolved_seq = $1 WHERE id = 1";
const RESOLVED: &str = "SELECT resolved_seq FROM profile_resolution WHERE id = 1";
const TAKE_LEASE: &str = "UPDATE profile_resolution SET lease_owner = $1, lease_until = $3
    WHERE id = 1 AND (lease_owner IS NULL OR lease_owner = $1 OR lease_until < $2)";

const LOAD_IDENTITIES: &str = "SELECT id, kind, value, first_seen, erased FROM profile_identities
    WHERE workspace_id = $1 ORDER BY id";
const LOAD_LINKS: &str = "SELECT id, a, b, kind, source, confidence, created_at, removed_at
    FROM profile_links WHERE workspace_id = $1 ORDER BY id";
const LOAD_SUGGESTIONS: &str = "SELECT id, a, b, score, evidence, status, created_at, decided_by,
    decided_at FROM profile_suggestions WHERE workspace_id = $1 ORDER BY id";
const LOAD_TRAITS: &str = "SELECT identity_id, name, source, value, trusted, at FROM profile_traits
    WHERE workspace_id = $1 ORDER BY identity_id, name COLLATE \"C\", source COLLATE \"C\"";
const LOAD_ACTIVITY: &str = "SELECT identity_id, data FROM profile_activity WHERE workspace_id = $1
    ORDER BY identity_id";
const LOAD_EVENTS: &str = "SELECT identity_id, kind, event_id, at FROM profile_events
    WHERE workspace_id = $1 ORDER BY id";
const LOAD_SEGMENTS: &str = "SELECT key, definition, updated_at FROM profile_segments
    WHERE workspace_id = $1 ORDER BY key COLLATE \"C\"";

const TIMELINE_MESSAGES: &str = "
    SELECT s.at, s.identity_id, s.message_seq, m.channel, m.source_id
    FROM profile_sightings s JOIN messages m ON m.seq = s.message_seq
    WHERE s.workspace_id = $1 AND s.identity_id = ANY($6::int8[])
      AND (s.at < $2 OR (s.at = $2 AND ($3::int8 > 1 OR ($3::int8 = 1 AND s.message_seq < $4))))
    ORDER BY s.at DESC, s.message_seq DESC LIMIT $5";
const TIMELINE_EVENTS: &str = "
    SELECT at, identity_id, id, kind, event_id, data FROM profile_events
    WHERE workspace_id = $1 AND identity_id = ANY($6::int8[])
      AND (at < $2 OR (at = $2 AND ($3::int8 > 0 OR id < $4)))
    ORDER BY at DESC, id DESC LIMIT $5";
const AUDIT: &str = "
    SELECT id, at, actor, action, a, b, link_id, reason FROM profile_audit
    WHERE workspace_id = $1 AND id < $2
      AND ($4::int8[] IS NULL OR a = ANY($4) OR b = ANY($4))
    ORDER BY id DESC LIMIT $3";

const ERASE_IDENTITIES: &str = "
    UPDATE profile_identities SET value = 'erased:' || id, erased = 1
    WHERE workspace_id = $1 AND id = ANY($2::int8[])";
const ERASE_TRAITS: &str =
    "DELETE FROM profile_traits WHERE workspace_id = $1 AND identity_id = ANY($2::int8[])";
const ERASE_EVENTS: &str =
    "DELETE FROM profile_events WHERE workspace_id = $1 AND identity_id = ANY($2::int8[])";
const MESSAGES_OF: &str = "
    SELECT m.seq, m.doc, m.author_id FROM profile_sightings s JOIN messages m ON m.seq = s.message_seq
    WHERE s.workspace_id = $1 AND s.identity_id = ANY($2::int8[]) ORDER BY m.seq FOR UPDATE OF m";
const REDACT_MESSAGE: &str = "UPDATE messages SET text = $2, doc = $3 WHERE seq = $1";
const REDACT_AUTHOR: &str = "UPDATE authors SET key = 'erased:' || id, handle = NULL, name = NULL,
    email = NULL, phone = NULL WHERE id = $1";

fn flag(b: bool) -> i64 {
    i64::from(b)
}

fn audit_row(r: &Row) -> Result<AuditRow, Failure> {
    Ok(AuditRow {
        id: r.try_get(0)?,
        at: r.try_get(1)?,
        actor: r.try_get(2)?,
        action: r.try_get(3)?,
        a: r.try_get(4)?,
        b: r.try_get(5)?,
        link_id: r.try_get(6)?,
        reason: r.try_get(7)?,
    })
}

impl ProfileStore for PostgresStore {
    fn apply_profile_batch(&self, ws: i64, generation: i64, b: &ProfileBatch) -> Result<i64> {
        if b.is_empty() {
            return Ok(generation);
        }
        self.with_conn(|conn| {
            let [ensure, lock, set, lock_resolved, set_resolved] = [
                ENSURE_GENERATION,
                LOCK_GENERATION,
                SET_GENERATION,
                LOCK_RESOLVED,
                SET_RESOLVED,
            ]
            .map(|sql| conn.prepare(sql));
            let (ensure, lock, set, lock_resolved, set_resolved) =
                (ensure?, lock?, set?, lock_resolved?, set_resolved?);
            let statements = [
                INSERT_IDENTITIES,
                INSERT_LINKS,
                REMOVE_LINKS,
                INSERT_AUDIT,
                UPSERT_SUGGESTIONS,
                UPSERT_TRAITS,
                UPSERT_ACTIVITY,
                INSERT_SIGHTINGS,
                INSERT_EVENTS,
                UPSERT_SEGMENTS,
                DELETE_SEGMENTS,
            ]
            .map(|sql| conn.prepare(sql));
            let [
                ids,
                links,
                removed,
                audit,
                suggestions,
                traits,
                activity,
                sightings,
                events,
                segments,
                segments_removed,
            ] = statements;
            let (ids, links, removed, audit, suggestions, traits, activity, sightings, events) = (
                ids?,
                links?,
                removed?,
                audit?,
                suggestions?,
                traits?,
                activity?,
                sightings?,
                events?,
            );
            let (segments, segments_removed) = (segments?, segments_removed?);
            let mut tx = conn.client.transaction()?;
            if let Some((from, to)) = b.resolved {
                let at: i64 = tx.query_one(&lock_resolved, &[])?.try_get(0)?;
                if at != from {
                    return Err(Failure::Store(moved(from, at)));
                }
                tx.execute(&set_resolved, &[&to])?;
            }
            tx.execute(&ensure, &[&ws])?;
            let found: i64 = tx.query_one(&lock, &[&ws])?.try_get(0)?;
            if found != generation {
                return Err(Failure::Store(stale(ws, generation, found)));
            }
            if b.changes_nothing() {
                tx.commit()?;
                return Ok(generation);
            }
            tx.execute(&set, &[&ws, &(generation + 1)])?;
            if !b.identities.is_empty() {
                let i = &b.identities;
                tx.execute(
                    &ids,
                    &[
                        &ws,
                        &i.iter().map(|x| x.id).collect::<Vec<_>>(),
                        &i.iter().map(|x| x.kind.as_str()).collect::<Vec<_>>(),
                        &i.iter().map(|x| x.value.as_str()).collect::<Vec<_>>(),
                        &i.iter().map(|x| x.first_seen).collect::<Vec<_>>(),
                        &i.iter().map(|x| flag(x.erased)).collect::<Vec<_>>(),
                    ],
                )?;
            }
            if !b.links.is_empty() {
                let l = &b.links;
                tx.execute(
                    &links,
                    &[
                        &ws,
                        &l.iter().map(|x| x.id).collect::<Vec<_>>(),
                        &l.iter().map(|x| x.a).collect::<Vec<_>>(),
                        &l.iter().map(|x| x.b).collect::<Vec<_>>(),
                        &l.iter().map(|x| x.kind.as_str()).collect::<Vec<_>>(),
                        &l.iter().map(|x| x.source.as_str()).collect::<Vec<_>>(),
                        &l.iter().map(|x| x.confidence).collect::<Vec<_>>(),
                        &l.iter().map(|x| x.created_at).collect::<Vec<_>>(),
                        &l.iter().map(|x| x.removed_at).collect::<Vec<_>>(),
                    ],
                )?;
            }
            if !b.removed.is_empty() {
                tx.execute(
                    &removed,
                    &[
                        &ws,
                        &b.removed.iter().map(|x| x.0).collect::<Vec<_>>(),
                        &b.removed.iter().map(|x| x.1).collect::<Vec<_>>(),
                    ],
                )?;
            }
            if !b.audit.is_empty() {
                let a = &b.audit;
                tx.execute(
                    &audit,
                    &[
                        &ws,
                        &a.iter().map(|x| x.at).collect::<Vec<_>>(),
                        &a.iter().map(|x| x.actor.as_str()).collect::<Vec<_>>(),
                        &a.iter().map(|x| x.action.as_str()).collect::<Vec<_>>(),
                        &a.iter().map(|x| x.a).collect::<Vec<_>>(),
                        &a.iter().map(|x| x.b).collect::<Vec<_>>(),
                        &a.iter().map(|x| x.link_id).collect::<Vec<_>>(),
                        &a.iter().map(|x| x.reason.as_str()).collect::<Vec<_>>(),
                    ],
                )?;
            }
            if !b.suggestions.is_empty() {
                // One row per id: the last version given wins, as it would row by row.
                let mut s: Vec<&SuggestionRow> = Vec::new();
                for row in b.suggestions.iter().rev() {
                    if !s.iter().any(|x| x.id == row.id) {
                        s.push(row);
                    }
                }
                tx.execute(
                    &suggestions,
                    &[
                        &ws,
                        &s.iter().map(|x| x.id).collect::<Vec<_>>(),
                        &s.iter().map(|x| x.a).collect::<Vec<_>>(),
                        &s.iter().map(|x| x.b).collect::<Vec<_>>(),
                        &s.iter().map(|x| x.score).collect::<Vec<_>>(),
                        &s.iter().map(|x| x.evidence.as_str()).collect::<Vec<_>>(),
                        &s.iter().map(|x| x.status.as_str()).collect::<Vec<_>>(),
                        &s.iter().map(|x| x.created_at).collect::<Vec<_>>(),
                        &s.iter()
                            .map(|x| x.decided_by.as_deref())
                            .collect::<Vec<_>>(),
                        &s.iter().map(|x| x.decided_at).collect::<Vec<_>>(),
                    ],
                )?;
            }
            if !b.traits.is_empty() {
                let mut t: Vec<&TraitRow> = Vec::new();
                for row in b.traits.iter().rev() {
                    if !t.iter().any(|x| {
                        x.identity_id == row.identity_id
                            && x.name == row.name
                            && x.source == row.source
                    }) {
                        t.push(row);
                    }
                }
                tx.execute(
                    &traits,
                    &[
                        &ws,
                        &t.iter().map(|x| x.identity_id).collect::<Vec<_>>(),
                        &t.iter().map(|x| x.name.as_str()).collect::<Vec<_>>(),
                        &t.iter().map(|x| x.source.as_str()).collect::<Vec<_>>(),
                        &t.iter().map(|x| x.value.as_str()).collect::<Vec<_>>(),
                        &t.iter().map(|x| flag(x.trusted)).collect::<Vec<_>>(),
                        &t.iter().map(|x| x.at).collect::<Vec<_>>(),
                    ],
                )?;
            }
            if !b.activity.is_empty() {
                let mut a: Vec<&ActivityRow> = Vec::new();
                for row in b.activity.iter().rev() {
                    if !a.iter().any(|x| x.identity_id == row.identity_id) {
                        a.push(row);
                    }
                }
                tx.execute(
                    &activity,
                    &[
                        &ws,
                        &a.iter().map(|x| x.identity_id).collect::<Vec<_>>(),
                        &a.iter().map(|x| x.data.as_str()).collect::<Vec<_>>(),
                    ],
                )?;
            }
            if !b.sightings.is_empty() {
                let s = &b.sightings;
                tx.execute(
                    &sightings,
                    &[
                        &ws,
                        &s.iter().map(|x| x.message_seq).collect::<Vec<_>>(),
                        &s.iter().map(|x| x.identity_id).collect::<Vec<_>>(),
                        &s.iter().map(|x| x.at).collect::<Vec<_>>(),
                    ],
                )?;
            }
            if !b.events.is_empty() {
                let e = &b.events;
                tx.execute(
                    &events,
                    &[
                        &ws,
                        &e.iter().map(|x| x.identity_id).collect::<Vec<_>>(),
                        &e.iter().map(|x| x.kind.as_str()).collect::<Vec<_>>(),
                        &e.iter().map(|x| x.event_id.as_str()).collect::<Vec<_>>(),
                        &e.iter().map(|x| x.at).collect::<Vec<_>>(),
                        &e.iter().map(|x| x.data.as_str()).collect::<Vec<_>>(),
                    ],
                )?;
            }
            if !b.segments.is_empty() {
                // One row per key: the last definition given wins, as it would row by row.
                let mut g: Vec<&SegmentRow> = Vec::new();
                for row in b.segments.iter().rev() {
                    if !g.iter().any(|x| x.key == row.key) {
                        g.push(row);
                    }
                }
                tx.execute(
                    &segments,
                    &[
                        &ws,
                        &g.iter().map(|x| x.key.as_str()).collect::<Vec<_>>(),
                        &g.iter().map(|x| x.definition.as_str()).collect::<Vec<_>>(),
                        &g.iter().map(|x| x.updated_at).collect::<Vec<_>>(),
                    ],
                )?;
            }
            if !b.segments_removed.is_empty() {
                tx.execute(&segments_removed, &[&ws, &b.segments_removed])?;
            }
            tx.commit()?;
            Ok(generation + 1)
        })
    }

    fn profile_generation(&self, ws: i64) -> Result<i64> {
        self.with_conn(|conn| {
            let st = conn.prepare(GENERATION)?;
            Ok(conn.client.query_one(&st, &[&ws])?.try_get(0)?)
        })
    }

    fn profiles_resolved_seq(&self) -> Result<i64> {
        self.with_conn(|conn| {
            let st = conn.prepare(RESOLVED)?;
            Ok(conn.client.query_one(&st, &[])?.try_get(0)?)
        })
    }

    fn take_resolution_lease(&self, owner: &str, now: i64, until: i64) -> Result<bool> {
        self.with_conn(|conn| {
            let st = conn.prepare(TAKE_LEASE)?;
            Ok(conn.client.execute(&st, &[&owner, &now, &until])? == 1)
        })
    }

    fn load_profiles(&self, ws: i64) -> Result<ProfileSnapshot> {
        self.with_conn(|conn| {
            let mut snapshot = ProfileSnapshot::default();
            let statements = [
                GENERATION,
                LOAD_IDENTITIES,
                LOAD_LINKS,
                LOAD_SUGGESTIONS,
                LOAD_TRAITS,
                LOAD_ACTIVITY,
                LOAD_EVENTS,
                LOAD_SEGMENTS,
            ]
            .map(|sql| conn.prepare(sql));
            let [
                generation,
                identities,
                links,
                suggestions,
                traits,
                activity,
                events,
                segments,
            ] = statements;
            let (events, segments) = (events?, segments?);
            let (generation, identities, links, suggestions, traits, activity) = (
                generation?,
                identities?,
                links?,
                suggestions?,
                traits?,
                activity?,
            );
            // One snapshot for every table, so rows and generation agree.
            let mut tx = conn
                .client
                .build_transaction()
                .isolation_level(::postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()?;
            snapshot.generation = tx.query_one(&generation, &[&ws])?.try_get(0)?;
            for r in tx.query(&identities, &[&ws])? {
                snapshot.identities.push(IdentityRow {
                    id: r.try_get(0)?,
                    kind: r.try_get(1)?,
                    value: r.try_get(2)?,
                    first_seen: r.try_get(3)?,
                    erased: r.try_get::<_, i64>(4)? != 0,
                });
            }
            for r in tx.query(&links, &[&ws])? {
                snapshot.links.push(LinkRow {
                    id: r.try_get(0)?,
                    a: r.try_get(1)?,
                    b: r.try_get(2)?,
                    kind: r.try_get(3)?,
                    source: r.try_get(4)?,
                    confidence: r.try_get(5)?,
                    created_at: r.try_get(6)?,
                    removed_at: r.try_get(7)?,
                });
            }
            for r in tx.query(&suggestions, &[&ws])? {
                snapshot.suggestions.push(SuggestionRow {
                    id: r.try_get(0)?,
                    a: r.try_get(1)?,
                    b: r.try_get(2)?,
                    score: r.try_get(3)?,
                    evidence: r.try_get(4)?,
                    status: r.try_get(5)?,
                    created_at: r.try_get(6)?,
                    decided_by: r.try_get(7)?,
                    decided_at: r.try_get(8)?,
                });
            }
            for r in tx.query(&traits, &[&ws])? {
                snapshot.traits.push(TraitRow {
                    identity_id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    source: r.try_get(2)?,
                    value: r.try_get(3)?,
                    trusted: r.try_get::<_, i64>(4)? != 0,
                    at: r.try_get(5)?,
                });
            }
            for r in tx.query(&activity, &[&ws])? {
                snapshot.activity.push(ActivityRow {
                    identity_id: r.try_get(0)?,
                    data: r.try_get(1)?,
                });
            }
            for r in tx.query(&events, &[&ws])? {
                snapshot.events.push(EventMark {
                    identity_id: r.try_get(0)?,
                    kind: r.try_get(1)?,
                    event_id: r.try_get(2)?,
                    at: r.try_get(3)?,
                });
            }
            for r in tx.query(&segments, &[&ws])? {
                snapshot.segments.push(SegmentRow {
                    key: r.try_get(0)?,
                    definition: r.try_get(1)?,
                    updated_at: r.try_get(2)?,
                });
            }
            tx.commit()?;
            Ok(snapshot)
        })
    }

    fn profile_timeline(
        &self,
        ws: i64,
        ids: &[i64],
        cursor: Option<TimelineCursor>,
        n: usize,
    ) -> Result<Vec<TimelineRow>> {
        if ids.is_empty() || n == 0 {
            return Ok(Vec::new());
        }
        let c = cursor.unwrap_or_else(TimelineCursor::start);
        let ids = ids.to_vec();
        self.with_conn(|conn| {
            let messages = conn.prepare(TIMELINE_MESSAGES)?;
            let events = conn.prepare(TIMELINE_EVENTS)?;
            let params: [&(dyn ::postgres::types::ToSql + Sync); 6] =
                [&ws, &c.at, &c.rank, &c.id, &limit(n), &ids];
            let mut out = Vec::new();
            for r in conn.client.query(&messages, &params)? {
                out.push(TimelineRow {
                    at: r.try_get(0)?,
                    identity_id: r.try_get(1)?,
                    entry: TimelineEntry::Message {
                        seq: r.try_get(2)?,
                        channel: r.try_get(3)?,
                        source_id: r.try_get(4)?,
                    },
                });
            }
            for r in conn.client.query(&events, &params)? {
                out.push(TimelineRow {
                    at: r.try_get(0)?,
                    identity_id: r.try_get(1)?,
                    entry: TimelineEntry::Event {
                        id: r.try_get(2)?,
                        kind: r.try_get(3)?,
                        event_id: r.try_get(4)?,
                        data: r.try_get(5)?,
                    },
                });
            }
            out.sort_by(|x, y| {
                let (a, b) = (TimelineCursor::after(x), TimelineCursor::after(y));
                (b.at, b.rank, b.id).cmp(&(a.at, a.rank, a.id))
            });
            out.truncate(n);
            Ok(out)
        })
    }

    fn profile_audit(
        &self,
        ws: i64,
        ids: Option<&[i64]>,
        before: Option<i64>,
        n: usize,
    ) -> Result<Vec<AuditRow>> {
        let ids: Option<Vec<i64>> = ids.map(<[i64]>::to_vec);
        let before = before.unwrap_or(i64::MAX);
        self.with_conn(|conn| {
            let st = conn.prepare(AUDIT)?;
            conn.client
                .query(&st, &[&ws, &before, &limit(n), &ids])?
                .iter()
                .map(audit_row)
                .collect()
        })
    }

    fn erase_identities(&self, ws: i64, ids: &[i64]) -> Result<Vec<i64>> {
        let ids = ids.to_vec();
        self.with_conn(|conn| {
            let mut tx = conn.client.transaction()?;
            tx.execute(ERASE_IDENTITIES, &[&ws, &ids])?;
            tx.execute(ERASE_TRAITS, &[&ws, &ids])?;
            tx.execute(ERASE_EVENTS, &[&ws, &ids])?;
            let rows = tx.query(MESSAGES_OF, &[&ws, &ids])?;
            let mut seqs = Vec::with_capacity(rows.len());
            for r in rows {
                let (seq, doc, author): (i64, String, i64) =
                    (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
                tx.execute(REDACT_MESSAGE, &[&seq, &ERASED_TEXT, &redact_doc(&doc)])?;
                tx.execute(REDACT_AUTHOR, &[&author])?;
                seqs.push(seq);
            }
            tx.commit()?;
            seqs.dedup();
            Ok(seqs)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::postgres::PostgresStore;
    use crate::testing::TestPostgres;

    // As in `postgres.rs`: skipped when no PostgreSQL is installed, an empty database each.
    crate::profile_store_conformance_tests!({
        let Some(pg) = TestPostgres::shared() else {
            return;
        };
        move || {
            let url = pg.fresh_database();
            (Box::new(PostgresStore::connect(&url).unwrap()), ())
        }
    });
}
