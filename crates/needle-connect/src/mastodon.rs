//! Mastodon, both ways, through its REST API (docs.joinmastodon.org).
//!
//! In: mentions and direct messages of our account (`GET /api/v1/notifications?types[]=mention`)
//! and hashtag timelines for listening (`GET /api/v1/timelines/tag/:hashtag`), polled with
//! `min_id` so that every status after the checkpoint is read, page by page, following the
//! `Link` header's `prev` (newer) page. A 429 waits until `X-RateLimit-Reset`. The streaming
//! API (`follow_mentions`) wakes the reader when a mention arrives, so it need not wait for
//! the next poll.
//!
//! Out: a reply is a status `in_reply_to_id` the original, with the original's visibility
//! (a direct message is answered directly), starting with a mention of its author so that
//! they are notified, posted with an `Idempotency-Key` so that a retried post is made once.
//!
//! Messages are keyed by the status's `uri`, which is the same on every instance, so a
//! status seen through two connections or two timelines is one message.

use std::time::Duration;

use needle_core::normalize::html_to_text;
use needle_core::{Invalid, Message};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::outbound::{Answer, Outbound};
use crate::sink::{Delivered, Sink, SinkError};
use crate::source::{Pulled, Source, SourceError};

/// Pages read per timeline in one pull: a backlog is caught up over several pulls.
const MAX_PAGES: usize = 10;
/// Statuses asked for per page (the API's maximum for notifications is 80, tags 40).
const PAGE: usize = 40;

/// Settings of a Mastodon connection (the access token is its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MastodonConfig {
    /// `https://mastodon.social`
    pub instance: String,
    /// Read mentions and direct messages of the token's account.
    pub notifications: bool,
    /// Hashtags to listen to, without `#`.
    pub hashtags: Vec<String>,
    /// Follow the streaming API, so that mentions are read at once (polling goes on).
    pub streaming: bool,
    pub interval: Duration,
}

impl MastodonConfig {
    /// Reads `{"instance", "notifications": true, "hashtags": ["acme"], "poll_seconds": 60}`.
    pub fn from_json(config: &Value) -> Result<MastodonConfig, String> {
        let object = config
            .as_object()
            .ok_or("Mastodon settings must be a JSON object")?;
        let instance = match object.get("instance") {
            Some(Value::String(url)) => crate::config::web_url(url)
                .map_err(|e| e.replace("`url`", "`instance`"))?
                .trim_end_matches('/')
                .to_string(),
            _ => {
                return Err(
                    "`instance` must be the server's address, such as https://mastodon.social"
                        .into(),
                );
            }
        };
        let notifications = match object.get("notifications") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err("`notifications` must be true or false".into()),
        };
        let hashtags = match object.get("hashtags") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(tags)) => tags
                .iter()
                .map(|t| {
                    let tag = t.as_str().unwrap_or("").trim_start_matches('#');
                    if !tag.is_empty() && tag.chars().all(|c| c.is_alphanumeric() || c == '_') {
                        Ok(tag.to_string())
                    } else {
                        Err(format!("`hashtags` holds {t}, which is not a hashtag"))
                    }
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err("`hashtags` must be a list such as [\"acme\"]".into()),
        };
        if !notifications && hashtags.is_empty() {
            return Err("read `notifications`, some `hashtags`, or both".into());
        }
        let streaming = match object.get("streaming") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err("`streaming` must be true or false".into()),
        };
        let interval = crate::config::interval(object, Duration::from_secs(60))?;
        Ok(MastodonConfig {
            instance,
            notifications,
            hashtags,
            streaming,
            interval,
        })
    }
}

/// Where each timeline goes on from: the newest id read.
fn decode(checkpoint: Option<&str>) -> Value {
    checkpoint
        .and_then(|c| serde_json::from_str(c).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}))
}

/// A Mastodon account being read.
pub struct MastodonSource {
    config: MastodonConfig,
    token: String,
    account: String,
    client: Outbound,
}

