//! Which messages need the team, how urgent they are, and when they are due.
//!
//! A message opens (or reopens) a case when it comes from a customer and either arrived on a
//! channel people use to talk to the brand (email, chat), through one of the workspace's
//! connections (a Mastodon mention), or says something that needs an answer (a complaint,
//! a question, a purchase intent, churn risk, a crisis). Spam never does. Our own messages
//! only answer cases that exist.

use needle_core::{Classification, Direction, Message};
use needle_store::cases::{CaseTouch, Priority};
use time::Duration;

/// Intents that need an answer wherever they were said.
const NEEDS_ANSWER: &[&str] = &[
    "complaint",
    "question",
    "purchase_intent",
    "churn_risk",
    "crisis",
];
/// Channels whose every inbound message is addressed to the team.
const DIRECT: &[&str] = &["email", "chat"];
/// Authors with this many followers or more are influential: their cases rise.
pub const INFLUENTIAL_FOLLOWERS: u64 = 10_000;
/// Longest subject kept, in characters.
const SUBJECT_CHARS: usize = 120;

/// Due times per priority: first response and resolution, in working time (round the clock
/// unless the case's team keeps business hours: `routing::route`).
#[derive(Debug, Clone)]
pub struct Policy {
    /// Indexed by `Priority::rank()`: urgent, high, normal, low.
    pub first_response: [Duration; 4],
    pub resolution: [Duration; 4],
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            first_response: [
                Duration::minutes(15),
                Duration::hours(1),
                Duration::hours(4),
                Duration::hours(24),
            ],
            resolution: [
                Duration::hours(4),
                Duration::hours(8),
                Duration::hours(24),
                Duration::hours(72),
            ],
        }
    }
}

fn has(classification: Option<&Classification>, intent: &str) -> bool {
    classification.is_some_and(|c| c.intents.iter().any(|i| i == intent))
}

/// Whether an inbound message needs the team.
pub fn needs_case(message: &Message, classification: Option<&Classification>) -> bool {
    if message.direction != Direction::Inbound || has(classification, "spam") {
        return false;
    }
    DIRECT.contains(&message.channel.as_str())
        || message.account.is_some()
        || NEEDS_ANSWER.iter().any(|i| has(classification, i))
}

/// Whether a stored message does anything to a case: an inbound one that needs the team, or
/// one of ours (which may answer a case).
pub fn files(message: &Message, classification: Option<&Classification>) -> bool {
    message.direction != Direction::Inbound || needs_case(message, classification)
}

/// Crises are urgent; churn risk, an influential author or a very unhappy message is high.
pub fn priority(message: &Message, classification: Option<&Classification>) -> Priority {
    if has(classification, "crisis") {
        return Priority::Urgent;
    }
    let influential = message
        .author
        .followers
        .is_some_and(|f| f >= INFLUENTIAL_FOLLOWERS);
    let very_unhappy = classification.is_some_and(|c| c.sentiment.score <= -0.6);
    if has(classification, "churn_risk") || influential || very_unhappy {
        Priority::High
    } else {
        Priority::Normal
    }
}

/// The conversation a message belongs to on its channel: its thread, or itself.
pub fn thread_of(message: &Message) -> &str {
    message.thread_id.as_deref().unwrap_or(&message.id)
}

/// The title, else the start of the text.
pub fn subject_of(message: &Message) -> String {
    let source = message
        .title
        .as_deref()
        .filter(|t| !t.trim().is_empty())
        .unwrap_or(&message.text);
    let line = source.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(SUBJECT_CHARS) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None if line.is_empty() => "(no text)".into(),
        None => line,
    }
}

/// Who wrote it, for lists: a name, a handle, an address.
pub fn customer_of(message: &Message) -> String {
    let a = &message.author;
    [&a.name, &a.handle, &a.email, &a.phone, &a.id]
        .into_iter()
        .find_map(|v| v.as_deref().filter(|v| !v.trim().is_empty()))
        .unwrap_or("unknown")
        .to_string()
}

/// What a stored message does to its conversation's case, if anything.
pub fn touch<'a>(
    policy: &Policy,
    message: &'a Message,
    classification: Option<&Classification>,
    subject: &'a str,
    customer: &'a str,
) -> Option<CaseTouch<'a>> {
    let inbound = match message.direction {
        Direction::Inbound if needs_case(message, classification) => true,
        Direction::Inbound => return None,
        _ => false,
    };
    Some(opening(
        policy,
        message,
        classification,
        subject,
        customer,
        inbound,
    ))
}

