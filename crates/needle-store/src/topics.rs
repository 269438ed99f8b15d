//! Topics as stored: per workspace, versioned (a change adds a version and keeps the old
//! one's history), the messages each version matched, and backfill progress.
//!
//! A separate trait from [`crate::Store`] so that each backend can grow it on its own
//! schedule; [`conformance`] says what every implementation must do.

use time::OffsetDateTime;

use crate::{Cursor, Result, StoredMessage};

/// A topic at its current version.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicRecord {
    pub id: i64,
    pub workspace_id: i64,
    /// The topic's name in its workspace (`office`), unique there.
    pub key: String,
    pub version: i64,
    /// `owned`, `brand`, `competitor` or `category`.
    pub level: String,
    pub query: String,
    pub exclude: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// One version of a topic's definition.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicVersion {
    pub version: i64,
    pub level: String,
    pub query: String,
    pub exclude: Option<String>,
    pub created_at: OffsetDateTime,
}

/// What a topic should be, as given to [`TopicStore::save_topic`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicDefinition<'a> {
    pub key: &'a str,
    pub level: &'a str,
    pub query: &'a str,
    pub exclude: Option<&'a str>,
}

/// A message matched by a topic version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag {
    pub seq: i64,
    pub topic_id: i64,
    pub version: i64,
    /// The message's `created_at`, in microseconds.
    pub created_at_us: i64,
}

/// A time window of a topic's messages, split into equal buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesWindow {
    /// Microseconds; the first bucket starts here.
    pub since_us: i64,
    /// Microseconds, exclusive.
    pub until_us: i64,
    /// Microseconds per bucket (above zero).
    pub bucket_us: i64,
}

/// How many of a topic's messages fell in one bucket, and how they felt.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SeriesBucket {
    /// Which bucket of the window, from 0.
    pub index: i64,
    pub messages: u64,
    pub positive: u64,
    pub negative: u64,
    /// Messages with a sentiment (stored before classification existed, some have none).
    pub classified: u64,
    /// The sum of the classified messages' sentiment scores.
    pub sentiment_sum: f64,
}

impl SeriesBucket {
    pub fn neutral(&self) -> u64 {
        self.classified
            .saturating_sub(self.positive + self.negative)
    }

    /// The mean sentiment score, or `None` when no message here has one.
    pub fn mean_sentiment(&self) -> Option<f64> {
        (self.classified > 0).then(|| self.sentiment_sum / self.classified as f64)
    }
}

/// Progress of computing one topic version's history over stored messages, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Backfill {
    pub topic_id: i64,
    pub version: i64,
    /// Messages up to this seq are the backfill's; later ones are tagged as they arrive.
    pub upto_seq: i64,
    /// The next message to look at has a seq below this.
    pub next_seq: i64,
    pub total: u64,
    pub done: u64,
    pub matched: u64,
    pub started_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
}

impl Backfill {
    pub fn is_finished(&self) -> bool {
        self.finished_at.is_some()
    }
}

/// Everything Needle asks of a store about topics.
pub trait TopicStore: Send + Sync {
    /// Creates the topic, or gives it a new version when its level, query or exclude
    /// changed (an unchanged definition keeps the current version). A deleted topic of the
    /// same key comes back with a new version.
    fn save_topic(
        &self,
        workspace_id: i64,
        definition: &TopicDefinition<'_>,
    ) -> Result<TopicRecord>;
    /// Hides a topic; its versions and history stay. False when there was none.
    fn delete_topic(&self, workspace_id: i64, key: &str) -> Result<bool>;
    fn topic(&self, workspace_id: i64, key: &str) -> Result<Option<TopicRecord>>;
    /// Live topics of a workspace, or of every workspace, by key.
    fn topics(&self, workspace_id: Option<i64>) -> Result<Vec<TopicRecord>>;
    /// Every version of a topic, oldest first.
    fn topic_versions(&self, topic_id: i64) -> Result<Vec<TopicVersion>>;

