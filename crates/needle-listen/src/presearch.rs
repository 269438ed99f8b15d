//! Checking a message only against the topics it could match.
//!
//! Every compiled query knows a condition every matching message meets
//! ([`needle_nql::Requirement`]): terms its text must hold, word prefixes (from wildcards),
//! the author (`author:`), combined with all-of and any-of. The index works the way Lucene's
//! Monitor presearcher indexes queries. A message looks up its own distinct terms, the
//! prefixes of those terms and its author. Only the topics found are evaluated, plus the few
//! that have nothing to index (field-only queries). The results are identical to evaluating
//! every topic, because a topic skipped here cannot match.
//!
//! **Clauses.** A requirement is split into the conditions that must all hold: the sides of
//! an AND or a NEAR, the words of a phrase. Each becomes a *clause*: a set of facts at least
//! one of which a matching message has. A topic is indexed under up to [`MAX_CLAUSES`] of
//! its clauses (the most selective by the estimate below). It becomes a candidate only when
//! the message meets every indexed clause. So `(phone OR laptop) AND (terrible OR worst)`
//! comes up for messages that mention a phone *and* say terrible, not for every message
//! about phones. This is Monitor's multipass presearcher in one pass.
//!
//! **Choosing.** Inside a clause, where any one of several facts will do (one word of a
//! phrase), the index picks the fact that is rarest by its estimate. It also ranks clauses by
//! that estimate. The estimate comes from the fact itself (very common function words, then
//! short words, count as common) and from how many topics of the set use it. A word that
//! hundreds of topics use (`battery`, `refund`) is nearly always a common word, while a brand
//! or product name is used by a few topics each.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use needle_nql::{Document, Explanation, Requirement, Scratch, Topic};

/// Most clauses a topic is indexed under (the clause number lives in two bits).
pub const MAX_CLAUSES: usize = 3;

/// FxHash: a fast hash for the short strings terms are. The keys come from the workspace's
/// own topics, so there are no untrusted keys to flood the table with.
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

const FX_K: u64 = 0x517c_c1b7_2722_0a95;

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for word in &mut chunks {
            let w = u64::from_le_bytes(word.try_into().expect("8 bytes"));
            h = (h.rotate_left(5) ^ w).wrapping_mul(FX_K);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(buf)).wrapping_mul(FX_K);
        }
        self.0 = h;
    }

    fn write_u8(&mut self, i: u8) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(i)).wrapping_mul(FX_K);
    }

    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }
}

type FxBuild = BuildHasherDefault<FxHasher>;
/// Key → postings: `topic << 2 | clause`.
type Postings = HashMap<Box<str>, Vec<u32>, FxBuild>;

/// Topics with an index over their clauses.
#[derive(Debug)]
pub struct TopicIndex<T> {
    topics: Vec<(T, Topic)>,
    /// For each topic, the clause bits that must all be set (0 for topics always evaluated).
    need: Vec<u8>,
    /// Folded term → postings.
    by_term: Postings,
    /// Folded prefix → postings.
    by_prefix: Postings,
    /// Distinct byte lengths of the prefixes, ascending.
    prefix_lens: Vec<usize>,
    /// Bit per first two bytes of a prefix (a prefix of one byte sets all 256 of its row):
    /// a term whose first two bytes are not here has no indexed prefix.
    prefix_gate: Vec<u64>,
    /// Author handle (lower case, no `@`) → postings.
    by_author: Postings,
    /// Topics that have nothing to index: always evaluated.
    always: Vec<u32>,
}

impl<T> Default for TopicIndex<T> {
    fn default() -> Self {
        TopicIndex::new(Vec::new())
    }
}

/// Per-thread working memory, reused from message to message.
#[derive(Debug, Default)]
pub struct PresearchScratch {
    /// Per topic: the generation (message) its `mask` belongs to.
    seen: Vec<u32>,
    /// Per topic: the clauses met so far by this message.
    mask: Vec<u8>,
    generation: u32,
    candidates: Vec<u32>,
    author: String,
    matcher: Scratch,
}

/// One fact a topic can be keyed by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Key {
    Term(String),
    Prefix(String),
    Author(String),
}

