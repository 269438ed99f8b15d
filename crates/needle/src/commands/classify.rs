//! `needle classify`: the fast tier on JSON Lines messages, one output line per message in
//! input order. Stateless and streaming: memory stays flat however long the input (a line
//! is at most needle-core's line limit, and only a bounded prefix of a text is classified).
//!
//! Text is classified as given (no HTML conversion), so entity spans point into the `text`
//! of the input line.
//!
//! With `--models DIR` holding all-MiniLM-L6-v2 and a trained sentiment head (`needle models
//! train sentiment`), sentiment comes from the model tier (`"tier": "model"`), embedded in
//! batches of [`MODEL_BATCH`] lines; without them the fast tier answers and stderr says why.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use needle_classify::{Classifier, Dictionary, SentimentModel, apply_model_sentiment};
use needle_core::Classification;
use needle_core::import::MAX_LINE_BYTES;
use needle_embed::sentiment::{ModelSentiment, SentimentHead};
use serde_json::{Map, Value};

use crate::failure::{CliResult, Failure};

/// Reads a dictionary file: JSON when the name ends in `.json`, TOML otherwise.
pub fn load_dictionary(path: &Path) -> CliResult<Dictionary> {
    let source = std::fs::read_to_string(path)
        .map_err(|e| Failure::bad_input(format!("cannot read {}: {e}", path.display())))?;
    let json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    Dictionary::parse(&source, json)
        .map_err(|e| Failure::bad_input(format!("{}: {e}", path.display())))
}

/// One line of input, or `None` at the end; `Err` holds why the line was refused.
fn next_line(reader: &mut dyn BufRead, buf: &mut Vec<u8>) -> std::io::Result<Option<bool>> {
    buf.clear();
    let mut fits = true;
    let mut read_any = false;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(read_any.then_some(fits));
        }
        read_any = true;
        let (take, end) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i, true),
            None => (chunk.len(), false),
        };
        if fits && buf.len() + take <= MAX_LINE_BYTES {
            buf.extend_from_slice(&chunk[..take]);
        } else {
            fits = false;
        }
        reader.consume(take + usize::from(end));
        if end {
            return Ok(Some(fits));
        }
    }
}

fn parse(line: &[u8]) -> Result<Map<String, Value>, String> {
    let text = std::str::from_utf8(line)
        .map_err(|e| format!("invalid UTF-8 at byte {}", e.valid_up_to()))?;
    match serde_json::from_str(text) {
        Ok(Value::Object(obj)) => match obj.get("text") {
            Some(Value::String(_)) => Ok(obj),
            Some(other) => Err(format!(
                "field `text`: expected a string, found {}",
                needle_core::message::type_name(other)
            )),
            None => Err("expected a message object with a `text`".into()),
        },
        Ok(other) => Err(format!(
            "expected a message object, found {}",
            needle_core::message::type_name(&other)
        )),
        Err(e) => Err(format!("not valid JSON: {e}")),
    }
}

/// Texts embedded at once by the model tier.
const MODEL_BATCH: usize = 256;

/// The model tier from `models`, or `None` after saying on stderr what is missing and how
/// to get it (the fast tier answers alone then). The head is looked for first: without
/// one, the fix to name is training it, not the embedding model.
fn model_tier(models: &Path) -> Option<ModelSentiment> {
    let loaded = SentimentHead::load(models).and_then(|head| {
        // A batch job: the model takes every core.
        let cores = super::models::all_cores();
        let embedder = super::models::try_load_embedder_named(models, &head.model, cores)?;
        ModelSentiment::new(embedder, head)
    });
    match loaded {
        Ok(model) => Some(model),
        Err(e) => {
            eprintln!("the model tier is off, the fast tier answers alone: {e}");
            None
        }
    }
}

/// Classified lines waiting for the model tier, written in input order.
struct Pending {
    lines: Vec<(Value, String, Classification)>,
}

impl Pending {
    /// Applies the model tier (if any) and writes every waiting line; `false` when the
    /// reader went away.
    fn flush(&mut self, model: Option<&ModelSentiment>, out: &mut dyn Write) -> CliResult<bool> {
        if let Some(model) = model
            && !self.lines.is_empty()
        {
            let texts: Vec<&str> = self.lines.iter().map(|(_, t, _)| t.as_str()).collect();
            let sentiments = model
                .sentiments(&texts)
                .map_err(|e| Failure::environment(format!("the model tier failed: {e}")))?;
            for ((_, _, classification), sentiment) in self.lines.iter_mut().zip(sentiments) {
                apply_model_sentiment(classification, sentiment);
            }
        }
        for (id, _, classification) in self.lines.drain(..) {
            let mut result = Map::new();
            result.insert("id".into(), id);
            if let Ok(Value::Object(fields)) = serde_json::to_value(&classification) {
                result.extend(fields);
            }
            if writeln!(out, "{}", Value::Object(result)).is_err() {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

pub fn run(input: Option<&Path>, entities: Option<&Path>, models: Option<&Path>) -> CliResult<i32> {
    let dictionary = match entities {
        Some(path) => load_dictionary(path)?,
        None => Dictionary::default(),
    };
    let classifier = match models {
        Some(models) => {
            super::models::with_language_model(Classifier::new(&dictionary), models, true)
        }
        None => Classifier::new(&dictionary),
    };
    let model = models.and_then(model_tier);
    let batch = if model.is_some() { MODEL_BATCH } else { 1 };
    let mut pending = Pending { lines: Vec::new() };
    let mut reader: Box<dyn BufRead> = match input {
        Some(path) => Box::new(BufReader::with_capacity(
            1 << 16,
            std::fs::File::open(path)
                .map_err(|e| Failure::bad_input(format!("cannot read {}: {e}", path.display())))?,
        )),
        None => Box::new(BufReader::with_capacity(1 << 16, std::io::stdin().lock())),
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut buf = Vec::with_capacity(4096);
    let mut bad_lines = 0u64;
    let mut number = 0u64;
    while let Some(fits) = next_line(reader.as_mut(), &mut buf)
        .map_err(|e| Failure::environment(format!("reading input failed: {e}")))?
    {
        number += 1;
        let mut line = buf.as_slice();
        if number == 1 {
            line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        }
        line = line.strip_suffix(b"\r").unwrap_or(line);
        if fits && line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let parsed = if fits {
            parse(line)
        } else {
            Err(format!(
                "the line is longer than the {MAX_LINE_BYTES}-byte limit"
            ))
        };
        let obj = match parsed {
            Ok(obj) => obj,
            Err(why) => {
                bad_lines += 1;
                eprintln!("line {number}: {why}");
                continue;
            }
        };
        let text = obj.get("text").and_then(Value::as_str).unwrap_or_default();
        let classification = classifier.classify(text);
        let id = obj.get("id").cloned().unwrap_or(Value::Null);
        // The model reads what the fast tier read, a bounded prefix; without a model tier
        // no copy of the text is kept.
        let for_model = match model {
            Some(_) => needle_classify::prefix(text, needle_classify::MAX_CLASSIFY_BYTES).into(),
            None => String::new(),
        };
        pending.lines.push((id, for_model, classification));
        if pending.lines.len() >= batch && !pending.flush(model.as_ref(), &mut out)? {
            return Ok(0); // the reader went away (`| head`)
        }
    }
    if !pending.flush(model.as_ref(), &mut out)? {
        return Ok(0);
    }
    out.flush()
        .map_err(|e| Failure::environment(format!("writing output failed: {e}")))?;
    Ok(if bad_lines > 0 { 1 } else { 0 })
}
