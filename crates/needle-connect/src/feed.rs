//! RSS and Atom: blogs, news, podcasts, and the feeds Reddit and YouTube publish.
//!
//! Each pull is a conditional GET (`If-None-Match` with the last ETag, `If-Modified-Since`
//! with the last `Last-Modified`), so an unchanged feed costs the remote a 304. Every entry
//! of RSS 0.9x, 1.0 (RDF) and 2.0 and of Atom becomes a message on the `rss` channel, its
//! HTML turned into text; its id is the entry's guid (Atom `id`), else its link, so reading
//! the same entry again is a duplicate the store ignores.

use std::time::Duration;

use feed_rs::model::{Entry, Text};
use needle_core::message::format_time;
use needle_core::normalize::{html_to_text, looks_like_html};
use needle_core::{Invalid, Message};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::outbound::Outbound;
use crate::source::{Pulled, Source, SourceError};

/// Settings of a feed connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedConfig {
    pub url: String,
    pub interval: Duration,
}

/// How often a feed is read unless its settings say otherwise.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(300);

/// What a feed is remembered by between pulls: the validators of its last answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl Validators {
    fn decode(checkpoint: Option<&str>) -> Validators {
        let Some(value) = checkpoint.and_then(|c| serde_json::from_str::<Value>(c).ok()) else {
            return Validators::default();
        };
        let field = |name| value.get(name).and_then(Value::as_str).map(str::to_string);
        Validators {
            etag: field("etag"),
            last_modified: field("last_modified"),
        }
    }

    fn encode(&self) -> String {
        json!({"etag": self.etag, "last_modified": self.last_modified}).to_string()
    }
}

/// A feed being polled.
pub struct FeedSource {
    config: FeedConfig,
    /// The connection's name: the messages' `account`.
    account: String,
    client: Outbound,
}

impl FeedSource {
    pub fn new(config: FeedConfig, account: &str, client: Outbound) -> FeedSource {
        FeedSource {
            config,
            account: account.to_string(),
            client,
        }
    }
}

impl Source for FeedSource {
    fn pull(&mut self, checkpoint: Option<&str>) -> Result<Pulled, SourceError> {
        let before = Validators::decode(checkpoint);
        let mut headers = vec![(
            "Accept",
            "application/rss+xml, application/atom+xml, application/rdf+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5",
        )];
        if let Some(etag) = &before.etag {
            headers.push(("If-None-Match", etag));
        }
        if let Some(since) = &before.last_modified {
            headers.push(("If-Modified-Since", since));
        }
        let answer = self
            .client
            .get(&self.config.url, &headers)
            .map_err(|e| SourceError::from(e).context(&self.config.url))?;
        if answer.status == 304 {
            return Ok(Pulled {
                messages: Vec::new(),
                checkpoint: before.encode(),
            });
        }
        let answer = answer.success(&self.config.url)?;
        let after = Validators {
            etag: answer.header("etag").map(str::to_string),
            last_modified: answer.header("last-modified").map(str::to_string),
        };
        let messages = parse(&answer.body, &self.account, OffsetDateTime::now_utc())
            .map_err(|e| SourceError::retryable(format!("{}: {e}", self.config.url)))?;
        Ok(Pulled {
            messages,
            checkpoint: after.encode(),
        })
    }

    fn interval(&self) -> Duration {
        self.config.interval
    }
}

/// Why a document is not a feed Needle can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a readable RSS or Atom feed: {0}")]
pub struct NotAFeed(pub String);

