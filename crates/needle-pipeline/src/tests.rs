use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use needle_core::Message;
use needle_search::{SearchRequest, TextQuery};
use needle_store::sqlite::SqliteStore;
use serde_json::json;

use super::*;

fn message(id: &str, text: &str) -> Message {
    Message::from_json(json!({
        "id": id, "channel": "chat", "created_at": "2026-03-02T14:05:09Z",
        "text": text, "author": {"handle": "kim"}
    }))
    .unwrap()
}

#[test]
fn a_batch_goes_through_every_stage_with_an_outcome_per_message() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("db")).unwrap());
    let index = Arc::new(SearchIndex::open(dir.path().join("index")).unwrap());
    let ws = store.ensure_workspace("acme", false).unwrap().id;
    let metrics = Arc::new(PipelineMetrics::unregistered());
    let pipeline = Pipeline::standard(
        store.clone(),
        Some(index.clone()),
        metrics.clone(),
        needle_classify::Classifier::default(),
        Vec::new(),
        Vec::new(),
    );

    let first = pipeline
        .process(Batch::new(
            ws,
            vec![Item::new(message("1", "<p>Hello <b>refund</b></p>"))],
        ))
        .unwrap();
    assert!(matches!(first.items[0].outcome, Outcome::Stored(_)));

    let mut batch = Batch::new(
        ws,
        vec![
            Item::new(message("1", "again")),
            Item::new(message("2", "<script>only()</script>")),
            Item::new(message("3", "Cafe\u{301} refund")),
            Item::new(message("3", "same key twice")),
        ],
    );
    batch.flush = true;
    let out = pipeline.process(batch).unwrap();
    let Outcome::Stored(seq1) = first.items[0].outcome else {
        unreachable!()
    };
    assert_eq!(out.items[0].outcome, Outcome::Duplicate(seq1));
    assert!(matches!(out.items[1].outcome, Outcome::Rejected(_)));
    let Outcome::Stored(seq3) = out.items[2].outcome else {
        panic!("{:?}", out.items[2])
    };
    assert_eq!(out.items[3].outcome, Outcome::Duplicate(seq3));
    assert_eq!(
        out.items[2].message.text, "Café refund",
        "normalised before storing"
    );

    let page = index
        .search(&SearchRequest {
            workspace_id: ws,
            query: Some(TextQuery::parse("refund").unwrap()),
            limit: 10,
            ..SearchRequest::default()
        })
        .unwrap();
    assert_eq!(
        page.hits.len(),
        2,
        "the flush made both stored messages searchable"
    );
    assert_eq!(
        store.get(ws, "chat", "1").unwrap().unwrap().message.text,
        "Hello refund"
    );
    assert_eq!(metrics.ingested.get(), 2);
    assert_eq!(metrics.duplicates.get(), 2);
    assert_eq!(metrics.rejected.get(), 1);
    pipeline.shutdown();
}

/// A stage that waits for permission before each batch.
struct Gate {
    open: mpsc::Receiver<()>,
}

impl Stage for Gate {
    fn name(&self) -> &'static str {
        "gate"
    }
    fn process(&mut self, _batch: &mut Batch) -> Result<(), StageError> {
        self.open.recv().map_err(|_| StageError {
            code: ErrorCode::Internal,
            message: "gate closed".into(),
        })
    }
}

#[test]
fn a_slow_stage_holds_back_the_producer() {
    let (open, gate) = mpsc::channel();
    let pipeline = Arc::new(Pipeline::start(
        vec![Box::new(NormalizeStage), Box::new(Gate { open: gate })],
        1,
        Arc::new(PipelineMetrics::unregistered()),
    ));
    let submitted = Arc::new(AtomicUsize::new(0));
    let producer = {
        let pipeline = pipeline.clone();
        let submitted = submitted.clone();
        std::thread::spawn(move || {
            for i in 0..20 {
                pipeline
                    .submit(
                        Batch::new(1, vec![Item::new(message(&i.to_string(), "x"))]),
                        |_| {},
                    )
                    .unwrap();
                submitted.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let before = submitted.load(Ordering::SeqCst);
    // One in the gate, one in each of two queues of one, one in normalise, one blocked send.
    assert!(
        before <= 5,
        "the producer ran ahead of a stuck stage: {before} batches"
    );
    for _ in 0..20 {
        open.send(()).unwrap();
    }
    producer.join().unwrap();
    assert_eq!(submitted.load(Ordering::SeqCst), 20);
}

#[test]
fn a_failing_stage_marks_its_batch_failed_and_later_batches_still_flow() {
    struct FailOnce(bool);
    impl Stage for FailOnce {
        fn name(&self) -> &'static str {
            "fail-once"
        }
        fn process(&mut self, _batch: &mut Batch) -> Result<(), StageError> {
            if std::mem::replace(&mut self.0, false) {
                return Err(StageError {
                    code: ErrorCode::StorageFull,
                    message: "disk full".into(),
                });
            }
            Ok(())
        }
    }
    let pipeline = Pipeline::start(
        vec![Box::new(FailOnce(true))],
        2,
        Arc::new(PipelineMetrics::unregistered()),
    );
    let out = pipeline
        .process(Batch::new(1, vec![Item::new(message("1", "x"))]))
        .unwrap();
    assert!(matches!(
        out.items[0].outcome,
        Outcome::Failed {
            code: ErrorCode::StorageFull,
            ..
        }
    ));
    let out = pipeline
        .process(Batch::new(1, vec![Item::new(message("2", "x"))]))
        .unwrap();
    assert_eq!(out.items[0].outcome, Outcome::Pending);
}
