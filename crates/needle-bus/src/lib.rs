//! The message bus between ingest and the pipeline workers.
//!
//! Ingest (the API, imports, connectors) [`Transport::publish`]es batches of [`Envelope`]s;
//! workers [`Transport::pull`] [`Delivery`]s, run them through the pipeline, and settle each
//! one through its [`Receipt`]: [`ack`](Receipt::ack) once the store has committed it,
//! [`nak`](Receipt::nak) to have it delivered again, or [`dead_letter`](Receipt::dead_letter)
//! to set it aside with a reason that [`Transport::dead_letters`] shows.
//!
//! Two transports behave the same way, checked by one suite ([`conformance`]):
//!
//! - [`InProcess`]: a bounded queue in memory, for embedded mode. It is not durable: there the
//!   durability point stays the store's commit, and the API answers only once that is done.
//! - `jetstream::JetStream` (feature `nats`): a NATS JetStream stream and durable pull
//!   consumer. A published batch is durable once `publish` returns, so the API may answer
//!   before the pipeline has run.
//!
//! Delivery is at least once. A message is redelivered when it is nak'ed, or when it is not
//! settled within the ack wait (the worker died or hung). The store's unique key on
//! (workspace, channel, id) makes the second storing a no-op, so redelivery never duplicates.
//! Each delivery counts an attempt; after [`DeliveryPolicy::max_deliveries`] the message
//! goes to the dead letters instead of coming back again.
//!
//! The trait is synchronous for the same reason the `Store` is: pipeline stages run on plain
//! threads. Async callers (axum handlers) call in through `spawn_blocking`.
//!
//! # A worker
//!
//! A worker turns deliveries into pipeline batches (one per workspace), keeps the receipts
//! in the order of the items, and settles each receipt by its item's outcome once the batch
//! comes back, on a thread of its own (settling is network I/O; the pipeline's last stage
//! should not wait on it):
//!
//! ```ignore
//! loop {
//!     let deliveries = match bus.pull(500, Duration::from_secs(1)) {
//!         Ok(deliveries) => deliveries,
//!         Err(e) => { tracing::warn!(error = %e, "bus"); sleep(BusError::RETRY_AFTER); continue }
//!     };
//!     let mut batches: BTreeMap<i64, (Vec<Item>, Vec<Receipt>)> = BTreeMap::new();
//!     for Delivery { envelope, receipt } in deliveries {
//!         let (items, receipts) = batches.entry(envelope.workspace_id).or_default();
//!         items.push(Item::new(envelope.message));
//!         receipts.push(receipt);
//!     }
//!     for (workspace_id, (items, receipts)) in batches {
//!         let settle = settle_tx.clone();
//!         // Blocks while the pipeline is full: the worker pulls no faster than it stores.
//!         pipeline.submit(Batch::new(workspace_id, items), move |batch| {
//!             let _ = settle.send((batch, receipts));
//!         })?;
//!     }
//! }
//! // The settling thread:
//! for (batch, receipts) in settle_rx {
//!     for (item, receipt) in batch.items.iter().zip(receipts) {
//!         let settled = match &item.outcome {
//!             Outcome::Stored(_) | Outcome::Duplicate(_) => receipt.ack(),
//!             // Will never store: set aside where the API shows it, with the reason.
//!             Outcome::Rejected(invalid) => receipt.dead_letter(&invalid.to_string()),
//!             Outcome::Failed { reason, .. } => {
//!                 let backoff = Duration::from_secs(5) * receipt.attempt();
//!                 receipt.nak(backoff, reason)
//!             }
//!             Outcome::Pending => receipt.nak(Duration::ZERO, "left pending by the pipeline"),
//!         };
//!         if let Err(e) = settled {
//!             // It comes back after the ack wait; the store's key makes that harmless.
//!             tracing::warn!(error = %e, "settling a delivery");
//!         }
//!     }
//! }
//! ```

pub mod conformance;
pub mod events;
#[cfg(feature = "nats")]
pub mod jetstream;
mod memory;
#[cfg(feature = "nats")]
pub mod testing;

use std::fmt;
use std::time::Duration;

use needle_core::{ErrorCode, Message};
use serde_json::{Map, Value};
use time::OffsetDateTime;

