//! `needle query lint`: every error and warning of an NQL query, with byte spans.

use std::path::PathBuf;

use needle_nql::{Diagnostic, lint as lint_query};

use crate::failure::{CliResult, Failure};

/// Shows a problem under the query: the line, then carets under the span.
fn underline(query: &str, d: &Diagnostic) -> String {
    let line_start = query[..d.start.min(query.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let line_end = query[line_start..]
        .find('\n')
        .map_or(query.len(), |i| line_start + i);
    let line = &query[line_start..line_end];
    let lead = query[line_start..d.start.min(line_end)].chars().count();
    let width = query[d.start.min(line_end)..d.end.clamp(d.start, line_end)]
        .chars()
        .count()
        .max(1);
    format!("  {line}\n  {}{}", " ".repeat(lead), "^".repeat(width))
}

pub fn lint(query: Option<String>, file: Option<PathBuf>, json: bool) -> CliResult<i32> {
    let query = match (query, file) {
        (Some(q), _) => q,
        (None, Some(path)) => std::fs::read_to_string(&path)
            .map_err(|e| Failure::bad_input(format!("cannot read {}: {e}", path.display())))?,
        (None, None) => return Err(Failure::usage("give a query or --file")),
    };
    let report = lint_query(&query);
    if json {
        println!("{}", serde_json::to_string(&report).unwrap_or_default());
    } else {
        for (kind, list) in [("error", &report.errors), ("warning", &report.warnings)] {
            for d in list.iter() {
                println!(
                    "{kind}[{}] at {}..{}: {}",
                    d.code, d.start, d.end, d.message
                );
                println!("{}", underline(&query, d));
            }
        }
        if report.errors.is_empty() && report.warnings.is_empty() {
            println!("ok");
        }
    }
    Ok(if report.errors.is_empty() { 0 } else { 1 })
}
