//! The inbox: queues of cases and the conversation view, where an agent assigns, changes
//! the status, writes internal notes and answers the customer on their own channel.
//!
//! Server-rendered, no script: every action is a form with the session's CSRF token, answered
//! with a redirect back to the conversation (post/redirect/get), so reloading never sends
//! anything twice. Text from customers goes through maud's escaping like everywhere else.
//!
//! With `inbox.js`, pages follow live events, say who else has a case open
//! ([`crate::presence`]), and keep the bulk bar's ticked cases across live refreshes.

use std::sync::Arc;

use axum::Form;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use needle_core::message::format_time;
use needle_store::Workspace;
use needle_store::cases::{Case, CaseStatus, Priority, Queue};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

use crate::api::{blocking, query_error, workspace_or_default};
use crate::auth::access::Need;
use crate::auth::{Principal, secrets};
use crate::bulk::{Bulk, MAX_BULK, apply_all, check_ids};
use crate::cases::{
    CaseView, ChangeBody, add_note, apply_change, change_of, email_of, load_case, parse_queue,
    standard_queues,
};
use crate::error::AppResult;
use crate::page::{default_workspace, live_page, signed_in};
use crate::presence::{Doing, Here};
use crate::{ApiError, AppState};

/// Cases shown in one queue.
const QUEUE_PAGE: usize = 100;

#[derive(Debug, Deserialize)]
pub struct InboxParams {
    pub workspace: Option<String>,
    pub queue: Option<String>,
    /// On a conversation: the canned response to fill the reply with.
    pub canned: Option<String>,
    /// On a queue, after a bulk change: how many cases it changed, and how many it could not.
    pub changed: Option<usize>,
    pub failed: Option<usize>,
}

/// What the reply composer starts with: the canned responses to choose from, and the text
/// of the one chosen, filled for this case.
#[derive(Default)]
struct Composer {
    canned: Vec<String>,
    text: String,
}

/// The workspace a page shows: the one asked for, if the viewer may see it, else their
/// default one.
pub(crate) fn workspace_for(
    state: &AppState,
    principal: &Principal,
    asked: Option<&str>,
) -> AppResult<Workspace> {
    let name = match asked {
        Some(name) => name.to_string(),
        None => default_workspace(state.store.as_ref(), principal).ok_or_else(|| {
            ApiError::new(
                needle_core::ErrorCode::Forbidden,
                "you have no role in any workspace yet",
            )
        })?,
    };
    let ws = workspace_or_default(state, Some(&name))?;
    if principal.role_in(ws.id).is_none() {
        return Err(ApiError::new(
            needle_core::ErrorCode::Forbidden,
            format!("you have no role in workspace {name:?}"),
        ));
    }
    Ok(ws)
}

fn error_page(principal: &Principal, e: ApiError) -> Response {
    crate::page::error_page("Inbox · Needle", principal, e)
}

fn priority_badge(p: Priority) -> Markup {
    html! { span class={ "priority " (p.as_str()) } { (p.as_str()) } }
}

fn waiting(case: &Case, now: OffsetDateTime) -> String {
    let minutes = (now - case.last_inbound_at).whole_minutes().max(0);
    match minutes {
        0..60 => format!("{minutes} min"),
        60..2880 => format!("{} h", minutes / 60),
        _ => format!("{} d", minutes / 1440),
    }
}

