//! Live segment membership: which profiles are in each saved [`Segment`], kept up to date
//! as the graph changes rather than rebuilt on a schedule.
//!
//! A change names the identities it touched; only their profiles are
//! evaluated again, once for all segments. A merge or split moves a profile's root, so the
//! members of a touched profile are dropped before its root is evaluated: a set never keeps a
//! root that stopped being one. Segments whose answer can change with time alone (`last_seen
//! within 7d`) are also evaluated in full when they are read and their last full pass is
//! older than a bound the caller chooses.

use std::collections::{BTreeMap, BTreeSet};

use crate::graph::NodeId;
use crate::segment::{Facts, Segment};

/// One segment and its members (profile roots).
#[derive(Debug, Clone)]
pub struct LiveSegment {
    pub segment: Segment,
    pub members: BTreeSet<NodeId>,
    /// When every profile was last evaluated (µs since the epoch).
    pub evaluated_at: i64,
}

/// Every segment of a workspace, by key.
#[derive(Debug, Clone, Default)]
pub struct Memberships {
    segments: BTreeMap<String, LiveSegment>,
}

/// What membership needs from the graph: its profiles and their facts.
pub trait Population {
    /// Every profile's root, each once.
    fn roots(&self) -> Vec<NodeId>;
    /// The profile a node is in now, if it is in one (erased identities are in none).
    fn root_of(&self, node: NodeId) -> Option<NodeId>;
    /// The identities of the profile rooted at `root`.
    fn members_of(&self, root: NodeId) -> Vec<NodeId>;
    /// Calls `f` with the facts of the profile rooted at `root`.
    fn with_facts(&self, root: NodeId, f: &mut dyn FnMut(&Facts<'_>));
}

impl Memberships {
    pub fn get(&self, key: &str) -> Option<&LiveSegment> {
        self.segments.get(key)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &LiveSegment)> {
        self.segments.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn len(&self) -> usize {
        self.segments.len()
    }

    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// Adds or replaces a segment and evaluates it on every profile.
    pub fn define(&mut self, key: &str, segment: Segment, population: &dyn Population, now: i64) {
        self.define_all(vec![(key.to_string(), segment)], population, now);
    }

    /// Adds or replaces segments and evaluates them on every profile, gathering each
    /// profile's facts once for all of them.
    pub fn define_all(
        &mut self,
        segments: Vec<(String, Segment)>,
        population: &dyn Population,
        now: i64,
    ) {
        let mut fresh: Vec<(String, LiveSegment)> = segments
            .into_iter()
            .map(|(key, segment)| {
                let live = LiveSegment {
                    segment,
                    members: BTreeSet::new(),
                    evaluated_at: now,
                };
                (key, live)
            })
            .collect();
        if fresh.is_empty() {
            return;
        }
        for root in population.roots() {
            population.with_facts(root, &mut |facts| {
                for (_, live) in fresh.iter_mut() {
                    if live.segment.matches(facts, now) {
                        live.members.insert(root);
                    }
                }
            });
        }
        self.segments.extend(fresh);
    }

    pub fn remove(&mut self, key: &str) -> Option<LiveSegment> {
        self.segments.remove(key)
    }

    /// Evaluates again, for every segment, the profiles of the identities a change touched.
    pub fn refresh(&mut self, population: &dyn Population, touched: &BTreeSet<NodeId>, now: i64) {
        if self.segments.is_empty() {
            return;
        }
        let mut roots = BTreeSet::new();
        let mut stale = BTreeSet::new();
        for &node in touched {
            stale.insert(node);
            if let Some(root) = population.root_of(node)
                && roots.insert(root)
            {
                stale.extend(population.members_of(root));
            }
        }
        for live in self.segments.values_mut() {
            for node in &stale {
                live.members.remove(node);
            }
        }
        for root in roots {
            population.with_facts(root, &mut |facts| {
                for live in self.segments.values_mut() {
                    if live.segment.matches(facts, now) {
                        live.members.insert(root);
                    }
                }
            });
        }
    }

    /// Evaluates in full the segments that depend on time and were last evaluated in full
    /// before `now - max_age`. Returns how many it evaluated.
    pub fn recheck_timed(&mut self, population: &dyn Population, now: i64, max_age: i64) -> usize {
        let due: Vec<String> = self
            .segments
            .iter()
            .filter(|(_, l)| l.segment.depends_on_time() && l.evaluated_at < now - max_age)
            .map(|(k, _)| k.clone())
            .collect();
        let count = due.len();
        let segments = due
            .into_iter()
            .filter_map(|key| self.segments.remove(&key).map(|l| (key, l.segment)))
            .collect();
        self.define_all(segments, population, now);
        count
    }
}
