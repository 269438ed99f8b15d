//! A stored message as the NQL matcher sees it: its text, title and fields.

use needle_core::{Classification, Message};
use needle_nql::{Document, Fields};
use needle_store::StoredMessage;

/// The host of a URL (`https://www.reddit.com/r/x` → `www.reddit.com`), for `site:`.
fn host(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host = rest.split(['/', '?', '#']).next()?;
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = host.split(':').next()?;
    (!host.is_empty()).then_some(host)
}

/// Prepares a message once for any number of queries.
pub fn document_of(message: &Message) -> Document<'_> {
    document_classified(message, None)
}

/// A stored message, with its classification's sentiment for `sentiment:` filters.
pub fn document_of_stored(stored: &StoredMessage) -> Document<'_> {
    document_classified(&stored.message, stored.classification.as_ref())
}

/// A message with what the classifier said about it.
pub fn document_classified<'m>(
    message: &'m Message,
    classification: Option<&Classification>,
) -> Document<'m> {
    let fields = Fields {
        author: message.author.handle.as_deref(),
        language: message.lang.as_deref(),
        channel: Some(message.channel.as_str()),
        url: message.url.as_deref(),
        site: message.url.as_deref().and_then(host),
        country: message.author.country.as_deref(),
        author_country: message.author.country.as_deref(),
        author_followers: message.author.followers,
        author_verified: message.author.verified,
        rating: message.rating,
        engagement_type: message.engagement_type.map(|e| e.as_str()),
        sentiment: classification.map(|c| c.sentiment.label.as_str()),
        subreddit: message.subreddit.as_deref(),
    };
    Document::new(&message.text, message.title.as_deref(), fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_come_from_urls() {
        assert_eq!(
            host("https://www.reddit.com/r/acme?x=1"),
            Some("www.reddit.com")
        );
        assert_eq!(
            host("http://user@news.example.com:8080/a"),
            Some("news.example.com")
        );
        assert_eq!(host("reddit.com/r/x"), Some("reddit.com"));
        assert_eq!(host("https:///nothing"), None);
    }
}
