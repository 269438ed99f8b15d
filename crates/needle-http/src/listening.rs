//! Listening views for analysts: topics by listening level with their volume and sentiment
//! over time, one topic's stream with why each message is in it, and the topic editor,
//! which lints the queries as the analyst types and tries the draft on the newest messages
//! before anything is saved.
//!
//! Every page works without script; `/assets/listening.js` only makes the editor answer
//! while typing, by posting the form to `/listening/try` and swapping in the parts the
//! server rendered (and escaped).

use std::sync::Arc;

use axum::Form;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use needle_core::message::format_time;
use needle_nql::{Diagnostic, Explanation, LintReport, Scratch};
use needle_store::topics::TopicRecord;
use needle_store::{Cursor, StoredMessage, Workspace};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::api::{blocking, query_error};
use crate::auth::access::Need;
use crate::auth::{Principal, secrets};
use crate::error::AppResult;
use crate::inbox::workspace_for;
use crate::page::{PREVIEW_CHARS, live_page, safe_link, scripted_page, signed_in, urlencode};
use crate::topics::{
    Draft, PREVIEW_RECENT, PREVIEW_SHOWN, Series, topic_series, try_draft, window_end,
};
use crate::{ApiError, AppState, chart};

/// The listening levels, in the order the team reads them, with what each holds.
const LEVELS: [(&str, &str, &str); 4] = [
    (
        "owned",
        "Owned",
        "To you: your handles, DMs, e-mails and chats.",
    ),
    ("brand", "Brand", "About you, wherever it is said."),
    ("competitor", "Competitors", "About your competitors."),
    (
        "category",
        "Category",
        "About your category: questions and buying intent.",
    ),
];
/// The windows offered, in days.
const RANGES: [i64; 4] = [1, 7, 30, 90];
const DEFAULT_DAYS: i64 = 30;
/// Messages per page of a topic's stream.
const STREAM_PAGE: usize = 50;

#[derive(Debug, Deserialize)]
pub struct ListeningParams {
    pub workspace: Option<String>,
    pub days: Option<i64>,
    pub cursor: Option<String>,
}

fn fail(principal: &Principal, e: ApiError) -> Response {
    crate::page::error_page("Listening · Needle", principal, e)
}

fn may_listen(principal: &Principal, ws: &Workspace) -> bool {
    principal
        .role_in(ws.id)
        .is_some_and(|r| Need::Listen.met_by(r))
}

fn level_name(level: &str) -> &str {
    LEVELS
        .iter()
        .find(|(key, ..)| *key == level)
        .map_or(level, |(_, name, _)| name)
}

fn days_of(params: &ListeningParams) -> i64 {
    params
        .days
        .filter(|d| RANGES.contains(d))
        .unwrap_or(DEFAULT_DAYS)
}

/// "Showing … up to the newest message" when the window had to move back from now.
fn window_note(moved: bool, end: OffsetDateTime) -> Markup {
    html! {
        @if moved {
            p.note role="note" {
                "Nothing in this window up to now; it ends at the newest message instead ("
                time datetime=(format_time(end)) { (end.date()) } ")."
            }
        }
    }
}

fn sentiment_summary(series: &Series) -> Markup {
    let total = series.total();
    html! {
        @match total.mean_sentiment() {
            Some(mean) => {
                span class=(if mean < -0.05 { "score neg" } else if mean > 0.05 { "score pos" } else { "score" }) {
                    (format!("{mean:+.2}"))
                }
                " · " (total.negative * 100 / total.classified.max(1)) "% negative"
            }
            None => span.muted { "no sentiment yet" },
        }
    }
}

