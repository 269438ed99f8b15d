//! The profile service: one [`Profiles`] graph per workspace in memory, rebuilt from the
//! store on first use, and every change written back to the store in one batch per call.
//!
//! Resolution runs against memory (a message's author costs a few hash lookups), and the
//! store sees one transaction per run of messages: that is how it keeps up with ingest.
//!
//! Any number of processes may hold a workspace's graph (in a cluster, the web processes
//! answer the API and one pipeline worker resolves authors). Each write names the generation
//! its graph was loaded at; when another process wrote first, the store refuses it, the graph
//! is reloaded and the change made again on it. Readers check the generation before they
//! read. So memory never runs ahead of the store, and never decides on a stale graph.
//!
//! Message authors are resolved by following the store in seq order from the resolution
//! cursor ([`ProfileService::resolve_stored`]), which moves in the same transaction as the
//! profile changes: a crash between storing a message and resolving its author loses
//! nothing, and two resolvers never count a message twice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use needle_core::ErrorCode;
use needle_store::profiles::{
    ActivityRow, AuditRow, EventRow, IdentityRow, LinkRow, ProfileBatch, SegmentRow, SightingRow,
    SuggestionRow, TimelineCursor, TimelineEntry, TimelineRow, TraitRow,
};
use needle_store::{Backend, StoreError};
use serde_json::{Map, Value, json};

use crate::engine::{Changes, ProfileView, Profiles, Sighting};
use crate::graph::{Edge, EdgeKind, Evidence, NodeId};
use crate::identity::Identity;
use crate::segment::Segment;
use crate::stage::sighting_of;
use crate::suggest::{Suggestion, SuggestionStatus};
use crate::traits::{Activity, TraitValue};
use crate::{ProfileConfig, ProfileError};

/// Why a profile call failed: the request, or the store.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ServiceError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ServiceError::Profile(e) => e.code(),
            ServiceError::Store(e) => e.code(),
        }
    }
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// Store ids are graph nodes + 1 (ids start at 1).
pub fn store_id(node: NodeId) -> i64 {
    i64::from(node) + 1
}

pub fn node_of(id: i64) -> NodeId {
    NodeId::try_from(id - 1).unwrap_or(NodeId::MAX)
}

/// How often a change is tried again on a reloaded graph after another writer got first.
const ATTEMPTS: usize = 8;
/// Stored messages read per step of resolution.
const RESOLVE_CHUNK: usize = 1000;
/// A segment that time alone can change (`last_seen within 7d`) is evaluated in full again
/// when it is read this long after its last full evaluation (on read, not on the write path,
/// so resolution never waits for a full pass).
const TIMED_SEGMENT_AGE_US: i64 = 60_000_000;

/// Now, in microseconds since the epoch.
fn now_us() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000) as i64
}

/// A workspace's graph and the store generation it matches.
struct Graph {
    profiles: Profiles,
    generation: i64,
}

pub struct ProfileService {
    store: Arc<dyn Backend>,
    config: ProfileConfig,
    workspaces: Mutex<HashMap<i64, Arc<Mutex<Graph>>>>,
    /// One resolver at a time in this process (the pipeline stage and the follower).
    resolving: Mutex<()>,
}

impl ProfileService {
    pub fn new(store: Arc<dyn Backend>, config: ProfileConfig) -> Result<ProfileService> {
        // Fail on bad settings now, not on the first message.
        Profiles::new(config.clone())?;
        Ok(ProfileService {
            store,
            config,
            workspaces: Mutex::new(HashMap::new()),
            resolving: Mutex::new(()),
        })
    }

    pub fn store(&self) -> &Arc<dyn Backend> {
        &self.store
    }

    /// The workspace's graph, loaded from the store on first use.
    fn graph(&self, ws: i64) -> Result<Arc<Mutex<Graph>>> {
        if let Some(p) = self.workspaces.lock().expect("profile workspaces").get(&ws) {
            return Ok(p.clone());
        }
        let loaded = Arc::new(Mutex::new(self.load(ws)?));
        let mut map = self.workspaces.lock().expect("profile workspaces");
        Ok(map.entry(ws).or_insert(loaded).clone())
    }

    /// Drops a workspace's graph: the next use loads it from the store again.
    fn forget(&self, ws: i64) {
        self.workspaces
            .lock()
            .expect("profile workspaces")
            .remove(&ws);
    }

