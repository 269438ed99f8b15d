//! Cases through the API: queues, one case with its conversation and history, changes
//! (status, assignee, priority, labels) and internal notes with @mentions.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::{Extension, Json};
use needle_core::ErrorCode;
use needle_core::message::format_time;
use needle_store::cases::{Case, CaseChange, CaseStatus, Priority, Queue};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::api::{WorkspaceParam, blocking, query_error, stored_json, workspace_or_default};
use crate::auth::Principal;
use crate::error::AppResult;
use crate::topics::json_body;
use crate::{ApiError, AppState};

/// Messages shown in one conversation.
pub const THREAD_LIMIT: usize = 500;
/// Longest note.
const MAX_NOTE: usize = 10_000;

/// The queues every inbox shows, for a principal with this email.
pub fn standard_queues(email: Option<&str>) -> Vec<(&'static str, Queue)> {
    let mut queues = vec![("open", Queue::Open), ("unassigned", Queue::Unassigned)];
    if let Some(email) = email {
        queues.splice(
            0..0,
            [
                ("mine", Queue::Mine(email.to_string())),
                ("mentions", Queue::Mentioned(email.to_string())),
            ],
        );
    }
    queues.extend([
        ("breached", Queue::Breached),
        ("pending", Queue::Pending),
        ("snoozed", Queue::Snoozed),
        ("resolved", Queue::Resolved),
    ]);
    queues
}

/// A queue by name: `open`, `mine`, `mentions`, `unassigned`, `pending`, `snoozed`,
/// `breached`, `resolved`, `label:NAME` or `team:NAME`.
pub fn parse_queue(name: &str, me: Option<&str>) -> AppResult<Queue> {
    if let Some(label) = name.strip_prefix("label:") {
        return Ok(Queue::Label(label.to_string()));
    }
    if let Some(team) = name.strip_prefix("team:") {
        return Ok(Queue::Team(team.to_string()));
    }
    if name == "mine" || name == "mentions" {
        let me = me.ok_or_else(|| {
            ApiError::bad_request(format!(
                "`{name}` is a queue of a signed-in person, not of a token"
            ))
        })?;
        return Ok(standard_queues(Some(me))
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, q)| q)
            .expect("a signed-in person's standard queues hold it"));
    }
    standard_queues(None)
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, q)| q)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "unknown queue {name:?}: open, mine, mentions, unassigned, pending, snoozed, breached, resolved, label:NAME or team:NAME"
            ))
        })
}

/// The email of a signed-in principal (tokens have none).
pub fn email_of(principal: &Principal) -> Option<&str> {
    principal.actor.strip_prefix("user:")
}

pub fn case_json(case: &Case, now: OffsetDateTime) -> Value {
    json!({
        "id": case.id,
        "channel": case.channel,
        "thread_id": case.thread_id,
        "subject": case.subject,
        "customer": case.customer,
        "status": case.status.as_str(),
        "snoozed_until": case.snoozed_until.map(format_time),
        "priority": case.priority.as_str(),
        "assignee": case.assignee,
        "labels": case.labels,
        "team": case.team,
        "opened_at": format_time(case.opened_at),
        "last_inbound_at": format_time(case.last_inbound_at),
        "first_response_due": format_time(case.first_response_due),
        "first_response_at": case.first_response_at.map(format_time),
        "resolution_due": format_time(case.resolution_due),
        "resolved_at": case.resolved_at.map(format_time),
        "breached": case.breached(now),
        "messages": case.messages,
    })
}

#[derive(Debug, Deserialize)]
pub struct CasesParams {
    pub workspace: Option<String>,
    /// Default `open`.
    pub queue: Option<String>,
    /// 1 to 500 (default 50).
    pub limit: Option<usize>,
}