pub async fn queue(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    params: Result<Query<InboxParams>, QueryRejection>,
) -> Response {
    let principal = match signed_in(&state, &headers).await {
        Ok(p) => p,
        Err(elsewhere) => return elsewhere,
    };
    let params = match params.map_err(query_error) {
        Ok(Query(p)) => p,
        Err(e) => return error_page(&principal, e),
    };
    let viewer = principal.clone();
    let outcome = params.changed.map(|n| (n, params.failed.unwrap_or(0)));
    let loaded = blocking(move || {
        let ws = workspace_for(&state, &viewer, params.workspace.as_deref())?;
        let me = email_of(&viewer).map(str::to_string);
        let name = params.queue.unwrap_or_else(|| "mine".into());
        let queue = parse_queue(&name, me.as_deref())?;
        let now = OffsetDateTime::now_utc();
        let store = state.listening.store();
        let cases = store.cases(ws.id, &queue, now, QUEUE_PAGE)?;
        let standard = standard_queues(me.as_deref());
        let names: Vec<&'static str> = standard.iter().map(|(n, _)| *n).collect();
        let teams: Vec<String> = store.teams(ws.id)?.into_iter().map(|t| t.name).collect();
        let queues: Vec<Queue> = (standard.into_iter().map(|(_, q)| q))
            .chain(teams.iter().map(|t| Queue::Team(t.clone())))
            .collect();
        let counted = state
            .queue_counts
            .count(store.clone(), ws.id, &queues, now)?;
        let mut counts = counted.counts;
        let team_counts = counts.split_off(names.len());
        Ok((
            ws,
            name,
            cases,
            names.into_iter().zip(counts).collect::<Vec<_>>(),
            teams.into_iter().zip(team_counts).collect::<Vec<_>>(),
            counted.settled,
            now,
        ))
    })
    .await;
    let (ws, current, cases, counts, team_counts, settled, now) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => return error_page(&principal, e),
    };
    let csrf = principal
        .session
        .as_ref()
        .map(|k| k.csrf.as_str())
        .unwrap_or("");
    let may_bulk = principal
        .role_in(ws.id)
        .is_some_and(|r| Need::Reply.met_by(r));
    let body = html! {
        div.inbox {
            nav.queues aria-label="queues" data-live="queues"
              data-settling[!settled] {
                h2 { "Inbox" }
                ul {
                    @for (name, count) in &counts {
                        li {
                            a href={ "/inbox?workspace=" (ws.name) "&queue=" (name) }
                              aria-current=[(current == *name).then_some("page")] {
                                (name) " "
                                @if *name == "mentions" && *count > 0 {
                                    span.count.unread { (count) span.visually-hidden { " unread" } }
                                } @else {
                                    span.count { (count) }
                                }
                            }
                        }
                    }
                }
                @if !team_counts.is_empty() {
                    h3 { "Teams" }
                    ul {
                        @for (team, count) in &team_counts {
                            @let queue = format!("team:{team}");
                            li {
                                a href={ "/inbox?workspace=" (ws.name) "&queue=" (crate::page::urlencode(&queue)) }
                                  aria-current=[(current == queue).then_some("page")] {
                                    (team) " " span.count { (count) }
                                }
                            }
                        }
                    }
                }
            }
            section.cases aria-labelledby="queue-title" data-live="cases" {
                h2 #queue-title { (current) " · " (ws.name) }
                p.keys { "Keys: j and k move between cases, Enter opens one, x ticks it." }
                @if cases.is_empty() {
                    p.summary { "Nothing here." }
                } @else {
                    table.cases {
                        thead { tr {
                            @if may_bulk { th scope="col" { span.visually-hidden { "Select" } } }
                            th scope="col" { "Priority" } th scope="col" { "Conversation" }
                            th scope="col" { "Customer" } th scope="col" { "Channel" }
                            th scope="col" { "Assignee" } th scope="col" { "Waiting" }
                        } }
                        tbody {
                            @for c in &cases {
                                tr.breached[c.breached(now)] {
                                    @if may_bulk {
                                        td { input type="checkbox" name="id" value=(c.id) form="bulk"
                                               aria-label={ "Select " (c.subject) }; }
                                    }
                                    td { (priority_badge(c.priority)) }
                                    td { a href={ "/inbox/" (c.id) "?workspace=" (ws.name) } { (c.subject) }
                                         @if c.breached(now) { " " span.badge { "SLA breached" } }
                                         @for l in &c.labels { " " span.label { (l) } } }
                                    td { (c.customer) }
                                    td { (c.channel) }
                                    td { (c.assignee.as_deref().unwrap_or("—")) }
                                    td { (waiting(c, now)) }
                                }
                            }
                        }
                    }
                }
            }
            @if may_bulk {
                (bulk_bar(&ws.name, &current, csrf, outcome))
            }
        }
    };
    live_page("Inbox · Needle", Some(&principal), &ws.name, body).into_response()
}

