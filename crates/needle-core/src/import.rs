//! Reading messages from files: JSON Lines and CSV, one [`Record`] per line or row, each
//! either a message or the reason it was refused. Readers stream: memory stays flat however
//! long the file, and a bad line never stops the lines after it.

use std::collections::HashMap;
use std::io::BufRead;

use serde_json::{Map, Value};

use crate::message::{Invalid, Message};

/// Lines longer than this are refused without being held in memory. It sits well above the
/// text limit so that an oversized text is reported as such, not as an oversized line.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;
/// How much of a refused line is kept in the rejects file.
const RAW_EXCERPT_BYTES: usize = 2048;

/// One line (or CSV row) of input and what became of it.
#[derive(Debug)]
pub struct Record {
    /// 1-based line number in the file.
    pub line: u64,
    pub outcome: Result<Message, Invalid>,
    /// The start of the raw line, kept for rejects.
    pub raw: Option<String>,
}

/// The formats `needle import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    JsonLines,
    Csv,
}

impl Format {
    /// Guesses the format from a file name: `.csv` is CSV, everything else JSON Lines.
    pub fn from_path(path: &std::path::Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("csv") => Format::Csv,
            _ => Format::JsonLines,
        }
    }
}

fn excerpt(bytes: &[u8]) -> String {
    let cut = bytes.len().min(RAW_EXCERPT_BYTES);
    String::from_utf8_lossy(&bytes[..cut]).into_owned()
}

/// Parses one JSON line into a message, or says why not.
pub fn parse_json_line(bytes: &[u8]) -> Result<Message, Invalid> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| Invalid::whole(format!("invalid UTF-8 at byte {}", e.valid_up_to())))?;
    let value: Value =
        serde_json::from_str(text).map_err(|e| Invalid::whole(format!("not valid JSON: {e}")))?;
    Message::from_json(value)
}

/// Streams a JSON Lines file.
pub struct JsonLines<R> {
    reader: R,
    line: u64,
    buf: Vec<u8>,
    saw_content: bool,
    done: bool,
}

impl<R: BufRead> JsonLines<R> {
    pub fn new(reader: R) -> Self {
        JsonLines {
            reader,
            line: 0,
            buf: Vec::with_capacity(4096),
            saw_content: false,
            done: false,
        }
    }

