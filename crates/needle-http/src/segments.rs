//! Live segments over HTTP: define one with a condition (`country = DE and sentiment(7d) =
//! negative`), see how many profiles are in each, page through a segment's members, remove
//! one. A definition with mistakes is refused with every mistake and its byte span.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use needle_profile::{LiveSegment, parse_profile_name, profile_name};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::api::{WorkspaceParam, blocking, page_limit, query_error, workspace_id_or_default};
use crate::error::AppResult;
use crate::profiles::service;
use crate::topics::json_body;
use crate::{ApiError, AppState};

/// Define or replace a segment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentBody {
    /// The condition, e.g. `country = DE and lifetime_value > 500 and sentiment(7d) = negative`.
    pub definition: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberParams {
    pub workspace: Option<String>,
    /// The last profile of the previous page (its `next`).
    pub cursor: Option<String>,
    /// 1 to 1000 (default 100).
    pub limit: Option<usize>,
}

fn summary(key: &str, live: &LiveSegment) -> Value {
    json!({
        "key": key,
        "definition": live.segment.source(),
        "members": live.members.len(),
        "depends_on_time": live.segment.depends_on_time(),
        "evaluated_at": needle_core::message::format_time(needle_store::from_micros(live.evaluated_at)),
    })
}

/// Every segment of the workspace with its member count.
#[utoipa::path(get, path = "/api/v1/segments", tag = "segments", params(WorkspaceParam),
    responses((status = 200, description = "`{segments: [{key, definition, members, depends_on_time, evaluated_at}]}`")))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    blocking(move || {
        let svc = service(&state)?;
        let ws = workspace_id_or_default(&state, params.workspace.as_deref())?;
        let segments = svc.read_segments(ws, |p| {
            Ok(p.segments()
                .iter()
                .map(|(key, live)| summary(key, live))
                .collect::<Vec<_>>())
        })?;
        Ok(Json(json!({ "segments": segments })))
    })
    .await
}

/// Defines a segment, or replaces its definition; its members are found at once and kept up
/// to date as messages, CRM records and links arrive.
#[utoipa::path(put, path = "/api/v1/segments/{key}", tag = "segments", request_body = SegmentBody,
    params(("key" = String, Path, description = "1 to 64 letters, digits, `_` or `-`"), WorkspaceParam),
    responses((status = 201, description = "Defined"), (status = 200, description = "Replaced"),
              (status = 400, description = "The definition has mistakes: `errors` lists each with its `start` and `end` byte")))]
pub async fn put(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let Query(params) = params.map_err(query_error)?;
    let body: SegmentBody = json_body(&headers, body)?;
    blocking(move || {
        let svc = service(&state)?;
        let ws = workspace_id_or_default(&state, params.workspace.as_deref())?;
        let now = crate::profiles::now();
        let (existed, answer) = svc.with(ws, |p| {
            let existed = p.segments().get(&key).is_some();
            let live = p.define_segment(&key, &body.definition, now)?;
            Ok((existed, summary(&key, live)))
        })?;
        let status = if existed {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        };
        Ok((status, Json(answer)))
    })
    .await
}

/// A segment with a page of its members, in profile order.
#[utoipa::path(get, path = "/api/v1/segments/{key}", tag = "segments",
    params(("key" = String, Path, description = "Segment key"), MemberParams),
    responses((status = 200, description = "`{key, definition, members, profiles: [{profile, identities}], next}`"),
              (status = 404, description = "Unknown segment")))]
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
    params: Result<Query<MemberParams>, QueryRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    let limit = page_limit(params.limit, 100, 1000)?;
    let after = match params.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => Some(parse_profile_name(c).ok_or_else(|| {
            ApiError::bad_request(format!("cursor {c:?} is not a profile name such as p17"))
        })?),
    };
    blocking(move || {
        let svc = service(&state)?;
        let ws = workspace_id_or_default(&state, params.workspace.as_deref())?;
        let answer = svc.read_segments(ws, |p| {
            let live = p.segment(&key)?;
            let range = match after {
                Some(a) => live.members.range(a + 1..),
                None => live.members.range(..),
            };
            let page: Vec<_> = range.take(limit).copied().collect();
            let next = (page.len() == limit)
                .then(|| page.last().map(|&r| profile_name(r)))
                .flatten();
            let profiles: Vec<Value> = page
                .iter()
                .map(|&root| {
                    let graph = p.graph();
                    let identities: Vec<String> = graph
                        .members(root)
                        .into_iter()
                        .map(|m| graph.identity(m).to_string())
                        .collect();
                    json!({"profile": profile_name(root), "identities": identities})
                })
                .collect();
            let mut answer = summary(&key, live);
            answer["profiles"] = profiles.into();
            answer["next"] = next.into();
            Ok(answer)
        })?;
        Ok(Json(answer))
    })
    .await
}

/// Removes a segment (profiles are untouched).
#[utoipa::path(delete, path = "/api/v1/segments/{key}", tag = "segments",
    params(("key" = String, Path, description = "Segment key"), WorkspaceParam),
    responses((status = 204, description = "Removed"), (status = 404, description = "Unknown segment")))]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
) -> AppResult<StatusCode> {
    let Query(params) = params.map_err(query_error)?;
    blocking(move || {
        let svc = service(&state)?;
        let ws = workspace_id_or_default(&state, params.workspace.as_deref())?;
        svc.with(ws, |p| p.remove_segment(&key))?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}
