//! `needle search`: NQL over stored messages, newest first.

use needle_core::message::{format_time, parse_time};
use needle_listen::search::NqlSearch;
use needle_store::micros;
use serde_json::json;

use crate::cli::DataArgs;
use crate::context::DataDir;
use crate::failure::{CliResult, Failure};

pub struct Options {
    pub query: String,
    pub limit: usize,
    pub json: bool,
    pub channel: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
}

fn time_flag(name: &str, value: Option<&str>) -> CliResult<Option<i64>> {
    value
        .map(|v| {
            parse_time(v).map(micros).ok_or_else(|| {
                Failure::bad_input(format!("--{name} must be an RFC 3339 time, got {v:?}"))
            })
        })
        .transpose()
}

pub fn run(data: &DataArgs, options: Options) -> CliResult<i32> {
    // A bad query is reported before any data is opened.
    if let Err(e) = needle_listen::search::compile_search(&options.query) {
        return Err(Failure::new(
            e.code(),
            format!("bad query {:?}: {e}", options.query),
        ));
    }
    let since_us = time_flag("since", options.since.as_deref())?;
    let until_us = time_flag("until", options.until.as_deref())?;
    let dir = DataDir::open_read_only(data)?;
    let workspace = dir
        .store
        .workspace(&data.workspace)?
        .ok_or_else(|| Failure::bad_input(format!("unknown workspace {:?}", data.workspace)))?;
    let listening = dir.listening()?;
    let found = listening
        .search(&NqlSearch {
            workspace_id: workspace.id,
            query: &options.query,
            channel: options.channel.map(|c| c.to_ascii_lowercase()),
            since_us,
            until_us,
            cursor: None,
            limit: options.limit.max(1),
        })
        .map_err(|e| Failure::new(e.code(), e.to_string()))?;
    for warning in &found.warnings {
        eprintln!(
            "warning[{}] at {}..{}: {}",
            warning.code, warning.start, warning.end, warning.message
        );
    }
    let seqs: Vec<i64> = found.messages.iter().map(|(m, _)| m.seq).collect();
    let topics = dir.store.topics_of(&seqs)?;
    let mut out = std::io::stdout().lock();
    for (stored, why) in &found.messages {
        let m = &stored.message;
        let line = if options.json {
            let mut value = m.to_json();
            let in_topics: Vec<&str> = topics
                .iter()
                .filter(|(seq, _)| *seq == stored.seq)
                .map(|(_, key)| key.as_str())
                .collect();
            // What the pipeline has learned about the message: the classify stage's
            // language, sentiment, intents and entities (messages stored before it have only
            // the language they came with), and the topics it matched.
            let mut classification = match &stored.classification {
                Some(c) => serde_json::to_value(c).unwrap_or_default(),
                None => json!({ "lang": m.lang }),
            };
            classification["topics"] = json!(in_topics);
            value["classification"] = classification;
            value["why"] = serde_json::to_value(&why.terms).unwrap_or_default();
            value.to_string()
        } else {
            let who = m
                .author
                .handle
                .as_deref()
                .or(m.author.email.as_deref())
                .or(m.author.id.as_deref())
                .unwrap_or("");
            let text: String = m
                .text
                .chars()
                .take(160)
                .map(|c| if c == '\n' { ' ' } else { c })
                .collect();
            format!(
                "{}  {:<9} {:<20} {}",
                format_time(m.created_at),
                m.channel,
                who,
                text
            )
        };
        use std::io::Write;
        if writeln!(out, "{line}").is_err() {
            break; // a closed pipe (`| head`) is not an error
        }
    }
    Ok(0)
}
