//! Suggestions: pairs of identities that look like one person but that no rule proves (the
//! same name on two channels, a handle equal to an email's local part, an email a public
//! profile claims). They wait in a review queue with their score and evidence until an agent
//! accepts (a link of kind `agent`) or rejects them. Nothing here links by itself.

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::graph::NodeId;
use crate::identity::{Identity, Kind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuggestionStatus {
    Open,
    Accepted,
    Rejected,
}

impl SuggestionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SuggestionStatus::Open => "open",
            SuggestionStatus::Accepted => "accepted",
            SuggestionStatus::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<SuggestionStatus> {
        [
            SuggestionStatus::Open,
            SuggestionStatus::Accepted,
            SuggestionStatus::Rejected,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    /// Unique in a workspace, from 1.
    pub id: u64,
    pub a: NodeId,
    pub b: NodeId,
    /// 0..1: how alike they look. Never a reason to link by itself.
    pub score: f32,
    /// Why, in words: `same name "kim lee" on email and mastodon`.
    pub evidence: Vec<String>,
    pub status: SuggestionStatus,
    pub created_at: i64,
    /// Who decided, when and why.
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
}

/// What kind of likeness a key stands for, and how much it weighs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// Email local part or handle, letters and digits only.
    Local,
    /// A person's name, tokens sorted.
    Name,
}

impl KeyKind {
    pub fn weight(self) -> f32 {
        match self {
            KeyKind::Local => 0.6,
            KeyKind::Name => 0.5,
        }
    }
}

/// The likeness key of an identity's own value: an email's local part or a handle, folded
/// to lower-case letters and digits (`Kim.Lee@x` and `@kim_lee` both give `kimlee`). Short
/// keys say nothing and give none.
pub fn local_key(identity: &Identity) -> Option<String> {
    let base = match &identity.kind {
        Kind::Email => identity.value.split('@').next()?,
        // A fediverse handle `kim@mastodon.social`: the part before the instance.
        Kind::Handle(_) => identity.value.split('@').next()?,
        _ => return None,
    };
    let folded = fold(base);
    (folded.chars().count() >= 4).then(|| format!("local:{folded}"))
}

/// The likeness key of a person's name: words folded (accents dropped, lower-case) and
/// sorted, so `Lee, Kim` and `Kim Lee` agree. One-word names say too little and give none.
pub fn name_key(name: &str) -> Option<String> {
    let mut words: Vec<String> = name
        .split(|c: char| !c.is_alphanumeric())
        .map(fold)
        .filter(|w| w.chars().count() >= 2)
        .collect();
    if words.len() < 2 || words.len() > 6 {
        return None;
    }
    words.sort();
    Some(format!("name:{}", words.join(" ")))
}

/// Lower-case letters and digits, accents removed.
fn fold(s: &str) -> String {
    s.nfkd()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_fold_what_people_write_differently() {
        let email = Identity::new(Kind::Email, "kim.lee@example.com");
        let handle = Identity::new(Kind::Handle("mastodon".into()), "kim_lee@mastodon.social");
        assert_eq!(local_key(&email), Some("local:kimlee".into()));
        assert_eq!(local_key(&email), local_key(&handle));
        assert_eq!(local_key(&Identity::new(Kind::Email, "k@x.com")), None);
        assert_eq!(local_key(&Identity::new(Kind::Crm, "4711")), None);
        assert_eq!(name_key("Kim Lee"), name_key("LEE, Kím"));
        assert_eq!(name_key("Kim Lee"), Some("name:kim lee".into()));
        assert_eq!(name_key("Kim"), None);
        assert_ne!(name_key("Kim Lee"), name_key("Kim Li"));
    }
}