/// The form the queue's checkboxes belong to (`form="bulk"`): it sits outside the live part
/// of the page, so a refresh never drops a half-made choice. What the last one did, in a
/// status region.
fn bulk_bar(workspace: &str, queue: &str, csrf: &str, outcome: Option<(usize, usize)>) -> Markup {
    html! {
        form #bulk .bulk method="post" action="/inbox/bulk" aria-label="change the selected cases" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="workspace" value=(workspace);
            input type="hidden" name="queue" value=(queue);
            @if let Some((changed, failed)) = outcome {
                p.notice role="status" {
                    (changed) " changed"
                    @if failed > 0 { ", " (failed) " could not be (gone, or not in this workspace)" }
                    "."
                }
            }
            fieldset {
                legend { "Selected cases (up to " (MAX_BULK) ")" }
                button type="submit" name="action" value="assign-me" { "Assign to me" }
                button type="submit" name="action" value="unassign" { "Unassign" }
                label { "Status"
                    select name="status" {
                        @for s in [CaseStatus::Resolved, CaseStatus::Pending, CaseStatus::Open] {
                            option value=(s.as_str()) { (s.as_str()) }
                        }
                    }
                }
                button type="submit" name="action" value="status" { "Set status" }
                label { "Priority"
                    select name="priority" {
                        @for p in Priority::ALL { option value=(p.as_str()) selected[p == Priority::Normal] { (p.as_str()) } }
                    }
                }
                button type="submit" name="action" value="priority" { "Set priority" }
                label { "Label" input type="text" name="label" maxlength="64"; }
                button type="submit" name="action" value="label" { "Add label" }
            }
        }
    }
}

/// `POST /inbox/bulk`: the bulk bar. Back to the queue it came from, saying how it went.
pub async fn bulk(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let principal = match signed_in(&state, &headers).await {
        Ok(p) => p,
        Err(elsewhere) => return elsewhere,
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    };
    if !principal
        .session
        .as_ref()
        .is_some_and(|k| secrets::same_secret(&k.csrf, field("csrf")))
    {
        return error_page(
            &principal,
            ApiError::new(
                needle_core::ErrorCode::Forbidden,
                "The form expired; reload the page.",
            ),
        );
    }
    let ids: Result<Vec<i64>, _> = fields
        .iter()
        .filter(|(k, _)| k == "id")
        .map(|(_, v)| v.parse::<i64>())
        .collect();
    let (workspace, queue) = (field("workspace").to_string(), field("queue").to_string());
    let me = email_of(&principal).map(str::to_string);
    let wanted = match field("action") {
        "assign-me" => Ok(ChangeBody {
            assignee: Some(Some("me".into())),
            ..ChangeBody::default()
        }),
        "unassign" => Ok(ChangeBody {
            assignee: Some(None),
            ..ChangeBody::default()
        }),
        "status" => Ok(ChangeBody {
            status: Some(field("status").to_string()),
            ..ChangeBody::default()
        }),
        "priority" => Ok(ChangeBody {
            priority: Some(field("priority").to_string()),
            ..ChangeBody::default()
        }),
        "label" => Err(field("label").trim().to_lowercase()),
        other => {
            return error_page(
                &principal,
                ApiError::bad_request(format!("unknown bulk action {other:?}")),
            );
        }
    };
    let viewer = principal.clone();
    let done = blocking(move || {
        let ws = workspace_for(&state, &viewer, Some(&workspace))?;
        if !viewer.role_in(ws.id).is_some_and(|r| Need::Reply.met_by(r)) {
            return Err(ApiError::new(
                needle_core::ErrorCode::Forbidden,
                format!("changing cases needs {}", Need::Reply.who()),
            ));
        }
        let ids = ids.map_err(|_| ApiError::bad_request("a selected case is not a case id"))?;
        let ids = check_ids(&ids)
            .map_err(|_| ApiError::bad_request(format!("select 1 to {MAX_BULK} cases first")))?;
        let bulk = match wanted {
            Ok(body) => Bulk::Change(change_of(body, me.as_deref())?),
            Err(label) if label.is_empty() => {
                return Err(ApiError::bad_request("write the label to add"));
            }
            Err(label) => Bulk::AddLabel(label),
        };
        let results = apply_all(&state, ws.id, &ids, &bulk, &viewer);
        let changed = results.iter().filter(|(_, r)| r.is_ok()).count();
        Ok((ws.name, changed, results.len() - changed))
    })
    .await;
    match done {
        Ok((ws, changed, failed)) => Redirect::to(&format!(
            "/inbox?workspace={ws}&queue={}&changed={changed}&failed={failed}",
            crate::page::urlencode(&queue)
        ))
        .into_response(),
        Err(e) => error_page(&principal, e),
    }
}

