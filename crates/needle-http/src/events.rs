//! `GET /api/v1/events`: a workspace's live events as server-sent events, from this
//! process's feed (which, in a cluster, carries every process's events through NATS).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::sse::{self, KeepAlive, Sse};
use futures_util::Stream;
use futures_util::stream::unfold;
use needle_bus::Event;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use utoipa::IntoParams;

use crate::AppState;
use crate::api::{blocking, query_error, workspace_id_or_default};

use crate::error::AppResult;

/// How often an idle stream looks whether the server is stopping, so that open pages do
/// not hold a graceful shutdown up.
const STOP_CHECK: Duration = Duration::from_millis(500);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsParams {
    /// The workspace to follow (default `default`).
    pub workspace: Option<String>,
}

fn sse_event(event: &Event) -> sse::Event {
    sse::Event::default()
        .event(&event.kind)
        .data(event.data.to_string())
}

/// What happens in a workspace, live: `message.stored` (`seq`, `channel`, `id`,
/// `created_at`), `topic.changed` (`key`), and `lagged` (`missed`) when this stream fell
/// behind and skipped events — reload from the API then. Best effort: the store is the truth.
#[utoipa::path(get, path = "/api/v1/events", tag = "operations", params(EventsParams),
    responses((status = 200, description = "text/event-stream"), (status = 404, description = "No such workspace")))]
pub async fn stream(
    State(state): State<Arc<AppState>>,
    params: Result<Query<EventsParams>, QueryRejection>,
) -> AppResult<Sse<impl Stream<Item = Result<sse::Event, Infallible>>>> {
    let Query(params) = params.map_err(query_error)?;
    let workspace_id = {
        let state = state.clone();
        blocking(move || workspace_id_or_default(&state, params.workspace.as_deref())).await?
    };
    let receiver = state.feed.subscribe();
    let events = unfold((receiver, state), move |(mut receiver, state)| async move {
        loop {
            if state.is_stopping() {
                return None;
            }
            let next = match tokio::time::timeout(STOP_CHECK, receiver.recv()).await {
                Err(_) => continue,
                Ok(next) => next,
            };
            let out = match next {
                Ok(event) if event.workspace_id == workspace_id => sse_event(&event),
                Ok(_) => continue,
                Err(RecvError::Lagged(missed)) => sse::Event::default()
                    .event("lagged")
                    .data(json!({ "missed": missed }).to_string()),
                Err(RecvError::Closed) => return None,
            };
            return Some((Ok(out), (receiver, state)));
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}
