//! Topics over HTTP: create, change (a new version), list, delete, their messages, their
//! backfill progress, and a linter for the query editor.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use needle_bus::Event;
use needle_core::ErrorCode;
use needle_core::message::format_time;
use needle_store::Cursor;
use needle_store::topics::TopicRecord;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::api::{WorkspaceParam, blocking, query_error, workspace_id_or_default};
use crate::{ApiError, AppState};

use crate::error::AppResult;

/// A topic as sent by clients.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopicBody {
    /// The topic's id in its workspace (letters, digits, `-`, `_`, `.`). Taken from the
    /// path on PUT.
    pub id: Option<String>,
    /// `owned`, `brand`, `competitor` or `category`.
    pub level: String,
    /// An NQL query.
    pub query: String,
    /// An NQL query; messages matching it are left out of the topic.
    pub exclude: Option<String>,
}

pub(crate) fn json_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<T> {
    let is_json = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/json")
        });
    if !is_json {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "send application/json",
        ));
    }
    let body = body.map_err(|r| ApiError::bad_request(r.body_text()))?;
    serde_json::from_slice(&body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => {
            ApiError::new(ErrorCode::InvalidMessage, e.to_string())
        }
        _ => ApiError::bad_request(format!("the body is not valid JSON: {e}")),
    })
}

/// A topic with its history size and backfill progress.
fn topic_json(state: &AppState, topic: &TopicRecord) -> AppResult<Value> {
    let matched = state.store_topics().topic_count(topic.id, topic.version)?;
    let backfill = state
        .store_topics()
        .backfill(topic.id, topic.version)?
        .map(|b| {
            json!({
                "state": if b.is_finished() { "done" } else { "running" },
                "done": b.done,
                "total": b.total,
                "matched": b.matched,
                "progress": if b.total == 0 { 1.0 } else { b.done as f64 / b.total as f64 },
            })
        });
    Ok(json!({
        "id": topic.key,
        "level": topic.level,
        "version": topic.version,
        "query": topic.query,
        "exclude": topic.exclude,
        "created_at": format_time(topic.created_at),
        "updated_at": format_time(topic.updated_at),
        "messages": matched,
        "backfill": backfill,
    }))
}

impl AppState {
    fn store_topics(&self) -> &Arc<dyn needle_store::Backend> {
        self.listening.store()
    }
}

fn workspace_of(state: &AppState, params: &WorkspaceParam) -> AppResult<i64> {
    workspace_id_or_default(state, params.workspace.as_deref())
}

/// Lists the workspace's topics.
#[utoipa::path(get, path = "/api/v1/topics", tag = "topics", params(WorkspaceParam),
    responses((status = 200, description = "Topics with their message counts and backfill progress")))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    blocking(move || {
        let ws = workspace_of(&state, &params)?;
        let topics = state.store_topics().topics(Some(ws))?;
        let list: AppResult<Vec<Value>> = topics.iter().map(|t| topic_json(&state, t)).collect();
        Ok(Json(Value::Array(list?)))
    })
    .await
}

/// Tells pipeline workers (and open pages) at once, rather than at their next reload.
fn announce_topic_changed(state: &AppState, workspace_id: i64, key: &str) {
    state.feed.announce(Event::new(
        workspace_id,
        Event::TOPIC_CHANGED,
        json!({ "key": key }),
    ));
}

fn save(state: &AppState, ws: i64, key: &str, body: &TopicBody) -> AppResult<Value> {
    let record =
        state
            .listening
            .save_topic(ws, key, &body.level, &body.query, body.exclude.as_deref())?;
    announce_topic_changed(state, ws, key);
    topic_json(state, &record)
}

/// Creates a topic; its history is backfilled in the background.
#[utoipa::path(post, path = "/api/v1/topics", tag = "topics", params(WorkspaceParam), request_body = TopicBody,
    responses((status = 201, description = "Created"), (status = 409, description = "A topic with that id exists"),
              (status = 422, description = "A query has errors; `lint` lists them with spans")))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    let Query(params) = params.map_err(query_error)?;
    let body: TopicBody = json_body(&headers, body)?;
    let key = body
        .id
        .clone()
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidMessage, "`id` is required"))?;
    let created = blocking(move || {
        let ws = workspace_of(&state, &params)?;
        if state.store_topics().topic(ws, &key)?.is_some() {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!("topic {key:?} exists; change it with PUT /api/v1/topics/{key}"),
            ));
        }
        save(&state, ws, &key, &body)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// Creates or changes a topic. A change makes a new version; the old one keeps its history.