    /// Records matches; recording one twice changes nothing.
    fn tag(&self, tags: &[Tag]) -> Result<()>;
    /// A topic version's messages, newest first, strictly after `cursor`.
    fn topic_messages(
        &self,
        topic_id: i64,
        version: i64,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Vec<StoredMessage>>;
    fn topic_count(&self, topic_id: i64, version: i64) -> Result<u64>;
    /// A topic version's volume and sentiment per bucket of `window`, by message time;
    /// only buckets with messages, in order.
    fn topic_series(
        &self,
        topic_id: i64,
        version: i64,
        window: SeriesWindow,
    ) -> Result<Vec<SeriesBucket>>;
    /// The keys of the live topics (current versions) each message is in.
    fn topics_of(&self, seqs: &[i64]) -> Result<Vec<(i64, String)>>;

    /// Starts (or returns the existing) backfill of a topic version over messages of the
    /// workspace up to `upto_seq`.
    fn start_backfill(
        &self,
        workspace_id: i64,
        topic_id: i64,
        version: i64,
        upto_seq: i64,
    ) -> Result<Backfill>;
    fn backfill(&self, topic_id: i64, version: i64) -> Result<Option<Backfill>>;
    /// Backfills not finished yet (to resume after a restart).
    fn unfinished_backfills(&self) -> Result<Vec<Backfill>>;
    /// The next messages of a workspace a backfill must look at: seq below `before_seq`,
    /// newest seq first.
    fn backfill_chunk(
        &self,
        workspace_id: i64,
        before_seq: i64,
        limit: usize,
    ) -> Result<Vec<StoredMessage>>;
    /// Claims, or renews, the right to work on a backfill until `until_us`: true when this
    /// `owner` holds it now, false when another owner holds an unexpired claim. Processes
    /// that share a store take turns on each backfill this way.
    fn claim_backfill(
        &self,
        topic_id: i64,
        version: i64,
        owner: &str,
        now_us: i64,
        until_us: i64,
    ) -> Result<bool>;
    /// Records a step of a backfill: its matches and its progress, in one transaction, so a
    /// crash resumes where the last step ended. `next_seq` of 0 (or below) finishes it.
    fn advance_backfill(
        &self,
        topic_id: i64,
        version: i64,
        next_seq: i64,
        looked_at: u64,
        tags: &[Tag],
    ) -> Result<Backfill>;
}

pub mod conformance {
    //! What every [`TopicStore`] must do; run with `topic_store_conformance_tests!`.

    use super::*;
    use crate::conformance::message;
    use crate::{Store, micros};

    /// Generates one `#[test]` per check for a backend that is both a `Store` and a
    /// `TopicStore`. The closure returns `(store, guard)` like `store_conformance_tests!`.
    #[macro_export]
    macro_rules! topic_store_conformance_tests {
        ($open:expr) => {
            $crate::topic_store_conformance_tests!(@each $open;
                saving_the_same_definition_keeps_the_version,
                a_change_adds_a_version_and_keeps_history,
                deleted_topics_disappear_and_come_back_with_a_new_version,
                tags_are_idempotent_and_list_newest_first,
                backfill_walks_newest_first_and_resumes,
                series_count_volume_and_sentiment_per_bucket,
                one_owner_at_a_time_holds_a_backfill);
        };
        (@each $open:expr; $($check:ident),*) => {
            $(
                #[test]
                fn $check() {
                    let (store, _guard) = ($open)();
                    $crate::topics::conformance::$check(&*store);
                }
            )*
        };
    }

    /// A backend under test: both traits at once.
    pub trait Both: Store + TopicStore {}
    impl<T: Store + TopicStore> Both for T {}

