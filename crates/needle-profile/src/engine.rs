//! [`Profiles`]: one workspace's identity resolution in memory. Messages' authors, CRM
//! records and agents' decisions go in; profiles, suggestions and an audit log come out.
//! Every change is also recorded in [`Changes`], which the service drains and writes to the
//! store in one transaction per batch; replaying the stored identities and links rebuilds
//! the same state (see [`Profiles::restore_identity`] and friends).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ProfileError;
use crate::config::ProfileConfig;
use crate::graph::{Edge, EdgeKind, Evidence, Graph, Linked, NodeId, Unlinked};
use crate::identity::{Identity, Kind, Normalized, Normalizer};
use crate::membership::{LiveSegment, Memberships, Population};
use crate::segment::{Facts, Segment};
use crate::suggest::{KeyKind, Suggestion, SuggestionStatus, local_key, name_key};
use crate::traits::{Activity, TraitValue, resolve};

/// What an audit entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    Link,
    Unlink,
    /// A link a rule refused; nothing changed.
    Refuse,
    Accept,
    Reject,
    Erase,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Link => "link",
            AuditAction::Unlink => "unlink",
            AuditAction::Refuse => "refuse",
            AuditAction::Accept => "accept",
            AuditAction::Reject => "reject",
            AuditAction::Erase => "erase",
        }
    }

    pub fn parse(s: &str) -> Option<AuditAction> {
        use AuditAction::*;
        [Link, Unlink, Refuse, Accept, Reject, Erase]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

/// One line of the audit log: who did what to which identities, when and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: i64,
    /// `system` for rules and trusted sources, else the agent.
    pub actor: String,
    pub action: AuditAction,
    pub a: NodeId,
    pub b: Option<NodeId>,
    pub edge: Option<u64>,
    pub reason: String,
}

/// A message's author, as identifiers and what the message says about them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Author<'a> {
    pub id: Option<&'a str>,
    pub handle: Option<&'a str>,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub name: Option<&'a str>,
    pub country: Option<&'a str>,
}

/// One stored message seen by profiles.
#[derive(Debug, Clone, Copy)]
pub struct Sighting<'a> {
    pub channel: &'a str,
    /// The channel's id for the message, for evidence.
    pub message_id: &'a str,
    /// The stored message's seq, for the timeline.
    pub seq: Option<i64>,
    pub at: i64,
    pub outbound: bool,
    pub author: Author<'a>,
    /// -1..1 when classification knows it.
    pub sentiment: Option<f32>,
}

/// A CRM customer record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CrmCustomer {
    pub id: String,
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub name: Option<String>,
    /// Any other columns, as traits.
    pub traits: Vec<(String, Value)>,
}

/// A purchase, ticket or other CRM event; it joins the customer's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrmEvent {
    pub node: NodeId,
    /// `purchase`, `ticket`, …
    pub kind: String,
    /// The CRM's id for the event: importing it again changes nothing.
    pub event_id: String,
    pub at: i64,
    pub data: Value,
}

/// What importing one customer did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerOutcome {
    pub node: Option<NodeId>,
    pub links: usize,
    pub refused: Vec<String>,
    /// Values that were not identities (junk) or malformed (kept raw, not linked).
    pub skipped: Vec<String>,
}

/// Everything that changed since the last [`Profiles::take_changes`], for the store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    pub identities: Vec<(NodeId, Identity, i64)>,
    pub edges: Vec<Edge>,
    /// Links removed: (edge id, when).
    pub removed: Vec<(u64, i64)>,
    pub audit: Vec<AuditEntry>,
    /// New suggestions and ones whose status changed.
    pub suggestions: Vec<Suggestion>,
    pub traits: Vec<(NodeId, TraitValue)>,
    /// Identities whose activity changed; read it with [`Profiles::activity`].
    pub activity: HashSet<NodeId>,
    /// (message seq, identity, message time): the message belongs to that identity's timeline.
    pub sightings: Vec<(i64, NodeId, i64)>,
    pub events: Vec<CrmEvent>,
    /// Identities erased: their values and traits are gone.
    pub erased: Vec<NodeId>,
    /// Segments defined or redefined: (key, definition, when).
    pub segments: Vec<(String, String, i64)>,
    /// Segments removed, by key.
    pub segments_removed: Vec<String>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self == &Changes::default()
    }
}

/// A profile as shown to people.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileView {
    /// `p` and its oldest identity's number: `p17`.
    pub name: String,
    pub root: NodeId,
    pub identities: Vec<(NodeId, Identity)>,
    /// Resolved traits, by name.
    pub traits: BTreeMap<String, Value>,
    pub activity: Activity,
    pub links: Vec<Edge>,
}

/// Writes a profile's name.
pub fn profile_name(root: NodeId) -> String {
    format!("p{}", u64::from(root) + 1)
}

/// Reads `p17`.
pub fn parse_profile_name(name: &str) -> Option<NodeId> {
    let n: u64 = name.strip_prefix('p')?.parse().ok()?;
    NodeId::try_from(n.checked_sub(1)?).ok()
}

