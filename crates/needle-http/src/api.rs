//! The REST API handlers.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use needle_bus::Envelope;
use needle_core::message::parse_time;
use needle_core::{ErrorCode, Invalid, Message};
use needle_listen::search::NqlSearch;
use needle_pipeline::{Batch, Item, Outcome};
use needle_store::{Cursor, ListFilter, StoredMessage, Workspace, micros};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Principal;
use crate::{ApiError, AppState, DEFAULT_WORKSPACE, MAX_BATCH};

use crate::error::AppResult;

/// Runs synchronous store or index work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    tokio::task::spawn_blocking(f).await?
}

pub(crate) fn query_error(rejection: QueryRejection) -> ApiError {
    ApiError::bad_request(format!("bad query parameters: {}", rejection.body_text()))
}

pub(crate) fn workspace_named(state: &AppState, name: &str) -> AppResult<Workspace> {
    state.store.workspace(name)?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            format!("unknown workspace {name:?}; create it with POST /api/v1/workspaces"),
        )
    })
}

/// The workspace a request names, or the default one when it names none.
pub(crate) fn workspace_or_default(state: &AppState, name: Option<&str>) -> AppResult<Workspace> {
    workspace_named(state, name.unwrap_or(DEFAULT_WORKSPACE))
}

/// The id of the workspace a request names, or of the default one when it names none.
pub(crate) fn workspace_id_or_default(state: &AppState, name: Option<&str>) -> AppResult<i64> {
    Ok(workspace_or_default(state, name)?.id)
}

/// A stored message of the workspace, or 404 naming it. Channels are stored lower-case.
pub(crate) fn stored_message(
    state: &AppState,
    workspace_id: i64,
    channel: &str,
    id: &str,
) -> AppResult<StoredMessage> {
    state
        .store
        .get(workspace_id, &channel.to_ascii_lowercase(), id)?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                format!("no message {channel}/{id} in this workspace"),
            )
        })
}

/// 503 once shutdown has begun: work in flight drains, new work is refused.
pub(crate) fn refuse_while_stopping(state: &AppState) -> AppResult<()> {
    if state.is_stopping() {
        return Err(ApiError::new(
            ErrorCode::Unavailable,
            "needle is shutting down; retry shortly",
        ));
    }
    Ok(())
}

/// The body of a request that takes a large one: 413 over the limit, 400 when unreadable.
pub(crate) fn read_body(body: Result<Bytes, BytesRejection>) -> AppResult<Bytes> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("the body is larger than {} bytes", crate::MAX_INGEST_BODY),
            )
        } else {
            ApiError::bad_request(format!(
                "could not read the body: {}",
                rejection.body_text()
            ))
        }
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WorkspaceParam {
    /// Workspace name (default `default`).
    pub workspace: Option<String>,
}

/// What happened to one message of an ingest batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct IngestResult {
    /// Position in the batch, from 0.
    pub index: usize,
    pub id: Option<String>,
    pub channel: Option<String>,
    /// `created`, `duplicate`, `rejected` or `failed`.
    pub status: &'static str,
    /// The stored message's sequence number.
    pub seq: Option<i64>,
    pub error: Option<ErrorBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}

/// The answer to an ingest request.
#[derive(Debug, Serialize, ToSchema)]
pub struct IngestResponse {
    pub created: usize,
    pub duplicates: usize,
    pub rejected: usize,
    pub results: Vec<IngestResult>,
}

fn invalid_body(invalid: &Invalid) -> ErrorBody {
    ErrorBody {
        code: ErrorCode::InvalidMessage.as_str().into(),
        message: invalid.to_string(),
    }
}

