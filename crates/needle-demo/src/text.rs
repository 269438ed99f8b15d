//! Filling templates and composing message bodies.

use fastrand::Rng;

use crate::json;
use crate::message::Channel;
use crate::people::Person;
use crate::templates::{self, Intent, Lang};

/// Values for the `{slot}` markers of one message. Drawn once per message so that a slot used
/// twice (a title and a body) says the same thing.
pub(crate) struct Slots {
    pub phone: &'static str,
    pub buds: &'static str,
    pub laptop: &'static str,
    pub product: &'static str,
    pub rival: &'static str,
    pub rivalphone: &'static str,
    pub order: u32,
    pub case: u32,
    pub days: u32,
    pub city: &'static str,
    pub neg: &'static str,
    pub pos: &'static str,
    pub q: &'static str,
    pub tag: &'static str,
    pub at: &'static str,
    /// On channels without @-mentions, an `{at}` that only tags the brand (first or last in
    /// the template) is dropped; one inside a sentence becomes the brand name.
    pub at_is_tag_only: bool,
    pub spam: &'static str,
    pub name: [&'static str; 2],
    pub agent: &'static str,
    /// Which news item (headline and lead together) a feed entry is.
    pub news: usize,
    /// Where this thread starts in the agent-reply and follow-up lists.
    pub reply: usize,
    pub followup: usize,
    /// How many agent answers / customer follow-ups the thread has had so far; the demo
    /// advances these so a thread does not repeat itself.
    pub agent_turn: usize,
    pub customer_turn: usize,
}

pub(crate) fn pick<T: Copy>(rng: &mut Rng, items: &[T]) -> T {
    items[rng.usize(..items.len())]
}

impl Slots {
    /// Draws slot values for a message by (or to) `customer` on `channel`.
    pub(crate) fn draw(rng: &mut Rng, customer: &Person, channel: Channel) -> Slots {
        let lang = customer.lang;
        Slots {
            phone: pick(rng, templates::PHONES),
            buds: pick(rng, templates::BUDS),
            laptop: pick(rng, templates::LAPTOPS),
            product: pick(rng, templates::PRODUCTS),
            rival: pick(rng, templates::RIVALS),
            rivalphone: pick(rng, templates::RIVAL_PHONES),
            order: rng.u32(100_000..1_000_000),
            case: rng.u32(1_000_000..10_000_000),
            days: rng.u32(3..22),
            city: customer.city().name,
            neg: pick(rng, templates::NEG),
            pos: pick(rng, templates::POS),
            q: pick(rng, templates::Q),
            tag: pick(rng, templates::TAGS),
            at: channel.at(),
            at_is_tag_only: !channel.has_mentions(),
            spam: pick(rng, templates::SPAM_LINKS),
            name: customer.address(),
            agent: lang.given[rng.usize(..lang.given.len())].display,
            news: rng.usize(..lang.news.len()),
            reply: rng.usize(..4),
            followup: rng.usize(..lang.followups.len()),
            agent_turn: 0,
            customer_turn: 0,
        }
    }
}

/// Appends `template` with its slots filled. Returns whether the brand was addressed (`{at}`),
/// which decides whether the message came in through one of our accounts.
pub(crate) fn fill(out: &mut String, template: &str, s: &Slots) -> bool {
    let mut mentioned = false;
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            return mentioned;
        };
        match &after[..close] {
            "phone" => out.push_str(s.phone),
            "buds" => out.push_str(s.buds),
            "laptop" => out.push_str(s.laptop),
            "product" => out.push_str(s.product),
            "rival" => out.push_str(s.rival),
            "rivalphone" => out.push_str(s.rivalphone),
            "order" => {
                out.push_str("A-");
                json::push_u64(out, u64::from(s.order));
            }
            "case" => {
                out.push_str("CS-");
                json::push_u64(out, u64::from(s.case));
            }
            "days" => json::push_u64(out, u64::from(s.days)),
            "city" => out.push_str(s.city),
            "neg" => out.push_str(s.neg),
            "pos" => out.push_str(s.pos),
            "q" => out.push_str(s.q),
            "tag" => out.push_str(s.tag),
            "at" => {
                mentioned = true;
                let first = open == 0 && rest.len() == template.len();
                let last = close + 1 == after.len();
                if s.at_is_tag_only && first {
                    rest = after[close + 1..].trim_start_matches(' ');
                    continue;
                } else if s.at_is_tag_only && last {
                    out.truncate(out.trim_end_matches(' ').len());
                } else {
                    out.push_str(s.at);
                }
            }
            "spam" => out.push_str(s.spam),
            "name" => {
                out.push_str(s.name[0]);
                out.push_str(s.name[1]);
            }
            "agent" => out.push_str(s.agent),
            other => {
                out.push('{');
                out.push_str(other);
                out.push('}');
            }
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    mentioned
}

/// Which part of a conversation a text is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Role {
    /// The customer's opening message.
    Opening,
    /// A brand agent answering.
    Agent,
    /// The customer writing again in the same thread.
    FollowUp,
}

