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
pub type SourceError = crate::error::ConnectorError;

/// A source that is polled.
pub trait Source: Send {
    /// What is new since `checkpoint` (`None` the first time).
    fn pull(&mut self, checkpoint: Option<&str>) -> Result<Pulled, SourceError>;
    /// How long to wait between pulls when all is well.
    fn interval(&self) -> Duration;
}
