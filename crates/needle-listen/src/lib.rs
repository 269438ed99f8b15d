//! Listening: topics on the live stream, their history over stored messages (backfill), and
//! search in the Needle Query Language, all with the one matcher of `needle-nql`, so that
//! live matching, backfill and search can never disagree.
//!
//! - [`Listening`] owns the compiled topics of every workspace and swaps them atomically
//!   when a topic changes.
//! - [`TopicsStage`] is the pipeline stage that tags each stored message with its topics.
//! - [`backfill`] computes a new topic version's history in the background, newest first,
//!   resumable after a crash.
//! - [`cascade`] gives the model tier the messages that matter (in a topic, on an owned
//!   channel) and leaves the rest to the fast tier.
//! - [`search`] takes candidates from the full-text index and verifies each with the matcher.

pub mod backfill;
pub mod cascade;
mod document;
mod presearch;
pub mod preview;
pub mod search;
mod stage;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use needle_core::ErrorCode;
use needle_nql::{Level, LintReport, Topic, compile};
use needle_search::SearchIndex;
use needle_store::topics::{TopicDefinition, TopicRecord};
use needle_store::{Backend, StoreError};

pub use cascade::{Cascade, ModelTierStage, Scope};
pub use document::{document_classified, document_of, document_of_stored};
pub use presearch::{PresearchScratch, TopicIndex};
pub use stage::TopicsStage;

/// Why a listening request could not be done.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// The query (or the topic's exclude query) has errors; the report lists them with spans.
    #[error("the {part} has {} error(s): {}", report.errors.len(), first_message(report))]
    Query {
        part: &'static str,
        report: LintReport,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("no topic {0:?} in this workspace")]
    UnknownTopic(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Index(#[from] needle_search::IndexError),
}

fn first_message(report: &LintReport) -> String {
    report
        .errors
        .first()
        .map(|d| format!("{} (at bytes {}..{})", d.message, d.start, d.end))
        .unwrap_or_default()
}

impl ListenError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ListenError::Query { .. } | ListenError::Invalid(_) => ErrorCode::InvalidMessage,
            ListenError::UnknownTopic(_) => ErrorCode::NotFound,
            ListenError::Store(e) => e.code(),
            ListenError::Index(e) => e.code(),
        }
    }
}

pub type Result<T, E = ListenError> = std::result::Result<T, E>;

/// Which topic (and version) a live topic is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicRef {
    pub id: i64,
    pub key: String,
    pub version: i64,
}

/// The compiled topics of one workspace.
pub type WorkspaceTopics = TopicIndex<TopicRef>;

fn parse_level(level: &str) -> Result<Level> {
    match level {
        "owned" => Ok(Level::Owned),
        "brand" => Ok(Level::Brand),
        "competitor" => Ok(Level::Competitor),
        "category" => Ok(Level::Category),
        other => Err(ListenError::Invalid(format!(
            "level must be owned, brand, competitor or category, not {other:?}"
        ))),
    }
}

/// Compiles a topic's definition, or says exactly what is wrong with it.
pub fn compile_topic(key: &str, level: &str, query: &str, exclude: Option<&str>) -> Result<Topic> {
    let level = parse_level(level)?;
    let query = compile(query).map_err(|report| ListenError::Query {
        part: "query",
        report,
    })?;
    let exclude = exclude
        .filter(|e| !e.trim().is_empty())
        .map(compile)
        .transpose()
        .map_err(|report| ListenError::Query {
            part: "exclude query",
            report,
        })?;
    Ok(Topic {
        id: key.to_string(),
        level,
        query,
        exclude,
    })
}

fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    key.len() <= 64
        && matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Listening for a data dir: the live topics of every workspace.
pub struct Listening {
    store: Arc<dyn Backend>,
    index: Arc<SearchIndex>,
    live: RwLock<HashMap<i64, Arc<WorkspaceTopics>>>,
    backfills: backfill::Signal,
    /// How long other processes may take to see a saved topic (zero in one process): the
    /// backfill looks again at messages stored in that time, which no live stage tagged.
    others_lag: RwLock<std::time::Duration>,
}

