//! Outbound webhooks: events (a message received, a reply sent; case assigned and alert
//! raised as those parts land) POSTed as JSON to a URL the operator gives, signed like inbound
//! webhooks (HMAC-SHA256 of the body in `X-Needle-Signature: sha256=<hex>`), with the
//! delivery's idempotency key in `Idempotency-Key` so that a receiver can drop a retry of a
//! send that did arrive. Retried by the outbox like every sink.

use serde_json::Value;

use crate::outbound::Outbound;
use crate::sink::{Delivered, Sink, SinkError};
use crate::webhook::sign;

/// The events an outbound webhook can ask for.
pub const EVENTS: &[&str] = &["message.received", "reply.sent"];

/// Settings of an outbound webhook connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingConfig {
    pub url: String,
    /// Which of [`EVENTS`] to send.
    pub events: Vec<String>,
}

impl OutgoingConfig {
    /// Reads `{"url": "https://…", "events": ["message.received"]}` (all events when left out).
    pub fn from_json(config: &Value) -> Result<OutgoingConfig, String> {
        let object = config
            .as_object()
            .ok_or("outbound webhook settings must be a JSON object")?;
        let url = match object.get("url") {
            Some(Value::String(url)) => crate::config::web_url(url)?,
            _ => return Err("`url` must be the receiver's http:// or https:// address".into()),
        };
        let events = match object.get("events") {
            None | Some(Value::Null) => EVENTS.iter().map(|e| e.to_string()).collect(),
            Some(Value::Array(list)) => {
                let mut events = Vec::new();
                for e in list {
                    match e.as_str() {
                        Some(name) if EVENTS.contains(&name) => events.push(name.to_string()),
                        _ => {
                            return Err(format!(
                                "`events` holds {e}, which is not one of {}",
                                EVENTS.join(", ")
                            ));
                        }
                    }
                }
                if events.is_empty() {
                    return Err("`events` is empty: name at least one event".into());
                }
                events
            }
            Some(_) => return Err("`events` must be a list of event names".into()),
        };
        Ok(OutgoingConfig { url, events })
    }

    pub fn wants(&self, event: &str) -> bool {
        self.events.iter().any(|e| e == event)
    }
}

/// Posts events to one receiver.
pub struct WebhookSink {
    config: OutgoingConfig,
    secret: Vec<u8>,
    client: Outbound,
}

impl WebhookSink {
    pub fn new(config: OutgoingConfig, secret: &str, client: Outbound) -> WebhookSink {
        WebhookSink {
            config,
            secret: secret.as_bytes().to_vec(),
            client,
        }
    }
}

impl Sink for WebhookSink {
    fn deliver(&self, key: &str, payload: &Value) -> Result<Delivered, SinkError> {
        let body = payload.to_string();
        let signature = format!("sha256={}", sign(&self.secret, body.as_bytes()));
        let event = payload.get("event").and_then(Value::as_str).unwrap_or("");
        let headers = [
            ("Content-Type", "application/json"),
            ("X-Needle-Signature", signature.as_str()),
            ("X-Needle-Event", event),
            ("Idempotency-Key", key),
        ];
        let answer = self
            .client
            .post(&self.config.url, &headers, body.as_bytes())?;
        let answer = answer.success("the receiver")?;
        Ok(Delivered {
            receipt: format!("answered {}", answer.status),
            posted: None,
        })
    }
}