/// Reads the body as a list of JSON values: an array, `{"messages": [...]}`, one message
/// object, or JSON Lines.
fn values_of(headers: &HeaderMap, body: &[u8]) -> AppResult<Vec<Value>> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let is_json = content_type == "application/json" || content_type.ends_with("+json");
    let is_lines = matches!(
        content_type.as_str(),
        "application/x-ndjson"
            | "application/jsonl"
            | "application/x-jsonlines"
            | "application/jsonlines"
    );
    if !is_json && !is_lines {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            format!(
                "send messages as application/json (an array) or application/x-ndjson, not {:?}",
                if content_type.is_empty() {
                    "no content type"
                } else {
                    content_type.as_str()
                }
            ),
        ));
    }
    let text = std::str::from_utf8(body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body is not valid UTF-8 (at byte {})",
            e.valid_up_to()
        ))
    })?;
    if is_lines {
        return text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(n, line)| {
                serde_json::from_str(line).map_err(|e| {
                    ApiError::bad_request(format!("line {}: not valid JSON: {e}", n + 1))
                })
            })
            .collect();
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?;
    match value {
        Value::Array(items) => Ok(items),
        Value::Object(mut obj) if obj.contains_key("messages") => match obj.remove("messages") {
            Some(Value::Array(items)) => Ok(items),
            _ => Err(ApiError::new(
                ErrorCode::InvalidMessage,
                "`messages` must be an array of messages",
            )),
        },
        Value::Object(_) => Ok(vec![value]),
        other => Err(ApiError::new(
            ErrorCode::InvalidMessage,
            format!(
                "expected an array of messages, got {}",
                needle_core::message::type_name(&other)
            ),
        )),
    }
}

/// Takes in a batch of up to 1,000 messages.
#[utoipa::path(
    post, path = "/api/v1/messages", tag = "messages",
    params(WorkspaceParam),
    request_body(content = Vec<Object>, description = "Messages in the shape of specs/message.md: a JSON array, `{\"messages\": [...]}`, or JSON Lines (application/x-ndjson)"),
    responses(
        (status = 200, description = "Every message has a result; some may be rejected", body = IngestResponse),
        (status = 400, description = "The body is not JSON"),
        (status = 413, description = "More than 1,000 messages or a body over 32 MiB"),
        (status = 415, description = "Not JSON or JSON Lines"),
        (status = 422, description = "Every message was rejected; results say why"),
        (status = 503, description = "Shutting down; retry"),
    )
)]
pub async fn ingest(
    State(state): State<Arc<AppState>>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    refuse_while_stopping(&state)?;
    let Query(params) = params.map_err(query_error)?;
    let body = read_body(body)?;
    let values = values_of(&headers, &body)?;
    if values.is_empty() {
        return Err(ApiError::bad_request(
            "the batch is empty: send at least one message",
        ));
    }
    if values.len() > MAX_BATCH {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "a batch holds at most {MAX_BATCH} messages; this one has {}",
                values.len()
            ),
        ));
    }
    let name = params.workspace.unwrap_or_else(|| DEFAULT_WORKSPACE.into());
    let workspace = {
        let state = state.clone();
        blocking(move || workspace_named(&state, &name)).await?
    };

    // Parse each message; remember where each parsed one sits in the request.
    let mut results: Vec<IngestResult> = Vec::with_capacity(values.len());
    let mut items = Vec::new();
    let mut positions = Vec::new();
    for (index, value) in values.into_iter().enumerate() {
        let id = value.get("id").and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
        let channel = value
            .get("channel")
            .and_then(Value::as_str)
            .map(str::to_string);
        match Message::from_json(value) {
            Ok(message) => {
                positions.push(index);
                items.push(Item::new(message));
                results.push(IngestResult {
                    index,
                    id,
                    channel,
                    status: "pending",
                    seq: None,
                    error: None,
                });
            }
            Err(invalid) => results.push(IngestResult {
                index,
                id,
                channel,
                status: "rejected",
                seq: None,
                error: Some(invalid_body(&invalid)),
            }),
        }
    }

    submit(&state, workspace.id, results, items, positions).await
}

