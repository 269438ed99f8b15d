//! CRM files: customers and their events (purchases, tickets) as CSV.
//!
//! One file, one header row. Each row is a customer, or an event of one when its `event`
//! column is filled:
//!
//! | column | customer row | event row |
//! |---|---|---|
//! | `id` | the customer id (required) | the customer the event belongs to |
//! | `email`, `phone` | identifiers; several separated by `;` | — |
//! | `name` | the customer's name (a trait) | — |
//! | `event` | empty | the event's kind: `purchase`, `ticket`, … |
//! | `event_id` | — | the CRM's id for the event (required): importing again adds nothing |
//! | `at` | when the record was last updated (RFC 3339; default: now) | when it happened (required) |
//! | anything else | a trait (`country`, `tier`, `lifetime_value`, `consent.email`, …) | the event's data |
//!
//! Values that read as numbers or `true`/`false` are kept as such; empty cells are skipped.
//! `--map FIELD=COLUMN` names the column that holds a field (`--map id=customer_no`).

use std::io::Read;

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::engine::{CrmCustomer, Profiles};

/// Which column holds each field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMap {
    pub id: String,
    pub email: String,
    pub phone: String,
    pub name: String,
    pub event: String,
    pub event_id: String,
    pub at: String,
}

impl Default for ColumnMap {
    fn default() -> ColumnMap {
        ColumnMap {
            id: "id".into(),
            email: "email".into(),
            phone: "phone".into(),
            name: "name".into(),
            event: "event".into(),
            event_id: "event_id".into(),
            at: "at".into(),
        }
    }
}

