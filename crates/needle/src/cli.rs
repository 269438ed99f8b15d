//! The command line, as shared/specs/cli.md defines it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "needle",
    version,
    about = "Hear everyone, find the needles, answer each one."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Where the data lives.
#[derive(Debug, Args, Clone)]
pub struct DataArgs {
    /// Data directory, created on first use.
    #[arg(
        long,
        env = "NEEDLE_DATA",
        default_value = "./needle-data",
        global = true
    )]
    pub data: PathBuf,
    /// Workspace to work in.
    #[arg(long, default_value = "default", global = true)]
    pub workspace: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web app, the REST API and the pipeline.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Fill an empty data dir with a demo workspace first.
        #[arg(long)]
        demo: bool,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Load messages from JSON Lines or CSV files.
    Import {
        /// Files to import.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// File format (default: from the extension; .csv is CSV, anything else JSON Lines).
        #[arg(long, value_enum)]
        format: Option<FormatArg>,
        /// Map a message field to a CSV column: FIELD=COLUMN (repeatable).
        #[arg(long = "map", value_name = "FIELD=COLUMN")]
        map: Vec<String>,
        /// Messages per batch.
        #[arg(long, default_value_t = 5000, hide = true)]
        batch: usize,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Search stored messages, newest first.
    Search {
        /// Words and "quoted phrases", all required.
        query: String,
        /// How many messages to print.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// One message per line as JSON.
        #[arg(long)]
        json: bool,
        /// Only this channel.
        #[arg(long)]
        channel: Option<String>,
        /// Only messages at or after this RFC 3339 time.
        #[arg(long)]
        since: Option<String>,
        /// Only messages before this RFC 3339 time.
        #[arg(long)]
        until: Option<String>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Rebuild the search index from the store.
    Reindex {
        #[command(flatten)]
        data: DataArgs,
    },
    /// How many messages are stored and indexed.
    Stats {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Benchmarks (not run in CI): numbers, not pass/fail.
    Bench {
        #[command(subcommand)]
        which: BenchCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Generate messages and import them end to end, beside the Python sqlite3+FTS5 baseline;
    /// then time typical searches over them.
    Import {
        /// How many messages.
        #[arg(long, default_value_t = 1_000_000)]
        messages: u64,
        /// Where to put the generated file and data (default: a temp dir, removed after).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Skip the Python baseline.
        #[arg(long)]
        no_baseline: bool,
        /// Searches per query for the latency figures.
        #[arg(long, default_value_t = 50)]
        search_runs: usize,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Jsonl,
    Csv,
}
