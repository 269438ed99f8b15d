//! Profiles as stored: identities, the links between them with their evidence, the audit
//! log, suggestions, traits, computed activity, which identity wrote each message, and CRM
//! events. needle-profile keeps the live graph in memory; this is what it is rebuilt from.
//!
//! Ids of identities, links and suggestions are chosen by the graph (dense per workspace),
//! not by the database: replaying them in id order gives the same graph. Writes come in
//! batches ([`ProfileBatch`]), one transaction each, so resolution keeps up with the
//! pipeline.
//!
//! Several processes may hold a workspace's graph (a cluster's web processes and pipeline
//! workers). Each workspace's profile state has a *generation*, moved on by every batch that
//! changes it; a batch names the generation its graph was loaded at and is refused with
//! [`StoreError::Conflict`] when another writer got there first. The writer reloads and tries
//! again, so ids chosen by a stale graph never reach the store.
//!
//! Authors of stored messages are resolved by following the store in seq order: the
//! *resolution cursor* (one for the store) says up to which seq that is done, and moves in
//! the same transaction as the changes it caused, so a crash neither loses nor repeats one.

use crate::{Result, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct IdentityRow {
    pub id: i64,
    pub kind: String,
    pub value: String,
    pub first_seen: i64,
    pub erased: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LinkRow {
    pub id: i64,
    pub a: i64,
    pub b: i64,
    pub kind: String,
    pub source: String,
    pub confidence: f64,
    pub created_at: i64,
    pub removed_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditRow {
    /// Set by the store; ignored on insert.
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub a: i64,
    pub b: Option<i64>,
    pub link_id: Option<i64>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SuggestionRow {
    pub id: i64,
    pub a: i64,
    pub b: i64,
    pub score: f64,
    /// JSON array of sentences.
    pub evidence: String,
    pub status: String,
    pub created_at: i64,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TraitRow {
    pub identity_id: i64,
    pub name: String,
    pub source: String,
    /// JSON.
    pub value: String,
    pub trusted: bool,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActivityRow {
    pub identity_id: i64,
    /// JSON.
    pub data: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SightingRow {
    pub message_seq: i64,
    pub identity_id: i64,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub identity_id: i64,
    pub kind: String,
    pub event_id: String,
    pub at: i64,
    /// JSON.
    pub data: String,
}

/// An event's kind and time, as segments count them (without its data).
#[derive(Debug, Clone, PartialEq)]
pub struct EventMark {
    pub identity_id: i64,
    pub kind: String,
    pub event_id: String,
    pub at: i64,
}

/// A saved segment definition (its members are computed, not stored).
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentRow {
    pub key: String,
    pub definition: String,
    pub updated_at: i64,
}

/// Everything one step of resolution changed, written in one transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileBatch {
    pub identities: Vec<IdentityRow>,
    pub links: Vec<LinkRow>,
    /// (link id, removed at).
    pub removed: Vec<(i64, i64)>,
    pub audit: Vec<AuditRow>,
    /// Inserted or replaced by id.
    pub suggestions: Vec<SuggestionRow>,
    /// Inserted or replaced by (identity, name, source).
    pub traits: Vec<TraitRow>,
    /// Inserted or replaced by identity.
    pub activity: Vec<ActivityRow>,
    /// A message already attributed keeps its first identity.
    pub sightings: Vec<SightingRow>,
    /// An event already stored (same kind and event id) is left as it is.
    pub events: Vec<EventRow>,
    /// Inserted or replaced by key.
    pub segments: Vec<SegmentRow>,
    /// Segments removed, by key.
    pub segments_removed: Vec<String>,
    /// Moves the resolution cursor from `.0` to `.1`: the authors of every message up to
    /// seq `.1` are resolved once this batch is written. Refused when the cursor is no longer
    /// at `.0`.
    pub resolved: Option<(i64, i64)>,
}

impl ProfileBatch {
    /// Nothing to write at all.
    pub fn is_empty(&self) -> bool {
        self == &ProfileBatch::default()
    }

    /// Nothing that changes a workspace's profiles (the cursor may still move).
    pub fn changes_nothing(&self) -> bool {
        ProfileBatch {
            resolved: None,
            ..self.clone()
        } == ProfileBatch::default()
    }
}

/// The conflict a stale profile writer gets.
pub(crate) fn stale(workspace_id: i64, expected: i64, found: i64) -> StoreError {
    StoreError::Conflict(format!(
        "the profiles of workspace {workspace_id} changed elsewhere (generation {found}, \
         this writer had {expected}); reload and try again"
    ))
}

/// The conflict a resolver behind the cursor gets.
pub(crate) fn moved(expected: i64, found: i64) -> StoreError {
    StoreError::Conflict(format!(
        "message authors were resolved up to seq {found} elsewhere (this resolver was at \
         {expected}); reload and try again"
    ))
}

/// What a workspace's graph is rebuilt from, each list in id order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileSnapshot {
    pub identities: Vec<IdentityRow>,
    pub links: Vec<LinkRow>,
    pub suggestions: Vec<SuggestionRow>,
    pub traits: Vec<TraitRow>,
    pub activity: Vec<ActivityRow>,
    /// In id order.
    pub events: Vec<EventMark>,
    /// By key.
    pub segments: Vec<SegmentRow>,
    /// The generation these rows were read at (0 before the first write).
    pub generation: i64,
}

/// One entry of a profile's timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineRow {
    pub at: i64,
    pub identity_id: i64,
    pub entry: TimelineEntry,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TimelineEntry {
    Message {
        seq: i64,
        channel: String,
        source_id: String,
    },
    Event {
        id: i64,
        kind: String,
        event_id: String,
        data: String,
    },
}

/// Where a newest-first timeline page left off. At one time, messages come before events,
/// and each by its number, descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimelineCursor {
    pub at: i64,
    /// 1 for a message, 0 for an event.
    pub rank: i64,
    pub id: i64,
}

impl TimelineCursor {
    pub fn after(row: &TimelineRow) -> TimelineCursor {
        match &row.entry {
            TimelineEntry::Message { seq, .. } => TimelineCursor {
                at: row.at,
                rank: 1,
                id: *seq,
            },
            TimelineEntry::Event { id, .. } => TimelineCursor {
                at: row.at,
                rank: 0,
                id: *id,
            },
        }
    }

    /// An opaque token: `<micros>_<rank>_<id>`.
    pub fn encode(self) -> String {
        format!("{}_{}_{}", self.at, self.rank, self.id)
    }

    pub fn decode(token: &str) -> Option<TimelineCursor> {
        let mut parts = token.split('_');
        let c = TimelineCursor {
            at: parts.next()?.parse().ok()?,
            rank: parts.next()?.parse().ok()?,
            id: parts.next()?.parse().ok()?,
        };
        (parts.next().is_none() && (0..=1).contains(&c.rank)).then_some(c)
    }

    /// The cursor before every entry.
    pub fn start() -> TimelineCursor {
        TimelineCursor {
            at: i64::MAX,
            rank: 2,
            id: i64::MAX,
        }
    }
}

/// Everything Needle asks of a store about profiles.
pub trait ProfileStore: Send + Sync {
    /// Writes one batch of changes in one transaction, if the workspace's profile generation
    /// is still `generation` (and the resolution cursor still where `batch.resolved` starts);
    /// returns the generation after it: one more when the batch changed profiles, the same
    /// when it only moved the cursor. A stale writer gets [`StoreError::Conflict`] and
    /// nothing is written.
    fn apply_profile_batch(
        &self,
        workspace_id: i64,
        generation: i64,
        batch: &ProfileBatch,
    ) -> Result<i64>;
    /// Everything a workspace's graph is rebuilt from, read in one snapshot.
    fn load_profiles(&self, workspace_id: i64) -> Result<ProfileSnapshot>;
    /// The workspace's profile generation now (0 before the first write): lets a reader see
    /// whether its graph is still current with one lookup.
    fn profile_generation(&self, workspace_id: i64) -> Result<i64>;
    /// The seq up to which stored messages' authors are resolved.
    fn profiles_resolved_seq(&self) -> Result<i64>;
    /// Takes or renews the lease on resolving message authors, for `owner` until `until`
    /// (microseconds); true when `owner` holds it. The lease saves work (one resolver at a
    /// time); correctness comes from the cursor check of [`ProfileStore::apply_profile_batch`].
    fn take_resolution_lease(&self, owner: &str, now: i64, until: i64) -> Result<bool>;
    /// Messages and events of these identities, newest first, strictly after `cursor`.
    fn profile_timeline(
        &self,
        workspace_id: i64,
        identity_ids: &[i64],
        cursor: Option<TimelineCursor>,
        limit: usize,
    ) -> Result<Vec<TimelineRow>>;
    /// Audit entries, newest first, those naming one of `identity_ids` when given, with ids
    /// below `before` when given.
    fn profile_audit(
        &self,
        workspace_id: i64,
        identity_ids: Option<&[i64]>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<AuditRow>>;
    /// Erases what is held about these identities: their values (replaced by `erased`),
    /// traits and events go, the texts and author fields of their messages are redacted
    /// (messages keep their key and counts). Returns the seqs of the redacted messages, for
    /// the search index.
    fn erase_identities(&self, workspace_id: i64, identity_ids: &[i64]) -> Result<Vec<i64>>;
}

/// The text an erased message is left with.
pub const ERASED_TEXT: &str = "[erased]";

/// Removes personal fields from a stored message document (`doc`, the message JSON without
/// its text): the author's identifiers and name, the title and the URL.
pub fn redact_doc(doc: &str) -> String {
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(doc) else {
        return "{}".into();
    };
    if let Some(author) = value.get_mut("author").and_then(|a| a.as_object_mut()) {
        let keep: Vec<(String, serde_json::Value)> = ["followers", "verified", "country"]
            .iter()
            .filter_map(|k| author.get(*k).map(|v| (k.to_string(), v.clone())))
            .collect();
        author.clear();
        author.insert("id".into(), serde_json::Value::String("erased".into()));
        author.extend(keep);
    }
    if let Some(object) = value.as_object_mut() {
        for field in ["title", "url"] {
            if object.contains_key(field) {
                object.insert(field.into(), serde_json::Value::Null);
            }
        }
        if let Some(extra) = object.get_mut("extra").and_then(|e| e.as_object_mut()) {
            extra.clear();
        }
    }
    value.to_string()
}

pub mod conformance {
    //! What every [`ProfileStore`] must do; run with `profile_store_conformance_tests!`.

    use super::*;
    use crate::Store;
    use crate::conformance::message;

    /// Generates one `#[test]` per check for a backend that is both a `Store` and a
    /// `ProfileStore`. The closure returns `(store, guard)` like `store_conformance_tests!`.
    #[macro_export]
    macro_rules! profile_store_conformance_tests {
        ($open:expr) => {
            $crate::profile_store_conformance_tests!(@each $open;
                a_batch_round_trips_through_load,
                replays_are_idempotent_and_updates_replace,
                timeline_pages_newest_first_across_messages_and_events,
                audit_lists_newest_first_and_by_identity,
                erasing_redacts_messages_and_forgets_identities,
                stale_writers_are_refused_and_write_nothing,
                the_resolution_cursor_moves_with_its_batch_and_only_from_where_it_is,
                one_resolver_holds_the_lease_until_it_lapses,
                segments_and_event_marks_load_back);
        };
        (@each $open:expr; $($check:ident),*) => {
            $(
                #[test]
                fn $check() {
                    let (store, _guard) = ($open)();
                    $crate::profiles::conformance::$check(&*store);
                }
            )*
        };
    }

    /// Writes `batch` as a writer whose graph is current.
    fn apply<S: ProfileStore + ?Sized>(store: &S, ws: i64, batch: &ProfileBatch) -> i64 {
        let generation = store.profile_generation(ws).unwrap();
        store.apply_profile_batch(ws, generation, batch).unwrap()
    }

    fn identity(id: i64, value: &str) -> IdentityRow {
        IdentityRow {
            id,
            kind: "email".into(),
            value: value.into(),
            first_seen: id * 10,
            erased: false,
        }
    }

    fn link(id: i64, a: i64, b: i64) -> LinkRow {
        LinkRow {
            id,
            a,
            b,
            kind: "crm_record".into(),
            source: "crm:customers.csv".into(),
            confidence: 1.0,
            created_at: 100 + id,
            removed_at: None,
        }
    }

    fn audit(at: i64, a: i64, b: Option<i64>) -> AuditRow {
        AuditRow {
            id: 0,
            at,
            actor: "system".into(),
            action: "link".into(),
            a,
            b,
            link_id: Some(1),
            reason: "crm_record from crm:customers.csv".into(),
        }
    }

    fn suggestion(id: i64, status: &str) -> SuggestionRow {
        SuggestionRow {
            id,
            a: 1,
            b: 3,
            score: 0.6,
            evidence: r#"["same name"]"#.into(),
            status: status.into(),
            created_at: 5,
            decided_by: None,
            decided_at: None,
        }
    }

    fn trait_row(identity_id: i64, value: &str, at: i64) -> TraitRow {
        TraitRow {
            identity_id,
            name: "country".into(),
            source: "crm:customers.csv".into(),
            value: value.into(),
            trusted: true,
            at,
        }
    }

    fn batch() -> ProfileBatch {
        ProfileBatch {
            identities: vec![
                identity(1, "kim@example.com"),
                identity(2, "lee@example.com"),
                identity(3, "kim@example.org"),
            ],
            links: vec![link(1, 1, 2), link(2, 2, 3)],
            removed: vec![],
            audit: vec![audit(100, 1, Some(2)), audit(101, 2, Some(3))],
            suggestions: vec![suggestion(1, "open")],
            traits: vec![trait_row(1, r#""DE""#, 7)],
            activity: vec![ActivityRow {
                identity_id: 1,
                data: r#"{"messages":{"email":1}}"#.into(),
            }],
            sightings: vec![],
            events: vec![],
            segments: vec![],
            segments_removed: vec![],
            resolved: None,
        }
    }

    pub fn segments_and_event_marks_load_back<S: Store + ProfileStore + ?Sized>(store: &S) {
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        let segment = |key: &str, definition: &str, at: i64| SegmentRow {
            key: key.into(),
            definition: definition.into(),
            updated_at: at,
        };
        let event = |identity_id: i64, event_id: &str, at: i64| EventRow {
            identity_id,
            kind: "purchase".into(),
            event_id: event_id.into(),
            at,
            data: r#"{"total":12}"#.into(),
        };
        let mut b = batch();
        b.events = vec![event(1, "o1", 10), event(3, "o2", 11), event(3, "o1", 12)];
        b.segments = vec![
            segment("vip", "tier = gold", 1),
            segment("de", "country = DE", 1),
            segment("vip", "tier in (gold, platinum)", 2),
        ];
        assert_eq!(apply(store, ws, &b), 1);
        let loaded = store.load_profiles(ws).unwrap();
        assert_eq!(
            loaded.segments,
            vec![
                segment("de", "country = DE", 1),
                segment("vip", "tier in (gold, platinum)", 2)
            ],
            "by key, the last definition of a key in a batch wins"
        );
        let marks: Vec<(i64, &str, i64)> = loaded
            .events
            .iter()
            .map(|e| (e.identity_id, e.event_id.as_str(), e.at))
            .collect();
        assert_eq!(
            marks,
            [(1, "o1", 10), (3, "o2", 11)],
            "an event is kept once"
        );
        // A batch that only removes a segment is a profile change: the generation moves.
        let next = store
            .apply_profile_batch(
                ws,
                1,
                &ProfileBatch {
                    segments_removed: vec!["de".into(), "never-defined".into()],
                    ..ProfileBatch::default()
                },
            )
            .unwrap();
        assert_eq!(next, 2);
        let loaded = store.load_profiles(ws).unwrap();
        assert_eq!(
            loaded.segments,
            vec![segment("vip", "tier in (gold, platinum)", 2)]
        );
        assert!(store.load_profiles(ws + 1000).unwrap().segments.is_empty());
    }

    pub fn a_batch_round_trips_through_load<S: Store + ProfileStore + ?Sized>(store: &S) {
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        let other = store.ensure_workspace("globex", false).unwrap().id;
        assert_eq!(store.load_profiles(ws).unwrap(), ProfileSnapshot::default());
        assert_eq!(apply(store, ws, &batch()), 1);
        assert_eq!(
            store
                .apply_profile_batch(ws, 1, &ProfileBatch::default())
                .unwrap(),
            1,
            "an empty batch changes nothing"
        );
        let loaded = store.load_profiles(ws).unwrap();
        let b = batch();
        assert_eq!(loaded.identities, b.identities);
        assert_eq!(loaded.links, b.links);
        assert_eq!(loaded.suggestions, b.suggestions);
        assert_eq!(loaded.traits, b.traits);
        assert_eq!(loaded.activity, b.activity);
        assert_eq!(loaded.generation, 1);
        // Workspaces are apart: the same ids elsewhere are other identities.
        assert_eq!(
            store.load_profiles(other).unwrap(),
            ProfileSnapshot::default()
        );
        apply(
            store,
            other,
            &ProfileBatch {
                identities: vec![identity(1, "x@y.com")],
                ..ProfileBatch::default()
            },
        );
        assert_eq!(
            store.load_profiles(ws).unwrap().identities[0].value,
            "kim@example.com"
        );
    }

    pub fn replays_are_idempotent_and_updates_replace<S: Store + ProfileStore + ?Sized>(store: &S) {
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        apply(store, ws, &batch());
        let mut decided = suggestion(1, "rejected");
        decided.decided_by = Some("agent:ana".into());
        decided.decided_at = Some(9);
        apply(
            store,
            ws,
            &ProfileBatch {
                removed: vec![(2, 500)],
                suggestions: vec![decided.clone(), suggestion(2, "open")],
                traits: vec![trait_row(1, r#""AT""#, 8), trait_row(3, r#""FR""#, 8)],
                activity: vec![ActivityRow {
                    identity_id: 1,
                    data: r#"{"messages":{"email":2}}"#.into(),
                }],
                ..ProfileBatch::default()
            },
        );
        let loaded = store.load_profiles(ws).unwrap();
        assert_eq!(loaded.links[0].removed_at, None);
        assert_eq!(loaded.links[1].removed_at, Some(500));
        assert_eq!(loaded.suggestions, vec![decided, suggestion(2, "open")]);
        assert_eq!(
            loaded.traits,
            vec![trait_row(1, r#""AT""#, 8), trait_row(3, r#""FR""#, 8)]
        );
        assert_eq!(loaded.activity[0].data, r#"{"messages":{"email":2}}"#);
    }

    pub fn timeline_pages_newest_first_across_messages_and_events<
        S: Store + ProfileStore + ?Sized,
    >(
        store: &S,
    ) {
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        let messages: Vec<_> = (0..5)
            .map(|i| message(&format!("m{i}"), "email", i))
            .collect();
        let refs: Vec<_> = messages.iter().collect();
        let seqs: Vec<i64> = store
            .insert_batch(ws, &refs)
            .unwrap()
            .iter()
            .map(|i| i.seq())
            .collect();
        let at = |i: usize| crate::micros(messages[i].created_at);
        let mut b = batch();
        // m0, m2, m4 are kim's (identity 1), m1 lee's (2), m3 someone else's (9).
        b.sightings = vec![
            SightingRow {
                message_seq: seqs[0],
                identity_id: 1,
                at: at(0),
            },
            SightingRow {
                message_seq: seqs[1],
                identity_id: 2,
                at: at(1),
            },
            SightingRow {
                message_seq: seqs[2],
                identity_id: 1,
                at: at(2),
            },
            SightingRow {
                message_seq: seqs[3],
                identity_id: 9,
                at: at(3),
            },
            SightingRow {
                message_seq: seqs[4],
                identity_id: 1,
                at: at(4),
            },
        ];
        b.events = vec![
            EventRow {
                identity_id: 2,
                kind: "purchase".into(),
                event_id: "o-1".into(),
                at: at(2),
                data: r#"{"amount":80}"#.into(),
            },
            EventRow {
                identity_id: 9,
                kind: "purchase".into(),
                event_id: "o-2".into(),
                at: at(2),
                data: "{}".into(),
            },
        ];
        apply(store, ws, &b);
        // Sent again: nothing doubles, and a message keeps its first identity.
        b.sightings[0].identity_id = 2;
        apply(
            store,
            ws,
            &ProfileBatch {
                sightings: b.sightings.clone(),
                events: b.events.clone(),
                ..ProfileBatch::default()
            },
        );
        let all = store.profile_timeline(ws, &[1, 2], None, 100).unwrap();
        let keys: Vec<String> = all
            .iter()
            .map(|r| match &r.entry {
                TimelineEntry::Message {
                    source_id, channel, ..
                } => format!("{channel}/{source_id}"),
                TimelineEntry::Event { kind, event_id, .. } => format!("{kind}/{event_id}"),
            })
            .collect();
        assert_eq!(
            keys,
            [
                "email/m4",
                "email/m2",
                "purchase/o-1",
                "email/m1",
                "email/m0"
            ]
        );
        assert_eq!(all[0].identity_id, 1);
        match &all[2].entry {
            TimelineEntry::Event { data, .. } => assert_eq!(data, r#"{"amount":80}"#),
            other => panic!("{other:?}"),
        }
        // Pages of two, by cursor, give the same entries.
        let mut paged = Vec::new();
        let mut cursor = None;
        loop {
            let page = store.profile_timeline(ws, &[1, 2], cursor, 2).unwrap();
            if page.is_empty() {
                break;
            }
            cursor = Some(
                TimelineCursor::decode(&TimelineCursor::after(page.last().unwrap()).encode())
                    .unwrap(),
            );
            paged.extend(page);
        }
        assert_eq!(paged, all);
        assert!(
            store
                .profile_timeline(ws, &[], None, 10)
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .profile_timeline(ws, &[77], None, 10)
                .unwrap()
                .is_empty()
        );
    }

    pub fn audit_lists_newest_first_and_by_identity<S: Store + ProfileStore + ?Sized>(store: &S) {
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        apply(store, ws, &batch());
        apply(
            store,
            ws,
            &ProfileBatch {
                audit: vec![audit(200, 7, None)],
                ..ProfileBatch::default()
            },
        );
        let all = store.profile_audit(ws, None, None, 10).unwrap();
        assert_eq!(
            all.iter().map(|a| a.at).collect::<Vec<_>>(),
            [200, 101, 100]
        );
        assert!(all[0].id > all[1].id && all[1].id > all[2].id);
        assert_eq!(all[1].reason, "crm_record from crm:customers.csv");
        let of_3 = store.profile_audit(ws, Some(&[3]), None, 10).unwrap();
        assert_eq!(of_3.iter().map(|a| a.at).collect::<Vec<_>>(), [101]);
        let older = store.profile_audit(ws, None, Some(all[0].id), 1).unwrap();
        assert_eq!(older, vec![all[1].clone()]);
    }

    pub fn erasing_redacts_messages_and_forgets_identities<S: Store + ProfileStore + ?Sized>(
        store: &S,
    ) {
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        let mut m = message("m1", "email", 1);
        m.author.email = Some("kim@example.com".into());
        m.author.name = Some("Kim Lee".into());
        let kept = message("m2", "email", 2);
        let seqs: Vec<i64> = store
            .insert_batch(ws, &[&m, &kept])
            .unwrap()
            .iter()
            .map(|i| i.seq())
            .collect();
        let mut b = batch();
        b.sightings = vec![
            SightingRow {
                message_seq: seqs[0],
                identity_id: 1,
                at: 1,
            },
            SightingRow {
                message_seq: seqs[1],
                identity_id: 2,
                at: 2,
            },
        ];
        b.events = vec![EventRow {
            identity_id: 1,
            kind: "ticket".into(),
            event_id: "t-1".into(),
            at: 3,
            data: "{}".into(),
        }];
        apply(store, ws, &b);
        let redacted = store.erase_identities(ws, &[1]).unwrap();
        assert_eq!(redacted, vec![seqs[0]]);
        let gone = store
            .get(ws, "email", "m1")
            .unwrap()
            .expect("the message keeps its key");
        assert_eq!(gone.message.text, ERASED_TEXT);
        assert_eq!(gone.message.author.email, None);
        assert_eq!(gone.message.author.name, None);
        assert_eq!(
            store.get(ws, "email", "m2").unwrap().unwrap().message.text,
            kept.text
        );
        assert_eq!(store.count(Some(ws)).unwrap(), 2, "counts stay");
        let loaded = store.load_profiles(ws).unwrap();
        assert!(loaded.identities[0].erased);
        assert!(!loaded.identities[0].value.contains("kim"));
        assert!(loaded.traits.iter().all(|t| t.identity_id != 1));
        let timeline = store.profile_timeline(ws, &[1], None, 10).unwrap();
        assert_eq!(
            timeline.len(),
            1,
            "the message stays on the timeline; the event is gone"
        );
        assert!(matches!(timeline[0].entry, TimelineEntry::Message { .. }));
    }

    pub fn stale_writers_are_refused_and_write_nothing<S: Store + ProfileStore + ?Sized>(
        store: &S,
    ) {
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        let other = store.ensure_workspace("globex", false).unwrap().id;
        assert_eq!(store.profile_generation(ws).unwrap(), 0);
        assert_eq!(store.apply_profile_batch(ws, 0, &batch()).unwrap(), 1);
        // A second writer whose graph was loaded before that write.
        let late = ProfileBatch {
            identities: vec![identity(4, "late@example.com")],
            ..ProfileBatch::default()
        };
        let refused = store.apply_profile_batch(ws, 0, &late).unwrap_err();
        assert!(matches!(refused, StoreError::Conflict(_)), "{refused}");
        assert_eq!(refused.code(), needle_core::ErrorCode::Conflict);
        let loaded = store.load_profiles(ws).unwrap();
        assert_eq!(loaded.identities.len(), 3, "the stale batch wrote nothing");
        assert_eq!(loaded.generation, 1);
        // Reloaded, it goes through; each write moves the generation on by one.
        assert_eq!(store.apply_profile_batch(ws, 1, &late).unwrap(), 2);
        assert_eq!(store.profile_generation(ws).unwrap(), 2);
        assert_eq!(store.load_profiles(ws).unwrap().identities.len(), 4);
        // Generations are per workspace.
        assert_eq!(store.profile_generation(other).unwrap(), 0);
        assert_eq!(store.apply_profile_batch(other, 0, &late).unwrap(), 1);
        assert_eq!(store.profile_generation(ws).unwrap(), 2);
    }

    pub fn the_resolution_cursor_moves_with_its_batch_and_only_from_where_it_is<
        S: Store + ProfileStore + ?Sized,
    >(
        store: &S,
    ) {
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        assert_eq!(store.profiles_resolved_seq().unwrap(), 0);
        let resolving = |from, to, value: &str| ProfileBatch {
            identities: vec![identity(1, value)],
            resolved: Some((from, to)),
            ..ProfileBatch::default()
        };
        assert_eq!(
            store
                .apply_profile_batch(ws, 0, &resolving(0, 5, "kim@example.com"))
                .unwrap(),
            1
        );
        assert_eq!(store.profiles_resolved_seq().unwrap(), 5);
        // A resolver that read the cursor at 0 too: refused, with its changes.
        let refused = store
            .apply_profile_batch(ws, 1, &resolving(0, 7, "lee@example.com"))
            .unwrap_err();
        assert!(matches!(refused, StoreError::Conflict(_)), "{refused}");
        assert_eq!(store.profiles_resolved_seq().unwrap(), 5);
        assert_eq!(store.load_profiles(ws).unwrap().generation, 1);
        // Messages that changed no profile still move the cursor, and nothing else.
        let only_cursor = ProfileBatch {
            resolved: Some((5, 9)),
            ..ProfileBatch::default()
        };
        assert_eq!(store.apply_profile_batch(ws, 1, &only_cursor).unwrap(), 1);
        assert_eq!(store.profiles_resolved_seq().unwrap(), 9);
        assert_eq!(store.profile_generation(ws).unwrap(), 1);
    }

    pub fn one_resolver_holds_the_lease_until_it_lapses<S: Store + ProfileStore + ?Sized>(
        store: &S,
    ) {
        assert!(store.take_resolution_lease("a", 0, 100).unwrap());
        assert!(!store.take_resolution_lease("b", 50, 150).unwrap());
        assert!(
            store.take_resolution_lease("a", 60, 160).unwrap(),
            "renewed"
        );
        assert!(!store.take_resolution_lease("b", 159, 259).unwrap());
        assert!(
            store.take_resolution_lease("b", 170, 270).unwrap(),
            "lapsed"
        );
        assert!(!store.take_resolution_lease("a", 180, 280).unwrap());
    }
}
