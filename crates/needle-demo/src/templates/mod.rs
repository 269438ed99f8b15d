//! Per-language text: names, cities and message templates.
//!
//! Templates are plain strings with `{slot}` markers that [`crate::fill`] replaces. Keeping the
//! text as data (one file per language) lets a native speaker fix a sentence without touching the
//! generator, and keeps the generator fast: filling a template is one pass over a `&'static str`.
//!
//! Slots: `{phone}` `{buds}` `{laptop}` (a product of that kind, so gendered articles stay right),
//! `{product}` (any product, only where grammar does not depend on it), `{rival}` (a competitor),
//! `{rivalphone}`, `{order}` (A-123456), `{case}` (CS-1234567), `{days}`, `{city}` (the author's
//! city), `{neg}` `{pos}` `{q}` (emoji), `{tag}` (hashtag), `{at}` (how the channel addresses the
//! brand), `{spam}` (a junk link), `{name}` (the customer, as an agent would address them) and
//! `{agent}` (the agent's first name).

mod ar;
mod de;
mod en;
mod es;
mod fr;
mod it;
mod ja;
mod ko;
mod pt;

/// What a message is about. Ground truth for the generator only: it picks the templates, the
/// review rating and whether an agent answers; it is not written into the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Intent {
    Complaint,
    Refund,
    Shipping,
    Praise,
    Question,
    Purchase,
    Crisis,
    Spam,
    /// Talk about competitors or the category that does not involve Acme.
    Chatter,
}

impl Intent {
    pub(crate) const COUNT: usize = 9;
    pub(crate) const ALL: [Intent; Intent::COUNT] = [
        Intent::Complaint,
        Intent::Refund,
        Intent::Shipping,
        Intent::Praise,
        Intent::Question,
        Intent::Purchase,
        Intent::Crisis,
        Intent::Spam,
        Intent::Chatter,
    ];
    /// Relative frequency: complaints and questions dominate real care traffic, crises are rare.
    pub(crate) const WEIGHTS: [u32; Intent::COUNT] = [18, 8, 12, 14, 16, 10, 3, 7, 12];

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// Whether a brand agent would answer this (spam and third-party chatter get no reply).
    pub(crate) fn answered(self) -> bool {
        !matches!(self, Intent::Spam | Intent::Chatter)
    }
}

/// A name as shown (`display`) and its ASCII form for handles and e-mail addresses (`ascii`).
pub(crate) struct Name {
    pub display: &'static str,
    pub ascii: &'static str,
}

/// A city, with the ISO 3166 country code that goes into `author.country`.
pub(crate) struct City {
    pub name: &'static str,
    pub country: &'static str,
}

/// How a full name is written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameOrder {
    /// "Emma Smith"
    GivenFamily,
    /// "佐藤 翔太"
    FamilyGiven,
    /// "김민준"
    FamilyGivenTight,
}

/// Which part of the name an agent uses to address a customer.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Address {
    Given,
    Family,
    Full,
}

/// Everything the generator needs to write in one language.
pub(crate) struct Lang {
    /// ISO 639-1 code, written to `lang`.
    pub code: &'static str,
    pub given: &'static [Name],
    pub family: &'static [Name],
    pub order: NameOrder,
    pub address: Address,
    pub cities: &'static [City],
    /// Only reserved `.example` domains, so a demo can never mail a real person.
    pub mail_domains: &'static [&'static str],
    pub subreddits: &'static [&'static str],
    /// Customer messages, indexed by [`Intent::index`].
    pub bodies: [&'static [&'static str]; Intent::COUNT],
    /// Subject lines / post titles / review titles, indexed by [`Intent::index`].
    pub titles: [&'static [&'static str]; Intent::COUNT],
    /// Agent replies to problems and questions, in this order: ask for a DM, case opened,
    /// stop using the device (safety), the order is on its way (delivery).
    pub care: &'static [&'static str],
    /// Agent replies to praise.
    pub thanks: &'static [&'static str],
    /// Agent replies to purchase intent.
    pub sales: &'static [&'static str],
    /// Customer follow-ups in a thread.
    pub followups: &'static [&'static str],
    /// (headline, lead) pairs for news feeds.
    pub news: &'static [(&'static str, &'static str)],
    pub greeting: &'static str,
    pub closing: &'static str,
    /// Prefix of an e-mail reply subject ("Re: ", "AW: ").
    pub reply_prefix: &'static str,
}

impl Lang {
    /// The agent's `turn`-th answer (0-based) in a thread about `intent`; `start` varies the
    /// wording between threads. The first answer to a crisis or a delivery problem is the
    /// specific one; later answers and other problems get the generic ones.
    pub(crate) fn agent_reply(&self, intent: Intent, start: usize, turn: usize) -> &'static str {
        let k = start + turn;
        match intent {
            Intent::Praise => self.thanks[k % self.thanks.len()],
            Intent::Purchase => self.sales[k % self.sales.len()],
            Intent::Crisis if turn == 0 => self.care[CARE_SAFETY],
            Intent::Shipping if turn == 0 => self.care[CARE_DELIVERY],
            _ => self.care[k % CARE_GENERIC],
        }
    }
}

/// Layout of [`Lang::care`]: the first `CARE_GENERIC` fit any problem.
const CARE_GENERIC: usize = 2;
const CARE_SAFETY: usize = 2;
const CARE_DELIVERY: usize = 3;

