//! A workspace's settings for identity resolution: how identifiers are read, which sources
//! are trusted, which rules hold, how traits survive conflicts. Every field has a default,
//! so a workspace configures only what it changes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::identity::JunkFilter;
use crate::traits::Strategy;

/// A cardinality cap: a profile holding a `per` identity holds at most `max` of kind `of`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cap {
    pub per: String,
    pub of: String,
    pub max: usize,
}

/// The deterministic rules every link must keep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Rules {
    /// Kinds two of which never share a profile (two different CRM ids are two customers).
    pub exclusive: Vec<String>,
    pub caps: Vec<Cap>,
    /// No profile grows past this many identities.
    pub max_identities: usize,
}

impl Default for Rules {
    fn default() -> Rules {
        Rules {
            exclusive: vec!["crm".into()],
            caps: vec![
                Cap {
                    per: "crm".into(),
                    of: "email".into(),
                    max: 3,
                },
                Cap {
                    per: "crm".into(),
                    of: "phone".into(),
                    max: 3,
                },
            ],
            max_identities: 50,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProfileConfig {
    /// Region for phone numbers written without a country code (`DE`).
    pub default_region: Option<String>,
    pub junk: JunkFilter,
    /// Channels whose author identifiers are the channel's own word (the sender of an
    /// email, the number an SMS came from, a chat visitor's identify call): the identifiers
    /// of one author there are linked. Elsewhere (a public post's profile saying "email:
    /// …") they are claims, which only become suggestions.
    pub trusted_channels: Vec<String>,
    /// Identifier kinds a trusted source may link on (`email`, `phone`, `crm`, `visitor`,
    /// or a channel name for its handles).
    pub link_on: Vec<String>,
    pub rules: Rules,
    /// How each trait resolves conflicts; traits not named use `default_strategy`.
    pub survivorship: BTreeMap<String, Strategy>,
    pub default_strategy: Strategy,
    /// A suggestion key shared by more identities than this (a common name) is no evidence.
    pub max_suggestion_bucket: usize,
}

impl Default for ProfileConfig {
    fn default() -> ProfileConfig {
        let survivorship = [
            ("name", Strategy::TrustedFirst),
            ("country", Strategy::TrustedFirst),
            ("tier", Strategy::MostRecent),
            ("lifetime_value", Strategy::Max),
            ("orders", Strategy::Sum),
            ("language", Strategy::MostRecent),
            ("customer_since", Strategy::FirstSeen),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        ProfileConfig {
            default_region: None,
            junk: JunkFilter::default(),
            trusted_channels: ["email", "chat", "sms", "whatsapp", "crm"]
                .map(String::from)
                .to_vec(),
            link_on: ["email", "phone", "crm", "visitor"]
                .map(String::from)
                .to_vec(),
            rules: Rules::default(),
            survivorship,
            default_strategy: Strategy::TrustedFirst,
            max_suggestion_bucket: 8,
        }
    }
}

impl ProfileConfig {
    pub fn strategy(&self, trait_name: &str) -> Strategy {
        // Consent traits (`consent.email`) follow the customer's latest word.
        if trait_name.starts_with("consent.") {
            return Strategy::MostRecent;
        }
        self.survivorship
            .get(trait_name)
            .copied()
            .unwrap_or(self.default_strategy)
    }

    pub fn is_trusted_channel(&self, channel: &str) -> bool {
        self.trusted_channels.iter().any(|c| c == channel)
    }

    pub fn links_on(&self, kind: &str) -> bool {
        self.link_on.iter().any(|k| k == kind)
    }
}
