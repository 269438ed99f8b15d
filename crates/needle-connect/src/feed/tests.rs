use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use super::*;
use crate::outbound::{OutboundPolicy, parse_networks};

fn at(s: &str) -> OffsetDateTime {
    needle_core::message::parse_time(s).unwrap()
}

const FETCHED: &str = "2026-12-06T12:00:00Z";

fn read(document: &str) -> Vec<Message> {
    parse(document.as_bytes(), "blog", at(FETCHED)).unwrap()
}

#[test]
fn rss_2_entries_become_messages_oldest_first_with_html_stripped() {
    let messages = read(
        r#"<?xml version="1.0"?>
<rss version="2.0"><channel><title>Acme &amp; Friends</title><link>https://blog.acme.example/</link>
  <item><title>Second</title><guid>urn:acme:2</guid><link>https://blog.acme.example/2</link>
    <pubDate>Tue, 03 Mar 2026 10:00:00 GMT</pubDate>
    <description>&lt;p&gt;Our &lt;b&gt;new&lt;/b&gt; kettle &amp;amp; more&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;</description>
    <category>launch</category></item>
  <item><title>First</title><link>https://blog.acme.example/1</link>
    <pubDate>Mon, 02 Mar 2026 09:00:00 +0100</pubDate><description>Plain words</description>
    <author>kim@acme.example (Kim Doe)</author></item>
</channel></rss>"#,
    );
    assert_eq!(messages.len(), 2);
    let (first, second) = (&messages[0], &messages[1]);
    assert_eq!(first.id, "https://blog.acme.example/1", "no guid: the link");
    assert_eq!(second.id, "urn:acme:2", "the guid");
    assert_eq!(first.created_at, at("2026-03-02T08:00:00Z"));
    assert_eq!(first.channel, "rss");
    assert_eq!(first.account.as_deref(), Some("blog"));
    assert_eq!(first.title.as_deref(), Some("First"));
    assert_eq!(second.text, "Our new kettle & more");
    assert!(!second.text.contains("alert"), "scripts are dropped");
    assert_eq!(second.url.as_deref(), Some("https://blog.acme.example/2"));
    assert_eq!(second.author.handle.as_deref(), Some("Acme & Friends"));
    assert_eq!(second.extra["categories"], json!(["launch"]));
}

#[test]
fn atom_and_rss_1_and_0_91_are_read() {
    let atom = read(
        r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Example</title><id>urn:feed</id>
  <updated>2026-03-02T10:00:00Z</updated>
  <entry><title type="html">Kettle &lt;em&gt;leaks&lt;/em&gt;</title><id>urn:uuid:1</id>
    <link rel="alternate" href="https://e.example/1"/><link rel="edit" href="https://e.example/edit/1"/>
    <updated>2026-03-02T10:00:00Z</updated>
    <author><name>Kim</name><email>kim@e.example</email></author>
    <content type="html">&lt;p&gt;It leaks &amp;amp; hisses.&lt;/p&gt;</content></entry>
</feed>"#,
    );
    assert_eq!(atom.len(), 1);
    assert_eq!(atom[0].id, "urn:uuid:1");
    assert_eq!(atom[0].title.as_deref(), Some("Kettle leaks"));
    assert_eq!(atom[0].text, "It leaks & hisses.");
    assert_eq!(atom[0].url.as_deref(), Some("https://e.example/1"));
    assert_eq!(atom[0].author.handle.as_deref(), Some("Kim"));
    assert_eq!(atom[0].author.email.as_deref(), Some("kim@e.example"));

    let rdf = read(
        r#"<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://r.example/"><title>R</title><link>https://r.example/</link></channel>
  <item rdf:about="https://r.example/a"><title>A</title><link>https://r.example/a</link>
    <description>Alpha</description><dc:date>2026-03-01T00:00:00Z</dc:date></item>
</rdf:RDF>"#,
    );
    assert_eq!(rdf.len(), 1);
    assert_eq!(
        (rdf[0].id.as_str(), rdf[0].text.as_str()),
        ("https://r.example/a", "Alpha")
    );
    assert_eq!(rdf[0].created_at, at("2026-03-01T00:00:00Z"));

    let old = read(
        r#"<?xml version="1.0"?>
<rss version="0.91"><channel><title>Old</title><link>https://o.example/</link>
  <item><title>Undated</title><link>https://o.example/u</link><description>No date here</description></item>
</channel></rss>"#,
    );
    assert_eq!(old.len(), 1);
    assert_eq!(
        old[0].created_at,
        at(FETCHED),
        "an undated entry is dated when it was read"
    );
}

