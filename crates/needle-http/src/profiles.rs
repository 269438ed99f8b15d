//! Profiles over HTTP: look one up by identity or name, its 360° timeline, links and
//! unlinks with a reason, the suggestion queue, the audit log, CRM import, export and
//! erasure.
//!
//! Every change names its `actor` (until users sign in, the caller says who it is) and a
//! `reason`; both go into the audit log.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use needle_core::ErrorCode;
use needle_profile::crm::{ColumnMap, import_csv};
use needle_profile::service::{ProfileService, ServiceError, store_id, timeline_json, traits_json};
use needle_profile::{ProfileError, ProfileView};
use needle_store::micros;
use needle_store::profiles::TimelineCursor;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::api::{blocking, query_error, workspace_id_or_default};
use crate::topics::json_body;
use crate::{ApiError, AppState};

use crate::error::AppResult;

/// Largest CRM file one import request may carry.
pub const MAX_CRM_BODY: usize = 64 * 1024 * 1024;

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> ApiError {
        match e {
            ServiceError::Profile(e) => e.into(),
            ServiceError::Store(e) => e.into(),
        }
    }
}

impl From<ProfileError> for ApiError {
    fn from(e: ProfileError) -> ApiError {
        let error = ApiError::new(e.code(), e.to_string());
        match e {
            // Every mistake of a segment definition, with its byte span.
            ProfileError::BadSegment(errors) => {
                error.with("errors", serde_json::to_value(errors).unwrap_or_default())
            }
            _ => error,
        }
    }
}

pub(crate) fn service(state: &AppState) -> AppResult<&Arc<ProfileService>> {
    state.profiles.get().ok_or_else(|| {
        ApiError::new(
            ErrorCode::Unavailable,
            "profiles run in the process that runs the pipeline",
        )
    })
}

pub(crate) fn now() -> i64 {
    micros(time::OffsetDateTime::now_utc())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LookupParams {
    pub workspace: Option<String>,
    /// An identity, `KIND:VALUE` (`email:kim@example.com`).
    pub identity: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    pub workspace: Option<String>,
    /// From `next` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 500 (default 50).
    pub limit: Option<usize>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SuggestionParams {
    pub workspace: Option<String>,
    /// `open` (default), `accepted` or `rejected`.
    pub status: Option<String>,
    pub limit: Option<usize>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    pub workspace: Option<String>,
    /// Column mapping, `FIELD=COLUMN` pairs separated by commas (`id=customer_no`).
    pub map: Option<String>,
}

/// Link two identities, or remove links (by `link` id, or every direct link of `a` and `b`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    pub a: Option<String>,
    pub b: Option<String>,
    pub link: Option<u64>,
    pub reason: String,
    pub actor: Option<String>,
}

/// An agent's decision, or an erasure request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    #[serde(default)]
    pub reason: String,
    pub actor: Option<String>,
}

fn ws(state: &AppState, name: Option<&str>) -> AppResult<i64> {
    workspace_id_or_default(state, name)
}

fn actor(a: &Option<String>) -> String {
    a.as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .unwrap_or("api")
        .to_string()
}

fn view_json(view: &ProfileView) -> Value {
    json!({
        "profile": view.name,
        "identities": view.identities.iter().map(|(_, i)| i.to_string()).collect::<Vec<_>>(),
        "traits": traits_json(view, now()),
        "links": view.links.iter().map(|e| json!({
            "id": e.id,
            "kind": e.evidence.kind.as_str(),
            "source": e.evidence.source,
            "confidence": e.evidence.confidence,
        })).collect::<Vec<_>>(),
    })
}

fn named(svc: &ProfileService, ws: i64, name: &str) -> AppResult<ProfileView> {
    Ok(svc.read(ws, |p| p.profile(name))?)
}

/// The profile an identity belongs to.
#[utoipa::path(get, path = "/api/v1/profiles", tag = "profiles", params(LookupParams),
    responses((status = 200, description = "The profile: identities, resolved and computed traits, links"),
              (status = 404, description = "No such identity has been seen")))]
