//! Sinks take things out: one delivery at a time, answered with a receipt, an error worth
//! retrying (perhaps after a time the remote named), or a final error. The outbox worker
//! decides when to try again; a sink only says what happened.

use needle_core::Message;
use serde_json::Value;

/// Why a delivery did not go through, and whether waiting helps.
pub type SinkError = crate::error::ConnectorError;

/// What a delivery that went through left behind.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivered {
    /// The remote's word for it: the posted status's address, the status code.
    pub receipt: String,
    /// The message as the channel now shows it (a reply posted), to be stored as outbound.
    pub posted: Option<Message>,
}

/// Delivers one outbound item.
pub trait Sink: Send {
    /// Sends `payload` under the idempotency key `key` (the same on every attempt).
    fn deliver(&self, key: &str, payload: &Value) -> Result<Delivered, SinkError>;
}