fn event_line(e: &needle_store::cases::CaseEvent) -> Markup {
    let text = |k: &str| {
        e.body
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    html! {
        li class={ "event " (e.kind) } {
            span.meta { (e.actor) " · " time datetime=(format_time(e.at)) { (format_time(e.at)) } }
            @match e.kind.as_str() {
                "note" => { p.note { strong { "Note: " } (text("text")) } }
                "reply" => { p { strong { "Replied: " } (text("text")) } }
                "assigned" => { p { "Assigned to " (e.body.get("to").and_then(|v| v.as_str()).unwrap_or("nobody")) } }
                "status" => { p { "Status " (text("from")) " → " (text("to")) } }
                "priority" => { p { "Priority " (text("from")) " → " (text("to")) } }
                "team" => { p { "Team " (e.body.get("to").and_then(|v| v.as_str()).unwrap_or("none")) } }
                _ => { p { (e.kind) } }
            }
        }
    }
}

/// A JSON value as a person reads it.
fn plain(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "—".into(),
        other => other.to_string(),
    }
}

/// Who the customer is across channels, or plainly why that is not known.
fn profile_panel(profile: Option<&serde_json::Value>) -> Markup {
    html! {
        aside.profile aria-labelledby="profile-title" data-live="profile" {
            h3 #profile-title { "Customer" }
            @match profile {
                None => p.summary { "No profile for this author yet: profiles are resolved as messages are stored, in the process that runs the pipeline." },
                Some(p) => {
                    p { strong { (plain(&p["profile"])) } }
                    ul.identities { @for i in p["identities"].as_array().into_iter().flatten() { li { (plain(i)) } } }
                    @if let Some(traits) = p["traits"].as_object() {
                        dl.traits { @for (k, v) in traits { dt { (k) } dd { (plain(v)) } } }
                    }
                    h4 { "Recent" }
                    ol.timeline {
                        @for t in p["timeline"].as_array().into_iter().flatten() {
                            li { (plain(&t["at"])) " · " (plain(&t["kind"]))
                                @if let Some(c) = t["channel"].as_str() { " on " (c) } }
                        }
                    }
                }
            }
        }
    }
}

/// What a person is called in a sentence: `Kim` for kim.lee@example.com.
fn display_name(email: &str) -> String {
    let local = email.split(['@', '.', '+']).next().unwrap_or(email);
    let mut chars = local.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => email.to_string(),
    }
}

/// Who else has the case open, said politely to screen readers as it changes.
fn presence_panel(others: &[Here]) -> Markup {
    html! {
        div.presence data-live="presence" aria-live="polite" aria-label="who else is here" {
            @for h in others {
                p class={ "here " (h.doing.as_str()) } {
                    strong { (display_name(&h.email)) } " (" (h.email) ") "
                    @match h.doing {
                        Doing::Typing => { "is typing a reply" }
                        Doing::Viewing => { "is viewing" }
                    }
                }
            }
        }
    }
}

