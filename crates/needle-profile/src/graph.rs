//! The evidence graph: identities are nodes, links are edges that each carry their evidence
//! (what kind, from where, how sure, when). A profile is a connected component of active
//! edges, named after its oldest identity, so the same evidence always gives the same
//! profiles and the same names, however it was added, removed or replayed.
//!
//! Adding an edge merges two components by relabelling the members of the one whose name
//! changes. Removing one looks at what the remaining edges still connect and splits the
//! component in two when they no longer connect both ends: the split is exactly what the
//! remaining evidence says. Rules (see [`crate::config::Rules`]) are checked before a merge;
//! a merge that would break one is refused and nothing changes.

use std::collections::{HashMap, HashSet, VecDeque};

use serde::{Deserialize, Serialize};

use crate::config::Rules;
use crate::identity::{Identity, Kind};

/// An identity's place in the graph: dense, in order of first sighting. The store keeps it
/// as `node + 1`.
pub type NodeId = u32;

/// What kind of evidence a link rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// A source the workspace trusts said so (the sender of an email is that address).
    TrustedSource,
    /// A CRM record holds both identifiers.
    CrmRecord,
    /// A chat widget's identify call, made by the customer's own signed-in site.
    VerifiedIdentify,
    /// A deterministic rule of the workspace.
    Rule,
    /// An agent decided (a suggestion accepted, or a link made by hand).
    Agent,
}

impl EdgeKind {
    pub const ALL: [EdgeKind; 5] = [
        EdgeKind::TrustedSource,
        EdgeKind::CrmRecord,
        EdgeKind::VerifiedIdentify,
        EdgeKind::Rule,
        EdgeKind::Agent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EdgeKind::TrustedSource => "trusted_source",
            EdgeKind::CrmRecord => "crm_record",
            EdgeKind::VerifiedIdentify => "verified_identify",
            EdgeKind::Rule => "rule",
            EdgeKind::Agent => "agent",
        }
    }

    pub fn parse(s: &str) -> Option<EdgeKind> {
        EdgeKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Why two identities are linked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub kind: EdgeKind,
    /// Where it came from: `message:email/<id>`, `crm:customers.csv`, `suggestion:12`.
    pub source: String,
    /// 0..=1; deterministic evidence is 1.
    pub confidence: f32,
    /// Microseconds since the epoch.
    pub at: i64,
}

/// A link between two identities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Edge {
    /// Unique in a workspace, from 1, in order of creation.
    pub id: u64,
    pub a: NodeId,
    pub b: NodeId,
    pub evidence: Evidence,
    pub active: bool,
}

/// Why a link was not made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// One side is a raw (malformed) identity.
    Raw(String),
    /// The merged profile would hold two identities of an exclusive kind (two CRM ids).
    Exclusive {
        kind: String,
        first: String,
        second: String,
    },
    /// The merged profile would exceed a cardinality cap.
    Cap {
        per: String,
        of: String,
        max: usize,
        would_be: usize,
    },
    /// The merged profile would hold more identities than any person plausibly has.
    TooLarge { max: usize, would_be: usize },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Raw(id) => write!(f, "{id} is malformed and never linked on"),
            Refusal::Exclusive {
                kind,
                first,
                second,
            } => write!(
                f,
                "the profile would hold two different {kind} identities ({first} and {second})"
            ),
            Refusal::Cap {
                per,
                of,
                max,
                would_be,
            } => write!(
                f,
                "a profile with a {per} identity may hold at most {max} {of} identities; this link would make {would_be}"
            ),
            Refusal::TooLarge { max, would_be } => write!(
                f,
                "a profile may hold at most {max} identities; this link would make {would_be}"
            ),
        }
    }
}

/// What a successful link did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Linked {
    pub edge: u64,
    /// Two profiles became one.
    pub merged: bool,
}

/// What removing a link did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unlinked {
    /// The profile split in two (the other edges no longer connect both ends).
    pub split: bool,
}

#[derive(Debug, Default, Clone)]
pub struct Graph {
    identities: Vec<Identity>,
    index: HashMap<Identity, NodeId>,
    edges: Vec<Edge>,
    /// Active edges per node, as indexes into `edges`.
    adjacency: Vec<Vec<u32>>,
    /// Active edges between each pair (smaller node first).
    pairs: HashMap<(NodeId, NodeId), Vec<u32>>,
    /// Each node's component, named by its smallest node.
    root: Vec<NodeId>,
    /// Members of components with more than one node, smallest first; singletons are
    /// implicit to keep a million one-off authors cheap.
    members: HashMap<NodeId, Vec<NodeId>>,
}