    fn load(&self, ws: i64) -> Result<Graph> {
        let snapshot = self.store.load_profiles(ws)?;
        let mut p = Profiles::new(self.config.clone())?;
        let corrupt = |what: String| ServiceError::Store(StoreError::Corrupt(what));
        for (i, row) in snapshot.identities.iter().enumerate() {
            if row.id != i as i64 + 1 {
                return Err(corrupt(format!(
                    "profile identities of workspace {ws} skip from {i} to {}",
                    row.id
                )));
            }
            let identity = if row.erased {
                Identity::new(crate::Kind::Raw("erased".into()), row.id.to_string())
            } else {
                Identity::from_parts(&row.kind, &row.value)
            };
            p.restore_identity(node_of(row.id), &identity, row.erased);
        }
        for (i, row) in snapshot.links.iter().enumerate() {
            let kind = EdgeKind::parse(&row.kind).ok_or_else(|| {
                corrupt(format!("profile link {} has kind {:?}", row.id, row.kind))
            })?;
            if row.id != i as i64 + 1 {
                return Err(corrupt(format!(
                    "profile links of workspace {ws} skip from {i} to {}",
                    row.id
                )));
            }
            p.restore_edge(&Edge {
                id: row.id as u64,
                a: node_of(row.a),
                b: node_of(row.b),
                evidence: Evidence {
                    kind,
                    source: row.source.clone(),
                    confidence: row.confidence as f32,
                    at: row.created_at,
                },
                active: row.removed_at.is_none(),
            });
        }
        for row in snapshot.traits {
            let value = serde_json::from_str(&row.value).map_err(|e| {
                corrupt(format!(
                    "trait {} of identity {}: {e}",
                    row.name, row.identity_id
                ))
            })?;
            p.restore_trait(
                node_of(row.identity_id),
                TraitValue {
                    name: row.name,
                    value,
                    source: row.source,
                    trusted: row.trusted,
                    at: row.at,
                },
            );
        }
        for row in snapshot.activity {
            let activity: Activity = serde_json::from_str(&row.data)
                .map_err(|e| corrupt(format!("activity of identity {}: {e}", row.identity_id)))?;
            p.restore_activity(node_of(row.identity_id), activity);
        }
        for row in snapshot.suggestions {
            let evidence: Vec<String> = serde_json::from_str(&row.evidence).unwrap_or_default();
            p.restore_suggestion(Suggestion {
                id: row.id as u64,
                a: node_of(row.a),
                b: node_of(row.b),
                score: row.score as f32,
                evidence,
                status: SuggestionStatus::parse(&row.status).unwrap_or(SuggestionStatus::Open),
                created_at: row.created_at,
                decided_by: row.decided_by,
                decided_at: row.decided_at,
            });
        }
        for row in snapshot.events {
            p.restore_event(node_of(row.identity_id), &row.kind, &row.event_id, row.at);
        }
        let mut segments = Vec::with_capacity(snapshot.segments.len());
        for row in snapshot.segments {
            let segment = Segment::parse(&row.definition).map_err(|errors| {
                corrupt(format!(
                    "segment {:?} of workspace {ws} no longer parses: {}",
                    row.key, errors[0].message
                ))
            })?;
            segments.push((row.key, segment));
        }
        p.restore_segments(segments, now_us());
        p.take_changes();
        Ok(Graph {
            profiles: p,
            generation: snapshot.generation,
        })
    }

    /// Runs `f` on a workspace's graph and writes what it changed, in one transaction. When
    /// another process changed the workspace's profiles first, `f` runs again on the graph
    /// reloaded from the store.
    pub fn with<T>(
        &self,
        ws: i64,
        f: impl FnMut(&mut Profiles) -> Result<T, ProfileError>,
    ) -> Result<T> {
        Ok(self.with_redacted(ws, f)?.0)
    }

    /// Erases a profile (see [`Profiles::erase`]) and everything the store holds about it.
    /// Returns the seqs of the messages whose texts were redacted: the caller removes them
    /// from the search index.
    pub fn erase(
        &self,
        ws: i64,
        profile: &str,
        actor: &str,
        reason: &str,
        at: i64,
    ) -> Result<Vec<i64>> {
        Ok(self
            .with_redacted(ws, |p| p.erase(profile, actor, reason, at))?
            .1)
    }

    fn with_redacted<T>(
        &self,
        ws: i64,
        mut f: impl FnMut(&mut Profiles) -> Result<T, ProfileError>,
    ) -> Result<(T, Vec<i64>)> {
        let mut attempt = 1;
        loop {
            match self.write(ws, None, &mut f) {
                Err(e) if is_conflict(&e) && attempt < ATTEMPTS => attempt += 1,
                done => return done,
            }
        }
    }

