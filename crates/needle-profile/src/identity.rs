//! Identities: the identifiers a person is known by (an email address, a phone number, a CRM
//! id, a chat visitor id, a handle on a channel), normalised so that the same identifier
//! written two ways is one identity.
//!
//! An identity is written `KIND:VALUE` (`email:kim@example.com`, `phone:+4930123456`,
//! `crm:4711`, `visitor:v-93`, `mastodon:kim`). A value that cannot be normalised (a malformed
//! email, a phone number that is not one) is kept as a raw identity, `raw:email:KIM@@x`, so
//! that nothing a message said is lost, but the graph never links on it. Junk values
//! (`unknown`, `n/a`, `test@test.com`, `0000000000`, …) are dropped.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// What kind of identifier an identity is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Kind {
    Email,
    /// E.164, `+` and digits.
    Phone,
    /// A customer id in the CRM.
    Crm,
    /// A chat widget's visitor id.
    Visitor,
    /// A handle or account id on a channel (`mastodon`, `bluesky`, …).
    Handle(String),
    /// A value that could not be normalised, with the kind it claimed to be. Never linked on.
    Raw(String),
}

impl Kind {
    /// The kind as written before the colon.
    pub fn as_str(&self) -> &str {
        match self {
            Kind::Email => "email",
            Kind::Phone => "phone",
            Kind::Crm => "crm",
            Kind::Visitor => "visitor",
            Kind::Handle(channel) => channel,
            Kind::Raw(_) => "raw",
        }
    }

    /// Reads the kind part of `KIND:VALUE`.
    fn parse(word: &str) -> Kind {
        match word {
            "email" => Kind::Email,
            "phone" => Kind::Phone,
            "crm" => Kind::Crm,
            "visitor" => Kind::Visitor,
            channel => Kind::Handle(channel.to_string()),
        }
    }
}

/// One identifier, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identity {
    pub kind: Kind,
    pub value: String,
}

impl Identity {
    pub fn new(kind: Kind, value: impl Into<String>) -> Identity {
        Identity {
            kind,
            value: value.into(),
        }
    }

    /// The graph may link on this identity (it is not raw).
    pub fn is_linkable(&self) -> bool {
        !matches!(self.kind, Kind::Raw(_))
    }

    /// The identity as two strings, kind and value, as the store keeps it. A raw identity's
    /// value carries the kind it claimed: (`raw`, `email:KIM@@x`).
    pub fn to_parts(&self) -> (&str, String) {
        match &self.kind {
            Kind::Raw(claimed) => ("raw", format!("{claimed}:{}", self.value)),
            kind => (kind.as_str(), self.value.clone()),
        }
    }

    /// The inverse of [`Identity::to_parts`]; values are taken as stored (normalised then).
    pub fn from_parts(kind: &str, value: &str) -> Identity {
        if kind == "raw" {
            let (claimed, value) = value.split_once(':').unwrap_or(("", value));
            return Identity::new(Kind::Raw(claimed.to_string()), value);
        }
        Identity::new(Kind::parse(kind), value)
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Raw(claimed) => write!(f, "raw:{claimed}:{}", self.value),
            kind => write!(f, "{}:{}", kind.as_str(), self.value),
        }
    }
}

/// Why a written identity could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("{0:?} is not an identity: write it KIND:VALUE, such as email:kim@example.com")]
    NoKind(String),
    #[error(
        "{input:?}: the kind {kind:?} must be a lower-case word (email, phone, crm, visitor or a channel)"
    )]
    BadKind { input: String, kind: String },
    #[error("{input:?}: {why}")]
    BadValue { input: String, why: String },
}

/// The outcome of normalising one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Normalized {
    /// A well-formed identity the graph may link on.
    Linkable(Identity),
    /// Malformed: kept as a raw identity, never linked on.
    Raw(Identity),
    /// Empty or a known placeholder: not an identity at all.
    Junk,
}

impl Normalized {
    pub fn identity(&self) -> Option<&Identity> {
        match self {
            Normalized::Linkable(i) | Normalized::Raw(i) => Some(i),
            Normalized::Junk => None,
        }
    }

    pub fn into_identity(self) -> Option<Identity> {
        match self {
            Normalized::Linkable(i) | Normalized::Raw(i) => Some(i),
            Normalized::Junk => None,
        }
    }
}

/// Values that are placeholders, not identifiers. Compared after trimming and lower-casing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JunkFilter {
    pub values: BTreeSet<String>,
    /// Phone numbers whose digits are all the same (`0000000000`, `9999999`) are junk.
    pub repeated_digit_phones: bool,
}