/// Runs parsed messages through the pipeline (or, in a cluster, onto the bus) and answers
/// as ingest does: `results` holds one entry per message of the request, already filled for
/// those refused while parsing; `items[k]` is the message at `results[positions[k]]`.
pub(crate) async fn submit(
    state: &Arc<AppState>,
    workspace_id: i64,
    mut results: Vec<IngestResult>,
    items: Vec<Item>,
    positions: Vec<usize>,
) -> AppResult<Response> {
    let mut failure: Option<ApiError> = None;
    if !items.is_empty()
        && let Some(bus) = state.bus.clone()
    {
        // A cluster: the batch is durable once the bus has it; workers store it later.
        let envelopes: Vec<Envelope> = items
            .into_iter()
            .map(|item| Envelope::new(workspace_id, item.message))
            .collect();
        tokio::task::spawn_blocking(move || bus.publish(&envelopes))
            .await?
            .map_err(|e| ApiError::new(e.code(), e.to_string()))?;
        for index in positions {
            results[index].status = "accepted";
        }
        let accepted = results.iter().filter(|r| r.status == "accepted").count();
        let rejected = results.len() - accepted;
        let body = json!({"accepted": accepted, "rejected": rejected, "results": results});
        return Ok((StatusCode::ACCEPTED, Json(body)).into_response());
    }
    if !items.is_empty() {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let submitter = state.clone();
        let batch = Batch::new(workspace_id, items);
        tokio::task::spawn_blocking(move || {
            let pipeline = submitter.pipeline.as_ref().ok_or(needle_pipeline::Closed)?;
            pipeline.submit(batch, move |done| {
                let _ = tx.send(done);
            })
        })
        .await?
        .map_err(|_| {
            ApiError::new(
                ErrorCode::Unavailable,
                "needle is shutting down; retry shortly",
            )
        })?;
        let done = rx.await.map_err(|_| {
            ApiError::new(
                ErrorCode::Unavailable,
                "the pipeline stopped; retry shortly",
            )
        })?;
        for (item, index) in done.items.into_iter().zip(positions) {
            let result = &mut results[index];
            match item.outcome {
                Outcome::Stored(seq) => {
                    result.status = "created";
                    result.seq = Some(seq);
                }
                Outcome::Duplicate(seq) => {
                    result.status = "duplicate";
                    result.seq = Some(seq);
                }
                Outcome::Rejected(invalid) => {
                    result.status = "rejected";
                    result.error = Some(invalid_body(&invalid));
                }
                Outcome::Failed { code, reason } => {
                    result.status = "failed";
                    result.error = Some(ErrorBody {
                        code: code.as_str().into(),
                        message: reason.clone(),
                    });
                    failure.get_or_insert(ApiError::new(code, reason));
                }
                Outcome::Pending => {
                    result.status = "failed";
                    failure.get_or_insert(ApiError::new(
                        ErrorCode::Internal,
                        "a message left the pipeline unprocessed",
                    ));
                }
            }
        }
    }

    let count = |status: &str| results.iter().filter(|r| r.status == status).count();
    let response = IngestResponse {
        created: count("created"),
        duplicates: count("duplicate"),
        rejected: count("rejected"),
        results,
    };
    if let Some(error) = failure {
        return Err(error.with(
            "results",
            serde_json::to_value(&response.results).unwrap_or_default(),
        ));
    }
    if response.created + response.duplicates == 0 {
        return Err(ApiError::new(
            ErrorCode::InvalidMessage,
            format!(
                "all {} messages were rejected; `results` says why for each",
                response.rejected
            ),
        )
        .with(
            "results",
            serde_json::to_value(&response.results).unwrap_or_default(),
        ));
    }
    Ok(Json(response).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Workspace name (default `default`).
    pub workspace: Option<String>,
    /// A query in the Needle Query Language (words, "phrases", AND/OR/NOT, NEAR/n, fields).
    pub q: Option<String>,
    /// Only this channel (`email`, `mastodon`, …).
    pub channel: Option<String>,
    /// Only messages created at or after this RFC 3339 time.
    pub since: Option<String>,
    /// Only messages created before this RFC 3339 time.
    pub until: Option<String>,
    /// Page size, 1 to 1000 (default 50).
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One page of messages, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessagePage {
    /// Messages in the shape of specs/message.md.
    pub messages: Vec<Object>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A JSON object (documented by specs/message.md).
#[derive(Debug, Serialize, ToSchema)]
#[schema(value_type = Object)]
pub struct Object(pub Value);

fn time_param(name: &str, value: Option<&str>) -> AppResult<Option<i64>> {
    value
        .filter(|v| !v.trim().is_empty())
        .map(|v| {
            parse_time(v).map(micros).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "`{name}` must be an RFC 3339 time such as 2026-03-02T14:05:09Z, got {v:?}"
                ))
            })
        })
        .transpose()
}