impl MastodonSource {
    pub fn new(config: MastodonConfig, token: &str, account: &str, client: Outbound) -> Self {
        MastodonSource {
            config,
            token: token.to_string(),
            account: account.to_string(),
            client,
        }
    }

    /// Reads one timeline from `after` on (the newest page when `None`, to start from now).
    /// Returns the statuses, oldest first, and the newest id read.
    fn timeline(
        &self,
        path: &str,
        extra: &str,
        after: Option<&str>,
    ) -> Result<(Vec<Value>, Option<String>), SourceError> {
        let mut url = format!("{}{path}?limit={PAGE}{extra}", self.config.instance);
        if let Some(after) = after {
            url.push_str(&format!("&min_id={after}"));
        }
        let mut items = Vec::new();
        let mut newest = after.map(str::to_string);
        for _ in 0..MAX_PAGES {
            let answer = get(&self.client, &url, &self.token)?;
            let page: Vec<Value> = serde_json::from_slice(&answer.body).map_err(|e| {
                SourceError::retryable(format!("{path}: not a list of statuses: {e}"))
            })?;
            let full = page.len() >= PAGE;
            if page.is_empty() {
                break;
            }
            // Pages are newest first; the first item is the newest of this page.
            if let Some(id) = page.first().and_then(|i| i["id"].as_str()) {
                newest = Some(id.to_string());
            }
            items.extend(page.into_iter().rev());
            // The first read starts from now: one page, no history. A page that is not
            // full was the newest.
            let Some(prev) = after.and(link(&answer, "prev")).filter(|_| full) else {
                break;
            };
            url = prev;
        }
        Ok((items, newest))
    }
}

impl Source for MastodonSource {
    fn pull(&mut self, checkpoint: Option<&str>) -> Result<Pulled, SourceError> {
        let mut at = decode(checkpoint);
        let mut messages = Vec::new();
        if self.config.notifications {
            let after = at["notifications"].as_str().map(str::to_string);
            let (items, newest) = self.timeline(
                "/api/v1/notifications",
                "&types%5B%5D=mention",
                after.as_deref(),
            )?;
            for n in items {
                if n["type"] == "mention" {
                    messages.extend(self.message(&n["status"]));
                }
            }
            at["notifications"] = json!(newest);
        }
        for tag in &self.config.hashtags {
            let key = format!("tag:{tag}");
            let after = at[&key].as_str().map(str::to_string);
            let (items, newest) = self.timeline(
                &format!("/api/v1/timelines/tag/{tag}"),
                "",
                after.as_deref(),
            )?;
            messages.extend(items.iter().filter_map(|s| self.message(s)));
            at[&key] = json!(newest);
        }
        Ok(Pulled {
            messages,
            checkpoint: at.to_string(),
        })
    }

    fn interval(&self) -> Duration {
        self.config.interval
    }
}

impl MastodonSource {
    fn message(&self, status: &Value) -> Option<Message> {
        match status_message(status, &self.account, needle_core::Direction::Inbound) {
            Ok(m) => Some(m),
            Err(invalid) => {
                tracing::debug!(reason = %invalid, "Mastodon status skipped");
                None
            }
        }
    }
}