/// Function words so common in the languages Needle sees that a key on one of them is
/// nearly a key on everything.
const COMMON: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "do", "for", "from", "get",
    "has", "have", "i", "if", "in", "is", "it", "just", "me", "my", "no", "not", "of", "on", "or",
    "so", "that", "the", "this", "to", "was", "we", "with", "you", "your", "al", "con", "da",
    "das", "de", "del", "der", "des", "di", "die", "du", "e", "el", "em", "en", "es", "est", "et",
    "ich", "il", "ist", "la", "las", "le", "les", "los", "mit", "nicht", "o", "para", "per", "por",
    "que", "se", "um", "un", "una", "und", "une", "y",
];

/// How likely a message is to hold `key`, roughly, before looking at the topic set.
fn prior(key: &Key) -> f64 {
    let text = match key {
        Key::Author(_) => return 0.001,
        Key::Term(t) => t.as_str(),
        // A prefix stands for every word that starts with it.
        Key::Prefix(p) => return (prior(&Key::Term(p.clone())) * 4.0).min(1.0),
    };
    let (tag, body) = match text.strip_prefix(['#', '@']) {
        Some(body) => (true, body),
        None => (false, text),
    };
    if !tag && COMMON.contains(&body) {
        return 0.3;
    }
    let ascii = body.is_ascii();
    let p: f64 = match body.chars().count() {
        0 => 1.0,
        // One Latin letter or digit is almost anywhere; one Han character is a word.
        1 if ascii => 0.2,
        1 => 0.03,
        2 if ascii => 0.1,
        2 => 0.02,
        3 => 0.04,
        4 => 0.02,
        5 => 0.01,
        _ => 0.005,
    };
    if tag { p / 4.0 } else { p }
}

/// The cheapest set of keys that covers a requirement (a message meeting it has one of the
/// keys), with its estimated cost. `None` when no such set exists.
fn choose(req: &Requirement, cost: &impl Fn(&Key) -> f64) -> Option<(f64, Vec<Key>)> {
    let one = |key: Key| Some((cost(&key), vec![key]));
    match req {
        Requirement::Term(t) => one(Key::Term(t.clone())),
        Requirement::Prefix(p) => one(Key::Prefix(p.clone())),
        Requirement::Author(a) => one(Key::Author(a.clone())),
        Requirement::All(items) => items
            .iter()
            .filter_map(|r| choose(r, cost))
            .min_by(|a, b| a.0.total_cmp(&b.0)),
        Requirement::Any(items) => {
            let mut total = 0.0;
            let mut keys = Vec::new();
            for item in items {
                let (c, k) = choose(item, cost)?;
                total += c;
                keys.extend(k);
            }
            Some((total, keys))
        }
        // `Anything`, and any shape added later: nothing to index (always evaluated, safe).
        _ => None,
    }
}

/// The clauses of a requirement: its parts that must all hold, each with its cheapest key
/// set, most selective first, at most [`MAX_CLAUSES`].
///
/// Inside a part, a key that another part also mentions is avoided: in
/// `("best phone" OR …) NEAR/6 (phone OR laptop)`, keying the phrase by `phone` would make
/// the two clauses one, so it is keyed by `best`.
fn clauses(req: &Requirement, cost: &impl Fn(&Key) -> f64) -> Vec<Vec<Key>> {
    let parts: Vec<&Requirement> = match req {
        Requirement::All(items) => items.iter().collect(),
        other => vec![other],
    };
    let mentioned: Vec<Vec<Key>> = parts
        .iter()
        .map(|p| {
            let mut keys = Vec::new();
            mentions(p, &mut keys);
            keys.sort();
            keys.dedup();
            keys
        })
        .collect();
    let mut chosen: Vec<(f64, Vec<Key>)> = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        let elsewhere = |key: &Key| {
            mentioned
                .iter()
                .enumerate()
                .any(|(j, keys)| j != i && keys.binary_search(key).is_ok())
        };
        let part_cost = |key: &Key| {
            let c = cost(key);
            if elsewhere(key) { c * 1000.0 } else { c }
        };
        chosen.extend(choose(part, &part_cost));
    }
    chosen.sort_by(|a, b| a.0.total_cmp(&b.0));
    chosen.truncate(MAX_CLAUSES);
    chosen
        .into_iter()
        .map(|(_, mut keys)| {
            keys.sort();
            keys.dedup();
            keys
        })
        .collect()
}