/// A page of messages after filtering and search, with the cursor of the next page.
pub struct Listing {
    pub workspace: Workspace,
    pub messages: Vec<StoredMessage>,
    pub next: Option<Cursor>,
    /// With a query: why each message matched, in the same order.
    pub explanations: Vec<needle_nql::Explanation>,
    /// With a query: what the linter noticed (the query ran anyway).
    pub warnings: Vec<needle_nql::Diagnostic>,
}

/// A name people give a thing in a URL (a team, a canned response): letters, digits, `-`
/// and `_`, at most 64; `what` names it in the refusal.
pub(crate) fn check_name(what: &str, name: &str) -> AppResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "{what} names use letters, digits, - and _ (at most 64), got {name:?}"
        )))
    }
}

/// A page size from `?limit=`: `default` when absent, refused outside 1 to `max`.
pub(crate) fn page_limit(given: Option<usize>, default: usize, max: usize) -> AppResult<usize> {
    let limit = given.unwrap_or(default);
    if (1..=max).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::bad_request(format!(
            "`limit` must be from 1 to {max}, got {limit}"
        )))
    }
}

/// Lists or searches messages: the API and the page share this.
pub(crate) fn run_listing(state: &AppState, params: &ListParams) -> AppResult<Listing> {
    let workspace = workspace_named(
        state,
        params.workspace.as_deref().unwrap_or(DEFAULT_WORKSPACE),
    )?;
    let limit = page_limit(params.limit, 50, 1000)?;
    let since_us = time_param("since", params.since.as_deref())?;
    let until_us = time_param("until", params.until.as_deref())?;
    let cursor = match params.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(token) => Some(Cursor::decode(token).ok_or_else(|| {
            ApiError::bad_request(
                "`cursor` is not one this server gave out; start from the first page",
            )
        })?),
    };
    let channel = params
        .channel
        .clone()
        .filter(|c| !c.is_empty())
        .map(|c| c.to_ascii_lowercase());
    let text = params.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let mut explanations = Vec::new();
    let mut warnings = Vec::new();
    let (messages, next) = match text {
        Some(text) => {
            let found = state.listening.search(&NqlSearch {
                workspace_id: workspace.id,
                query: text,
                channel,
                since_us,
                until_us,
                cursor,
                limit,
            })?;
            warnings = found.warnings;
            let (messages, why): (Vec<_>, Vec<_>) = found.messages.into_iter().unzip();
            explanations = why;
            (messages, found.next)
        }
        None => {
            let filter = ListFilter {
                channel,
                since: since_us.map(needle_store::from_micros),
                until: until_us.map(needle_store::from_micros),
            };
            let mut messages = state.store.list(workspace.id, &filter, cursor, limit + 1)?;
            let next = if messages.len() > limit {
                messages.truncate(limit);
                messages.last().map(Cursor::after)
            } else {
                None
            };
            (messages, next)
        }
    };
    Ok(Listing {
        workspace,
        messages,
        next,
        explanations,
        warnings,
    })
}

/// Lists messages newest first, optionally searched and filtered.
#[utoipa::path(
    get, path = "/api/v1/messages", tag = "messages",
    params(ListParams),
    responses(
        (status = 200, body = MessagePage),
        (status = 400, description = "A bad parameter or query, named in the message"),
        (status = 404, description = "Unknown workspace"),
    )
)]
pub async fn list(
    State(state): State<Arc<AppState>>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    let params_had_query = params.q.as_deref().is_some_and(|q| !q.trim().is_empty());
    let listing = blocking(move || run_listing(&state, &params)).await?;
    let mut body = json!({
        "messages": listing.messages.iter().map(stored_json).collect::<Vec<_>>(),
        "next_cursor": listing.next.map(Cursor::encode),
    });
    if params_had_query {
        body["matches"] = serde_json::to_value(&listing.explanations).unwrap_or_default();
        body["warnings"] = serde_json::to_value(&listing.warnings).unwrap_or_default();
    }
    Ok(Json(body))
}

/// One message by channel and id.
#[utoipa::path(
    get, path = "/api/v1/messages/{channel}/{id}", tag = "messages",
    params(
        ("channel" = String, Path, description = "Channel kind"),
        ("id" = String, Path, description = "The channel's id for the message"),
        WorkspaceParam,
    ),
    responses((status = 200, body = Object), (status = 404, description = "No such message"))
)]
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    Path((channel, id)): Path<(String, String)>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    let stored = blocking(move || {
        let ws = workspace_named(
            &state,
            params.workspace.as_deref().unwrap_or(DEFAULT_WORKSPACE),
        )?;
        stored_message(&state, ws.id, &channel, &id)
    })
    .await?;
    Ok(Json(stored_json(&stored)))
}