impl Default for JunkFilter {
    fn default() -> JunkFilter {
        let values = [
            "unknown",
            "n/a",
            "na",
            "none",
            "null",
            "nil",
            "-",
            "?",
            "test",
            "anonymous",
            "test@test.com",
            "test@example.com",
            "noreply@example.com",
            "email@example.com",
            "no@email.com",
            "0000000000",
            "1234567890",
        ];
        JunkFilter {
            values: values.iter().map(|v| v.to_string()).collect(),
            repeated_digit_phones: true,
        }
    }
}

impl JunkFilter {
    fn is_junk(&self, trimmed: &str) -> bool {
        trimmed.is_empty() || self.values.contains(&trimmed.to_lowercase())
    }
}

/// Normalises identifiers for one workspace.
#[derive(Debug, Clone)]
pub struct Normalizer {
    region: Option<phonenumber::country::Id>,
    junk: JunkFilter,
}

/// Longest identifier value kept; longer ones are refused as raw (nobody's email is 4 KB).
const MAX_VALUE_BYTES: usize = 320;

impl Normalizer {
    /// `default_region` (ISO 3166 alpha-2, `DE`) reads phone numbers written without a
    /// country code; without one, such numbers are raw.
    pub fn new(default_region: Option<&str>, junk: JunkFilter) -> Result<Normalizer, String> {
        let region = match default_region {
            None => None,
            Some(code) => Some(
                code.trim()
                    .to_uppercase()
                    .parse::<phonenumber::country::Id>()
                    .map_err(|_| format!("{code:?} is not a region code such as DE or US"))?,
            ),
        };
        Ok(Normalizer { region, junk })
    }

    pub fn email(&self, raw: &str) -> Normalized {
        let trimmed = raw.trim();
        let trimmed = trimmed
            .strip_prefix("mailto:")
            .unwrap_or(trimmed)
            .trim_start_matches('<')
            .trim_end_matches('>')
            .trim();
        if self.junk.is_junk(trimmed) {
            return Normalized::Junk;
        }
        let lower = trimmed.to_lowercase();
        match email_problem(&lower) {
            None => Normalized::Linkable(Identity::new(Kind::Email, lower)),
            Some(_) => Normalized::Raw(raw_identity("email", trimmed)),
        }
    }

    pub fn phone(&self, raw: &str) -> Normalized {
        let trimmed = raw.trim();
        if self.junk.is_junk(trimmed) {
            return Normalized::Junk;
        }
        let digits: Vec<char> = trimmed.chars().filter(char::is_ascii_digit).collect();
        if self.junk.repeated_digit_phones
            && digits.len() >= 5
            && digits.iter().all(|d| *d == digits[0])
        {
            return Normalized::Junk;
        }
        if trimmed.len() > 64 {
            return Normalized::Raw(raw_identity("phone", trimmed));
        }
        match phonenumber::parse(self.region, trimmed) {
            Ok(number) if phonenumber::is_valid(&number) => {
                let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
                Normalized::Linkable(Identity::new(Kind::Phone, e164))
            }
            _ => Normalized::Raw(raw_identity("phone", trimmed)),
        }
    }

    pub fn crm(&self, raw: &str) -> Normalized {
        self.opaque(Kind::Crm, raw, false)
    }

    pub fn visitor(&self, raw: &str) -> Normalized {
        self.opaque(Kind::Visitor, raw, false)
    }

    /// A handle on `channel` (lower-cased, NFKC, without a leading `@`).
    pub fn handle(&self, channel: &str, raw: &str) -> Normalized {
        let channel = channel.trim().to_lowercase();
        if !is_kind_word(&channel)
            || matches!(
                channel.as_str(),
                "email" | "phone" | "crm" | "visitor" | "raw"
            )
        {
            return Normalized::Raw(raw_identity(&channel_label(&channel), raw.trim()));
        }
        let value = raw.trim();
        let value = value.strip_prefix('@').unwrap_or(value);
        self.opaque(Kind::Handle(channel), value, true)
    }

    fn opaque(&self, kind: Kind, raw: &str, fold_case: bool) -> Normalized {
        let trimmed = raw.trim();
        if self.junk.is_junk(trimmed) {
            return Normalized::Junk;
        }
        let mut value: String = trimmed.nfkc().collect();
        if fold_case {
            value = value.to_lowercase();
        }
        if value.len() > MAX_VALUE_BYTES
            || value.chars().any(|c| c.is_control() || c.is_whitespace())
        {
            return Normalized::Raw(raw_identity(kind.as_str(), trimmed));
        }
        Normalized::Linkable(Identity::new(kind, value))
    }