/// All languages, with the share of traffic each gets (English about half).
pub(crate) static LANGS: [(&Lang, u32); 9] = [
    (&en::LANG, 50),
    (&de::LANG, 9),
    (&fr::LANG, 8),
    (&es::LANG, 8),
    (&pt::LANG, 6),
    (&ja::LANG, 6),
    (&ko::LANG, 5),
    (&ar::LANG, 4),
    (&it::LANG, 4),
];

pub(crate) const PHONES: &[&str] = &["Acme Phone X", "Acme Phone X Pro", "Acme Phone X Mini"];
pub(crate) const BUDS: &[&str] = &["Acme Buds", "Acme Buds Pro"];
pub(crate) const LAPTOPS: &[&str] = &["AcmeBook Air", "AcmeBook Pro 14"];
pub(crate) const PRODUCTS: &[&str] = &[
    "Acme Phone X",
    "Acme Phone X Pro",
    "Acme Buds",
    "AcmeBook Air",
    "Acme Watch 3",
    "AcmeOS",
    "Acme Cloud",
];
pub(crate) const RIVALS: &[&str] = &["Globex", "Initech", "Umbrella"];
pub(crate) const RIVAL_PHONES: &[&str] = &["Globex G5", "Initech One", "Umbrella Nova 2"];
pub(crate) const NEG: &[&str] = &["😡", "🤬", "😤", "😞", "🙄", "💔", "😩", "👎"];
pub(crate) const POS: &[&str] = &["😍", "🔥", "👏", "🙌", "❤️", "✨", "💯", "👍"];
pub(crate) const Q: &[&str] = &["🤔", "🙏", "📱", "👀", "🤷"];
pub(crate) const TAGS: &[&str] = &[
    "#AcmePhoneX",
    "#Acme",
    "#AcmeBuds",
    "#AcmeOS",
    "#AcmeSupport",
];
pub(crate) const SPAM_LINKS: &[&str] = &[
    "https://acme-deals.example/promo",
    "http://free-gift.example/acme",
    "https://bit.example/x7Kq2",
    "https://cheap-phones.example/?ref=4411",
];

/// International dialling code for a country, for `author.phone`.
pub(crate) fn dial_code(country: &str) -> &'static str {
    match country {
        "US" | "CA" => "1",
        "GB" => "44",
        "AU" => "61",
        "IE" => "353",
        "DE" => "49",
        "AT" => "43",
        "CH" => "41",
        "FR" => "33",
        "BE" => "32",
        "KR" => "82",
        "JP" => "81",
        "SA" => "966",
        "AE" => "971",
        "EG" => "20",
        "JO" => "962",
        "MA" => "212",
        "ES" => "34",
        "MX" => "52",
        "AR" => "54",
        "CO" => "57",
        "BR" => "55",
        "IT" => "39",
        _ => "1",
    }
}

/// A name whose display form is already ASCII.
macro_rules! n {
    ($d:literal) => {
        $crate::templates::Name {
            display: $d,
            ascii: $d,
        }
    };
    ($d:literal, $a:literal) => {
        $crate::templates::Name {
            display: $d,
            ascii: $a,
        }
    };
}
pub(crate) use n;

macro_rules! city {
    ($name:literal, $cc:literal) => {
        $crate::templates::City {
            name: $name,
            country: $cc,
        }
    };
}
pub(crate) use city;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_text_for_every_intent() {
        for (lang, _) in LANGS.iter() {
            for intent in Intent::ALL {
                assert!(
                    lang.bodies[intent.index()].len() >= 2,
                    "{} {:?} bodies",
                    lang.code,
                    intent
                );
                assert!(
                    !lang.titles[intent.index()].is_empty(),
                    "{} {:?} titles",
                    lang.code,
                    intent
                );
            }
            assert_eq!(lang.care.len(), 4, "{}: care layout", lang.code);
            assert!(!lang.thanks.is_empty() && !lang.sales.is_empty());
            assert!(!lang.followups.is_empty() && !lang.news.is_empty());
            assert!(!lang.given.is_empty() && !lang.family.is_empty() && !lang.cities.is_empty());
            assert!(lang.mail_domains.iter().all(|d| d.ends_with(".example")));
            for name in lang.given.iter().chain(lang.family.iter()) {
                assert!(
                    name.ascii.bytes().all(|b| b.is_ascii_alphabetic()),
                    "{} handle part {:?}",
                    lang.code,
                    name.ascii
                );
            }
        }
    }

    #[test]
    fn templates_use_only_known_slots() {
        const KNOWN: &[&str] = &[
            "phone",
            "buds",
            "laptop",
            "product",
            "rival",
            "rivalphone",
            "order",
            "case",
            "days",
            "city",
            "neg",
            "pos",
            "q",
            "tag",
            "at",
            "spam",
            "name",
            "agent",
        ];
        for (lang, _) in LANGS.iter() {
            let mut all: Vec<&str> = Vec::new();
            for i in 0..Intent::COUNT {
                all.extend(lang.bodies[i]);
                all.extend(lang.titles[i]);
            }
            all.extend(lang.care);
            all.extend(lang.thanks);
            all.extend(lang.sales);
            all.extend(lang.followups);
            for (h, b) in lang.news {
                all.push(h);
                all.push(b);
            }
            for t in all {
                let mut rest = t;
                while let Some(open) = rest.find('{') {
                    let close = rest[open..].find('}').expect("unclosed slot") + open;
                    let key = &rest[open + 1..close];
                    assert!(
                        KNOWN.contains(&key),
                        "{}: unknown slot {key} in {t}",
                        lang.code
                    );
                    rest = &rest[close + 1..];
                }
            }
        }
    }
}
