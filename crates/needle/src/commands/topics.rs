//! `needle topics load|list`: a workspace's topics from a topics file.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use needle_nql::TopicSet;
use serde_json::json;

use crate::cli::DataArgs;
use crate::context::DataDir;
use crate::failure::{CliResult, Failure};

fn level_name(level: needle_nql::Level) -> &'static str {
    match level {
        needle_nql::Level::Owned => "owned",
        needle_nql::Level::Brand => "brand",
        needle_nql::Level::Competitor => "competitor",
        needle_nql::Level::Category => "category",
    }
}

pub fn load(data: &DataArgs, file: &Path, backfill: bool) -> CliResult<i32> {
    let source = std::fs::read_to_string(file)
        .map_err(|e| Failure::bad_input(format!("cannot read {}: {e}", file.display())))?;
    // The whole file is checked before anything is saved: one bad query refuses it all.
    let set = TopicSet::from_toml(&source)
        .map_err(|e| Failure::bad_input(format!("{}: {e}", file.display())))?;
    let dir = DataDir::open(data)?;
    let workspace = dir.store.ensure_workspace(&data.workspace, false)?;
    let listening = dir.listening()?;
    let mut changed = 0;
    for topic in set.topics() {
        let before = dir.store.topic(workspace.id, &topic.id)?.map(|t| t.version);
        let saved = listening
            .save_topic(
                workspace.id,
                &topic.id,
                level_name(topic.level),
                topic.query.source(),
                topic.exclude.as_ref().map(|q| q.source()),
            )
            .map_err(|e| Failure::new(e.code(), format!("topic {:?}: {e}", topic.id)))?;
        if before != Some(saved.version) {
            changed += 1;
        }
    }
    if backfill {
        needle_listen::backfill::run_pending(&listening, &AtomicBool::new(false))
            .map_err(|e| Failure::new(e.code(), e.to_string()))?;
    }
    println!(
        "loaded {} topics, {changed} new or changed{}",
        set.topics().len(),
        if backfill {
            "; history computed"
        } else {
            "; history will be computed by `needle serve`"
        }
    );
    Ok(0)
}

pub fn list(data: &DataArgs, as_json: bool) -> CliResult<i32> {
    let dir = DataDir::open_read_only(data)?;
    let workspace = dir
        .store
        .workspace(&data.workspace)?
        .ok_or_else(|| Failure::bad_input(format!("unknown workspace {:?}", data.workspace)))?;
    for topic in dir.store.topics(Some(workspace.id))? {
        let count = dir.store.topic_count(topic.id, topic.version)?;
        if as_json {
            println!(
                "{}",
                json!({"id": topic.key, "level": topic.level, "version": topic.version,
                       "query": topic.query, "exclude": topic.exclude, "messages": count})
            );
        } else {
            println!(
                "{:<20} {:<10} v{:<3} {:>8} messages  {}",
                topic.key, topic.level, topic.version, count, topic.query
            );
        }
    }
    Ok(0)
}
