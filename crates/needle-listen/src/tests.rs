use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use needle_core::Message;
use needle_nql::compile;
use needle_pipeline::{Batch, Item, Pipeline, PipelineMetrics, Stage};
use needle_search::SearchIndex;
use needle_store::sqlite::SqliteStore;
use needle_store::{Backend, Store};
use serde_json::json;

use super::*;
use crate::search::NqlSearch;

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<dyn Backend>,
    listening: Arc<Listening>,
    pipeline: Pipeline,
    ws: i64,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Backend> = Arc::new(SqliteStore::open(dir.path().join("db")).unwrap());
    let index = Arc::new(SearchIndex::open(dir.path().join("index")).unwrap());
    let ws = store.ensure_workspace("acme", false).unwrap().id;
    let listening = Listening::load(store.clone(), index.clone()).unwrap();
    let after_store: Vec<Box<dyn Stage>> = vec![Box::new(TopicsStage::new(listening.clone()))];
    let pipeline = Pipeline::standard(
        store.clone() as Arc<dyn Store>,
        Some(index),
        Arc::new(PipelineMetrics::unregistered()),
        needle_classify::Classifier::default(),
        Vec::new(),
        after_store,
    );
    Fixture {
        _dir: dir,
        store,
        listening,
        pipeline,
        ws,
    }
}

fn message(id: &str, minute: u32, text: &str) -> Message {
    Message::from_json(json!({
        "id": id, "channel": "mastodon", "text": text,
        "created_at": format!("2026-03-02T14:{minute:02}:00Z"),
        "author": {"handle": "kim"}
    }))
    .unwrap()
}

impl Fixture {
    fn ingest(&self, messages: Vec<Message>) {
        let mut batch = Batch::new(self.ws, messages.into_iter().map(Item::new).collect());
        batch.flush = true;
        self.pipeline.process(batch).unwrap();
    }

    fn topic_ids(&self, key: &str) -> Vec<String> {
        let topic = self.store.topic(self.ws, key).unwrap().unwrap();
        self.store
            .topic_messages(topic.id, topic.version, None, 100)
            .unwrap()
            .into_iter()
            .map(|m| m.message.id)
            .collect()
    }

    fn search(&self, query: &str) -> Vec<String> {
        let found = self
            .listening
            .search(&NqlSearch {
                workspace_id: self.ws,
                query,
                limit: 100,
                ..NqlSearch::default()
            })
            .unwrap();
        found
            .messages
            .into_iter()
            .map(|(m, _)| m.message.id)
            .collect()
    }
}

const OFFICE: &str =
    r#"({Office} OR "Microsoft Office" OR o365) NEAR/6 ({Windows} OR PC OR laptop)"#;
const NOT_CLEANING: &str = "(window OR windows) NEAR/4 (glass OR squeegee OR cleaner OR wash)";

#[test]
fn live_messages_are_tagged_and_history_is_backfilled() {
    let f = fixture();
    f.ingest(vec![
        message(
            "old-office",
            1,
            "I need to clean Office off my Windows laptop, it keeps crashing",
        ),
        message(
            "old-windows",
            2,
            "clean the windows on my office with a squeegee",
        ),
    ]);
    f.listening
        .save_topic(f.ws, "office", "brand", OFFICE, Some(NOT_CLEANING))
        .unwrap();
    f.ingest(vec![
        message("new-office", 3, "Microsoft Office on my PC froze again"),
        message("new-glass", 4, "the office windows need a glass cleaner"),
    ]);
    assert_eq!(
        f.topic_ids("office"),
        ["new-office"],
        "live tagging before the backfill ran"
    );

    backfill::run_pending(&f.listening, &AtomicBool::new(false)).unwrap();
    assert_eq!(f.topic_ids("office"), ["new-office", "old-office"]);
    let topic = f.store.topic(f.ws, "office").unwrap().unwrap();
    let state = f.store.backfill(topic.id, topic.version).unwrap().unwrap();
    assert!(state.is_finished());
    assert_eq!(
        (state.total, state.done, state.matched),
        (2, 2, 1),
        "the two messages stored before the topic"
    );

    // A change is a new version with its own history; the old one keeps its own.
    let v2 = f
        .listening
        .save_topic(f.ws, "office", "brand", "squeegee", None)
        .unwrap();
    assert_eq!(v2.version, 2);
    backfill::run_pending(&f.listening, &AtomicBool::new(false)).unwrap();
    assert_eq!(f.topic_ids("office"), ["old-windows"]);
    assert_eq!(f.store.topic_count(topic.id, 1).unwrap(), 2);
}

