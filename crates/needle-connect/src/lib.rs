//! Channels in and out: the connector framework and the first connectors.
//!
//! - [`source`]: what a pulling source is (pull from a checkpoint, say whether a failure is
//!   worth retrying).
//! - [`feed`]: RSS and Atom, polled with conditional GET.
//! - [`chat`]: live chat on a website (settings, identity check, replies into the thread).
//! - [`email`]: IMAP in (UID checkpoints, MIME, threading, quotes trimmed), SMTP replies.
//! - [`mastodon`]: mentions, direct messages and hashtags in; replies out.
//! - [`webhook`]: inbound webhooks, HMAC-signed, mapped by JSON Pointers.
//! - [`config`]: a connection's kind and settings, checked.
//! - [`sink`]: what a sink is (deliver one item; a receipt, or an error worth retrying or not).
//! - [`outgoing`]: outbound webhooks, events POSTed signed with an idempotency key.
//! - [`outbound`]: the one HTTP client connectors use, which keeps them off private networks.
//!
//! Nothing here touches the store or the pipeline: the `needle` binary runs sources and hands
//! what they produce, with its checkpoint, to the pipeline; needle-http serves the webhook
//! endpoints.

pub mod chat;
pub mod config;
pub mod email;
pub mod error;
pub mod feed;
pub mod mastodon;
pub mod outbound;
pub mod outgoing;
pub mod sink;
pub mod source;
pub mod webhook;

pub use config::ConnectorConfig;
pub use error::ConnectorError;
pub use outbound::{Outbound, OutboundPolicy};
pub use sink::{Delivered, Sink, SinkError};
pub use source::{Pulled, Source, SourceError};