fn pair(a: NodeId, b: NodeId) -> (NodeId, NodeId) {
    if a < b { (a, b) } else { (b, a) }
}

impl Graph {
    pub fn new() -> Graph {
        Graph::default()
    }

    /// The node of an identity, adding it when new. Second value: it was new.
    pub fn intern(&mut self, identity: &Identity) -> (NodeId, bool) {
        if let Some(&node) = self.index.get(identity) {
            return (node, false);
        }
        let node = self.identities.len() as NodeId;
        self.identities.push(identity.clone());
        self.index.insert(identity.clone(), node);
        self.adjacency.push(Vec::new());
        self.root.push(node);
        (node, true)
    }

    pub(crate) fn remove_index(&mut self, identity: &Identity) {
        self.index.remove(identity);
    }

    pub(crate) fn set_identity(&mut self, node: NodeId, identity: Identity) {
        self.identities[node as usize] = identity;
    }

    pub fn node(&self, identity: &Identity) -> Option<NodeId> {
        self.index.get(identity).copied()
    }

    pub fn identity(&self, node: NodeId) -> &Identity {
        &self.identities[node as usize]
    }

    pub fn len(&self) -> usize {
        self.identities.len()
    }

    pub fn is_empty(&self) -> bool {
        self.identities.is_empty()
    }