#[test]
fn bad_topics_are_refused_with_the_span() {
    let f = fixture();
    let err = f
        .listening
        .save_topic(f.ws, "t", "brand", "apple AND", None)
        .unwrap_err();
    let ListenError::Query { report, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(report.errors[0].code, "missing_operand");
    assert!(
        f.listening
            .save_topic(f.ws, "t", "famous", "apple", None)
            .is_err()
    );
    assert!(
        f.listening
            .save_topic(f.ws, "bad key!", "brand", "apple", None)
            .is_err()
    );
    let err = f
        .listening
        .save_topic(f.ws, "t", "brand", "apple", Some("(pear"))
        .unwrap_err();
    assert!(err.to_string().contains("exclude"), "{err}");
    assert!(
        f.store.topic(f.ws, "t").unwrap().is_none(),
        "nothing half-saved"
    );
}

#[test]
fn search_verifies_candidates_and_pages_newest_first() {
    let f = fixture();
    f.ingest(vec![
        message("a", 1, "I need to clean Office off my Windows laptop"),
        message("b", 2, "clean the windows on my office"),
        message("c", 3, "Office runs fine on this PC #Office"),
        message("d", 4, "nothing to see here"),
    ]);
    assert_eq!(f.search(OFFICE), ["c", "a"]);
    assert_eq!(f.search("office NOT windows"), ["c"]);
    assert_eq!(f.search("#office"), ["c"]);
    assert_eq!(
        f.search("channel:mastodon"),
        ["d", "c", "b", "a"],
        "a field-only query walks everything"
    );
    assert_eq!(f.search("clea*"), ["b", "a"]);

    let mut pages = Vec::new();
    let mut cursor = None;
    loop {
        let found = f
            .listening
            .search(&NqlSearch {
                workspace_id: f.ws,
                query: "office OR nothing",
                cursor,
                limit: 1,
                ..NqlSearch::default()
            })
            .unwrap();
        pages.extend(found.messages.into_iter().map(|(m, _)| m.message.id));
        match found.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, ["d", "c", "b", "a"]);
    assert!(
        f.listening
            .search(&NqlSearch {
                workspace_id: f.ws,
                query: "a AND b OR c",
                limit: 5,
                ..NqlSearch::default()
            })
            .is_err()
    );
}

/// A small deterministic generator, so the property below needs no extra dependency.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

#[test]
fn the_topic_index_gives_exactly_what_evaluating_every_topic_gives() {
    const WORDS: &[&str] = &[
        "acme",
        "phone",
        "screen",
        "refund",
        "battery",
        "niño",
        "nino",
        "#acme",
        "@acme",
        "office",
        "windows",
        "e-mail",
        "周受资",
        "sprinklr",
        "에서",
        "fire",
        "broken",
        "Office",
    ];
    let mut rng = Lcg(7);
    let word = |rng: &mut Lcg| WORDS[rng.next(WORDS.len())].to_string();
    let mut topics = Vec::new();
    for i in 0..300 {
        let a = word(&mut rng);
        let b = word(&mut rng);
        let c = word(&mut rng);
        let query = match rng.next(8) {
            0 => format!("{a} AND {b}"),
            1 => format!("{a} OR {b} OR \"{b} {c}\""),
            2 => format!("({a} OR {b}) NEAR/2 {c}"),
            3 => format!("{a} NOT {b}"),
            4 => format!("{{{}}}", a.trim_start_matches(['#', '@'])),
            5 => format!(
                "{}* AND {b}",
                &a.trim_start_matches(['#', '@'])
                    .chars()
                    .take(3)
                    .collect::<String>()
            ),
            6 => format!("channel:mastodon AND {a}"),
            _ => format!("\"{a} {b}\"~3"),
        };
        let Ok(query) = compile(&query) else { continue };
        topics.push((
            i,
            needle_nql::Topic {
                id: i.to_string(),
                level: needle_nql::Level::Brand,
                query,
                exclude: None,
            },
        ));
    }
    assert!(topics.len() > 200, "most generated queries compile");
    let index = TopicIndex::new(topics);
    let mut scratch = PresearchScratch::default();
    for _ in 0..2000 {
        let len = 1 + rng.next(12);
        let text: Vec<String> = (0..len).map(|_| word(&mut rng)).collect();
        let text = text.join(if rng.next(2) == 0 { " " } else { ", " });
        let m = message("x", 1, &text);
        let doc = document_of(&m);
        let fast: Vec<i32> = index
            .matches(&doc, &mut scratch)
            .into_iter()
            .map(|(i, _)| *i)
            .collect();
        let slow: Vec<i32> = index
            .matches_brute_force(&doc)
            .into_iter()
            .map(|(i, _)| *i)
            .collect();
        assert_eq!(fast, slow, "text {text:?}");
    }
}
