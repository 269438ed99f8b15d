//! A connection's kind and settings, checked: what the API validates before storing a
//! connection and what the runner builds its source from.

use std::time::Duration;

use serde_json::Value;

use crate::chat::ChatConfig;
use crate::email::EmailConfig;
use crate::feed::{DEFAULT_INTERVAL, FeedConfig};
use crate::mastodon::MastodonConfig;
use crate::outgoing::OutgoingConfig;
use crate::webhook::WebhookConfig;

/// The kinds of connection this build knows.
pub const KINDS: &[&str] = &["rss", "chat", "email", "mastodon", "webhook", "webhook_out"];

/// Checks a connection's name: 1 to 64 lower-case letters, digits, `_` or `-`, so that it can
/// stand in a URL path, a metric label and a file name as it is.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "a connection name is 1 to 64 lower-case letters, digits, `_` or `-`; got {name:?}"
        ))
    }
}

/// Shortest and longest time between two reads of one feed.
const INTERVAL_RANGE: (u64, u64) = (1, 7 * 24 * 3600);

/// A connection's settings, read and checked.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectorConfig {
    /// A feed, polled.
    Feed(FeedConfig),
    /// An endpoint senders POST to.
    Webhook(WebhookConfig),
    /// A receiver Needle POSTs events to.
    WebhookOut(OutgoingConfig),
    /// A Mastodon account: read (mentions, hashtags) and answered.
    Mastodon(MastodonConfig),
    /// A mailbox: read by IMAP, answered by SMTP.
    Email(EmailConfig),
    /// Live chat on a website.
    Chat(ChatConfig),
}

impl ConnectorConfig {
    /// Reads the settings of a connection of `kind`; `has_secret` says whether a secret is
    /// stored with it (webhooks need one). Errors say which setting and why.
    pub fn parse(kind: &str, config: &Value, has_secret: bool) -> Result<ConnectorConfig, String> {
        match kind {
            "rss" => feed_config(config).map(ConnectorConfig::Feed),
            "webhook" => {
                if !has_secret {
                    return Err(
                        "a webhook connection needs a `secret`: senders sign each body with it"
                            .into(),
                    );
                }
                WebhookConfig::from_json(config).map(ConnectorConfig::Webhook)
            }
            "chat" => {
                if !has_secret {
                    return Err(
                        "a chat needs a `secret`: sites sign their users' ids with it".into(),
                    );
                }
                ChatConfig::from_json(config).map(ConnectorConfig::Chat)
            }
            "email" => {
                if !has_secret {
                    return Err(
                        "an email connection needs the mailbox's password as `secret`".into(),
                    );
                }
                EmailConfig::from_json(config).map(ConnectorConfig::Email)
            }
            "mastodon" => {
                if !has_secret {
                    return Err(
                        "a Mastodon connection needs the account's access token as `secret`".into(),
                    );
                }
                MastodonConfig::from_json(config).map(ConnectorConfig::Mastodon)
            }
            "webhook_out" => {
                if !has_secret {
                    return Err(
                        "an outbound webhook needs a `secret`: Needle signs each body with it"
                            .into(),
                    );
                }
                OutgoingConfig::from_json(config).map(ConnectorConfig::WebhookOut)
            }
            other => Err(format!(
                "unknown connection kind {other:?}; this build knows {}",
                KINDS.join(", ")
            )),
        }
    }
}

/// Checks a `url` setting: http or https, a host, no credentials (they would show in the
/// settings, which are not secret).
pub(crate) fn web_url(url: &str) -> Result<String, String> {
    let url = url.trim();
    let wrong = || format!("`url` must be an http:// or https:// address, got {url:?}");
    let uri: ureq::http::Uri = url.parse().map_err(|_| wrong())?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none_or(str::is_empty) {
        return Err(wrong());
    }
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err("`url` must not hold a user name or password".into());
    }
    Ok(url.to_string())
}

/// Reads `poll_seconds`: how long to wait between two reads of a source.
pub(crate) fn interval(
    object: &serde_json::Map<String, Value>,
    default: Duration,
) -> Result<Duration, String> {
    match object.get("poll_seconds") {
        None | Some(Value::Null) => Ok(default),
        Some(value) => value
            .as_u64()
            .filter(|s| (INTERVAL_RANGE.0..=INTERVAL_RANGE.1).contains(s))
            .map(Duration::from_secs)
            .ok_or_else(|| {
                format!(
                    "`poll_seconds` must be a whole number from {} to {}",
                    INTERVAL_RANGE.0, INTERVAL_RANGE.1
                )
            }),
    }
}

fn feed_config(config: &Value) -> Result<FeedConfig, String> {
    let object = config
        .as_object()
        .ok_or("feed settings must be a JSON object")?;
    let url = match object.get("url") {
        Some(Value::String(url)) => web_url(url)?,
        _ => return Err("`url` must be the feed's http:// or https:// address".into()),
    };
    let interval = interval(object, DEFAULT_INTERVAL)?;
    Ok(FeedConfig { url, interval })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn feeds_need_a_web_address_and_a_sane_interval() {
        let ok = ConnectorConfig::parse(
            "rss",
            &json!({"url": "https://a.example/feed", "poll_seconds": 60}),
            false,
        )
        .unwrap();
        assert_eq!(
            ok,
            ConnectorConfig::Feed(FeedConfig {
                url: "https://a.example/feed".into(),
                interval: Duration::from_secs(60)
            })
        );
        for (config, expect) in [
            (json!({}), "`url`"),
            (json!({"url": "ftp://a.example/"}), "http://"),
            (json!({"url": "https://kim:pw@a.example/"}), "password"),
            (
                json!({"url": "https://a.example/", "poll_seconds": 0}),
                "poll_seconds",
            ),
            (
                json!({"url": "https://a.example/", "poll_seconds": "60"}),
                "poll_seconds",
            ),
        ] {
            let e = ConnectorConfig::parse("rss", &config, false).unwrap_err();
            assert!(e.contains(expect), "{config}: {e}");
        }
        let e = ConnectorConfig::parse("carrier-pigeon", &json!({}), false).unwrap_err();
        assert!(
            e.contains("rss, chat, email, mastodon, webhook, webhook_out"),
            "{e}"
        );
    }

    #[test]
    fn webhooks_need_a_secret() {
        let config = json!({"fields": {"text": "/t", "author.id": "/u"}});
        let e = ConnectorConfig::parse("webhook", &config, false).unwrap_err();
        assert!(e.contains("secret"), "{e}");
        assert!(ConnectorConfig::parse("webhook", &config, true).is_ok());
        let out = json!({"url": "https://crm.example/hooks"});
        assert!(ConnectorConfig::parse("webhook_out", &out, false).is_err());
        let Ok(ConnectorConfig::WebhookOut(parsed)) =
            ConnectorConfig::parse("webhook_out", &out, true)
        else {
            panic!("an outbound webhook with a secret is fine");
        };
        assert!(parsed.wants("message.received"), "all events by default");
        for (config, expect) in [
            (
                json!({"url": "https://a.example/", "events": ["case.exploded"]}),
                "not one of",
            ),
            (json!({"url": "https://a.example/", "events": []}), "empty"),
            (json!({"url": "gopher://a.example/"}), "http://"),
        ] {
            let e = ConnectorConfig::parse("webhook_out", &config, true).unwrap_err();
            assert!(e.contains(expect), "{config}: {e}");
        }
    }
}
