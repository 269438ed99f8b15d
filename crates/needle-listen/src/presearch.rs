//! Checking a message only against the topics it could match.
//!
//! Every compiled query knows a set of folded terms at least one of which a matching message
//! must contain (`Query::required_any_of`). The index maps each such term to the topics that
//! need it, the way Lucene's Monitor presearcher indexes queries. A message looks up its own
//! distinct terms, and only the topics found (plus the few that have no such set, like
//! field-only queries) are evaluated. Results are identical to evaluating every topic,
//! because a topic skipped here cannot match.

use std::collections::HashMap;

use needle_nql::{Document, Explanation, Scratch, Topic};

/// Topics with a term index over their required terms.
#[derive(Debug, Default)]
pub struct TopicIndex<T> {
    topics: Vec<(T, Topic)>,
    by_term: HashMap<String, Vec<u32>>,
    /// Topics that have no required terms: always evaluated.
    always: Vec<u32>,
}

/// Per-thread working memory: which topics were already picked for this message.
#[derive(Debug, Default)]
pub struct PresearchScratch {
    seen: Vec<u32>,
    generation: u32,
    candidates: Vec<u32>,
    matcher: Scratch,
}

impl<T> TopicIndex<T> {
    pub fn new(topics: Vec<(T, Topic)>) -> TopicIndex<T> {
        let mut by_term: HashMap<String, Vec<u32>> = HashMap::new();
        let mut always = Vec::new();
        for (i, (_, topic)) in topics.iter().enumerate() {
            match topic.query.required_any_of() {
                Some(terms) if !terms.is_empty() => {
                    for term in terms {
                        by_term.entry(term).or_default().push(i as u32);
                    }
                }
                _ => always.push(i as u32),
            }
        }
        TopicIndex {
            topics,
            by_term,
            always,
        }
    }

    pub fn len(&self) -> usize {
        self.topics.len()
    }

    pub fn is_empty(&self) -> bool {
        self.topics.is_empty()
    }

    pub fn topics(&self) -> impl Iterator<Item = &(T, Topic)> {
        self.topics.iter()
    }

    /// The topics the message is in, with why.
    pub fn matches<'s>(
        &'s self,
        doc: &Document<'_>,
        scratch: &mut PresearchScratch,
    ) -> Vec<(&'s T, Explanation)> {
        let PresearchScratch {
            seen,
            generation,
            candidates,
            matcher,
        } = scratch;
        if seen.len() < self.topics.len() {
            seen.resize(self.topics.len(), 0);
        }
        *generation = generation.wrapping_add(1);
        if *generation == 0 {
            seen.iter_mut().for_each(|s| *s = 0);
            *generation = 1;
        }
        candidates.clear();
        for term in doc.folded_terms() {
            if let Some(ids) = self.by_term.get(term) {
                for &id in ids {
                    let slot = &mut seen[id as usize];
                    if *slot != *generation {
                        *slot = *generation;
                        candidates.push(id);
                    }
                }
            }
        }
        candidates.extend_from_slice(&self.always);
        candidates.sort_unstable();
        candidates
            .iter()
            .filter_map(|&id| {
                let (payload, topic) = &self.topics[id as usize];
                topic.matches_with(doc, matcher).map(|why| (payload, why))
            })
            .collect()
    }

    /// The same answer by evaluating every topic: the oracle the index is tested against.
    pub fn matches_brute_force(&self, doc: &Document<'_>) -> Vec<(&T, Explanation)> {
        let mut scratch = Scratch::default();
        self.topics
            .iter()
            .filter_map(|(payload, topic)| {
                topic
                    .matches_with(doc, &mut scratch)
                    .map(|why| (payload, why))
            })
            .collect()
    }
}
