//! Running a compiled [`Query`] against a [`Document`].
//!
//! A node is evaluated in one of two ways: as a yes/no answer (short-circuiting, no
//! positions kept), or, under a proximity operator, as the list of its matches ("hits",
//! token intervals) pushed on a stack in [`Scratch`] that is reused across queries and
//! messages, so matching allocates nothing once the scratch has grown. Only when a query
//! matches is an [`Explanation`] built, by walking the tree again.
//!
//! Proximity between two hits counts the tokens strictly between them; hits must not
//! overlap (one token cannot serve both sides). A group's hit under NEAR is the span from
//! its first to its last matched token.

use serde::Serialize;

use crate::compile::{Node, Query};
use crate::document::{Document, TokenIndex};
use crate::fields::FieldPred;
use crate::pattern::Leaf;

/// A match: first and last token position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Hit {
    lo: u32,
    hi: u32,
}

impl Hit {
    fn hull(self, other: Hit) -> Hit {
        Hit {
            lo: self.lo.min(other.lo),
            hi: self.hi.max(other.hi),
        }
    }

    fn within(self, outer: Option<Hit>) -> bool {
        outer.is_none_or(|o| o.lo <= self.lo && self.hi <= o.hi)
    }

    fn disjoint(self, other: Hit) -> bool {
        self.hi < other.lo || other.hi < self.lo
    }

    /// Tokens strictly between two disjoint hits.
    fn gap(self, other: Hit) -> u64 {
        if self.hi < other.lo {
            u64::from(other.lo - self.hi - 1)
        } else {
            u64::from(self.lo.saturating_sub(other.hi + 1))
        }
    }
}

/// A group under a proximity operator keeps at most this many of its matches, and a `~`
/// search tries at most [`SEARCH_BUDGET`] combinations, so no message can make a query
/// run away. Ordinary messages are far below both.
const MAX_HITS: usize = 1 << 20;
const SEARCH_BUDGET: u32 = 200_000;

/// Reusable working memory for matching. One per thread; pass it to the `_with` methods.
#[derive(Debug, Default)]
pub struct Scratch {
    hits: Vec<Hit>,
    out: Vec<Hit>,
    bounds: Vec<usize>,
    chosen: Vec<Hit>,
}

/// A term that matched, and where: byte offsets into the message text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MatchedTerm {
    /// The term as written in the query (`Office`, `Microsoft Office`, `complain*`).
    pub term: String,
    pub start: usize,
    pub end: usize,
    /// First and last token position of the match.
    #[serde(skip)]
    pub first_token: u32,
    #[serde(skip)]
    pub last_token: u32,
}

/// Why a message matched: the terms found in the text, and the fields that held.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub terms: Vec<MatchedTerm>,
    /// Field conditions that held, as written (`lang:en`, `title:refund`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

/// At most this many terms are listed in one explanation.
const MAX_EXPLAINED: usize = 100;

impl Query {
    /// Whether the message matches.
    pub fn is_match(&self, doc: &Document<'_>) -> bool {
        self.is_match_with(doc, &mut Scratch::default())
    }

    /// Whether the message matches, reusing `scratch`.
    pub fn is_match_with(&self, doc: &Document<'_>, scratch: &mut Scratch) -> bool {
        scratch.hits.clear();
        eval(&self.root, doc, scratch)
    }

    /// Why the message matches, or `None` when it does not.
    pub fn matches(&self, doc: &Document<'_>) -> Option<Explanation> {
        self.matches_with(doc, &mut Scratch::default())
    }

    /// Why the message matches, or `None` when it does not, reusing `scratch`.
    pub fn matches_with(&self, doc: &Document<'_>, scratch: &mut Scratch) -> Option<Explanation> {
        if !self.is_match_with(doc, scratch) {
            return None;
        }
        Some(self.explain_match(doc, scratch))
    }

    /// Why a message that matches does (call only after a match).
    pub(crate) fn explain_match(&self, doc: &Document<'_>, scratch: &mut Scratch) -> Explanation {
        scratch.hits.clear();
        let mut explanation = Explanation::default();
        explain(&self.root, doc, scratch, None, &mut explanation);
        explanation.terms.sort_by(|a, b| {
            (a.start, a.end, a.term.as_str()).cmp(&(b.start, b.end, b.term.as_str()))
        });
        explanation.terms.dedup();
        explanation
    }
}

fn field_holds(pred: &FieldPred, doc: &Document<'_>) -> bool {
    match pred {
        FieldPred::Title(leaf) => doc
            .title()
            .is_some_and(|title| leaf.for_each_start(title, |_| true)),
        other => other.holds(&doc.fields),
    }
}