fn conversation(
    principal: &Principal,
    ws: &Workspace,
    view: &CaseView,
    composer: &Composer,
    others: &[Here],
    notice: Option<&str>,
) -> Markup {
    let c = &view.case;
    let now = OffsetDateTime::now_utc();
    let csrf = principal
        .session
        .as_ref()
        .map(|k| k.csrf.as_str())
        .unwrap_or("");
    let role = principal.role_in(ws.id);
    let may = |need: Need| role.is_some_and(|r| need.met_by(r));
    let action = format!("/inbox/{}?workspace={}", c.id, ws.name);
    // Answers go back through the connection the customer's latest message came by.
    let answerable = view
        .messages
        .iter()
        .rev()
        .find(|m| m.message.direction == needle_core::Direction::Inbound)
        .is_some_and(|m| m.message.account.is_some());
    html! {
        p { a href={ "/inbox?workspace=" (ws.name) } { "← Inbox" } }
        @if let Some(notice) = notice { p.error role="alert" { (notice) } }
        section.case aria-labelledby="case-title" data-case=(c.id) {
            h2 #case-title { (c.subject) }
            (presence_panel(others))
            p.meta data-live="case" {
                (priority_badge(c.priority)) " · " (c.status.as_str()) " · " (c.channel) " · "
                (c.customer) " · assigned to " (c.assignee.as_deref().unwrap_or("nobody"))
                @if let Some(team) = &c.team { " · team " (team) }
                @if c.breached(now) { " · " span.badge { "SLA breached" } }
            }
            p.meta {
                "First response due " (format_time(c.first_response_due))
                @if let Some(at) = c.first_response_at { " (answered " (format_time(at)) ")" }
                " · resolution due " (format_time(c.resolution_due))
            }
            ol.messages data-live="messages" {
                @for m in &view.messages {
                    li class={ "message " (m.message.direction.as_str()) } {
                        div.meta {
                            span.channel { (m.message.direction.as_str()) }
                            span { (m.message.author.name.as_deref().or(m.message.author.handle.as_deref()).or(m.message.author.email.as_deref()).unwrap_or("unknown")) }
                            time datetime=(format_time(m.message.created_at)) { (format_time(m.message.created_at)) }
                            @if let Some(c) = &m.classification {
                                span.why { (c.sentiment.label.as_str()) " " (format!("{:.2}", c.sentiment.score))
                                    @for i in &c.intents { " · " (i) } }
                            }
                        }
                        p.text lang=[m.message.lang.as_deref()] { (m.message.text) }
                    }
                }
            }
            h3 { "History" }
            ol.events data-live="events" {
                @for e in &view.events { (event_line(e)) }
                @if view.events.is_empty() { li.muted { "Nothing yet: no assignment, note or reply." } }
            }
        }
        (profile_panel(view.profile.as_ref()))
        section.actions aria-label="actions" {
            p.keys { "Keys: a assigns or unassigns you, r goes to the reply, n to a note, e resolves." }
            @if may(Need::Reply) {
                @if !composer.canned.is_empty() {
                    form.inline method="get" action={ "/inbox/" (c.id) } {
                        input type="hidden" name="workspace" value=(ws.name);
                        label { "Canned response"
                            select name="canned" {
                                @for name in &composer.canned { option value=(name) { (name) } }
                            }
                        }
                        button type="submit" { "Fill the reply" }
                    }
                }
                form.reply method="post" action=(action) {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="action" value="reply";
                    label { "Reply to the customer on " (c.channel)
                        textarea name="text" rows="4" required { (composer.text) } }
                    @if answerable {
                        button type="submit" { "Send reply" }
                    } @else {
                        p.summary { "This conversation came through no connection of ours: replies cannot be sent from Needle." }
                    }
                }
                form.inline method="post" action=(action) {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="action" value="assign";
                    @if c.assignee.as_deref() == email_of(principal) {
                        input type="hidden" name="assignee" value="";
                        button type="submit" { "Unassign me" }
                    } @else {
                        input type="hidden" name="assignee" value="me";
                        button type="submit" { "Assign to me" }
                    }
                }
                form.inline method="post" action=(action) {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="action" value="status";
                    label { "Status"
                        select name="status" {
                            @for s in [CaseStatus::Open, CaseStatus::Pending, CaseStatus::Resolved] {
                                option value=(s.as_str()) selected[s == c.status] { (s.as_str()) }
                            }
                            option value="snooze-1h" { "snoozed for an hour" }
                            option value="snooze-1d" { "snoozed for a day" }
                        }
                    }
                    button type="submit" { "Set" }
                }
            }
            form.note method="post" action=(action) {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="action" value="note";
                label { "Internal note (the customer never sees it; @name mentions a colleague)"
                    textarea name="text" rows="3" required {} }
                button type="submit" { "Add note" }
            }
        }
    }
}

