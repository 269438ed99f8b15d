//! Channels and the one writer that turns a generated message into a message.md JSON line.
//!
//! Both the demo workspace and the benchmark stream go through [`write_line`], so the two can
//! never drift apart in shape.

use crate::json::{self, push_opt_str, push_str, push_u64};
use crate::people::Person;

/// The channels the generator writes, with their own conventions for ids, URLs and accounts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Channel {
    Email,
    Chat,
    Mastodon,
    Reddit,
    Review,
    Rss,
    Twitter,
    Forum,
}

impl Channel {
    pub(crate) const ALL: [Channel; 8] = [
        Channel::Email,
        Channel::Chat,
        Channel::Mastodon,
        Channel::Reddit,
        Channel::Review,
        Channel::Rss,
        Channel::Twitter,
        Channel::Forum,
    ];
    /// Relative volume: social dominates, news feeds are a trickle.
    pub(crate) const WEIGHTS: [u32; 8] = [12, 12, 8, 12, 9, 5, 24, 8];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Chat => "chat",
            Channel::Mastodon => "mastodon",
            Channel::Reddit => "reddit",
            Channel::Review => "review",
            Channel::Rss => "rss",
            Channel::Twitter => "twitter",
            Channel::Forum => "forum",
        }
    }

    fn id_prefix(self) -> &'static str {
        match self {
            Channel::Email => "em-",
            Channel::Chat => "ch-",
            Channel::Mastodon => "md-",
            Channel::Reddit => "rd-",
            Channel::Review => "rv-",
            Channel::Rss => "rss-",
            Channel::Twitter => "tw-",
            Channel::Forum => "fo-",
        }
    }

    /// Our own inbox/account on the channel (`account` of outbound and directed messages).
    pub(crate) fn our_account(self) -> Option<&'static str> {
        match self {
            Channel::Email => Some("support@acme.example"),
            Channel::Chat => Some("web-chat"),
            Channel::Mastodon => Some("@acme@mastodon.social"),
            Channel::Reddit => Some("u/Acme_Official"),
            Channel::Review => Some("Acme Store"),
            Channel::Rss => None,
            Channel::Twitter => Some("@acme"),
            Channel::Forum => Some("community.acme.example"),
        }
    }

    fn brand_handle(self) -> &'static str {
        match self {
            Channel::Email => "support",
            Channel::Chat | Channel::Twitter => "acme_support",
            Channel::Mastodon => "acme",
            Channel::Reddit => "Acme_Official",
            Channel::Review => "acme_store",
            Channel::Rss => "acme_press",
            Channel::Forum => "acme_team",
        }
    }

    /// How a customer names the brand on this channel (the `{at}` slot).
    pub(crate) fn at(self) -> &'static str {
        match self {
            Channel::Twitter => "@acme_support",
            Channel::Mastodon => "@acme@mastodon.social",
            Channel::Reddit => "u/Acme_Official",
            _ => "Acme",
        }
    }

    /// Whether people tag the brand by handle here (so `{at}` is a real mention).
    pub(crate) fn has_mentions(self) -> bool {
        matches!(self, Channel::Twitter | Channel::Mastodon | Channel::Reddit)
    }

    /// Whether the first message of a thread has a subject/title.
    pub(crate) fn has_title(self) -> bool {
        matches!(
            self,
            Channel::Email | Channel::Reddit | Channel::Review | Channel::Rss | Channel::Forum
        )
    }

    /// Whether an inbound message arrives through our account even without addressing us.
    pub(crate) fn always_ours(self) -> bool {
        matches!(self, Channel::Email | Channel::Chat)
    }

    /// `engagement_type` of a message answering another.
    pub(crate) fn reply_engagement(self) -> &'static str {
        match self {
            Channel::Reddit | Channel::Review => "COMMENT",
            _ => "REPLY",
        }
    }

    /// Longest thread the channel supports (a review gets at most one public answer).
    pub(crate) fn max_thread(self) -> usize {
        match self {
            Channel::Rss => 1,
            Channel::Review => 2,
            _ => 6,
        }
    }

    fn has_metrics(self) -> bool {
        !matches!(self, Channel::Email | Channel::Chat)
    }
}

/// Who wrote a message.
#[derive(Clone, Copy)]
pub(crate) enum Author {
    Customer {
        person: Person,
        email: bool,
        phone: bool,
    },
    /// The brand, answering through its account.
    Brand,
}

/// One generated message, borrowing its text; [`write_line`] turns it into JSON.
pub(crate) struct Msg<'a> {
    pub channel: Channel,
    pub id: u64,
    pub account: Option<&'static str>,
    pub outbound: bool,
    pub created_at: i64,
    pub text: &'a str,
    pub title: Option<&'a str>,
    pub lang: Option<&'static str>,
    pub thread: Option<u64>,
    pub in_reply_to: Option<u64>,
    pub author: Author,
    pub rating: Option<u8>,
    pub subreddit: Option<&'static str>,
    pub metrics: [u64; 3],
}

fn push_id(out: &mut String, channel: Channel, num: u64) {
    out.push('"');
    out.push_str(channel.id_prefix());
    push_u64(out, num);
    out.push('"');
}

fn push_opt_id(out: &mut String, channel: Channel, num: Option<u64>) {
    match num {
        Some(n) => push_id(out, channel, n),
        None => out.push_str("null"),
    }
}

fn push_handle(out: &mut String, m: &Msg) {
    match m.author {
        Author::Customer { person, .. } => person.push_handle(out),
        Author::Brand => out.push_str(m.channel.brand_handle()),
    }
}

