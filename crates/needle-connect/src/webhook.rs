//! Inbound webhooks: any system that can POST JSON can send messages, through an endpoint per
//! connection that checks the body's HMAC signature and maps its fields to a message.
//!
//! The signature is HMAC-SHA256 of the raw body with the connection's secret, in hex, in the
//! `X-Needle-Signature` header (or the one configured), with or without a `sha256=` prefix:
//! the scheme GitHub, Shopify-style senders and most webhook libraries produce.
//!
//! The mapping names, for each message field, a JSON Pointer (RFC 6901) into one item of the
//! body. A body is one item, an array of items, or holds its array under `items` (a pointer).
//! The whole body is taken or refused: if one item cannot be mapped, nothing is stored and the
//! answer lists every item's problem, so a sender fixes and resends one delivery.

use hmac::{Hmac, KeyInit, Mac};
use needle_core::message::format_time;
use needle_core::{Invalid, Message};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// The header read for the signature unless the connection names another.
pub const SIGNATURE_HEADER: &str = "x-needle-signature";

/// The message fields a mapping may fill, dotted for the author's.
pub const FIELDS: &[&str] = &[
    "id",
    "text",
    "title",
    "created_at",
    "url",
    "lang",
    "thread_id",
    "in_reply_to",
    "direction",
    "rating",
    "author.id",
    "author.handle",
    "author.name",
    "author.email",
    "author.phone",
    "author.country",
];

/// Settings of a webhook connection.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookConfig {
    /// The messages' channel (`webhook` unless set: a form, a shop, a CRM).
    pub channel: String,
    /// Where the array of items is, when the body is an object holding one.
    pub items: Option<String>,
    /// Message field → JSON Pointer into an item.
    pub fields: Vec<(String, String)>,
    /// Lower case.
    pub signature_header: String,
}

impl WebhookConfig {
    /// Reads `{"channel", "items", "fields": {"text": "/body", …}, "signature_header"}`.
    pub fn from_json(config: &Value) -> Result<WebhookConfig, String> {
        let object = config
            .as_object()
            .ok_or("webhook settings must be a JSON object")?;
        let text = |name: &str| -> Result<Option<String>, String> {
            match object.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(format!("`{name}` must be a string")),
            }
        };
        let channel = text("channel")?.unwrap_or_else(|| "webhook".into());
        if channel.is_empty()
            || !channel
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        {
            return Err(format!(
                "`channel` must be a lower-case word such as webhook or shop, got {channel:?}"
            ));
        }
        let items = text("items")?;
        if let Some(items) = &items {
            check_pointer("items", items)?;
        }
        let Some(Value::Object(mapping)) = object.get("fields") else {
            return Err(
                "`fields` must map message fields to JSON Pointers, such as {\"text\": \"/body\"}"
                    .into(),
            );
        };
        let mut fields = Vec::new();
        for (field, pointer) in mapping {
            if !FIELDS.contains(&field.as_str()) {
                return Err(format!(
                    "`fields` names {field:?}, which is not a message field; use one of {}",
                    FIELDS.join(", ")
                ));
            }
            let Value::String(pointer) = pointer else {
                return Err(format!("`fields.{field}` must be a JSON Pointer string"));
            };
            check_pointer(&format!("fields.{field}"), pointer)?;
            fields.push((field.clone(), pointer.clone()));
        }
        if !fields.iter().any(|(f, _)| f == "text" || f == "title") {
            return Err("`fields` must map `text` (or `title`): a message needs words".into());
        }
        if !fields.iter().any(|(f, _)| f.starts_with("author.")) {
            return Err(
                "`fields` must map one of author.id, author.handle, author.email, author.phone"
                    .into(),
            );
        }
        let signature_header = text("signature_header")?
            .unwrap_or_else(|| SIGNATURE_HEADER.into())
            .to_ascii_lowercase();
        Ok(WebhookConfig {
            channel,
            items,
            fields,
            signature_header,
        })
    }
}

fn check_pointer(name: &str, pointer: &str) -> Result<(), String> {
    if pointer.is_empty() || pointer.starts_with('/') {
        Ok(())
    } else {
        Err(format!(
            "`{name}` must be a JSON Pointer starting with / (such as /message/text), got {pointer:?}"
        ))
    }
}

/// Why a signature was not accepted. Never says what the right one would have been.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error(
        "the {0} header is missing: sign the body with HMAC-SHA256 and the connection's secret"
    )]
    Missing(String),
    #[error("the {0} header is not a hex HMAC-SHA256 (sha256=… or bare hex)")]
    Malformed(String),
    #[error("the signature in {0} does not match the body")]
    Mismatch(String),
}

