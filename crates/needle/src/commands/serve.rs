//! `needle serve`: the web app, the REST API and the pipeline — in one process, or, with a
//! bus, any set of roles per process so that a cluster runs a few web processes, several
//! pipeline workers and one or more delivery workers.

use std::sync::Arc;
use std::time::Duration;

use needle_bus::{Feed, Transport};
use needle_demo::Corpus;
use needle_http::{AppState, DEFAULT_WORKSPACE};
use needle_pipeline::{Batch, Item, Outcome, Pipeline, PipelineMetrics};
use prometheus_client::registry::Registry;

use crate::cli::{DataArgs, ModelTierArgs};
use crate::connectors::Connectors;
use crate::context::DataDir;
use crate::failure::{CliResult, Failure};
use crate::follower::Follower;
use crate::model_tier::{ModelTier, Tiers};
use crate::outbox::OutboxWorker;
use crate::worker::Worker;
use needle_profile::stage::ProfileFollower;

/// Conversations in the demo workspace (about three messages each).
const DEMO_CONVERSATIONS: usize = 1500;
/// The demo is the same every time.
const DEMO_SEED: u64 = 20261123;

/// What one process does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    /// The web app and the read API (and search, with its own index following the store).
    pub web: bool,
    /// Taking messages in through the API.
    pub ingest: bool,
    /// Running the pipeline (store, topics) and topic backfills.
    pub pipeline: bool,
    /// Sending replies (outbound channels arrive with the connectors; nothing to do yet).
    pub deliver: bool,
}

impl Roles {
    pub fn parse(list: &str) -> CliResult<Roles> {
        let mut roles = Roles {
            web: false,
            ingest: false,
            pipeline: false,
            deliver: false,
        };
        for role in list.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            match role {
                "web" => roles.web = true,
                "ingest" => roles.ingest = true,
                "pipeline" => roles.pipeline = true,
                "deliver" => roles.deliver = true,
                "all" => {
                    roles = Roles {
                        web: true,
                        ingest: true,
                        pipeline: true,
                        deliver: true,
                    }
                }
                other => {
                    return Err(Failure::usage(format!(
                        "unknown role {other:?}: roles are web, ingest, pipeline and deliver"
                    )));
                }
            }
        }
        if !(roles.web || roles.ingest || roles.pipeline || roles.deliver) {
            return Err(Failure::usage("--role needs at least one role"));
        }
        Ok(roles)
    }

    fn all(self) -> bool {
        self.web && self.ingest && self.pipeline
    }
}

#[cfg(feature = "nats")]
fn connect_bus(url: &str) -> CliResult<Arc<dyn Transport>> {
    let config = needle_bus::jetstream::JetStreamConfig::new(url);
    let bus = needle_bus::jetstream::JetStream::connect(config)
        .map_err(|e| Failure::new(e.code(), format!("cannot use the bus: {e}")))?;
    Ok(Arc::new(bus))
}

#[cfg(not(feature = "nats"))]
fn connect_bus(_url: &str) -> CliResult<Arc<dyn Transport>> {
    Err(Failure::usage(
        "this build of needle has no NATS support: rebuild it with `--features nats`",
    ))
}

