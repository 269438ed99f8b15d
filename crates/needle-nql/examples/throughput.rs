//! Rough throughput of topic matching: `cargo run --release -p needle-nql --example throughput`.
//!
//! 1,000 generated topics against generated messages, with every topic evaluated, and with a
//! naive presearch on `Query::required_any_of` (what the streaming matcher will refine).

use std::collections::HashMap;
use std::time::Instant;

use needle_nql::{Document, Scratch, TopicSet};

const WORDS: &[&str] = &[
    "refund",
    "broken",
    "screen",
    "battery",
    "love",
    "hate",
    "support",
    "delivery",
    "late",
    "price",
    "cheap",
    "expensive",
    "camera",
    "phone",
    "laptop",
    "office",
    "windows",
    "update",
    "crash",
    "login",
    "password",
    "account",
    "billing",
    "invoice",
    "order",
    "package",
    "store",
    "service",
    "agent",
    "chat",
    "email",
    "waiting",
    "hours",
    "days",
    "great",
    "terrible",
];

/// A small deterministic generator (xorshift), so runs compare.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 as usize
    }

    fn word(&mut self) -> &'static str {
        WORDS[self.next() % WORDS.len()]
    }
}

fn main() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut file = String::new();
    for i in 0..1000 {
        let brand = format!("brand{i}");
        let query = match i % 4 {
            0 => format!("{brand} AND ({} OR {})", rng.word(), rng.word()),
            1 => format!(
                "({brand} OR #{brand}) NEAR/5 ({} OR \"{} {}\")",
                rng.word(),
                rng.word(),
                rng.word()
            ),
            2 => format!("\"{brand} {}\"~3 NOT {}", rng.word(), rng.word()),
            _ => format!("{brand}* SENTENCE {} NOT lang:de", rng.word()),
        };
        file.push_str(&format!(
            "[[topic]]\nid = \"t{i}\"\nlevel = \"brand\"\nquery = '{query}'\n\n"
        ));
    }
    let set = TopicSet::from_toml(&file).expect("topics compile");
    let mut by_term: HashMap<String, Vec<usize>> = HashMap::new();
    let mut always = Vec::new();
    for (i, t) in set.topics().iter().enumerate() {
        match t.query.required_any_of() {
            Some(terms) => terms
                .into_iter()
                .for_each(|term| by_term.entry(term).or_default().push(i)),
            None => always.push(i),
        }
    }
    let messages: Vec<String> = (0..20_000)
        .map(|_| {
            let len = 8 + rng.next() % 30;
            let mut words: Vec<String> = (0..len).map(|_| rng.word().to_string()).collect();
            let at = rng.next() % len;
            words[at] = format!("brand{}", rng.next() % 1000);
            words.join(" ") + "."
        })
        .collect();

    let start = Instant::now();
    let docs: Vec<Document<'_>> = messages.iter().map(|m| Document::from_text(m)).collect();
    let prepare = start.elapsed();
    println!(
        "prepare: {:.0} messages/s ({:.2} µs each)",
        docs.len() as f64 / prepare.as_secs_f64(),
        prepare.as_secs_f64() * 1e6 / docs.len() as f64
    );

    let mut scratch = Scratch::default();
    let start = Instant::now();
    let mut matched = 0usize;
    for doc in docs.iter().take(2000) {
        for t in set.topics() {
            matched += usize::from(t.query.is_match_with(doc, &mut scratch));
        }
    }
    let all = start.elapsed();
    println!(
        "every topic: {:.0} messages/s ({} matches in 2,000 messages)",
        2000.0 / all.as_secs_f64(),
        matched
    );

    let start = Instant::now();
    let mut matched = 0usize;
    let mut candidates = Vec::new();
    for doc in &docs {
        candidates.clear();
        candidates.extend_from_slice(&always);
        for term in doc.folded_terms() {
            if let Some(ids) = by_term.get(term) {
                candidates.extend_from_slice(ids);
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        for &i in &candidates {
            matched += usize::from(set.topics()[i].matches_with(doc, &mut scratch).is_some());
        }
    }
    let pre = start.elapsed();
    println!(
        "presearch + explain: {:.0} messages/s ({} matches in {} messages)",
        docs.len() as f64 / pre.as_secs_f64(),
        matched,
        docs.len()
    );
}
