//! Operations: `/healthz` reports each dependency, `/metrics` renders the Prometheus
//! registry, with the bus's counts read fresh at every scrape.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use needle_bus::BusStats;
use needle_core::ErrorCode;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde_json::{Value, json};

use crate::api::blocking;
use crate::{ApiError, AppState};

/// The bus's counts as gauges, set from [`Transport::stats`] when `/metrics` is scraped.
#[derive(Default)]
pub(crate) struct BusGauges {
    waiting: Gauge<u64, AtomicU64>,
    unacknowledged: Gauge<u64, AtomicU64>,
    redelivered: Gauge<u64, AtomicU64>,
    dead_letters: Gauge<u64, AtomicU64>,
}

impl BusGauges {
    pub(crate) fn register(registry: &mut Registry) -> BusGauges {
        let gauges = BusGauges::default();
        registry.register(
            "needle_bus_waiting_messages",
            "Messages published and not yet delivered to a pipeline worker (consumer lag)",
            gauges.waiting.clone(),
        );
        registry.register(
            "needle_bus_unacknowledged_messages",
            "Messages delivered to workers and not yet acknowledged",
            gauges.unacknowledged.clone(),
        );
        registry.register(
            "needle_bus_redelivered_messages",
            "Unacknowledged messages out on a second or later delivery",
            gauges.redelivered.clone(),
        );
        registry.register(
            "needle_bus_dead_letter_messages",
            "Messages set aside as dead letters",
            gauges.dead_letters.clone(),
        );
        gauges
    }

    fn set(&self, stats: &BusStats) {
        self.waiting.set(stats.waiting);
        self.unacknowledged.set(stats.unacknowledged);
        self.redelivered.set(stats.redelivered);
        self.dead_letters.set(stats.dead_letters);
    }
}

/// One dependency's state for `/healthz`.
fn check<T>(result: &Result<T, String>) -> Value {
    match result {
        Ok(_) => json!("ok"),
        Err(e) => json!({"error": e}),
    }
}

/// Reports whether the store, the index and (in a cluster) the bus answer, with the bus's
/// counts. 503 when one is down or the server is stopping.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Healthy"), (status = 503, description = "A dependency is down")))]
pub async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    let checked = blocking(move || {
        let store = state.store.count(None).map_err(|e| e.to_string());
        let bus = state
            .bus
            .as_ref()
            .map(|bus| bus.stats().map_err(|e| e.to_string()));
        Ok((store, bus, state.index.num_docs(), state.is_stopping()))
    })
    .await;
    let (store, bus, indexed, stopping) = match checked {
        Ok(checked) => checked,
        Err(e) => return e.into_response(),
    };
    let mut checks = json!({"store": check(&store), "index": "ok"});
    if let Some(bus) = &bus {
        checks["bus"] = check(bus);
    }
    let healthy = store.is_ok() && bus.as_ref().is_none_or(Result::is_ok);
    let status = match (healthy, stopping) {
        (_, true) => "stopping",
        (true, false) => "ok",
        (false, false) => "unavailable",
    };
    let mut body = json!({"status": status, "checks": checks, "indexed": indexed});
    if let Ok(messages) = store {
        body["messages"] = json!(messages);
    }
    if let Some(Ok(stats)) = bus {
        body["bus"] = json!({
            "waiting": stats.waiting,
            "unacknowledged": stats.unacknowledged,
            "redelivered": stats.redelivered,
            "dead_letters": stats.dead_letters,
        });
    }
    let code = if healthy && !stopping {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}

/// Prometheus metrics in the OpenMetrics text format.
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    if let (Some(bus), Some(gauges)) = (state.bus.clone(), &state.bus_gauges) {
        // A bus that does not answer leaves the last counts standing; /healthz says why.
        let stats = tokio::task::spawn_blocking(move || bus.stats()).await;
        match stats {
            Ok(Ok(stats)) => gauges.set(&stats),
            Ok(Err(e)) => tracing::debug!(error = %e, "bus stats for /metrics"),
            Err(e) => tracing::warn!(error = %e, "bus stats task failed"),
        }
    }
    let scraped = state.clone();
    match blocking(move || scraped.connection_gauges.refresh(&scraped)).await {
        Ok(()) => {}
        Err(e) => tracing::warn!(error = %e.message, "connection health for /metrics"),
    }
    let mut text = String::new();
    match prometheus_client::encoding::text::encode(&mut text, &state.registry) {
        Ok(()) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => ApiError::new(
            ErrorCode::Internal,
            format!("could not render metrics: {e}"),
        )
        .into_response(),
    }
}