const SYSTEM: &str = "system";
/// Keys of a bucket past the cap are remembered so that a common name stops being looked at.
type Bucket = Vec<NodeId>;

pub struct Profiles {
    config: ProfileConfig,
    normalizer: Normalizer,
    graph: Graph,
    traits: HashMap<NodeId, Vec<TraitValue>>,
    activity: HashMap<NodeId, Activity>,
    suggestions: Vec<Suggestion>,
    suggested: HashMap<(NodeId, NodeId), usize>,
    buckets: HashMap<String, Bucket>,
    /// Pairs a rule refused already: logged once, not on every message.
    refused: HashSet<(NodeId, NodeId)>,
    /// Phone normalisation is the costly one; authors repeat.
    phone_cache: HashMap<String, Normalized>,
    erased: HashSet<NodeId>,
    /// (kind, event id, time) of each identity's CRM events: what segments count.
    events: HashMap<NodeId, Vec<(String, String, i64)>>,
    /// (kind, event id) of every event: as in the store, an event is kept once per workspace.
    event_keys: HashSet<(String, String)>,
    segments: Memberships,
    changes: Changes,
}

impl Profiles {
    pub fn new(config: ProfileConfig) -> Result<Profiles, ProfileError> {
        let normalizer = Normalizer::new(config.default_region.as_deref(), config.junk.clone())
            .map_err(ProfileError::Config)?;
        Ok(Profiles {
            config,
            normalizer,
            graph: Graph::new(),
            traits: HashMap::new(),
            activity: HashMap::new(),
            suggestions: Vec::new(),
            suggested: HashMap::new(),
            buckets: HashMap::new(),
            refused: HashSet::new(),
            phone_cache: HashMap::new(),
            erased: HashSet::new(),
            events: HashMap::new(),
            event_keys: HashSet::new(),
            segments: Memberships::default(),
            changes: Changes::default(),
        })
    }

    pub fn config(&self) -> &ProfileConfig {
        &self.config
    }

    pub fn normalizer(&self) -> &Normalizer {
        &self.normalizer
    }

    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// How many changes wait to be taken: lets a caller tell whether a step changed anything.
    pub fn pending(&self) -> usize {
        let c = &self.changes;
        c.identities.len()
            + c.edges.len()
            + c.removed.len()
            + c.audit.len()
            + c.suggestions.len()
            + c.traits.len()
            + c.activity.len()
            + c.sightings.len()
            + c.events.len()
            + c.erased.len()
            + c.segments.len()
            + c.segments_removed.len()
    }

    pub fn take_changes(&mut self) -> Changes {
        std::mem::take(&mut self.changes)
    }

    pub fn activity(&self, node: NodeId) -> Option<&Activity> {
        self.activity.get(&node)
    }

    pub fn traits_of(&self, node: NodeId) -> &[TraitValue] {
        self.traits.get(&node).map_or(&[], Vec::as_slice)
    }

    pub fn suggestions(&self) -> &[Suggestion] {
        &self.suggestions
    }

    pub fn suggestion(&self, id: u64) -> Option<&Suggestion> {
        id.checked_sub(1)
            .and_then(|i| self.suggestions.get(i as usize))
    }

    // ---- replaying what the store holds ----

    /// Puts a stored identity back; identities must come in node order.
    pub fn restore_identity(&mut self, node: NodeId, identity: &Identity, erased: bool) {
        let (got, _) = self.graph.intern(identity);
        debug_assert_eq!(got, node, "identities restored out of order");
        if erased {
            self.graph.forget(node);
            self.erased.insert(node);
        } else {
            self.index_keys(node, None);
        }
    }

    /// Puts a stored link back; links must come in id order.
    pub fn restore_edge(&mut self, edge: &Edge) {
        let id = if edge.active {
            self.graph
                .add_edge(edge.a, edge.b, edge.evidence.clone())
                .edge
        } else {
            self.graph
                .add_removed_edge(edge.a, edge.b, edge.evidence.clone())
        };
        debug_assert_eq!(id, edge.id, "links restored out of order");
    }

    pub fn restore_trait(&mut self, node: NodeId, value: TraitValue) {
        if let Some(name) = value.value.as_str().filter(|_| value.name == "name") {
            let name = name.to_string();
            self.index_keys(node, Some(&name));
        }
        put_trait(self.traits.entry(node).or_default(), value);
    }

    pub fn restore_activity(&mut self, node: NodeId, activity: Activity) {
        self.activity.insert(node, activity);
    }

    /// Puts a stored CRM event back.
    pub fn restore_event(&mut self, node: NodeId, kind: &str, event_id: &str, at: i64) {
        self.remember_event(node, kind, event_id, at);
    }

    /// Puts stored segments back and evaluates them all, in one pass over the profiles.
    pub fn restore_segments(&mut self, segments: Vec<(String, Segment)>, now: i64) {
        let mut memberships = std::mem::take(&mut self.segments);
        memberships.define_all(segments, self, now);
        self.segments = memberships;
    }

