//! The benchmark stream: `n` JSON lines, generated lazily in constant memory.

use fastrand::Rng;

use crate::Corpus;
use crate::message::{Author, Channel, Msg, id_number, metrics, write_line};
use crate::people::{PEOPLE_PER_LANG, mix};
use crate::plan::{self, Opening};
use crate::templates::Intent;
use crate::text::{self, Bounds, Role, Slots};

/// Text length the benchmark promises, in bytes.
const BOUNDS: Bounds = Bounds { min: 80, max: 400 };
/// How many recent thread messages replies may answer; bounds memory.
const RECENT: usize = 64;
/// Share of messages (percent) that answer an earlier one.
const REPLY_PERCENT: u8 = 25;

/// A message later ones can reply to.
#[derive(Clone, Copy)]
struct Recent {
    opening: Opening,
    id: u64,
    thread: u64,
    created_at: i64,
    account: Option<&'static str>,
}

pub(crate) struct BenchLines {
    rng: Rng,
    next: u64,
    n: u64,
    start: i64,
    span: i64,
    salt: u64,
    recent: Vec<Recent>,
    recent_pos: usize,
    body: String,
    text: String,
    title: String,
}

impl BenchLines {
    pub(crate) fn new(corpus: &Corpus, n: u64) -> Self {
        BenchLines {
            rng: Rng::with_seed(corpus.seed ^ 0xBE4C_0000_0000_0002),
            next: 0,
            n,
            start: corpus.start.unix_timestamp(),
            span: (i64::from(corpus.span_days) * 86_400).max(1),
            salt: mix(corpus.seed ^ 0xBE4C),
            recent: Vec::with_capacity(RECENT),
            recent_pos: 0,
            body: String::with_capacity(512),
            text: String::with_capacity(512),
            title: String::with_capacity(128),
        }
    }

    fn remember(&mut self, r: Recent) {
        if self.recent.len() < RECENT {
            self.recent.push(r);
        } else {
            self.recent[self.recent_pos] = r;
            self.recent_pos = (self.recent_pos + 1) % RECENT;
        }
    }

    /// Picks an earlier message to answer, if this one is a reply.
    fn parent(&mut self) -> Option<Recent> {
        if self.recent.is_empty() || self.rng.u8(..100) >= REPLY_PERCENT {
            return None;
        }
        Some(self.recent[self.rng.usize(..self.recent.len())])
    }

    fn line(&mut self, seq: u64) -> String {
        let id = id_number(seq, self.salt);
        let end = self.start + self.span - 1;
        // Spread evenly over the span in stream order, with a little jitter.
        let base = self.start + (u128::from(seq) * self.span as u128 / u128::from(self.n)) as i64;
        let jitter = (self.span / self.n as i64).clamp(0, 300);
        let mut t = (base + self.rng.i64(0..=jitter)).min(end);

        let parent = self.parent();
        let (opening, role) = match parent {
            Some(p) => {
                let agent = p.opening.channel == Channel::Review || self.rng.bool();
                (p.opening, if agent { Role::Agent } else { Role::FollowUp })
            }
            None => (
                plan::opening(&mut self.rng, |_| PEOPLE_PER_LANG),
                Role::Opening,
            ),
        };
        let Opening {
            channel,
            intent,
            person,
            email,
            phone,
            subreddit,
        } = opening;
        let lang = person.lang;
        let slots = Slots::draw(&mut self.rng, &person, channel);
        let mentioned = text::compose(
            &mut self.body,
            &mut self.rng,
            lang,
            intent,
            role,
            channel,
            &slots,
            BOUNDS,
        );
        let outbound = role == Role::Agent;
        // Agent replies greet and sign inside the template; customers' mail gets wrapped.
        if channel == Channel::Email && !outbound && self.rng.u8(..10) < 7 {
            let html = self.rng.bool();
            text::wrap_email(&mut self.text, &self.body, lang, &person, html, BOUNDS.max);
        } else {
            std::mem::swap(&mut self.text, &mut self.body);
        }

        let has_title = match role {
            Role::Opening => channel.has_title(),
            _ => channel == Channel::Email,
        };
        if has_title {
            text::title(
                &mut self.title,
                &mut self.rng,
                lang,
                intent,
                channel,
                &slots,
            );
            if role != Role::Opening {
                self.title.insert_str(0, lang.reply_prefix);
            }
        }

        let account = match (role, parent) {
            (Role::Agent, _) => channel.our_account(),
            (_, Some(p)) => p.account,
            _ if channel.always_ours()
                || (mentioned && matches!(channel, Channel::Twitter | Channel::Mastodon)) =>
            {
                channel.our_account()
            }
            _ => None,
        };
        let thread = parent.map_or(id, |p| p.thread);
        if let Some(p) = parent {
            t = t.max((p.created_at + self.rng.i64(30..3_600)).min(end));
        }
        let followers = if outbound { 2_000 } else { person.followers() };
        let msg = Msg {
            channel,
            id,
            account,
            outbound,
            created_at: t,
            text: &self.text,
            title: has_title.then_some(self.title.as_str()),
            lang: self.rng.bool().then_some(lang.code),
            thread: Some(thread),
            in_reply_to: parent.map(|p| p.id),
            author: if outbound {
                Author::Brand
            } else {
                Author::Customer {
                    person,
                    email,
                    phone,
                }
            },
            rating: (channel == Channel::Review && role == Role::Opening)
                .then(|| plan::rating(&mut self.rng, intent)),
            subreddit,
            metrics: metrics(&mut self.rng, followers, intent == Intent::Crisis),
        };
        let mut line = String::with_capacity(1024);
        write_line(&mut line, &msg);

        // Threads grow from openings and customer follow-ups; reviews get one answer at most,
        // news items and spam none.
        let answerable = channel != Channel::Rss
            && (intent.answered() || role == Role::Opening && channel != Channel::Review);
        if answerable && !outbound && !(channel == Channel::Review && role != Role::Opening) {
            self.remember(Recent {
                opening,
                id,
                thread,
                created_at: t,
                account,
            });
        }
        line
    }
}

