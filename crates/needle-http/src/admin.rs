//! Admin things: the people page (add a user, change a role) and the audit log.
//!
//! An admin of every workspace manages everyone; an admin of one workspace manages the
//! people of that workspace and may grant roles only there. Everyone else gets 403.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form, Json};
use maud::{Markup, html};
use needle_core::ErrorCode;
use needle_core::message::format_time;
use needle_store::Workspace;
use needle_store::accounts::{EVERY_WORKSPACE, Grant, NewUser, Role, User};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{blocking, query_error, workspace_or_default};
use crate::auth::{self, Principal, secrets};
use crate::error::AppResult;
use crate::page::{page, signed_in};
use crate::{ApiError, AppState};

/// The workspaces (ids) the principal administers, or `None` for all of them.
fn administered(principal: &Principal) -> Option<Vec<i64>> {
    if principal.role_everywhere() == Some(Role::Admin) {
        return None;
    }
    Some(
        principal
            .grants
            .iter()
            .filter(|g| g.role == Role::Admin)
            .map(|g| g.workspace_id)
            .collect(),
    )
}

fn is_admin(principal: &Principal) -> bool {
    administered(principal).is_none_or(|ids| !ids.is_empty())
}

fn workspace_label(id: i64, workspaces: &[Workspace]) -> String {
    if id == EVERY_WORKSPACE {
        return "every workspace".into();
    }
    workspaces
        .iter()
        .find(|w| w.id == id)
        .map_or_else(|| format!("workspace #{id}"), |w| w.name.clone())
}

struct PeopleView {
    users: Vec<User>,
    /// Workspaces the viewer may grant roles in.
    grantable: Vec<Workspace>,
    everywhere: bool,
    all: Vec<Workspace>,
}

fn load(state: &AppState, principal: &Principal) -> AppResult<PeopleView> {
    let all = state.store.workspaces()?;
    let scope = administered(principal);
    let users = state
        .listening
        .store()
        .users()?
        .into_iter()
        .filter(|u| match &scope {
            None => true,
            Some(ids) => u.grants.iter().any(|g| ids.contains(&g.workspace_id)),
        })
        .collect();
    let grantable = all
        .iter()
        .filter(|w| scope.as_ref().is_none_or(|ids| ids.contains(&w.id)))
        .cloned()
        .collect();
    Ok(PeopleView {
        users,
        grantable,
        everywhere: scope.is_none(),
        all,
    })
}

fn people_body(principal: &Principal, view: &PeopleView, notice: Option<Markup>) -> Markup {
    let csrf = principal
        .session
        .as_ref()
        .map(|k| k.csrf.as_str())
        .unwrap_or("");
    let workspace_select = html! {
        select name="workspace" {
            @if view.everywhere { option value="*" { "every workspace" } }
            @for w in &view.grantable { option value=(w.name) { (w.name) } }
        }
    };
    let role_select = html! {
        select name="role" {
            @for r in Role::ALL { option value=(r.as_str()) { (r.as_str()) } }
        }
    };
    html! {
        h2 { "People" }
        @if let Some(notice) = notice { (notice) }
        table.people {
            thead { tr { th scope="col" { "Email" } th scope="col" { "Roles" } th scope="col" { "Since" } } }
            tbody {
                @for u in &view.users {
                    tr {
                        td { (u.email) @if u.must_change_password { " " span.badge { "password not yet chosen" } } }
                        td { @for g in &u.grants { span.role { (g.role.as_str()) " in " (workspace_label(g.workspace_id, &view.all)) } " " } }
                        td { time datetime=(format_time(u.created_at)) { (format_time(u.created_at)) } }
                    }
                }
            }
        }
        section aria-labelledby="add-title" {
            h3 #add-title { "Add a person" }
            form.inline method="post" action="/admin/people" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="action" value="add";
                label { "Email" input type="email" name="email" required; }
                label { "Role" (role_select) }
                label { "Workspace" (workspace_select) }
                button type="submit" { "Add" }
            }
        }
        section aria-labelledby="role-title" {
            h3 #role-title { "Change a role" }
            form.inline method="post" action="/admin/people" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="action" value="role";
                label { "Email" input type="email" name="email" required; }
                label { "Role" (role_select) }
                label { "Workspace" (workspace_select) }
                button type="submit" { "Change" }
            }
        }
    }
}

fn refused(principal: &Principal) -> Response {
    let body = html! {
        h2 { "Not for your role" }
        p.error role="alert" { "Only admins manage people. Ask an admin if you need a change." }
    };
    (
        StatusCode::FORBIDDEN,
        page("People · Needle", Some(principal), body),
    )
        .into_response()
}

async fn render(
    state: &Arc<AppState>,
    principal: &Principal,
    status: StatusCode,
    notice: Option<Markup>,
) -> Response {
    let (state, viewer) = (state.clone(), principal.clone());
    match blocking(move || load(&state, &viewer)).await {
        Ok(view) => (
            status,
            page(
                "People · Needle",
                Some(principal),
                people_body(principal, &view, notice),
            ),
        )
            .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            page(
                "People · Needle",
                Some(principal),
                html! { p.error { (e.message) } },
            ),
        )
            .into_response(),
    }
}