/// `GET /api/v1/cases`: one queue's cases, by priority then longest waiting, with the size
/// of every standard queue.
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    params: Result<Query<CasesParams>, QueryRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    let me = email_of(&principal).map(str::to_string);
    let queue = parse_queue(params.queue.as_deref().unwrap_or("open"), me.as_deref())?;
    let limit = params.limit.unwrap_or(50).clamp(1, 500);
    blocking(move || {
        let ws = workspace_or_default(&state, params.workspace.as_deref())?;
        let now = OffsetDateTime::now_utc();
        let store = state.listening.store();
        let cases = store.cases(ws.id, &queue, now, limit)?;
        let standard = standard_queues(me.as_deref());
        let queues: Vec<Queue> = standard.iter().map(|(_, q)| q.clone()).collect();
        let counts = store.count_cases(ws.id, &queues, now)?;
        let counts: serde_json::Map<String, Value> = standard
            .iter()
            .zip(counts)
            .map(|((name, _), n)| (name.to_string(), json!(n)))
            .collect();
        Ok(Json(json!({
            "cases": cases.iter().map(|c| case_json(c, now)).collect::<Vec<_>>(),
            "counts": counts,
        })))
    })
    .await
}

/// A case, its conversation and its history, for the API and the conversation page.
pub struct CaseView {
    pub case: Case,
    pub messages: Vec<needle_store::StoredMessage>,
    pub events: Vec<needle_store::cases::CaseEvent>,
    /// The customer across channels (as `needle profile show --json` prints it), when
    /// profiles run in this process and know the author.
    pub profile: Option<Value>,
}

/// Entries of the customer's timeline shown beside a conversation.
const PROFILE_TIMELINE: usize = 10;

/// The profile of a message's author: tried by email, phone, then the channel's handle and
/// id, as identity resolution records them.
fn profile_of(
    state: &AppState,
    workspace_id: i64,
    message: &needle_core::Message,
) -> Option<Value> {
    let svc = state.profiles.get()?;
    let a = &message.author;
    let written = [
        a.email.as_ref().map(|e| format!("email:{e}")),
        a.phone.as_ref().map(|p| format!("phone:{p}")),
        a.handle
            .as_ref()
            .map(|h| format!("{}:{h}", message.channel)),
        a.id.as_ref().map(|i| format!("{}:{i}", message.channel)),
    ];
    written.into_iter().flatten().find_map(|w| {
        let identity = svc.parse_identity(&w).ok()?;
        let view = svc.profile_of(workspace_id, &identity).ok()?;
        let timeline = svc
            .timeline(workspace_id, &view, None, PROFILE_TIMELINE)
            .unwrap_or_default();
        Some(needle_profile::service::profile_json(
            &view,
            &timeline,
            crate::profiles::now(),
        ))
    })
}

/// Case `id` of a workspace, or not found.
pub fn case_in(state: &AppState, workspace_id: i64, id: i64) -> AppResult<Case> {
    state
        .listening
        .store()
        .case(workspace_id, id)?
        .ok_or_else(|| no_case(id))
}

fn no_case(id: i64) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!("no case {id} in this workspace"),
    )
}

pub fn load_case(state: &AppState, workspace_id: i64, id: i64) -> AppResult<CaseView> {
    let store = state.listening.store();
    let case = case_in(state, workspace_id, id)?;
    let messages =
        store.thread_messages(workspace_id, &case.channel, &case.thread_id, THREAD_LIMIT)?;
    let events = store.case_events(case.id)?;
    let customer = messages
        .iter()
        .rev()
        .find(|m| m.message.direction == needle_core::Direction::Inbound);
    let profile = customer.and_then(|m| profile_of(state, workspace_id, &m.message));
    Ok(CaseView {
        case,
        messages,
        events,
        profile,
    })
}

