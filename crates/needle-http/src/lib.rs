//! `needle serve`: the REST API under `/api/v1`, its OpenAPI document, `/healthz`,
//! `/metrics`, and the web app's server-rendered pages, all behind sign-in ([`auth`]).
//!
//! Handlers are thin: they parse, hand work to the pipeline or the store (on the blocking
//! pool, since both are synchronous), and shape the answer. Every error leaves as
//! `{"error":{"code","message"}}` with the status from the error table in needle-core.

mod admin;
mod api;
pub mod auth;
mod bulk;
mod cases;
mod chart;
mod chat;
mod connections;
mod error;
mod events;
mod health;
mod inbox;
mod listening;
mod notifications;
mod openapi;
mod page;
pub mod presence;
mod profiles;
mod queue_counts;
mod relevance;
mod segments;
mod signin;
mod teams;
mod topics;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::middleware;
use axum::routing::{get, post};
use needle_bus::{Feed, Transport};
use needle_listen::Listening;
use needle_pipeline::Pipeline;
use needle_search::SearchIndex;
use needle_store::Store;
use prometheus_client::registry::Registry;
use tower_http::set_header::SetResponseHeaderLayer;

pub use admin::valid_email;
pub use error::ApiError;
pub use openapi::ApiDoc;
pub use relevance::Learning;

/// Largest ingest body: a full batch of large messages.
pub const MAX_INGEST_BODY: usize = 32 * 1024 * 1024;
/// Most messages one ingest request may carry.
pub const MAX_BATCH: usize = 1000;
/// The workspace API calls use when they name none.
pub const DEFAULT_WORKSPACE: &str = "default";

/// Everything a request handler may need.
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub index: Arc<SearchIndex>,
    pub listening: Arc<Listening>,
    /// The local pipeline; `None` in a process that publishes to a bus instead.
    pub pipeline: Option<Pipeline>,
    /// In a cluster, ingest publishes to this bus and pipeline workers elsewhere store the
    /// messages; embedded, it is `None` and ingest runs the local pipeline.
    pub bus: Option<Arc<dyn Transport>>,
    pub registry: Registry,
    /// Live events of this process, or of every process in a cluster (`/api/v1/events`).
    pub feed: Feed,
    /// Registered only when there is a bus.
    bus_gauges: Option<health::BusGauges>,
    connection_gauges: connections::ConnectionGauges,
    /// Set when shutdown begins: new ingest is refused with 503 while in-flight work drains.
    pub stopping: AtomicBool,
    /// Profiles, in the process that runs the pipeline (it owns the graphs); set after start.
    pub profiles: std::sync::OnceLock<Arc<needle_profile::service::ProfileService>>,
    /// The embedding model (when loaded) and the relevance models learned per topic.
    pub learning: Learning,
    /// Failed sign-ins, to slow down password guessing.
    pub limiter: auth::limiter::SignInLimiter,
    /// Who has which case open, in this process.
    pub presence: presence::Presence,
    /// The inbox's queue counts that are the same for everyone, counted once for all.
    pub queue_counts: queue_counts::QueueCounts,
}

impl AppState {
    pub fn new(
        listening: Arc<Listening>,
        pipeline: Option<Pipeline>,
        bus: Option<Arc<dyn Transport>>,
        feed: Feed,
        mut registry: Registry,
    ) -> Arc<AppState> {
        let bus_gauges = bus
            .is_some()
            .then(|| health::BusGauges::register(&mut registry));
        let connection_gauges = connections::ConnectionGauges::register(&mut registry);
        Arc::new(AppState {
            store: listening.store().clone() as Arc<dyn Store>,
            index: listening.index().clone(),
            listening,
            pipeline,
            bus,
            registry,
            bus_gauges,
            connection_gauges,
            stopping: AtomicBool::new(false),
            profiles: std::sync::OnceLock::new(),
            learning: Learning::default(),
            limiter: auth::limiter::SignInLimiter::default(),
            presence: presence::Presence::default(),
            queue_counts: queue_counts::QueueCounts::new(&feed),
            feed,
        })
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }
}