impl Listening {
    /// Loads and compiles every live topic. A stored topic that no longer compiles (the
    /// language changed under it) is skipped with a warning rather than stopping the server.
    pub fn load(store: Arc<dyn Backend>, index: Arc<SearchIndex>) -> Result<Arc<Listening>> {
        let listening = Arc::new(Listening {
            store,
            index,
            live: RwLock::new(HashMap::new()),
            backfills: backfill::Signal::default(),
            others_lag: RwLock::new(std::time::Duration::ZERO),
        });
        let mut workspaces: Vec<i64> = listening
            .store
            .topics(None)?
            .iter()
            .map(|t| t.workspace_id)
            .collect();
        workspaces.dedup();
        for ws in workspaces {
            listening.reload(ws)?;
        }
        Ok(listening)
    }

    /// Declares that other processes tag messages too and see topic changes only after
    /// `lag` (they reload topics on a timer).
    pub fn set_others_lag(&self, lag: std::time::Duration) {
        *self.others_lag.write().expect("others lag") = lag;
    }

    pub(crate) fn others_lag(&self) -> std::time::Duration {
        *self.others_lag.read().expect("others lag")
    }

    pub fn store(&self) -> &Arc<dyn Backend> {
        &self.store
    }

    pub fn index(&self) -> &Arc<SearchIndex> {
        &self.index
    }

    /// The compiled topics of a workspace now.
    pub fn topics_of(&self, workspace_id: i64) -> Option<Arc<WorkspaceTopics>> {
        self.live
            .read()
            .expect("live topics")
            .get(&workspace_id)
            .cloned()
    }

    /// Recompiles a workspace's topics and swaps them in.
    pub fn reload(&self, workspace_id: i64) -> Result<()> {
        let mut compiled = Vec::new();
        for record in self.store.topics(Some(workspace_id))? {
            match compile_topic(
                &record.key,
                &record.level,
                &record.query,
                record.exclude.as_deref(),
            ) {
                Ok(topic) => compiled.push((
                    TopicRef {
                        id: record.id,
                        key: record.key.clone(),
                        version: record.version,
                    },
                    topic,
                )),
                Err(e) => {
                    tracing::warn!(topic = %record.key, error = %e, "a stored topic does not compile; skipped")
                }
            }
        }
        let index = Arc::new(TopicIndex::new(compiled));
        self.live
            .write()
            .expect("live topics")
            .insert(workspace_id, index);
        Ok(())
    }

    /// Creates or changes a topic. A new version starts matching live traffic at once and
    /// its history over stored messages is backfilled in the background.
    pub fn save_topic(
        &self,
        workspace_id: i64,
        key: &str,
        level: &str,
        query: &str,
        exclude: Option<&str>,
    ) -> Result<TopicRecord> {
        if !valid_key(key) {
            return Err(ListenError::Invalid(format!(
                "topic ids use letters, digits, '-', '_' and '.' (at most 64), got {key:?}"
            )));
        }
        let exclude = exclude.filter(|e| !e.trim().is_empty());
        compile_topic(key, level, query, exclude)?;
        let before = self.store.topic(workspace_id, key)?.map(|t| t.version);
        let record = self.store.save_topic(
            workspace_id,
            &TopicDefinition {
                key,
                level,
                query,
                exclude,
            },
        )?;
        if before != Some(record.version) {
            // Live matching first, then the backfill's upper bound: every message is either
            // tagged by the stage (stored after the swap) or covered by the backfill.
            self.reload(workspace_id)?;
            let upto = self.store.max_seq()?;
            self.store
                .start_backfill(workspace_id, record.id, record.version, upto)?;
            self.backfills.wake();
        }
        Ok(record)
    }

    /// Removes a topic from live matching; its history stays.
    pub fn delete_topic(&self, workspace_id: i64, key: &str) -> Result<()> {
        if !self.store.delete_topic(workspace_id, key)? {
            return Err(ListenError::UnknownTopic(key.to_string()));
        }
        self.reload(workspace_id)
    }
}

#[cfg(test)]
mod tests;