/// `GET /api/v1/cases/{id}`: the case, its conversation, its history, the customer's
/// profile, and who else has it open (`presence`, as this node knows).
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<i64>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    blocking(move || {
        let ws = workspace_or_default(&state, params.workspace.as_deref())?;
        let view = load_case(&state, ws.id, id)?;
        let now = OffsetDateTime::now_utc();
        let here =
            state
                .presence
                .others((ws.id, id), email_of(&principal), std::time::Instant::now());
        Ok(Json(json!({
            "case": case_json(&view.case, now),
            "messages": view.messages.iter().map(stored_json).collect::<Vec<_>>(),
            "events": view.events.iter().map(|e| json!({
                "at": format_time(e.at), "actor": e.actor, "kind": e.kind, "body": e.body,
            })).collect::<Vec<_>>(),
            "profile": view.profile,
            "presence": crate::presence::presence_json(&here),
        })))
    })
    .await
}

/// A change as the API takes it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeBody {
    pub status: Option<String>,
    /// RFC 3339, with `status: snoozed`.
    pub snoozed_until: Option<String>,
    /// An email, `me`, `auto` (the case's team picks, by its way of assigning), or null
    /// to unassign.
    #[serde(default, with = "double_option")]
    pub assignee: Option<Option<String>>,
    pub priority: Option<String>,
    pub labels: Option<Vec<String>>,
    /// A team of the workspace, or null to take the case from its team.
    #[serde(default, with = "double_option")]
    pub team: Option<Option<String>>,
}

/// The assignee that asks the case's team to pick one.
pub const AUTO_ASSIGNEE: &str = "auto";

mod double_option {
    //! `"assignee": null` (unassign) apart from no `assignee` at all (leave it).
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }
}

/// An optional named choice (`"resolved"`), or a bad request listing the choices.
fn parse_choice<T>(
    value: Option<&str>,
    parse: fn(&str) -> Option<T>,
    what: &str,
    choices: &str,
) -> AppResult<Option<T>> {
    value
        .map(|v| {
            parse(v)
                .ok_or_else(|| ApiError::bad_request(format!("unknown {what} {v:?}: {choices}")))
        })
        .transpose()
}

/// Checks a change and turns it into the store's terms.
pub fn change_of(body: ChangeBody, me: Option<&str>) -> AppResult<CaseChange> {
    let status = parse_choice(
        body.status.as_deref(),
        CaseStatus::parse,
        "status",
        "open, pending, snoozed or resolved",
    )?;
    let snoozed_until = body
        .snoozed_until
        .as_deref()
        .map(|t| {
            needle_core::message::parse_time(t).ok_or_else(|| {
                ApiError::bad_request(format!("snoozed_until: {t:?} is not an RFC 3339 time"))
            })
        })
        .transpose()?;
    if status == Some(CaseStatus::Snoozed) && snoozed_until.is_none() {
        return Err(ApiError::bad_request("snoozing needs `snoozed_until`"));
    }
    let assignee = match body.assignee {
        Some(Some(who)) if who == AUTO_ASSIGNEE => Some(Some(who)),
        Some(Some(who)) if who == "me" => Some(Some(
            me.ok_or_else(|| {
                ApiError::bad_request("a token is nobody: assign an email instead of `me`")
            })?
            .to_string(),
        )),
        Some(Some(who)) => {
            let who = who.trim().to_lowercase();
            if !crate::valid_email(&who) {
                return Err(ApiError::bad_request(format!(
                    "assignee {who:?} is not an email"
                )));
            }
            Some(Some(who))
        }
        other => other,
    };
    let priority = parse_choice(
        body.priority.as_deref(),
        Priority::parse,
        "priority",
        "urgent, high, normal or low",
    )?;
    let labels = body
        .labels
        .map(|labels| {
            let mut clean: Vec<String> = labels.iter().map(|l| l.trim().to_lowercase()).collect();
            clean.retain(|l| !l.is_empty());
            clean.sort();
            clean.dedup();
            if clean
                .iter()
                .any(|l| l.len() > 64 || l.chars().any(char::is_control))
            {
                return Err(ApiError::bad_request(
                    "a label has at most 64 visible characters",
                ));
            }
            Ok(clean)
        })
        .transpose()?;
    let team = body
        .team
        .map(|t| t.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()));
    Ok(CaseChange {
        status,
        snoozed_until,
        assignee,
        priority,
        labels,
        team,
    })
}