pub use events::{Event, Feed};
pub use memory::{InProcess, InProcessConfig};

/// One message on its way to the pipeline, with the workspace it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub workspace_id: i64,
    pub message: Message,
}

impl Envelope {
    pub fn new(workspace_id: i64, message: Message) -> Envelope {
        Envelope {
            workspace_id,
            message,
        }
    }

    /// The de-duplication key: `<workspace>/<channel>/<id>`, the message's identity in the
    /// store. Channel and id are escaped (`%XX` for `/`, `%`, and every byte that is not
    /// printable ASCII), so the key is unambiguous and safe as a NATS header value.
    pub fn key(&self) -> String {
        format!(
            "{}/{}/{}",
            self.workspace_id,
            escape_key_part(&self.message.channel),
            escape_key_part(&self.message.id)
        )
    }

    /// `{"workspace_id": …, "message": {…}}`, the message in the shape of the message spec.
    pub fn to_json(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("workspace_id".into(), self.workspace_id.into());
        obj.insert("message".into(), self.message.to_json());
        Value::Object(obj)
    }

    /// The envelope as bytes on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.to_json()).expect("a JSON value serialises")
    }

    /// Reads what [`Envelope::to_bytes`] wrote; says what is wrong otherwise.
    pub fn from_bytes(bytes: &[u8]) -> Result<Envelope, BusError> {
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| BusError::Invalid(format!("envelope is not JSON: {e}")))?;
        let Value::Object(mut obj) = value else {
            return Err(BusError::Invalid("envelope is not a JSON object".into()));
        };
        let workspace_id = obj
            .get("workspace_id")
            .and_then(Value::as_i64)
            .ok_or_else(|| BusError::Invalid("envelope has no integer `workspace_id`".into()))?;
        let message = obj
            .remove("message")
            .ok_or_else(|| BusError::Invalid("envelope has no `message`".into()))?;
        let message = Message::from_json(message)
            .map_err(|e| BusError::Invalid(format!("envelope message: {e}")))?;
        Ok(Envelope {
            workspace_id,
            message,
        })
    }
}

fn escape_key_part(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for byte in part.bytes() {
        if byte.is_ascii_graphic() && byte != b'/' && byte != b'%' {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// How often a message is delivered before it is dead-lettered, and how long a delivery may
/// stay unsettled before it is delivered again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryPolicy {
    /// Deliveries a message gets at most (at least 1). A nak on the last one, or letting the
    /// last one's ack wait run out, sends the message to the dead letters.
    pub max_deliveries: u32,
    /// How long a delivery may go unsettled before the message is delivered again. Longer
    /// than a batch takes through the pipeline, or messages are processed twice (harmless,
    /// but wasted work).
    pub ack_wait: Duration,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        DeliveryPolicy {
            max_deliveries: 5,
            ack_wait: Duration::from_secs(30),
        }
    }
}

/// What a publish did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Published {
    /// Messages taken in.
    pub new: usize,
    /// Messages whose key was published before within the dedupe window: taken once already.
    pub duplicates: usize,
}

/// Why the bus failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusError {
    /// The transport cannot take or give messages now (server down, queue full, timeout).
    /// Nothing of a failed publish may be counted on: retry the whole batch later (the
    /// dedupe key makes a retry of what did get through harmless).
    #[error("message bus unavailable: {0}")]
    Unavailable(String),
    /// A message is larger than the transport carries.
    #[error("message too large for the bus: {0}")]
    TooLarge(String),
    /// Something handed to or read from the bus is malformed.
    #[error("invalid: {0}")]
    Invalid(String),
    /// Anything else (a misconfigured stream, a bug).
    #[error("message bus error: {0}")]
    Other(String),
}

impl BusError {
    /// How long a client told 503 should wait before trying again: about the time the
    /// JetStream client takes to notice a server is back (it retries every second at most).
    pub const RETRY_AFTER: Duration = Duration::from_secs(2);

    /// The row of the error table: `Unavailable` answers 503 (with `Retry-After`).
    pub fn code(&self) -> ErrorCode {
        match self {
            BusError::Unavailable(_) => ErrorCode::Unavailable,
            BusError::TooLarge(_) => ErrorCode::PayloadTooLarge,
            BusError::Invalid(_) => ErrorCode::BadRequest,
            BusError::Other(_) => ErrorCode::Internal,
        }
    }