/// Byte-length limits for a composed text; `min` is met by adding sentences, `max` by cutting
/// at a word boundary.
#[derive(Clone, Copy)]
pub(crate) struct Bounds {
    pub min: usize,
    pub max: usize,
}

impl Bounds {
    pub(crate) const NATURAL: Bounds = Bounds {
        min: 0,
        max: usize::MAX,
    };
}

/// Writes the text of one message into `out` (cleared first). Returns whether `{at}` was used.
#[allow(clippy::too_many_arguments)]
pub(crate) fn compose(
    out: &mut String,
    rng: &mut Rng,
    lang: &Lang,
    intent: Intent,
    role: Role,
    channel: Channel,
    slots: &Slots,
    bounds: Bounds,
) -> bool {
    out.clear();
    let bodies = lang.bodies[intent.index()];
    let first = rng.usize(..bodies.len());
    let mut mentioned = match role {
        Role::Opening if channel == Channel::Rss => fill(out, lang.news[slots.news].1, slots),
        Role::Opening => fill(out, bodies[first], slots),
        Role::Agent => fill(
            out,
            lang.agent_reply(intent, slots.reply, slots.agent_turn),
            slots,
        ),
        Role::FollowUp => {
            let f = lang.followups;
            fill(
                out,
                f[(slots.followup + slots.customer_turn) % f.len()],
                slots,
            )
        }
    };
    // Too short for the caller (the benchmark wants 80+ bytes): add a sentence that fits.
    let mut next = first;
    while out.len() < bounds.min {
        if role == Role::Agent {
            let signoff = signoff(lang, rng);
            insert_before_signature(out, signoff);
        } else {
            next = (next + 1) % bodies.len();
            out.push(' ');
            mentioned |= fill(out, bodies[next], slots);
        }
    }
    truncate(out, bounds);
    mentioned
}

/// Writes the subject line / post title of a thread's first message into `out` (cleared first).
pub(crate) fn title(
    out: &mut String,
    rng: &mut Rng,
    lang: &Lang,
    intent: Intent,
    channel: Channel,
    slots: &Slots,
) {
    out.clear();
    if channel == Channel::Rss {
        fill(out, lang.news[slots.news].0, slots);
    } else {
        fill(out, pick(rng, lang.titles[intent.index()]), slots);
    }
}

/// A closing sentence an agent can add before their signature.
fn signoff(lang: &Lang, rng: &mut Rng) -> &'static str {
    let options: &[&str] = match lang.code {
        "de" => &[
            "Einen schönen Tag noch!",
            "Wir sind rund um die Uhr für dich da.",
        ],
        "fr" => &[
            "Belle journée à vous !",
            "Nous restons à votre disposition.",
        ],
        "es" => &[
            "¡Que tengas un buen día!",
            "Seguimos aquí para lo que necesites.",
        ],
        "pt" => &[
            "Tenha um ótimo dia!",
            "Estamos à disposição para o que precisar.",
        ],
        "it" => &["Buona giornata!", "Siamo sempre qui per qualsiasi cosa."],
        "ko" => &["좋은 하루 보내세요!", "언제든 편하게 문의해 주세요."],
        "ja" => &["何かございましたらお気軽にご連絡ください。"],
        "ar" => &["نتمنى لك يومًا سعيدًا!", "نحن في خدمتك دائمًا."],
        _ => &[
            "Have a great day!",
            "We're here 24/7 if you need anything else.",
        ],
    };
    pick(rng, options)
}

