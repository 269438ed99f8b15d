//! The demo workspace: whole conversations, returned as `serde_json::Value` messages.

use fastrand::Rng;
use serde_json::Value;

use crate::Corpus;
use crate::message::{Author, Channel, Msg, id_number, metrics, write_line};
use crate::people::mix;
use crate::plan::{self, Opening};
use crate::templates::{Intent, LANGS};
use crate::text::{self, Bounds, Role, Slots};

/// Number of messages in a thread (first message included), capped by what the channel allows.
fn thread_len(rng: &mut Rng, max: usize) -> usize {
    let len = match rng.u8(..100) {
        0..=29 => 1,
        30..=54 => 2,
        55..=74 => 3,
        75..=86 => 4,
        87..=94 => 5,
        _ => 6,
    };
    len.min(max)
}

pub(crate) fn conversations(corpus: &Corpus, count: usize) -> Vec<Value> {
    let mut rng = Rng::with_seed(corpus.seed ^ 0xDE30_0000_0000_0001);
    let salt = mix(corpus.seed);
    let start = corpus.start.unix_timestamp();
    let span = (i64::from(corpus.span_days) * 86_400).max(1);
    let end = start + span - 1;
    let total_weight: u64 = LANGS.iter().map(|(_, w)| u64::from(*w)).sum();
    // About two conversations per person, so profiles in the demo have history.
    let people = |lang_no: usize| {
        (count as u64 * u64::from(LANGS[lang_no].1) / total_weight / 2).clamp(3, u32::MAX as u64)
            as u32
    };

    // (created_at, sequence, line): sorting by time with the sequence as tie-break keeps every
    // reply after the message it answers.
    let mut lines: Vec<(i64, u64, String)> = Vec::with_capacity(count * 2);
    let mut seq = 0u64;
    let mut body = String::new();
    let mut wrapped = String::new();
    let mut root_title = String::new();
    let mut reply_title = String::new();

    for _ in 0..count {
        let Opening {
            channel,
            intent,
            person,
            email,
            phone,
            subreddit,
        } = plan::opening(&mut rng, people);
        let lang = person.lang;
        let mut slots = Slots::draw(&mut rng, &person, channel);
        let html = rng.bool();

        let root = id_number(seq, salt);
        let mut t = start + rng.i64(0..span);
        let mentioned = text::compose(
            &mut body,
            &mut rng,
            lang,
            intent,
            Role::Opening,
            channel,
            &slots,
            Bounds::NATURAL,
        );
        let text = if channel == Channel::Email {
            text::wrap_email(&mut wrapped, &body, lang, &person, html, usize::MAX);
            wrapped.as_str()
        } else {
            body.as_str()
        };
        if channel.has_title() {
            text::title(&mut root_title, &mut rng, lang, intent, channel, &slots);
        }
        let ours = channel.always_ours()
            || (mentioned && matches!(channel, Channel::Twitter | Channel::Mastodon));
        let account = if ours { channel.our_account() } else { None };
        let customer = Author::Customer {
            person,
            email,
            phone,
        };
        let msg = Msg {
            channel,
            id: root,
            account,
            outbound: false,
            created_at: t,
            text,
            title: channel.has_title().then_some(root_title.as_str()),
            lang: rng.bool().then_some(lang.code),
            thread: Some(root),
            in_reply_to: None,
            author: customer,
            rating: (channel == Channel::Review).then(|| plan::rating(&mut rng, intent)),
            subreddit,
            metrics: metrics(&mut rng, person.followers(), intent == Intent::Crisis),
        };
        push(&mut lines, &msg, seq);
        seq += 1;

        let len = if intent.answered() {
            thread_len(&mut rng, channel.max_thread())
        } else {
            1
        };
        let mut parent = root;
        let mut last_agent = false;
        for _ in 1..len {
            let agent = channel == Channel::Review || (!last_agent && rng.u8(..10) < 7);
            t = (t + rng.i64(120..6 * 3600)).min(end);
            let id = id_number(seq, salt);
            let role = if agent { Role::Agent } else { Role::FollowUp };
            text::compose(
                &mut body,
                &mut rng,
                lang,
                intent,
                role,
                channel,
                &slots,
                Bounds::NATURAL,
            );
            // Agent replies greet and sign inside the template; customers' mail gets wrapped.
            let text = if channel == Channel::Email && !agent {
                text::wrap_email(&mut wrapped, &body, lang, &person, html, usize::MAX);
                wrapped.as_str()
            } else {
                body.as_str()
            };
            reply_title.clear();
            reply_title.push_str(lang.reply_prefix);
            reply_title.push_str(&root_title);
            let title = (channel == Channel::Email).then_some(reply_title.as_str());
            let msg = Msg {
                channel,
                id,
                account: if agent {
                    channel.our_account()
                } else {
                    account
                },
                outbound: agent,
                created_at: t,
                text,
                title,
                lang: rng.bool().then_some(lang.code),
                thread: Some(root),
                in_reply_to: Some(parent),
                author: if agent { Author::Brand } else { customer },
                rating: None,
                subreddit,
                metrics: metrics(&mut rng, if agent { 2_000 } else { 40 }, false),
            };
            push(&mut lines, &msg, seq);
            seq += 1;
            if agent {
                slots.agent_turn += 1;
            } else {
                slots.customer_turn += 1;
            }
            parent = id;
            last_agent = agent;
        }
    }

    lines.sort_by_key(|(t, seq, _)| (*t, *seq));
    lines
        .into_iter()
        .map(|(_, _, line)| serde_json::from_str(&line).expect("generator writes valid JSON"))
        .collect()
}

