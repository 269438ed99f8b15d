//! Why a connector's work failed, and whether waiting helps: the one answer a source's pull
//! and a sink's delivery give, so that the runner and the outbox decide retries the same way.

use std::time::Duration;

use crate::outbound::OutboundError;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConnectorError {
    /// Try again later: after `after` when the remote said when (`Retry-After`, a rate
    /// limit's reset), otherwise after the caller's backoff.
    #[error("{reason}")]
    Retryable {
        reason: String,
        after: Option<Duration>,
    },
    /// Trying again with the same settings fails the same way (the feed is gone, the address
    /// is refused, the remote refused the content).
    #[error("{0}")]
    Final(String),
}

impl ConnectorError {
    pub fn retryable(reason: impl Into<String>) -> ConnectorError {
        ConnectorError::Retryable {
            reason: reason.into(),
            after: None,
        }
    }

    /// The same verdict with `context` (the URL, the server) in front of the reason.
    pub fn context(self, context: &str) -> ConnectorError {
        match self {
            ConnectorError::Retryable { reason, after } => ConnectorError::Retryable {
                reason: format!("{context}: {reason}"),
                after,
            },
            ConnectorError::Final(reason) => ConnectorError::Final(format!("{context}: {reason}")),
        }
    }
}

/// A network failure or timeout is worth retrying; a refused address or a bad URL is not.
impl From<OutboundError> for ConnectorError {
    fn from(e: OutboundError) -> ConnectorError {
        if e.is_retryable() {
            ConnectorError::retryable(e.to_string())
        } else {
            ConnectorError::Final(e.to_string())
        }
    }
}