async fn show(
    state: &Arc<AppState>,
    principal: &Principal,
    id: i64,
    workspace: Option<String>,
    canned: Option<String>,
    status: StatusCode,
    notice: Option<String>,
) -> Response {
    let (state, viewer) = (state.clone(), principal.clone());
    let loaded = blocking(move || {
        let ws = workspace_for(&state, &viewer, workspace.as_deref())?;
        let view = load_case(&state, ws.id, id)?;
        let mut composer = Composer {
            canned: state
                .listening
                .store()
                .canned(ws.id)?
                .into_iter()
                .map(|c| c.name)
                .collect(),
            text: String::new(),
        };
        // Opening the case reads the notes that mentioned the viewer.
        if let Some(me) = email_of(&viewer) {
            state
                .listening
                .store()
                .mark_mentions_seen(ws.id, id, me, OffsetDateTime::now_utc())?;
        }
        let others =
            state
                .presence
                .others((ws.id, id), email_of(&viewer), std::time::Instant::now());
        // A canned response that cannot be filled (an unknown variable) says why instead.
        let mut problem = None;
        if let Some(name) = canned.as_deref() {
            let agent = email_of(&viewer).unwrap_or(&viewer.actor).to_string();
            match crate::cases::fill_canned(&state, &view, name, &agent) {
                Ok(text) => composer.text = text,
                Err(e) => problem = Some(e.message),
            }
        }
        Ok((ws, view, composer, others, problem))
    })
    .await;
    match loaded {
        Ok((ws, view, composer, others, problem)) => {
            let notice = notice.or(problem);
            let body = conversation(principal, &ws, &view, &composer, &others, notice.as_deref());
            let title = format!("{} · Needle", view.case.subject);
            (status, live_page(&title, Some(principal), &ws.name, body)).into_response()
        }
        Err(e) => error_page(principal, e),
    }
}

