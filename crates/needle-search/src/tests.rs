use needle_core::Message;
use needle_store::sqlite::SqliteStore;
use serde_json::json;

use super::*;

struct Fixture {
    _dir: tempfile::TempDir,
    store: SqliteStore,
    index: SearchIndex,
    ws: i64,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("needle.db")).unwrap();
    let index = SearchIndex::open(dir.path().join("index")).unwrap();
    let ws = store.ensure_workspace("acme", false).unwrap().id;
    Fixture {
        _dir: dir,
        store,
        index,
        ws,
    }
}

fn msg(id: &str, channel: &str, minute: u32, text: &str) -> Message {
    Message::from_json(json!({
        "id": id, "channel": channel, "text": text,
        "created_at": format!("2026-03-02T14:{minute:02}:00Z"),
        "author": {"handle": "kim"}
    }))
    .unwrap()
}

impl Fixture {
    fn ingest(&self, messages: &[Message]) {
        let refs: Vec<&Message> = messages.iter().collect();
        let seqs: Vec<i64> = self
            .store
            .insert_batch(self.ws, &refs)
            .unwrap()
            .iter()
            .map(|i| i.seq())
            .collect();
        let stored = self.store.get_many(&seqs).unwrap();
        self.index.add(&stored.iter().collect::<Vec<_>>()).unwrap();
        self.index.commit().unwrap();
    }

    fn ids(&self, query: &str) -> Vec<String> {
        self.ids_with(SearchRequest {
            query: Some(TextQuery::parse(query).unwrap()),
            ..self.request()
        })
    }

    fn request(&self) -> SearchRequest {
        SearchRequest {
            workspace_id: self.ws,
            limit: 100,
            ..SearchRequest::default()
        }
    }

    fn ids_with(&self, request: SearchRequest) -> Vec<String> {
        let page = self.index.search(&request).unwrap();
        let seqs: Vec<i64> = page.hits.iter().map(|c| c.seq).collect();
        self.store
            .get_many(&seqs)
            .unwrap()
            .into_iter()
            .map(|m| m.message.id)
            .collect()
    }
}

#[test]
fn words_phrases_hashtags_and_folding() {
    let f = fixture();
    f.ingest(&[
        msg("1", "email", 1, "My Acme Phone screen is broken"),
        msg(
            "2",
            "chat",
            2,
            "The screen of my phone, broken again #AcmePhone",
        ),
        msg("3", "mastodon", 3, "Un niño con su teléfono Sprinklr에서"),
        msg("4", "mastodon", 4, "e-mail support never answers"),
    ]);
    assert_eq!(
        f.ids("broken screen"),
        ["2", "1"],
        "all words, newest first"
    );
    assert_eq!(f.ids("\"screen is broken\""), ["1"]);
    assert_eq!(f.ids("#acmephone"), ["2"]);
    assert_eq!(
        f.ids("acmephone"),
        ["2"],
        "a plain word also finds the hashtag"
    );
    assert_eq!(f.ids("NINO telefono"), ["3"]);
    assert_eq!(f.ids("sprinklr"), ["3"], "script change splits");
    assert_eq!(f.ids("e-mail"), ["4"]);
    assert!(f.ids("refund").is_empty());
}

#[test]
fn filters_and_cursor_pages() {
    let f = fixture();
    let messages: Vec<Message> = (0..30)
        .map(|i| {
            msg(
                &i.to_string(),
                if i % 2 == 0 { "email" } else { "chat" },
                i / 4,
                "acme order",
            )
        })
        .collect();
    f.ingest(&messages);
    let emails = f.ids_with(SearchRequest {
        channel: Some("email".into()),
        ..f.request()
    });
    assert_eq!(emails.len(), 15);
    let window = f.ids_with(SearchRequest {
        since_us: Some(micros(messages[8].created_at)),
        until_us: Some(micros(messages[12].created_at)),
        ..f.request()
    });
    assert_eq!(window, ["11", "10", "9", "8"]);

    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let page = f
            .index
            .search(&SearchRequest {
                query: Some(TextQuery::parse("order").unwrap()),
                cursor,
                limit: 7,
                ..f.request()
            })
            .unwrap();
        all.extend(page.hits.iter().copied());
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(all.len(), 30);
    assert!(
        all.windows(2)
            .all(|w| (w[0].created_at_us, w[0].seq) > (w[1].created_at_us, w[1].seq))
    );
}

#[test]
fn catch_up_adds_exactly_what_the_index_lacks_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("needle.db")).unwrap();
    let ws = store.ensure_workspace("acme", false).unwrap().id;
    let messages: Vec<Message> = (0..50)
        .map(|i| msg(&i.to_string(), "chat", i % 60, "hello"))
        .collect();
    let refs: Vec<&Message> = messages.iter().collect();
    store.insert_batch(ws, &refs[..20]).unwrap();
    {
        let index = SearchIndex::open(dir.path().join("index")).unwrap();
        assert_eq!(index.catch_up(&store).unwrap(), 20);
        assert_eq!(index.num_docs(), 20);
    }
    store.insert_batch(ws, &refs[20..]).unwrap();
    let index = SearchIndex::open(dir.path().join("index")).unwrap();
    assert_eq!(index.committed_seq().unwrap(), 20);
    assert_eq!(index.catch_up(&store).unwrap(), 30);
    assert_eq!(index.catch_up(&store).unwrap(), 0);
    assert_eq!(index.num_docs(), 50);
}

#[test]
fn rebuild_replaces_the_index_and_a_second_writer_is_refused() {
    let f = fixture();
    f.ingest(&[msg("1", "chat", 1, "hello"), msg("2", "chat", 2, "world")]);
    let path = f.index.path.clone();
    let err = SearchIndex::open(&path).err().unwrap();
    assert!(matches!(err, IndexError::Locked(_)), "{err}");
    assert!(
        SearchIndex::rebuild(&path, &f.store).is_err(),
        "never pull the index from under a writer"
    );
    drop(f.index);
    assert_eq!(SearchIndex::rebuild(&path, &f.store).unwrap(), 2);
    let reopened = SearchIndex::open(&path).unwrap();
    assert_eq!(reopened.num_docs(), 2);
}