    /// Puts a stored suggestion back; suggestions must come in id order.
    pub fn restore_suggestion(&mut self, suggestion: Suggestion) {
        let index = self.suggestions.len();
        self.suggested
            .insert(ordered(suggestion.a, suggestion.b), index);
        self.suggestions.push(suggestion);
    }

    // ---- messages ----

    /// Takes in one stored message's author: its identifiers become identities; on a
    /// trusted channel they are linked, elsewhere the extra ones are claims that become
    /// suggestions. Returns the author's main identity on the channel, if it has one.
    pub fn observe(&mut self, s: &Sighting<'_>) -> Option<NodeId> {
        let trusted = self.config.is_trusted_channel(s.channel);
        let (primary, secondaries) = self.author_identities(s);
        let primary = primary?;
        let (node, _) = self.intern(&primary, s.at);
        if let Some(seq) = s.seq {
            self.changes.sightings.push((seq, node, s.at));
        }
        self.activity
            .entry(node)
            .or_default()
            .record(s.channel, s.at, s.outbound, s.sentiment);
        self.changes.activity.insert(node);
        if s.outbound {
            // An outbound message's author is us, not the customer: count, link nothing.
            return Some(node);
        }
        let source = format!("message:{}/{}", s.channel, s.message_id);
        for secondary in secondaries {
            let (other, _) = self.intern(&secondary, s.at);
            if other == node {
                continue;
            }
            if trusted && self.config.links_on(secondary.kind.as_str()) && secondary.is_linkable() {
                let kind = match s.channel {
                    "chat" => EdgeKind::VerifiedIdentify,
                    "crm" => EdgeKind::CrmRecord,
                    _ => EdgeKind::TrustedSource,
                };
                if !self.graph.has_link(node, other, kind) {
                    let evidence = Evidence {
                        kind,
                        source: source.clone(),
                        confidence: 1.0,
                        at: s.at,
                    };
                    self.system_link(node, other, evidence);
                }
            } else if secondary.is_linkable() {
                let why = format!(
                    "{} claims {} in message {}/{} (an untrusted source)",
                    self.graph.identity(node),
                    secondary,
                    s.channel,
                    s.message_id
                );
                self.suggest(node, other, 0.7, why, s.at);
            }
        }
        if let Some(name) = s.author.name.map(str::trim).filter(|n| !n.is_empty()) {
            let value = Value::String(name.to_string());
            let source = format!("message:{}", s.channel);
            if self.set_trait_if_changed(node, "name", value, &source, trusted, s.at) {
                self.index_keys(node, Some(name));
                self.suggest_from_keys(node, Some(name), s.at);
            }
        }
        if let Some(country) = s.author.country.map(str::trim).filter(|c| !c.is_empty()) {
            let source = format!("message:{}", s.channel);
            self.set_trait_if_changed(
                node,
                "country",
                Value::String(country.to_uppercase()),
                &source,
                trusted,
                s.at,
            );
        }
        Some(node)
    }

    /// The author's identity on the channel, and the other identifiers it gave.
    fn author_identities(&mut self, s: &Sighting<'_>) -> (Option<Identity>, Vec<Identity>) {
        let a = &s.author;
        let mut found: Vec<Identity> = Vec::with_capacity(3);
        let n = &self.normalizer;
        let push = |found: &mut Vec<Identity>, x: Normalized| {
            if let Some(i) = x.into_identity().filter(|i| !found.contains(i)) {
                found.push(i);
            }
        };
        // The channel's own identifier first: it is the author's identity there.
        match s.channel {
            "email" => {}
            "sms" | "whatsapp" | "phone" => {}
            "chat" => {
                if let Some(id) = a.id {
                    push(&mut found, n.visitor(id));
                }
            }
            "crm" => {
                if let Some(id) = a.id {
                    push(&mut found, n.crm(id));
                }
            }
            channel => {
                if let Some(handle) = a.handle {
                    push(&mut found, n.handle(channel, handle));
                } else if let Some(id) = a.id {
                    push(&mut found, n.handle(channel, &format!("#{id}")));
                }
            }
        }
        if let Some(email) = a.email {
            push(&mut found, n.email(email));
        }
        if let Some(phone) = a.phone {
            let normalized = match self.phone_cache.get(phone) {
                Some(x) => x.clone(),
                None => {
                    let x = self.normalizer.phone(phone);
                    if self.phone_cache.len() > 100_000 {
                        self.phone_cache.clear();
                    }
                    self.phone_cache.insert(phone.to_string(), x.clone());
                    x
                }
            };
            push(&mut found, normalized);
        }
        if found.is_empty() {
            return (None, found);
        }
        let primary = found.remove(0);
        (Some(primary), found)
    }

    fn intern(&mut self, identity: &Identity, at: i64) -> (NodeId, bool) {
        let (node, new) = self.graph.intern(identity);
        if new {
            self.changes.identities.push((node, identity.clone(), at));
            self.index_keys(node, None);
            self.suggest_from_keys(node, None, at);
        }
        (node, new)
    }