pub async fn case_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    params: Result<Query<InboxParams>, QueryRejection>,
) -> Response {
    let principal = match signed_in(&state, &headers).await {
        Ok(p) => p,
        Err(elsewhere) => return elsewhere,
    };
    let (workspace, canned) = match params {
        Ok(Query(p)) => (p.workspace, p.canned),
        Err(_) => (None, None),
    };
    show(
        &state,
        &principal,
        id,
        workspace,
        canned,
        StatusCode::OK,
        None,
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    status: String,
}

pub async fn case_action(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    params: Result<Query<InboxParams>, QueryRejection>,
    Form(form): Form<ActionForm>,
) -> Response {
    let principal = match signed_in(&state, &headers).await {
        Ok(p) => p,
        Err(elsewhere) => return elsewhere,
    };
    let workspace = params.ok().and_then(|Query(p)| p.workspace);
    let csrf_ok = principal
        .session
        .as_ref()
        .is_some_and(|k| secrets::same_secret(&k.csrf, &form.csrf));
    if !csrf_ok {
        return show(
            &state,
            &principal,
            id,
            workspace,
            None,
            StatusCode::FORBIDDEN,
            Some("The form expired; try again.".into()),
        )
        .await;
    }
    let done = {
        let (state, viewer, asked) = (state.clone(), principal.clone(), workspace.clone());
        blocking(move || {
            let ws = workspace_for(&state, &viewer, asked.as_deref())?;
            act(&state, &viewer, &ws, id, form)?;
            Ok(ws)
        })
        .await
    };
    match done {
        Ok(ws) => Redirect::to(&format!("/inbox/{id}?workspace={}", ws.name)).into_response(),
        Err(e) => {
            let status =
                StatusCode::from_u16(e.code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
            show(
                &state,
                &principal,
                id,
                workspace,
                None,
                status,
                Some(e.message),
            )
            .await
        }
    }
}

/// Does what the form asks, if the viewer's role allows it.
fn act(
    state: &AppState,
    principal: &Principal,
    ws: &Workspace,
    id: i64,
    form: ActionForm,
) -> AppResult<()> {
    let need = match form.action.as_str() {
        "note" => Need::Curate,
        "reply" | "assign" | "status" => Need::Reply,
        other => return Err(ApiError::bad_request(format!("unknown action {other:?}"))),
    };
    if !principal.role_in(ws.id).is_some_and(|r| need.met_by(r)) {
        return Err(ApiError::new(
            needle_core::ErrorCode::Forbidden,
            format!("this needs {}", need.who()),
        ));
    }
    let me = email_of(principal);
    match form.action.as_str() {
        "note" => add_note(state, ws.id, id, &form.text, principal).map(|_| ()),
        "assign" => {
            let assignee = Some(Some(form.assignee).filter(|a| !a.is_empty()));
            let change = change_of(
                ChangeBody {
                    assignee,
                    ..ChangeBody::default()
                },
                me,
            )?;
            apply_change(state, ws.id, id, &change, principal).map(|_| ())
        }
        "status" => {
            let now = OffsetDateTime::now_utc();
            let (status, until) = match form.status.as_str() {
                "snooze-1h" => ("snoozed", Some(now + Duration::hours(1))),
                "snooze-1d" => ("snoozed", Some(now + Duration::days(1))),
                other => (other, None),
            };
            let body = ChangeBody {
                status: Some(status.to_string()),
                snoozed_until: until.map(format_time),
                ..ChangeBody::default()
            };
            apply_change(state, ws.id, id, &change_of(body, me)?, principal).map(|_| ())
        }
        _ => {
            let text = form.text.trim();
            if text.is_empty() {
                return Err(ApiError::bad_request("the reply is empty"));
            }
            let view = load_case(state, ws.id, id)?;
            let last = view
                .messages
                .iter()
                .rev()
                .find(|m| m.message.direction == needle_core::Direction::Inbound)
                .ok_or_else(|| {
                    ApiError::bad_request("the conversation has no message from the customer")
                })?;
            // One reply per form: reloading the redirect target sends nothing again.
            let key = format!("reply:case{id}:{}", secrets::random_hex(8));
            crate::connections::queue_reply(
                state,
                ws.id,
                &last.message.channel,
                &last.message.id,
                text,
                &key,
                &principal.actor,
            )
            .map(|_| ())
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct MakeCaseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    workspace: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    id: String,
}

/// `POST /inbox/new`: the messages page's "Make a case" button; opens the case.
pub async fn make_case(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<MakeCaseForm>,
) -> Response {
    let principal = match signed_in(&state, &headers).await {
        Ok(p) => p,
        Err(elsewhere) => return elsewhere,
    };
    if !principal
        .session
        .as_ref()
        .is_some_and(|k| secrets::same_secret(&k.csrf, &form.csrf))
    {
        return error_page(
            &principal,
            ApiError::new(
                needle_core::ErrorCode::Forbidden,
                "The form expired; reload the page.",
            ),
        );
    }
    let viewer = principal.clone();
    let opened = blocking(move || {
        let ws = workspace_for(&state, &viewer, Some(&form.workspace))?;
        if !viewer.role_in(ws.id).is_some_and(|r| Need::Reply.met_by(r)) {
            return Err(ApiError::new(
                needle_core::ErrorCode::Forbidden,
                format!("this needs {}", Need::Reply.who()),
            ));
        }
        let (case, _) = crate::cases::open_case(&state, ws.id, &form.channel, &form.id, &viewer)?;
        Ok((ws.name, case.id))
    })
    .await;
    match opened {
        Ok((ws, id)) => Redirect::to(&format!("/inbox/{id}?workspace={ws}")).into_response(),
        Err(e) => error_page(&principal, e),
    }
}
