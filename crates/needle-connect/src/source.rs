//! Sources bring messages in. A pulling source is asked for what is new since its checkpoint
//! and answers with messages and the checkpoint to go on from; the caller stores both in one
//! transaction (`Store::insert_from_source`), so a crash between the two cannot happen.
//! Pushing sources (webhooks, chat) are HTTP endpoints instead and have no checkpoint.

use std::time::Duration;

use needle_core::Message;

/// What one pull produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Pulled {
    /// New to the source since the checkpoint, oldest first where the source says.
    pub messages: Vec<Message>,
    /// Where the next pull goes on from.
    pub checkpoint: String,
}

/// Why a pull failed, and whether waiting helps.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SourceError {
    /// Try again later: after `after` when the remote said so (`Retry-After`), otherwise
    /// after the caller's backoff.
    #[error("{reason}")]
    Retryable {
        reason: String,
        after: Option<Duration>,
    },
    /// Trying again with the same settings will fail the same way (the feed is gone, the
    /// address is refused); the caller keeps polling slowly so a fix is noticed.
    #[error("{0}")]
    Final(String),
}

impl SourceError {
    pub fn retryable(reason: impl Into<String>) -> SourceError {
        SourceError::Retryable {
            reason: reason.into(),
            after: None,
        }
    }
}

/// A source that is polled.
pub trait Source: Send {
    /// What is new since `checkpoint` (`None` the first time).
    fn pull(&mut self, checkpoint: Option<&str>) -> Result<Pulled, SourceError>;
    /// How long to wait between pulls when all is well.
    fn interval(&self) -> Duration;
}