    /// One try: runs `f` on the graph, then writes what it changed (and moves the resolution
    /// cursor by `resolved`) if the graph is still current. On any failure the graph is
    /// dropped, so memory never runs ahead of the store.
    fn write<T>(
        &self,
        ws: i64,
        resolved: Option<(i64, i64)>,
        f: &mut impl FnMut(&mut Profiles) -> Result<T, ProfileError>,
    ) -> Result<(T, Vec<i64>)> {
        let graph = self.graph(ws)?;
        let mut g = graph.lock().expect("profile graph");
        let out = f(&mut g.profiles);
        let changes = g.profiles.take_changes();
        g.profiles.refresh_segments(&changes, now_us());
        let mut batch = to_batch(&g.profiles, &changes);
        batch.resolved = resolved;
        let erased: Vec<i64> = changes.erased.iter().map(|&n| store_id(n)).collect();
        let written = self
            .store
            .apply_profile_batch(ws, g.generation, &batch)
            .and_then(|generation| {
                g.generation = generation;
                if erased.is_empty() {
                    Ok(Vec::new())
                } else {
                    self.store.erase_identities(ws, &erased)
                }
            });
        match written {
            Ok(redacted) => Ok((out?, redacted)),
            Err(e) => {
                drop(g);
                self.forget(ws);
                Err(e.into())
            }
        }
    }

    /// Reads a workspace's graph without changing it, reloading it first when another
    /// process changed the workspace's profiles since it was loaded.
    pub fn read<T>(
        &self,
        ws: i64,
        f: impl FnOnce(&Profiles) -> Result<T, ProfileError>,
    ) -> Result<T> {
        let graph = self.graph(ws)?;
        let current = self.store.profile_generation(ws)?;
        let graph = if graph.lock().expect("profile graph").generation == current {
            graph
        } else {
            self.forget(ws);
            self.graph(ws)?
        };
        let g = graph.lock().expect("profile graph");
        Ok(f(&g.profiles)?)
    }

    /// Reads a workspace's segments, first evaluating in full those that time alone can
    /// change and that were last evaluated too long ago.
    pub fn read_segments<T>(
        &self,
        ws: i64,
        f: impl FnOnce(&Profiles) -> Result<T, ProfileError>,
    ) -> Result<T> {
        // The generation check of `read`, then the recheck under the graph's own lock.
        self.read(ws, |_| Ok(()))?;
        let graph = self.graph(ws)?;
        let mut g = graph.lock().expect("profile graph");
        g.profiles
            .recheck_timed_segments(now_us(), TIMED_SEGMENT_AGE_US);
        Ok(f(&g.profiles)?)
    }