/// A workspace and how many messages it holds.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceInfo {
    pub name: String,
    pub demo: bool,
    pub created_at: String,
    pub messages: u64,
}

/// Lists the workspaces the caller has a role in.
#[utoipa::path(get, path = "/api/v1/workspaces", tag = "workspaces",
    responses((status = 200, body = Vec<WorkspaceInfo>)))]
pub async fn workspaces(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
) -> AppResult<Json<Vec<WorkspaceInfo>>> {
    let list = blocking(move || {
        principal
            .visible(state.store.workspaces()?)
            .into_iter()
            .map(|w| {
                Ok(WorkspaceInfo {
                    messages: state.store.count(Some(w.id))?,
                    name: w.name,
                    demo: w.demo,
                    created_at: needle_core::message::format_time(w.created_at),
                })
            })
            .collect::<AppResult<Vec<_>>>()
    })
    .await?;
    Ok(Json(list))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewWorkspace {
    /// Lower-case letters, digits, `-` and `_`; at most 64.
    pub name: String,
}

fn valid_workspace_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 64
        && matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Creates a workspace (or returns the one of that name).
#[utoipa::path(post, path = "/api/v1/workspaces", tag = "workspaces", request_body = NewWorkspace,
    responses((status = 201, body = WorkspaceInfo), (status = 400, description = "Bad name")))]
pub async fn create_workspace(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    let body = body.map_err(|r| ApiError::bad_request(r.body_text()))?;
    let value = values_of(&headers, &body)?.pop().unwrap_or(Value::Null);
    let request: NewWorkspace = serde_json::from_value(value).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidMessage,
            format!("expected {{\"name\": \"…\"}}: {e}"),
        )
    })?;
    if !valid_workspace_name(&request.name) {
        return Err(ApiError::new(
            ErrorCode::InvalidMessage,
            format!(
                "workspace names use lower-case letters, digits, - and _ (at most 64), got {:?}",
                request.name
            ),
        ));
    }
    let ws = blocking(move || Ok(state.store.ensure_workspace(&request.name, false)?)).await?;
    let info = WorkspaceInfo {
        name: ws.name,
        demo: ws.demo,
        created_at: needle_core::message::format_time(ws.created_at),
        messages: 0,
    };
    Ok((StatusCode::CREATED, Json(info)).into_response())
}

/// Messages the pipeline set aside (invalid, or failing after every retry), with why.
#[utoipa::path(get, path = "/api/v1/dead-letters", tag = "operations",
    responses((status = 200, description = "Newest first"), (status = 404, description = "Embedded mode has no bus")))]
pub async fn dead_letters(State(state): State<Arc<AppState>>) -> AppResult<Json<Value>> {
    let Some(bus) = state.bus.clone() else {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            "this server runs its pipeline in process: invalid messages are rejected in the ingest answer",
        ));
    };
    let letters = tokio::task::spawn_blocking(move || bus.dead_letters(100))
        .await?
        .map_err(|e| ApiError::new(e.code(), e.to_string()))?;
    let list: Vec<Value> = letters
        .into_iter()
        .map(|d| {
            json!({"id": d.id, "workspace_id": d.workspace_id, "key": d.key, "reason": d.reason,
                   "attempts": d.attempts, "at": needle_core::message::format_time(d.at),
                   "envelope": serde_json::from_str::<Value>(&d.envelope_json).unwrap_or(Value::String(d.envelope_json))})
        })
        .collect();
    Ok(Json(Value::Array(list)))
}

pub async fn not_found() -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        "no such endpoint; see /api/openapi.json",
    )
}

/// A stored message as the API shows it: the message shape, plus `classification` (language,
/// sentiment, intents, entities) when the classify stage saw it.
pub(crate) fn stored_json(stored: &StoredMessage) -> serde_json::Value {
    let mut value = stored.message.to_json();
    if let Some(c) = &stored.classification {
        value["classification"] = serde_json::to_value(c).unwrap_or_default();
    }
    value
}
