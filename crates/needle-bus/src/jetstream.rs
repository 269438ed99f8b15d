//! The NATS JetStream transport of the scaled-out deployment (feature `nats`).
//!
//! Layout on the server (names configurable, defaults shown):
//!
//! - Stream `NEEDLE_MESSAGES` on `needle.messages.<workspace_id>`: file storage, work-queue
//!   retention (a message is removed once acknowledged), a duplicate window of two minutes
//!   keyed by the `Nats-Msg-Id` header, which is the [`Envelope::key`].
//! - Durable pull consumer `needle-pipeline` on it: explicit acknowledgement, the ack wait of
//!   the [`DeliveryPolicy`]. Every worker process binds to the same consumer, so each message
//!   goes to one of them.
//! - Stream `NEEDLE_DEAD` on `needle.dead.<workspace_id>`: the dead letters, each the original
//!   payload with headers `Needle-Reason`, `Needle-Attempts`, `Needle-Key`, `Needle-Subject`
//!   and `Needle-Sequence`. Limits retention (the oldest go first past a count).
//!
//! **Durability.** `publish` returns only when the server has acknowledged every message of
//! the batch (a JetStream PubAck): from then on the message survives a crash of Needle and of
//! `nats-server`. (A single server writes to its files without an fsync per message, so a
//! power cut can still lose the last moments; run three replicas, `replicas = 3`, where
//! that matters.)
//!
//! **Bounded redelivery.** The consumer itself has no `max_deliver`: the transport counts.
//! A nak on the last allowed delivery dead-letters the message with the worker's reason; a
//! delivery whose count is past the limit (its last ack wait ran out: the worker died) is
//! dead-lettered by `pull`. A server-side limit would instead leave such a message in the
//! stream forever, delivered to nobody and visible nowhere.
//!
//! **Outages.** The client reconnects by itself, forever. While it is not connected,
//! `publish` and `pull` fail at once with [`BusError::Unavailable`]; every request to the
//! server is bounded by `request_timeout`. A publish that timed out may still reach the
//! stream later; the caller retries it (it was told 503), and the duplicate window makes the
//! retry a no-op.
//!
//! The client is async (tokio); this type keeps a one-thread runtime of its own and blocks
//! on it, so callers stay synchronous. Do not call it from inside an async runtime: use
//! `spawn_blocking`, as for the store.
//!
//! Known with nats-server 2.9 (Debian's): everything used here exists there (work-queue
//! streams, durable pull consumers, naks with a delay, `Nats-Msg-Id`); the client is built
//! without its 2.10+ fields. No TLS provider is compiled in: `tls://` URLs are refused.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::connection::State;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer, pull};
use async_nats::jetstream::context::{PublishError, PublishErrorKind};
use async_nats::jetstream::message::{PublishMessage, StreamMessage};
use async_nats::jetstream::stream::{
    self, DiscardPolicy, RawMessageErrorKind, RetentionPolicy, StorageType,
};
use async_nats::jetstream::{self as js, AckKind};
use async_nats::{HeaderMap, ServerAddr, header};
use futures_util::StreamExt;
use tokio::runtime::Runtime;

use crate::{
    BusError, BusStats, DeadLetter, Delivery, DeliveryPolicy, Envelope, Event, Feed, Published,
    Receipt, Settle, Transport, unacknowledged_reason,
};

const REASON: &str = "Needle-Reason";
const ATTEMPTS: &str = "Needle-Attempts";
const KEY: &str = "Needle-Key";
const SUBJECT: &str = "Needle-Subject";
const SEQUENCE: &str = "Needle-Sequence";

/// Longest reason kept in a dead letter's header.
const MAX_REASON_BYTES: usize = 2048;
/// How long the server may hold a pull request that asks only for what is there now.
const NO_WAIT_EXPIRY: Duration = Duration::from_millis(200);
/// Messages published before their acks are awaited: a window, so that a batch costs a few
/// round trips rather than one per message, and stays under the client's in-flight limit.
const PUBLISH_WINDOW: usize = 256;

