//! `GET /api/v1/notifications`: the notes that mentioned the caller, unread first. A mention
//! is read once its person opens the case in the inbox; until then the case is in their
//! Mentions queue.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::{Extension, Json};
use needle_core::message::format_time;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{blocking, query_error, workspace_or_default};
use crate::auth::Principal;
use crate::cases::email_of;
use crate::error::AppResult;
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize)]
pub struct NotificationsParams {
    pub workspace: Option<String>,
    /// 1 to 500 (default 50).
    pub limit: Option<usize>,
}

/// `GET /api/v1/notifications`: `{"notifications": [{id, kind, case, subject, from, text,
/// at, read}], "unread_cases": n}` for the signed-in caller, where `unread_cases` is the size
/// of their Mentions queue.
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    params: Result<Query<NotificationsParams>, QueryRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    let me = email_of(&principal)
        .ok_or_else(|| {
            ApiError::bad_request("notifications are a signed-in person's, not a token's")
        })?
        .to_string();
    let limit = params.limit.unwrap_or(50).clamp(1, 500);
    blocking(move || {
        let ws = workspace_or_default(&state, params.workspace.as_deref())?;
        let store = state.listening.store();
        let mentions = store.mentions(ws.id, &me, limit)?;
        let unread = store.count_cases(
            ws.id,
            &[needle_store::cases::Queue::Mentioned(me.clone())],
            time::OffsetDateTime::now_utc(),
        )?;
        Ok(Json(json!({
            "notifications": mentions.iter().map(|m| json!({
                "id": m.id,
                "kind": "mention",
                "case": m.case_id,
                "subject": m.subject,
                "from": m.actor,
                "text": m.text,
                "at": format_time(m.at),
                "read": m.seen_at.is_some(),
            })).collect::<Vec<_>>(),
            "unread_cases": unread.first().copied().unwrap_or(0),
        })))
    })
    .await
}
