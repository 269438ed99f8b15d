//! Profiles: one person across channels.
//!
//! Every identifier a message's author, a CRM record or an agent gives becomes an
//! [`Identity`]; links between identities carry their evidence ([`graph`]); a profile is a
//! connected component of links, so removing a link splits a profile exactly as the
//! remaining evidence says. Deterministic rules ([`config::Rules`]) refuse links that would
//! join two customers; likely-same pairs that no rule proves wait as [`suggest`]ions for an
//! agent. [`traits`] resolve conflicting attributes per trait. [`segment`] is a small
//! language for live segments over traits and events.
//!
//! The modules above are pure: no disk, no clock (times are passed in as microseconds since
//! the epoch). With the `service` feature, [`service`] keeps one [`Profiles`] per workspace
//! in memory, persisted through needle-store, and [`stage`] feeds it from the pipeline.

pub mod config;
pub mod crm;
pub mod engine;
pub mod graph;
pub mod identity;
pub mod membership;
pub mod segment;
#[cfg(feature = "service")]
pub mod service;
#[cfg(feature = "service")]
pub mod stage;
pub mod suggest;
pub mod traits;

pub use config::{Cap, ProfileConfig, Rules};
pub use engine::{
    AuditAction, AuditEntry, Author, Changes, CrmCustomer, CrmEvent, CustomerOutcome, ProfileView,
    Profiles, Sighting, parse_profile_name, profile_name,
};
pub use graph::{Edge, EdgeKind, Evidence, NodeId};
pub use identity::{Identity, IdentityError, Kind, Normalized, Normalizer};
pub use membership::{LiveSegment, Memberships};
pub use segment::{Facts, Segment, SegmentError};
pub use suggest::{Suggestion, SuggestionStatus};
pub use traits::{Activity, Strategy, TraitValue};

/// Why a profile operation was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProfileError {
    #[error("{0}")]
    BadInput(String),
    #[error("bad profile settings: {0}")]
    Config(String),
    #[error("no identity {0} has been seen in this workspace")]
    UnknownIdentity(String),
    #[error("no profile {0} in this workspace")]
    UnknownProfile(String),
    #[error("no segment {0:?} in this workspace")]
    UnknownSegment(String),
    #[error("the segment definition has {} mistake(s); the first: {}", .0.len(), .0.first().map_or("", |e| e.message.as_str()))]
    BadSegment(Vec<SegmentError>),
    #[error("no suggestion {0} in this workspace")]
    UnknownSuggestion(u64),
    #[error("suggestion {0} was {1} already")]
    Decided(u64, &'static str),
    #[error("both identities are in profile {0} already: a profile cannot be merged into itself")]
    SelfMerge(String),
    #[error("{0}")]
    NotLinked(String),
    #[error("the link was refused and logged: {0}")]
    Refused(String),
}

#[cfg(feature = "service")]
impl ProfileError {
    pub fn code(&self) -> needle_core::ErrorCode {
        use needle_core::ErrorCode;
        match self {
            ProfileError::BadInput(_) | ProfileError::Config(_) | ProfileError::BadSegment(_) => {
                ErrorCode::BadRequest
            }
            ProfileError::UnknownIdentity(_)
            | ProfileError::UnknownSegment(_)
            | ProfileError::UnknownProfile(_)
            | ProfileError::UnknownSuggestion(_) => ErrorCode::NotFound,
            ProfileError::Decided(..)
            | ProfileError::SelfMerge(_)
            | ProfileError::NotLinked(_)
            | ProfileError::Refused(_) => ErrorCode::Conflict,
        }
    }
}

#[cfg(test)]
mod tests;