    /// A link made by a rule or trusted source: refused links are logged once per pair.
    fn system_link(&mut self, a: NodeId, b: NodeId, evidence: Evidence) -> Option<Linked> {
        let at = evidence.at;
        let reason = format!("{} from {}", evidence.kind.as_str(), evidence.source);
        match self.graph.link(a, b, evidence, &self.config.rules) {
            Ok(linked) => {
                self.record_link(linked, SYSTEM, AuditAction::Link, reason, at);
                Some(linked)
            }
            Err(refusal) => {
                if self.refused.insert(ordered(a, b)) {
                    self.changes.audit.push(AuditEntry {
                        at,
                        actor: SYSTEM.into(),
                        action: AuditAction::Refuse,
                        a,
                        b: Some(b),
                        edge: None,
                        reason: format!("{reason}: {refusal}"),
                    });
                }
                None
            }
        }
    }

    fn record_link(
        &mut self,
        linked: Linked,
        actor: &str,
        action: AuditAction,
        reason: String,
        at: i64,
    ) {
        let edge = self.graph.edge(linked.edge).expect("just added").clone();
        self.changes.audit.push(AuditEntry {
            at,
            actor: actor.to_string(),
            action,
            a: edge.a,
            b: Some(edge.b),
            edge: Some(edge.id),
            reason,
        });
        self.changes.edges.push(edge);
    }

    // ---- traits ----

    /// Sets a trait on an identity from a source. False when it already had that value.
    pub fn set_trait_if_changed(
        &mut self,
        node: NodeId,
        name: &str,
        value: Value,
        source: &str,
        trusted: bool,
        at: i64,
    ) -> bool {
        let list = self.traits.entry(node).or_default();
        if list
            .iter()
            .any(|t| t.name == name && t.source == source && t.value == value)
        {
            return false;
        }
        let tv = TraitValue {
            name: name.to_string(),
            value,
            source: source.to_string(),
            trusted,
            at,
        };
        put_trait(list, tv.clone());
        self.changes.traits.push((node, tv));
        true
    }

    /// Sets a trait on the identity written `identity` (an agent's or an API's word).
    pub fn set_trait(
        &mut self,
        identity: &Identity,
        name: &str,
        value: Value,
        source: &str,
        at: i64,
    ) -> Result<(), ProfileError> {
        let node = self.known(identity)?;
        if name.is_empty() || name.len() > 100 {
            return Err(ProfileError::BadInput(format!(
                "trait name {name:?} must be 1 to 100 bytes"
            )));
        }
        self.set_trait_if_changed(node, name, value, source, true, at);
        Ok(())
    }

    // ---- the CRM ----

    /// Takes in one CRM customer: its id becomes a `crm:` identity linked to its emails and
    /// phones (kind `crm_record`), its other columns become trusted traits.
    pub fn import_customer(
        &mut self,
        c: &CrmCustomer,
        source: &str,
        at: i64,
    ) -> Result<CustomerOutcome, ProfileError> {
        let crm = match self.normalizer.crm(&c.id) {
            Normalized::Linkable(i) => i,
            _ => {
                return Err(ProfileError::BadInput(format!(
                    "customer id {:?} is empty, a placeholder or malformed",
                    c.id
                )));
            }
        };
        let (node, _) = self.intern(&crm, at);
        let mut outcome = CustomerOutcome {
            node: Some(node),
            ..CustomerOutcome::default()
        };
        let mut others = Vec::new();
        for email in &c.emails {
            match self.normalizer.email(email) {
                Normalized::Linkable(i) => others.push(i),
                Normalized::Raw(i) => {
                    self.intern(&i, at);
                    outcome
                        .skipped
                        .push(format!("malformed email {email:?} kept as {i}, not linked"));
                }
                Normalized::Junk => outcome
                    .skipped
                    .push(format!("placeholder email {email:?} ignored")),
            }
        }
        for phone in &c.phones {
            match self.normalizer.phone(phone) {
                Normalized::Linkable(i) => others.push(i),
                Normalized::Raw(i) => {
                    self.intern(&i, at);
                    outcome
                        .skipped
                        .push(format!("malformed phone {phone:?} kept as {i}, not linked"));
                }
                Normalized::Junk => outcome
                    .skipped
                    .push(format!("placeholder phone {phone:?} ignored")),
            }
        }
        for other in others {
            let (o, _) = self.intern(&other, at);
            if !self.config.links_on(other.kind.as_str())
                || self.graph.has_link(node, o, EdgeKind::CrmRecord)
            {
                continue;
            }
            let evidence = Evidence {
                kind: EdgeKind::CrmRecord,
                source: format!("crm:{source}"),
                confidence: 1.0,
                at,
            };
            if let Some(refusal) = self.graph.check(node, o, &self.config.rules) {
                outcome.refused.push(format!("{crm} – {other}: {refusal}"));
            }
            if self.system_link(node, o, evidence).is_some() {
                outcome.links += 1;
            }
        }
        let source = format!("crm:{source}");
        let name = c.name.as_deref().map(str::trim).filter(|n| !n.is_empty());
        if let Some(name) = name
            && self.set_trait_if_changed(
                node,
                "name",
                Value::String(name.into()),
                &source,
                true,
                at,
            )
        {
            self.index_keys(node, Some(name));
            self.suggest_from_keys(node, Some(name), at);
        }
        for (k, v) in &c.traits {
            self.set_trait_if_changed(node, k, v.clone(), &source, true, at);
        }
        Ok(outcome)
    }