    /// Resolves the authors of the stored messages the resolution cursor has not passed, in
    /// seq order, one transaction per run of messages of one workspace; returns how many
    /// messages it resolved. Another resolver (in another process) moving the cursor first
    /// is not an error: this one starts again from where that one got to.
    pub fn resolve_stored(&self) -> Result<usize> {
        let _one_at_a_time = self.resolving.lock().expect("profile resolver");
        let mut resolved = 0;
        let mut conflicts = 0;
        loop {
            let mut from = self.store.profiles_resolved_seq()?;
            let chunk = self.store.scan(from, RESOLVE_CHUNK)?;
            if chunk.is_empty() {
                return Ok(resolved);
            }
            let mut behind = false;
            for run in chunk.chunk_by(|a, b| a.workspace_id == b.workspace_id) {
                let to = run.last().map_or(from, |m| m.seq);
                let sightings: Vec<Sighting<'_>> = run
                    .iter()
                    .map(|m| {
                        let sentiment = m.classification.as_ref().map(|c| c.sentiment.score as f32);
                        sighting_of(&m.message, Some(m.seq), sentiment)
                    })
                    .collect();
                let observe = &mut |p: &mut Profiles| {
                    for s in &sightings {
                        p.observe(s);
                    }
                    Ok(())
                };
                match self.write(run[0].workspace_id, Some((from, to)), observe) {
                    Ok(_) => {
                        resolved += run.len();
                        conflicts = 0;
                        from = to;
                    }
                    Err(e) if is_conflict(&e) && conflicts < ATTEMPTS => {
                        // Losing to a resolver that moved the cursor is that resolver's
                        // progress, not this one failing: only conflicts with no progress
                        // anywhere count towards giving up.
                        if self.store.profiles_resolved_seq()? > from {
                            conflicts = 1;
                        } else {
                            conflicts += 1;
                        }
                        behind = true;
                        // Two resolvers that collided would collide again at once; a short
                        // wait of a random length lets one of them through.
                        let random = {
                            use std::hash::{BuildHasher, Hasher};
                            std::collections::hash_map::RandomState::new()
                                .build_hasher()
                                .finish()
                        };
                        let jitter = std::time::Duration::from_micros(random % 2000 + 200)
                            * conflicts as u32;
                        std::thread::sleep(jitter);
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
            if !behind && chunk.len() < RESOLVE_CHUNK {
                return Ok(resolved);
            }
        }
    }

    /// Reads `KIND:VALUE` with the workspace's normaliser.
    pub fn parse_identity(&self, written: &str) -> Result<Identity> {
        let p = Profiles::new(self.config.clone())?;
        p.normalizer()
            .parse(written)
            .map_err(|e| ProfileError::BadInput(e.to_string()).into())
    }

    /// The profile of an identity; unknown identities are an error.
    pub fn profile_of(&self, ws: i64, identity: &Identity) -> Result<ProfileView> {
        self.read(ws, |p| {
            p.profile_of(identity)
                .ok_or_else(|| ProfileError::UnknownIdentity(identity.to_string()))
        })
    }

    /// A profile's timeline: its identities' messages and CRM events, newest first.
    pub fn timeline(
        &self,
        ws: i64,
        view: &ProfileView,
        cursor: Option<TimelineCursor>,
        limit: usize,
    ) -> Result<Vec<TimelineRow>> {
        let ids: Vec<i64> = view.identities.iter().map(|(n, _)| store_id(*n)).collect();
        Ok(self.store.profile_timeline(ws, &ids, cursor, limit)?)
    }

    pub fn audit(
        &self,
        ws: i64,
        view: Option<&ProfileView>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<AuditRow>> {
        let ids: Option<Vec<i64>> =
            view.map(|v| v.identities.iter().map(|(n, _)| store_id(*n)).collect());
        Ok(self
            .store
            .profile_audit(ws, ids.as_deref(), before, limit)?)
    }

    /// Forgets the in-memory graphs (in tests).
    pub fn reset(&self) {
        self.workspaces.lock().expect("profile workspaces").clear();
    }
}

fn is_conflict(e: &ServiceError) -> bool {
    matches!(e, ServiceError::Store(StoreError::Conflict(_)))
}

/// What the store must write for `changes`.
pub fn to_batch(p: &Profiles, c: &Changes) -> ProfileBatch {
    if c.is_empty() {
        return ProfileBatch::default();
    }
    let identity = |(node, i, at): &(NodeId, Identity, i64)| {
        let (kind, value) = i.to_parts();
        IdentityRow {
            id: store_id(*node),
            kind: kind.to_string(),
            value,
            first_seen: *at,
            erased: false,
        }
    };
    let link = |e: &Edge| LinkRow {
        id: e.id as i64,
        a: store_id(e.a),
        b: store_id(e.b),
        kind: e.evidence.kind.as_str().into(),
        source: e.evidence.source.clone(),
        confidence: f64::from(e.evidence.confidence),
        created_at: e.evidence.at,
        removed_at: None,
    };
    let suggestion = |s: &Suggestion| SuggestionRow {
        id: s.id as i64,
        a: store_id(s.a),
        b: store_id(s.b),
        score: f64::from(s.score),
        evidence: serde_json::to_string(&s.evidence).unwrap_or_else(|_| "[]".into()),
        status: s.status.as_str().into(),
        created_at: s.created_at,
        decided_by: s.decided_by.clone(),
        decided_at: s.decided_at,
    };
    let mut activity: Vec<ActivityRow> = c
        .activity
        .iter()
        .filter_map(|&n| {
            p.activity(n).map(|a| ActivityRow {
                identity_id: store_id(n),
                data: serde_json::to_string(a).unwrap_or_default(),
            })
        })
        .collect();
    activity.sort_by_key(|a| a.identity_id);
    ProfileBatch {
        identities: c.identities.iter().map(identity).collect(),
        links: c.edges.iter().map(link).collect(),
        removed: c.removed.iter().map(|&(id, at)| (id as i64, at)).collect(),
        audit: c
            .audit
            .iter()
            .map(|a| AuditRow {
                id: 0,
                at: a.at,
                actor: a.actor.clone(),
                action: a.action.as_str().into(),
                a: store_id(a.a),
                b: a.b.map(store_id),
                link_id: a.edge.map(|e| e as i64),
                reason: a.reason.clone(),
            })
            .collect(),
        suggestions: c.suggestions.iter().map(suggestion).collect(),
        traits: c
            .traits
            .iter()
            // An erased identity's traits are not written back.
            .filter(|(n, _)| !p.is_erased(*n))
            .map(|(n, t)| TraitRow {
                identity_id: store_id(*n),
                name: t.name.clone(),
                source: t.source.clone(),
                value: t.value.to_string(),
                trusted: t.trusted,
                at: t.at,
            })
            .collect(),
        activity,
        sightings: c
            .sightings
            .iter()
            .map(|&(seq, n, at)| SightingRow {
                message_seq: seq,
                identity_id: store_id(n),
                at,
            })
            .collect(),
        events: c
            .events
            .iter()
            .map(|e| EventRow {
                identity_id: store_id(e.node),
                kind: e.kind.clone(),
                event_id: e.event_id.clone(),
                at: e.at,
                data: e.data.to_string(),
            })
            .collect(),
        segments: c
            .segments
            .iter()
            .map(|(key, definition, at)| SegmentRow {
                key: key.clone(),
                definition: definition.clone(),
                updated_at: *at,
            })
            .collect(),
        segments_removed: c.segments_removed.clone(),
        resolved: None,
    }
}

fn rfc3339(us: i64) -> Value {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .map_or(Value::Null, Value::String)
}

/// A profile's traits as JSON: the resolved ones, then the computed ones (`first_seen`,
/// `last_seen`, `last_contact`, `messages` per channel, `avg_sentiment_30d` when known).
pub fn traits_json(view: &ProfileView, now: i64) -> Value {
    let mut traits: Map<String, Value> = view
        .traits
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let a = &view.activity;
    for (name, at) in [
        ("first_seen", a.first_seen),
        ("last_seen", a.last_seen),
        ("last_contact", a.last_contact),
    ] {
        if let Some(at) = at {
            traits.insert(name.into(), rfc3339(at));
        }
    }
    if !a.messages.is_empty() {
        traits.insert(
            "messages".into(),
            serde_json::to_value(&a.messages).unwrap_or_default(),
        );
    }
    if let Some(avg) = a.average_sentiment(now, 30) {
        traits.insert(
            "avg_sentiment_30d".into(),
            Value::from((avg * 1000.0).round() / 1000.0),
        );
    }
    Value::Object(traits)
}

/// One timeline entry as JSON: `{"at","kind":"message","channel","id"}` for a message,
/// `{"at","kind":"purchase","id","data"}` for a CRM event.
pub fn timeline_json(row: &TimelineRow) -> Value {
    match &row.entry {
        TimelineEntry::Message {
            channel, source_id, ..
        } => {
            json!({"at": rfc3339(row.at), "kind": "message", "channel": channel, "id": source_id})
        }
        TimelineEntry::Event {
            kind,
            event_id,
            data,
            ..
        } => {
            let data: Value = serde_json::from_str(data).unwrap_or(Value::Null);
            json!({"at": rfc3339(row.at), "kind": kind, "id": event_id, "data": data})
        }
    }
}

/// A profile as `needle profile show --json` prints it (shared/specs/cli.md).
pub fn profile_json(view: &ProfileView, timeline: &[TimelineRow], now: i64) -> Value {
    json!({
        "profile": view.name,
        "identities": view.identities.iter().map(|(_, i)| i.to_string()).collect::<Vec<_>>(),
        "traits": traits_json(view, now),
        "timeline": timeline.iter().map(timeline_json).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    //! Two services on one store stand for two processes of a cluster.

    use std::sync::atomic::{AtomicBool, Ordering};

    use needle_core::Message;

    use super::*;

    fn store(dir: &tempfile::TempDir) -> Arc<dyn Backend> {
        needle_store::open(dir.path().join("needle.db").to_str().unwrap()).unwrap()
    }

    fn service(store: &Arc<dyn Backend>) -> ProfileService {
        ProfileService::new(store.clone(), ProfileConfig::default()).unwrap()
    }

    fn email(n: u32, from: &str) -> Message {
        Message::from_json(json!({
            "id": format!("m{n}"), "channel": "email",
            "created_at": format!("2026-11-01T00:{:02}:00Z", n % 60),
            "text": "hello", "author": {"email": from}
        }))
        .unwrap()
    }

    fn store_messages(store: &Arc<dyn Backend>, ws: i64, messages: &[Message]) {
        let refs: Vec<&Message> = messages.iter().collect();
        store.insert_batch(ws, &refs).unwrap();
    }

    fn messages_of(svc: &ProfileService, ws: i64, who: &str) -> u64 {
        let identity = svc.parse_identity(who).unwrap();
        let view = svc.profile_of(ws, &identity).unwrap();
        view.activity.messages.values().sum()
    }

    #[test]
    fn a_reader_sees_what_another_process_resolved() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir);
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        let (worker, web) = (service(&store), service(&store));
        store_messages(&store, ws, &[email(1, "kim@example.com")]);
        assert_eq!(worker.resolve_stored().unwrap(), 1);
        assert_eq!(messages_of(&web, ws, "email:kim@example.com"), 1);
        store_messages(&store, ws, &[email(2, "kim@example.com")]);
        assert_eq!(worker.resolve_stored().unwrap(), 1);
        assert_eq!(
            messages_of(&web, ws, "email:kim@example.com"),
            2,
            "the reader's graph was reloaded"
        );
        assert_eq!(worker.resolve_stored().unwrap(), 0, "nothing left");
    }

    #[test]
    fn a_stale_writer_reloads_and_keeps_both_changes() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir);
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        let (worker, web) = (service(&store), service(&store));
        store_messages(
            &store,
            ws,
            &[email(1, "kim@example.com"), email(2, "kim@work.example")],
        );
        worker.resolve_stored().unwrap();
        // The web process links the two; the worker's graph does not know.
        let (a, b) = (
            web.parse_identity("email:kim@example.com").unwrap(),
            web.parse_identity("email:kim@work.example").unwrap(),
        );
        web.with(ws, |p| p.link(&a, &b, "agent:ana", "same person", 10))
            .unwrap();
        // The worker resolves a new author on its stale graph: refused, reloaded, redone.
        store_messages(&store, ws, &[email(3, "lee@example.com")]);
        assert_eq!(worker.resolve_stored().unwrap(), 1);
        let fresh = service(&store);
        let kim = fresh.profile_of(ws, &a).unwrap();
        assert_eq!(kim.identities.len(), 2, "the agent's link survived");
        let lee = fresh
            .profile_of(ws, &fresh.parse_identity("email:lee@example.com").unwrap())
            .unwrap();
        assert_eq!(lee.identities.len(), 1);
        assert_ne!(lee.name, kim.name, "the new identity got an id of its own");
        // Every process now sees the same thing.
        assert_eq!(web.profile_of(ws, &a).unwrap(), kim);
        assert_eq!(worker.profile_of(ws, &a).unwrap(), kim);
    }

    #[test]
    fn two_resolvers_count_each_message_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir);
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        let other = store.ensure_workspace("globex", false).unwrap().id;
        let resolvers: Vec<Arc<ProfileService>> =
            (0..2).map(|_| Arc::new(service(&store))).collect();
        let total = 3000u32;
        let written = AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for chunk in (0..total).collect::<Vec<_>>().chunks(250) {
                    // Workspaces interleave, so runs are short and resolvers collide often.
                    let batch: Vec<Message> = chunk
                        .iter()
                        .map(|&n| email(n, &format!("user{}@example.com", n % 50)))
                        .collect();
                    let (even, odd): (Vec<_>, Vec<_>) =
                        batch.into_iter().partition(|m| m.id.len() % 2 == 0);
                    store_messages(&store, ws, &even);
                    store_messages(&store, other, &odd);
                }
                written.store(true, Ordering::SeqCst);
            });
            for r in &resolvers {
                let r = r.clone();
                let written = &written;
                scope.spawn(move || {
                    while !written.load(Ordering::SeqCst) {
                        r.resolve_stored().unwrap();
                    }
                    r.resolve_stored().unwrap();
                });
            }
        });
        assert_eq!(
            store.profiles_resolved_seq().unwrap(),
            store.max_seq().unwrap()
        );
        let fresh = service(&store);
        let counted: u64 = [ws, other]
            .iter()
            .flat_map(|&w| {
                let fresh = &fresh;
                (0..50).filter_map(move |n| {
                    let who = fresh
                        .parse_identity(&format!("email:user{n}@example.com"))
                        .unwrap();
                    fresh
                        .profile_of(w, &who)
                        .ok()
                        .map(|v| v.activity.messages.values().sum::<u64>())
                })
            })
            .sum();
        assert_eq!(counted, u64::from(total), "each message counted once");
    }
}