/// Every key a requirement mentions, for counting how many topics use each.
fn mentions(req: &Requirement, out: &mut Vec<Key>) {
    match req {
        Requirement::Term(t) => out.push(Key::Term(t.clone())),
        Requirement::Prefix(p) => out.push(Key::Prefix(p.clone())),
        Requirement::Author(a) => out.push(Key::Author(a.clone())),
        Requirement::All(items) | Requirement::Any(items) => {
            items.iter().for_each(|r| mentions(r, out))
        }
        _ => {}
    }
}

fn gate_bit(b0: u8, b1: u8) -> (usize, u64) {
    let i = (usize::from(b0) << 8) | usize::from(b1);
    (i / 64, 1 << (i % 64))
}

impl<T> TopicIndex<T> {
    pub fn new(topics: Vec<(T, Topic)>) -> TopicIndex<T> {
        let requirements: Vec<Requirement> =
            topics.iter().map(|(_, t)| t.query.requirement()).collect();
        // How many topics mention each key.
        let mut used: HashMap<Key, u32, FxBuild> = HashMap::default();
        let mut keys = Vec::new();
        for req in &requirements {
            keys.clear();
            mentions(req, &mut keys);
            keys.sort();
            keys.dedup();
            for k in keys.drain(..) {
                *used.entry(k).or_default() += 1;
            }
        }
        let cost = |key: &Key| {
            let topics = f64::from(used.get(key).copied().unwrap_or(1));
            prior(key) * (1.0 + topics / 32.0)
        };

        let mut index = TopicIndex {
            topics: Vec::new(),
            need: Vec::with_capacity(topics.len()),
            by_term: Postings::default(),
            by_prefix: Postings::default(),
            prefix_lens: Vec::new(),
            prefix_gate: vec![0; 65536 / 64],
            by_author: Postings::default(),
            always: Vec::new(),
        };
        for (i, req) in requirements.iter().enumerate() {
            let id = i as u32;
            let clauses = clauses(req, &cost);
            index.need.push((1u8 << clauses.len()) - 1);
            if clauses.is_empty() {
                index.always.push(id);
                continue;
            }
            for (c, keys) in clauses.into_iter().enumerate() {
                let posting = id << 2 | c as u32;
                for key in keys {
                    index.add(key, posting);
                }
            }
        }
        index.prefix_lens.sort_unstable();
        for postings in index
            .by_term
            .values_mut()
            .chain(index.by_prefix.values_mut())
            .chain(index.by_author.values_mut())
        {
            postings.shrink_to_fit();
        }
        index.topics = topics;
        index
    }