/// Settings of a [`JetStream`] transport. Its `Debug` leaves credentials out of the URL.
#[derive(Clone)]
pub struct JetStreamConfig {
    /// `nats://host:port`, several separated by commas (a cluster). Credentials may be in
    /// the URL: `nats://user:password@host:4222`.
    pub url: String,
    pub stream: String,
    /// Messages go to `<subject_prefix>.<workspace_id>`.
    pub subject_prefix: String,
    pub dead_stream: String,
    /// Dead letters go to `<dead_subject_prefix>.<workspace_id>`.
    pub dead_subject_prefix: String,
    /// The durable consumer every worker binds to.
    pub consumer: String,
    /// Live events go to `<events_subject_prefix>.<workspace_id>` as plain (not stored)
    /// NATS messages; every process subscribes to all of them.
    pub events_subject_prefix: String,
    pub policy: DeliveryPolicy,
    pub duplicate_window: Duration,
    /// Stream replicas (1 for a single server, 3 for a cluster).
    pub replicas: usize,
    /// Bytes the message stream may hold; when full, `publish` answers
    /// [`BusError::Unavailable`] until workers catch up. `None`: no limit.
    pub max_bytes: Option<i64>,
    /// Deliveries unacknowledged at once across all workers; more wait on the server.
    pub max_ack_pending: i64,
    /// Dead letters kept; the oldest go first.
    pub dead_letter_limit: i64,
    /// How long connecting may take.
    pub connect_timeout: Duration,
    /// How long any request to the server may take (a PubAck, creating a stream, settling).
    pub request_timeout: Duration,
}

impl JetStreamConfig {
    /// The defaults of the module documentation, for the server(s) at `url`.
    pub fn new(url: impl Into<String>) -> JetStreamConfig {
        JetStreamConfig {
            url: url.into(),
            stream: "NEEDLE_MESSAGES".into(),
            subject_prefix: "needle.messages".into(),
            dead_stream: "NEEDLE_DEAD".into(),
            dead_subject_prefix: "needle.dead".into(),
            consumer: "needle-pipeline".into(),
            events_subject_prefix: "needle.events".into(),
            policy: DeliveryPolicy::default(),
            duplicate_window: Duration::from_secs(120),
            replicas: 1,
            max_bytes: None,
            max_ack_pending: 10_000,
            dead_letter_limit: 100_000,
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(5),
        }
    }