impl Iterator for BenchLines {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        if self.next >= self.n {
            return None;
        }
        let seq = self.next;
        self.next += 1;
        Some(self.line(seq))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = usize::try_from(self.n - self.next).unwrap_or(usize::MAX);
        (left, Some(left))
    }
}

#[cfg(test)]
mod tests {
    use crate::Corpus;
    use serde_json::Value;
    use std::collections::{HashMap, HashSet};

    #[test]
    fn same_seed_same_lines_different_seed_differs() {
        let a: Vec<String> = Corpus::new(1).bench_lines(2_000).collect();
        let b: Vec<String> = Corpus::new(1).bench_lines(2_000).collect();
        let c: Vec<String> = Corpus::new(2).bench_lines(2_000).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 2_000);
    }

    #[test]
    fn lines_are_valid_and_ids_unique() {
        let corpus = Corpus::new(99);
        let start = corpus.start.unix_timestamp();
        let end = start + i64::from(corpus.span_days) * 86_400;
        let mut ids = HashSet::new();
        let mut channels = HashSet::new();
        let mut langs: HashMap<String, usize> = HashMap::new();
        let (mut escaped, mut html, mut replies) = (0, 0, 0);
        let mut first_time = None;
        let mut last_time = 0;
        for line in corpus.bench_lines(100_000) {
            assert!(!line.ends_with('\n') && !line.contains('\n'));
            let m: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
            let id = m["id"].as_str().expect("id");
            let channel = m["channel"].as_str().expect("channel");
            let text = m["text"].as_str().expect("text");
            let created = m["created_at"].as_str().expect("created_at");
            let author = &m["author"];
            assert!(author["handle"].is_string() || author["id"].is_string());
            assert!(
                (80..=400).contains(&text.len()),
                "{} bytes: {text:?}",
                text.len()
            );
            let t = time::OffsetDateTime::parse(
                created,
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap()
            .unix_timestamp();
            assert!((start..end).contains(&t), "{created}");
            first_time.get_or_insert(t);
            last_time = t;
            assert!(ids.insert(id.to_owned()), "duplicate id {id}");
            channels.insert(channel.to_owned());
            if let Some(l) = m["lang"].as_str() {
                *langs.entry(l.to_owned()).or_default() += 1;
            }
            if m["direction"] == "outbound" {
                assert!(m["account"].is_string());
            }
            escaped += usize::from(text.contains(['"', '\\', '\n']));
            html += usize::from(text.starts_with("<p>"));
            replies += usize::from(m["in_reply_to"].is_string());
        }
        assert_eq!(ids.len(), 100_000);
        assert_eq!(channels.len(), 8, "{channels:?}");
        assert!(langs.len() >= 9, "{langs:?}");
        assert!(escaped > 1_000 && html > 1_000, "{escaped} {html}");
        assert!((15_000..35_000).contains(&replies), "{replies}");
        assert!(
            last_time - first_time.unwrap() > 29 * 86_400,
            "spread over span"
        );
    }

    #[test]
    fn small_and_empty_streams() {
        assert_eq!(Corpus::new(3).bench_lines(0).count(), 0);
        let mut c = Corpus::new(3);
        c.span_days = 0;
        assert_eq!(c.bench_lines(5).count(), 5);
    }

    /// Throughput check; run with
    /// `cargo test -p needle-demo --release -- --ignored --nocapture throughput`.
    #[test]
    #[ignore]
    fn throughput() {
        let n = 1_000_000;
        let t = std::time::Instant::now();
        let bytes: usize = Corpus::new(1).bench_lines(n).map(|l| l.len()).sum();
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{n} lines, {:.0} MB in {secs:.2}s: {:.0} messages/s",
            bytes as f64 / 1e6,
            n as f64 / secs
        );
    }
}
