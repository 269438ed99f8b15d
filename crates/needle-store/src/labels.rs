//! Relevance labels: per topic (and so per workspace), an agent's verdict on one message —
//! relevant to the topic or not. They are the training data of the relevance model Needle
//! learns per topic (needle-embed's `Relevance`); the message's text is copied in, so
//! retraining reads labels alone.
//!
//! A trait of its own beside [`crate::Store`] and [`crate::topics::TopicStore`];
//! [`conformance`] says what every backend must do.

use time::OffsetDateTime;

use crate::Result;

/// One label.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub id: i64,
    pub workspace_id: i64,
    pub topic_id: i64,
    pub message_seq: i64,
    pub text: String,
    pub relevant: bool,
    pub created_at: OffsetDateTime,
}

/// Everything Needle asks of a store about labels.
pub trait LabelStore: Send + Sync {
    /// Labels a message for a topic; labelling it again replaces the verdict (and the time).
    fn put_label(
        &self,
        workspace_id: i64,
        topic_id: i64,
        message_seq: i64,
        text: &str,
        relevant: bool,
    ) -> Result<Label>;
    /// A topic's labels, oldest first.
    fn labels(&self, topic_id: i64) -> Result<Vec<Label>>;
    /// Removes one of a topic's labels; false when the topic had no label of that id.
    fn delete_label(&self, topic_id: i64, label_id: i64) -> Result<bool>;
}

pub mod conformance {
    //! What every [`LabelStore`] must do; run with `label_store_conformance_tests!`.

    use super::*;
    use crate::conformance::message;
    use crate::topics::{TopicDefinition, TopicStore};
    use crate::{Inserted, Store};

    /// Generates one `#[test]` per check for a backend that is a `Store`, a `TopicStore`
    /// and a `LabelStore`. The closure returns `(store, guard)` like `store_conformance_tests!`.
    #[macro_export]
    macro_rules! label_store_conformance_tests {
        ($open:expr) => {
            $crate::label_store_conformance_tests!(@each $open;
                labels_are_kept_per_topic_oldest_first,
                labelling_again_replaces_the_verdict,
                deleting_removes_one_label_of_its_topic_only);
        };
        (@each $open:expr; $($check:ident),*) => {
            $(
                #[test]
                fn $check() {
                    let (store, _guard) = ($open)();
                    $crate::labels::conformance::$check(&*store);
                }
            )*
        };
    }

    /// A backend under test: all three traits at once.
    pub trait All: Store + TopicStore + LabelStore {}
    impl<T: Store + TopicStore + LabelStore> All for T {}

    struct Fixture {
        ws: i64,
        office: i64,
        symptoms: i64,
        seqs: Vec<i64>,
    }

    fn fixture(store: &dyn All) -> Fixture {
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        let topic = |key| {
            store
                .save_topic(
                    ws,
                    &TopicDefinition {
                        key,
                        level: "brand",
                        query: key,
                        exclude: None,
                    },
                )
                .unwrap()
                .id
        };
        let (office, symptoms) = (topic("office"), topic("symptoms"));
        let messages = [
            message("m1", "mastodon", 1),
            message("m2", "mastodon", 2),
            message("m3", "mastodon", 3),
        ];
        let refs: Vec<_> = messages.iter().collect();
        let seqs = store
            .insert_batch(ws, &refs)
            .unwrap()
            .into_iter()
            .map(Inserted::seq)
            .collect();
        Fixture {
            ws,
            office,
            symptoms,
            seqs,
        }
    }

    pub fn labels_are_kept_per_topic_oldest_first(store: &dyn All) {
        let f = fixture(store);
        let first = store
            .put_label(
                f.ws,
                f.office,
                f.seqs[0],
                "clean Office off my Windows",
                true,
            )
            .unwrap();
        assert!(first.relevant);
        assert_eq!(first.text, "clean Office off my Windows");
        store
            .put_label(
                f.ws,
                f.office,
                f.seqs[1],
                "clean the windows on my office",
                false,
            )
            .unwrap();
        store
            .put_label(f.ws, f.symptoms, f.seqs[2], "I feel sick", true)
            .unwrap();
        let office = store.labels(f.office).unwrap();
        assert_eq!(
            office
                .iter()
                .map(|l| (l.message_seq, l.relevant))
                .collect::<Vec<_>>(),
            [(f.seqs[0], true), (f.seqs[1], false)]
        );
        assert_eq!(office[0], first);
        assert!(
            office
                .iter()
                .all(|l| l.workspace_id == f.ws && l.topic_id == f.office)
        );
        assert_eq!(store.labels(f.symptoms).unwrap().len(), 1);
    }

    pub fn labelling_again_replaces_the_verdict(store: &dyn All) {
        let f = fixture(store);
        let first = store
            .put_label(
                f.ws,
                f.office,
                f.seqs[0],
                "clean Office off my Windows",
                true,
            )
            .unwrap();
        let second = store
            .put_label(
                f.ws,
                f.office,
                f.seqs[0],
                "clean Office off my Windows",
                false,
            )
            .unwrap();
        assert_eq!(second.id, first.id);
        assert!(!second.relevant);
        let labels = store.labels(f.office).unwrap();
        assert_eq!(labels, [second]);
    }

    pub fn deleting_removes_one_label_of_its_topic_only(store: &dyn All) {
        let f = fixture(store);
        let a = store
            .put_label(
                f.ws,
                f.office,
                f.seqs[0],
                "clean Office off my Windows",
                true,
            )
            .unwrap();
        let b = store
            .put_label(
                f.ws,
                f.office,
                f.seqs[1],
                "clean the windows on my office",
                false,
            )
            .unwrap();
        // Another topic's id does not reach this topic's label.
        assert!(!store.delete_label(f.symptoms, a.id).unwrap());
        assert!(store.delete_label(f.office, a.id).unwrap());
        assert!(!store.delete_label(f.office, a.id).unwrap());
        assert_eq!(store.labels(f.office).unwrap(), [b]);
    }
}