#[test]
fn entries_without_guid_or_link_get_a_stable_id_and_empty_ones_are_skipped() {
    let doc = r#"<rss version="2.0"><channel><title>T</title>
  <item><description>Only words</description></item>
  <item><description>   </description></item>
</channel></rss>"#;
    let once = read(doc);
    let twice = read(doc);
    assert_eq!(once.len(), 1, "the empty entry is skipped");
    assert!(once[0].id.starts_with("sha256:"));
    assert_eq!(once[0].id, twice[0].id, "the same entry gets the same id");
}

#[test]
fn malformed_documents_are_errors_that_say_so() {
    for bad in [
        "",
        "not xml at all",
        "<html><body>a web page</body></html>",
        "<rss version=\"2.0\"><channel><item><title>cut off",
    ] {
        let e = parse(bad.as_bytes(), "blog", at(FETCHED)).unwrap_err();
        assert!(
            e.to_string().starts_with("not a readable RSS or Atom feed"),
            "{bad:?}: {e}"
        );
    }
    // Invalid UTF-8 inside a declared UTF-8 document: an error or a readable entry, never
    // a panic.
    let mut bytes = b"<rss version=\"2.0\"><channel><item><title>a".to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe]);
    bytes.extend_from_slice(b"</title><link>https://x.example/</link></item></channel></rss>");
    let _ = parse(&bytes, "blog", at(FETCHED));
}

/// One scripted answer: status, headers, body.
type Reply = (u16, Vec<(&'static str, &'static str)>, &'static str);

/// A feed server on loopback that answers from a script of (status, headers, body) and
/// records the request headers it saw.
fn feed_server(script: Vec<Reply>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/feed.xml", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for ((status, headers, body), stream) in script.into_iter().zip(listener.incoming()) {
            let mut stream = stream.unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = stream.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&buf[..n]);
            }
            log.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&request).to_lowercase());
            let mut reply = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                reply.push_str(&format!("{name}: {value}\r\n"));
            }
            reply.push_str("\r\n");
            reply.push_str(body);
            stream.write_all(reply.as_bytes()).unwrap();
        }
    });
    (url, seen)
}

const ONE_ITEM: &str = r#"<rss version="2.0"><channel><title>T</title>
  <item><guid>g1</guid><title>Hello</title><description>Hi there</description></item></channel></rss>"#;

#[test]
fn polling_uses_conditional_get_and_reports_retry_after() {
    let (url, seen) = feed_server(vec![
        (
            200,
            vec![
                ("ETag", "\"v1\""),
                ("Last-Modified", "Mon, 02 Mar 2026 09:00:00 GMT"),
            ],
            ONE_ITEM,
        ),
        (304, vec![], ""),
        (429, vec![("Retry-After", "120")], ""),
        (404, vec![], "gone"),
    ]);
    let client = Outbound::new(OutboundPolicy {
        allow: parse_networks("127.0.0.1").unwrap(),
        ..OutboundPolicy::default()
    });
    let config = FeedConfig {
        url: url.clone(),
        interval: Duration::from_secs(60),
    };
    let mut source = FeedSource::new(config, "blog", client);

    let first = source.pull(None).unwrap();
    assert_eq!(first.messages.len(), 1);
    assert_eq!(first.messages[0].id, "g1");
    let second = source.pull(Some(&first.checkpoint)).unwrap();
    assert!(second.messages.is_empty(), "304: nothing new");
    assert_eq!(
        second.checkpoint, first.checkpoint,
        "the validators are kept"
    );
    let requests = seen.lock().unwrap().clone();
    assert!(!requests[0].contains("if-none-match"));
    assert!(
        requests[1].contains("if-none-match: \"v1\""),
        "{}",
        requests[1]
    );
    assert!(requests[1].contains("if-modified-since: mon, 02 mar 2026 09:00:00 gmt"));

    assert_eq!(
        source.pull(Some(&first.checkpoint)).unwrap_err(),
        SourceError::Retryable {
            reason: format!("{url} answered 429"),
            after: Some(Duration::from_secs(120)),
        }
    );
    assert!(
        matches!(source.pull(None).unwrap_err(), SourceError::Final(r) if r == format!("{url} answered 404: gone"))
    );
}

#[test]
fn a_feed_on_a_private_address_is_refused_unless_allowed() {
    let mut source = FeedSource::new(
        FeedConfig {
            url: "http://127.0.0.1:9/feed".into(),
            interval: DEFAULT_INTERVAL,
        },
        "blog",
        Outbound::new(OutboundPolicy::default()),
    );
    let e = source.pull(None).unwrap_err();
    assert!(
        matches!(&e, SourceError::Final(r) if r.contains("non-public")),
        "{e:?}"
    );
}
