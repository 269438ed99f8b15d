//! `needle stats`: what is stored and what is searchable, per workspace.

use serde_json::json;

use crate::cli::DataArgs;
use crate::context::DataDir;
use crate::failure::CliResult;

pub fn run(data: &DataArgs, as_json: bool) -> CliResult<i32> {
    let dir = DataDir::open_read_only(data)?;
    let stored = dir.store.count(None)?;
    let indexed = dir.index.num_docs();
    let mut workspaces = Vec::new();
    for w in dir.store.workspaces()? {
        workspaces.push(
            json!({"name": w.name, "demo": w.demo, "messages": dir.store.count(Some(w.id))?}),
        );
    }
    if as_json {
        println!(
            "{}",
            json!({"messages": stored, "indexed": indexed, "workspaces": workspaces})
        );
    } else {
        println!("messages {stored}, indexed {indexed}");
        for w in &workspaces {
            println!(
                "  {}: {} messages{}",
                w["name"].as_str().unwrap_or(""),
                w["messages"],
                if w["demo"] == true { " (demo)" } else { "" }
            );
        }
    }
    Ok(0)
}