pub async fn lookup(
    State(state): State<Arc<AppState>>,
    params: Result<Query<LookupParams>, QueryRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    blocking(move || {
        let svc = service(&state)?;
        let ws = ws(&state, params.workspace.as_deref())?;
        let identity = svc.parse_identity(&params.identity)?;
        Ok(Json(view_json(&svc.profile_of(ws, &identity)?)))
    })
    .await
}

/// A profile by name (`p17`).
#[utoipa::path(get, path = "/api/v1/profiles/{profile}", tag = "profiles",
    params(("profile" = String, Path, description = "Profile name"), PageParams),
    responses((status = 200, description = "The profile"), (status = 404, description = "Unknown profile")))]
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    params: Result<Query<PageParams>, QueryRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    blocking(move || {
        let svc = service(&state)?;
        let ws = ws(&state, params.workspace.as_deref())?;
        Ok(Json(view_json(&named(svc, ws, &name)?)))
    })
    .await
}

fn timeline_page(state: &AppState, name: &str, params: &PageParams) -> AppResult<Value> {
    let svc = service(state)?;
    let ws = ws(state, params.workspace.as_deref())?;
    let limit = crate::api::page_limit(params.limit, 50, 500)?;
    let cursor = match params.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => Some(TimelineCursor::decode(c).ok_or_else(|| {
            ApiError::bad_request(format!("cursor {c:?} is not one this API gave out"))
        })?),
    };
    let view = named(svc, ws, name)?;
    let rows = svc.timeline(ws, &view, cursor, limit)?;
    let next = (rows.len() == limit)
        .then(|| rows.last().map(|r| TimelineCursor::after(r).encode()))
        .flatten();
    Ok(
        json!({"profile": view.name, "entries": rows.iter().map(timeline_json).collect::<Vec<_>>(), "next": next}),
    )
}

/// The 360° timeline: messages of all the profile's identities and CRM events, newest first.
#[utoipa::path(get, path = "/api/v1/profiles/{profile}/timeline", tag = "profiles",
    params(("profile" = String, Path, description = "Profile name"), PageParams),
    responses((status = 200, description = "`{entries, next}`; pass `next` as `cursor` for the next page")))]
pub async fn timeline(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    params: Result<Query<PageParams>, QueryRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    blocking(move || Ok(Json(timeline_page(&state, &name, &params)?))).await
}

fn audit_json(
    svc: &ProfileService,
    ws: i64,
    rows: &[needle_store::profiles::AuditRow],
) -> AppResult<Value> {
    let name = |id: i64| -> String {
        svc.read(ws, |p| {
            Ok(p.graph()
                .identity(needle_profile::service::node_of(id))
                .to_string())
        })
        .unwrap_or_else(|_| id.to_string())
    };
    Ok(Value::Array(
        rows.iter()
            .map(|a| {
                json!({
                    "id": a.id,
                    "at": timeline_at(a.at),
                    "actor": a.actor,
                    "action": a.action,
                    "a": name(a.a),
                    "b": a.b.map(name),
                    "link": a.link_id,
                    "reason": a.reason,
                })
            })
            .collect(),
    ))
}

fn timeline_at(us: i64) -> Value {
    needle_core::message::format_time(needle_store::from_micros(us)).into()
}

/// The audit log: every link, unlink, refusal, decision and erasure (of one profile with
/// `profile`, else of the workspace), newest first.
#[utoipa::path(get, path = "/api/v1/profiles/audit", tag = "profiles", params(PageParams),
    responses((status = 200, description = "Audit entries, newest first; `cursor` is the last id seen")))]
pub async fn audit(
    State(state): State<Arc<AppState>>,
    params: Result<Query<PageParams>, QueryRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    blocking(move || {
        let svc = service(&state)?;
        let ws = ws(&state, params.workspace.as_deref())?;
        let before = params
            .cursor
            .as_deref()
            .map(|c| {
                c.parse::<i64>()
                    .map_err(|_| ApiError::bad_request("cursor must be an audit id"))
            })
            .transpose()?;
        let rows = svc.audit(ws, None, before, params.limit.unwrap_or(100).clamp(1, 1000))?;
        Ok(Json(audit_json(svc, ws, &rows)?))
    })
    .await
}