    fn office<'a>(query: &'a str) -> TopicDefinition<'a> {
        TopicDefinition {
            key: "office",
            level: "brand",
            query,
            exclude: Some("window NEAR/4 glass"),
        }
    }

    pub fn saving_the_same_definition_keeps_the_version(store: &dyn Both) {
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        let first = store.save_topic(ws, &office("office")).unwrap();
        assert_eq!(first.version, 1);
        let again = store.save_topic(ws, &office("office")).unwrap();
        assert_eq!(again.version, 1);
        assert_eq!(again.id, first.id);
        assert_eq!(store.topics(Some(ws)).unwrap().len(), 1);
        assert_eq!(store.topic(ws, "office").unwrap().unwrap().query, "office");
        assert!(store.topic(ws, "other").unwrap().is_none());
    }

    pub fn a_change_adds_a_version_and_keeps_history(store: &dyn Both) {
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        let v1 = store.save_topic(ws, &office("office")).unwrap();
        let m = message("1", "email", 1);
        let seq = store.insert_batch(ws, &[&m]).unwrap()[0].seq();
        store
            .tag(&[Tag {
                seq,
                topic_id: v1.id,
                version: 1,
                created_at_us: micros(m.created_at),
            }])
            .unwrap();
        let v2 = store.save_topic(ws, &office("office OR o365")).unwrap();
        assert_eq!((v2.id, v2.version), (v1.id, 2));
        let versions = store.topic_versions(v1.id).unwrap();
        let queries: Vec<&str> = versions.iter().map(|v| v.query.as_str()).collect();
        assert_eq!(queries, ["office", "office OR o365"]);
        assert_eq!(
            store.topic_count(v1.id, 1).unwrap(),
            1,
            "version 1 keeps its history"
        );
        assert_eq!(store.topic_count(v1.id, 2).unwrap(), 0);
        assert!(
            store.topics_of(&[seq]).unwrap().is_empty(),
            "current version has no match yet"
        );
    }

    pub fn deleted_topics_disappear_and_come_back_with_a_new_version(store: &dyn Both) {
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        store.save_topic(ws, &office("office")).unwrap();
        assert!(store.delete_topic(ws, "office").unwrap());
        assert!(!store.delete_topic(ws, "office").unwrap());
        assert!(store.topic(ws, "office").unwrap().is_none());
        assert!(store.topics(None).unwrap().is_empty());
        let back = store.save_topic(ws, &office("office")).unwrap();
        assert_eq!(back.version, 2);
    }

    pub fn tags_are_idempotent_and_list_newest_first(store: &dyn Both) {
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        let topic = store.save_topic(ws, &office("acme")).unwrap();
        let messages: Vec<_> = (0..6).map(|i| message(&i.to_string(), "chat", i)).collect();
        let refs: Vec<_> = messages.iter().collect();
        let seqs: Vec<i64> = store
            .insert_batch(ws, &refs)
            .unwrap()
            .iter()
            .map(|i| i.seq())
            .collect();
        let tags: Vec<Tag> = seqs
            .iter()
            .zip(&messages)
            .map(|(seq, m)| Tag {
                seq: *seq,
                topic_id: topic.id,
                version: 1,
                created_at_us: micros(m.created_at),
            })
            .collect();
        store.tag(&tags).unwrap();
        store.tag(&tags[..3]).unwrap();
        assert_eq!(store.topic_count(topic.id, 1).unwrap(), 6);
        let first = store.topic_messages(topic.id, 1, None, 4).unwrap();
        let ids: Vec<&str> = first.iter().map(|m| m.message.id.as_str()).collect();
        assert_eq!(ids, ["5", "4", "3", "2"]);
        let rest = store
            .topic_messages(topic.id, 1, Some(Cursor::after(&first[3])), 4)
            .unwrap();
        let ids: Vec<&str> = rest.iter().map(|m| m.message.id.as_str()).collect();
        assert_eq!(ids, ["1", "0"]);
        let of = store.topics_of(&[seqs[0]]).unwrap();
        assert_eq!(of, [(seqs[0], "office".to_string())]);
    }

    pub fn series_count_volume_and_sentiment_per_bucket(store: &dyn Both) {
        use needle_core::{Classification, Sentiment};
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        let topic = store.save_topic(ws, &office("acme")).unwrap();
        let felt = |score: f64| Classification {
            lang: "en".into(),
            sentiment: Sentiment::from_score(score),
            intents: Vec::new(),
            entities: Vec::new(),
            truncated_at: None,
            tier: None,
            relevance: None,
        };
        let (happy, sad, flat) = (felt(0.8), felt(-0.6), felt(0.0));
        // Minutes 0..=5 fall in the window; minute 10 is past its end.
        let minutes = [0, 1, 2, 3, 5, 10];
        let messages: Vec<_> = minutes
            .iter()
            .map(|m| message(&format!("m{m}"), "chat", *m))
            .collect();
        let refs: Vec<_> = messages.iter().collect();
        let classes = [
            Some(&happy),
            Some(&sad),
            Some(&flat),
            None,
            Some(&sad),
            Some(&happy),
        ];
        let seqs: Vec<i64> = store
            .insert_classified(ws, &refs, &classes)
            .unwrap()
            .iter()
            .map(|i| i.seq())
            .collect();
        let mut tags: Vec<Tag> = seqs
            .iter()
            .zip(&messages)
            .map(|(seq, m)| Tag {
                seq: *seq,
                topic_id: topic.id,
                version: 1,
                created_at_us: micros(m.created_at),
            })
            .collect();
        // A match of another version is not this version's.
        tags.push(Tag {
            version: 2,
            ..tags[0]
        });
        store.tag(&tags).unwrap();
        let since_us = micros(messages[0].created_at);
        let minute = 60_000_000;
        let series = store
            .topic_series(
                topic.id,
                1,
                SeriesWindow {
                    since_us,
                    until_us: since_us + 6 * minute,
                    bucket_us: 2 * minute,
                },
            )
            .unwrap();
        let counts: Vec<(i64, u64, u64, u64, u64)> = series
            .iter()
            .map(|b| (b.index, b.messages, b.positive, b.negative, b.classified))
            .collect();
        assert_eq!(counts, [(0, 2, 1, 1, 2), (1, 2, 0, 0, 1), (2, 1, 0, 1, 1)]);
        assert!((series[0].mean_sentiment().unwrap() - 0.1).abs() < 1e-6);
        assert_eq!(series[1].neutral(), 1);
        assert_eq!(series[1].mean_sentiment(), Some(0.0));
        let empty = store
            .topic_series(
                topic.id,
                1,
                SeriesWindow {
                    since_us: since_us - 60 * minute,
                    until_us: since_us,
                    bucket_us: minute,
                },
            )
            .unwrap();
        assert!(
            empty.is_empty(),
            "nothing before the first message: {empty:?}"
        );
    }

    pub fn backfill_walks_newest_first_and_resumes(store: &dyn Both) {
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        let other = store.ensure_workspace("globex", false).unwrap().id;
        let topic = store.save_topic(ws, &office("acme")).unwrap();
        let messages: Vec<_> = (0..10)
            .map(|i| message(&i.to_string(), "chat", i))
            .collect();
        let refs: Vec<_> = messages.iter().collect();
        let seqs: Vec<i64> = store
            .insert_batch(ws, &refs)
            .unwrap()
            .iter()
            .map(|i| i.seq())
            .collect();
        store.insert_batch(other, &refs).unwrap();
        let upto = *seqs.iter().max().unwrap();
        let started = store.start_backfill(ws, topic.id, 1, upto).unwrap();
        assert_eq!(
            (started.total, started.done, started.next_seq),
            (10, 0, upto + 1)
        );
        assert_eq!(
            store.start_backfill(ws, topic.id, 1, upto).unwrap(),
            started,
            "starting twice resumes"
        );

        let chunk = store.backfill_chunk(ws, started.next_seq, 4).unwrap();
        let chunk_seqs: Vec<i64> = chunk.iter().map(|m| m.seq).collect();
        assert_eq!(
            chunk_seqs,
            seqs[6..].iter().rev().copied().collect::<Vec<_>>()
        );
        let tags = [Tag {
            seq: chunk[0].seq,
            topic_id: topic.id,
            version: 1,
            created_at_us: micros(chunk[0].message.created_at),
        }];
        let step = store
            .advance_backfill(topic.id, 1, chunk[3].seq, 4, &tags)
            .unwrap();
        assert_eq!((step.done, step.matched, step.is_finished()), (4, 1, false));
        assert_eq!(store.unfinished_backfills().unwrap().len(), 1);
        let done = store.advance_backfill(topic.id, 1, 0, 6, &[]).unwrap();
        assert!(done.is_finished());
        assert_eq!(done.done, 10);
        assert!(store.unfinished_backfills().unwrap().is_empty());
        assert_eq!(store.topic_count(topic.id, 1).unwrap(), 1);
    }

    pub fn one_owner_at_a_time_holds_a_backfill(store: &dyn Both) {
        let ws = store.ensure_workspace("acme", false).unwrap().id;
        let topic = store.save_topic(ws, &office("acme")).unwrap();
        store.start_backfill(ws, topic.id, 1, 0).unwrap();
        assert!(
            store
                .claim_backfill(topic.id, 1, "a", 1_000, 2_000)
                .unwrap()
        );
        assert!(
            !store
                .claim_backfill(topic.id, 1, "b", 1_500, 2_500)
                .unwrap(),
            "a holds it"
        );
        assert!(
            store
                .claim_backfill(topic.id, 1, "a", 1_900, 3_000)
                .unwrap(),
            "a renews"
        );
        assert!(
            !store
                .claim_backfill(topic.id, 1, "b", 2_999, 4_000)
                .unwrap()
        );
        assert!(
            store
                .claim_backfill(topic.id, 1, "b", 3_001, 4_000)
                .unwrap(),
            "expired: b takes it"
        );
        assert!(
            !store
                .claim_backfill(topic.id, 2, "b", 3_001, 4_000)
                .unwrap(),
            "no such backfill"
        );
    }
}
