//! The first web page: list and search messages. Every piece of message text goes through
//! maud's escaping; nothing from a message is ever written into an attribute unescaped or
//! into a script, and a strict Content-Security-Policy forbids inline script altogether.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, html};
use needle_core::message::format_time;
use needle_store::{Cursor, ListFilter, Store};

use crate::api::{ListParams, blocking, query_error, run_listing};
use crate::auth::{self, Principal};
use crate::{AppState, DEFAULT_WORKSPACE};

const CSS: &str = include_str!("../assets/needle.css");
const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; \
                   img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
const INBOX_JS: &str = include_str!("../assets/inbox.js");
const LISTENING_JS: &str = include_str!("../assets/listening.js");
/// Longest text shown per message in the list.
pub(crate) const PREVIEW_CHARS: usize = 600;
const CHANNELS: &[&str] = &[
    "email", "chat", "mastodon", "reddit", "review", "rss", "twitter", "forum", "webhook",
];

fn script(source: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        source,
    )
        .into_response()
}

pub async fn inbox_script() -> Response {
    script(INBOX_JS)
}

pub async fn listening_script() -> Response {
    script(LISTENING_JS)
}

pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
        .into_response()
}

/// Only web links become links; anything else (`javascript:`, `data:`) stays text.
pub(crate) fn safe_link(url: &str) -> Option<&str> {
    let lower = url.trim_start().to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then_some(url)
}

/// The workspace shown when none is asked for: `default`, unless it is empty and another
/// one (the demo) has messages; only workspaces the principal may see.
pub(crate) fn default_workspace(store: &dyn Store, principal: &Principal) -> Option<String> {
    let workspaces = principal.visible(store.workspaces().ok()?);
    // One message is enough to know, and costs one index seek; a count reads them all.
    let has_messages = |id| {
        store
            .list(id, &ListFilter::default(), None, 1)
            .is_ok_and(|newest| !newest.is_empty())
    };
    workspaces
        .iter()
        .find(|w| w.name == DEFAULT_WORKSPACE && has_messages(w.id))
        .or_else(|| workspaces.iter().find(|w| has_messages(w.id)))
        .or(workspaces.first())
        .map(|w| w.name.clone())
}

/// The signed-in principal of a page, or where to send the browser instead.
pub(crate) async fn signed_in(
    state: &Arc<AppState>,
    headers: &HeaderMap,
) -> Result<Principal, Response> {
    match auth::authenticate(state, headers).await {
        Ok(Some(p)) => match &p.session {
            Some(keys) if keys.must_change_password => {
                Err(Redirect::to("/account/password").into_response())
            }
            Some(_) => Ok(p),
            // Tokens are for the API, not for pages.
            None => Err(Redirect::to("/signin").into_response()),
        },
        Ok(None) => Err(Redirect::to("/signin").into_response()),
        Err(e) => Err((
            StatusCode::UNAUTHORIZED,
            page("Needle", None, html! { p.error { (e.message) } }),
        )
            .into_response()),
    }
}