/// Links two identities (`a` and `b`) on an agent's word. Rules still hold: a refused link is a 409 and is logged.
#[utoipa::path(post, path = "/api/v1/profiles/links", tag = "profiles", request_body = LinkBody,
    responses((status = 201, description = "Linked"), (status = 404, description = "An identity was never seen"),
              (status = 409, description = "Already one profile, or a rule refused it")))]
pub async fn link(
    State(state): State<Arc<AppState>>,
    params: Result<Query<crate::api::WorkspaceParam>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let Query(params) = params.map_err(query_error)?;
    let body: LinkBody = json_body(&headers, body)?;
    blocking(move || {
        let svc = service(&state)?;
        let ws = ws(&state, params.workspace.as_deref())?;
        let (Some(a), Some(b)) = (&body.a, &body.b) else {
            return Err(ApiError::bad_request(
                "give the two identities to link as `a` and `b`",
            ));
        };
        let (a, b) = (svc.parse_identity(a)?, svc.parse_identity(b)?);
        let who = actor(&body.actor);
        let linked = svc.with(ws, |p| p.link(&a, &b, &who, &body.reason, now()))?;
        let view = svc.profile_of(ws, &a)?;
        Ok((
            StatusCode::CREATED,
            Json(json!({"link": linked.edge, "profile": view_json(&view)})),
        ))
    })
    .await
}

/// Removes links: by `link` id, or every direct link between `a` and `b`. The profile splits
/// as the remaining evidence says.
#[utoipa::path(post, path = "/api/v1/profiles/unlink", tag = "profiles", request_body = LinkBody,
    responses((status = 200, description = "Unlinked; `split` says whether the profile split"),
              (status = 409, description = "They are not linked")))]
pub async fn unlink(
    State(state): State<Arc<AppState>>,
    params: Result<Query<crate::api::WorkspaceParam>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    let body: LinkBody = json_body(&headers, body)?;
    blocking(move || {
        let svc = service(&state)?;
        let ws = ws(&state, params.workspace.as_deref())?;
        let who = actor(&body.actor);
        let done = match (&body.link, &body.a, &body.b) {
            (Some(link), None, None) => {
                svc.with(ws, |p| p.unlink_edge(*link, &who, &body.reason, now()))?
            }
            (None, Some(a), Some(b)) => {
                let (a, b) = (svc.parse_identity(a)?, svc.parse_identity(b)?);
                svc.with(ws, |p| p.unlink(&a, &b, &who, &body.reason, now()))?
            }
            _ => {
                return Err(ApiError::bad_request(
                    "give either `link` or both `a` and `b`",
                ));
            }
        };
        Ok(Json(json!({"split": done.split})))
    })
    .await
}

/// The review queue: likely-same pairs with their score and evidence.
#[utoipa::path(get, path = "/api/v1/profiles/suggestions", tag = "profiles", params(SuggestionParams),
    responses((status = 200, description = "Suggestions, best score first")))]
pub async fn suggestions(
    State(state): State<Arc<AppState>>,
    params: Result<Query<SuggestionParams>, QueryRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    blocking(move || {
        let svc = service(&state)?;
        let ws = ws(&state, params.workspace.as_deref())?;
        let status = params.status.as_deref().unwrap_or("open");
        let status = needle_profile::SuggestionStatus::parse(status).ok_or_else(|| {
            ApiError::bad_request(format!(
                "status {status:?} is not open, accepted or rejected"
            ))
        })?;
        let limit = params.limit.unwrap_or(100).clamp(1, 1000);
        let list = svc.read(ws, |p| {
            let mut list: Vec<_> = p
                .suggestions()
                .iter()
                .filter(|s| s.status == status)
                .collect();
            list.sort_by(|x, y| y.score.total_cmp(&x.score).then(x.id.cmp(&y.id)));
            Ok(list
                .into_iter()
                .take(limit)
                .map(|s| {
                    json!({
                        "id": s.id,
                        "a": p.graph().identity(s.a).to_string(),
                        "b": p.graph().identity(s.b).to_string(),
                        "score": (f64::from(s.score) * 1000.0).round() / 1000.0,
                        "evidence": s.evidence,
                        "status": s.status.as_str(),
                        "decided_by": s.decided_by,
                    })
                })
                .collect::<Vec<_>>())
        })?;
        Ok(Json(Value::Array(list)))
    })
    .await
}