/// Yes or no.
fn eval(node: &Node, doc: &Document<'_>, s: &mut Scratch) -> bool {
    match node {
        Node::Leaf(leaf) => leaf.for_each_start(&doc.text, |_| true),
        Node::Field(pred, _) => field_holds(pred, doc),
        Node::And(items) => items.iter().all(|i| eval(i, doc, s)),
        Node::Or(items) => items.iter().any(|i| eval(i, doc, s)),
        Node::Not(inner) => !eval(inner, doc, s),
        _ => {
            let base = s.hits.len();
            let found = proximity(node, doc, s, None, &mut |_, _| true);
            s.hits.truncate(base);
            found
        }
    }
}

/// Pushes the node's hits, sorted and without duplicates, on `s.hits`; returns whether it
/// matched. Nodes without positions (fields, NOT) push nothing and only say yes or no.
fn hits(node: &Node, doc: &Document<'_>, s: &mut Scratch) -> bool {
    let base = s.hits.len();
    let found = match node {
        Node::Leaf(leaf) => push_leaf(leaf, &doc.text, s),
        Node::Field(..) | Node::Not(_) => return eval(node, doc, s),
        Node::And(items) => {
            let mut all = true;
            for item in items {
                if !hits(item, doc, s) {
                    all = false;
                    break;
                }
            }
            all
        }
        Node::Or(items) => {
            let mut any = false;
            for item in items {
                any |= hits(item, doc, s);
            }
            any
        }
        _ => {
            s.out.clear();
            let mut out = std::mem::take(&mut s.out);
            proximity(node, doc, s, None, &mut |x, y| {
                out.push(x.hull(y));
                out.len() >= MAX_HITS
            });
            s.hits.truncate(base);
            s.hits.extend_from_slice(&out);
            out.clear();
            s.out = out;
            s.hits.len() > base
        }
    };
    if !found {
        s.hits.truncate(base);
        return false;
    }
    sort_dedup_from(&mut s.hits, base);
    true
}

fn push_leaf(leaf: &Leaf, index: &TokenIndex<'_>, s: &mut Scratch) -> bool {
    let base = s.hits.len();
    let len = leaf.len();
    leaf.for_each_start(index, |p| {
        s.hits.push(Hit {
            lo: p,
            hi: p + len - 1,
        });
        s.hits.len() - base >= MAX_HITS
    });
    if !leaf.starts_sorted(index) {
        s.hits[base..].sort_unstable();
    }
    s.hits.len() > base
}

fn sort_dedup_from(v: &mut Vec<Hit>, base: usize) {
    let tail = &mut v[base..];
    if !tail.is_sorted() {
        tail.sort_unstable();
    }
    let mut write = base;
    for read in base..v.len() {
        if write == base || v[write - 1] != v[read] {
            v[write] = v[read];
            write += 1;
        }
    }
    v.truncate(write);
}

/// Finds the matches of a proximity node, calling `found` with each pair of operand hits
/// (for `~` over several operands, the first and last chosen hit) until it returns true.
/// Leaves the hit stack as it found it; returns whether `found` asked to stop.
fn proximity(
    node: &Node,
    doc: &Document<'_>,
    s: &mut Scratch,
    outer: Option<Hit>,
    found: &mut dyn FnMut(Hit, Hit) -> bool,
) -> bool {
    let base = s.hits.len();
    let stopped = match node {
        Node::Near {
            left,
            right,
            gap,
            ordered,
        } => two_sided(
            doc,
            s,
            left,
            right,
            |a, b, f| near_pairs(a, b, *gap, *ordered, outer, f),
            found,
        ),
        Node::Sentence {
            left,
            right,
            ordered,
        } => two_sided(
            doc,
            s,
            left,
            right,
            |a, b, f| sentence_pairs(&doc.text, a, b, *ordered, outer, f),
            found,
        ),
        Node::All { items, gap } => {
            let Some(lists) = operand_lists(items, doc, s) else {
                s.hits.truncate(base);
                return false;
            };
            let mut budget = SEARCH_BUDGET;
            let mut chosen = std::mem::take(&mut s.chosen);
            chosen.clear();
            let hits = &s.hits;
            let slices: Vec<&[Hit]> = lists.windows(2).map(|w| &hits[w[0]..w[1]]).collect();
            let longest = longest_of(&slices);
            let stopped = all_within(
                &slices,
                &longest,
                u64::from(*gap),
                outer,
                &mut chosen,
                &mut budget,
                &mut |chosen| {
                    let first = chosen.iter().copied().min().unwrap_or(Hit { lo: 0, hi: 0 });
                    let hull = chosen.iter().fold(first, |h, c| h.hull(*c));
                    found(first, hull)
                },
            );
            s.chosen = chosen;
            stopped
        }
        Node::AnyTwo { items, gap } => {
            let Some(lists) = operand_lists_any(items, doc, s) else {
                s.hits.truncate(base);
                return false;
            };
            let hits = &s.hits;
            let mut stopped = false;
            'pairs: for i in 0..lists.len() - 1 {
                for j in i + 1..lists.len() - 1 {
                    let (a, b) = (&hits[lists[i]..lists[i + 1]], &hits[lists[j]..lists[j + 1]]);
                    if near_pairs(a, b, *gap, false, outer, &mut *found) {
                        stopped = true;
                        break 'pairs;
                    }
                }
            }
            stopped
        }
        _ => false,
    };
    s.hits.truncate(base);
    stopped
}

