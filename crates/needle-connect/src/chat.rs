//! Live chat on a website: the settings of a chat connection, the identity check, and the
//! sink that delivers an agent's reply. The socket itself is served by needle-http; a reply
//! is delivered by storing it as an outbound message in the visitor's thread, which every
//! open socket of that visitor sees at once and a reconnecting one reads back.
//!
//! Visitors are anonymous until the site calls `NeedleChat.identify(userId, signature)` with
//! `signature` = hex HMAC-SHA256 of the user id under the connection's secret, computed by
//! the site's server: then the visitor's messages carry the site's user id as a verified
//! identity, which profiles can trust.

use needle_core::message::format_time;
use needle_core::{Direction, Message};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::error::ConnectorError;
use crate::sink::{Delivered, Sink};

/// Settings of a chat connection (the identity secret is its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatConfig {
    /// Pages that may open the chat (`https://shop.example.com`), or `*` for any.
    pub allowed_origins: Vec<String>,
    /// The name shown for agents' replies.
    pub agent_name: String,
}

impl ChatConfig {
    /// Reads `{"allowed_origins": ["https://shop.example.com"], "agent_name": "Acme"}`.
    pub fn from_json(config: &Value) -> Result<ChatConfig, String> {
        let object = config
            .as_object()
            .ok_or("chat settings must be a JSON object")?;
        let allowed_origins = match object.get("allowed_origins") {
            Some(Value::Array(list)) if !list.is_empty() => list
                .iter()
                .map(|o| match o.as_str() {
                    Some("*") => Ok("*".to_string()),
                    Some(o) if o.starts_with("http://") || o.starts_with("https://") => {
                        Ok(o.trim_end_matches('/').to_string())
                    }
                    _ => Err(format!(
                        "`allowed_origins` holds {o}; write origins such as https://shop.example.com, or \"*\""
                    )),
                })
                .collect::<Result<_, _>>()?,
            _ => {
                return Err(
                    "`allowed_origins` must list the sites that embed the chat (or [\"*\"])"
                        .into(),
                );
            }
        };
        let agent_name = object
            .get("agent_name")
            .and_then(Value::as_str)
            .unwrap_or("Support")
            .to_string();
        Ok(ChatConfig {
            allowed_origins,
            agent_name,
        })
    }

    /// Whether a page from `origin` may open the chat.
    pub fn allows(&self, origin: Option<&str>) -> bool {
        self.allowed_origins
            .iter()
            .any(|o| o == "*" || origin.is_some_and(|origin| origin.trim_end_matches('/') == o))
    }
}

/// Whether `visitor` is an id a browser made: 16 to 64 letters, digits or `-`.
pub fn valid_visitor(visitor: &str) -> bool {
    (16..=64).contains(&visitor.len())
        && visitor
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The thread of a visitor's conversation.
pub fn thread_of(visitor: &str) -> String {
    format!("chat:{visitor}")
}

/// A verified identity the site vouched for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
}

/// Checks the site's signature over `user_id` (hex HMAC-SHA256 under the secret).
pub fn verify_identity(secret: &[u8], user_id: &str, signature: &str) -> bool {
    use hmac::{Hmac, KeyInit, Mac};
    let Ok(given) = hex::decode(signature.trim()) else {
        return false;
    };
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("any key length");
    mac.update(user_id.as_bytes());
    mac.verify_slice(&given).is_ok()
}

/// A visitor's message as a message on the `chat` channel. `client_id` is the browser's id
/// for it, the same when it is resent after a reconnect, so a resend is a duplicate.
pub fn visitor_message(
    account: &str,
    visitor: &str,
    client_id: &str,
    text: &str,
    identity: Option<&Identity>,
    at: OffsetDateTime,
) -> Result<Message, needle_core::Invalid> {
    let author = match identity {
        Some(who) => json!({"id": format!("user:{}", who.user_id), "verified": true,
                             "email": who.email, "name": who.name}),
        None => json!({"id": format!("visitor:{visitor}")}),
    };
    Message::from_json(json!({
        "id": format!("{visitor}:{client_id}"),
        "channel": "chat",
        "account": account,
        "created_at": format_time(at),
        "text": text,
        "thread_id": thread_of(visitor),
        "author": author,
    }))
}

/// What a reply delivery carries, as the API queues it.
pub fn reply_payload(original: &Message, text: &str) -> Result<Value, String> {
    let thread = original
        .thread_id
        .as_deref()
        .filter(|t| t.starts_with("chat:"))
        .ok_or("the message belongs to no chat conversation")?;
    Ok(json!({
        "kind": "reply",
        "in_reply_to": {"channel": original.channel, "id": original.id},
        "text": text,
        "chat": {"thread_id": thread},
    }))
}