    pub fn edge(&self, id: u64) -> Option<&Edge> {
        id.checked_sub(1).and_then(|i| self.edges.get(i as usize))
    }

    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }

    /// The profile (component) a node is in: its smallest node.
    pub fn profile_of(&self, node: NodeId) -> NodeId {
        self.root[node as usize]
    }

    /// The nodes of a profile, smallest first; empty when `root` names no profile.
    pub fn members(&self, root: NodeId) -> Vec<NodeId> {
        match self.members.get(&root) {
            Some(m) => m.clone(),
            None if (root as usize) < self.root.len() && self.root[root as usize] == root => {
                vec![root]
            }
            None => Vec::new(),
        }
    }

    pub(crate) fn member_slice(&self, root: NodeId) -> &[NodeId] {
        match self.members.get(&root) {
            Some(m) => m,
            None => std::slice::from_ref(&self.root[root as usize]),
        }
    }

    /// Every profile with more than one identity, by name.
    pub fn merged_profiles(&self) -> impl Iterator<Item = (&NodeId, &Vec<NodeId>)> {
        self.members.iter()
    }

    /// The active links touching a node.
    pub fn links_of(&self, node: NodeId) -> impl Iterator<Item = &Edge> {
        self.adjacency[node as usize]
            .iter()
            .map(|&i| &self.edges[i as usize])
    }

    /// Active links between two nodes.
    pub fn links_between(&self, a: NodeId, b: NodeId) -> Vec<&Edge> {
        self.pairs
            .get(&pair(a, b))
            .map(|ids| ids.iter().map(|&i| &self.edges[i as usize]).collect())
            .unwrap_or_default()
    }

    /// An active link of this kind between the two already exists.
    pub fn has_link(&self, a: NodeId, b: NodeId, kind: EdgeKind) -> bool {
        self.pairs.get(&pair(a, b)).is_some_and(|ids| {
            ids.iter()
                .any(|&i| self.edges[i as usize].evidence.kind == kind)
        })
    }

    /// Would linking `a` and `b` break a rule? `None` when it may be made.
    pub fn check(&self, a: NodeId, b: NodeId, rules: &Rules) -> Option<Refusal> {
        for node in [a, b] {
            let identity = self.identity(node);
            if !identity.is_linkable() {
                return Some(Refusal::Raw(identity.to_string()));
            }
        }
        let (ra, rb) = (self.profile_of(a), self.profile_of(b));
        if ra == rb {
            return None;
        }
        let merged: Vec<NodeId> = self
            .member_slice(ra)
            .iter()
            .chain(self.member_slice(rb))
            .copied()
            .collect();
        if merged.len() > rules.max_identities {
            return Some(Refusal::TooLarge {
                max: rules.max_identities,
                would_be: merged.len(),
            });
        }
        for kind in &rules.exclusive {
            let mut seen: Option<&Identity> = None;
            for &node in &merged {
                let identity = self.identity(node);
                if identity.kind.as_str() == kind {
                    match seen {
                        Some(first) => {
                            return Some(Refusal::Exclusive {
                                kind: kind.clone(),
                                first: first.to_string(),
                                second: identity.to_string(),
                            });
                        }
                        None => seen = Some(identity),
                    }
                }
            }
        }
        for cap in &rules.caps {
            let count = |kind: &str| {
                merged
                    .iter()
                    .filter(|&&n| self.identity(n).kind.as_str() == kind)
                    .count()
            };
            if count(&cap.per) > 0 {
                let would_be = count(&cap.of);
                if would_be > cap.max {
                    return Some(Refusal::Cap {
                        per: cap.per.clone(),
                        of: cap.of.clone(),
                        max: cap.max,
                        would_be,
                    });
                }
            }
        }
        None
    }

    /// Links two identities if no rule forbids it. The caller has checked `a != b`.
    pub fn link(
        &mut self,
        a: NodeId,
        b: NodeId,
        evidence: Evidence,
        rules: &Rules,
    ) -> Result<Linked, Refusal> {
        if let Some(refusal) = self.check(a, b, rules) {
            return Err(refusal);
        }
        Ok(self.add_edge(a, b, evidence))
    }

    /// Adds an edge without checking rules: for replaying stored links, which were checked
    /// when they were made.
    pub fn add_edge(&mut self, a: NodeId, b: NodeId, evidence: Evidence) -> Linked {
        let index = self.edges.len() as u32;
        let id = u64::from(index) + 1;
        self.edges.push(Edge {
            id,
            a,
            b,
            evidence,
            active: true,
        });
        self.adjacency[a as usize].push(index);
        self.adjacency[b as usize].push(index);
        self.pairs.entry(pair(a, b)).or_default().push(index);
        let (ra, rb) = (self.profile_of(a), self.profile_of(b));
        if ra == rb {
            return Linked {
                edge: id,
                merged: false,
            };
        }
        let (keep, gone) = if ra < rb { (ra, rb) } else { (rb, ra) };
        let moved = self.members.remove(&gone).unwrap_or_else(|| vec![gone]);
        for &node in &moved {
            self.root[node as usize] = keep;
        }
        let kept = self.members.entry(keep).or_insert_with(|| vec![keep]);
        kept.extend(moved);
        kept.sort_unstable();
        Linked {
            edge: id,
            merged: true,
        }
    }

    /// Records an edge that was removed before (replaying history): it takes its id but
    /// joins nothing.
    pub fn add_removed_edge(&mut self, a: NodeId, b: NodeId, evidence: Evidence) -> u64 {
        let id = self.edges.len() as u64 + 1;
        self.edges.push(Edge {
            id,
            a,
            b,
            evidence,
            active: false,
        });
        id
    }

    /// Removes an active link; the profile splits if nothing else connects its ends.
    /// `None` when there is no such active link.
    pub fn unlink(&mut self, edge_id: u64) -> Option<Unlinked> {
        let index = edge_id.checked_sub(1)? as usize;
        let edge = self.edges.get_mut(index)?;
        if !edge.active {
            return None;
        }
        edge.active = false;
        let (a, b) = (edge.a, edge.b);
        let index = index as u32;
        self.adjacency[a as usize].retain(|&i| i != index);
        self.adjacency[b as usize].retain(|&i| i != index);
        let key = pair(a, b);
        if let Some(ids) = self.pairs.get_mut(&key) {
            ids.retain(|&i| i != index);
            if ids.is_empty() {
                self.pairs.remove(&key);
            }
        }
        let side_a = self.reach(a);
        if side_a.contains(&b) {
            return Some(Unlinked { split: false });
        }
        let old_root = self.profile_of(a);
        let old: Vec<NodeId> = self
            .members
            .remove(&old_root)
            .unwrap_or_else(|| vec![old_root]);
        let side_a: HashSet<NodeId> = side_a.into_iter().collect();
        let (mut part_a, mut part_b): (Vec<NodeId>, Vec<NodeId>) =
            old.into_iter().partition(|n| side_a.contains(n));
        for part in [&mut part_a, &mut part_b] {
            part.sort_unstable();
            let name = part[0];
            for &node in part.iter() {
                self.root[node as usize] = name;
            }
            if part.len() > 1 {
                self.members.insert(name, std::mem::take(part));
            }
        }
        Some(Unlinked { split: true })
    }

    /// Every node the active edges connect to `start`.
    fn reach(&self, start: NodeId) -> Vec<NodeId> {
        let mut seen = HashSet::from([start]);
        let mut queue = VecDeque::from([start]);
        let mut out = vec![start];
        while let Some(node) = queue.pop_front() {
            for &i in &self.adjacency[node as usize] {
                let e = &self.edges[i as usize];
                let next = if e.a == node { e.b } else { e.a };
                if seen.insert(next) {
                    out.push(next);
                    queue.push_back(next);
                }
            }
        }
        out
    }

    /// Identities of one kind in a profile.
    pub fn count_kind(&self, root: NodeId, kind: &Kind) -> usize {
        self.member_slice(root)
            .iter()
            .filter(|&&n| &self.identity(n).kind == kind)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Cap, Rules};
    use proptest::prelude::*;

    fn evidence(kind: EdgeKind) -> Evidence {
        Evidence {
            kind,
            source: "test".into(),
            confidence: 1.0,
            at: 0,
        }
    }

    fn id(s: &str) -> Identity {
        let (k, v) = s.split_once(':').unwrap();
        let kind = match k {
            "email" => Kind::Email,
            "phone" => Kind::Phone,
            "crm" => Kind::Crm,
            other => Kind::Handle(other.into()),
        };
        Identity::new(kind, v)
    }

    fn graph(names: &[&str]) -> (Graph, Vec<NodeId>) {
        let mut g = Graph::new();
        let nodes = names.iter().map(|n| g.intern(&id(n)).0).collect();
        (g, nodes)
    }

    #[test]
    fn links_merge_and_unlinks_split_back() {
        let (mut g, n) = graph(&[
            "mastodon:kim",
            "email:kim@example.com",
            "crm:4711",
            "phone:+49301234567",
        ]);
        let rules = Rules::default();
        let e1 = g
            .link(n[0], n[1], evidence(EdgeKind::Agent), &rules)
            .unwrap();
        assert!(e1.merged);
        g.link(n[1], n[2], evidence(EdgeKind::CrmRecord), &rules)
            .unwrap();
        let e3 = g
            .link(n[2], n[3], evidence(EdgeKind::CrmRecord), &rules)
            .unwrap();
        assert_eq!(g.members(0), vec![0, 1, 2, 3]);
        // A second link between linked identities merges nothing.
        let again = g
            .link(n[0], n[1], evidence(EdgeKind::TrustedSource), &rules)
            .unwrap();
        assert!(!again.merged);
        // Removing one of two parallel links keeps them together.
        assert_eq!(g.unlink(e1.edge), Some(Unlinked { split: false }));
        assert_eq!(g.profile_of(n[0]), 0);
        // Removing the middle link splits into what the rest connects.
        assert_eq!(g.unlink(again.edge), Some(Unlinked { split: true }));
        assert_eq!(g.members(0), vec![0]);
        assert_eq!(g.members(1), vec![1, 2, 3]);
        assert_eq!(g.profile_of(n[3]), 1);
        assert_eq!(g.unlink(again.edge), None, "already removed");
        assert_eq!(g.unlink(99), None);
        assert_eq!(g.unlink(e3.edge), Some(Unlinked { split: true }));
        assert_eq!(g.members(3), vec![3]);
        assert_eq!(g.members(1), vec![1, 2]);
        assert!(g.members(2).is_empty(), "2 names no profile");
    }

    #[test]
    fn two_crm_ids_never_share_a_profile() {
        let (mut g, n) = graph(&["crm:1", "email:fam@example.com", "crm:2"]);
        let rules = Rules::default();
        g.link(n[0], n[1], evidence(EdgeKind::CrmRecord), &rules)
            .unwrap();
        let refusal = g
            .link(n[2], n[1], evidence(EdgeKind::CrmRecord), &rules)
            .unwrap_err();
        assert!(matches!(refusal, Refusal::Exclusive { .. }), "{refusal:?}");
        assert!(refusal.to_string().contains("crm:1") && refusal.to_string().contains("crm:2"));
        assert_eq!(g.profile_of(n[2]), n[2], "nothing changed");
        assert_eq!(g.edges().len(), 1);
    }

    #[test]
    fn caps_stop_runaway_merges() {
        let (mut g, n) = graph(&[
            "crm:1",
            "email:a@x.com",
            "email:b@x.com",
            "email:c@x.com",
            "email:d@x.com",
        ]);
        let rules = Rules {
            caps: vec![Cap {
                per: "crm".into(),
                of: "email".into(),
                max: 3,
            }],
            ..Rules::default()
        };
        for e in &n[1..4] {
            g.link(n[0], *e, evidence(EdgeKind::CrmRecord), &rules)
                .unwrap();
        }
        let refusal = g
            .link(n[0], n[4], evidence(EdgeKind::CrmRecord), &rules)
            .unwrap_err();
        assert_eq!(
            refusal,
            Refusal::Cap {
                per: "crm".into(),
                of: "email".into(),
                max: 3,
                would_be: 4
            }
        );
        // The cap holds whichever side the link comes from.
        assert!(
            g.link(n[4], n[3], evidence(EdgeKind::Agent), &rules)
                .is_err()
        );
        // Without a CRM id in the profile the cap does not apply.
        let (mut g, n) = graph(&[
            "email:a@x.com",
            "email:b@x.com",
            "email:c@x.com",
            "email:d@x.com",
            "email:e@x.com",
        ]);
        for pair in n.windows(2) {
            g.link(pair[0], pair[1], evidence(EdgeKind::Agent), &rules)
                .unwrap();
        }
        let small = Rules {
            max_identities: 2,
            ..Rules::default()
        };
        let (mut g2, m) = graph(&["email:a@x.com", "email:b@x.com", "email:c@x.com"]);
        g2.link(m[0], m[1], evidence(EdgeKind::Agent), &small)
            .unwrap();
        assert!(matches!(
            g2.link(m[1], m[2], evidence(EdgeKind::Agent), &small),
            Err(Refusal::TooLarge { .. })
        ));
        assert_eq!(g.members(0).len(), 5);
    }

    #[test]
    fn raw_identities_are_never_linked() {
        let mut g = Graph::new();
        let a = g.intern(&id("email:kim@example.com")).0;
        let b = g
            .intern(&Identity::new(Kind::Raw("email".into()), "KIM@@x"))
            .0;
        assert!(matches!(
            g.link(a, b, evidence(EdgeKind::Agent), &Rules::default()),
            Err(Refusal::Raw(_))
        ));
    }

    /// The components of `edges` (by an independent union-find), as sorted member lists.
    fn components(nodes: usize, edges: &[(u32, u32)]) -> Vec<Vec<u32>> {
        let mut parent: Vec<u32> = (0..nodes as u32).collect();
        fn find(p: &mut [u32], x: u32) -> u32 {
            let mut x = x;
            while p[x as usize] != x {
                p[x as usize] = p[p[x as usize] as usize];
                x = p[x as usize];
            }
            x
        }
        for &(a, b) in edges {
            let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
            parent[ra.max(rb) as usize] = ra.min(rb);
        }
        let mut groups: HashMap<u32, Vec<u32>> = HashMap::new();
        for n in 0..nodes as u32 {
            let r = find(&mut parent, n);
            groups.entry(r).or_default().push(n);
        }
        let mut out: Vec<Vec<u32>> = groups.into_values().collect();
        out.sort();
        out
    }

    fn profiles_of(g: &Graph) -> Vec<Vec<u32>> {
        let mut out: Vec<Vec<u32>> = (0..g.len() as u32)
            .filter(|&n| g.profile_of(n) == n)
            .map(|n| g.members(n))
            .collect();
        out.sort();
        out
    }

    proptest! {
        /// Unmerge exactness: after removing any links, the profiles are exactly those built
        /// from scratch out of the links that remain, names included.
        #[test]
        fn unlinking_gives_the_profiles_of_the_remaining_evidence(
            nodes in 2usize..24,
            raw_edges in proptest::collection::vec((0u32..24, 0u32..24), 0..40),
            removals in proptest::collection::vec(0usize..40, 0..12),
        ) {
            let names: Vec<String> = (0..nodes).map(|i| format!("email:p{i}@x.com")).collect();
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let (mut g, _) = graph(&refs);
            let rules = Rules { max_identities: usize::MAX, exclusive: vec![], caps: vec![] };
            let mut edges = Vec::new();
            for (a, b) in raw_edges {
                let (a, b) = (a % nodes as u32, b % nodes as u32);
                if a != b {
                    let linked = g.link(a, b, evidence(EdgeKind::Agent), &rules).unwrap();
                    edges.push((linked.edge, a, b));
                }
            }
            let mut removed = HashSet::new();
            for r in removals {
                if edges.is_empty() { break; }
                let (edge, _, _) = edges[r % edges.len()];
                let result = g.unlink(edge);
                prop_assert_eq!(result.is_some(), removed.insert(edge));
            }
            let remaining: Vec<(u32, u32)> = edges.iter().filter(|(e, _, _)| !removed.contains(e)).map(|&(_, a, b)| (a, b)).collect();
            prop_assert_eq!(profiles_of(&g), components(nodes, &remaining));
            for n in 0..nodes as u32 {
                let root = g.profile_of(n);
                prop_assert_eq!(root, *g.members(root).iter().min().unwrap());
            }
        }
    }
}
