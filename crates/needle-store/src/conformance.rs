//! The behaviour every [`Store`] must show, written once and run against each backend.
//!
//! A backend's tests call `store_conformance_tests!(|| (Box<dyn Store>, guard))`, where
//! the closure opens a fresh, empty store and `guard` keeps whatever it lives in (a temp
//! dir, a database) alive for the length of the test.

use needle_core::{Classification, Entity, Message, Sentiment};
use serde_json::json;

use crate::{Cursor, Inserted, ListFilter, Store};

/// Generates one `#[test]` per check for a backend.
#[macro_export]
macro_rules! store_conformance_tests {
    ($open:expr) => {
        $crate::store_conformance_tests!(@each $open;
            workspaces_are_created_once,
            insert_is_idempotent_per_channel_and_id,
            same_id_on_another_channel_or_workspace_is_another_message,
            duplicates_inside_one_batch_are_stored_once,
            messages_round_trip_exactly,
            list_is_newest_first_with_stable_cursor_pages,
            list_filters_by_channel_and_time,
            scan_walks_in_seq_order,
            get_many_keeps_the_order_asked,
            classifications_round_trip);
    };
    (@each $open:expr; $($check:ident),*) => {
        $(
            #[test]
            fn $check() {
                let (store, _guard) = ($open)();
                $crate::conformance::$check(store.as_ref());
            }
        )*
    };
}

/// A valid message for tests, varied by `id`, `channel` and minute.
pub fn message(id: &str, channel: &str, minute: u32) -> Message {
    Message::from_json(json!({
        "id": id,
        "channel": channel,
        "created_at": format!("2026-03-02T14:{:02}:00Z", minute % 60),
        "text": format!("message {id} about Acme"),
        "author": {"handle": format!("user{}", minute % 7), "followers": minute},
        "metrics": {"likes": minute},
        "custom_field": {"nested": [1, 2, 3]}
    }))
    .expect("test message is valid")
}

pub fn workspaces_are_created_once(store: &dyn Store) {
    let a = store.ensure_workspace("acme", false).unwrap();
    let again = store.ensure_workspace("acme", true).unwrap();
    assert_eq!(
        a, again,
        "ensure_workspace must not create a second workspace"
    );
    store.ensure_workspace("globex", true).unwrap();
    let names: Vec<String> = store
        .workspaces()
        .unwrap()
        .into_iter()
        .map(|w| w.name)
        .collect();
    assert_eq!(names, ["acme", "globex"]);
    assert!(store.workspace("globex").unwrap().unwrap().demo);
    assert!(store.workspace("nobody").unwrap().is_none());
}

pub fn insert_is_idempotent_per_channel_and_id(store: &dyn Store) {
    let ws = store.ensure_workspace("acme", false).unwrap().id;
    let m1 = message("1", "email", 1);
    let m2 = message("2", "email", 2);
    let first = store.insert_batch(ws, &[&m1, &m2]).unwrap();
    assert!(matches!(first[..], [Inserted::New(_), Inserted::New(_)]));
    let mut changed = m1.clone();
    changed.text = "a different text under the same id".into();
    let second = store.insert_batch(ws, &[&changed, &m2]).unwrap();
    assert_eq!(
        second,
        [
            Inserted::Duplicate(first[0].seq()),
            Inserted::Duplicate(first[1].seq())
        ]
    );
    assert_eq!(store.count(Some(ws)).unwrap(), 2);
    let known = store
        .existing(ws, &[("email", "2"), ("email", "3"), ("chat", "1")])
        .unwrap();
    assert_eq!(known, [Some(first[1].seq()), None, None]);
    let stored = store.get(ws, "email", "1").unwrap().unwrap();
    assert_eq!(
        stored.message.text, m1.text,
        "a re-import must change nothing"
    );
}