async fn decide(
    state: Arc<AppState>,
    id: u64,
    params: crate::api::WorkspaceParam,
    body: DecisionBody,
    accept: bool,
) -> AppResult<Json<Value>> {
    blocking(move || {
        let svc = service(&state)?;
        let ws = ws(&state, params.workspace.as_deref())?;
        let who = actor(&body.actor);
        if accept {
            let linked = svc.with(ws, |p| p.accept(id, &who, &body.reason, now()))?;
            Ok(Json(json!({"status": "accepted", "link": linked.edge})))
        } else {
            svc.with(ws, |p| p.reject(id, &who, &body.reason, now()))?;
            Ok(Json(json!({"status": "rejected"})))
        }
    })
    .await
}

/// Accepts a suggestion: its identities are linked on the agent's word.
#[utoipa::path(post, path = "/api/v1/profiles/suggestions/{id}/accept", tag = "profiles", request_body = DecisionBody,
    params(("id" = u64, Path, description = "Suggestion id")),
    responses((status = 200, description = "Accepted"), (status = 404, description = "Unknown"), (status = 409, description = "Decided already, or a rule refused the link")))]
pub async fn accept(
    State(state): State<Arc<AppState>>,
    Path(id): Path<u64>,
    params: Result<Query<crate::api::WorkspaceParam>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    decide(state, id, params, json_body(&headers, body)?, true).await
}

/// Rejects a suggestion.
#[utoipa::path(post, path = "/api/v1/profiles/suggestions/{id}/reject", tag = "profiles", request_body = DecisionBody,
    params(("id" = u64, Path, description = "Suggestion id")),
    responses((status = 200, description = "Rejected"), (status = 404, description = "Unknown"), (status = 409, description = "Decided already")))]
pub async fn reject(
    State(state): State<Arc<AppState>>,
    Path(id): Path<u64>,
    params: Result<Query<crate::api::WorkspaceParam>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    decide(state, id, params, json_body(&headers, body)?, false).await
}

/// Imports a CRM CSV (customers and events; the shape is in the README), as
/// `needle import-profiles` does.
#[utoipa::path(post, path = "/api/v1/profiles/import", tag = "profiles", params(ImportParams),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, description = "The import summary with rejected lines"), (status = 400, description = "Bad header or map")))]
pub async fn import(
    State(state): State<Arc<AppState>>,
    params: Result<Query<ImportParams>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    let body = body.map_err(|r| ApiError::bad_request(r.body_text()))?;
    blocking(move || {
        let svc = service(&state)?;
        let ws = ws(&state, params.workspace.as_deref())?;
        let pairs: Vec<String> = params.map.as_deref().unwrap_or("").split(',').filter(|s| !s.is_empty()).map(String::from).collect();
        let map = ColumnMap::parse(&pairs).map_err(ApiError::bad_request)?;
        let mut header_error = None;
        let summary = svc.with(ws, |p| match import_csv(p, body.as_ref(), &map, "api", now()) {
            Ok(s) => Ok(Some(s)),
            Err(e) => {
                header_error = Some(e);
                Ok(None)
            }
        })?;
        let s = summary.ok_or_else(|| ApiError::bad_request(header_error.unwrap_or_default()))?;
        Ok(Json(json!({
            "imported": s.imported, "duplicates": s.duplicates, "rejected": s.rejected,
            "customers": s.customers, "events": s.events, "links": s.links, "refused": s.refused,
            "rejects": s.rejects.iter().map(|(line, why)| json!({"line": line, "reason": why})).collect::<Vec<_>>(),
        })))
    })
    .await
}