/// Checks the team a change names, and turns an `auto` assignee into the member the case's
/// team picks.
fn resolve_team_parts(
    state: &AppState,
    workspace_id: i64,
    id: i64,
    change: &CaseChange,
) -> AppResult<CaseChange> {
    let store = state.listening.store();
    let wants_auto = change.assignee == Some(Some(AUTO_ASSIGNEE.to_string()));
    if change.team.as_ref().is_none_or(Option::is_none) && !wants_auto {
        return Ok(change.clone());
    }
    let teams = store.teams(workspace_id)?;
    let named = |name: &str| {
        teams.iter().find(|t| t.name == name).ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidMessage,
                format!("no team {name:?} in this workspace"),
            )
        })
    };
    if let Some(Some(team)) = &change.team {
        named(team)?;
    }
    let mut resolved = change.clone();
    if wants_auto {
        let team_name = match &change.team {
            Some(team) => team.clone(),
            None => store.case(workspace_id, id)?.and_then(|c| c.team),
        };
        let team = team_name
            .as_deref()
            .map(named)
            .transpose()?
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidMessage,
                    "`auto` needs the case to be a team's; give it a team first",
                )
            })?;
        let who = needle_cases::routing::pick_assignee(store.as_ref(), workspace_id, team)?
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidMessage,
                    format!("team {:?} assigns by hand (or has no members)", team.name),
                )
            })?;
        resolved.assignee = Some(Some(who));
    }
    Ok(resolved)
}

/// Tells live pages (`case.changed`) that case `id` has something new.
pub fn announce_case(state: &AppState, workspace_id: i64, id: i64, what: &str) {
    state.feed.announce(needle_bus::Event::new(
        workspace_id,
        CASE_CHANGED,
        json!({"id": id, "what": what}),
    ));
}

/// The live event of a case that changed.
pub const CASE_CHANGED: &str = "case.changed";

/// Applies a change as `principal`: the changed case, audited when it assigns.
pub fn apply_change(
    state: &AppState,
    workspace_id: i64,
    id: i64,
    change: &CaseChange,
    principal: &Principal,
) -> AppResult<Case> {
    let store = state.listening.store();
    let now = OffsetDateTime::now_utc();
    let change = &resolve_team_parts(state, workspace_id, id, change)?;
    let case = store
        .update_case(workspace_id, id, change, &principal.actor, now)?
        .ok_or_else(|| no_case(id))?;
    announce_case(state, workspace_id, id, "changed");
    if let Some(assignee) = &change.assignee {
        let entry = needle_store::accounts::AuditEntry::now(
            workspace_id,
            &principal.actor,
            "case.assigned",
            &format!("case/{id}"),
            json!({"to": assignee}),
        );
        crate::auth::record(store.as_ref(), &entry);
    }
    Ok(case)
}

