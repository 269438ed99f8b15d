//! `needle connections apply|list`: a workspace's connections from a TOML file, for
//! operators who keep configuration in files (and in version control) rather than in API
//! calls. The file is checked whole before anything is saved; secrets come from the
//! environment or a file, so the configuration file itself holds none.
//!
//! ```toml
//! [[connection]]
//! name = "acme-blog"
//! kind = "rss"
//! config = { url = "https://blog.example.com/feed.xml", poll_seconds = 300 }
//!
//! [[connection]]
//! name = "support"
//! kind = "email"
//! secret_env = "SUPPORT_MAILBOX_PASSWORD"
//! [connection.config]
//! imap = { host = "imap.example.com" }
//! smtp = { host = "smtp.example.com" }
//! username = "support@example.com"
//! ```

use std::path::Path;

use needle_connect::ConnectorConfig;
use needle_store::connections::ConnectionSpec;
use serde::Deserialize;
use serde_json::json;

use crate::cli::DataArgs;
use crate::context::DataDir;
use crate::failure::{CliResult, Failure};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    connection: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    kind: String,
    #[serde(default)]
    config: Option<toml::Value>,
    /// The name of an environment variable holding the secret.
    secret_env: Option<String>,
    /// A file holding the secret (its first line).
    secret_file: Option<std::path::PathBuf>,
    #[serde(default = "enabled")]
    enabled: bool,
}

fn enabled() -> bool {
    true
}

fn secret_of(entry: &Entry) -> Result<Option<String>, String> {
    match (&entry.secret_env, &entry.secret_file) {
        (Some(_), Some(_)) => Err("give `secret_env` or `secret_file`, not both".into()),
        (Some(var), None) => std::env::var(var)
            .map(Some)
            .map_err(|_| format!("`secret_env` names {var:?}, which is not set")),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map(|s| s.lines().next().map(str::to_string))
            .map_err(|e| format!("`secret_file` {}: {e}", path.display())),
        (None, None) => Ok(None),
    }
}

/// Reads and checks the whole file: every connection's settings, as the API would.
fn read(file: &Path) -> CliResult<Vec<ConnectionSpec>> {
    let source = std::fs::read_to_string(file)
        .map_err(|e| Failure::bad_input(format!("cannot read {}: {e}", file.display())))?;
    let parsed: File = toml::from_str(&source)
        .map_err(|e| Failure::bad_input(format!("{}: {e}", file.display())))?;
    let mut specs: Vec<ConnectionSpec> = Vec::new();
    for entry in parsed.connection {
        let bad = |why: String| {
            Failure::bad_input(format!(
                "{}: connection {:?}: {why}",
                file.display(),
                entry.name
            ))
        };
        needle_connect::config::check_name(&entry.name).map_err(bad)?;
        if specs.iter().any(|s| s.name == entry.name) {
            return Err(bad("the name is used twice".into()));
        }
        let config = match &entry.config {
            Some(value) => serde_json::to_value(value).map_err(|e| bad(e.to_string()))?,
            None => json!({}),
        };
        let secret = secret_of(&entry).map_err(bad)?;
        ConnectorConfig::parse(&entry.kind, &config, secret.is_some()).map_err(bad)?;
        specs.push(ConnectionSpec {
            name: entry.name.clone(),
            kind: entry.kind.clone(),
            config,
            secret,
            enabled: entry.enabled,
        });
    }
    Ok(specs)
}

pub fn apply(data: &DataArgs, file: &Path) -> CliResult<i32> {
    let specs = read(file)?;
    let store = DataDir::open_store_only(data)?;
    let workspace = store.ensure_workspace(&data.workspace, false)?;
    let (mut created, mut changed) = (0, 0);
    for spec in &specs {
        let before = store.connection(workspace.id, &spec.name)?;
        let (_, new) = store.put_connection(workspace.id, spec)?;
        if new {
            created += 1;
        } else if before.is_some_and(|b| b.spec != *spec) {
            changed += 1;
        }
    }
    println!(
        "applied {} connections: {created} new, {changed} changed",
        specs.len()
    );
    Ok(0)
}

pub fn list(data: &DataArgs, as_json: bool) -> CliResult<i32> {
    let store = DataDir::open_store_only(data)?;
    let Some(workspace) = store.workspace(&data.workspace)? else {
        return Err(Failure::bad_input(format!(
            "no workspace named {:?}",
            data.workspace
        )));
    };
    for c in store.connections(Some(workspace.id))? {
        let status = c.status();
        if as_json {
            println!(
                "{}",
                json!({"name": c.spec.name, "kind": c.spec.kind, "status": status,
                       "config": c.spec.config, "has_secret": c.spec.secret.is_some(),
                       "last_error": c.health.last_error})
            );
        } else {
            let error = c
                .health
                .last_error
                .as_deref()
                .filter(|_| status == "failing");
            println!(
                "{}\t{}\t{status}{}",
                c.spec.name,
                c.spec.kind,
                error.map(|e| format!("\t{e}")).unwrap_or_default()
            );
        }
    }
    Ok(0)
}