    /// Reads an identity as people write it, `KIND:VALUE`, normalising the value as it
    /// would be normalised when it arrives. A value that would be raw or junk is an error:
    /// it names nothing Needle links on. `raw:KIND:VALUE` names a raw identity as stored.
    pub fn parse(&self, written: &str) -> Result<Identity, IdentityError> {
        let (kind, value) = written
            .split_once(':')
            .ok_or_else(|| IdentityError::NoKind(written.to_string()))?;
        if kind == "raw" {
            let (claimed, value) = value
                .split_once(':')
                .ok_or_else(|| IdentityError::NoKind(written.to_string()))?;
            return Ok(raw_identity(claimed, value));
        }
        if !is_kind_word(kind) {
            return Err(IdentityError::BadKind {
                input: written.to_string(),
                kind: kind.to_string(),
            });
        }
        let normalized = match Kind::parse(kind) {
            Kind::Email => self.email(value),
            Kind::Phone => self.phone(value),
            Kind::Crm => self.crm(value),
            Kind::Visitor => self.visitor(value),
            Kind::Handle(channel) => self.handle(&channel, value),
            Kind::Raw(_) => unreachable!("`raw` is read above"),
        };
        let why = match normalized {
            Normalized::Linkable(identity) => return Ok(identity),
            Normalized::Junk => "is empty or a placeholder value".to_string(),
            Normalized::Raw(_) if kind == "email" => email_problem(&value.trim().to_lowercase())
                .unwrap_or("is malformed")
                .to_string(),
            Normalized::Raw(_) if kind == "phone" => {
                "is not a valid phone number (write it with its country code, +49…)".to_string()
            }
            Normalized::Raw(_) => "is malformed".to_string(),
        };
        Err(IdentityError::BadValue {
            input: written.to_string(),
            why: format!("the value {why}"),
        })
    }
}

fn channel_label(channel: &str) -> String {
    if channel.is_empty() {
        "channel".into()
    } else {
        channel.to_string()
    }
}

fn raw_identity(claimed: &str, value: &str) -> Identity {
    let value: String = value
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_VALUE_BYTES)
        .collect();
    Identity::new(Kind::Raw(claimed.to_string()), value)
}

/// A kind is a lower-case ASCII word: letters, digits, `-` and `_`, starting with a letter.
fn is_kind_word(word: &str) -> bool {
    let mut chars = word.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && word.len() <= 32
}