#[utoipa::path(put, path = "/api/v1/topics/{key}", tag = "topics", params(("key" = String, Path), WorkspaceParam),
    request_body = TopicBody, responses((status = 200, description = "The topic now"), (status = 422, description = "Query errors")))]
pub async fn update(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    let body: TopicBody = json_body(&headers, body)?;
    if body.id.as_deref().is_some_and(|id| id != key) {
        return Err(ApiError::new(
            ErrorCode::InvalidMessage,
            "`id` in the body differs from the path",
        ));
    }
    blocking(move || {
        let ws = workspace_of(&state, &params)?;
        Ok(Json(save(&state, ws, &key, &body)?))
    })
    .await
}

/// A topic with every version.
#[utoipa::path(get, path = "/api/v1/topics/{key}", tag = "topics", params(("key" = String, Path), WorkspaceParam),
    responses((status = 200, description = "The topic"), (status = 404, description = "No such topic")))]
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    blocking(move || {
        let ws = workspace_of(&state, &params)?;
        let topic = state
            .store_topics()
            .topic(ws, &key)?
            .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no topic {key:?}")))?;
        let mut body = topic_json(&state, &topic)?;
        let versions: Vec<Value> = state
            .store_topics()
            .topic_versions(topic.id)?
            .into_iter()
            .map(|v| {
                json!({"version": v.version, "level": v.level, "query": v.query,
                       "exclude": v.exclude, "created_at": format_time(v.created_at)})
            })
            .collect();
        body["versions"] = Value::Array(versions);
        Ok(Json(body))
    })
    .await
}

/// Stops matching a topic; its history stays.
#[utoipa::path(delete, path = "/api/v1/topics/{key}", tag = "topics", params(("key" = String, Path), WorkspaceParam),
    responses((status = 204, description = "Deleted"), (status = 404, description = "No such topic")))]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
) -> AppResult<StatusCode> {
    let Query(params) = params.map_err(query_error)?;
    blocking(move || {
        let ws = workspace_of(&state, &params)?;
        state.listening.delete_topic(ws, &key)?;
        announce_topic_changed(&state, ws, &key);
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TopicMessagesParams {
    pub workspace: Option<String>,
    /// Which version's history (default: the current one).
    pub version: Option<i64>,
    pub cursor: Option<String>,
    /// 1 to 1000 (default 50).
    pub limit: Option<usize>,
}

/// A topic's messages, newest first: live matches and backfilled history.
#[utoipa::path(get, path = "/api/v1/topics/{key}/messages", tag = "topics",
    params(("key" = String, Path), TopicMessagesParams),
    responses((status = 200, description = "Messages and the next cursor"), (status = 404, description = "No such topic")))]
pub async fn messages(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
    params: Result<Query<TopicMessagesParams>, QueryRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    let limit = crate::api::page_limit(params.limit, 50, 1000)?;
    let cursor = match params.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(token) => Some(
            Cursor::decode(token)
                .ok_or_else(|| ApiError::bad_request("`cursor` is not one this server gave out"))?,
        ),
    };
    blocking(move || {
        let ws = workspace_of(
            &state,
            &WorkspaceParam {
                workspace: params.workspace.clone(),
            },
        )?;
        let topic = state
            .store_topics()
            .topic(ws, &key)?
            .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no topic {key:?}")))?;
        let version = params.version.unwrap_or(topic.version);
        let mut page = state
            .store_topics()
            .topic_messages(topic.id, version, cursor, limit + 1)?;
        let next = (page.len() > limit).then(|| {
            page.truncate(limit);
            page.last().map(Cursor::after)
        });
        Ok(Json(json!({
            "topic": topic.key,
            "version": version,
            "messages": page.iter().map(crate::api::stored_json).collect::<Vec<_>>(),
            "next_cursor": next.flatten().map(Cursor::encode),
        })))
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LintBody {
    pub query: String,
}

/// Checks an NQL query: errors and warnings with byte spans (as `needle query lint --json`).
#[utoipa::path(post, path = "/api/v1/query/lint", tag = "topics", request_body = LintBody,
    responses((status = 200, description = "`{\"errors\":[…],\"warnings\":[…]}`")))]
pub async fn lint(
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Json<Value>> {
    let body: LintBody = json_body(&headers, body)?;
    let report = needle_nql::lint(&body.query);
    Ok(Json(serde_json::to_value(&report).unwrap_or_default()))
}
