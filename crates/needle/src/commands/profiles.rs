//! `needle import-profiles` and `needle profile show`.

use std::path::Path;

use needle_profile::crm::{ColumnMap, import_csv};
use needle_profile::service::{ServiceError, profile_json, timeline_json, traits_json};

use crate::cli::DataArgs;
use crate::context::DataDir;
use crate::failure::{CliResult, Failure};

fn fail(e: ServiceError) -> Failure {
    Failure::new(e.code(), e.to_string())
}

fn now_us() -> i64 {
    needle_store::micros(time::OffsetDateTime::now_utc())
}

/// Loads a CRM CSV as trusted identities, traits and events. One summary line, as `import`
/// prints; rejected rows are listed on standard error with their line numbers.
pub fn import(data: &DataArgs, file: &Path, map: &[String]) -> CliResult<i32> {
    let map = ColumnMap::parse(map).map_err(Failure::usage)?;
    // Read whole: when another process changed the profiles first, the import runs again on
    // the reloaded graph.
    let input = std::fs::read(file)
        .map_err(|e| Failure::bad_input(format!("cannot read {}: {e}", file.display())))?;
    let dir = DataDir::open_store_only(data)?;
    let ws = dir.ensure_workspace(&data.workspace, false)?.id;
    let service = needle_profile::service::ProfileService::new(
        dir.clone(),
        crate::context::profile_config()?,
    )
    .map_err(fail)?;
    let source = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut header_error = None;
    let summary = service
        .with(ws, |p| {
            match import_csv(p, input.as_slice(), &map, &source, now_us()) {
                Ok(s) => Ok(Some(s)),
                Err(e) => {
                    header_error = Some(e);
                    Ok(None)
                }
            }
        })
        .map_err(fail)?;
    let Some(summary) = summary else {
        let why = header_error.unwrap_or_default();
        return Err(Failure::bad_input(format!("{}: {why}", file.display())));
    };
    for (line, why) in &summary.rejects {
        eprintln!("{}:{line}: rejected: {why}", file.display());
    }
    for refused in &summary.refused {
        eprintln!("{}: link refused by a rule, {refused}", file.display());
    }
    for (line, note) in &summary.notes {
        eprintln!("{}:{line}: {note}", file.display());
    }
    println!(
        "imported {}, duplicates {}, rejected {}",
        summary.imported, summary.duplicates, summary.rejected
    );
    println!(
        "{} customers, {} events, {} links made, {} refused by rules",
        summary.customers,
        summary.events,
        summary.links,
        summary.refused.len()
    );
    Ok(if summary.rejected > 0 { 1 } else { 0 })
}

/// Prints the profile an identity belongs to; exit 1 when the identity was never seen.
pub fn show(data: &DataArgs, written: &str, json: bool, limit: usize) -> CliResult<i32> {
    let store = crate::context::open_store(data)?;
    let service = needle_profile::service::ProfileService::new(
        store.clone(),
        crate::context::profile_config()?,
    )
    .map_err(fail)?;
    let identity = service.parse_identity(written).map_err(fail)?;
    let Some(ws) = store.workspace(&data.workspace)? else {
        return Err(Failure::bad_input(format!(
            "no identity {identity} has been seen: workspace {:?} is empty",
            data.workspace
        )));
    };
    let view = service.profile_of(ws.id, &identity).map_err(fail)?;
    let timeline = service.timeline(ws.id, &view, None, limit).map_err(fail)?;
    let now = now_us();
    if json {
        println!("{}", profile_json(&view, &timeline, now));
        return Ok(0);
    }
    println!("profile {}", view.name);
    println!("identities:");
    for (_, i) in &view.identities {
        println!("  {i}");
    }
    if let serde_json::Value::Object(traits) = traits_json(&view, now)
        && !traits.is_empty()
    {
        println!("traits:");
        for (k, v) in traits {
            println!("  {k}: {v}");
        }
    }
    println!("timeline (newest first):");
    for row in &timeline {
        let entry = timeline_json(row);
        let at = entry["at"].as_str().unwrap_or_default();
        let kind = entry["kind"].as_str().unwrap_or_default();
        match entry.get("channel").and_then(|c| c.as_str()) {
            Some(channel) => println!(
                "  {at}  {kind}  {channel}/{}",
                entry["id"].as_str().unwrap_or_default()
            ),
            None => println!(
                "  {at}  {kind}  {}  {}",
                entry["id"].as_str().unwrap_or_default(),
                entry["data"]
            ),
        }
    }
    Ok(0)
}