fn insert_before_signature(out: &mut String, sentence: &str) {
    let at = [" ^", " - "]
        .iter()
        .filter_map(|m| out.rfind(m))
        .max()
        .unwrap_or(out.len());
    let mut piece = String::with_capacity(sentence.len() + 1);
    piece.push(' ');
    piece.push_str(sentence);
    out.insert_str(at, &piece);
}

/// Cuts `out` to at most `bounds.max` bytes, at a word boundary if that keeps `bounds.min`.
fn truncate(out: &mut String, bounds: Bounds) {
    if out.len() <= bounds.max {
        return;
    }
    let mut cut = bounds.max;
    while !out.is_char_boundary(cut) {
        cut -= 1;
    }
    if let Some(space) = out[..cut].rfind(' ')
        && space >= bounds.min
    {
        cut = space;
    }
    out.truncate(cut);
    while out.len() > bounds.min && out.ends_with([' ', ',', '\n']) {
        out.pop();
    }
}

/// Wraps a customer's e-mail body in a greeting and signature, as HTML or as plain text, if the result
/// stays within `max` bytes. HTML bodies exercise the importer's HTML-to-text conversion.
pub(crate) fn wrap_email(
    out: &mut String,
    body: &str,
    lang: &Lang,
    sender: &Person,
    html: bool,
    max: usize,
) {
    out.clear();
    if html {
        out.push_str("<p>");
        out.push_str(lang.greeting);
        out.push_str("</p><p>");
        out.push_str(body);
        out.push_str("</p><p>");
        out.push_str(lang.closing);
        out.push_str("<br>");
    } else {
        out.push_str(lang.greeting);
        out.push_str("\n\n");
        out.push_str(body);
        out.push_str("\n\n");
        out.push_str(lang.closing);
        out.push('\n');
    }
    sender.push_name(out);
    if html {
        out.push_str("</p>");
    }
    if out.len() > max {
        out.clear();
        out.push_str(body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::LANGS;

    #[test]
    fn fills_every_slot() {
        let mut rng = Rng::with_seed(1);
        for lang_no in 0..LANGS.len() {
            let p = Person::new(lang_no, 1);
            for channel in [Channel::Twitter, Channel::Email] {
                let s = Slots::draw(&mut rng, &p, channel);
                for intent in Intent::ALL {
                    for t in p.lang.bodies[intent.index()] {
                        let mut out = String::new();
                        fill(&mut out, t, &s);
                        assert!(!out.contains('{') && !out.contains('}'), "{out}");
                        assert_eq!(out.trim(), out, "{t}");
                        // Off social networks, a leading or trailing tag is dropped.
                        let untagged = t.strip_prefix("{at} ").unwrap_or(t);
                        let untagged = untagged.strip_suffix(" {at}").unwrap_or(untagged);
                        if channel == Channel::Email && untagged.len() < t.len() {
                            let mut expected = String::new();
                            fill(&mut expected, untagged, &s);
                            assert_eq!(out, expected);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn compose_respects_bounds() {
        let mut rng = Rng::with_seed(2);
        let mut out = String::new();
        let bounds = Bounds { min: 80, max: 120 };
        for i in 0..5_000u32 {
            let lang_no = (i as usize) % LANGS.len();
            let p = Person::new(lang_no, i);
            let s = Slots::draw(&mut rng, &p, Channel::Email);
            let intent = Intent::ALL[i as usize % Intent::COUNT];
            let role = [Role::Opening, Role::Agent, Role::FollowUp][i as usize % 3];
            compose(
                &mut out,
                &mut rng,
                p.lang,
                intent,
                role,
                Channel::Forum,
                &s,
                bounds,
            );
            assert!((80..=120).contains(&out.len()), "{} {out:?}", out.len());
        }
    }
}