/// The whole HTTP surface.
pub fn router(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route(
            "/messages",
            post(api::ingest)
                .get(api::list)
                .layer(DefaultBodyLimit::max(MAX_INGEST_BODY)),
        )
        .route("/messages/{channel}/{id}", get(api::get_one))
        .route("/messages/{channel}/{id}/replies", post(connections::reply))
        .route(
            "/workspaces",
            get(api::workspaces).post(api::create_workspace),
        )
        .route("/topics", get(topics::list).post(topics::create))
        .route(
            "/topics/{key}",
            get(topics::get_one)
                .put(topics::update)
                .delete(topics::delete),
        )
        .route("/topics/{key}/messages", get(topics::messages))
        .route("/topics/{key}/series", get(topics::series))
        .route(
            "/topics/{key}/labels",
            get(relevance::labels).post(relevance::put_label),
        )
        .route(
            "/topics/{key}/labels/{label_id}",
            axum::routing::delete(relevance::delete_label),
        )
        .route(
            "/topics/{key}/relevance",
            get(relevance::score_get).post(relevance::score_post),
        )
        .route("/intents/classify", post(relevance::classify_intents))
        .route("/query/lint", post(topics::lint))
        .route("/query/preview", post(topics::preview))
        .route("/dead-letters", get(api::dead_letters))
        .route("/events", get(events::stream))
        .route("/profiles", get(profiles::lookup))
        .route("/profiles/audit", get(profiles::audit))
        .route("/profiles/links", post(profiles::link))
        .route("/profiles/unlink", post(profiles::unlink))
        .route("/profiles/suggestions", get(profiles::suggestions))
        .route("/profiles/suggestions/{id}/accept", post(profiles::accept))
        .route("/profiles/suggestions/{id}/reject", post(profiles::reject))
        .route(
            "/profiles/import",
            post(profiles::import).layer(DefaultBodyLimit::max(profiles::MAX_CRM_BODY)),
        )
        .route("/profiles/{profile}", get(profiles::get_one))
        .route("/profiles/{profile}/erase", post(profiles::erase))
        .route("/profiles/{profile}/timeline", get(profiles::timeline))
        .route("/profiles/{profile}/export", get(profiles::export))
        .route("/segments", get(segments::list))
        .route(
            "/segments/{key}",
            get(segments::get_one)
                .put(segments::put)
                .delete(segments::delete),
        )
        .route("/connections", get(connections::list))
        .route(
            "/connections/{name}",
            get(connections::get_one)
                .put(connections::put)
                .delete(connections::delete),
        )
        .route("/chat/{name}/socket", get(chat::socket))
        .route("/outbox", get(connections::outbox))
        .route("/outbox/{id}", get(connections::delivery))
        .route(
            "/hooks/{name}",
            post(connections::hook).layer(DefaultBodyLimit::max(MAX_INGEST_BODY)),
        )
        .route("/audit", get(admin::audit_log))
        .route("/cases", get(cases::list).post(cases::create))
        .route("/cases/{id}", get(cases::get_one).post(cases::change))
        .route("/cases/bulk", post(bulk::api))
        .route("/cases/{id}/notes", post(cases::note))
        .route("/cases/{id}/presence", post(presence::report))
        .route("/notifications", get(notifications::list))
        .route("/cases/{id}/canned/{name}", get(cases::canned_fill))
        .route("/teams", get(teams::list))
        .route(
            "/teams/{name}",
            axum::routing::put(teams::put).delete(teams::delete),
        )
        .route("/canned", get(cases::canned_list))
        .route(
            "/canned/{name}",
            axum::routing::put(cases::canned_put).delete(cases::canned_delete),
        )
        .fallback(api::not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::guard_api,
        ));
    Router::new()
        .route("/", get(page::home))
        .route("/signin", get(signin::show).post(signin::submit))
        .route("/signout", post(signin::signout))
        .route(
            "/account/password",
            get(signin::password_show).post(signin::password_submit),
        )
        .route(
            "/admin/people",
            get(admin::people).post(admin::people_submit),
        )
        .route("/listening", get(listening::overview))
        .route(
            "/listening/new",
            get(listening::new_topic).post(listening::save),
        )
        .route("/listening/try", post(listening::try_it))
        .route("/listening/{key}", get(listening::topic_page))
        .route("/listening/{key}/edit", get(listening::edit_topic))
        .route("/inbox", get(inbox::queue))
        .route("/inbox/new", post(inbox::make_case))
        .route("/inbox/bulk", post(inbox::bulk))
        .route(
            "/inbox/{id}",
            get(inbox::case_page).post(inbox::case_action),
        )
        .route("/assets/needle.css", get(page::stylesheet))
        .route("/assets/inbox.js", get(page::inbox_script))
        .route("/assets/listening.js", get(page::listening_script))
        .route("/chat.js", get(chat::script))
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(health::metrics))
        .route("/api/openapi.json", get(openapi::document))
        .nest("/api/v1", api)
        .fallback(api::not_found)
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .with_state(state)
}

/// Serves until `shutdown` resolves, then stops taking requests, lets those in flight
/// finish, and drains the pipeline so every accepted message is stored and indexed.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state.clone());
    let stopping_state = state.clone();
    // The peer address feeds the sign-in rate limiter.
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            stopping_state.stopping.store(true, Ordering::SeqCst);
            tracing::info!("shutting down: finishing requests in flight");
        })
        .await
}