/// HMAC-SHA256 of `body` with `secret`, in lower-case hex: what a sender puts in the header.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Checks `header` (the signature header's value, if sent) against `body`, in constant time.
pub fn verify(
    config: &WebhookConfig,
    secret: &[u8],
    header: Option<&str>,
    body: &[u8],
) -> Result<(), SignatureError> {
    let name = &config.signature_header;
    let value = header.ok_or_else(|| SignatureError::Missing(name.clone()))?;
    let value = value.trim();
    let hex_part = value
        .strip_prefix("sha256=")
        .or_else(|| value.strip_prefix("SHA256="))
        .unwrap_or(value);
    let given = hex::decode(hex_part).map_err(|_| SignatureError::Malformed(name.clone()))?;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("any key length");
    mac.update(body);
    mac.verify_slice(&given)
        .map_err(|_| SignatureError::Mismatch(name.clone()))
}

/// One item's problem, for the 422 answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemError {
    pub index: usize,
    pub field: Option<String>,
    pub message: String,
}

/// Maps a body to messages for the connection `account`, or says what is wrong with each
/// item that cannot be one (and then nothing is taken). `received` dates items without a
/// `created_at`. An item without an id gets one from a hash of its JSON, so a sender's retry
/// of the same item is a duplicate, not a second message.
pub fn map_body(
    config: &WebhookConfig,
    account: &str,
    body: &Value,
    received: OffsetDateTime,
) -> Result<Vec<Message>, Vec<ItemError>> {
    let whole = |message: String| {
        vec![ItemError {
            index: 0,
            field: None,
            message,
        }]
    };
    let items: Vec<&Value> = match &config.items {
        Some(pointer) => match body.pointer(pointer) {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(other) => {
                return Err(whole(format!(
                    "{pointer} must be an array of items, got {}",
                    needle_core::message::type_name(other)
                )));
            }
            None => return Err(whole(format!("the body has nothing at {pointer}"))),
        },
        None => match body {
            Value::Array(items) => items.iter().collect(),
            Value::Object(_) => vec![body],
            other => {
                return Err(whole(format!(
                    "the body must be a JSON object or an array of them, got {}",
                    needle_core::message::type_name(other)
                )));
            }
        },
    };
    if items.is_empty() {
        return Err(whole("the body holds no items".into()));
    }
    let mut messages = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        match map_item(config, account, item, received) {
            Ok(message) => messages.push(message),
            Err(invalid) => errors.push(ItemError {
                index,
                field: invalid.field,
                message: invalid.reason,
            }),
        }
    }
    if errors.is_empty() {
        Ok(messages)
    } else {
        Err(errors)
    }
}