    /// Records a CRM event for a customer (by CRM id), for the timeline.
    pub fn add_event(
        &mut self,
        crm_id: &str,
        kind: &str,
        event_id: &str,
        at: i64,
        data: Value,
    ) -> Result<NodeId, ProfileError> {
        let crm = match self.normalizer.crm(crm_id) {
            Normalized::Linkable(i) => i,
            _ => {
                return Err(ProfileError::BadInput(format!(
                    "customer id {crm_id:?} is empty, a placeholder or malformed"
                )));
            }
        };
        if kind.is_empty() || event_id.is_empty() {
            return Err(ProfileError::BadInput(
                "an event needs a kind and an id".into(),
            ));
        }
        let (node, _) = self.intern(&crm, at);
        self.remember_event(node, kind, event_id, at);
        self.changes.events.push(CrmEvent {
            node,
            kind: kind.into(),
            event_id: event_id.into(),
            at,
            data,
        });
        Ok(node)
    }

    /// Keeps an event's kind and time for segments; the same event again changes nothing.
    fn remember_event(&mut self, node: NodeId, kind: &str, event_id: &str, at: i64) {
        if self
            .event_keys
            .insert((kind.to_string(), event_id.to_string()))
        {
            let list = self.events.entry(node).or_default();
            list.push((kind.to_string(), event_id.to_string(), at));
        }
    }

    // ---- agents ----

    fn known(&self, identity: &Identity) -> Result<NodeId, ProfileError> {
        self.graph
            .node(identity)
            .ok_or_else(|| ProfileError::UnknownIdentity(identity.to_string()))
    }

