//! One change to many cases at once: the inbox's bulk bar (`POST /inbox/bulk`) and
//! `POST /api/v1/cases/bulk`. Each case is changed exactly as a single change would change it
//! ([`apply_change`]: its history, the audit log, the live event), one after the other; one
//! case failing (unknown, in another workspace) is reported beside the others, never
//! skipped in silence, and does not undo them.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::{Extension, Json};
use needle_store::cases::{Case, CaseChange};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::api::{WorkspaceParam, blocking, query_error, workspace_or_default};
use crate::auth::Principal;
use crate::cases::{ChangeBody, apply_change, case_in, case_json, change_of, email_of};
use crate::error::AppResult;
use crate::topics::json_body;
use crate::{ApiError, AppState};

/// Most cases one bulk change may name.
pub const MAX_BULK: usize = 500;

/// What a bulk change does to each case.
#[derive(Debug, Clone)]
pub enum Bulk {
    /// The same change to every case, as `POST /api/v1/cases/{id}` takes it.
    Change(CaseChange),
    /// Adds a label to the case's own labels (the bulk bar's "Add label").
    AddLabel(String),
}

/// The ids to change: 1 to [`MAX_BULK`], each once, in the order given.
pub fn check_ids(ids: &[i64]) -> AppResult<Vec<i64>> {
    if ids.is_empty() || ids.len() > MAX_BULK {
        return Err(ApiError::bad_request(format!(
            "a bulk change names 1 to {MAX_BULK} cases, got {}",
            ids.len()
        )));
    }
    let mut seen = std::collections::HashSet::new();
    Ok(ids.iter().copied().filter(|id| seen.insert(*id)).collect())
}

/// Changes each case as `principal`; per case, the changed case or why it was not changed.
pub fn apply_all(
    state: &AppState,
    workspace_id: i64,
    ids: &[i64],
    bulk: &Bulk,
    principal: &Principal,
) -> Vec<(i64, AppResult<Case>)> {
    let changed: Vec<_> = ids
        .iter()
        .map(|&id| {
            let done = match bulk {
                Bulk::Change(change) => apply_change(state, workspace_id, id, change, principal),
                Bulk::AddLabel(label) => add_label(state, workspace_id, id, label, principal),
            };
            (id, done)
        })
        .collect();
    let entry = needle_store::accounts::AuditEntry::now(
        workspace_id,
        &principal.actor,
        "case.bulk",
        "cases",
        json!({
            "ids": ids,
            "changed": changed.iter().filter(|(_, r)| r.is_ok()).count(),
            "change": describe(bulk),
        }),
    );
    crate::auth::record(state.listening.store().as_ref(), &entry);
    changed
}

/// The case's labels and one more, through the same checks and change as any other.
fn add_label(
    state: &AppState,
    workspace_id: i64,
    id: i64,
    label: &str,
    principal: &Principal,
) -> AppResult<Case> {
    let case = case_in(state, workspace_id, id)?;
    let mut labels = case.labels.clone();
    labels.push(label.to_string());
    let change = change_of(
        ChangeBody {
            labels: Some(labels),
            ..ChangeBody::default()
        },
        email_of(principal),
    )?;
    if change.labels.as_ref() == Some(&case.labels) {
        return Ok(case);
    }
    apply_change(state, workspace_id, id, &change, principal)
}

/// A bulk change as the audit log records it.
fn describe(bulk: &Bulk) -> Value {
    match bulk {
        Bulk::AddLabel(label) => json!({"add_label": label}),
        Bulk::Change(c) => json!({
            "status": c.status.map(|s| s.as_str()),
            "assignee": c.assignee,
            "priority": c.priority.map(|p| p.as_str()),
            "labels": c.labels,
        }),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkBody {
    pub ids: Vec<i64>,
    pub change: ChangeBody,
}

/// `POST /api/v1/cases/bulk` `{"ids": [...], "change": {...}}`: `{"results": [{id, ok,
/// case | error}], "changed": n, "failed": n}`, in the order of `ids`.
pub async fn api(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    let body: BulkBody = json_body(&headers, body)?;
    let ids = check_ids(&body.ids)?;
    let change = change_of(body.change, email_of(&principal))?;
    if change == CaseChange::default() {
        return Err(ApiError::bad_request(
            "the change changes nothing: give status, assignee, priority or labels",
        ));
    }
    blocking(move || {
        let ws = workspace_or_default(&state, params.workspace.as_deref())?;
        let now = OffsetDateTime::now_utc();
        let done = apply_all(&state, ws.id, &ids, &Bulk::Change(change), &principal);
        let changed = done.iter().filter(|(_, r)| r.is_ok()).count();
        let results: Vec<Value> = done
            .into_iter()
            .map(|(id, r)| match r {
                Ok(case) => json!({"id": id, "ok": true, "case": case_json(&case, now)}),
                Err(e) => json!({"id": id, "ok": false, "error": {
                    "code": e.code.as_str(), "message": e.message,
                }}),
            })
            .collect();
        Ok(Json(json!({
            "changed": changed,
            "failed": results.len() - changed,
            "results": results,
        })))
    })
    .await
}
