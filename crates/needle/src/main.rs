//! `needle`: one binary for the whole loop. The command line is a contract
//! (shared/specs/cli.md): flags, exit codes and `--json` output stay stable.

mod cli;
mod commands;
mod connectors;
mod context;
mod failure;
mod follower;
mod model_tier;
mod outbox;
mod streams;
mod worker;

use clap::Parser;

fn main() {
    let args = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("NEEDLE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,needle=info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let code = match commands::run(args) {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("needle: {}", failure.message);
            failure.exit_code
        }
    };
    std::process::exit(code);
}
