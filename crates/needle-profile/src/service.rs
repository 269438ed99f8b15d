//! The profile service: one [`Profiles`] graph per workspace in memory, rebuilt from the
//! store on first use, and every change written back to the store in one batch per call.
//!
//! Resolution runs against memory (a message's author costs a few hash lookups), and the
//! store sees one transaction per pipeline batch: that is how it keeps up with ingest.
//! One process resolves a workspace at a time (the one running the pipeline); others read
//! what it wrote. If writing a batch fails, the workspace's graph is dropped and rebuilt from
//! the store on next use, so memory never runs ahead of what is stored.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use needle_core::ErrorCode;
use needle_store::profiles::{
    ActivityRow, AuditRow, EventRow, IdentityRow, LinkRow, ProfileBatch, SightingRow,
    SuggestionRow, TimelineCursor, TimelineEntry, TimelineRow, TraitRow,
};
use needle_store::{Backend, StoreError};
use serde_json::{Map, Value, json};

use crate::engine::{Changes, ProfileView, Profiles};
use crate::graph::{Edge, EdgeKind, Evidence, NodeId};
use crate::identity::Identity;
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

pub struct ProfileService {
    store: Arc<dyn Backend>,
    config: ProfileConfig,
    workspaces: Mutex<HashMap<i64, Arc<Mutex<Profiles>>>>,
}

impl ProfileService {
    pub fn new(store: Arc<dyn Backend>, config: ProfileConfig) -> Result<ProfileService> {
        // Fail on bad settings now, not on the first message.
        Profiles::new(config.clone())?;
        Ok(ProfileService {
            store,
            config,
            workspaces: Mutex::new(HashMap::new()),
        })
    }

    pub fn store(&self) -> &Arc<dyn Backend> {
        &self.store
    }

    /// The workspace's graph, loaded from the store on first use.
    fn graph(&self, ws: i64) -> Result<Arc<Mutex<Profiles>>> {
        if let Some(p) = self.workspaces.lock().expect("profile workspaces").get(&ws) {
            return Ok(p.clone());
        }
        let loaded = Arc::new(Mutex::new(self.load(ws)?));
        let mut map = self.workspaces.lock().expect("profile workspaces");
        Ok(map.entry(ws).or_insert(loaded).clone())
    }

    fn load(&self, ws: i64) -> Result<Profiles> {
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
        p.take_changes();
        Ok(p)
    }

    /// Runs `f` on a workspace's graph and writes what it changed, in one transaction.
    pub fn with<T>(
        &self,
        ws: i64,
        f: impl FnOnce(&mut Profiles) -> Result<T, ProfileError>,
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
        f: impl FnOnce(&mut Profiles) -> Result<T, ProfileError>,
    ) -> Result<(T, Vec<i64>)> {
        let graph = self.graph(ws)?;
        let mut p = graph.lock().expect("profile graph");
        let out = f(&mut p);
        let changes = p.take_changes();
        let batch = to_batch(&p, &changes);
        let erased: Vec<i64> = changes.erased.iter().map(|&n| store_id(n)).collect();
        let written = self.store.apply_profile_batch(ws, &batch).and_then(|()| {
            if erased.is_empty() {
                Ok(Vec::new())
            } else {
                self.store.erase_identities(ws, &erased)
            }
        });
        match written {
            Ok(redacted) => Ok((out?, redacted)),
            Err(e) => {
                drop(p);
                // Memory is ahead of the store now: start again from what is stored.
                self.workspaces
                    .lock()
                    .expect("profile workspaces")
                    .remove(&ws);
                Err(e.into())
            }
        }
    }

    /// Reads a workspace's graph without changing it.
    pub fn read<T>(
        &self,
        ws: i64,
        f: impl FnOnce(&Profiles) -> Result<T, ProfileError>,
    ) -> Result<T> {
        let graph = self.graph(ws)?;
        let p = graph.lock().expect("profile graph");
        Ok(f(&p)?)
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

    /// Forgets the in-memory graphs (after another process changed the store, or in tests).
    pub fn reset(&self) {
        self.workspaces.lock().expect("profile workspaces").clear();
    }
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
