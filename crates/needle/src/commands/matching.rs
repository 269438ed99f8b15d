//! `needle match`: stateless matching of JSON Lines messages against a topics file, one
//! output line per message in input order. Memory stays flat however long the input.
//!
//! Text is matched as given (no HTML conversion), so that the byte spans of `--explain`
//! point into the `text` of the input line.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use needle_listen::{PresearchScratch, TopicIndex};
use needle_nql::{Document, Fields, TopicSet};
use serde_json::{Map, Value, json};

use crate::failure::{CliResult, Failure};

fn text_field<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get(key).and_then(Value::as_str)
}

pub fn run(topics_path: &Path, input: Option<&Path>, explain: bool) -> CliResult<i32> {
    let source = std::fs::read_to_string(topics_path)
        .map_err(|e| Failure::bad_input(format!("cannot read {}: {e}", topics_path.display())))?;
    let set = TopicSet::from_toml(&source)
        .map_err(|e| Failure::bad_input(format!("{}: {e}", topics_path.display())))?;
    let index = TopicIndex::new(
        set.topics()
            .iter()
            .map(|t| (t.id.clone(), t.clone()))
            .collect(),
    );
    let reader: Box<dyn BufRead> = match input {
        Some(path) => Box::new(BufReader::new(std::fs::File::open(path).map_err(|e| {
            Failure::bad_input(format!("cannot read {}: {e}", path.display()))
        })?)),
        None => Box::new(BufReader::new(std::io::stdin().lock())),
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut scratch = PresearchScratch::default();
    let mut bad_lines = 0u64;
    for (number, line) in reader.split(b'\n').enumerate() {
        let line = line.map_err(|e| Failure::environment(format!("reading input failed: {e}")))?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let parsed: Result<Value, String> = std::str::from_utf8(&line)
            .map_err(|e| format!("invalid UTF-8 at byte {}", e.valid_up_to()))
            .and_then(|t| serde_json::from_str(t).map_err(|e| format!("not valid JSON: {e}")));
        let obj = match parsed {
            Ok(Value::Object(obj))
                if text_field(&obj, "text").is_some() || text_field(&obj, "title").is_some() =>
            {
                obj
            }
            Ok(_) => {
                bad_lines += 1;
                eprintln!(
                    "line {}: expected a message object with a `text`",
                    number + 1
                );
                continue;
            }
            Err(why) => {
                bad_lines += 1;
                eprintln!("line {}: {why}", number + 1);
                continue;
            }
        };
        let author = obj.get("author").and_then(Value::as_object);
        let author_str = |k: &str| author.and_then(|a| a.get(k)).and_then(Value::as_str);
        let fields = Fields {
            author: author_str("handle"),
            language: text_field(&obj, "lang"),
            channel: text_field(&obj, "channel"),
            url: text_field(&obj, "url"),
            site: None,
            country: author_str("country"),
            author_country: author_str("country"),
            author_followers: author
                .and_then(|a| a.get("followers"))
                .and_then(Value::as_u64),
            author_verified: author
                .and_then(|a| a.get("verified"))
                .and_then(Value::as_bool),
            rating: obj.get("rating").and_then(Value::as_f64),
            engagement_type: text_field(&obj, "engagement_type"),
            sentiment: obj
                .get("sentiment")
                .and_then(|s| s.get("label").and_then(Value::as_str).or(s.as_str())),
            subreddit: text_field(&obj, "subreddit"),
        };
        let doc = Document::new(
            text_field(&obj, "text").unwrap_or(""),
            text_field(&obj, "title"),
            fields,
        );
        let matches = index.matches(&doc, &mut scratch);
        let id = obj.get("id").cloned().unwrap_or(Value::Null);
        let mut result = json!({
            "id": id,
            "topics": matches.iter().map(|(topic, _)| topic.as_str()).collect::<Vec<_>>(),
        });
        if explain {
            let why: Map<String, Value> = matches
                .iter()
                .map(|(topic, explanation)| {
                    (
                        (*topic).clone(),
                        serde_json::to_value(&explanation.terms).unwrap_or_default(),
                    )
                })
                .collect();
            result["why"] = Value::Object(why);
        }
        if writeln!(out, "{result}").is_err() {
            return Ok(0); // the reader went away (`| head`)
        }
    }
    out.flush()
        .map_err(|e| Failure::environment(format!("writing output failed: {e}")))?;
    Ok(if bad_lines > 0 { 1 } else { 0 })
}