fn push(lines: &mut Vec<(i64, u64, String)>, msg: &Msg, seq: u64) {
    let mut line = String::with_capacity(1024);
    write_line(&mut line, msg);
    lines.push((msg.created_at, seq, line));
}

#[cfg(test)]
mod tests {
    use crate::Corpus;
    use serde_json::Value;
    use std::collections::{HashMap, HashSet};

    fn s<'a>(m: &'a Value, k: &str) -> Option<&'a str> {
        m.get(k).and_then(Value::as_str)
    }

    #[test]
    fn same_seed_same_output_different_seed_differs() {
        let a = Corpus::new(42).demo_conversations(300);
        let b = Corpus::new(42).demo_conversations(300);
        let c = Corpus::new(43).demo_conversations(300);
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
        assert_ne!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&c).unwrap()
        );
    }

    #[test]
    fn demo_covers_languages_and_channels() {
        let msgs = Corpus::new(7).demo_conversations(500);
        assert!(msgs.len() > 500);
        let mut langs: HashMap<String, usize> = HashMap::new();
        let mut channels = HashSet::new();
        let mut with_lang = 0;
        for m in &msgs {
            if let Some(l) = s(m, "lang") {
                *langs.entry(l.to_owned()).or_default() += 1;
                with_lang += 1;
            }
            channels.insert(s(m, "channel").unwrap().to_owned());
        }
        assert!(langs.len() >= 5, "{langs:?}");
        for l in ["en", "de", "fr", "ko", "ar", "es", "ja"] {
            assert!(langs.contains_key(l), "missing {l}: {langs:?}");
        }
        let en = langs["en"] as f64 / with_lang as f64;
        assert!((0.35..0.65).contains(&en), "en share {en}");
        let share = with_lang as f64 / msgs.len() as f64;
        assert!((0.4..0.6).contains(&share), "lang set on {share}");
        for c in [
            "email", "chat", "mastodon", "reddit", "review", "rss", "twitter", "forum",
        ] {
            assert!(channels.contains(c), "missing channel {c}");
        }
    }

    #[test]
    fn threads_are_consistent() {
        let msgs = Corpus::new(11).demo_conversations(400);
        let mut seen: HashMap<(String, String), String> = HashMap::new();
        let mut replies = 0;
        let mut outbound = 0;
        for m in &msgs {
            let channel = s(m, "channel").unwrap().to_owned();
            let id = s(m, "id").unwrap().to_owned();
            let thread = s(m, "thread_id").unwrap().to_owned();
            if let Some(parent) = s(m, "in_reply_to") {
                replies += 1;
                let parent_thread = seen
                    .get(&(channel.clone(), parent.to_owned()))
                    .unwrap_or_else(|| panic!("{id} replies to unseen {parent}"));
                assert_eq!(parent_thread, &thread, "{id} changes thread");
                assert!(s(m, "engagement_type").is_some());
            } else {
                assert_eq!(thread, id, "thread starts with its own id");
            }
            if s(m, "direction") == Some("outbound") {
                outbound += 1;
                assert!(s(m, "account").is_some(), "outbound {id} without account");
            }
            assert!(
                seen.insert((channel, id.clone()), thread).is_none(),
                "duplicate id {id}"
            );
        }
        assert!(replies > 100 && outbound > 50, "{replies} {outbound}");
    }

    #[test]
    fn messages_have_the_message_md_shape() {
        let msgs = Corpus::new(5).demo_conversations(300);
        let mut html = 0;
        for m in &msgs {
            let channel = s(m, "channel").unwrap();
            let inbound = s(m, "direction") == Some("inbound");
            assert!(s(m, "created_at").unwrap().ends_with('Z'));
            assert!(!s(m, "text").unwrap().is_empty());
            let author = &m["author"];
            assert!(s(author, "handle").is_some() && s(author, "id").is_some());
            let root = m["in_reply_to"].is_null();
            match channel {
                "email" => {
                    assert!(s(m, "title").is_some());
                    assert!(s(author, "email").is_some());
                    html += usize::from(s(m, "text").unwrap().starts_with("<p>"));
                }
                "reddit" => assert!(s(m, "subreddit").is_some()),
                "review" if root => {
                    let r = m["rating"].as_u64().unwrap();
                    assert!((1..=5).contains(&r));
                    assert!(s(m, "title").is_some());
                }
                "rss" => assert!(s(m, "title").is_some() && root),
                _ => {}
            }
            if inbound && root && ["reddit", "review", "rss"].contains(&channel) {
                assert!(s(m, "title").is_some(), "{channel} without title");
            }
        }
        assert!(html > 5, "some e-mails are HTML");
    }
}