impl ColumnMap {
    /// Reads `FIELD=COLUMN` arguments over the defaults.
    pub fn parse(args: &[String]) -> Result<ColumnMap, String> {
        let mut map = ColumnMap::default();
        for arg in args {
            let (field, column) = arg
                .split_once('=')
                .filter(|(f, c)| !f.is_empty() && !c.is_empty())
                .ok_or_else(|| {
                    format!("--map {arg:?}: write it FIELD=COLUMN, such as id=customer_no")
                })?;
            let slot = match field {
                "id" => &mut map.id,
                "email" => &mut map.email,
                "phone" => &mut map.phone,
                "name" => &mut map.name,
                "event" => &mut map.event,
                "event_id" => &mut map.event_id,
                "at" => &mut map.at,
                other => {
                    return Err(format!(
                        "--map {arg:?}: unknown field {other:?} (known: id, email, phone, name, event, event_id, at; other columns are traits as they are named)"
                    ));
                }
            };
            *slot = column.to_string();
        }
        Ok(map)
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CrmSummary {
    /// Rows that added or changed something.
    pub imported: u64,
    /// Rows that changed nothing (imported before).
    pub duplicates: u64,
    pub rejected: u64,
    pub customers: u64,
    pub events: u64,
    pub links: u64,
    /// Links a rule refused, in words.
    pub refused: Vec<String>,
    /// (line, why) for each rejected row.
    pub rejects: Vec<(u64, String)>,
    /// Values kept raw or ignored, in words, with their line.
    pub notes: Vec<(u64, String)>,
}

/// Most rejects and notes kept in the summary; past this they are counted only.
const MAX_REPORTED: usize = 1000;

/// A cell's text as JSON: numbers and booleans as such, anything else a string.
pub fn cell_value(text: &str) -> Value {
    let t = text.trim();
    if let Ok(n) = t.parse::<i64>() {
        return Value::from(n);
    }
    if let Ok(x) = t.parse::<f64>()
        && x.is_finite()
        && t.chars().any(|c| c.is_ascii_digit())
    {
        return Value::from(x);
    }
    match t {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => Value::String(t.to_string()),
    }
}

fn parse_time(text: &str) -> Result<i64, String> {
    OffsetDateTime::parse(text.trim(), &Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1000) as i64)
        .map_err(|e| format!("{text:?} is not an RFC 3339 time ({e})"))
}

/// Imports a CRM CSV into `p`. `source` names the file in evidence; `now` is the default
/// time of customer rows. A bad header is an error; a bad row is rejected and the rest go on.
pub fn import_csv(
    p: &mut Profiles,
    input: impl Read,
    map: &ColumnMap,
    source: &str,
    now: i64,
) -> Result<CrmSummary, String> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(input);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| format!("cannot read the header row: {e}"))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let id_col = column(&map.id).ok_or_else(|| {
        format!("the header has no {:?} column (the customer id); name it with --map id=COLUMN. Columns: {}", map.id, headers.join(", "))
    })?;
    let (email_col, phone_col, name_col) =
        (column(&map.email), column(&map.phone), column(&map.name));
    let (event_col, event_id_col, at_col) =
        (column(&map.event), column(&map.event_id), column(&map.at));
    let special: Vec<usize> = [
        Some(id_col),
        email_col,
        phone_col,
        name_col,
        event_col,
        event_id_col,
        at_col,
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut summary = CrmSummary::default();
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                summary.rejected += 1;
                if summary.rejects.len() < MAX_REPORTED {
                    summary.rejects.push((line, format!("unreadable row: {e}")));
                }
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
                continue;
            }
        }
        let cell = |i: Option<usize>| {
            i.and_then(|i| record.get(i))
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let before = p.pending();
        let result = (|| -> Result<(), String> {
            let id =
                cell(Some(id_col)).ok_or_else(|| format!("the {:?} column is empty", map.id))?;
            let others = || {
                headers
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !special.contains(i))
                    .filter_map(|(i, h)| {
                        record
                            .get(i)
                            .map(str::trim)
                            .filter(|v| !v.is_empty())
                            .map(|v| (h.clone(), cell_value(v)))
                    })
            };
            if let Some(kind) = cell(event_col) {
                let event_id = cell(event_id_col)
                    .ok_or_else(|| format!("an event row needs its {:?}", map.event_id))?;
                let at = parse_time(
                    cell(at_col)
                        .ok_or_else(|| format!("an event row needs its {:?} time", map.at))?,
                )?;
                let data: Map<String, Value> = others().collect();
                p.add_event(id, kind, event_id, at, Value::Object(data))
                    .map_err(|e| e.to_string())?;
                summary.events += 1;
                return Ok(());
            }
            let at = match cell(at_col) {
                Some(t) => parse_time(t)?,
                None => now,
            };
            let split = |c: Option<&str>| -> Vec<String> {
                c.map(|v| {
                    v.split(';')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default()
            };
            let customer = CrmCustomer {
                id: id.to_string(),
                emails: split(cell(email_col)),
                phones: split(cell(phone_col)),
                name: cell(name_col).map(String::from),
                traits: others().collect(),
            };
            let outcome = p
                .import_customer(&customer, source, at)
                .map_err(|e| e.to_string())?;
            summary.customers += 1;
            summary.links += outcome.links as u64;
            for r in outcome.refused {
                if summary.refused.len() < MAX_REPORTED {
                    summary.refused.push(format!("line {line}: {r}"));
                }
            }
            for n in outcome.skipped {
                if summary.notes.len() < MAX_REPORTED {
                    summary.notes.push((line, n));
                }
            }
            Ok(())
        })();
        match result {
            Ok(()) if p.pending() == before => summary.duplicates += 1,
            Ok(()) => summary.imported += 1,
            Err(why) => {
                summary.rejected += 1;
                if summary.rejects.len() < MAX_REPORTED {
                    summary.rejects.push((line, why));
                }
            }
        }
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ProfileConfig, Profiles};

    const FILE: &str = "\
customer_no,email,phone,name,country,lifetime_value,consent.email,event,event_id,at,amount
4711,Kim@Example.com;kim.lee@work.example,+49 30 1234567,Kim Lee,DE,620.5,true,,,,
4711,,,,,,,purchase,o-1,2026-03-01T10:00:00Z,80
4712,lees@example.com,,Min Lee,DE,10,false,,,,
4713,lees@example.com,,Joon Lee,KR,0,,,,,
,nobody@example.com,,,,,,,,,
4711,,,,,,,ticket,t-9,yesterday,
4711,,,,,,,purchase,o-1,2026-03-01T10:00:00Z,80
";

    #[test]
    fn customers_and_events_import_with_a_column_map() {
        let mut p = Profiles::new(ProfileConfig::default()).unwrap();
        let map = ColumnMap::parse(&["id=customer_no".into()]).unwrap();
        let s = import_csv(&mut p, FILE.as_bytes(), &map, "crm.csv", 1).unwrap();
        assert_eq!((s.customers, s.events, s.rejected), (3, 2, 2), "{s:?}");
        assert_eq!(s.rejects[0].0, 6);
        assert!(s.rejects[0].1.contains("customer_no"), "{:?}", s.rejects);
        assert!(s.rejects[1].1.contains("RFC 3339"), "{:?}", s.rejects);
        assert_eq!(s.links, 4);
        assert_eq!(
            s.refused.len(),
            1,
            "the shared family email stays with 4712"
        );
        assert!(s.refused[0].contains("crm:4713"), "{:?}", s.refused);
        let kim = p
            .profile_of(&p.normalizer().parse("crm:4711").unwrap())
            .unwrap();
        assert_eq!(kim.identities.len(), 4);
        assert_eq!(kim.traits["lifetime_value"], serde_json::json!(620.5));
        assert_eq!(kim.traits["consent.email"], serde_json::json!(true));
        let changes = p.take_changes();
        assert_eq!(changes.events[0].data, serde_json::json!({"amount": 80}));
        assert_eq!(changes.events[0].at, 1_772_359_200_000_000);
        // Importing the customers again changes nothing.
        let again = import_csv(&mut p, FILE.as_bytes(), &map, "crm.csv", 1).unwrap();
        assert_eq!(
            again.imported, 2,
            "events are handed to the store again, which keeps one"
        );
        assert_eq!(again.duplicates, 3);
    }

    #[test]
    fn bad_maps_and_headers_say_what_is_wrong() {
        assert!(
            ColumnMap::parse(&["nope".into()])
                .unwrap_err()
                .contains("FIELD=COLUMN")
        );
        assert!(
            ColumnMap::parse(&["colour=x".into()])
                .unwrap_err()
                .contains("unknown field")
        );
        let mut p = Profiles::new(ProfileConfig::default()).unwrap();
        let err = import_csv(
            &mut p,
            "email,name\nk@x.com,Kim\n".as_bytes(),
            &ColumnMap::default(),
            "x",
            1,
        )
        .unwrap_err();
        assert!(
            err.contains("no \"id\" column") && err.contains("email, name"),
            "{err}"
        );
        let s = import_csv(
            &mut p,
            b"id,name\n1,\xff\xfe\n2,ok\n".as_slice(),
            &ColumnMap::default(),
            "x",
            1,
        )
        .unwrap();
        assert_eq!((s.customers, s.rejected), (1, 1), "{s:?}");
        assert_eq!(cell_value("12"), serde_json::json!(12));
        assert_eq!(cell_value("inf"), serde_json::json!("inf"));
        assert_eq!(cell_value("DE"), serde_json::json!("DE"));
    }
}