    /// [`BusError::RETRY_AFTER`] for what passes with time, `None` for the rest.
    pub fn retry_after(&self) -> Option<Duration> {
        matches!(self, BusError::Unavailable(_)).then_some(BusError::RETRY_AFTER)
    }
}

/// A message set aside after its last delivery, or by [`Receipt::dead_letter`].
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// Increases with each dead letter; stable, so the API can name one.
    pub id: u64,
    /// The workspace it was published for, when known.
    pub workspace_id: Option<i64>,
    /// Its [`Envelope::key`], when the envelope could be read.
    pub key: Option<String>,
    /// The envelope as it was published (invalid UTF-8 replaced, for envelopes that could
    /// not be read at all).
    pub envelope_json: String,
    /// Why: the reason given by the worker, or the transport's own.
    pub reason: String,
    /// Deliveries it had.
    pub attempts: u32,
    /// When it was set aside.
    pub at: OffsetDateTime,
}

/// A bus: where ingest puts messages and pipeline workers take them.
pub trait Transport: Send + Sync {
    /// Takes a batch in. `Ok` means every message will be processed, even if this process
    /// dies right now (for [`InProcess`]: as long as this process lives). A message whose
    /// [`Envelope::key`] was published before within the dedupe window is taken once.
    ///
    /// All or nothing as far as the caller knows: on an error, publish the whole batch
    /// again later.
    fn publish(&self, batch: &[Envelope]) -> Result<Published, BusError>;

    /// Waits up to `wait` for a message, then returns up to `max` deliveries without waiting
    /// further; an empty list when none came. Redeliveries come before new messages, and new
    /// messages in the order they were published. Messages past their last delivery, and
    /// envelopes that cannot be read, are dead-lettered here and not returned.
    fn pull(&self, max: usize, wait: Duration) -> Result<Vec<Delivery>, BusError>;

    /// The most recent dead letters, newest first, at most `limit`.
    fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, BusError>;

    /// The delivery policy in force.
    fn policy(&self) -> DeliveryPolicy;

    /// How much work the bus holds, for `/healthz` and `/metrics`. With JetStream this is
    /// the durable consumer's view, shared by every worker.
    fn stats(&self) -> Result<BusStats, BusError>;

    /// Publishes a live event to every process that follows this bus ([`events`]): best
    /// effort, not stored.
    fn announce(&self, event: &Event) -> Result<(), BusError>;

    /// From now on, hands every event announced on this bus, by any process, to `feed`.
    fn follow_events(&self, feed: Feed) -> Result<(), BusError>;
}

/// How much work a bus holds, counted the way NATS JetStream counts for a consumer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BusStats {
    /// Published and not yet delivered to any worker: how far the workers lag behind.
    pub waiting: u64,
    /// Delivered and not yet acknowledged, including deliveries waiting to come back after a
    /// nak or a lapsed ack wait.
    pub unacknowledged: u64,
    /// Of the unacknowledged, those out on a second or later delivery.
    pub redelivered: u64,
    /// Dead letters kept.
    pub dead_letters: u64,
}

/// One message handed to a worker, and the receipt to settle it with.
pub struct Delivery {
    pub envelope: Envelope,
    pub receipt: Receipt,
}

impl Delivery {
    /// 1 on the first delivery, 2 on the second, …
    pub fn attempt(&self) -> u32 {
        self.receipt.attempt
    }

    pub fn ack(self) -> Result<(), BusError> {
        self.receipt.ack()
    }

    pub fn nak(self, delay: Duration, reason: &str) -> Result<(), BusError> {
        self.receipt.nak(delay, reason)
    }

    pub fn dead_letter(self, reason: &str) -> Result<(), BusError> {
        self.receipt.dead_letter(reason)
    }
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("key", &self.envelope.key())
            .field("attempt", &self.receipt.attempt)
            .finish_non_exhaustive()
    }
}

