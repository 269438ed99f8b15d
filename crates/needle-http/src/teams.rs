//! Teams over HTTP: who is in each, their business hours, how new cases are assigned and
//! which channels' new cases each takes. Admins keep them; everyone may read them (with
//! each member's open cases, so a lead sees the load).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use needle_cases::hours::BusinessHours;
use needle_core::ErrorCode;
use needle_core::message::format_time;
use needle_store::accounts::{Role, role_in};
use needle_store::teams::{Assignment, Team, TeamSpec};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{WorkspaceParam, blocking, query_error, workspace_or_default};
use crate::error::AppResult;
use crate::topics::json_body;
use crate::{ApiError, AppState};

/// Most members one team holds.
const MAX_MEMBERS: usize = 500;

fn team_json(team: &Team, load: &[u64]) -> Value {
    json!({
        "name": team.name,
        "members": team.members.iter().zip(load.iter().chain(std::iter::repeat(&0)))
            .map(|(m, n)| json!({"email": m, "open_cases": n}))
            .collect::<Vec<_>>(),
        "hours": team.hours,
        "assignment": team.assignment.as_str(),
        "channels": team.channels,
        "updated_at": format_time(team.updated_at),
    })
}

/// `GET /api/v1/teams`: the workspace's teams, with each member's open cases.
pub async fn list(
    State(state): State<Arc<AppState>>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    blocking(move || {
        let ws = workspace_or_default(&state, params.workspace.as_deref())?;
        let store = state.listening.store();
        let mut teams = Vec::new();
        for team in store.teams(ws.id)? {
            let load = store.open_load(ws.id, &team.members)?;
            teams.push(team_json(&team, &load));
        }
        Ok(Json(json!({"teams": teams})))
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamBody {
    /// E-mail addresses of agents or admins of the workspace, in turn order.
    #[serde(default)]
    pub members: Vec<String>,
    /// `Mon-Fri 09:00-17:00 +01:00` (default `always`).
    pub hours: Option<String>,
    /// `manual` (default), `round_robin` or `least_loaded`.
    pub assignment: Option<String>,
    /// New cases from these channels come to this team.
    #[serde(default)]
    pub channels: Vec<String>,
}

/// `PUT /api/v1/teams/{name}`: creates or replaces a team. Every member must be able to
/// work cases in the workspace (an agent or an admin there).
pub async fn put(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let Query(params) = params.map_err(query_error)?;
    crate::api::check_name("team", &name)?;
    let body: TeamBody = json_body(&headers, body)?;
    let hours_text = body.hours.as_deref().unwrap_or("always");
    let hours = BusinessHours::parse(hours_text)
        .map_err(|why| ApiError::bad_request(format!("`hours`: {why}")))?;
    let assignment = match body.assignment.as_deref() {
        None => Assignment::Manual,
        Some(a) => Assignment::parse(a).ok_or_else(|| {
            ApiError::bad_request(format!(
                "`assignment` is manual, round_robin or least_loaded, not {a:?}"
            ))
        })?,
    };
    if body.members.len() > MAX_MEMBERS {
        return Err(ApiError::bad_request(format!(
            "a team holds at most {MAX_MEMBERS} members"
        )));
    }
    let mut members: Vec<String> = Vec::new();
    for m in &body.members {
        let m = m.trim().to_lowercase();
        if !members.contains(&m) {
            members.push(m);
        }
    }
    if assignment != Assignment::Manual && members.is_empty() {
        return Err(ApiError::bad_request(
            "a team that assigns cases needs members",
        ));
    }
    let channels: Vec<String> = body
        .channels
        .iter()
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    if let Some(bad) = channels.iter().find(|c| c.is_empty() || c.len() > 64) {
        return Err(ApiError::bad_request(format!(
            "`channels` holds channel kinds such as email or chat, not {bad:?}"
        )));
    }
    blocking(move || {
        let ws = workspace_or_default(&state, params.workspace.as_deref())?;
        let store = state.listening.store();
        let users = store.users()?;
        for m in &members {
            let role = users
                .iter()
                .find(|u| &u.email == m)
                .and_then(|u| role_in(&u.grants, ws.id));
            match role {
                Some(Role::Agent | Role::Admin) => {}
                Some(other) => {
                    return Err(ApiError::new(
                        ErrorCode::InvalidMessage,
                        format!(
                            "{m} is an {} in {:?}; team members work cases (agents or admins)",
                            other.as_str(),
                            ws.name
                        ),
                    ));
                }
                None => {
                    return Err(ApiError::new(
                        ErrorCode::InvalidMessage,
                        format!("{m} has no role in {:?}; add them first", ws.name),
                    ));
                }
            }
        }
        let hours = hours.to_string();
        let created = store.put_team(
            ws.id,
            &TeamSpec {
                name: &name,
                members: &members,
                hours: &hours,
                assignment,
                channels: &channels,
            },
        )?;
        let team = store
            .teams(ws.id)?
            .into_iter()
            .find(|t| t.name == name)
            .ok_or_else(|| ApiError::new(ErrorCode::Internal, "the team was not kept"))?;
        let load = store.open_load(ws.id, &team.members)?;
        let status = if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        Ok((status, Json(team_json(&team, &load))))
    })
    .await
}

/// `DELETE /api/v1/teams/{name}`: its cases keep the name, and their assignees.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
) -> AppResult<StatusCode> {
    let Query(params) = params.map_err(query_error)?;
    blocking(move || {
        let ws = workspace_or_default(&state, params.workspace.as_deref())?;
        if state.listening.store().remove_team(ws.id, &name)? {
            Ok(StatusCode::NO_CONTENT)
        } else {
            Err(ApiError::new(
                ErrorCode::NotFound,
                format!("no team {name:?}"),
            ))
        }
    })
    .await
}
