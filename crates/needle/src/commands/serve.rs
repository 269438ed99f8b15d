//! `needle serve`: the web app, the REST API and the pipeline in one process.

use std::sync::Arc;

use needle_demo::Corpus;
use needle_http::{AppState, DEFAULT_WORKSPACE};
use needle_pipeline::{Batch, Item, Outcome, Pipeline, PipelineMetrics};
use prometheus_client::registry::Registry;

use crate::cli::DataArgs;
use crate::context::DataDir;
use crate::failure::{CliResult, Failure};

/// Conversations in the demo workspace (about three messages each).
const DEMO_CONVERSATIONS: usize = 1500;
/// The demo is the same every time.
const DEMO_SEED: u64 = 20261123;

pub fn run(data: &DataArgs, listen: &str, demo: bool) -> CliResult<i32> {
    let address: std::net::SocketAddr = listen.parse().map_err(|_| {
        Failure::usage(format!(
            "--listen wants an address such as 127.0.0.1:8080, got {listen:?}"
        ))
    })?;
    let dir = DataDir::open(&data.data)?;
    let mut registry = Registry::default();
    let metrics = Arc::new(PipelineMetrics::register(&mut registry));
    let listening = dir.listening()?;
    let pipeline = dir.pipeline(&listening, metrics);
    let backfills = needle_listen::backfill::Worker::start(listening.clone());
    if demo {
        seed_demo(&dir, &pipeline)?;
    }
    dir.store.ensure_workspace(DEFAULT_WORKSPACE, false)?;
    let state = AppState::new(listening, pipeline, registry);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::environment(format!("cannot start the async runtime: {e}")))?;
    let served = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|e| Failure::environment(format!("cannot listen on {address}: {e}")))?;
        let bound = listener
            .local_addr()
            .map_err(|e| Failure::environment(e.to_string()))?;
        eprintln!("needle listening on http://{bound}");
        needle_http::serve(listener, state.clone(), shutdown_signal())
            .await
            .map_err(|e| Failure::environment(format!("the server failed: {e}")))
    });
    // Every accepted message is stored and indexed before the process ends.
    state.pipeline.shutdown();
    drop(backfills);
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    served?;
    eprintln!("needle stopped cleanly");
    Ok(0)
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

/// Fills an empty data dir with the demo workspace; leaves a data dir with messages alone.
fn seed_demo(dir: &DataDir, pipeline: &Pipeline) -> CliResult<()> {
    if dir.store.count(None)? > 0 {
        eprintln!("demo: the data dir already holds messages; leaving it as it is");
        return Ok(());
    }
    let workspace = dir.store.ensure_workspace(DEFAULT_WORKSPACE, true)?;
    let mut items = Vec::new();
    for value in Corpus::new(DEMO_SEED).demo_conversations(DEMO_CONVERSATIONS) {
        match needle_core::Message::from_json(value) {
            Ok(message) => items.push(Item::new(message)),
            Err(e) => tracing::warn!(error = %e, "the demo generator made an invalid message"),
        }
    }
    let mut stored = 0;
    for chunk in items.chunks(1000) {
        let mut batch = Batch::new(workspace.id, chunk.to_vec());
        batch.flush = true;
        let done = pipeline
            .process(batch)
            .map_err(|e| Failure::environment(e.to_string()))?;
        for item in done.items {
            match item.outcome {
                Outcome::Stored(_) => stored += 1,
                Outcome::Failed { code, reason } => return Err(Failure::new(code, reason)),
                _ => {}
            }
        }
    }
    eprintln!("demo: added {stored} generated messages to the workspace {DEFAULT_WORKSPACE:?}");
    Ok(())
}