pub async fn home(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Response {
    let principal = match signed_in(&state, &headers).await {
        Ok(p) => p,
        Err(elsewhere) => return elsewhere,
    };
    let params = match params.map_err(query_error) {
        Ok(Query(p)) => p,
        Err(e) => {
            return page(
                "Needle",
                Some(&principal),
                html! { p.error { (e.message) } },
            )
            .into_response();
        }
    };
    let viewer = principal.clone();
    let rendered = blocking(move || {
        let mut params = params;
        if params.workspace.is_none() {
            params.workspace = default_workspace(state.store.as_ref(), &viewer);
        }
        let workspaces = viewer.visible(state.store.workspaces()?);
        let listing = match &params.workspace {
            Some(name) if !workspaces.iter().any(|w| &w.name == name) => Err(crate::ApiError::new(
                needle_core::ErrorCode::Forbidden,
                format!("you have no role in workspace {name:?}"),
            )),
            None => Err(crate::ApiError::new(
                needle_core::ErrorCode::Forbidden,
                "you have no role in any workspace yet; ask an admin for one",
            )),
            Some(_) => run_listing(&state, &params),
        };
        Ok((params, workspaces, listing))
    })
    .await;
    let body = match rendered {
        Err(e) => html! { p.error { (e.message) } },
        Ok((params, workspaces, listing)) => {
            let current = params
                .workspace
                .clone()
                .unwrap_or_else(|| DEFAULT_WORKSPACE.into());
            let q = params.q.clone().unwrap_or_default();
            let channel = params.channel.clone().unwrap_or_default();
            html! {
                form.search method="get" action="/" role="search" {
                    label { "Search" input type="search" name="q" value=(q) placeholder="refund \"broken screen\""; }
                    label { "Channel"
                        select name="channel" {
                            option value="" { "all" }
                            @for c in CHANNELS {
                                option value=(c) selected[channel == *c] { (c) }
                            }
                        }
                    }
                    label { "Workspace"
                        select name="workspace" {
                            @for w in &workspaces {
                                option value=(w.name) selected[w.name == current] { (w.name) }
                            }
                        }
                    }
                    button type="submit" { "Search" }
                }
                @match listing {
                    Err(e) => p.error role="alert" { (e.message) },
                    Ok(listing) => {
                        @let may_open_cases = principal
                            .role_in(listing.workspace.id)
                            .is_some_and(|r| crate::auth::access::Need::Reply.met_by(r));
                        @let csrf = principal.session.as_ref().map(|k| k.csrf.as_str()).unwrap_or("");
                        @if listing.workspace.demo {
                            p.demo role="note" {
                                strong { "Demo data. " }
                                "Every message and person in this workspace was made up by Needle's generator."
                            }
                        }
                        p.summary { (listing.messages.len()) " messages shown, newest first" }
                        ol.messages {
                            @for (i, m) in listing.messages.iter().enumerate() {
                                li {
                                    div.meta {
                                        span.channel { (m.message.channel) }
                                        span { (m.message.author.name.as_deref().or(m.message.author.handle.as_deref()).unwrap_or("unknown")) }
                                        time datetime=(format_time(m.message.created_at)) { (format_time(m.message.created_at)) }
                                        @if let Some(url) = m.message.url.as_deref().and_then(safe_link) {
                                            a href=(url) rel="noopener noreferrer nofollow" { "source" }
                                        }
                                    }
                                    @if let Some(title) = &m.message.title { p.title { (title) } }
                                    p.text lang=[m.message.lang.as_deref()] { (crate::listening::highlighted(&m.message.text, listing.explanations.get(i))) }
                                    @if may_open_cases {
                                        form.make-case method="post" action="/inbox/new" {
                                            input type="hidden" name="csrf" value=(csrf);
                                            input type="hidden" name="workspace" value=(listing.workspace.name);
                                            input type="hidden" name="channel" value=(m.message.channel);
                                            input type="hidden" name="id" value=(m.message.id);
                                            button type="submit" { "Make a case" }
                                        }
                                    }
                                }
                            }
                        }
                        @if let Some(next) = listing.next {
                            nav.pages aria-label="pages" {
                                a href=(older_link(&params, next)) { "Older messages →" }
                            }
                        }
                    }
                }
            }
        }
    };
    page("Needle", Some(&principal), body).into_response()
}

fn older_link(params: &ListParams, next: Cursor) -> String {
    let mut query = vec![("cursor", next.encode())];
    for (key, value) in [
        ("q", &params.q),
        ("channel", &params.channel),
        ("workspace", &params.workspace),
    ] {
        if let Some(v) = value.as_ref().filter(|v| !v.is_empty()) {
            query.push((key, v.clone()));
        }
    }
    let encoded: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect();
    format!("/?{}", encoded.join("&"))
}

pub(crate) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A page that says what went wrong, with the status of the error.
pub(crate) fn error_page(title: &str, viewer: &Principal, e: crate::ApiError) -> Response {
    let status = StatusCode::from_u16(e.code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    (
        status,
        page(
            title,
            Some(viewer),
            html! { p.error role="alert" { (e.message) } },
        ),
    )
        .into_response()
}

/// A whole page: the header (with who is signed in and a sign-out button), then `body`.
pub(crate) fn page(
    title: &str,
    viewer: Option<&Principal>,
    body: Markup,
) -> impl IntoResponse + use<> {
    layout(title, viewer, None, None, body)
}

/// A page that runs one script from `/assets` (an editor's helpers).
pub(crate) fn scripted_page(
    title: &str,
    viewer: Option<&Principal>,
    script: &'static str,
    body: Markup,
) -> impl IntoResponse + use<> {
    layout(title, viewer, None, Some(script), body)
}

/// A page of `workspace` whose `data-live` parts follow its live events (`inbox.js`).
pub(crate) fn live_page(
    title: &str,
    viewer: Option<&Principal>,
    workspace: &str,
    body: Markup,
) -> impl IntoResponse + use<> {
    layout(
        title,
        viewer,
        Some(workspace),
        Some("/assets/inbox.js"),
        body,
    )
}

fn layout(
    title: &str,
    viewer: Option<&Principal>,
    live: Option<&str>,
    script: Option<&'static str>,
    body: Markup,
) -> impl IntoResponse + use<> {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                link rel="stylesheet" href="/assets/needle.css";
                @if let Some(src) = script { script src=(src) defer {} }
            }
            body data-workspace=[live] {
                header {
                    h1 { a href="/" { "Needle" } }
                    span { "every conversation, one place" }
                    @if let Some(keys) = viewer.and_then(|v| v.session.as_ref()) {
                        nav.account aria-label="account" {
                            a href="/inbox" { "Inbox" }
                            a href="/listening" { "Listening" }
                            a href="/" { "Messages" }
                            @if viewer.is_some_and(|v| v.grants.iter().any(|g| g.role == needle_store::accounts::Role::Admin)) {
                                a href="/admin/people" { "People" }
                            }
                            span.who { (keys.email) }
                            form method="post" action="/signout" {
                                input type="hidden" name="csrf" value=(keys.csrf);
                                button type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main { (body) }
            }
        }
    };
    (
        [
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        ],
        markup.into_string(),
    )
}
