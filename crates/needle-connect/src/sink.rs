//! Sinks take things out: one delivery at a time, answered with a receipt, an error worth
//! retrying (perhaps after a time the remote named), or a final error. The outbox worker
//! decides when to try again; a sink only says what happened.

use std::time::Duration;

use serde_json::Value;

/// Why a delivery did not go through.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SinkError {
    /// Try again later; `after` when the remote said when (`Retry-After`).
    #[error("{reason}")]
    Retryable {
        reason: String,
        after: Option<Duration>,
    },
    /// Trying again will not help (the remote refused the content, the address is refused).
    #[error("{0}")]
    Final(String),
}

/// Delivers one outbound item.
pub trait Sink: Send {
    /// Sends `payload` under the idempotency key `key` (the same on every attempt); returns
    /// the remote's receipt.
    fn deliver(&self, key: &str, payload: &Value) -> Result<String, SinkError>;
}