    fn add(&mut self, key: Key, posting: u32) {
        let (map, text) = match key {
            Key::Term(t) => (&mut self.by_term, t),
            Key::Prefix(p) => {
                let bytes = p.as_bytes();
                if let [b0] = bytes {
                    for b1 in 0..=255 {
                        let (w, bit) = gate_bit(*b0, b1);
                        self.prefix_gate[w] |= bit;
                    }
                } else {
                    let (w, bit) = gate_bit(bytes[0], bytes[1]);
                    self.prefix_gate[w] |= bit;
                }
                if !self.prefix_lens.contains(&p.len()) {
                    self.prefix_lens.push(p.len());
                }
                (&mut self.by_prefix, p)
            }
            Key::Author(a) => (&mut self.by_author, a),
        };
        let postings = map.entry(text.into_boxed_str()).or_default();
        if postings.last() != Some(&posting) {
            postings.push(posting);
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

    /// How many topics the message would be checked against (for benchmarks).
    pub fn candidates(&self, doc: &Document<'_>, scratch: &mut PresearchScratch) -> usize {
        self.collect(doc, scratch);
        scratch.candidates.len()
    }

    /// The topics the message is in, with why.
    pub fn matches<'s>(
        &'s self,
        doc: &Document<'_>,
        scratch: &mut PresearchScratch,
    ) -> Vec<(&'s T, Explanation)> {
        self.collect(doc, scratch);
        let PresearchScratch {
            candidates,
            matcher,
            ..
        } = scratch;
        candidates
            .iter()
            .filter_map(|&id| {
                let (payload, topic) = &self.topics[id as usize];
                topic.matches_with(doc, matcher).map(|why| (payload, why))
            })
            .collect()
    }

    /// Fills `scratch.candidates` with the topics to evaluate, in order.
    fn collect(&self, doc: &Document<'_>, scratch: &mut PresearchScratch) {
        let PresearchScratch {
            seen,
            mask,
            generation,
            candidates,
            author,
            ..
        } = scratch;
        if seen.len() < self.topics.len() {
            seen.resize(self.topics.len(), 0);
            mask.resize(self.topics.len(), 0);
        }
        *generation = generation.wrapping_add(1);
        if *generation == 0 {
            seen.iter_mut().for_each(|s| *s = 0);
            *generation = 1;
        }
        let generation = *generation;
        candidates.clear();
        let need = &self.need;
        let mut add = |postings: &[u32]| {
            for &posting in postings {
                let id = (posting >> 2) as usize;
                let bit = 1u8 << (posting & 3);
                let m = &mut mask[id];
                if seen[id] != generation {
                    seen[id] = generation;
                    *m = 0;
                }
                if *m & bit == 0 {
                    *m |= bit;
                    if *m == need[id] {
                        candidates.push(id as u32);
                    }
                }
            }
        };
        let prefixes = !self.by_prefix.is_empty();
        for term in doc.folded_terms() {
            if let Some(postings) = self.by_term.get(term) {
                add(postings);
            }
            if prefixes {
                self.prefixes_of(term, &mut add);
            }
        }
        if !self.by_author.is_empty()
            && let Some(handle) = doc.fields().author
        {
            let handle = handle.trim_start_matches('@');
            author.clear();
            if handle.is_ascii() {
                author.push_str(handle);
                author.make_ascii_lowercase();
            } else {
                author.push_str(&handle.to_lowercase());
            }
            if let Some(postings) = self.by_author.get(author.as_str()) {
                add(postings);
            }
        }
        candidates.extend_from_slice(&self.always);
        candidates.sort_unstable();
    }

    /// Calls `add` with the postings of every indexed prefix of `term`.
    fn prefixes_of(&self, term: &str, add: &mut impl FnMut(&[u32])) {
        let bytes = term.as_bytes();
        let Some(&b0) = bytes.first() else { return };
        if bytes.len() > 1 {
            let (w, bit) = gate_bit(b0, bytes[1]);
            if self.prefix_gate[w] & bit == 0 {
                return;
            }
        }
        for &len in &self.prefix_lens {
            if len > bytes.len() {
                break;
            }
            if !term.is_char_boundary(len) {
                continue;
            }
            if let Some(postings) = self.by_prefix.get(&term[..len]) {
                add(postings);
            }
        }
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

#[cfg(test)]
mod tests {
    use needle_nql::{Fields, Level, compile};

    use super::*;

    fn index(queries: &[&str]) -> TopicIndex<usize> {
        let topics = queries
            .iter()
            .enumerate()
            .map(|(i, q)| {
                let query = compile(q).unwrap_or_else(|r| panic!("{q}: {r:?}"));
                let topic = Topic {
                    id: i.to_string(),
                    level: Level::Brand,
                    query,
                    exclude: None,
                };
                (i, topic)
            })
            .collect();
        TopicIndex::new(topics)
    }

    fn candidates(index: &TopicIndex<usize>, text: &str, author: Option<&str>) -> usize {
        let fields = Fields {
            author,
            ..Fields::default()
        };
        let doc = Document::new(text, None, fields);
        index.candidates(&doc, &mut PresearchScratch::default())
    }

    #[test]
    fn a_topic_comes_up_only_when_every_indexed_clause_holds() {
        let index = index(&["(phone OR laptop) AND (terrible OR worst)"]);
        assert_eq!(candidates(&index, "my phone is great", None), 0);
        assert_eq!(candidates(&index, "the worst day", None), 0);
        assert_eq!(candidates(&index, "the worst phone", None), 1);
        assert_eq!(candidates(&index, "#Phone, terrible!", None), 1);
    }

    #[test]
    fn prefixes_authors_and_phrases_are_keys() {
        let index = index(&[
            "acmebook* AND refund",
            "author:Acme_Support AND sorry",
            "\"best phone\" NEAR/6 (phone OR laptop)",
            "channel:email",
        ]);
        // The field-only topic is always a candidate.
        assert_eq!(candidates(&index, "nothing here", None), 1);
        assert_eq!(candidates(&index, "my AcmeBookAir needs a refund", None), 2);
        assert_eq!(candidates(&index, "so sorry", Some("@ACME_support")), 2);
        assert_eq!(candidates(&index, "so sorry", Some("kim")), 1);
        // The phrase is keyed by `best`, not by `phone`, which the other side has.
        assert_eq!(candidates(&index, "phone phone laptop", None), 1);
        assert_eq!(candidates(&index, "best phone ever", None), 2);
    }

    /// A small deterministic generator.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 33) % n as u64) as usize
        }
    }

    #[test]
    fn the_index_gives_exactly_what_evaluating_every_topic_gives() {
        const WORDS: &[&str] = &[
            "acme",
            "acmebook",
            "phone",
            "best",
            "refund",
            "niño",
            "nino",
            "#acme",
            "@acme",
            "acme_support",
            "e-mail",
            "周受资",
            "❤️",
            "👍🏽",
            "sorry",
            "screen",
            "™",
            "Office",
        ];
        let mut rng = Lcg(11);
        let word = |rng: &mut Lcg| WORDS[rng.next(WORDS.len())];
        let mut queries = Vec::new();
        for _ in 0..400 {
            let (a, b, c) = (word(&mut rng), word(&mut rng), word(&mut rng));
            let bare = |w: &str| w.trim_start_matches(['#', '@']).to_string();
            let q = match rng.next(10) {
                0 => format!("{a} AND ({b} OR {c})"),
                1 => format!("({a} OR \"{b} {c}\") NEAR/3 {c}"),
                2 => format!("\"{a} {b}\" SENTENCE ({c} OR {a})"),
                3 => format!("{}* AND {b}", bare(a).chars().take(3).collect::<String>()),
                4 => format!("author:{} AND ({b} OR {c})", bare(a)),
                5 => format!("@{} OR author:{}", bare(a), bare(a)),
                6 => format!("({a} AND {b})~4 NOT {c}"),
                7 => format!("{{{}}} OR channel:email", bare(a)),
                8 => format!("(\"{a} {b}\" OR {c}) NEAR/2f ({b} OR {a})"),
                _ => format!("{a} {b}"),
            };
            if compile(&q).is_ok() {
                queries.push(q);
            }
        }
        assert!(queries.len() > 300, "most generated queries compile");
        let refs: Vec<&str> = queries.iter().map(String::as_str).collect();
        let index = index(&refs);
        let mut scratch = PresearchScratch::default();
        let mut matched = 0;
        for _ in 0..3000 {
            let len = 1 + rng.next(10);
            let words: Vec<&str> = (0..len).map(|_| word(&mut rng)).collect();
            let text = words.join(if rng.next(2) == 0 { " " } else { ". " });
            let author = bare_author(word(&mut rng));
            let fields = Fields {
                author: Some(&author),
                channel: Some(if rng.next(3) == 0 { "email" } else { "chat" }),
                ..Fields::default()
            };
            let doc = Document::new(&text, None, fields);
            let fast: Vec<usize> = index
                .matches(&doc, &mut scratch)
                .into_iter()
                .map(|(i, _)| *i)
                .collect();
            let slow: Vec<usize> = index
                .matches_brute_force(&doc)
                .into_iter()
                .map(|(i, _)| *i)
                .collect();
            assert_eq!(fast, slow, "text {text:?} by {author:?}");
            matched += fast.len();
        }
        assert!(
            matched > 1000,
            "the texts match topics often enough: {matched}"
        );
    }

    fn bare_author(w: &str) -> String {
        let w = w.trim_start_matches(['#', '@']);
        if w.len().is_multiple_of(2) {
            w.to_uppercase()
        } else {
            format!("@{w}")
        }
    }
}