pub fn same_id_on_another_channel_or_workspace_is_another_message(store: &dyn Store) {
    let acme = store.ensure_workspace("acme", false).unwrap().id;
    let globex = store.ensure_workspace("globex", false).unwrap().id;
    let a = message("1", "email", 1);
    let b = message("1", "chat", 1);
    let out = store.insert_batch(acme, &[&a, &b]).unwrap();
    assert!(out.iter().all(|o| matches!(o, Inserted::New(_))));
    let out = store.insert_batch(globex, &[&a]).unwrap();
    assert!(matches!(out[0], Inserted::New(_)));
    assert_eq!(store.count(None).unwrap(), 3);
    assert_eq!(store.count(Some(acme)).unwrap(), 2);
}

pub fn duplicates_inside_one_batch_are_stored_once(store: &dyn Store) {
    let ws = store.ensure_workspace("acme", false).unwrap().id;
    let m = message("1", "email", 1);
    let out = store.insert_batch(ws, &[&m, &m]).unwrap();
    assert!(matches!(out[0], Inserted::New(_)));
    assert_eq!(out[1], Inserted::Duplicate(out[0].seq()));
    assert_eq!(store.count(Some(ws)).unwrap(), 1);
}

pub fn messages_round_trip_exactly(store: &dyn Store) {
    let ws = store.ensure_workspace("acme", false).unwrap().id;
    let m = Message::from_json(json!({
        "id": "tw-1", "channel": "mastodon", "account": "@acme@mastodon.social",
        "direction": "outbound", "created_at": "2026-03-02T14:05:09.123456Z",
        "text": "Ünïcode ✓ \"quotes\" and\nnew lines 🔥", "title": "T", "lang": "de",
        "url": "https://mastodon.social/@kim/1", "thread_id": "t", "in_reply_to": "t",
        "engagement_type": "QUOTE",
        "author": {"id": "9", "handle": "kim", "name": "Kim", "followers": 5, "verified": true,
                   "email": "kim@example.com", "phone": "+4930123456", "country": "DE",
                   "pronouns": "she"},
        "rating": 4.5, "subreddit": "acme", "metrics": {"likes": 1},
        "extra": {"k": [1, {"a": null}]}, "unknown": true
    }))
    .unwrap();
    let seq = store.insert_batch(ws, &[&m]).unwrap()[0].seq();
    let got = store.get(ws, "mastodon", "tw-1").unwrap().unwrap();
    assert_eq!(got.seq, seq);
    assert_eq!(got.workspace_id, ws);
    assert_eq!(got.message, m);
    assert!(store.get(ws, "mastodon", "tw-2").unwrap().is_none());
}

pub fn list_is_newest_first_with_stable_cursor_pages(store: &dyn Store) {
    let ws = store.ensure_workspace("acme", false).unwrap().id;
    // Several messages share a minute so that the seq tie-break matters.
    let messages: Vec<Message> = (0..25)
        .map(|i| message(&i.to_string(), "email", i / 3))
        .collect();
    let refs: Vec<&Message> = messages.iter().collect();
    store.insert_batch(ws, &refs).unwrap();
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.list(ws, &ListFilter::default(), cursor, 4).unwrap();
        if page.is_empty() {
            break;
        }
        cursor = Some(Cursor::after(page.last().unwrap()));
        seen.extend(page);
    }
    assert_eq!(seen.len(), 25, "every message exactly once across pages");
    for pair in seen.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert!(
            (a.message.created_at, a.seq) > (b.message.created_at, b.seq),
            "newest first, ties by seq"
        );
    }
    let token = Cursor::after(&seen[3]).encode();
    assert_eq!(Cursor::decode(&token), Some(Cursor::after(&seen[3])));
}