/// `POST /api/v1/cases/{id}`: changes status, assignee, priority or labels.
pub async fn change(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<i64>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    let body: ChangeBody = json_body(&headers, body)?;
    let change = change_of(body, email_of(&principal))?;
    blocking(move || {
        let ws = workspace_or_default(&state, params.workspace.as_deref())?;
        let case = apply_change(&state, ws.id, id, &change, &principal)?;
        Ok(Json(
            json!({"case": case_json(&case, OffsetDateTime::now_utc())}),
        ))
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    pub text: String,
}

/// The people a note mentions: `@kim@example.com`, or `@kim` for the one user whose address
/// starts `kim@`.
pub fn mentions(text: &str, users: &[needle_store::accounts::User]) -> Vec<String> {
    let mut found: Vec<String> = text
        .split_whitespace()
        .filter_map(|word| word.strip_prefix('@'))
        .map(|m| {
            m.trim_end_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .filter_map(|m| {
            let exact = users.iter().find(|u| u.email == m);
            let by_name: Vec<_> = users
                .iter()
                .filter(|u| u.email.split('@').next() == Some(m.as_str()))
                .collect();
            exact
                .or(match by_name.as_slice() {
                    [one] => Some(*one),
                    _ => None,
                })
                .map(|u| u.email.clone())
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

/// The live event of a note that mentions people: `{"id": case, "to": [emails]}`.
pub const MENTION_CREATED: &str = "mention.created";

/// Adds an internal note; the customer never sees it. Everyone it mentions but its writer
/// is notified (their Mentions queue, `GET /api/v1/notifications`, a live
/// `mention.created`). The people mentioned.
pub fn add_note(
    state: &AppState,
    workspace_id: i64,
    id: i64,
    text: &str,
    principal: &Principal,
) -> AppResult<Vec<String>> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_NOTE {
        return Err(ApiError::bad_request(format!(
            "a note holds 1 to {MAX_NOTE} characters"
        )));
    }
    let store = state.listening.store();
    let mentioned = mentions(text, &store.users()?);
    let body = json!({"text": text, "mentions": mentioned});
    let notified: Vec<String> = mentioned
        .iter()
        .filter(|m| Some(m.as_str()) != email_of(principal))
        .cloned()
        .collect();
    if !store.add_case_note(
        workspace_id,
        id,
        &principal.actor,
        &body,
        &notified,
        OffsetDateTime::now_utc(),
    )? {
        return Err(no_case(id));
    }
    announce_case(state, workspace_id, id, "note");
    if !notified.is_empty() {
        state.feed.announce(needle_bus::Event::new(
            workspace_id,
            MENTION_CREATED,
            json!({"id": id, "to": notified}),
        ));
    }
    Ok(mentioned)
}

/// `POST /api/v1/cases/{id}/notes`.
pub async fn note(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<i64>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<(axum::http::StatusCode, Json<Value>)> {
    let Query(params) = params.map_err(query_error)?;
    let body: NoteBody = json_body(&headers, body)?;
    blocking(move || {
        let ws = workspace_or_default(&state, params.workspace.as_deref())?;
        let mentioned = add_note(&state, ws.id, id, &body.text, &principal)?;
        Ok((
            axum::http::StatusCode::CREATED,
            Json(json!({"mentions": mentioned})),
        ))
    })
    .await
}

/// The case's context for canned responses, as `agent` fills them.
pub fn canned_context(view: &CaseView, agent: &str) -> Value {
    needle_cases::canned::context(
        view.profile.as_ref(),
        &view.case.subject,
        &view.case.customer,
        &view.case.channel,
        agent,
    )
}

/// A canned response filled for a case.
pub fn fill_canned(
    state: &AppState,
    view: &CaseView,
    name: &str,
    agent: &str,
) -> AppResult<String> {
    let store = state.listening.store();
    let canned = store
        .canned(view.case.workspace_id)?
        .into_iter()
        .find(|c| c.name == name)
        .ok_or_else(|| {
            ApiError::new(ErrorCode::NotFound, format!("no canned response {name:?}"))
        })?;
    needle_cases::canned::render(&canned.body, &canned_context(view, agent))
        .map_err(|e| ApiError::new(ErrorCode::Conflict, e))
}

/// `GET /api/v1/canned`: the workspace's canned responses.
pub async fn canned_list(
    State(state): State<Arc<AppState>>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    blocking(move || {
        let ws = workspace_or_default(&state, params.workspace.as_deref())?;
        let canned = state.listening.store().canned(ws.id)?;
        Ok(Json(json!({"canned": canned.iter().map(|c| json!({
            "name": c.name, "body": c.body, "updated_at": format_time(c.updated_at),
        })).collect::<Vec<_>>()})))
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CannedBody {
    pub body: String,
}

/// `PUT /api/v1/canned/{name}`: creates or replaces one; the template is checked first.
pub async fn canned_put(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<(axum::http::StatusCode, Json<Value>)> {
    let Query(params) = params.map_err(query_error)?;
    crate::api::check_name("canned response", &name)?;
    let body: CannedBody = json_body(&headers, body)?;
    needle_cases::canned::check(&body.body).map_err(ApiError::bad_request)?;
    blocking(move || {
        let ws = workspace_or_default(&state, params.workspace.as_deref())?;
        let created = state
            .listening
            .store()
            .put_canned(ws.id, &name, &body.body)?;
        let status = if created {
            axum::http::StatusCode::CREATED
        } else {
            axum::http::StatusCode::OK
        };
        Ok((status, Json(json!({"name": name, "body": body.body}))))
    })
    .await
}

/// `DELETE /api/v1/canned/{name}`.
pub async fn canned_delete(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
) -> AppResult<axum::http::StatusCode> {
    let Query(params) = params.map_err(query_error)?;
    blocking(move || {
        let ws = workspace_or_default(&state, params.workspace.as_deref())?;
        if state.listening.store().remove_canned(ws.id, &name)? {
            Ok(axum::http::StatusCode::NO_CONTENT)
        } else {
            Err(ApiError::new(
                ErrorCode::NotFound,
                format!("no canned response {name:?}"),
            ))
        }
    })
    .await
}

/// `GET /api/v1/cases/{id}/canned/{name}`: the canned response filled for this case.
pub async fn canned_fill(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path((id, name)): Path<(i64, String)>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    blocking(move || {
        let ws = workspace_or_default(&state, params.workspace.as_deref())?;
        let view = load_case(&state, ws.id, id)?;
        let agent = email_of(&principal).unwrap_or(&principal.actor).to_string();
        Ok(Json(
            json!({"text": fill_canned(&state, &view, &name, &agent)?}),
        ))
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCaseBody {
    pub channel: String,
    pub id: String,
}

/// Opens a case for a stored message by hand (a listening find that needs an answer); the
/// case of its conversation when there is one already. `(case, created)`.
pub fn open_case(
    state: &AppState,
    workspace_id: i64,
    channel: &str,
    id: &str,
    principal: &Principal,
) -> AppResult<(Case, bool)> {
    let store = state.listening.store();
    let stored = crate::api::stored_message(state, workspace_id, channel, id)?;
    let message = &stored.message;
    let thread = needle_cases::rules::thread_of(message);
    if let Some(case) = store.case_of_thread(workspace_id, &message.channel, thread)? {
        return Ok((case, false));
    }
    let (subject, customer) = (
        needle_cases::rules::subject_of(message),
        needle_cases::rules::customer_of(message),
    );
    let touch = needle_cases::rules::chosen(
        &needle_cases::Policy::default(),
        message,
        stored.classification.as_ref(),
        &subject,
        &customer,
    );
    let case_id = store
        .record_case_message(workspace_id, &touch)?
        .ok_or_else(|| ApiError::new(ErrorCode::Internal, "the case was not opened"))?;
    let now = OffsetDateTime::now_utc();
    store.add_case_event(
        workspace_id,
        case_id,
        &principal.actor,
        "opened",
        &json!({"from": format!("{channel}/{id}")}),
        now,
    )?;
    announce_case(state, workspace_id, case_id, "opened");
    let case = store
        .case(workspace_id, case_id)?
        .ok_or_else(|| ApiError::new(ErrorCode::Internal, "the opened case cannot be found"))?;
    Ok((case, true))
}

/// `POST /api/v1/cases` `{"channel","id"}`: makes a case of a message.
pub async fn create(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<(axum::http::StatusCode, Json<Value>)> {
    let Query(params) = params.map_err(query_error)?;
    let body: NewCaseBody = json_body(&headers, body)?;
    blocking(move || {
        let ws = workspace_or_default(&state, params.workspace.as_deref())?;
        let (case, created) = open_case(&state, ws.id, &body.channel, &body.id, &principal)?;
        let status = if created {
            axum::http::StatusCode::CREATED
        } else {
            axum::http::StatusCode::OK
        };
        Ok((
            status,
            Json(json!({"case": case_json(&case, OffsetDateTime::now_utc())})),
        ))
    })
    .await
}