fn map_item(
    config: &WebhookConfig,
    account: &str,
    item: &Value,
    received: OffsetDateTime,
) -> Result<Message, Invalid> {
    if !item.is_object() {
        return Err(Invalid::whole(format!(
            "an item must be a JSON object, got {}",
            needle_core::message::type_name(item)
        )));
    }
    let mut message = Map::new();
    let mut author = Map::new();
    for (field, pointer) in &config.fields {
        let Some(value) = item.pointer(pointer).filter(|v| !v.is_null()) else {
            continue;
        };
        // Numbers are fine as ids and handles: senders often number things.
        let value = match (field.as_str(), value) {
            ("rating", v) => v.clone(),
            (_, Value::Number(n)) => Value::String(n.to_string()),
            (_, v) => v.clone(),
        };
        match field.strip_prefix("author.") {
            Some(author_field) => author.insert(author_field.to_string(), value),
            None => message.insert(field.clone(), value),
        };
    }
    if !message.contains_key("id") {
        let digest = Sha256::digest(item.to_string().as_bytes());
        message.insert(
            "id".into(),
            json!(format!("sha256:{}", hex::encode(digest))),
        );
    }
    message
        .entry("created_at")
        .or_insert_with(|| json!(format_time(received)));
    message.insert("channel".into(), json!(config.channel));
    message.insert("account".into(), json!(account));
    message.insert("author".into(), Value::Object(author));
    Message::from_json(Value::Object(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> WebhookConfig {
        WebhookConfig::from_json(&json!({
            "channel": "shop",
            "items": "/events",
            "fields": {
                "id": "/id",
                "text": "/review/body",
                "title": "/review/title",
                "created_at": "/at",
                "rating": "/review/stars",
                "author.email": "/customer/email",
                "author.name": "/customer/name"
            }
        }))
        .unwrap()
    }

    fn now() -> OffsetDateTime {
        needle_core::message::parse_time("2026-12-06T12:00:00Z").unwrap()
    }

    #[test]
    fn signatures_verify_with_or_without_prefix_and_refuse_everything_else() {
        let c = config();
        let body = br#"{"events":[]}"#;
        let good = sign(b"s3cret", body);
        assert_eq!(good.len(), 64);
        assert_eq!(verify(&c, b"s3cret", Some(&good), body), Ok(()));
        assert_eq!(
            verify(&c, b"s3cret", Some(&format!("sha256={good}")), body),
            Ok(())
        );
        assert!(matches!(
            verify(&c, b"s3cret", None, body),
            Err(SignatureError::Missing(_))
        ));
        assert!(matches!(
            verify(&c, b"s3cret", Some("sha256=zz"), body),
            Err(SignatureError::Malformed(_))
        ));
        assert!(matches!(
            verify(&c, b"other", Some(&good), body),
            Err(SignatureError::Mismatch(_))
        ));
        assert!(matches!(
            verify(&c, b"s3cret", Some(&good), br#"{"events":[1]}"#),
            Err(SignatureError::Mismatch(_))
        ));
        // Known answer (RFC 4231 test case 2).
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn fields_map_from_pointers_and_missing_ids_are_stable() {
        let body = json!({"events": [
            {"id": 17, "at": "2026-03-02T10:00:00Z",
             "review": {"body": "<p>Leaks &amp; hisses</p>", "title": "Bad kettle", "stars": 1},
             "customer": {"email": "kim@example.com", "name": "Kim"}},
            {"review": {"body": "Lovely"}, "customer": {"email": "lee@example.com"}}
        ]});
        let messages = map_body(&config(), "reviews", &body, now()).unwrap();
        assert_eq!(messages.len(), 2);
        let (a, b) = (&messages[0], &messages[1]);
        assert_eq!(a.id, "17");
        assert_eq!(a.channel, "shop");
        assert_eq!(a.account.as_deref(), Some("reviews"));
        assert_eq!(a.title.as_deref(), Some("Bad kettle"));
        assert_eq!(a.rating, Some(1.0));
        assert_eq!(a.author.email.as_deref(), Some("kim@example.com"));
        assert_eq!(a.author.name.as_deref(), Some("Kim"));
        assert_eq!(b.created_at, now(), "no time: when it arrived");
        assert!(b.id.starts_with("sha256:"));
        let again = map_body(&config(), "reviews", &body, now()).unwrap();
        assert_eq!(again[1].id, b.id, "a resent item keeps its id");
    }

    #[test]
    fn one_bad_item_refuses_the_body_and_says_where() {
        let body = json!({"events": [
            {"id": 1, "review": {"body": "fine"}, "customer": {"email": "a@example.com"}},
            {"id": 2, "review": {"body": "no author"}},
            {"id": 3, "at": "yesterday", "review": {"body": "x"}, "customer": {"email": "b@example.com"}},
            "not an object"
        ]});
        let errors = map_body(&config(), "reviews", &body, now()).unwrap_err();
        let at: Vec<usize> = errors.iter().map(|e| e.index).collect();
        assert_eq!(at, [1, 2, 3]);
        assert_eq!(errors[1].field.as_deref(), Some("created_at"));
        for (body, expect) in [
            (json!({"other": []}), "nothing at /events"),
            (json!({"events": {}}), "must be an array"),
            (json!({"events": []}), "no items"),
        ] {
            let errors = map_body(&config(), "reviews", &body, now()).unwrap_err();
            assert!(errors[0].message.contains(expect), "{:?}", errors[0]);
        }
        let bare = WebhookConfig::from_json(&json!({"fields": {"text": "/t", "author.id": "/u"}}))
            .unwrap();
        let errors = map_body(&bare, "x", &json!("text"), now()).unwrap_err();
        assert!(errors[0].message.contains("object or an array"));
    }

    #[test]
    fn settings_are_checked_with_reasons() {
        for (config, expect) in [
            (json!([]), "JSON object"),
            (json!({}), "`fields` must map"),
            (json!({"fields": {"txt": "/t"}}), "not a message field"),
            (
                json!({"fields": {"text": "t", "author.id": "/u"}}),
                "starting with /",
            ),
            (json!({"fields": {"text": "/t"}}), "author"),
            (json!({"fields": {"author.id": "/u"}}), "`text`"),
            (
                json!({"channel": "Shop!", "fields": {"text": "/t", "author.id": "/u"}}),
                "lower-case",
            ),
            (
                json!({"items": 3, "fields": {"text": "/t", "author.id": "/u"}}),
                "`items` must be a string",
            ),
        ] {
            let e = WebhookConfig::from_json(&config).unwrap_err();
            assert!(e.contains(expect), "{config}: {e}");
        }
    }
}