pub fn run(
    data: &DataArgs,
    listen: &str,
    demo: bool,
    roles: &str,
    bus: Option<&str>,
    model_tier: &ModelTierArgs,
    presence: Duration,
) -> CliResult<i32> {
    let address: std::net::SocketAddr = listen.parse().map_err(|_| {
        Failure::usage(format!(
            "--listen wants an address such as 127.0.0.1:8080, got {listen:?}"
        ))
    })?;
    let roles = Roles::parse(roles)?;
    let bus = bus.filter(|b| !b.is_empty()).map(connect_bus).transpose()?;
    if bus.is_none() && !roles.all() {
        return Err(Failure::usage(
            "running only some roles needs a bus shared by the processes: add --bus nats://…",
        ));
    }
    let outbound = needle_connect::OutboundPolicy::from_env()
        .map_err(Failure::usage)
        .map(needle_connect::Outbound::new)?;
    let dir = DataDir::open(data)?;
    let mut registry = Registry::default();
    let metrics = Arc::new(PipelineMetrics::register(&mut registry));
    let listening = dir.listening()?;
    if bus.is_some() {
        // Pipeline workers reload topics every 2 s; the backfill rechecks what they stored
        // before they saw a change.
        listening.set_others_lag(Duration::from_secs(5));
    }

    // Embedded: one pipeline with the index stage, fed by the API. In a cluster: pipeline
    // workers take from the bus and store; every web process indexes by following the store.
    let embedded = bus.is_none();
    let feed = match &bus {
        Some(bus) => Feed::relayed(bus.clone())
            .map_err(|e| Failure::new(e.code(), format!("cannot follow live events: {e}")))?,
        None => Feed::local(),
    };
    // One embedding model for the web role (relevance, custom intents) and the pipeline's
    // model tier, loaded only when one of them will use it.
    let models = model_tier.models_dir(&data.data);
    let runs_pipeline = embedded || roles.pipeline;
    let mut embedder = None;
    let mut load_embedder = || {
        embedder
            .get_or_insert_with(|| super::models::load_embedder(&models))
            .clone()
    };
    let model_tier = if runs_pipeline {
        // A head trained on another model's vectors (multilingual-e5-small) brings its own.
        ModelTier::load(&models, model_tier, |name| {
            if name == needle_embed::models::MINILM.model {
                load_embedder()
            } else {
                super::models::load_embedder_named(&models, name)
            }
        })
    } else {
        None
    };
    // Embedded, each batch's authors are resolved as it is stored; in a cluster, the one
    // pipeline worker holding the resolution lease follows the store instead, so that
    // workers do not race each other over the same profiles.
    let local_pipeline = runs_pipeline.then(|| {
        dir.pipeline(
            &listening,
            metrics.clone(),
            embedded,
            embedded,
            Some(feed.clone()),
            Tiers {
                fast: super::models::with_language_model(
                    needle_classify::Classifier::default(),
                    &models,
                    false,
                ),
                model: model_tier,
            },
        )
    });
    if demo {
        match &local_pipeline {
            Some(pipeline) => seed_demo(&dir, &listening, pipeline)?,
            None => eprintln!("demo: only a process with the pipeline role seeds demo data"),
        }
    }
    dir.store.ensure_workspace(DEFAULT_WORKSPACE, false)?;
    if dir.store.users()?.is_empty() {
        eprintln!(
            "nobody can sign in yet: add an admin with `needle user add you@example.com --role admin`"
        );
    }
    let backfills = (embedded || roles.pipeline)
        .then(|| needle_listen::backfill::Worker::start(listening.clone()));
    let (app_pipeline, worker) = match (&bus, local_pipeline) {
        (None, pipeline) => (pipeline, None),
        (Some(bus), Some(pipeline)) => (
            None,
            Some(Worker::start(
                bus.clone(),
                Arc::new(pipeline),
                listening.clone(),
                &feed,
            )),
        ),
        (Some(_), None) => (None, None),
    };
    let follower = (!embedded && roles.web).then(|| {
        Follower::start(
            dir.index.clone(),
            dir.store.clone(),
            Duration::from_millis(300),
        )
    });
    let serves_http = roles.web || roles.ingest;
    let state = AppState::new(listening, app_pipeline, bus.clone(), feed, registry);
    state.presence.set_ttl(presence);
    // Every process that answers the API or runs the pipeline holds profile graphs; writes
    // from any of them are checked against the store's generation, so they cannot disagree.
    let profiles = dir.profiles()?;
    let _ = state.profiles.set(profiles.clone());
    let profile_follower = (embedded || roles.pipeline)
        .then(|| ProfileFollower::start(profiles, Duration::from_millis(250)));
    // Feeds are read where the pipeline runs in process; a cluster's pipeline workers take
    // from the bus, and pulling there would need one reader per feed (not built yet).
    let connectors = (embedded && state.pipeline.is_some())
        .then(|| Connectors::start(dir.store.clone(), state.clone(), outbound.clone()));
    // One process sends the outbox: the embedded one, or the cluster's `deliver` role.
    let outbox = (embedded || roles.deliver)
        .then(|| OutboxWorker::start(dir.store.clone(), Some(state.clone()), outbound));
    if roles.web
        && let Some(embedder) = load_embedder()
    {
        state.learning.set_embedder(embedder);
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::environment(format!("cannot start the async runtime: {e}")))?;
    let served = runtime.block_on(async {
        if !serves_http {
            eprintln!("needle running roles {roles:?} (no HTTP)");
            shutdown_signal().await;
            return Ok(());
        }
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
    // Stop taking work, then let what is in flight finish: every accepted message is stored
    // (and indexed, embedded) before the process ends; a worker's unsettled deliveries go back
    // to the bus.
    drop(connectors);
    drop(outbox);
    drop(worker);
    if let Some(pipeline) = &state.pipeline {
        pipeline.shutdown();
    }
    drop(backfills);
    drop(profile_follower);
    drop(follower);
    runtime.shutdown_timeout(Duration::from_secs(5));
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

/// The demo's listening topics, one per level, so the listening views have something to show.
const DEMO_TOPICS: &[(&str, &str, &str, Option<&str>)] = &[
    (
        "to-acme",
        "owned",
        "channel:email OR channel:chat OR @acme OR @acme_support",
        None,
    ),
    (
        "acme-products",
        "brand",
        "\"Acme Phone\" OR \"Acme Buds\" OR AcmeBook OR AcmeOS OR \"Acme Cloud\"",
        None,
    ),
    (
        "rivals",
        "competitor",
        "Globex OR Initech OR \"Umbrella Nova\"",
        None,
    ),
    (
        "phone-shoppers",
        "category",
        "(buying OR recommend OR \"which phone\") NEAR/12 (phone OR smartphone OR Globex OR Initech)",
        Some("channel:email"),
    ),
];

/// Fills an empty data dir with the demo workspace; leaves a data dir with messages alone.
fn seed_demo(
    dir: &DataDir,
    listening: &needle_listen::Listening,
    pipeline: &Pipeline,
) -> CliResult<()> {
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
    for (key, level, query, exclude) in DEMO_TOPICS {
        // The backfill worker finds their history once the server runs.
        listening
            .save_topic(workspace.id, key, level, query, *exclude)
            .map_err(|e| Failure::new(e.code(), format!("demo topic {key}: {e}")))?;
    }
    demo_people(dir, workspace.id)
}

/// One person per role for the demo, each with a one-time password printed once.
fn demo_people(dir: &DataDir, workspace_id: i64) -> CliResult<()> {
    use needle_http::auth::secrets;
    use needle_store::accounts::{EVERY_WORKSPACE, Grant, NewUser, Role};
    for role in [Role::Admin, Role::Analyst, Role::Agent] {
        let email = format!("{}@needle.example", role.as_str());
        let password = secrets::new_password();
        let added = dir.store.add_user(&NewUser {
            email: &email,
            password_hash: &secrets::hash_password(&password),
            must_change_password: true,
            // The demo's admin runs the whole (laptop) instance.
            grant: Grant {
                workspace_id: if role == Role::Admin {
                    EVERY_WORKSPACE
                } else {
                    workspace_id
                },
                role,
            },
        })?;
        if added.is_some() {
            eprintln!("demo: sign in as {email} with the one-time password {password}");
        }
    }
    Ok(())
}