/// Delivers agents' replies into the visitor's thread.
pub struct ChatSink {
    config: ChatConfig,
    account: String,
}

impl ChatSink {
    pub fn new(config: ChatConfig, account: &str) -> ChatSink {
        ChatSink {
            config,
            account: account.to_string(),
        }
    }
}

impl Sink for ChatSink {
    fn deliver(&self, key: &str, payload: &Value) -> Result<Delivered, ConnectorError> {
        let (Some(text), Some(thread)) = (
            payload["text"].as_str(),
            payload["chat"]["thread_id"].as_str(),
        ) else {
            return Err(ConnectorError::Final(
                "the reply has no text or no thread".into(),
            ));
        };
        let id = format!(
            "reply:{}",
            &hex::encode(Sha256::digest(key.as_bytes()))[..32]
        );
        let message = Message::from_json(json!({
            "id": id,
            "channel": "chat",
            "account": self.account,
            "direction": Direction::Outbound.as_str(),
            "created_at": format_time(OffsetDateTime::now_utc()),
            "text": text,
            "thread_id": thread,
            "in_reply_to": payload["in_reply_to"]["id"],
            "author": {"id": "agent", "name": self.config.agent_name},
        }))
        .map_err(|e| ConnectorError::Final(e.to_string()))?;
        Ok(Delivered {
            receipt: "delivered to the chat".into(),
            posted: Some(message),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_are_checked_and_origins_allowed_by_list() {
        let secret = b"site-secret";
        let good = crate::webhook::sign(secret, b"kim-42");
        assert!(verify_identity(secret, "kim-42", &good));
        assert!(!verify_identity(secret, "kim-43", &good));
        assert!(!verify_identity(secret, "kim-42", "zz"));
        assert!(!verify_identity(b"other", "kim-42", &good));

        let c = ChatConfig::from_json(&json!({"allowed_origins": ["https://shop.example.com/"]}))
            .unwrap();
        assert!(c.allows(Some("https://shop.example.com")));
        assert!(!c.allows(Some("https://evil.example")));
        assert!(!c.allows(None));
        let any = ChatConfig::from_json(&json!({"allowed_origins": ["*"]})).unwrap();
        assert!(any.allows(None));
        for bad in [
            json!({}),
            json!({"allowed_origins": []}),
            json!({"allowed_origins": ["shop.example"]}),
        ] {
            assert!(ChatConfig::from_json(&bad).is_err(), "{bad}");
        }
        assert!(valid_visitor("0123456789abcdef"));
        assert!(!valid_visitor("short"));
        assert!(!valid_visitor("0123456789abcdef<script>"));
    }

    #[test]
    fn visitors_and_identified_users_and_replies_become_messages() {
        let at = OffsetDateTime::now_utc();
        let anon = visitor_message("site", "0123456789abcdef", "c1", "Hi", None, at).unwrap();
        assert_eq!(anon.id, "0123456789abcdef:c1");
        assert_eq!(anon.thread_id.as_deref(), Some("chat:0123456789abcdef"));
        assert_eq!(anon.author.id.as_deref(), Some("visitor:0123456789abcdef"));
        let who = Identity {
            user_id: "kim-42".into(),
            email: Some("kim@example.com".into()),
            name: None,
        };
        let known =
            visitor_message("site", "0123456789abcdef", "c2", "Hi", Some(&who), at).unwrap();
        assert_eq!(known.author.id.as_deref(), Some("user:kim-42"));
        assert_eq!(known.author.verified, Some(true));
        assert!(visitor_message("site", "0123456789abcdef", "c3", "  ", None, at).is_err());

        let payload = reply_payload(&anon, "Hello!").unwrap();
        let config =
            ChatConfig::from_json(&json!({"allowed_origins": ["*"], "agent_name": "Acme"}))
                .unwrap();
        let delivered = ChatSink::new(config, "site")
            .deliver("reply:k1", &payload)
            .unwrap();
        let posted = delivered.posted.unwrap();
        assert_eq!(posted.direction, Direction::Outbound);
        assert_eq!(posted.thread_id.as_deref(), Some("chat:0123456789abcdef"));
        assert_eq!(posted.author.name.as_deref(), Some("Acme"));
        let again = ChatSink::new(
            ChatConfig::from_json(&json!({"allowed_origins": ["*"]})).unwrap(),
            "site",
        )
        .deliver("reply:k1", &payload)
        .unwrap();
        assert_eq!(
            again.posted.unwrap().id,
            posted.id,
            "a retried delivery is the same message"
        );
    }
}
