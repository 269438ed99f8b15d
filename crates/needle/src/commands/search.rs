//! `needle search`: plain words and phrases over stored messages, newest first.

use needle_core::message::{format_time, parse_time};
use needle_search::{SearchRequest, TextQuery};
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
    let query = TextQuery::parse(&options.query)
        .map_err(|e| Failure::bad_input(format!("bad query {:?}: {e}", options.query)))?;
    let since_us = time_flag("since", options.since.as_deref())?;
    let until_us = time_flag("until", options.until.as_deref())?;
    let dir = DataDir::open_read_only(&data.data)?;
    let workspace = dir
        .store
        .workspace(&data.workspace)?
        .ok_or_else(|| Failure::bad_input(format!("unknown workspace {:?}", data.workspace)))?;
    let page = dir.index.search(&SearchRequest {
        workspace_id: workspace.id,
        query: Some(query),
        channel: options.channel.map(|c| c.to_ascii_lowercase()),
        since_us,
        until_us,
        cursor: None,
        limit: options.limit.max(1),
    })?;
    let seqs: Vec<i64> = page.hits.iter().map(|c| c.seq).collect();
    let messages = dir.store.get_many(&seqs)?;
    let mut out = std::io::stdout().lock();
    for stored in &messages {
        let m = &stored.message;
        let line = if options.json {
            let mut value = m.to_json();
            // Classification arrives with the classify stages; until then it is not known.
            value["classification"] = json!(null);
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