/// Everything held about a profile, as JSON: identities, every source's trait values, links
/// with their evidence, computed traits, the whole timeline and the audit log.
#[utoipa::path(get, path = "/api/v1/profiles/{profile}/export", tag = "profiles",
    params(("profile" = String, Path, description = "Profile name"), crate::api::WorkspaceParam),
    responses((status = 200, description = "The export"), (status = 404, description = "Unknown profile")))]
pub async fn export(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    params: Result<Query<crate::api::WorkspaceParam>, QueryRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    blocking(move || {
        let svc = service(&state)?;
        let ws = ws(&state, params.workspace.as_deref())?;
        let view = named(svc, ws, &name)?;
        let sources = svc.read(ws, |p| {
            Ok(view
                .identities
                .iter()
                .map(|(n, i)| json!({"identity": i.to_string(), "traits": p.traits_of(*n), "activity": p.activity(*n)}))
                .collect::<Vec<_>>())
        })?;
        let mut timeline = Vec::new();
        let mut cursor = None;
        loop {
            let page = svc.timeline(ws, &view, cursor, 500)?;
            let Some(last) = page.last() else { break };
            cursor = Some(TimelineCursor::after(last));
            let seqs: Vec<i64> = page.iter().filter_map(|r| match r.entry {
                needle_store::profiles::TimelineEntry::Message { seq, .. } => Some(seq),
                _ => None,
            }).collect();
            let messages = state.store.get_many(&seqs)?;
            for row in &page {
                let mut entry = timeline_json(row);
                if let needle_store::profiles::TimelineEntry::Message { seq, .. } = row.entry
                    && let Some(m) = messages.iter().find(|m| m.seq == seq)
                {
                    entry["message"] = m.message.to_json();
                }
                timeline.push(entry);
            }
        }
        let ids: Vec<i64> = view.identities.iter().map(|(n, _)| store_id(*n)).collect();
        let audit = state.store_profiles().profile_audit(ws, Some(&ids), None, 10_000)?;
        Ok(Json(json!({
            "profile": view_json(&view),
            "identities": sources,
            "timeline": timeline,
            "audit": audit_json(svc, ws, &audit)?,
        })))
    })
    .await
}

/// Erases a profile (the right to be forgotten): identities, personal fields, traits, events
/// and message texts are removed or redacted, in the store and the search index; message
/// keys and aggregate counts stay. A reason is required.
#[utoipa::path(post, path = "/api/v1/profiles/{profile}/erase", tag = "profiles", request_body = DecisionBody,
    params(("profile" = String, Path, description = "Profile name"), crate::api::WorkspaceParam),
    responses((status = 200, description = "Erased: how many identities and messages"), (status = 404, description = "Unknown profile")))]
pub async fn erase(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    params: Result<Query<crate::api::WorkspaceParam>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    let body: DecisionBody = json_body(&headers, body)?;
    blocking(move || {
        let svc = service(&state)?;
        let ws = ws(&state, params.workspace.as_deref())?;
        let identities = named(svc, ws, &name)?.identities.len();
        let seqs = svc.erase(ws, &name, &actor(&body.actor), &body.reason, now())?;
        let redacted = state.store.get_many(&seqs)?;
        let refs: Vec<&needle_store::StoredMessage> = redacted.iter().collect();
        if let Err(e) = state.index.replace(&refs) {
            // The store is redacted; the index is rebuilt from it by `needle reindex`.
            tracing::error!(error = %e, "erased messages could not be replaced in the search index");
            return Err(ApiError::new(ErrorCode::Internal, format!("the store is erased but the search index could not be updated ({e}); run `needle reindex`")));
        }
        Ok(Json(json!({"erased": name, "identities": identities, "messages_redacted": seqs.len()})))
    })
    .await
}

impl AppState {
    fn store_profiles(&self) -> &Arc<dyn needle_store::Backend> {
        self.listening.store()
    }
}