    /// Links two identities on an agent's word.
    pub fn link(
        &mut self,
        a: &Identity,
        b: &Identity,
        actor: &str,
        reason: &str,
        at: i64,
    ) -> Result<Linked, ProfileError> {
        let (na, nb) = (self.known(a)?, self.known(b)?);
        self.agent_link(
            na,
            nb,
            actor,
            reason,
            format!("agent:{actor}"),
            AuditAction::Link,
            at,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn agent_link(
        &mut self,
        na: NodeId,
        nb: NodeId,
        actor: &str,
        reason: &str,
        source: String,
        action: AuditAction,
        at: i64,
    ) -> Result<Linked, ProfileError> {
        require_reason(reason)?;
        if self.graph.profile_of(na) == self.graph.profile_of(nb) {
            return Err(ProfileError::SelfMerge(profile_name(
                self.graph.profile_of(na),
            )));
        }
        let evidence = Evidence {
            kind: EdgeKind::Agent,
            source,
            confidence: 1.0,
            at,
        };
        match self.graph.link(na, nb, evidence, &self.config.rules) {
            Ok(linked) => {
                self.record_link(linked, actor, action, reason.to_string(), at);
                Ok(linked)
            }
            Err(refusal) => {
                self.changes.audit.push(AuditEntry {
                    at,
                    actor: actor.into(),
                    action: AuditAction::Refuse,
                    a: na,
                    b: Some(nb),
                    edge: None,
                    reason: format!("{reason}: {refusal}"),
                });
                Err(ProfileError::Refused(refusal.to_string()))
            }
        }
    }

    /// Removes one link by id.
    pub fn unlink_edge(
        &mut self,
        edge: u64,
        actor: &str,
        reason: &str,
        at: i64,
    ) -> Result<Unlinked, ProfileError> {
        require_reason(reason)?;
        let (a, b) = match self.graph.edge(edge) {
            Some(e) if e.active => (e.a, e.b),
            _ => {
                return Err(ProfileError::NotLinked(format!(
                    "link {edge} is not an active link"
                )));
            }
        };
        let done = self.graph.unlink(edge).expect("checked active");
        self.changes.removed.push((edge, at));
        self.changes.audit.push(AuditEntry {
            at,
            actor: actor.into(),
            action: AuditAction::Unlink,
            a,
            b: Some(b),
            edge: Some(edge),
            reason: reason.into(),
        });
        // A rule that refused this pair before may allow it now; let it be logged again.
        self.refused.remove(&ordered(a, b));
        Ok(done)
    }

    /// Removes every direct link between two identities.
    pub fn unlink(
        &mut self,
        a: &Identity,
        b: &Identity,
        actor: &str,
        reason: &str,
        at: i64,
    ) -> Result<Unlinked, ProfileError> {
        require_reason(reason)?;
        let (na, nb) = (self.known(a)?, self.known(b)?);
        let edges: Vec<u64> = self
            .graph
            .links_between(na, nb)
            .iter()
            .map(|e| e.id)
            .collect();
        if edges.is_empty() {
            let hint = if self.graph.profile_of(na) == self.graph.profile_of(nb) {
                " (they are in one profile through other links; remove one of those)"
            } else {
                ""
            };
            return Err(ProfileError::NotLinked(format!(
                "{a} and {b} are not linked{hint}"
            )));
        }
        let mut split = false;
        for edge in edges {
            split |= self.unlink_edge(edge, actor, reason, at)?.split;
        }
        Ok(Unlinked { split })
    }

    /// Accepts a suggestion: its identities are linked on the agent's word.
    pub fn accept(
        &mut self,
        id: u64,
        actor: &str,
        reason: &str,
        at: i64,
    ) -> Result<Linked, ProfileError> {
        let s = self.open_suggestion(id)?;
        let (a, b) = (s.a, s.b);
        let reason = if reason.trim().is_empty() {
            format!("accepted suggestion {id}")
        } else {
            reason.to_string()
        };
        let linked = self.agent_link(
            a,
            b,
            actor,
            &reason,
            format!("suggestion:{id}"),
            AuditAction::Accept,
            at,
        )?;
        self.decide(id, SuggestionStatus::Accepted, actor, at);
        Ok(linked)
    }

    pub fn reject(
        &mut self,
        id: u64,
        actor: &str,
        reason: &str,
        at: i64,
    ) -> Result<(), ProfileError> {
        let s = self.open_suggestion(id)?;
        let (a, b) = (s.a, s.b);
        self.decide(id, SuggestionStatus::Rejected, actor, at);
        self.changes.audit.push(AuditEntry {
            at,
            actor: actor.into(),
            action: AuditAction::Reject,
            a,
            b: Some(b),
            edge: None,
            reason: if reason.trim().is_empty() {
                format!("rejected suggestion {id}")
            } else {
                reason.into()
            },
        });
        Ok(())
    }

    fn open_suggestion(&self, id: u64) -> Result<&Suggestion, ProfileError> {
        let s = self
            .suggestion(id)
            .ok_or(ProfileError::UnknownSuggestion(id))?;
        if s.status != SuggestionStatus::Open {
            return Err(ProfileError::Decided(id, s.status.as_str()));
        }
        Ok(s)
    }

    fn decide(&mut self, id: u64, status: SuggestionStatus, actor: &str, at: i64) {
        let s = &mut self.suggestions[id as usize - 1];
        s.status = status;
        s.decided_by = Some(actor.into());
        s.decided_at = Some(at);
        self.changes.suggestions.push(s.clone());
    }

    // ---- suggestions ----

    fn index_keys(&mut self, node: NodeId, name: Option<&str>) {
        let max = self.config.max_suggestion_bucket;
        for (key, _) in self.keys(node, name) {
            let bucket = self.buckets.entry(key).or_default();
            // Past the cap the key is too common to mean anything: stop growing it.
            if bucket.len() <= max && !bucket.contains(&node) {
                bucket.push(node);
            }
        }
    }

    fn keys(&self, node: NodeId, name: Option<&str>) -> Vec<(String, KeyKind)> {
        let mut keys = Vec::new();
        if let Some(k) = local_key(self.graph.identity(node)) {
            keys.push((k, KeyKind::Local));
        }
        if let Some(k) = name.and_then(name_key) {
            keys.push((k, KeyKind::Name));
        }
        keys
    }

    fn suggest_from_keys(&mut self, node: NodeId, name: Option<&str>, at: i64) {
        let max = self.config.max_suggestion_bucket;
        for (key, kind) in self.keys(node, name) {
            let Some(bucket) = self.buckets.get(&key) else {
                continue;
            };
            if bucket.len() > max {
                continue;
            }
            let others: Vec<NodeId> = bucket.iter().copied().filter(|&o| o != node).collect();
            for other in others {
                let why = match kind {
                    KeyKind::Local => format!(
                        "{} and {} share the name part {:?}",
                        self.graph.identity(node),
                        self.graph.identity(other),
                        &key["local:".len()..]
                    ),
                    KeyKind::Name => format!(
                        "{} and {} are both called {:?}",
                        self.graph.identity(node),
                        self.graph.identity(other),
                        name.unwrap_or_default()
                    ),
                };
                self.suggest(node, other, kind.weight(), why, at);
            }
        }
    }

    /// Adds (or strengthens) a suggestion that two identities are one person, unless they
    /// are one profile already, were decided before, or a rule would refuse the link.
    fn suggest(&mut self, a: NodeId, b: NodeId, score: f32, why: String, at: i64) {
        if self.graph.profile_of(a) == self.graph.profile_of(b)
            || self.erased.contains(&a)
            || self.erased.contains(&b)
        {
            return;
        }
        let key = ordered(a, b);
        if let Some(&index) = self.suggested.get(&key) {
            let s = &mut self.suggestions[index];
            if s.status == SuggestionStatus::Open
                && !s.evidence.contains(&why)
                && s.evidence.len() < 8
            {
                s.evidence.push(why);
                s.score = 1.0 - (1.0 - s.score) * (1.0 - score);
                self.changes.suggestions.push(s.clone());
            }
            return;
        }
        if self.graph.check(a, b, &self.config.rules).is_some() {
            return;
        }
        let id = self.suggestions.len() as u64 + 1;
        let s = Suggestion {
            id,
            a: key.0,
            b: key.1,
            score,
            evidence: vec![why],
            status: SuggestionStatus::Open,
            created_at: at,
            decided_by: None,
            decided_at: None,
        };
        self.suggested.insert(key, self.suggestions.len());
        self.changes.suggestions.push(s.clone());
        self.suggestions.push(s);
    }

    // ---- reading ----

    /// The profile an identity is in.
    pub fn profile_of(&self, identity: &Identity) -> Option<ProfileView> {
        self.graph
            .node(identity)
            .map(|n| self.view(self.graph.profile_of(n)))
    }

    /// A profile by name (`p17`).
    pub fn profile(&self, name: &str) -> Result<ProfileView, ProfileError> {
        let root = parse_profile_name(name)
            .filter(|&r| {
                (r as usize) < self.graph.len()
                    && self.graph.profile_of(r) == r
                    && !self.erased.contains(&r)
            })
            .ok_or_else(|| ProfileError::UnknownProfile(name.to_string()))?;
        Ok(self.view(root))
    }

    pub fn view(&self, root: NodeId) -> ProfileView {
        let members = self.graph.members(root);
        let mut links = Vec::new();
        for &m in &members {
            for e in self.graph.links_of(m) {
                if e.a == m {
                    links.push(e.clone());
                }
            }
        }
        links.sort_by_key(|e| e.id);
        ProfileView {
            name: profile_name(root),
            root,
            identities: members
                .iter()
                .map(|&m| (m, self.graph.identity(m).clone()))
                .collect(),
            traits: self.resolved_traits(&members),
            activity: self.summed_activity(&members),
            links,
        }
    }

    /// The traits of a profile's identities, each resolved by its strategy.
    fn resolved_traits(&self, members: &[NodeId]) -> BTreeMap<String, Value> {
        let mut by_name: BTreeMap<&str, Vec<&TraitValue>> = BTreeMap::new();
        for &m in members {
            for t in self.traits_of(m) {
                by_name.entry(&t.name).or_default().push(t);
            }
        }
        by_name
            .into_iter()
            .filter_map(|(name, values)| {
                resolve(self.config.strategy(name), &values).map(|v| (name.to_string(), v))
            })
            .collect()
    }

    /// A profile's computed traits: its identities' counters added up.
    fn summed_activity(&self, members: &[NodeId]) -> Activity {
        let mut activity = Activity::default();
        for m in members {
            if let Some(a) = self.activity.get(m) {
                activity.absorb(a);
            }
        }
        activity
    }

    // ---- segments ----

    /// Defines (or redefines) a segment and finds its members. `key` names it in the API:
    /// letters, digits, `_` and `-`, at most 64.
    pub fn define_segment(
        &mut self,
        key: &str,
        definition: &str,
        now: i64,
    ) -> Result<&LiveSegment, ProfileError> {
        check_segment_key(key)?;
        let segment = Segment::parse(definition).map_err(ProfileError::BadSegment)?;
        let mut memberships = std::mem::take(&mut self.segments);
        memberships.define(key, segment, self, now);
        self.segments = memberships;
        self.changes
            .segments
            .push((key.to_string(), definition.to_string(), now));
        Ok(self.segments.get(key).expect("segment just defined"))
    }

    pub fn remove_segment(&mut self, key: &str) -> Result<(), ProfileError> {
        self.segments
            .remove(key)
            .ok_or_else(|| ProfileError::UnknownSegment(key.to_string()))?;
        self.changes.segments_removed.push(key.to_string());
        Ok(())
    }

    pub fn segment(&self, key: &str) -> Result<&LiveSegment, ProfileError> {
        self.segments
            .get(key)
            .ok_or_else(|| ProfileError::UnknownSegment(key.to_string()))
    }

    pub fn segments(&self) -> &Memberships {
        &self.segments
    }

    /// Brings segment membership up to date with `changes` (taken from this graph).
    pub fn refresh_segments(&mut self, changes: &Changes, now: i64) {
        if self.segments.is_empty() {
            return;
        }
        let touched = self.touched(changes);
        let mut memberships = std::mem::take(&mut self.segments);
        memberships.refresh(self, &touched, now);
        self.segments = memberships;
    }

    /// Evaluates in full the segments that time alone can change and that were last
    /// evaluated in full before `now - max_age`.
    pub fn recheck_timed_segments(&mut self, now: i64, max_age: i64) {
        let mut memberships = std::mem::take(&mut self.segments);
        memberships.recheck_timed(self, now, max_age);
        self.segments = memberships;
    }

    /// Every identity whose profile or facts `changes` may have altered.
    fn touched(&self, c: &Changes) -> BTreeSet<NodeId> {
        let mut nodes = BTreeSet::new();
        nodes.extend(c.identities.iter().map(|(n, _, _)| *n));
        for e in &c.edges {
            nodes.extend([e.a, e.b]);
        }
        for &(id, _) in &c.removed {
            if let Some(e) = self.graph.edge(id) {
                nodes.extend([e.a, e.b]);
            }
        }
        nodes.extend(c.traits.iter().map(|(n, _)| *n));
        nodes.extend(c.activity.iter().copied());
        nodes.extend(c.sightings.iter().map(|&(_, n, _)| n));
        nodes.extend(c.events.iter().map(|e| e.node));
        nodes.extend(c.erased.iter().copied());
        nodes
    }

    // ---- privacy ----

    /// Erases a profile: every identity's value, its traits and links are gone (the links'
    /// history stays, naming erased identities), suggestions about it are rejected.
    /// Activity counters stay: they are aggregates, not personal data.
    pub fn erase(
        &mut self,
        name: &str,
        actor: &str,
        reason: &str,
        at: i64,
    ) -> Result<Vec<NodeId>, ProfileError> {
        require_reason(reason)?;
        let view = self.profile(name)?;
        let members: Vec<NodeId> = view.identities.iter().map(|(n, _)| *n).collect();
        for &m in &members {
            let edges: Vec<u64> = self.graph.links_of(m).map(|e| e.id).collect();
            for edge in edges {
                if self.graph.edge(edge).is_some_and(|e| e.active) {
                    self.graph.unlink(edge);
                    self.changes.removed.push((edge, at));
                }
            }
        }
        for &m in &members {
            self.graph.forget(m);
            self.erased.insert(m);
            self.traits.remove(&m);
            for (kind, event_id, _) in self.events.remove(&m).unwrap_or_default() {
                self.event_keys.remove(&(kind, event_id));
            }
            for bucket in self.buckets.values_mut() {
                bucket.retain(|&n| n != m);
            }
        }
        let open: Vec<u64> = self
            .suggestions
            .iter()
            .filter(|s| {
                s.status == SuggestionStatus::Open
                    && (members.contains(&s.a) || members.contains(&s.b))
            })
            .map(|s| s.id)
            .collect();
        for id in open {
            self.decide(id, SuggestionStatus::Rejected, actor, at);
        }
        self.changes.audit.push(AuditEntry {
            at,
            actor: actor.into(),
            action: AuditAction::Erase,
            a: view.root,
            b: None,
            edge: None,
            reason: format!("{reason} ({} identities)", members.len()),
        });
        self.changes.erased.extend(&members);
        Ok(members)
    }

    pub fn is_erased(&self, node: NodeId) -> bool {
        self.erased.contains(&node)
    }
}

impl Population for Profiles {
    fn roots(&self) -> Vec<NodeId> {
        (0..self.graph.len() as NodeId)
            .filter(|&n| self.graph.profile_of(n) == n && !self.erased.contains(&n))
            .collect()
    }

    fn root_of(&self, node: NodeId) -> Option<NodeId> {
        ((node as usize) < self.graph.len() && !self.erased.contains(&node))
            .then(|| self.graph.profile_of(node))
    }

    fn members_of(&self, root: NodeId) -> Vec<NodeId> {
        self.graph.members(root)
    }

    fn with_facts(&self, root: NodeId, f: &mut dyn FnMut(&Facts<'_>)) {
        let members = self.graph.member_slice(root);
        let traits = self.resolved_traits(members);
        let activity = self.summed_activity(members);
        let events: Vec<(&str, i64)> = members
            .iter()
            .filter_map(|m| self.events.get(m))
            .flatten()
            .map(|(kind, _, at)| (kind.as_str(), *at))
            .collect();
        f(&Facts {
            traits: &traits,
            activity: &activity,
            events: &events,
            identities: members.len(),
        });
    }
}

fn check_segment_key(key: &str) -> Result<(), ProfileError> {
    let ok = !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ProfileError::BadInput(format!(
            "segment key {key:?}: use 1 to 64 letters, digits, `_` or `-`"
        )))
    }
}

fn put_trait(list: &mut Vec<TraitValue>, value: TraitValue) {
    match list
        .iter_mut()
        .find(|t| t.name == value.name && t.source == value.source)
    {
        Some(slot) => *slot = value,
        None => list.push(value),
    }
}

fn ordered(a: NodeId, b: NodeId) -> (NodeId, NodeId) {
    if a < b { (a, b) } else { (b, a) }
}

fn require_reason(reason: &str) -> Result<(), ProfileError> {
    if reason.trim().is_empty() {
        return Err(ProfileError::BadInput(
            "say why: a reason is required for the audit log".into(),
        ));
    }
    if reason.len() > 2000 {
        return Err(ProfileError::BadInput(
            "the reason is longer than 2000 bytes".into(),
        ));
    }
    Ok(())
}

impl Graph {
    /// Forgets an identity's value (erasure): it stays a node, named by its number only,
    /// and the value can no longer be looked up.
    pub fn forget(&mut self, node: NodeId) {
        let old = self.identity(node).clone();
        self.remove_index(&old);
        self.set_identity(
            node,
            Identity::new(
                Kind::Raw("erased".into()),
                format!("{}", u64::from(node) + 1),
            ),
        );
    }
}