/// A status in the shape of specs/message.md.
pub fn status_message(
    status: &Value,
    account: &str,
    direction: needle_core::Direction,
) -> Result<Message, Invalid> {
    let field = |name: &str| status.get(name).and_then(Value::as_str);
    let uri = field("uri").ok_or_else(|| Invalid::field("uri", "the status has no uri"))?;
    let author = &status["account"];
    let acct = author["acct"].as_str().unwrap_or_default();
    // A local account's acct has no domain: add the instance's so handles are unique.
    let handle = match (acct.contains('@'), author["url"].as_str()) {
        (false, Some(url)) => url
            .parse::<ureq::http::Uri>()
            .ok()
            .and_then(|u| u.host().map(|h| format!("{acct}@{h}")))
            .unwrap_or_else(|| acct.to_string()),
        _ => acct.to_string(),
    };
    let mut text = html_to_text(field("content").unwrap_or_default())
        .trim()
        .to_string();
    if let Some(warning) = field("spoiler_text").filter(|s| !s.is_empty()) {
        text = format!("[{warning}] {text}");
    }
    let mut value = json!({
        "id": uri,
        "channel": "mastodon",
        "account": account,
        "direction": direction.as_str(),
        "created_at": field("created_at").unwrap_or_default(),
        "text": text,
        "url": field("url"),
        "author": {
            "handle": handle,
            "name": author["display_name"].as_str().filter(|n| !n.is_empty()),
            "id": author["url"].as_str(),
            "followers": author["followers_count"].as_u64(),
        },
        "metrics": {
            "reblogs": status["reblogs_count"].as_u64().unwrap_or(0),
            "favourites": status["favourites_count"].as_u64().unwrap_or(0),
            "replies": status["replies_count"].as_u64().unwrap_or(0),
        },
        "extra": {
            "mastodon": {
                "status_id": field("id"),
                "visibility": field("visibility"),
                "in_reply_to_id": field("in_reply_to_id"),
            }
        },
    });
    if field("in_reply_to_id").is_some() {
        value["engagement_type"] = json!("REPLY");
    }
    if let Some(lang) = field("language").filter(|l| l.len() == 2) {
        value["lang"] = json!(lang);
    }
    Message::from_json(value)
}

/// The URL of the `Link` header's `rel` page, if any.
fn link(answer: &Answer, rel: &str) -> Option<String> {
    let header = answer.header("link")?;
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let wanted = params
            .split(';')
            .any(|p| p.trim().trim_start_matches("rel=").trim_matches('"') == rel);
        wanted.then(|| {
            target
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
    })
}

/// How long a 429 says to wait: until `X-RateLimit-Reset` (an ISO 8601 time), else a minute.
fn rate_limited_for(answer: &Answer) -> Duration {
    answer
        .header("x-ratelimit-reset")
        .and_then(needle_core::message::parse_time)
        .map(|reset| (reset - OffsetDateTime::now_utc()).max(time::Duration::SECOND))
        .and_then(|d| Duration::try_from(d).ok())
        .or_else(|| answer.retry_after())
        .unwrap_or(Duration::from_secs(60))
}

fn get(client: &Outbound, url: &str, token: &str) -> Result<Answer, SourceError> {
    let bearer = format!("Bearer {token}");
    let answer = client.get(
        url,
        &[("Authorization", &bearer), ("Accept", "application/json")],
    )?;
    match answer.status {
        429 => Err(SourceError::Retryable {
            reason: "Mastodon answered 429 (rate limited)".into(),
            after: Some(rate_limited_for(&answer)),
        }),
        401 | 403 => Err(SourceError::Final(format!(
            "Mastodon refused the access token ({})",
            answer.status
        ))),
        _ => answer.success("Mastodon"),
    }
}

/// The longest line of the streaming API read (a status with its account is a few KiB).
const MAX_EVENT_LINE: u64 = 1024 * 1024;
/// Mastodon sends a heartbeat (`:thump`) every 15 s; silence for this long is a dead stream.
const STREAM_SILENCE: Duration = Duration::from_secs(60);