    /// The URL without credentials, for messages and logs (a 503's message reaches API
    /// clients).
    pub fn redacted_url(&self) -> String {
        self.url
            .split(',')
            .map(|url| {
                let url = url.trim();
                let start = url.find("://").map_or(0, |i| i + 3);
                match url[start..].find('@') {
                    Some(at) => format!("{}***@{}", &url[..start], &url[start + at + 1..]),
                    None => url.to_string(),
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    fn validate(&self) -> Result<Vec<ServerAddr>, BusError> {
        let invalid = |what: &str, value: &str| {
            BusError::Invalid(format!("NATS {what} {value:?} is not valid"))
        };
        for (what, name) in [
            ("stream", &self.stream),
            ("stream", &self.dead_stream),
            ("consumer", &self.consumer),
        ] {
            let bad = |c: char| c.is_whitespace() || c.is_control() || ".*>/\\".contains(c);
            if name.is_empty() || name.contains(bad) {
                return Err(invalid(what, name));
            }
        }
        for prefix in [
            &self.subject_prefix,
            &self.dead_subject_prefix,
            &self.events_subject_prefix,
        ] {
            let bad_token = |t: &str| {
                t.is_empty() || t.contains(|c: char| c.is_whitespace() || c == '*' || c == '>')
            };
            if prefix.split('.').any(bad_token) {
                return Err(invalid("subject prefix", prefix));
            }
        }
        let prefixes = [
            &self.subject_prefix,
            &self.dead_subject_prefix,
            &self.events_subject_prefix,
        ];
        if prefixes
            .iter()
            .enumerate()
            .any(|(i, a)| prefixes[..i].contains(a))
        {
            return Err(BusError::Invalid(
                "messages, dead letters and events need subject prefixes of their own".into(),
            ));
        }
        if self.policy.max_deliveries == 0 || self.policy.ack_wait.is_zero() {
            return Err(BusError::Invalid(format!(
                "delivery policy {:?} needs at least one delivery and an ack wait",
                self.policy
            )));
        }
        let addrs = self
            .url
            .split(',')
            .map(|url| {
                let url = url.trim();
                let shown = JetStreamConfig::new(url).redacted_url();
                if url.starts_with("tls://") {
                    return Err(BusError::Invalid(format!(
                        "NATS URL {shown}: TLS is not built in (async-nats without a crypto \
                         provider)"
                    )));
                }
                url.parse::<ServerAddr>()
                    .map_err(|e| BusError::Invalid(format!("NATS URL {shown}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(addrs)
    }
}

impl std::fmt::Debug for JetStreamConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JetStreamConfig")
            .field("url", &self.redacted_url())
            .field("stream", &self.stream)
            .field("subject_prefix", &self.subject_prefix)
            .field("dead_stream", &self.dead_stream)
            .field("dead_subject_prefix", &self.dead_subject_prefix)
            .field("consumer", &self.consumer)
            .field("policy", &self.policy)
            .field("duplicate_window", &self.duplicate_window)
            .field("replicas", &self.replicas)
            .field("max_bytes", &self.max_bytes)
            .field("max_ack_pending", &self.max_ack_pending)
            .field("dead_letter_limit", &self.dead_letter_limit)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

/// The JetStream [`Transport`]; see the module documentation.
pub struct JetStream {
    inner: Arc<Inner>,
}

struct Inner {
    config: JetStreamConfig,
    /// [`JetStreamConfig::redacted_url`].
    url: String,
    client: async_nats::Client,
    context: js::Context,
    /// The consumer, once the streams and it are known to exist; `None` sets them up (again)
    /// on the next call.
    consumer: Mutex<Option<PullConsumer>>,
    /// `None` only while dropping.
    runtime: Option<Runtime>,
}

impl JetStream {
    /// Connects and makes sure the streams and the consumer exist.
    ///
    /// A server that cannot be reached within `connect_timeout` is not an error: the client
    /// keeps trying in the background, calls answer [`BusError::Unavailable`] meanwhile, and
    /// the setup happens on the first call that finds the server. Needle can thus start
    /// before NATS does. A configuration the server refuses is an error.
    pub fn connect(config: JetStreamConfig) -> Result<JetStream, BusError> {
        let addrs = config.validate()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("needle-nats")
            .enable_all()
            .build()
            .map_err(|e| BusError::Other(format!("cannot start the NATS client runtime: {e}")))?;
        let options = async_nats::ConnectOptions::new()
            .name("needle")
            .connection_timeout(config.connect_timeout)
            .request_timeout(Some(config.request_timeout))
            .ping_interval(Duration::from_secs(10))
            .retry_on_initial_connect()
            .max_reconnects(None)
            // Quicker than the client's default (up to 4 s): the API answers 503 meanwhile.
            .reconnect_delay_callback(|attempts| {
                Duration::from_millis(50 * attempts.min(20) as u64)
            });
        let client = runtime
            .block_on(options.connect(addrs))
            .map_err(|e| BusError::Invalid(format!("NATS at {}: {e}", config.redacted_url())))?;
        // Building a context spawns its acker task: inside the runtime.
        let context = {
            let _entered = runtime.enter();
            js::ContextBuilder::new()
                .timeout(config.request_timeout)
                .build(client.clone())
        };
        let inner = Arc::new(Inner {
            url: config.redacted_url(),
            config,
            client,
            context,
            consumer: Mutex::new(None),
            runtime: Some(runtime),
        });
        let setup = inner.block_on(async {
            inner.wait_connected(inner.config.connect_timeout).await?;
            inner.consumer().await
        });
        match setup {
            Ok(_) => {}
            Err(BusError::Unavailable(e)) => {
                tracing::warn!(url = %inner.url, error = %e,
                    "NATS is not reachable yet; the bus will set up once it is");
            }
            Err(e) => return Err(e),
        }
        Ok(JetStream { inner })
    }

    /// Whether the client is connected now (for health checks).
    pub fn is_connected(&self) -> bool {
        self.inner.client.connection_state() == State::Connected
    }

    pub fn config(&self) -> &JetStreamConfig {
        &self.inner.config
    }
}

impl Inner {
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime
            .as_ref()
            .expect("the runtime lives until drop")
            .block_on(future)
    }

    fn lock_consumer(&self) -> std::sync::MutexGuard<'_, Option<PullConsumer>> {
        self.consumer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn check_connected(&self) -> Result<(), BusError> {
        match self.client.connection_state() {
            State::Connected => Ok(()),
            State::Pending => Err(self.unavailable("connecting")),
            State::Disconnected => Err(self.unavailable("disconnected, reconnecting")),
        }
    }

    fn unavailable(&self, what: impl std::fmt::Display) -> BusError {
        BusError::Unavailable(format!("NATS at {}: {what}", self.url))
    }

    async fn wait_connected(&self, timeout: Duration) -> Result<(), BusError> {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.client.connection_state() != State::Connected {
            if tokio::time::Instant::now() >= deadline {
                return self.check_connected();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// Reads an error of the client: a timeout, a lost connection or a server answering 503
    /// make [`BusError::Unavailable`]; anything else is [`BusError::Other`].
    fn classify(&self, what: &str, error: &(dyn std::error::Error + 'static)) -> BusError {
        let text = format!("{what}: {error}");
        if self.client.connection_state() != State::Connected {
            return self.unavailable(text);
        }
        let mut cause = Some(error);
        while let Some(e) = cause {
            if let Some(js_error) = e.downcast_ref::<js::Error>()
                && js_error.code() == 503
            {
                return self.unavailable(text);
            }
            cause = e.source();
        }
        // The client's kinds for these say so in words; their types differ per call.
        let lower = text.to_lowercase();
        if [
            "timed out",
            "timeout",
            "no responders",
            "does not exist",
            "broken pipe",
        ]
        .iter()
        .any(|word| lower.contains(word))
        {
            return self.unavailable(text);
        }
        BusError::Other(format!("NATS at {}: {text}", self.url))
    }

    fn publish_error(&self, error: PublishError) -> BusError {
        match error.kind() {
            PublishErrorKind::MaxPayloadExceeded => BusError::TooLarge(error.to_string()),
            PublishErrorKind::StreamNotFound => {
                // Deleted, or not yet recovered after a restart: set up again next time.
                self.lock_consumer().take();
                self.unavailable(format!("no stream for the subject ({error})"))
            }
            PublishErrorKind::TimedOut
            | PublishErrorKind::BrokenPipe
            | PublishErrorKind::MaxAckPending => self.unavailable(format!("publish: {error}")),
            _ => self.classify("publish", &error),
        }
    }

    /// The consumer, creating the streams and it first when not known to exist.
    async fn consumer(&self) -> Result<PullConsumer, BusError> {
        if let Some(consumer) = self.lock_consumer().clone() {
            return Ok(consumer);
        }
        let consumer = self.set_up().await?;
        *self.lock_consumer() = Some(consumer.clone());
        Ok(consumer)
    }

    async fn set_up(&self) -> Result<PullConsumer, BusError> {
        let c = &self.config;
        let messages = stream::Config {
            name: c.stream.clone(),
            description: Some("Needle: messages on their way to the pipeline".into()),
            subjects: vec![format!("{}.*", c.subject_prefix)],
            retention: RetentionPolicy::WorkQueue,
            storage: StorageType::File,
            num_replicas: c.replicas,
            duplicate_window: c.duplicate_window,
            max_bytes: c.max_bytes.unwrap_or(-1),
            discard: DiscardPolicy::New,
            ..Default::default()
        };
        let dead = stream::Config {
            name: c.dead_stream.clone(),
            description: Some("Needle: messages set aside, with the reason".into()),
            subjects: vec![format!("{}.*", c.dead_subject_prefix)],
            retention: RetentionPolicy::Limits,
            storage: StorageType::File,
            num_replicas: c.replicas,
            duplicate_window: c.duplicate_window,
            max_messages: c.dead_letter_limit,
            discard: DiscardPolicy::Old,
            ..Default::default()
        };
        for config in [messages, dead] {
            let name = config.name.clone();
            // Updating an existing stream applies changed settings (the duplicate window,
            // limits); one the server cannot change (retention) is an error to see.
            self.context
                .create_or_update_stream(config)
                .await
                .map_err(|e| self.classify(&format!("setting up stream {name}"), &e))?;
        }
        let stream = self
            .context
            .get_stream_no_info(&c.stream)
            .await
            .map_err(|e| self.classify("stream", &e))?;
        let consumer = stream
            .create_consumer(pull::Config {
                durable_name: Some(c.consumer.clone()),
                description: Some("Needle pipeline workers".into()),
                deliver_policy: DeliverPolicy::All,
                ack_policy: AckPolicy::Explicit,
                ack_wait: c.policy.ack_wait,
                max_ack_pending: c.max_ack_pending,
                ..Default::default()
            })
            .await
            .map_err(|e| self.classify(&format!("setting up consumer {}", c.consumer), &e))?;
        tracing::info!(stream = %c.stream, consumer = %c.consumer, "NATS JetStream bus ready");
        Ok(consumer)
    }

    /// One pull request: up to `max` messages, those there now (`wait` `None`) or waiting
    /// up to `wait` for them.
    async fn fetch(
        &self,
        consumer: &PullConsumer,
        max: usize,
        wait: Option<Duration>,
    ) -> Result<Vec<js::Message>, BusError> {
        let batch = match wait {
            // Every request expires, or a stale one could take messages after we stopped
            // listening (they would come back only after the ack wait). That matters for
            // the no-wait request: nats-server 2.9 does not answer one while the consumer is
            // at `max_ack_pending` with messages pending, but holds it until there is room.
            None => {
                consumer
                    .fetch()
                    .max_messages(max)
                    .expires(NO_WAIT_EXPIRY)
                    .messages()
                    .await
            }
            Some(wait) => {
                consumer
                    .batch()
                    .max_messages(max)
                    .expires(wait)
                    .messages()
                    .await
            }
        };
        let mut batch = batch.map_err(|e| self.classify("pull", &e))?;
        let mut got = Vec::new();
        let collect = async {
            while let Some(item) = batch.next().await {
                got.push(item?);
            }
            Ok::<(), async_nats::Error>(())
        };
        // The server ends the request itself (no messages, batch complete, or expired). No
        // answer at all means the server went away meanwhile, or nobody serves the request:
        // the consumer (or its stream) is gone, and the next call sets them up again.
        let limit = wait.unwrap_or(NO_WAIT_EXPIRY) + self.config.request_timeout;
        let collected = tokio::time::timeout(limit, collect).await;
        match collected {
            Ok(Ok(())) => Ok(got),
            // What came before an error or a timeout is delivered all the same.
            Ok(Err(_)) | Err(_) if !got.is_empty() => Ok(got),
            Ok(Err(e)) => {
                if e.to_string().contains("Consumer Deleted") {
                    self.lock_consumer().take();
                }
                Err(self.classify("pull", e.as_ref()))
            }
            Err(_) => {
                self.lock_consumer().take();
                Err(self.unavailable(format!("no answer to a pull within {limit:?}")))
            }
        }
    }

    /// Sets a message aside in the dead-letter stream, then acknowledges it.
    async fn bury(
        &self,
        message: &js::Message,
        attempts: u32,
        reason: &str,
    ) -> Result<(), BusError> {
        let c = &self.config;
        let sequence = message.info().map(|i| i.stream_sequence).unwrap_or(0);
        let workspace = message
            .subject
            .as_str()
            .strip_prefix(&format!("{}.", c.subject_prefix))
            .unwrap_or("unknown");
        let mut headers = HeaderMap::new();
        headers.insert(REASON, header_value(reason));
        headers.insert(ATTEMPTS, attempts.to_string());
        headers.insert(SUBJECT, message.subject.as_str());
        headers.insert(SEQUENCE, sequence.to_string());
        if let Some(key) = message
            .headers
            .as_ref()
            .and_then(|h| h.get(header::NATS_MESSAGE_ID))
        {
            headers.insert(KEY, key.as_str());
        }
        let publish = PublishMessage::build()
            .payload(message.payload.clone())
            .headers(headers)
            // Buried twice (the ack below lost, the message delivered again): kept once.
            .message_id(format!("{}/{sequence}", c.stream));
        let ack = self
            .context
            .send_publish(format!("{}.{workspace}", c.dead_subject_prefix), publish)
            .await
            .map_err(|e| self.publish_error(e))?;
        ack.await.map_err(|e| self.publish_error(e))?;
        tracing::warn!(subject = %message.subject, sequence, attempts, reason,
            "message dead-lettered");
        self.settle(message, AckKind::Ack).await
    }

    async fn settle(&self, message: &js::Message, kind: AckKind) -> Result<(), BusError> {
        match tokio::time::timeout(self.config.request_timeout, message.ack_with(kind)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(self.classify("acknowledging", e.as_ref())),
            Err(_) => Err(self.unavailable("acknowledging timed out")),
        }
    }
}

/// A header value keeps to one line of printable text: NATS headers end at a line break.
fn header_value(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if out.len() > MAX_REASON_BYTES {
        let mut end = MAX_REASON_BYTES;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
    }
    out.trim().to_string()
}

impl Drop for Inner {
    fn drop(&mut self) {
        let Some(runtime) = self.runtime.take() else {
            return;
        };
        if tokio::runtime::Handle::try_current().is_ok() {
            // Blocking is not allowed inside an async runtime: let ours wind down alone.
            runtime.shutdown_background();
            return;
        }
        // Acks are sent without waiting for the server: flush what is still buffered.
        if self.client.connection_state() == State::Connected {
            let client = self.client.clone();
            // (The timer must be made inside the runtime.)
            let _ = runtime.block_on(async {
                tokio::time::timeout(Duration::from_secs(1), client.flush()).await
            });
        }
        runtime.shutdown_timeout(Duration::from_secs(1));
    }
}

impl Transport for JetStream {
    fn publish(&self, batch: &[Envelope]) -> Result<Published, BusError> {
        let mut published = Published::default();
        if batch.is_empty() {
            return Ok(published);
        }
        let inner = &self.inner;
        let c = &inner.config;
        // Refuse the whole batch up front rather than stop half way through it.
        let max_payload = inner.client.server_info().max_payload;
        let mut outgoing = Vec::with_capacity(batch.len());
        for envelope in batch {
            let key = envelope.key();
            let payload = envelope.to_bytes();
            // The header block: `NATS/1.0`, `Nats-Msg-Id: <key>`, line ends.
            let size = payload.len() + key.len() + 32;
            if max_payload > 0 && size > max_payload {
                return Err(BusError::TooLarge(format!(
                    "message {key} is {size} bytes, more than the NATS server's max_payload \
                     of {max_payload} bytes"
                )));
            }
            let subject = format!("{}.{}", c.subject_prefix, envelope.workspace_id);
            outgoing.push((
                subject,
                PublishMessage::build()
                    .payload(payload.into())
                    .message_id(key),
            ));
        }
        inner.block_on(async {
            inner.check_connected()?;
            inner.consumer().await?;
            let mut outgoing = outgoing.into_iter();
            loop {
                let mut acks = Vec::with_capacity(PUBLISH_WINDOW);
                for (subject, publish) in outgoing.by_ref().take(PUBLISH_WINDOW) {
                    let ack = inner
                        .context
                        .send_publish(subject, publish)
                        .await
                        .map_err(|e| inner.publish_error(e))?;
                    acks.push(ack);
                }
                if acks.is_empty() {
                    return Ok(published);
                }
                for ack in acks {
                    let ack = ack.await.map_err(|e| inner.publish_error(e))?;
                    if ack.duplicate {
                        published.duplicates += 1;
                    } else {
                        published.new += 1;
                    }
                }
            }
        })
    }

    fn pull(&self, max: usize, wait: Duration) -> Result<Vec<Delivery>, BusError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let inner = &self.inner;
        let policy = inner.config.policy;
        inner.block_on(async {
            inner.check_connected()?;
            let consumer = inner.consumer().await?;
            // What is there now; else wait for the first message and take what came with it.
            // (One request for `max` with a wait would hold the first message back until
            // `max` had come or the wait was over.)
            let mut messages = match inner.fetch(&consumer, max, None).await {
                Ok(messages) => messages,
                Err(e @ BusError::Unavailable(_)) => return Err(e),
                Err(e) => {
                    // Such as too many unacknowledged (409): the waiting request below
                    // waits for room.
                    tracing::debug!(error = %e, "pull without waiting failed");
                    Vec::new()
                }
            };
            if messages.is_empty() && !wait.is_zero() {
                let wait = wait.max(Duration::from_millis(10));
                messages = inner.fetch(&consumer, 1, Some(wait)).await?;
                if !messages.is_empty() && max > 1 {
                    messages.extend(
                        inner
                            .fetch(&consumer, max - 1, None)
                            .await
                            .unwrap_or_default(),
                    );
                }
            }
            let mut deliveries = Vec::with_capacity(messages.len());
            for message in messages {
                let delivered = match message.info() {
                    Ok(info) => u32::try_from(info.delivered).unwrap_or(u32::MAX).max(1),
                    Err(e) => {
                        tracing::error!(subject = %message.subject, error = %e,
                            "a JetStream message without delivery info; left to come back");
                        continue;
                    }
                };
                let buried = if delivered > policy.max_deliveries {
                    let attempts = delivered - 1;
                    inner
                        .bury(&message, attempts, &unacknowledged_reason(attempts))
                        .await
                } else {
                    match Envelope::from_bytes(&message.payload) {
                        Ok(envelope) => {
                            let handle = Handle {
                                inner: self.inner.clone(),
                                message,
                            };
                            deliveries.push(Delivery {
                                envelope,
                                receipt: Receipt::new(
                                    delivered,
                                    policy.max_deliveries,
                                    Box::new(handle),
                                ),
                            });
                            continue;
                        }
                        Err(e) => {
                            let detail = match e {
                                BusError::Invalid(detail) => detail,
                                other => other.to_string(),
                            };
                            let reason = format!("cannot read the envelope: {detail}");
                            inner.bury(&message, delivered, &reason).await
                        }
                    }
                };
                // Not fatal for the other deliveries: unacknowledged, it comes back and is
                // buried then.
                if let Err(e) = buried {
                    tracing::error!(error = %e, "cannot dead-letter a message; it will come back");
                }
            }
            Ok(deliveries)
        })
    }

    fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, BusError> {
        let inner = &self.inner;
        let c = &inner.config;
        let mut letters = Vec::new();
        if limit == 0 {
            return Ok(letters);
        }
        inner.block_on(async {
            inner.check_connected()?;
            inner.consumer().await?;
            let stream = inner
                .context
                .get_stream(&c.dead_stream)
                .await
                .map_err(|e| inner.classify("dead letters", &e))?;
            let state = &stream.cached_info().state;
            let (first, mut sequence) = (state.first_sequence.max(1), state.last_sequence);
            // Newest first, one request each: the API asks for a page, not the lot.
            while letters.len() < limit && sequence >= first {
                match stream.get_raw_message(sequence).await {
                    Ok(message) => letters.push(dead_letter(c, message)),
                    // Deleted by hand, or removed meanwhile (the oldest go first).
                    Err(e) if e.kind() == RawMessageErrorKind::NoMessageFound => {}
                    Err(e) => return Err(inner.classify("dead letters", &e)),
                }
                sequence -= 1;
            }
            Ok(letters)
        })
    }

    fn policy(&self) -> DeliveryPolicy {
        self.inner.config.policy
    }

    fn announce(&self, event: &Event) -> Result<(), BusError> {
        let inner = &self.inner;
        inner.check_connected()?;
        let subject = format!(
            "{}.{}",
            inner.config.events_subject_prefix, event.workspace_id
        );
        inner.block_on(async {
            inner
                .client
                .publish(subject, event.to_bytes().into())
                .await
                .map_err(|e| inner.classify("announcing an event", &e))
        })
    }

    fn follow_events(&self, feed: Feed) -> Result<(), BusError> {
        let inner = &self.inner;
        let subject = format!("{}.*", inner.config.events_subject_prefix);
        // Subscribing registers locally and is sent on (re)connect: it works before the
        // server is reachable, and the client renews it after a reconnect.
        let mut subscription = inner
            .block_on(inner.client.subscribe(subject))
            .map_err(|e| inner.classify("following events", &e))?;
        inner.runtime.as_ref().expect("runtime").spawn(async move {
            while let Some(message) = subscription.next().await {
                match Event::from_bytes(&message.payload) {
                    Ok(event) => feed.deliver(event),
                    Err(e) => tracing::warn!(error = %e, subject = %message.subject,
                        "an event that is not Needle's was ignored"),
                }
            }
        });
        Ok(())
    }

    fn stats(&self) -> Result<BusStats, BusError> {
        let inner = &self.inner;
        inner.block_on(async {
            inner.check_connected()?;
            let mut consumer = inner.consumer().await?;
            let info = consumer
                .info()
                .await
                .map_err(|e| inner.classify("consumer info", &e))?;
            let (waiting, unacknowledged, redelivered) = (
                info.num_pending,
                info.num_ack_pending as u64,
                info.num_redelivered as u64,
            );
            let dead_letters = inner
                .context
                .get_stream(&inner.config.dead_stream)
                .await
                .map_err(|e| inner.classify("dead letters", &e))?
                .cached_info()
                .state
                .messages;
            Ok(BusStats {
                waiting,
                unacknowledged,
                redelivered,
                dead_letters,
            })
        })
    }
}

fn dead_letter(config: &JetStreamConfig, message: StreamMessage) -> DeadLetter {
    let get = |name: &str| message.headers.get(name).map(|v| v.as_str().to_string());
    DeadLetter {
        id: message.sequence,
        workspace_id: message
            .subject
            .as_str()
            .strip_prefix(&format!("{}.", config.dead_subject_prefix))
            .and_then(|w| w.parse().ok()),
        key: get(KEY),
        envelope_json: String::from_utf8_lossy(&message.payload).into_owned(),
        reason: get(REASON).unwrap_or_default(),
        attempts: get(ATTEMPTS).and_then(|a| a.parse().ok()).unwrap_or(0),
        at: message.time,
    }
}

/// Settles one JetStream delivery. Acks are sent without waiting for the server's
/// confirmation: one lost on the way means a redelivery, which the store's key absorbs.
struct Handle {
    inner: Arc<Inner>,
    message: js::Message,
}

impl Settle for Handle {
    fn ack(self: Box<Self>) -> Result<(), BusError> {
        self.inner
            .block_on(self.inner.settle(&self.message, AckKind::Ack))
    }

    fn nak(self: Box<Self>, delay: Duration) -> Result<(), BusError> {
        let delay = (!delay.is_zero()).then_some(delay);
        self.inner
            .block_on(self.inner.settle(&self.message, AckKind::Nak(delay)))
    }

    fn dead_letter(self: Box<Self>, reason: &str, attempts: u32) -> Result<(), BusError> {
        self.inner
            .block_on(self.inner.bury(&self.message, attempts, reason))
    }
}

#[cfg(test)]
#[path = "jetstream_tests.rs"]
mod tests;