/// Evaluates both operands' hits, then searches pairs with `search`.
fn two_sided(
    doc: &Document<'_>,
    s: &mut Scratch,
    left: &Node,
    right: &Node,
    search: impl Fn(&[Hit], &[Hit], &mut dyn FnMut(Hit, Hit) -> bool) -> bool,
    found: &mut dyn FnMut(Hit, Hit) -> bool,
) -> bool {
    let base = s.hits.len();
    if !hits(left, doc, s) {
        return false;
    }
    let mid = s.hits.len();
    if !hits(right, doc, s) {
        return false;
    }
    let (a, b) = s.hits[base..].split_at(mid - base);
    search(a, b, found)
}

/// Pushes each item's hits; returns the boundaries (n + 1 offsets) or `None` if one item has
/// no match. Items without positions are filters that must hold.
fn operand_lists(items: &[Node], doc: &Document<'_>, s: &mut Scratch) -> Option<Vec<usize>> {
    let mut bounds = std::mem::take(&mut s.bounds);
    bounds.clear();
    bounds.push(s.hits.len());
    for item in items {
        if !hits(item, doc, s) {
            s.bounds = bounds;
            return None;
        }
        bounds.push(s.hits.len());
    }
    let out = bounds.clone();
    s.bounds = bounds;
    Some(out)
}

/// As [`operand_lists`], but items without a match are kept (with no hits); `None` when
/// fewer than two items match.
fn operand_lists_any(items: &[Node], doc: &Document<'_>, s: &mut Scratch) -> Option<Vec<usize>> {
    let mut bounds = vec![s.hits.len()];
    let mut matched = 0;
    for item in items {
        matched += usize::from(hits(item, doc, s));
        bounds.push(s.hits.len());
    }
    (matched >= 2).then_some(bounds)
}

/// Pairs (x from `a`, y from `b`) at most `gap` tokens apart, disjoint, x first when
/// `ordered`, inside `outer` if given. Both lists are sorted.
fn near_pairs(
    a: &[Hit],
    b: &[Hit],
    gap: u32,
    ordered: bool,
    outer: Option<Hit>,
    found: &mut dyn FnMut(Hit, Hit) -> bool,
) -> bool {
    let gap = u64::from(gap);
    let longest = a.iter().map(|h| u64::from(h.hi - h.lo)).max().unwrap_or(0);
    for &y in b {
        // x before y: x.hi in [y.lo - 1 - gap, y.lo - 1], so x.lo ≥ y.lo - 1 - gap - longest.
        let from = u64::from(y.lo).saturating_sub(1 + gap + longest);
        let start = a.partition_point(|x| u64::from(x.lo) < from);
        for &x in &a[start..] {
            if x.lo >= y.lo {
                break;
            }
            if x.hi < y.lo && x.gap(y) <= gap && x.hull(y).within(outer) && found(x, y) {
                return true;
            }
        }
        if ordered {
            continue;
        }
        // x after y: x.lo in [y.hi + 1, y.hi + 1 + gap].
        let start = a.partition_point(|x| x.lo <= y.hi);
        for &x in &a[start..] {
            if u64::from(x.lo) > u64::from(y.hi) + 1 + gap {
                break;
            }
            if x.hull(y).within(outer) && found(x, y) {
                return true;
            }
        }
    }
    false
}