    /// Reads one line into `buf`; returns `Ok(None)` at the end, `Ok(Some(false))` when the
    /// line was longer than the limit (and was skipped).
    fn read_line(&mut self) -> std::io::Result<Option<bool>> {
        self.buf.clear();
        let mut fits = true;
        let mut read_any = false;
        loop {
            let chunk = self.reader.fill_buf()?;
            if chunk.is_empty() {
                return Ok(read_any.then_some(fits));
            }
            read_any = true;
            let (take, end) = match memchr_newline(chunk) {
                Some(i) => (i, true),
                None => (chunk.len(), false),
            };
            if fits && self.buf.len() + take <= MAX_LINE_BYTES {
                self.buf.extend_from_slice(&chunk[..take]);
            } else if fits {
                fits = false;
                let keep = RAW_EXCERPT_BYTES.saturating_sub(self.buf.len()).min(take);
                self.buf.extend_from_slice(&chunk[..keep]);
            }
            self.reader.consume(take + usize::from(end));
            if end {
                return Ok(Some(fits));
            }
        }
    }
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

impl<R: BufRead> Iterator for JsonLines<R> {
    type Item = std::io::Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let fits = match self.read_line() {
                Ok(Some(fits)) => fits,
                Ok(None) => {
                    self.done = true;
                    if !self.saw_content {
                        return Some(Ok(Record {
                            line: self.line.max(1),
                            outcome: Err(Invalid::whole("the file has no messages: it is empty")),
                            raw: None,
                        }));
                    }
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            self.line += 1;
            let mut bytes = self.buf.as_slice();
            if self.line == 1 {
                bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            }
            if bytes.ends_with(b"\r") {
                bytes = &bytes[..bytes.len() - 1];
            }
            if fits && bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            self.saw_content = true;
            let outcome = if fits {
                parse_json_line(bytes)
            } else {
                Err(Invalid::whole(format!(
                    "the line is longer than the {MAX_LINE_BYTES}-byte limit"
                )))
            };
            let raw = outcome.is_err().then(|| excerpt(bytes));
            return Some(Ok(Record {
                line: self.line,
                outcome,
                raw,
            }));
        }
        None
    }
}

/// How a CSV column becomes part of a message.
#[derive(Debug, Clone, PartialEq)]
enum Target {
    /// A field of the message shape, by dotted path, with the type its cells convert to.
    Field(&'static str, CellType),
    /// A metrics counter (`metrics.likes`).
    Metric(String),
    /// Anything else: kept under `extra`.
    Extra(String),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum CellType {
    Text,
    Integer,
    Number,
    Boolean,
}

const CSV_FIELDS: &[(&str, CellType)] = &[
    ("id", CellType::Text),
    ("channel", CellType::Text),
    ("account", CellType::Text),
    ("direction", CellType::Text),
    ("created_at", CellType::Text),
    ("text", CellType::Text),
    ("title", CellType::Text),
    ("lang", CellType::Text),
    ("url", CellType::Text),
    ("thread_id", CellType::Text),
    ("in_reply_to", CellType::Text),
    ("engagement_type", CellType::Text),
    ("rating", CellType::Number),
    ("subreddit", CellType::Text),
    ("author.id", CellType::Text),
    ("author.handle", CellType::Text),
    ("author.name", CellType::Text),
    ("author.followers", CellType::Integer),
    ("author.verified", CellType::Boolean),
    ("author.email", CellType::Text),
    ("author.phone", CellType::Text),
    ("author.country", CellType::Text),
];

fn target_for_field(field: &str) -> Option<Target> {
    if let Some(metric) = field.strip_prefix("metrics.").filter(|m| !m.is_empty()) {
        return Some(Target::Metric(metric.to_string()));
    }
    if let Some(extra) = field.strip_prefix("extra.").filter(|m| !m.is_empty()) {
        return Some(Target::Extra(extra.to_string()));
    }
    CSV_FIELDS
        .iter()
        .find(|(name, _)| *name == field)
        .map(|(name, ty)| Target::Field(name, *ty))
}

/// A problem with `--map` or the header, found before any row is read.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MappingError(pub String);

/// Parses `FIELD=COLUMN` pairs given with `--map`.
pub fn parse_mapping(pairs: &[String]) -> Result<Vec<(String, String)>, MappingError> {
    pairs
        .iter()
        .map(|pair| {
            let (field, column) = pair.split_once('=').ok_or_else(|| {
                MappingError(format!(
                    "--map {pair:?} should be FIELD=COLUMN, for example author.handle=username"
                ))
            })?;
            if target_for_field(field).is_none() {
                let known: Vec<&str> = CSV_FIELDS.iter().map(|(n, _)| *n).collect();
                return Err(MappingError(format!(
                    "--map names an unknown field {field:?}; fields are {}, metrics.NAME and extra.NAME",
                    known.join(", ")
                )));
            }
            Ok((field.to_string(), column.to_string()))
        })
        .collect()
}

/// Streams a CSV file whose header names the columns.
pub struct CsvRows<R: std::io::Read> {
    reader: csv::Reader<R>,
    targets: Vec<Target>,
    headers: Vec<String>,
    record: csv::ByteRecord,
    saw_row: bool,
    done: bool,
}

impl<R: std::io::Read> CsvRows<R> {
    /// Reads the header and applies `mapping` (message field → column name).
    pub fn new(reader: R, mapping: &[(String, String)]) -> Result<Self, MappingError> {
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
        let header = reader
            .byte_headers()
            .map_err(|e| MappingError(format!("could not read the CSV header: {e}")))?
            .clone();
        let headers: Vec<String> = header
            .iter()
            .map(|h| {
                String::from_utf8_lossy(h)
                    .trim()
                    .trim_start_matches('\u{feff}')
                    .to_string()
            })
            .collect();
        let by_column: HashMap<&str, &str> = mapping
            .iter()
            .map(|(field, column)| (column.as_str(), field.as_str()))
            .collect();
        for (_, column) in mapping {
            if !headers.iter().any(|h| h == column) {
                return Err(MappingError(format!(
                    "--map names the column {column:?}, which is not in the CSV header ({})",
                    headers.join(", ")
                )));
            }
        }
        let targets = headers
            .iter()
            .map(|h| {
                let field = by_column.get(h.as_str()).copied().unwrap_or(h.as_str());
                target_for_field(field).unwrap_or_else(|| Target::Extra(h.clone()))
            })
            .collect();
        Ok(CsvRows {
            reader,
            targets,
            headers,
            record: csv::ByteRecord::new(),
            saw_row: false,
            done: false,
        })
    }

    fn row_to_message(&self) -> Result<Message, Invalid> {
        if self.record.len() != self.headers.len() {
            return Err(Invalid::whole(format!(
                "the row has {} columns but the header has {}",
                self.record.len(),
                self.headers.len()
            )));
        }
        let mut obj = Map::new();
        let mut author = Map::new();
        let mut metrics = Map::new();
        let mut extra = Map::new();
        for ((cell, target), header) in self.record.iter().zip(&self.targets).zip(&self.headers) {
            let text = std::str::from_utf8(cell).map_err(|e| {
                Invalid::whole(format!(
                    "invalid UTF-8 in column {header:?} at byte {}",
                    e.valid_up_to()
                ))
            })?;
            if text.is_empty() {
                continue;
            }
            match target {
                Target::Field(path, ty) => {
                    let value = convert_cell(text, *ty)
                        .map_err(|why| Invalid::field(path, format!("column {header:?}: {why}")))?;
                    match path.strip_prefix("author.") {
                        Some(sub) => author.insert(sub.to_string(), value),
                        None => obj.insert(path.to_string(), value),
                    };
                }
                Target::Metric(name) => {
                    let value = convert_cell(text, CellType::Integer).map_err(|why| {
                        Invalid::field(
                            &format!("metrics.{name}"),
                            format!("column {header:?}: {why}"),
                        )
                    })?;
                    metrics.insert(name.clone(), value);
                }
                Target::Extra(name) => {
                    extra.insert(name.clone(), Value::String(text.to_string()));
                }
            }
        }
        if !author.is_empty() {
            obj.insert("author".into(), Value::Object(author));
        }
        if !metrics.is_empty() {
            obj.insert("metrics".into(), Value::Object(metrics));
        }
        if !extra.is_empty() {
            obj.insert("extra".into(), Value::Object(extra));
        }
        Message::from_json(Value::Object(obj))
    }
}

fn convert_cell(text: &str, ty: CellType) -> Result<Value, String> {
    let trimmed = text.trim();
    match ty {
        CellType::Text => Ok(Value::String(text.to_string())),
        CellType::Integer => trimmed
            .parse::<u64>()
            .map(Value::from)
            .map_err(|_| format!("expected a non-negative integer, got {trimmed:?}")),
        CellType::Number => trimmed
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("expected a number, got {trimmed:?}")),
        CellType::Boolean => match trimmed.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Ok(Value::Bool(true)),
            "false" | "no" | "0" => Ok(Value::Bool(false)),
            _ => Err(format!("expected true or false, got {trimmed:?}")),
        },
    }
}

impl<R: std::io::Read> Iterator for CsvRows<R> {
    type Item = std::io::Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut record = std::mem::take(&mut self.record);
        let read = self.reader.read_byte_record(&mut record);
        self.record = record;
        match read {
            Ok(true) => {
                self.saw_row = true;
                let line = self.record.position().map_or(0, |p| p.line());
                let outcome = self.row_to_message();
                let raw = outcome.is_err().then(|| {
                    let cells: Vec<String> = self
                        .record
                        .iter()
                        .map(|c| String::from_utf8_lossy(c).into_owned())
                        .collect();
                    excerpt(cells.join(",").as_bytes())
                });
                Some(Ok(Record { line, outcome, raw }))
            }
            Ok(false) => {
                self.done = true;
                (!self.saw_row).then(|| {
                    Ok(Record {
                        line: 1,
                        outcome: Err(Invalid::whole("the file has no rows below its header")),
                        raw: None,
                    })
                })
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                match e.kind() {
                    csv::ErrorKind::Io(_) => {
                        self.done = true;
                        Some(Err(std::io::Error::other(e.to_string())))
                    }
                    _ => Some(Ok(Record {
                        line,
                        outcome: Err(Invalid::whole(format!("not valid CSV: {e}"))),
                        raw: None,
                    })),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> Vec<Record> {
        JsonLines::new(input).map(Result::unwrap).collect()
    }

    const GOOD: &str = r#"{"id":"1","channel":"email","created_at":"2026-01-01T00:00:00Z","text":"hi","author":{"email":"a@b.c"}}"#;

    #[test]
    fn bad_lines_are_numbered_and_the_rest_goes_on() {
        let mut input = Vec::new();
        input.extend_from_slice(GOOD.as_bytes());
        input.extend_from_slice(b"\n{not json}\n\n");
        input.extend_from_slice(b"{\"id\":\"2\",\"text\":\"\xff\xfe\"}\n");
        input.extend_from_slice(GOOD.replace("\"1\"", "\"3\"").as_bytes());
        let records = lines(&input);
        assert_eq!(records.len(), 4);
        assert!(records[0].outcome.is_ok());
        assert_eq!(records[1].line, 2);
        assert!(
            records[1]
                .outcome
                .as_ref()
                .unwrap_err()
                .reason
                .contains("not valid JSON")
        );
        assert_eq!(records[2].line, 4);
        assert!(
            records[2]
                .outcome
                .as_ref()
                .unwrap_err()
                .reason
                .contains("invalid UTF-8")
        );
        assert_eq!(records[3].line, 5);
        assert_eq!(records[3].outcome.as_ref().unwrap().id, "3");
    }

    #[test]
    fn an_empty_file_is_reported() {
        let records = lines(b"");
        assert_eq!(records.len(), 1);
        assert!(
            records[0]
                .outcome
                .as_ref()
                .unwrap_err()
                .reason
                .contains("empty")
        );
        assert_eq!(lines(b"\n \n").len(), 1);
    }

    #[test]
    fn an_overlong_line_is_skipped_without_holding_it() {
        let mut input = vec![b'x'; MAX_LINE_BYTES + 10];
        input.push(b'\n');
        input.extend_from_slice(GOOD.as_bytes());
        let records = lines(&input);
        assert_eq!(records.len(), 2);
        assert!(
            records[0]
                .outcome
                .as_ref()
                .unwrap_err()
                .reason
                .contains("longer")
        );
        assert!(records[0].raw.as_ref().unwrap().len() <= RAW_EXCERPT_BYTES);
        assert!(records[1].outcome.is_ok());
    }

    #[test]
    fn csv_maps_headers_types_and_extra() {
        let csv = "msg_id,channel,created_at,body,author.handle,author.followers,metrics.likes,campaign\n\
                   7,review,2026-01-01T00:00:00Z,\"Great, really\",kim,12,3,spring\n\
                   8,review,2026-01-01T00:00:00Z,ok,kim,many,1,x\n\
                   9,review\n";
        let mapping = parse_mapping(&["id=msg_id".into(), "text=body".into()]).unwrap();
        let rows: Vec<Record> = CsvRows::new(csv.as_bytes(), &mapping)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(rows.len(), 3);
        let m = rows[0].outcome.as_ref().unwrap();
        assert_eq!(m.id, "7");
        assert_eq!(m.text, "Great, really");
        assert_eq!(m.author.followers, Some(12));
        assert_eq!(m.metrics["likes"], 3);
        assert_eq!(m.extra["campaign"], "spring");
        let err = rows[1].outcome.as_ref().unwrap_err();
        assert_eq!(err.field.as_deref(), Some("author.followers"));
        assert_eq!(rows[1].line, 3);
        assert!(
            rows[2]
                .outcome
                .as_ref()
                .unwrap_err()
                .reason
                .contains("columns")
        );
    }

    #[test]
    fn mapping_errors_name_the_problem() {
        assert!(parse_mapping(&["nonsense".into()]).is_err());
        assert!(
            parse_mapping(&["author.shoe=x".into()])
                .unwrap_err()
                .0
                .contains("unknown field")
        );
        let mapping = parse_mapping(&["text=missing".into()]).unwrap();
        let err = CsvRows::new("a,b\n1,2\n".as_bytes(), &mapping)
            .err()
            .unwrap();
        assert!(err.0.contains("missing"));
    }
}