/// How a delivery is settled, apart from its envelope so that a worker can move the message
/// into a pipeline batch and keep the receipt to settle once the batch comes back.
///
/// A receipt dropped without being settled leaves its message in flight: it is delivered
/// again when the ack wait runs out (the same as a worker that died).
pub struct Receipt {
    attempt: u32,
    max_deliveries: u32,
    handle: Box<dyn Settle>,
}

impl Receipt {
    pub(crate) fn new(attempt: u32, max_deliveries: u32, handle: Box<dyn Settle>) -> Receipt {
        Receipt {
            attempt,
            max_deliveries,
            handle,
        }
    }

    /// 1 on the first delivery, 2 on the second, …
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Whether a nak now would dead-letter the message rather than deliver it again.
    pub fn is_last_attempt(&self) -> bool {
        self.attempt >= self.max_deliveries
    }

    /// Done with: the message is committed to the store (or was a duplicate). Call it only
    /// then: an acknowledged message is gone from the bus.
    pub fn ack(self) -> Result<(), BusError> {
        self.handle.ack()
    }

    /// Not done, try again after `delay`. On the last allowed delivery the message goes to
    /// the dead letters instead, with `reason`.
    pub fn nak(self, delay: Duration, reason: &str) -> Result<(), BusError> {
        if self.is_last_attempt() {
            self.handle.dead_letter(reason, self.attempt)
        } else {
            self.handle.nak(delay)
        }
    }

    /// Never going to work (a poison message): set it aside now with `reason`.
    pub fn dead_letter(self, reason: &str) -> Result<(), BusError> {
        self.handle.dead_letter(reason, self.attempt)
    }
}

impl fmt::Debug for Receipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receipt")
            .field("attempt", &self.attempt)
            .field("max_deliveries", &self.max_deliveries)
            .finish_non_exhaustive()
    }
}

/// What each transport does to settle one of its deliveries.
pub(crate) trait Settle: Send {
    fn ack(self: Box<Self>) -> Result<(), BusError>;
    fn nak(self: Box<Self>, delay: Duration) -> Result<(), BusError>;
    fn dead_letter(self: Box<Self>, reason: &str, attempts: u32) -> Result<(), BusError>;
}

/// The reason given to a message whose last delivery ran out of ack wait.
pub(crate) fn unacknowledged_reason(deliveries: u32) -> String {
    format!(
        "not acknowledged after {deliveries} deliveries (the worker died, hung, \
         or took longer than the ack wait each time)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unambiguous_and_header_safe() {
        let mut m = conformance::message("a/b", 1);
        m.channel = "x%y".into();
        let key = Envelope::new(7, m.clone()).key();
        assert_eq!(key, "7/x%25y/a%2Fb");
        m.id = "line\r\nbreak é".into();
        let key = Envelope::new(7, m).key();
        assert_eq!(key, "7/x%25y/line%0D%0Abreak%20%C3%A9");
        assert!(key.bytes().all(|b| b.is_ascii_graphic()));
    }

    #[test]
    fn envelopes_round_trip_and_bad_ones_say_why() {
        let envelope = Envelope::new(3, conformance::message("1", 5));
        assert_eq!(
            Envelope::from_bytes(&envelope.to_bytes()).unwrap(),
            envelope
        );
        for (bytes, says) in [
            (&b"{"[..], "not JSON"),
            (b"[]", "not a JSON object"),
            (b"{\"message\":{}}", "workspace_id"),
            (b"{\"workspace_id\":1}", "no `message`"),
            (
                b"{\"workspace_id\":1,\"message\":{\"id\":\"1\"}}",
                "envelope message",
            ),
        ] {
            let error = Envelope::from_bytes(bytes).unwrap_err();
            assert!(
                matches!(&error, BusError::Invalid(m) if m.contains(says)),
                "{error}"
            );
        }
    }

    #[test]
    fn unavailable_answers_503() {
        assert_eq!(
            BusError::Unavailable("down".into()).code().http_status(),
            503
        );
        assert_eq!(
            BusError::Unavailable("down".into()).retry_after(),
            Some(BusError::RETRY_AFTER)
        );
        assert_eq!(BusError::TooLarge("big".into()).code().http_status(), 413);
        assert_eq!(BusError::TooLarge("big".into()).retry_after(), None);
    }
}