/// What is wrong with an (already lower-cased) email address, if anything. A syntax check,
/// not RFC 5322 in full: one `@`, a local part of at most 64 bytes without spaces, quotes or
/// two dots in a row, and a domain of dot-separated labels ending in a letter label.
pub fn email_problem(email: &str) -> Option<&'static str> {
    if email.len() > 254 {
        return Some("is longer than an email address can be (254 bytes)");
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Some("has no @");
    };
    if domain.contains('@') {
        return Some("has more than one @");
    }
    if local.is_empty() || local.len() > 64 {
        return Some("has an empty or over-long part before the @");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Some("has a misplaced dot before the @");
    }
    let local_ok = local
        .chars()
        .all(|c| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    if !local_ok {
        return Some("has a character not allowed before the @");
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Some("has a domain without a dot");
    }
    for label in &labels {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_alphanumeric() || c == '-');
        if !ok {
            return Some("has a malformed domain");
        }
    }
    if !labels[labels.len() - 1].chars().any(char::is_alphabetic) {
        return Some("has a domain that ends in a number");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn de() -> Normalizer {
        Normalizer::new(Some("DE"), JunkFilter::default()).unwrap()
    }

    #[test]
    fn emails_are_trimmed_lower_cased_and_checked() {
        let n = de();
        assert_eq!(
            n.email("  Kim@Example.COM "),
            Normalized::Linkable(Identity::new(Kind::Email, "kim@example.com"))
        );
        assert_eq!(
            n.email("mailto:<kim@example.com>"),
            Normalized::Linkable(Identity::new(Kind::Email, "kim@example.com"))
        );
        for bad in [
            "kim",
            "kim@@example.com",
            "kim@example",
            "k m@example.com",
            "kim@.com",
            "kim..lee@x.com",
            "kim@x.123",
        ] {
            assert!(matches!(n.email(bad), Normalized::Raw(_)), "{bad}");
        }
        let raw = n.email("KIM@@x").into_identity().unwrap();
        assert_eq!(raw.to_string(), "raw:email:KIM@@x");
        assert!(!raw.is_linkable());
    }

    #[test]
    fn junk_values_are_not_identities() {
        let n = de();
        for junk in [
            "",
            "   ",
            "unknown",
            "N/A",
            "test@test.com",
            "TEST@TEST.COM",
        ] {
            assert_eq!(n.email(junk), Normalized::Junk, "{junk:?}");
        }
        for junk in ["0000000000", "000-000-0000", "n/a", "99999"] {
            assert_eq!(n.phone(junk), Normalized::Junk, "{junk:?}");
        }
        assert_eq!(n.handle("mastodon", "unknown"), Normalized::Junk);
        // The list is the workspace's to change.
        let mut junk = JunkFilter::default();
        junk.values.insert("kim@example.com".into());
        junk.values.remove("unknown");
        let n = Normalizer::new(None, junk).unwrap();
        assert_eq!(n.email("Kim@example.com"), Normalized::Junk);
        assert!(matches!(
            n.handle("mastodon", "unknown"),
            Normalized::Linkable(_)
        ));
    }

    #[test]
    fn phones_become_e164_with_the_default_region() {
        let n = de();
        for written in [
            "030 1234567",
            "+49 30 1234567",
            "0049 30 1234567",
            "(030) 123-4567",
        ] {
            assert_eq!(
                n.phone(written),
                Normalized::Linkable(Identity::new(Kind::Phone, "+49301234567")),
                "{written}"
            );
        }
        let us = Normalizer::new(Some("us"), JunkFilter::default()).unwrap();
        assert_eq!(
            us.phone("(415) 555-2671"),
            Normalized::Linkable(Identity::new(Kind::Phone, "+14155552671"))
        );
        // Without a region a national number cannot be read.
        let none = Normalizer::new(None, JunkFilter::default()).unwrap();
        assert!(matches!(none.phone("030 1234567"), Normalized::Raw(_)));
        assert!(matches!(n.phone("12"), Normalized::Raw(_)));
        assert!(matches!(n.phone("call me maybe"), Normalized::Raw(_)));
        assert!(Normalizer::new(Some("Germany"), JunkFilter::default()).is_err());
    }

    #[test]
    fn handles_fold_case_and_drop_the_at() {
        let n = de();
        assert_eq!(
            n.handle("Mastodon", " @Kim_Lee "),
            Normalized::Linkable(Identity::new(Kind::Handle("mastodon".into()), "kim_lee"))
        );
        // Full-width letters fold to ASCII (NFKC).
        assert_eq!(
            n.handle("mastodon", "ｋｉｍ"),
            Normalized::Linkable(Identity::new(Kind::Handle("mastodon".into()), "kim"))
        );
        assert!(matches!(
            n.handle("mastodon", "kim lee"),
            Normalized::Raw(_)
        ));
        assert!(matches!(n.crm(&"9".repeat(400)), Normalized::Raw(_)));
        // CRM ids keep their case: they are the CRM's, not ours to fold.
        assert_eq!(n.crm(" C-4711 ").into_identity().unwrap().value, "C-4711");
    }

    #[test]
    fn written_identities_are_read_and_normalised() {
        let n = de();
        assert_eq!(
            n.parse("email:Kim@Example.com").unwrap().to_string(),
            "email:kim@example.com"
        );
        assert_eq!(
            n.parse("phone:+49 30 1234567").unwrap().to_string(),
            "phone:+49301234567"
        );
        assert_eq!(n.parse("crm:4711").unwrap().to_string(), "crm:4711");
        assert_eq!(
            n.parse("mastodon:@kim").unwrap().to_string(),
            "mastodon:kim"
        );
        assert_eq!(
            n.parse("raw:email:KIM@@x").unwrap().to_string(),
            "raw:email:KIM@@x"
        );
        assert!(matches!(
            n.parse("kim@example.com"),
            Err(IdentityError::NoKind(_))
        ));
        assert!(matches!(
            n.parse("Email:kim@example.com"),
            Err(IdentityError::BadKind { .. })
        ));
        let err = n.parse("email:kim@").unwrap_err().to_string();
        assert!(
            err.contains("email:kim@") && err.contains("domain"),
            "{err}"
        );
        let err = n.parse("phone:abc").unwrap_err().to_string();
        assert!(err.contains("not a valid phone number"), "{err}");
        assert!(
            n.parse("email:unknown")
                .unwrap_err()
                .to_string()
                .contains("placeholder")
        );
    }
}
