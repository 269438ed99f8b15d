//! The message model every other crate speaks: the one shape of
//! `shared/specs/message.md`, its parsing from JSON Lines and CSV, its validation with
//! reasons a person can act on, its normalisation, and the table of error codes.
//!
//! Pure: no network, no disk beyond the readers it is handed, no clock.

pub mod classification;
pub mod error;
pub mod import;
pub mod message;
pub mod normalize;

pub use classification::{Classification, Entity, Sentiment, SentimentLabel};
pub use error::ErrorCode;
pub use message::{Author, Direction, EngagementType, Invalid, Message};