/// Follows the streaming API (`GET /api/v1/streaming/user/notification`) of the token's
/// account and calls `nudge` once on connecting and for every mention, so that the caller
/// reads at once instead of at the next poll. The stream is a trigger, not a source: what is
/// read still comes from the polled timelines and their checkpoint, so nothing depends on the
/// stream being complete. Returns when the stream ends or fails, or soon after `stop` is set
/// (at the next event or heartbeat).
pub fn follow_mentions(
    client: &Outbound,
    config: &MastodonConfig,
    token: &str,
    stop: &std::sync::atomic::AtomicBool,
    mut nudge: impl FnMut(),
) -> Result<(), SourceError> {
    use std::io::BufRead;
    use std::sync::atomic::Ordering;

    let url = format!("{}/api/v1/streaming/user/notification", config.instance);
    let bearer = format!("Bearer {token}");
    let (status, mut reader) = client.stream(
        &url,
        &[("Authorization", &bearer), ("Accept", "text/event-stream")],
        STREAM_SILENCE,
    )?;
    if !(200..300).contains(&status) {
        return Err(SourceError::Final(format!(
            "the streaming API answered {status}; polling only"
        )));
    }
    nudge();
    let (mut event, mut data) = (String::new(), String::new());
    let mut line = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        line.clear();
        let read = std::io::Read::take(&mut reader, MAX_EVENT_LINE)
            .read_until(b'\n', &mut line)
            .map_err(|e| SourceError::retryable(format!("the stream broke: {e}")))?;
        if read == 0 {
            return Err(SourceError::retryable("the stream ended"));
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            // The end of an event.
            if event == "notification" {
                let kind = serde_json::from_str::<Value>(&data)
                    .ok()
                    .and_then(|n| n["type"].as_str().map(str::to_string));
                if kind.as_deref() == Some("mention") {
                    nudge();
                }
            }
            event.clear();
            data.clear();
        } else if let Some(name) = text.strip_prefix("event:") {
            event = name.trim().to_string();
        } else if let Some(part) = text.strip_prefix("data:") {
            data.push_str(part.trim_start());
        }
        // Lines starting with ':' are heartbeats; they only keep the read alive.
    }
    Ok(())
}

/// Posts replies as the connection's account.
pub struct MastodonSink {
    config: MastodonConfig,
    token: String,
    account: String,
    client: Outbound,
}

impl MastodonSink {
    pub fn new(config: MastodonConfig, token: &str, account: &str, client: Outbound) -> Self {
        MastodonSink {
            config,
            token: token.to_string(),
            account: account.to_string(),
            client,
        }
    }
}

/// What a reply delivery carries, as the API queues it.
pub fn reply_payload(original: &Message, text: &str) -> Result<Value, String> {
    let mastodon = &original.extra.get("mastodon").cloned().unwrap_or_default();
    let status_id = mastodon["status_id"]
        .as_str()
        .ok_or("the message has no Mastodon status id to reply to")?;
    Ok(json!({
        "kind": "reply",
        "in_reply_to": {"channel": original.channel, "id": original.id},
        "text": text,
        "mastodon": {
            "in_reply_to_id": status_id,
            "visibility": mastodon["visibility"].as_str().unwrap_or("public"),
            "mention": original.author.handle,
        },
    }))
}