pub fn list_filters_by_channel_and_time(store: &dyn Store) {
    let ws = store.ensure_workspace("acme", false).unwrap().id;
    let messages = [
        message("1", "email", 1),
        message("2", "chat", 2),
        message("3", "email", 3),
        message("4", "email", 4),
    ];
    let refs: Vec<&Message> = messages.iter().collect();
    store.insert_batch(ws, &refs).unwrap();
    let emails = ListFilter {
        channel: Some("email".into()),
        ..ListFilter::default()
    };
    let ids = |filter: &ListFilter| -> Vec<String> {
        store
            .list(ws, filter, None, 10)
            .unwrap()
            .into_iter()
            .map(|m| m.message.id)
            .collect()
    };
    assert_eq!(ids(&emails), ["4", "3", "1"]);
    let window = ListFilter {
        since: Some(messages[1].created_at),
        until: Some(messages[3].created_at),
        ..ListFilter::default()
    };
    assert_eq!(
        ids(&window),
        ["3", "2"],
        "since is inclusive, until exclusive"
    );
}

pub fn scan_walks_in_seq_order(store: &dyn Store) {
    let ws = store.ensure_workspace("acme", false).unwrap().id;
    let messages: Vec<Message> = (0..10)
        .map(|i| message(&i.to_string(), "chat", 59 - i))
        .collect();
    let refs: Vec<&Message> = messages.iter().collect();
    let seqs: Vec<i64> = store
        .insert_batch(ws, &refs)
        .unwrap()
        .iter()
        .map(|i| i.seq())
        .collect();
    assert_eq!(store.max_seq().unwrap(), *seqs.iter().max().unwrap());
    let first = store.scan(0, 6).unwrap();
    let rest = store.scan(first.last().unwrap().seq, 100).unwrap();
    let scanned: Vec<i64> = first.iter().chain(&rest).map(|m| m.seq).collect();
    assert_eq!(scanned, seqs);
}

pub fn get_many_keeps_the_order_asked(store: &dyn Store) {
    let ws = store.ensure_workspace("acme", false).unwrap().id;
    let messages: Vec<Message> = (0..3).map(|i| message(&i.to_string(), "chat", i)).collect();
    let refs: Vec<&Message> = messages.iter().collect();
    let seqs: Vec<i64> = store
        .insert_batch(ws, &refs)
        .unwrap()
        .iter()
        .map(|i| i.seq())
        .collect();
    let got = store.get_many(&[seqs[2], 999_999, seqs[0]]).unwrap();
    let ids: Vec<&str> = got.iter().map(|m| m.message.id.as_str()).collect();
    assert_eq!(ids, ["2", "0"]);
}

pub fn classifications_round_trip(store: &dyn Store) {
    let ws = store.ensure_workspace("acme", false).unwrap().id;
    let classified = message("1", "email", 1);
    let plain = message("2", "email", 2);
    let classification = Classification {
        lang: "en".into(),
        sentiment: Sentiment::from_score(-0.6249),
        intents: vec!["complaint".into(), "churn_risk".into()],
        entities: vec![Entity {
            kind: "brand".into(),
            text: "Acme".into(),
            start: 16,
            end: 20,
        }],
        truncated_at: None,
        tier: None,
        relevance: None,
    };
    let seqs = store
        .insert_classified(ws, &[&classified, &plain], &[Some(&classification), None])
        .unwrap();
    let got = store.get_many(&[seqs[0].seq(), seqs[1].seq()]).unwrap();
    assert_eq!(got[0].classification.as_ref(), Some(&classification));
    assert_eq!(got[1].classification, None);
    assert_eq!(
        got[0].message, classified,
        "the message itself is unchanged"
    );

    // A duplicate keeps what it was stored with.
    let mut other = classification.clone();
    other.sentiment = Sentiment::from_score(0.9);
    let again = store
        .insert_classified(ws, &[&classified], &[Some(&other)])
        .unwrap();
    assert_eq!(again[0], Inserted::Duplicate(seqs[0].seq()));
    let stored = store.get(ws, "email", "1").unwrap().unwrap();
    assert_eq!(stored.classification.as_ref(), Some(&classification));
    let scanned = store.scan(0, 10).unwrap();
    assert_eq!(scanned[0].classification.as_ref(), Some(&classification));

    // One classification per message, or the call is refused.
    assert!(store.insert_classified(ws, &[&plain], &[]).is_err());
}