fn push_url(out: &mut String, m: &Msg) {
    let thread = m.thread.unwrap_or(m.id);
    match m.channel {
        Channel::Email | Channel::Chat => {
            out.push_str("null");
            return;
        }
        Channel::Twitter => {
            out.push_str("\"https://twitter.com/");
            push_handle(out, m);
            out.push_str("/status/");
        }
        Channel::Mastodon => {
            out.push_str("\"https://mastodon.social/@");
            push_handle(out, m);
            out.push('/');
        }
        Channel::Reddit => {
            out.push_str("\"https://www.reddit.com/r/");
            out.push_str(m.subreddit.unwrap_or("AcmePhone"));
            out.push_str("/comments/");
            push_u64(out, thread);
            out.push_str("/_/");
        }
        Channel::Review => {
            out.push_str("\"https://reviews.example.com/acme/");
            push_u64(out, thread);
            out.push('#');
        }
        Channel::Rss => out.push_str("\"https://news.example.com/articles/"),
        Channel::Forum => {
            out.push_str("\"https://community.acme.example/t/");
            push_u64(out, thread);
            out.push('/');
        }
    }
    push_u64(out, m.id);
    out.push('"');
}

/// Appends `m` as one JSON object (no newline) in the shape of specs/message.md.
pub(crate) fn write_line(out: &mut String, m: &Msg) {
    out.push_str("{\"id\":");
    push_id(out, m.channel, m.id);
    out.push_str(",\"channel\":\"");
    out.push_str(m.channel.name());
    out.push_str("\",\"account\":");
    push_opt_str(out, m.account);
    out.push_str(",\"direction\":");
    out.push_str(if m.outbound {
        "\"outbound\""
    } else {
        "\"inbound\""
    });
    out.push_str(",\"created_at\":\"");
    json::push_rfc3339(out, m.created_at);
    out.push_str("\",\"text\":");
    push_str(out, m.text);
    out.push_str(",\"title\":");
    push_opt_str(out, m.title);
    out.push_str(",\"lang\":");
    push_opt_str(out, m.lang);
    out.push_str(",\"url\":");
    push_url(out, m);
    out.push_str(",\"thread_id\":");
    push_opt_id(out, m.channel, m.thread);
    out.push_str(",\"in_reply_to\":");
    push_opt_id(out, m.channel, m.in_reply_to);
    out.push_str(",\"engagement_type\":");
    match m.in_reply_to {
        Some(_) => push_str(out, m.channel.reply_engagement()),
        None => out.push_str("null"),
    }
    out.push_str(",\"author\":{\"id\":\"");
    match m.author {
        Author::Customer {
            person,
            email,
            phone,
        } => {
            push_u64(out, person.id());
            out.push_str("\",\"handle\":\"");
            person.push_handle(out);
            out.push_str("\",\"name\":\"");
            person.push_name(out);
            out.push_str("\",\"followers\":");
            push_u64(out, person.followers());
            out.push_str(",\"verified\":");
            out.push_str(if person.verified() { "true" } else { "false" });
            out.push_str(",\"email\":");
            if email {
                out.push('"');
                person.push_email(out);
                out.push('"');
            } else {
                out.push_str("null");
            }
            out.push_str(",\"phone\":");
            if phone {
                out.push('"');
                person.push_phone(out);
                out.push('"');
            } else {
                out.push_str("null");
            }
            out.push_str(",\"country\":\"");
            out.push_str(person.city().country);
            out.push_str("\"}");
        }
        Author::Brand => {
            out.push_str("acme\",\"handle\":\"");
            out.push_str(m.channel.brand_handle());
            out.push_str("\",\"name\":\"Acme Support\",\"followers\":");
            push_u64(out, if m.channel.has_metrics() { 184_200 } else { 0 });
            out.push_str(",\"verified\":true,\"email\":");
            out.push_str(if m.channel == Channel::Email {
                "\"support@acme.example\""
            } else {
                "null"
            });
            out.push_str(",\"phone\":null,\"country\":null}");
        }
    }
    out.push_str(",\"rating\":");
    match m.rating {
        Some(r) => push_u64(out, u64::from(r)),
        None => out.push_str("null"),
    }
    out.push_str(",\"subreddit\":");
    push_opt_str(out, m.subreddit);
    out.push_str(",\"metrics\":");
    if m.channel.has_metrics() {
        out.push_str("{\"likes\":");
        push_u64(out, m.metrics[0]);
        out.push_str(",\"reshares\":");
        push_u64(out, m.metrics[1]);
        out.push_str(",\"replies\":");
        push_u64(out, m.metrics[2]);
        out.push('}');
    } else {
        out.push_str("null");
    }
    out.push('}');
}

/// Turns a sequence number into an id number that looks random but never repeats: an affine
/// map modulo 2^40 with an odd multiplier is a bijection, so distinct `seq < 2^40` give
/// distinct ids, and `salt` (from the seed) makes different corpora use different ids.
pub(crate) fn id_number(seq: u64, salt: u64) -> u64 {
    const MASK: u64 = (1 << 40) - 1;
    (seq.wrapping_add(salt).wrapping_mul(0x9E37_79B9_7F4A_7C15) & MASK) + 1_000_000_000_000
}

/// Likes, reshares and replies for a message by someone with `followers` followers.
pub(crate) fn metrics(rng: &mut fastrand::Rng, followers: u64, viral: bool) -> [u64; 3] {
    let reach = followers / 40 + 3;
    let mut likes = rng.u64(0..=reach.min(50_000));
    if viral {
        likes = likes * 20 + rng.u64(100..5_000);
    }
    let reshares = likes / rng.u64(2..12);
    let replies = likes / rng.u64(5..30) + rng.u64(0..3);
    [likes, reshares, replies]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_numbers_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for seq in 0..200_000 {
            assert!(seen.insert(id_number(seq, 12_345)));
        }
    }
}