impl Sink for MastodonSink {
    fn deliver(&self, key: &str, payload: &Value) -> Result<Delivered, SinkError> {
        let m = &payload["mastodon"];
        let (Some(text), Some(in_reply_to)) =
            (payload["text"].as_str(), m["in_reply_to_id"].as_str())
        else {
            return Err(SinkError::Final(
                "the reply has no text or no status to answer".into(),
            ));
        };
        let mut status = text.to_string();
        if let Some(mention) = m["mention"].as_str() {
            let at = format!("@{mention}");
            if !status.contains(&at) {
                status = format!("{at} {status}");
            }
        }
        let body = json!({
            "status": status,
            "in_reply_to_id": in_reply_to,
            "visibility": m["visibility"].as_str().unwrap_or("public"),
        })
        .to_string();
        let bearer = format!("Bearer {}", self.token);
        let url = format!("{}/api/v1/statuses", self.config.instance);
        let answer = self.client.post(
            &url,
            &[
                ("Authorization", &bearer),
                ("Content-Type", "application/json"),
                ("Idempotency-Key", key),
            ],
            body.as_bytes(),
        )?;
        if answer.status == 429 {
            return Err(SinkError::Retryable {
                reason: "Mastodon answered 429 (rate limited)".into(),
                after: Some(rate_limited_for(&answer)),
            });
        }
        let answer = answer.success("Mastodon")?;
        let posted: Value =
            serde_json::from_slice(&answer.body).map_err(|e| SinkError::Retryable {
                reason: format!("Mastodon's answer is not a status: {e}"),
                after: None,
            })?;
        let message = status_message(&posted, &self.account, needle_core::Direction::Outbound)
            .ok()
            .map(|mut m| {
                m.in_reply_to = payload["in_reply_to"]["id"].as_str().map(str::to_string);
                m
            });
        Ok(Delivered {
            receipt: posted["url"]
                .as_str()
                .or(posted["uri"].as_str())
                .unwrap_or("posted")
                .to_string(),
            posted: message,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status() -> Value {
        json!({
            "id": "109", "uri": "https://other.example/users/kim/statuses/109",
            "url": "https://other.example/@kim/109", "created_at": "2026-03-02T10:00:00.000Z",
            "content": "<p><span class=\"h-card\"><a href=\"https://m.example/@acme\">@<span>acme</span></a></span> my kettle leaks &amp; hisses</p>",
            "visibility": "direct", "spoiler_text": "", "in_reply_to_id": null, "language": "en",
            "reblogs_count": 1, "favourites_count": 2, "replies_count": 0,
            "account": {"id": "7", "username": "kim", "acct": "kim@other.example",
                        "display_name": "Kim Lee", "url": "https://other.example/@kim", "followers_count": 120}
        })
    }

    #[test]
    fn a_status_becomes_a_message_keyed_by_its_uri() {
        let m = status_message(&status(), "acme-masto", needle_core::Direction::Inbound).unwrap();
        assert_eq!(m.id, "https://other.example/users/kim/statuses/109");
        assert_eq!(m.channel, "mastodon");
        assert_eq!(m.text, "@acme my kettle leaks & hisses");
        assert_eq!(m.author.handle.as_deref(), Some("kim@other.example"));
        assert_eq!(m.author.name.as_deref(), Some("Kim Lee"));
        assert_eq!(m.author.followers, Some(120));
        assert_eq!(m.extra["mastodon"]["visibility"], "direct");
        assert_eq!(m.extra["mastodon"]["status_id"], "109");
        let mut local = status();
        local["account"]["acct"] = json!("lee");
        local["account"]["url"] = json!("https://m.example/@lee");
        local["spoiler_text"] = json!("kettles");
        let m = status_message(&local, "acme-masto", needle_core::Direction::Inbound).unwrap();
        assert_eq!(
            m.author.handle.as_deref(),
            Some("lee@m.example"),
            "local accounts get the domain"
        );
        assert!(m.text.starts_with("[kettles] "), "{}", m.text);
        let mut broken = status();
        broken.as_object_mut().unwrap().remove("uri");
        assert!(status_message(&broken, "a", needle_core::Direction::Inbound).is_err());
    }

    #[test]
    fn replies_keep_visibility_and_mention_the_author() {
        let original =
            status_message(&status(), "acme-masto", needle_core::Direction::Inbound).unwrap();
        let payload = reply_payload(&original, "Sorry! DM us your order number.").unwrap();
        assert_eq!(payload["mastodon"]["in_reply_to_id"], "109");
        assert_eq!(payload["mastodon"]["visibility"], "direct");
        assert_eq!(payload["mastodon"]["mention"], "kim@other.example");
        let mut rss = original.clone();
        rss.extra.clear();
        assert!(reply_payload(&rss, "hi").is_err());
    }

    #[test]
    fn settings_are_checked() {
        let ok = MastodonConfig::from_json(
            &json!({"instance": "https://m.example/", "hashtags": ["#acme", "kettles"]}),
        )
        .unwrap();
        assert_eq!(ok.instance, "https://m.example");
        assert_eq!(ok.hashtags, ["acme", "kettles"]);
        assert!(ok.notifications);
        for (config, expect) in [
            (json!({}), "`instance`"),
            (json!({"instance": "ftp://m.example"}), "`instance`"),
            (
                json!({"instance": "https://m.example", "hashtags": ["a b"]}),
                "not a hashtag",
            ),
            (
                json!({"instance": "https://m.example", "notifications": false}),
                "both",
            ),
            (
                json!({"instance": "https://m.example", "streaming": "yes"}),
                "`streaming`",
            ),
        ] {
            let e = MastodonConfig::from_json(&config).unwrap_err();
            assert!(e.contains(expect), "{config}: {e}");
        }
    }
}