/// Pairs (x from `a`, y from `b`) in one sentence, disjoint, x first when `ordered`.
fn sentence_pairs(
    index: &TokenIndex<'_>,
    a: &[Hit],
    b: &[Hit],
    ordered: bool,
    outer: Option<Hit>,
    found: &mut dyn FnMut(Hit, Hit) -> bool,
) -> bool {
    let sentence = |p: u32| index.tokens[p as usize].sentence;
    for &y in b {
        let sy = sentence(y.lo);
        if sentence(y.hi) != sy {
            continue;
        }
        let (first, last) = index.sentence_bounds(sy);
        let start = a.partition_point(|x| x.lo < first);
        for &x in &a[start..] {
            if x.lo > last || (ordered && x.lo >= y.lo) {
                break;
            }
            if x.hi <= last
                && x.disjoint(y)
                && (!ordered || x.hi < y.lo)
                && x.hull(y).within(outer)
                && found(x, y)
            {
                return true;
            }
        }
    }
    false
}

/// The longest hit of each list, less one (how far a hit's start may be from its end).
fn longest_of(lists: &[&[Hit]]) -> Vec<u64> {
    lists
        .iter()
        .map(|l| l.iter().map(|h| u64::from(h.hi - h.lo)).max().unwrap_or(0))
        .collect()
}

/// Chooses one hit per list, each two disjoint and at most `gap` tokens apart; calls
/// `found` with each choice until it returns true. Depth-first, within a budget.
fn all_within(
    lists: &[&[Hit]],
    longest: &[u64],
    gap: u64,
    outer: Option<Hit>,
    chosen: &mut Vec<Hit>,
    budget: &mut u32,
    found: &mut dyn FnMut(&[Hit]) -> bool,
) -> bool {
    let Some(list) = lists.get(chosen.len()) else {
        return found(chosen);
    };
    let longest_all = longest;
    let longest = longest.get(chosen.len()).copied().unwrap_or(u64::MAX / 4);
    // Any candidate must lie within `gap` of every chosen hit.
    let (from, to) = chosen.iter().fold((0u64, u64::MAX), |(from, to), c| {
        (
            from.max(u64::from(c.lo).saturating_sub(1 + gap + longest)),
            to.min(u64::from(c.hi) + 1 + gap),
        )
    });
    let start = list.partition_point(|x| u64::from(x.lo) < from);
    for &x in &list[start..] {
        if u64::from(x.lo) > to {
            break;
        }
        if *budget == 0 {
            return false;
        }
        *budget -= 1;
        let fits = x.within(outer) && chosen.iter().all(|c| c.disjoint(x) && c.gap(x) <= gap);
        if !fits {
            continue;
        }
        chosen.push(x);
        let stop = all_within(lists, longest_all, gap, outer, chosen, budget, found);
        chosen.pop();
        if stop {
            return true;
        }
    }
    false
}