pub async fn people(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let principal = match signed_in(&state, &headers).await {
        Ok(p) => p,
        Err(elsewhere) => return elsewhere,
    };
    if !is_admin(&principal) {
        return refused(&principal);
    }
    render(&state, &principal, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub struct PeopleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    workspace: String,
}

pub async fn people_submit(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<PeopleForm>,
) -> Response {
    let principal = match signed_in(&state, &headers).await {
        Ok(p) => p,
        Err(elsewhere) => return elsewhere,
    };
    if !is_admin(&principal) {
        return refused(&principal);
    }
    let csrf_ok = principal
        .session
        .as_ref()
        .is_some_and(|k| secrets::same_secret(&k.csrf, &form.csrf));
    let problem = |status, text: String| async move {
        let notice = html! { p.error role="alert" { (text) } };
        (status, notice)
    };
    let (status, notice) = if !csrf_ok {
        problem(StatusCode::FORBIDDEN, "The form expired; try again.".into()).await
    } else {
        match change_people(&state, &principal, form).await {
            Ok(notice) => (StatusCode::OK, notice),
            Err(e) => {
                let status =
                    StatusCode::from_u16(e.code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
                problem(status, e.message).await
            }
        }
    };
    render(&state, &principal, status, Some(notice)).await
}

/// Adds a user or changes a role as the form says; the notice to show.
async fn change_people(
    state: &Arc<AppState>,
    principal: &Principal,
    form: PeopleForm,
) -> AppResult<Markup> {
    let email = form.email.trim().to_lowercase();
    if !valid_email(&email) {
        return Err(ApiError::bad_request(format!(
            "{:?} is not an email address",
            form.email
        )));
    }
    let role = Role::parse(&form.role)
        .ok_or_else(|| ApiError::bad_request("the role must be admin, analyst or agent"))?;
    let scope = administered(principal);
    let workspace_id = if form.workspace == "*" {
        if scope.is_some() {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "only an admin of every workspace grants roles everywhere",
            ));
        }
        EVERY_WORKSPACE
    } else {
        let (state, name) = (state.clone(), form.workspace.clone());
        let ws = blocking(move || workspace_or_default(&state, Some(&name))).await?;
        if scope.as_ref().is_some_and(|ids| !ids.contains(&ws.id)) {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("you are not an admin of workspace {:?}", ws.name),
            ));
        }
        ws.id
    };
    let grant = Grant { workspace_id, role };
    match form.action.as_str() {
        "add" => {
            let password = secrets::new_password();
            let added = {
                let (state, email, hash) = (
                    state.clone(),
                    email.clone(),
                    secrets::hash_password(&password),
                );
                blocking(move || {
                    Ok(state.listening.store().add_user(&NewUser {
                        email: &email,
                        password_hash: &hash,
                        must_change_password: true,
                        grant,
                    })?)
                })
                .await?
            };
            if added.is_none() {
                return Err(ApiError::new(
                    ErrorCode::Conflict,
                    format!("{email} already has an account; change their role instead"),
                ));
            }
            auth::audit(
                state,
                workspace_id,
                &principal.actor,
                "user.added",
                &email,
                json!({"role": role.as_str()}),
            )
            .await;
            Ok(html! {
                div.notice role="status" {
                    p { "Added " strong { (email) } " as " (role.as_str()) ". Their one-time password, shown only now:" }
                    p { code.secret { (password) } }
                    p { "They choose their own when they first sign in." }
                }
            })
        }
        "role" => {
            let changed = {
                let (state, email) = (state.clone(), email.clone());
                blocking(
                    move || match state.listening.store().user_by_email(&email)? {
                        Some((user, _)) => Ok(state.listening.store().set_role(user.id, grant)?),
                        None => Ok(false),
                    },
                )
                .await?
            };
            if !changed {
                return Err(ApiError::new(
                    ErrorCode::NotFound,
                    format!("nobody has the email {email}"),
                ));
            }
            auth::audit(
                state,
                workspace_id,
                &principal.actor,
                "role.changed",
                &email,
                json!({"role": role.as_str()}),
            )
            .await;
            Ok(html! { p.notice role="status" { (email) " is now " (role.as_str()) "." } })
        }
        other => Err(ApiError::bad_request(format!("unknown action {other:?}"))),
    }
}

/// Good enough to catch typing slips: one `@`, something on each side, a dot in the domain,
/// no spaces or controls. Delivery is the real test.
pub fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[derive(Debug, Deserialize)]
pub struct AuditParams {
    pub workspace: Option<String>,
    /// Entries older than this id (the `next` of the previous page).
    pub before: Option<i64>,
    pub limit: Option<usize>,
}

/// `GET /api/v1/audit`: the workspace's audit log, newest first. Admins of every workspace
/// also see sign-ins and other entries of no workspace.
pub async fn audit_log(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    params: Result<Query<AuditParams>, QueryRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    let limit = params.limit.unwrap_or(100).clamp(1, 1000);
    blocking(move || {
        let ws = workspace_or_default(&state, params.workspace.as_deref())?;
        let everywhere = principal.role_everywhere() == Some(Role::Admin);
        let entries: Vec<Value> = state
            .listening
            .store()
            .audit_log(Some(ws.id), params.before, limit)?
            .into_iter()
            .filter(|e| everywhere || e.workspace_id != EVERY_WORKSPACE)
            .map(|e| {
                json!({"id": e.id, "at": format_time(e.at), "actor": e.actor, "action": e.action,
                       "subject": e.subject, "detail": e.detail,
                       "workspace": (e.workspace_id != EVERY_WORKSPACE).then(|| ws.name.clone())})
            })
            .collect();
        let next = (entries.len() == limit).then(|| entries.last().map(|e| e["id"].clone()));
        Ok(Json(json!({"entries": entries, "next": next.flatten()})))
    })
    .await
}