/// `/listening`: every topic of the workspace by level, with its volume and sentiment.
pub async fn overview(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    params: Result<Query<ListeningParams>, QueryRejection>,
) -> Response {
    let principal = match signed_in(&state, &headers).await {
        Ok(p) => p,
        Err(elsewhere) => return elsewhere,
    };
    let Query(params) = match params.map_err(query_error) {
        Ok(params) => params,
        Err(e) => return fail(&principal, e),
    };
    let days = days_of(&params);
    let viewer = principal.clone();
    let loaded = blocking(move || {
        let ws = workspace_for(&state, &viewer, params.workspace.as_deref())?;
        let topics = state.listening.store().topics(Some(ws.id))?;
        let (end, moved) = window_end(&state, &topics, days, OffsetDateTime::now_utc())?;
        let mut rows = Vec::new();
        for topic in topics {
            let count = state
                .listening
                .store()
                .topic_count(topic.id, topic.version)?;
            let series = topic_series(&state, &topic, days, end)?;
            rows.push((topic, count, series));
        }
        Ok((ws, rows, end, moved))
    })
    .await;
    let (ws, rows, end, moved) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => return fail(&principal, e),
    };
    let wq = urlencode(&ws.name);
    let body = html! {
        div.heading {
            h2 { "Listening" }
            @if may_listen(&principal, &ws) {
                a.button href={ "/listening/new?workspace=" (wq) } { "New topic" }
            }
        }
        (range_nav(&format!("/listening?workspace={wq}"), days))
        (window_note(moved, end))
        div data-live="topics" {
            @for (level, name, about) in LEVELS {
                section.level aria-labelledby={ "level-" (level) } {
                    h3 id={ "level-" (level) } { (name) }
                    p.muted { (about) }
                    @let here: Vec<_> = rows.iter().filter(|(t, ..)| t.level == level).collect();
                    @if here.is_empty() {
                        p.muted { "No " (level) " topics yet." }
                    } @else {
                        table.topics {
                            thead { tr {
                                th scope="col" { "Topic" } th scope="col" { "Query" }
                                th scope="col" { "Messages" }
                                th scope="col" { "Last " (days) " days" }
                                th scope="col" { "Sentiment" }
                            } }
                            tbody {
                                @for (topic, count, series) in here {
                                    tr {
                                        th scope="row" { a href={ "/listening/" (urlencode(&topic.key)) "?workspace=" (wq) } { (topic.key) } }
                                        td { code.query { (topic.query) } }
                                        td { (count) }
                                        td { (chart::sparkline(series, &topic.key)) }
                                        td { (sentiment_summary(series)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    live_page("Listening · Needle", Some(&principal), &ws.name, body).into_response()
}

fn range_nav(base: &str, days: i64) -> Markup {
    html! {
        nav.ranges aria-label="time window" {
            @for d in RANGES {
                @let label = if d == 1 { "24 h".to_string() } else { format!("{d} days") };
                @if d == days {
                    a aria-current="page" href={ (base) "&days=" (d) } { (label) }
                } @else {
                    a href={ (base) "&days=" (d) } { (label) }
                }
            }
        }
    }
}

/// Message text (cut where lists cut it) with the spans that matched marked; a span that
/// does not fall on character boundaries (never, from the matcher) stays unmarked.
pub(crate) fn highlighted(text: &str, why: Option<&Explanation>) -> Markup {
    let cut = text
        .char_indices()
        .nth(PREVIEW_CHARS)
        .map_or(text.len(), |(i, _)| i);
    let shown = &text[..cut];
    let mut spans: Vec<(usize, usize)> = why
        .map(|w| w.terms.iter().map(|t| (t.start, t.end.min(cut))).collect())
        .unwrap_or_default();
    spans.sort_unstable();
    let mut pieces: Vec<(&str, bool)> = Vec::new();
    let mut at = 0;
    for (start, end) in spans {
        if start < at || start >= end || shown.get(start..end).is_none() {
            continue;
        }
        pieces.push((&shown[at..start], false));
        pieces.push((&shown[start..end], true));
        at = end;
    }
    pieces.push((&shown[at..], false));
    html! {
        @for (piece, marked) in pieces {
            @if marked { mark { (piece) } } @else { (piece) }
        }
        @if cut < text.len() { "…" }
    }
}

fn why_line(why: Option<&Explanation>) -> Markup {
    let Some(why) = why else {
        return html! {};
    };
    let mut terms: Vec<&str> = why.terms.iter().map(|t| t.term.as_str()).collect();
    terms.sort_unstable();
    terms.dedup();
    let mut parts = terms.join(", ");
    if !why.fields.is_empty() {
        if !parts.is_empty() {
            parts.push_str(" · ");
        }
        parts.push_str(&why.fields.join(", "));
    }
    html! { p.why { "Matched: " (parts) } }
}

/// One message of a stream or a preview.
fn message_item(stored: &StoredMessage, why: Option<&Explanation>) -> Markup {
    let m = &stored.message;
    html! {
        li {
            div.meta {
                span.channel { (m.channel) }
                span { (m.author.name.as_deref().or(m.author.handle.as_deref()).unwrap_or("unknown")) }
                time datetime=(format_time(m.created_at)) { (format_time(m.created_at)) }
                @if let Some(c) = &stored.classification {
                    span class={ "sentiment " (c.sentiment.label.as_str()) } {
                        (c.sentiment.label.as_str()) " " (format!("{:+.2}", c.sentiment.score))
                    }
                    @for intent in &c.intents { span.label { (intent) } }
                }
                @if let Some(url) = m.url.as_deref().and_then(safe_link) {
                    a href=(url) rel="noopener noreferrer nofollow" { "source" }
                }
            }
            @if let Some(title) = &m.title { p.title { (title) } }
            p.text lang=[m.lang.as_deref()] { (highlighted(&m.text, why)) }
            (why_line(why))
        }
    }
}

struct TopicView {
    ws: Workspace,
    topic: TopicRecord,
    count: u64,
    backfill: Option<needle_store::topics::Backfill>,
    series: Series,
    end: OffsetDateTime,
    moved: bool,
    stream: Vec<(StoredMessage, Option<Explanation>)>,
    next: Option<Cursor>,
}

fn load_topic(
    state: &AppState,
    principal: &Principal,
    key: &str,
    params: &ListeningParams,
) -> AppResult<TopicView> {
    let ws = workspace_for(state, principal, params.workspace.as_deref())?;
    let store = state.listening.store();
    let topic = store.topic(ws.id, key)?.ok_or_else(|| {
        ApiError::new(
            needle_core::ErrorCode::NotFound,
            format!("no topic {key:?}"),
        )
    })?;
    let days = days_of(params);
    let (end, moved) = window_end(
        state,
        std::slice::from_ref(&topic),
        days,
        OffsetDateTime::now_utc(),
    )?;
    let series = topic_series(state, &topic, days, end)?;
    let cursor = params
        .cursor
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(|c| {
            Cursor::decode(c)
                .ok_or_else(|| ApiError::bad_request("`cursor` is not one this server gave out"))
        })
        .transpose()?;
    let mut page = store.topic_messages(topic.id, topic.version, cursor, STREAM_PAGE + 1)?;
    let next = (page.len() > STREAM_PAGE).then(|| {
        page.truncate(STREAM_PAGE);
        page.last().map(Cursor::after)
    });
    // Why each is here: the topic's own matcher, run again (microseconds a message).
    let compiled = needle_listen::compile_topic(
        &topic.key,
        &topic.level,
        &topic.query,
        topic.exclude.as_deref(),
    )
    .ok();
    let mut scratch = Scratch::default();
    let stream = page
        .into_iter()
        .map(|stored| {
            let why = compiled.as_ref().and_then(|t| {
                t.matches_with(&needle_listen::document_of_stored(&stored), &mut scratch)
            });
            (stored, why)
        })
        .collect();
    Ok(TopicView {
        count: store.topic_count(topic.id, topic.version)?,
        backfill: store.backfill(topic.id, topic.version)?,
        ws,
        topic,
        series,
        end,
        moved,
        stream,
        next: next.flatten(),
    })
}

/// `/listening/{key}`: a topic's charts and its stream, newest first.
pub async fn topic_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(key): Path<String>,
    params: Result<Query<ListeningParams>, QueryRejection>,
) -> Response {
    let principal = match signed_in(&state, &headers).await {
        Ok(p) => p,
        Err(elsewhere) => return elsewhere,
    };
    let Query(params) = match params.map_err(query_error) {
        Ok(params) => params,
        Err(e) => return fail(&principal, e),
    };
    let days = days_of(&params);
    let viewer = principal.clone();
    let view = match blocking(move || load_topic(&state, &viewer, &key, &params)).await {
        Ok(view) => view,
        Err(e) => return fail(&principal, e),
    };
    let wq = urlencode(&view.ws.name);
    let kq = urlencode(&view.topic.key);
    let base = format!("/listening/{kq}?workspace={wq}");
    let t = &view.topic;
    let body = html! {
        p.crumbs { a href={ "/listening?workspace=" (wq) } { "Listening" } " › " (level_name(&t.level)) }
        div.heading {
            h2 { (t.key) }
            span.badge { (level_name(&t.level)) " · version " (t.version) }
            @if may_listen(&principal, &view.ws) {
                a.button href={ "/listening/" (kq) "/edit?workspace=" (wq) } { "Edit topic" }
            }
        }
        dl.definition {
            dt { "Query" } dd { code.query { (t.query) } }
            @if let Some(exclude) = &t.exclude { dt { "Excluding" } dd { code.query { (exclude) } } }
        }
        div data-live="topic" {
            p.summary {
                (view.count) " messages in this topic"
                @if let Some(b) = view.backfill.as_ref().filter(|b| !b.is_finished()) {
                    " · looking through history: " (b.done) " of " (b.total) " messages so far"
                }
            }
            (range_nav(&base, days))
            (window_note(view.moved, view.end))
            figure {
                figcaption { "Volume per " (view.series.bucket_name()) ", by sentiment "
                    span.key { span.swatch.neg {} "negative " span.swatch.neu {} "neutral " span.swatch.pos {} "positive " span.swatch.unk {} "not classified" } }
                (chart::volume(&view.series, &t.key))
            }
            figure {
                figcaption { "Mean sentiment per " (view.series.bucket_name()) " · " (sentiment_summary(&view.series)) }
                (chart::sentiment(&view.series, &t.key))
            }
            (chart::table(&view.series))
            h3 { "Messages" }
            @if view.stream.is_empty() {
                p.muted { "No message matches this topic yet." }
            }
            ol.messages {
                @for (stored, why) in &view.stream { (message_item(stored, why.as_ref())) }
            }
            @if let Some(next) = view.next {
                nav.pages aria-label="pages" {
                    a href={ (base) "&days=" (days) "&cursor=" (urlencode(&next.encode())) } { "Older messages →" }
                }
            }
        }
    };
    live_page(
        &format!("{} · Listening · Needle", t.key),
        Some(&principal),
        &view.ws.name,
        body,
    )
    .into_response()
}

/// The editor's fields, as posted.
#[derive(Debug, Default, Deserialize)]
pub struct TopicForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    workspace: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    query: String,
    #[serde(default)]
    exclude: String,
    /// Set when changing an existing topic (the id cannot change).
    #[serde(default)]
    editing: String,
}

/// A query with each problem's span marked, and the problems listed.
fn lint_report(part: &str, text: &str, report: Option<&LintReport>) -> Markup {
    let problems: Vec<(&Diagnostic, &str)> = report
        .map(|r| {
            r.errors
                .iter()
                .map(|d| (d, "error"))
                .chain(r.warnings.iter().map(|d| (d, "warning")))
                .collect()
        })
        .unwrap_or_default();
    html! {
        div.lint id={ "lint-" (part) } data-part={ "lint-" (part) } role="status" aria-live="polite" {
            @if report.is_some_and(|r| r.errors.is_empty() && r.warnings.is_empty()) && !text.trim().is_empty() {
                p.ok { "No problems." }
            }
            @if !problems.is_empty() {
                ul {
                    @for (d, severity) in problems {
                        li class=(severity) {
                            strong { (severity) } " "
                            (d.message)
                            @if let (Some(before), Some(span)) = (text.get(..d.start), text.get(d.start..d.end.max(d.start))) {
                                " — " code {
                                    (before.chars().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect::<String>())
                                    mark { @if span.is_empty() { "⎀" } @else { (span) } }
                                    (text.get(d.end.max(d.start)..).unwrap_or("").chars().take(30).collect::<String>())
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn preview_part(draft: Option<&Draft>, error: Option<&str>) -> Markup {
    html! {
        section.preview data-part="preview" aria-live="polite" aria-labelledby="preview-title" {
            h3 id="preview-title" { "Matches among the newest messages" }
            @if let Some(error) = error { p.error role="alert" { (error) } }
            @match draft.and_then(|d| d.preview.as_ref()) {
                None => p.muted { "Write a query without errors to see what it matches." },
                Some(p) => {
                    p.summary {
                        strong { (p.matched) } " of the newest " (p.examined) " messages match"
                        @if p.examined > 0 { " (" (format!("{:.1}", p.matched as f64 * 100.0 / p.examined as f64)) "%)" }
                        @if p.matched > p.messages.len() { "; the first " (p.messages.len()) " are shown" }
                        "."
                    }
                    ol.messages {
                        @for (stored, why) in &p.messages { (message_item(stored, Some(why))) }
                    }
                }
            }
        }
    }
}

/// The editor, filled with `form`; `draft` holds its lint and preview when tried.
fn editor(
    principal: &Principal,
    ws: &Workspace,
    form: &TopicForm,
    draft: Option<&Draft>,
    error: Option<&str>,
) -> Markup {
    let editing = !form.editing.is_empty();
    let csrf = principal
        .session
        .as_ref()
        .map(|k| k.csrf.as_str())
        .unwrap_or("");
    let level = if form.level.is_empty() {
        "brand"
    } else {
        form.level.as_str()
    };
    let wq = urlencode(&ws.name);
    html! {
        p.crumbs { a href={ "/listening?workspace=" (wq) } { "Listening" } }
        h2 { @if editing { "Edit topic " (form.id) } @else { "New topic" } }
        div.editor {
            form.topic method="post" action={ "/listening/new?workspace=" (wq) } {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="workspace" value=(ws.name);
                @if editing {
                    input type="hidden" name="editing" value="1";
                    input type="hidden" name="id" value=(form.id);
                } @else {
                    label { "Topic id (letters, digits, - _ .)"
                        input type="text" name="id" value=(form.id) required pattern="[A-Za-z0-9][A-Za-z0-9._-]{0,63}" autocomplete="off";
                    }
                }
                label { "Listening level"
                    select name="level" {
                        @for (key, name, about) in LEVELS {
                            option value=(key) selected[key == level] { (name) " — " (about) }
                        }
                    }
                }
                label for="query" { "Query (NQL: words, \"phrases\", AND OR NOT, NEAR/n, fields such as lang:en)" }
                textarea id="query" name="query" rows="4" required spellcheck="false" aria-describedby="lint-query" { (form.query) }
                (lint_report("query", &form.query, draft.map(|d| &d.query)))
                label for="exclude" { "Leave out messages matching (optional)" }
                textarea id="exclude" name="exclude" rows="2" spellcheck="false" aria-describedby="lint-exclude" { (form.exclude) }
                (lint_report("exclude", &form.exclude, draft.and_then(|d| d.exclude.as_ref())))
                div.buttons {
                    button type="submit" formaction={ "/listening/try?workspace=" (wq) } { "Try it" }
                    @if may_listen(principal, ws) {
                        button type="submit" { "Save topic" }
                    } @else {
                        span.muted { "Only analysts and admins save topics." }
                    }
                }
            }
            (preview_part(draft, error))
        }
    }
}

fn editor_page(
    principal: &Principal,
    ws: &Workspace,
    form: &TopicForm,
    draft: Option<&Draft>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    (
        status,
        scripted_page(
            "Topic editor · Listening · Needle",
            Some(principal),
            "/assets/listening.js",
            editor(principal, ws, form, draft, error),
        ),
    )
        .into_response()
}

/// `/listening/new`: an empty editor.
pub async fn new_topic(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    params: Result<Query<ListeningParams>, QueryRejection>,
) -> Response {
    let principal = match signed_in(&state, &headers).await {
        Ok(p) => p,
        Err(elsewhere) => return elsewhere,
    };
    let asked = params.ok().and_then(|Query(p)| p.workspace);
    let viewer = principal.clone();
    match blocking(move || workspace_for(&state, &viewer, asked.as_deref())).await {
        Ok(ws) => editor_page(
            &principal,
            &ws,
            &TopicForm::default(),
            None,
            None,
            StatusCode::OK,
        ),
        Err(e) => fail(&principal, e),
    }
}

/// `/listening/{key}/edit`: the editor with the topic's definition, already tried.
pub async fn edit_topic(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(key): Path<String>,
    params: Result<Query<ListeningParams>, QueryRejection>,
) -> Response {
    let principal = match signed_in(&state, &headers).await {
        Ok(p) => p,
        Err(elsewhere) => return elsewhere,
    };
    let asked = params.ok().and_then(|Query(p)| p.workspace);
    let viewer = principal.clone();
    let loaded = blocking(move || {
        let ws = workspace_for(&state, &viewer, asked.as_deref())?;
        let topic = state.listening.store().topic(ws.id, &key)?.ok_or_else(|| {
            ApiError::new(
                needle_core::ErrorCode::NotFound,
                format!("no topic {key:?}"),
            )
        })?;
        let form = TopicForm {
            id: topic.key,
            level: topic.level,
            query: topic.query,
            exclude: topic.exclude.unwrap_or_default(),
            editing: "1".into(),
            ..TopicForm::default()
        };
        let draft = try_draft(
            &state,
            ws.id,
            &form.query,
            Some(&form.exclude),
            PREVIEW_RECENT,
            PREVIEW_SHOWN,
        )?;
        Ok((ws, form, draft))
    })
    .await;
    match loaded {
        Ok((ws, form, draft)) => {
            editor_page(&principal, &ws, &form, Some(&draft), None, StatusCode::OK)
        }
        Err(e) => fail(&principal, e),
    }
}

fn form_workspace(
    params: Result<Query<ListeningParams>, QueryRejection>,
    form: &TopicForm,
) -> Option<String> {
    params
        .ok()
        .and_then(|Query(p)| p.workspace)
        .or_else(|| (!form.workspace.is_empty()).then(|| form.workspace.clone()))
}

/// Who posted the editor's form, if signed in and the form carries their CSRF token.
async fn form_sender(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    form: &TopicForm,
) -> Result<Principal, Response> {
    let principal = signed_in(state, headers).await?;
    let fresh = principal
        .session
        .as_ref()
        .is_some_and(|k| secrets::same_secret(&k.csrf, &form.csrf));
    if !fresh {
        return Err(fail(
            &principal,
            ApiError::new(
                needle_core::ErrorCode::Forbidden,
                "The form expired; reload the page.",
            ),
        ));
    }
    Ok(principal)
}

/// `POST /listening/try`: the editor again, with the draft linted and tried; nothing saved.
pub async fn try_it(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    params: Result<Query<ListeningParams>, QueryRejection>,
    Form(form): Form<TopicForm>,
) -> Response {
    let principal = match form_sender(&state, &headers, &form).await {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    let asked = form_workspace(params, &form);
    let viewer = principal.clone();
    let tried = blocking(move || {
        let ws = workspace_for(&state, &viewer, asked.as_deref())?;
        let draft = try_draft(
            &state,
            ws.id,
            &form.query,
            Some(&form.exclude),
            PREVIEW_RECENT,
            PREVIEW_SHOWN,
        );
        Ok((ws, form, draft))
    })
    .await;
    match tried {
        Ok((ws, form, Ok(draft))) => {
            editor_page(&principal, &ws, &form, Some(&draft), None, StatusCode::OK)
        }
        Ok((ws, form, Err(e))) => editor_page(
            &principal,
            &ws,
            &form,
            None,
            Some(&e.message),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => fail(&principal, e),
    }
}

/// `POST /listening/new`: saves the topic (a new version when it changed) and shows it;
/// a query with errors comes back to the editor with them marked.
pub async fn save(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    params: Result<Query<ListeningParams>, QueryRejection>,
    Form(form): Form<TopicForm>,
) -> Response {
    let principal = match form_sender(&state, &headers, &form).await {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    let asked = form_workspace(params, &form);
    let (viewer, st) = (principal.clone(), state.clone());
    let saved = blocking(move || {
        let state = st;
        let ws = workspace_for(&state, &viewer, asked.as_deref())?;
        if !may_listen(&viewer, &ws) {
            return Err(ApiError::new(
                needle_core::ErrorCode::Forbidden,
                format!(
                    "saving topics needs {}; you are {} in {:?}",
                    Need::Listen.who(),
                    viewer.role_in(ws.id).map_or("nobody", |r| r.as_str()),
                    ws.name
                ),
            ));
        }
        let id = form.id.trim().to_string();
        if form.editing.is_empty() && state.listening.store().topic(ws.id, &id)?.is_some() {
            return Ok((
                ws,
                form,
                Err(format!("A topic {id:?} exists already; edit it instead.")),
            ));
        }
        let exclude = Some(form.exclude.as_str()).filter(|e| !e.trim().is_empty());
        match state
            .listening
            .save_topic(ws.id, &id, &form.level, &form.query, exclude)
        {
            Ok(_) => {
                crate::topics::announce_topic_changed(&state, ws.id, &id);
                Ok((ws, form, Ok(id)))
            }
            Err(e) => Ok((ws, form, Err(e.to_string()))),
        }
    })
    .await;
    match saved {
        Ok((ws, _, Ok(id))) => Redirect::to(&format!(
            "/listening/{}?workspace={}",
            urlencode(&id),
            urlencode(&ws.name)
        ))
        .into_response(),
        Ok((ws, form, Err(problem))) => {
            let draft = {
                let (state, ws_id, query, exclude) = (
                    state.clone(),
                    ws.id,
                    form.query.clone(),
                    form.exclude.clone(),
                );
                blocking(move || {
                    try_draft(
                        &state,
                        ws_id,
                        &query,
                        Some(&exclude),
                        PREVIEW_RECENT,
                        PREVIEW_SHOWN,
                    )
                })
                .await
                .ok()
            };
            editor_page(
                &principal,
                &ws,
                &form,
                draft.as_ref(),
                Some(&problem),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => fail(&principal, e),
    }
}