/// A case for a message someone chose by hand (a listening find that needs an answer),
/// whatever the rules say.
pub fn chosen<'a>(
    policy: &Policy,
    message: &'a Message,
    classification: Option<&Classification>,
    subject: &'a str,
    customer: &'a str,
) -> CaseTouch<'a> {
    opening(policy, message, classification, subject, customer, true)
}

fn opening<'a>(
    policy: &Policy,
    message: &'a Message,
    classification: Option<&Classification>,
    subject: &'a str,
    customer: &'a str,
    inbound: bool,
) -> CaseTouch<'a> {
    let priority = priority(message, classification);
    let rank = priority.rank() as usize;
    CaseTouch {
        channel: &message.channel,
        thread_id: thread_of(message),
        subject,
        customer,
        at: message.created_at,
        inbound,
        priority,
        first_response_due: message.created_at + policy.first_response[rank],
        resolution_due: message.created_at + policy.resolution[rank],
        team: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use needle_core::classification::{Sentiment, SentimentLabel};
    use serde_json::json;

    fn message(channel: &str, direction: &str, followers: u64) -> Message {
        Message::from_json(json!({
            "id": "m1", "channel": channel, "direction": direction,
            "created_at": "2026-03-02T14:00:00Z", "text": "  Where   is my\norder? ",
            "author": {"handle": "kim", "followers": followers}
        }))
        .unwrap()
    }

    fn classified(intents: &[&str], score: f64) -> Classification {
        Classification {
            lang: "en".into(),
            sentiment: Sentiment {
                label: SentimentLabel::Neutral,
                score,
            },
            intents: intents.iter().map(|s| s.to_string()).collect(),
            entities: vec![],
            truncated_at: None,
            tier: None,
            relevance: None,
        }
    }

    #[test]
    fn direct_channels_and_messages_that_need_an_answer_open_cases() {
        let none = classified(&[], 0.0);
        assert!(needs_case(&message("email", "inbound", 0), Some(&none)));
        assert!(
            !needs_case(&message("twitter", "inbound", 0), Some(&none)),
            "chatter"
        );
        let asks = classified(&["question"], 0.0);
        assert!(needs_case(&message("twitter", "inbound", 0), Some(&asks)));
        let spam = classified(&["spam", "question"], 0.0);
        assert!(!needs_case(&message("email", "inbound", 0), Some(&spam)));
        assert!(!needs_case(&message("email", "outbound", 0), Some(&none)));
        let mut mention = message("mastodon", "inbound", 0);
        mention.account = Some("acme-masto".into());
        assert!(
            needs_case(&mention, Some(&none)),
            "came through our connection"
        );
    }

    #[test]
    fn crises_are_urgent_and_influence_or_anger_is_high() {
        let m = message("twitter", "inbound", 10);
        assert_eq!(
            priority(&m, Some(&classified(&["crisis"], 0.0))),
            Priority::Urgent
        );
        assert_eq!(
            priority(&m, Some(&classified(&["churn_risk"], 0.0))),
            Priority::High
        );
        assert_eq!(priority(&m, Some(&classified(&[], -0.8))), Priority::High);
        assert_eq!(
            priority(&m, Some(&classified(&["complaint"], -0.2))),
            Priority::Normal
        );
        let star = message("twitter", "inbound", 50_000);
        assert_eq!(priority(&star, None), Priority::High);
    }

    #[test]
    fn touches_carry_the_thread_subject_and_due_times() {
        let m = message("email", "inbound", 0);
        let subject = subject_of(&m);
        assert_eq!(subject, "Where is my order?");
        assert_eq!(customer_of(&m), "kim");
        let policy = Policy::default();
        let t = touch(&policy, &m, None, &subject, "kim").unwrap();
        assert_eq!((t.thread_id, t.inbound), ("m1", true));
        assert_eq!(t.first_response_due - m.created_at, Duration::hours(4));
        let reply = message("email", "outbound", 0);
        assert!(
            !touch(&policy, &reply, None, &subject, "kim")
                .unwrap()
                .inbound
        );
        assert!(touch(&policy, &message("rss", "inbound", 0), None, &subject, "x").is_none());
    }
}