/// Reads a feed document into messages for `account`. An entry that cannot be a message
/// (no text, no title) is skipped with a log line; the rest go on. `fetched` dates entries
/// that carry no date of their own.
pub fn parse(
    document: &[u8],
    account: &str,
    fetched: OffsetDateTime,
) -> Result<Vec<Message>, NotAFeed> {
    let parser = feed_rs::parser::Builder::new()
        .id_generator(|links, _title, _base| {
            links.first().map(|l| l.href.clone()).unwrap_or_default()
        })
        .build();
    let feed = parser
        .parse(document)
        .map_err(|e| NotAFeed(e.to_string()))?;
    let feed_title = feed.title.as_ref().map(plain);
    let feed_link = feed.links.first().map(|l| l.href.clone());
    let mut messages = Vec::with_capacity(feed.entries.len());
    for entry in &feed.entries {
        match message_of(
            entry,
            account,
            feed_title.as_deref(),
            feed_link.as_deref(),
            fetched,
        ) {
            Ok(message) => messages.push(message),
            Err(invalid) => tracing::debug!(
                entry = %entry.id,
                reason = %invalid.reason,
                "feed entry skipped"
            ),
        }
    }
    // Feeds list newest first; the store and the timeline read better oldest first.
    messages.sort_by_key(|m| m.created_at);
    Ok(messages)
}

/// Text as a reader sees it: HTML (or text that looks like it) turned into plain text.
fn plain(text: &Text) -> String {
    let html = text.content_type.subty() == "html" || looks_like_html(&text.content);
    let out = if html {
        html_to_text(&text.content)
    } else {
        text.content.clone()
    };
    out.trim().to_string()
}

fn message_of(
    entry: &Entry,
    account: &str,
    feed_title: Option<&str>,
    feed_link: Option<&str>,
    fetched: OffsetDateTime,
) -> Result<Message, Invalid> {
    let title = entry.title.as_ref().map(plain).filter(|t| !t.is_empty());
    let body = entry
        .content
        .as_ref()
        .and_then(|c| c.body.as_deref())
        .map(|b| html_to_text(b).trim().to_string())
        .filter(|b| !b.is_empty())
        .or_else(|| entry.summary.as_ref().map(plain));
    let text = body.unwrap_or_default();
    let link = entry
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .or(entry.links.first())
        .map(|l| l.href.clone());
    let id = if entry.id.is_empty() {
        // Neither a guid nor a link: the content is all that identifies the entry.
        let mut hash = Sha256::new();
        hash.update(title.as_deref().unwrap_or_default());
        hash.update([0]);
        hash.update(&text);
        format!("sha256:{}", hex::encode(hash.finalize()))
    } else {
        entry.id.clone()
    };
    let created = entry
        .published
        .or(entry.updated)
        .and_then(|t| {
            OffsetDateTime::from_unix_timestamp_nanos(t.timestamp_micros() as i128 * 1000).ok()
        })
        .unwrap_or(fetched);
    let person = entry.authors.first();
    let source_host = feed_link
        .and_then(|l| l.parse::<ureq::http::Uri>().ok())
        .and_then(|u| u.host().map(str::to_string));
    let handle = person
        .and_then(|p| p.name.clone())
        .filter(|n| !n.trim().is_empty())
        .or_else(|| feed_title.map(str::to_string).filter(|t| !t.is_empty()))
        .or(source_host)
        .unwrap_or_else(|| account.to_string());
    let mut author = Map::new();
    author.insert("handle".into(), json!(handle));
    if let Some(name) = person.and_then(|p| p.name.clone()) {
        author.insert("name".into(), json!(name));
    }
    if let Some(email) = person
        .and_then(|p| p.email.clone())
        .filter(|e| e.contains('@'))
    {
        author.insert("email".into(), json!(email));
    }
    let mut extra = Map::new();
    if let Some(feed_title) = feed_title {
        extra.insert("feed_title".into(), json!(feed_title));
    }
    let categories: Vec<&str> = entry.categories.iter().map(|c| c.term.as_str()).collect();
    if !categories.is_empty() {
        extra.insert("categories".into(), json!(categories));
    }
    let mut value = json!({
        "id": id,
        "channel": "rss",
        "account": account,
        "created_at": format_time(created),
        "text": text,
        "author": author,
    });
    if let Some(title) = title {
        value["title"] = json!(title);
    }
    if let Some(link) = link {
        value["url"] = json!(link);
    }
    if !extra.is_empty() {
        value["extra"] = Value::Object(extra);
    }
    Message::from_json(value)
}

#[cfg(test)]
mod tests;
