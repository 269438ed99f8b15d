//! Seeded, deterministic synthetic messages for Needle.
//!
//! Two consumers need realistic traffic without real customers' data: `needle serve --demo`
//! fills a demo workspace with whole conversations, and benchmarks import a million messages.
//! Both get text about a fictional brand, Acme (phones, earbuds, laptops, AcmeOS, Acme Cloud),
//! its competitors (Globex, Initech, Umbrella) and its category, in nine languages, across
//! e-mail, chat, social networks, reviews, news feeds and forums, in the message shape of
//! `specs/message.md`. The same seed always gives byte-identical output, so benchmark runs and
//! screenshots are reproducible. Contact details use reserved `.example` domains and 555
//! numbers, so a demo can never reach a real person.

mod bench;
mod demo;
mod json;
mod message;
mod people;
mod plan;
mod templates;
mod text;

use time::OffsetDateTime;
use time::macros::datetime;

/// Settings for one generated corpus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Corpus {
    /// Everything random is drawn from this; equal seeds give equal output.
    pub seed: u64,
    /// Earliest `created_at`.
    pub start: OffsetDateTime,
    /// Messages are spread over this many days from `start`.
    pub span_days: u32,
}

impl Corpus {
    /// A corpus over October 2026 (30 days from 2026-10-01T00:00:00Z), a fixed window so that
    /// output does not depend on when it is generated.
    pub fn new(seed: u64) -> Self {
        Corpus {
            seed,
            start: datetime!(2026-10-01 0:00 UTC),
            span_days: 30,
        }
    }

    /// The demo workspace: `conversations` threads of 1–6 messages, ordered by `created_at`.
    ///
    /// Each thread opens with an inbound message; agents answer some (direction `outbound`,
    /// `account` set) and customers follow up (same `thread_id`, `in_reply_to` the previous
    /// message). About half the messages are English, the rest German, French, Spanish,
    /// Portuguese, Japanese, Korean, Arabic and Italian; `lang` is given on about half and left
    /// for detection on the rest. People recur across threads and channels, so profiles have
    /// history. Some e-mail bodies are HTML, to exercise the importer's conversion.
    pub fn demo_conversations(&self, conversations: usize) -> Vec<serde_json::Value> {
        demo::conversations(self, conversations)
    }

    /// A stream of `n` benchmark messages, each one JSON line (no trailing newline).
    ///
    /// Texts are 80–400 bytes, ids are unique, channels and languages are mixed, `created_at`
    /// grows through the span, and about a quarter of the messages reply to a recent one. Lines
    /// are written directly into strings (no `serde_json::Value`) and memory stays constant
    /// whatever `n` is, so a million messages take about a second. The iterator owns its state
    /// and may outlive `self`.
    pub fn bench_lines(&self, n: u64) -> impl Iterator<Item = String> + use<> {
        bench::BenchLines::new(self, n)
    }
}