/// Collects why `node` matched into `out`, only from hits inside `outer` if given.
fn explain(
    node: &Node,
    doc: &Document<'_>,
    s: &mut Scratch,
    outer: Option<Hit>,
    out: &mut Explanation,
) {
    if out.terms.len() >= MAX_EXPLAINED {
        return;
    }
    match node {
        Node::Leaf(leaf) => {
            let len = leaf.len();
            let text = &doc.text;
            let mut found = Vec::new();
            leaf.for_each_start(text, |p| {
                let hit = Hit {
                    lo: p,
                    hi: p + len - 1,
                };
                if hit.within(outer) {
                    found.push(hit);
                }
                found.len() >= MAX_EXPLAINED
            });
            found.sort_unstable();
            for hit in found {
                out.terms.push(MatchedTerm {
                    term: leaf.display.clone(),
                    start: text.tokens[hit.lo as usize].start,
                    end: text.tokens[hit.hi as usize].end,
                    first_token: hit.lo,
                    last_token: hit.hi,
                });
            }
        }
        Node::Field(pred, written) => {
            if field_holds(pred, doc) && !out.fields.contains(written) {
                out.fields.push(written.clone());
            }
        }
        Node::And(items) => {
            for item in items {
                explain(item, doc, s, outer, out);
            }
        }
        Node::Or(items) => {
            for item in items {
                if outer.is_some() || eval(item, doc, s) {
                    explain(item, doc, s, outer, out);
                }
            }
        }
        Node::Not(_) => {}
        Node::Near { left, right, .. } | Node::Sentence { left, right, .. } => {
            let mut pair = None;
            proximity(node, doc, s, outer, &mut |x, y| {
                pair = Some((x, y));
                true
            });
            if let Some((x, y)) = pair {
                explain(left, doc, s, Some(x), out);
                explain(right, doc, s, Some(y), out);
            }
        }
        Node::All { items, gap } => {
            let base = s.hits.len();
            if let Some(lists) = operand_lists(items, doc, s) {
                let hits = &s.hits;
                let slices: Vec<&[Hit]> = lists.windows(2).map(|w| &hits[w[0]..w[1]]).collect();
                let mut chosen = Vec::new();
                let mut picked = Vec::new();
                let mut budget = SEARCH_BUDGET;
                let longest = longest_of(&slices);
                all_within(
                    &slices,
                    &longest,
                    u64::from(*gap),
                    outer,
                    &mut chosen,
                    &mut budget,
                    &mut |c| {
                        picked = c.to_vec();
                        true
                    },
                );
                s.hits.truncate(base);
                for (item, hit) in items.iter().zip(picked) {
                    explain(item, doc, s, Some(hit), out);
                }
            }
            s.hits.truncate(base);
        }
        Node::AnyTwo { items, gap } => {
            let base = s.hits.len();
            let mut pair = None;
            if let Some(lists) = operand_lists_any(items, doc, s) {
                let hits = &s.hits;
                'pairs: for i in 0..lists.len() - 1 {
                    for j in i + 1..lists.len() - 1 {
                        let (a, b) = (&hits[lists[i]..lists[i + 1]], &hits[lists[j]..lists[j + 1]]);
                        if near_pairs(a, b, *gap, false, outer, &mut |x, y| {
                            pair = Some((i, x, j, y));
                            true
                        }) {
                            break 'pairs;
                        }
                    }
                }
            }
            s.hits.truncate(base);
            if let Some((i, x, j, y)) = pair {
                explain(&items[i], doc, s, Some(x), out);
                explain(&items[j], doc, s, Some(y), out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(lo: u32, hi: u32) -> Hit {
        Hit { lo, hi }
    }

    fn pairs(a: &[Hit], b: &[Hit], gap: u32, ordered: bool) -> Vec<(Hit, Hit)> {
        let mut out = Vec::new();
        near_pairs(a, b, gap, ordered, None, &mut |x, y| {
            out.push((x, y));
            false
        });
        out
    }

    #[test]
    fn near_counts_tokens_between_in_either_order() {
        let a = [h(0, 0), h(10, 10)];
        let b = [h(3, 3)];
        assert_eq!(pairs(&a, &b, 2, false), [(h(0, 0), h(3, 3))]);
        assert_eq!(pairs(&a, &b, 1, false), []);
        assert_eq!(
            pairs(&a, &b, 6, false),
            [(h(0, 0), h(3, 3)), (h(10, 10), h(3, 3))]
        );
        assert_eq!(pairs(&a, &b, 6, true), [(h(0, 0), h(3, 3))]);
        // Adjacent = 0 tokens between; the same token never pairs with itself.
        assert_eq!(pairs(&[h(4, 4)], &[h(5, 5)], 0, true).len(), 1);
        assert_eq!(pairs(&[h(4, 4)], &[h(4, 4)], 5, false), []);
        // Multi-token hits: gap from the end of one to the start of the other.
        assert_eq!(pairs(&[h(0, 3)], &[h(6, 6)], 2, true).len(), 1);
        assert_eq!(pairs(&[h(0, 3)], &[h(6, 6)], 1, true).len(), 0);
        assert_eq!(pairs(&[h(0, 3)], &[h(2, 2)], 9, false), []);
    }

    #[test]
    fn all_within_needs_every_pair_close_and_distinct() {
        let a = [h(0, 0), h(2, 2)];
        let b = [h(2, 2)];
        let c = [h(5, 5)];
        let lists: Vec<&[Hit]> = vec![&a, &b, &c];
        let run = |gap| {
            let mut got = Vec::new();
            all_within(
                &lists,
                &longest_of(&lists),
                gap,
                None,
                &mut Vec::new(),
                &mut 1000,
                &mut |c| {
                    got = c.to_vec();
                    true
                },
            );
            got
        };
        assert_eq!(run(4), [h(0, 0), h(2, 2), h(5, 5)]);
        assert_eq!(run(3), []);
    }

    #[test]
    fn dedup_keeps_one_of_each() {
        let mut v = vec![h(9, 9), h(1, 1), h(3, 3), h(1, 1), h(3, 4)];
        sort_dedup_from(&mut v, 1);
        assert_eq!(v, [h(9, 9), h(1, 1), h(3, 3), h(3, 4)]);
    }
}
