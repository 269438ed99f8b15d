//! Topics over HTTP: create, change (a new version), list, delete, their messages, their
//! volume and sentiment over time, their backfill progress, and for the query editor a
//! linter and a preview on recent messages.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use needle_bus::Event;
use needle_core::ErrorCode;
use needle_core::message::format_time;
use needle_listen::preview::Preview;
use needle_nql::LintReport;
use needle_store::topics::{SeriesBucket, SeriesWindow, TopicRecord};
use needle_store::{Cursor, from_micros, micros};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::api::{WorkspaceParam, blocking, query_error, workspace_id_or_default};
use crate::{ApiError, AppState};

use crate::error::AppResult;

/// A topic as sent by clients.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopicBody {
    /// The topic's id in its workspace (letters, digits, `-`, `_`, `.`). Taken from the
    /// path on PUT.
    pub id: Option<String>,
    /// `owned`, `brand`, `competitor` or `category`.
    pub level: String,
    /// An NQL query.
    pub query: String,
    /// An NQL query; messages matching it are left out of the topic.
    pub exclude: Option<String>,
}

pub(crate) fn json_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<T> {
    let is_json = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/json")
        });
    if !is_json {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "send application/json",
        ));
    }
    let body = body.map_err(|r| ApiError::bad_request(r.body_text()))?;
    serde_json::from_slice(&body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => {
            ApiError::new(ErrorCode::InvalidMessage, e.to_string())
        }
        _ => ApiError::bad_request(format!("the body is not valid JSON: {e}")),
    })
}

/// A topic with its history size and backfill progress.
fn topic_json(state: &AppState, topic: &TopicRecord) -> AppResult<Value> {
    let matched = state.store_topics().topic_count(topic.id, topic.version)?;
    let backfill = state
        .store_topics()
        .backfill(topic.id, topic.version)?
        .map(|b| {
            json!({
                "state": if b.is_finished() { "done" } else { "running" },
                "done": b.done,
                "total": b.total,
                "matched": b.matched,
                "progress": if b.total == 0 { 1.0 } else { b.done as f64 / b.total as f64 },
            })
        });
    Ok(json!({
        "id": topic.key,
        "level": topic.level,
        "version": topic.version,
        "query": topic.query,
        "exclude": topic.exclude,
        "created_at": format_time(topic.created_at),
        "updated_at": format_time(topic.updated_at),
        "messages": matched,
        "backfill": backfill,
    }))
}

impl AppState {
    fn store_topics(&self) -> &Arc<dyn needle_store::Backend> {
        self.listening.store()
    }
}

fn workspace_of(state: &AppState, params: &WorkspaceParam) -> AppResult<i64> {
    workspace_id_or_default(state, params.workspace.as_deref())
}

/// Lists the workspace's topics.
#[utoipa::path(get, path = "/api/v1/topics", tag = "topics", params(WorkspaceParam),
    responses((status = 200, description = "Topics with their message counts and backfill progress")))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    blocking(move || {
        let ws = workspace_of(&state, &params)?;
        let topics = state.store_topics().topics(Some(ws))?;
        let list: AppResult<Vec<Value>> = topics.iter().map(|t| topic_json(&state, t)).collect();
        Ok(Json(Value::Array(list?)))
    })
    .await
}

/// Tells pipeline workers (and open pages) at once, rather than at their next reload.
pub(crate) fn announce_topic_changed(state: &AppState, workspace_id: i64, key: &str) {
    state.feed.announce(Event::new(
        workspace_id,
        Event::TOPIC_CHANGED,
        json!({ "key": key }),
    ));
}

fn save(state: &AppState, ws: i64, key: &str, body: &TopicBody) -> AppResult<Value> {
    let record =
        state
            .listening
            .save_topic(ws, key, &body.level, &body.query, body.exclude.as_deref())?;
    announce_topic_changed(state, ws, key);
    topic_json(state, &record)
}

/// Creates a topic; its history is backfilled in the background.
#[utoipa::path(post, path = "/api/v1/topics", tag = "topics", params(WorkspaceParam), request_body = TopicBody,
    responses((status = 201, description = "Created"), (status = 409, description = "A topic with that id exists"),
              (status = 422, description = "A query has errors; `lint` lists them with spans")))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    let Query(params) = params.map_err(query_error)?;
    let body: TopicBody = json_body(&headers, body)?;
    let key = body
        .id
        .clone()
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidMessage, "`id` is required"))?;
    let created = blocking(move || {
        let ws = workspace_of(&state, &params)?;
        if state.store_topics().topic(ws, &key)?.is_some() {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!("topic {key:?} exists; change it with PUT /api/v1/topics/{key}"),
            ));
        }
        save(&state, ws, &key, &body)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// Creates or changes a topic. A change makes a new version; the old one keeps its history.
#[utoipa::path(put, path = "/api/v1/topics/{key}", tag = "topics", params(("key" = String, Path), WorkspaceParam),
    request_body = TopicBody, responses((status = 200, description = "The topic now"), (status = 422, description = "Query errors")))]
pub async fn update(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    let body: TopicBody = json_body(&headers, body)?;
    if body.id.as_deref().is_some_and(|id| id != key) {
        return Err(ApiError::new(
            ErrorCode::InvalidMessage,
            "`id` in the body differs from the path",
        ));
    }
    blocking(move || {
        let ws = workspace_of(&state, &params)?;
        Ok(Json(save(&state, ws, &key, &body)?))
    })
    .await
}

/// A topic with every version.
#[utoipa::path(get, path = "/api/v1/topics/{key}", tag = "topics", params(("key" = String, Path), WorkspaceParam),
    responses((status = 200, description = "The topic"), (status = 404, description = "No such topic")))]
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    blocking(move || {
        let ws = workspace_of(&state, &params)?;
        let topic = state
            .store_topics()
            .topic(ws, &key)?
            .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no topic {key:?}")))?;
        let mut body = topic_json(&state, &topic)?;
        let versions: Vec<Value> = state
            .store_topics()
            .topic_versions(topic.id)?
            .into_iter()
            .map(|v| {
                json!({"version": v.version, "level": v.level, "query": v.query,
                       "exclude": v.exclude, "created_at": format_time(v.created_at)})
            })
            .collect();
        body["versions"] = Value::Array(versions);
        Ok(Json(body))
    })
    .await
}

/// Stops matching a topic; its history stays.
#[utoipa::path(delete, path = "/api/v1/topics/{key}", tag = "topics", params(("key" = String, Path), WorkspaceParam),
    responses((status = 204, description = "Deleted"), (status = 404, description = "No such topic")))]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
) -> AppResult<StatusCode> {
    let Query(params) = params.map_err(query_error)?;
    blocking(move || {
        let ws = workspace_of(&state, &params)?;
        state.listening.delete_topic(ws, &key)?;
        announce_topic_changed(&state, ws, &key);
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TopicMessagesParams {
    pub workspace: Option<String>,
    /// Which version's history (default: the current one).
    pub version: Option<i64>,
    pub cursor: Option<String>,
    /// 1 to 1000 (default 50).
    pub limit: Option<usize>,
}

/// A topic's messages, newest first: live matches and backfilled history.
#[utoipa::path(get, path = "/api/v1/topics/{key}/messages", tag = "topics",
    params(("key" = String, Path), TopicMessagesParams),
    responses((status = 200, description = "Messages and the next cursor"), (status = 404, description = "No such topic")))]
pub async fn messages(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
    params: Result<Query<TopicMessagesParams>, QueryRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    let limit = crate::api::page_limit(params.limit, 50, 1000)?;
    let cursor = match params.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(token) => Some(
            Cursor::decode(token)
                .ok_or_else(|| ApiError::bad_request("`cursor` is not one this server gave out"))?,
        ),
    };
    blocking(move || {
        let ws = workspace_of(
            &state,
            &WorkspaceParam {
                workspace: params.workspace.clone(),
            },
        )?;
        let topic = state
            .store_topics()
            .topic(ws, &key)?
            .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no topic {key:?}")))?;
        let version = params.version.unwrap_or(topic.version);
        let mut page = state
            .store_topics()
            .topic_messages(topic.id, version, cursor, limit + 1)?;
        let next = (page.len() > limit).then(|| {
            page.truncate(limit);
            page.last().map(Cursor::after)
        });
        Ok(Json(json!({
            "topic": topic.key,
            "version": version,
            "messages": page.iter().map(crate::api::stored_json).collect::<Vec<_>>(),
            "next_cursor": next.flatten().map(Cursor::encode),
        })))
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LintBody {
    pub query: String,
}

/// Checks an NQL query: errors and warnings with byte spans (as `needle query lint --json`).
#[utoipa::path(post, path = "/api/v1/query/lint", tag = "topics", request_body = LintBody,
    responses((status = 200, description = "`{\"errors\":[…],\"warnings\":[…]}`")))]
pub async fn lint(
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Json<Value>> {
    let body: LintBody = json_body(&headers, body)?;
    let report = needle_nql::lint(&body.query);
    Ok(Json(serde_json::to_value(&report).unwrap_or_default()))
}

/// Longest window of a topic's series, in days.
pub const MAX_SERIES_DAYS: i64 = 366;

/// A topic's volume and sentiment over a window, every bucket present (empty ones too).
#[derive(Debug, Clone)]
pub struct Series {
    pub since: OffsetDateTime,
    pub bucket: time::Duration,
    pub buckets: Vec<SeriesBucket>,
}

impl Series {
    pub fn bucket_start(&self, index: usize) -> OffsetDateTime {
        self.since + self.bucket * index as u32
    }

    /// The whole window as one bucket: its counts and sentiment sum.
    pub fn total(&self) -> SeriesBucket {
        self.buckets
            .iter()
            .fold(SeriesBucket::default(), |sum, b| SeriesBucket {
                index: 0,
                messages: sum.messages + b.messages,
                positive: sum.positive + b.positive,
                negative: sum.negative + b.negative,
                classified: sum.classified + b.classified,
                sentiment_sum: sum.sentiment_sum + b.sentiment_sum,
            })
    }

    /// `hour` or `day`.
    pub fn bucket_name(&self) -> &'static str {
        if self.bucket < time::Duration::DAY {
            "hour"
        } else {
            "day"
        }
    }
}

/// The window of `days` ending with the bucket that holds `end`: hours for up to two days,
/// days (UTC) beyond.
fn window_ending(end: OffsetDateTime, days: i64) -> SeriesWindow {
    let bucket_us = if days <= 2 { 3_600 } else { 86_400 } * 1_000_000;
    let until_us = (micros(end).div_euclid(bucket_us) + 1) * bucket_us;
    SeriesWindow {
        since_us: until_us - days * 86_400 * 1_000_000,
        until_us,
        bucket_us,
    }
}

/// Where a window of `days` over `topics` should end: now, unless none of them has a message
/// in the `days` before now but some have older ones (an import of last year, the demo);
/// then at the newest of those. True when moved.
pub fn window_end(
    state: &AppState,
    topics: &[TopicRecord],
    days: i64,
    now: OffsetDateTime,
) -> AppResult<(OffsetDateTime, bool)> {
    let mut newest: Option<OffsetDateTime> = None;
    for topic in topics {
        if let Some(m) = state
            .store_topics()
            .topic_messages(topic.id, topic.version, None, 1)?
            .first()
        {
            newest = newest.max(Some(m.message.created_at));
        }
    }
    Ok(match newest {
        Some(newest) if newest < now - time::Duration::days(days) => (newest, true),
        _ => (now, false),
    })
}

fn check_days(days: i64) -> AppResult<i64> {
    if (1..=MAX_SERIES_DAYS).contains(&days) {
        Ok(days)
    } else {
        Err(ApiError::bad_request(format!(
            "`days` must be from 1 to {MAX_SERIES_DAYS}, got {days}"
        )))
    }
}

/// A topic's series over the `days` up to the bucket holding `end`.
pub fn topic_series(
    state: &AppState,
    topic: &TopicRecord,
    days: i64,
    end: OffsetDateTime,
) -> AppResult<Series> {
    let window = window_ending(end, check_days(days)?);
    let sparse = state
        .store_topics()
        .topic_series(topic.id, topic.version, window)?;
    let len = ((window.until_us - window.since_us) / window.bucket_us) as usize;
    let mut buckets: Vec<SeriesBucket> = (0..len as i64)
        .map(|index| SeriesBucket {
            index,
            ..SeriesBucket::default()
        })
        .collect();
    for bucket in sparse {
        if let Some(slot) = usize::try_from(bucket.index)
            .ok()
            .and_then(|i| buckets.get_mut(i))
        {
            *slot = bucket;
        }
    }
    Ok(Series {
        since: from_micros(window.since_us),
        bucket: time::Duration::microseconds(window.bucket_us),
        buckets,
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesParams {
    pub workspace: Option<String>,
    /// How many days, up to now (1 to 366, default 30). Hourly buckets up to 2 days,
    /// daily (UTC) beyond.
    pub days: Option<i64>,
}

/// A topic's volume and sentiment over time: the `days` up to now, or up to its newest
/// message when it has none that recent (`moved_to_newest`).
#[utoipa::path(get, path = "/api/v1/topics/{key}/series", tag = "topics",
    params(("key" = String, Path), SeriesParams),
    responses((status = 200, description = "Every bucket of the window with its message count, sentiment counts and mean sentiment"),
              (status = 404, description = "No such topic")))]
pub async fn series(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
    params: Result<Query<SeriesParams>, QueryRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    blocking(move || {
        let ws = workspace_id_or_default(&state, params.workspace.as_deref())?;
        let topic = state
            .store_topics()
            .topic(ws, &key)?
            .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no topic {key:?}")))?;
        let days = check_days(params.days.unwrap_or(30))?;
        let (end, moved) = window_end(
            &state,
            std::slice::from_ref(&topic),
            days,
            OffsetDateTime::now_utc(),
        )?;
        let series = topic_series(&state, &topic, days, end)?;
        let buckets: Vec<Value> = series
            .buckets
            .iter()
            .enumerate()
            .map(|(i, b)| {
                json!({
                    "start": format_time(series.bucket_start(i)),
                    "messages": b.messages,
                    "positive": b.positive,
                    "neutral": b.neutral(),
                    "negative": b.negative,
                    "unclassified": b.messages.saturating_sub(b.classified),
                    "mean_sentiment": b.mean_sentiment(),
                })
            })
            .collect();
        Ok(Json(json!({
            "topic": topic.key,
            "version": topic.version,
            "bucket": series.bucket_name(),
            "since": format_time(series.since),
            "until": format_time(series.bucket_start(series.buckets.len())),
            "moved_to_newest": moved,
            "buckets": buckets,
        })))
    })
    .await
}

/// What a draft topic is: its queries' lint, and (when both compile) its preview.
pub struct Draft {
    pub query: LintReport,
    pub exclude: Option<LintReport>,
    pub preview: Option<Preview>,
}

/// Recent messages a draft is tried on, unless asked otherwise.
pub const PREVIEW_RECENT: usize = 1_000;
/// Matches a preview lists, at most.
pub const PREVIEW_SHOWN: usize = 20;

/// Lints a draft topic and, when it has no errors, tries it on the workspace's `recent`
/// newest messages.
pub fn try_draft(
    state: &AppState,
    workspace_id: i64,
    query: &str,
    exclude: Option<&str>,
    recent: usize,
    shown: usize,
) -> AppResult<Draft> {
    let exclude = exclude.filter(|e| !e.trim().is_empty());
    let query_lint = needle_nql::lint(query);
    let exclude_lint = exclude.map(needle_nql::lint);
    let clean =
        query_lint.errors.is_empty() && exclude_lint.as_ref().is_none_or(|l| l.errors.is_empty());
    let preview = if clean && !query.trim().is_empty() {
        let topic = needle_listen::compile_topic("draft", "brand", query, exclude)?;
        Some(
            state
                .listening
                .preview(workspace_id, &topic, recent, shown)?,
        )
    } else {
        None
    };
    Ok(Draft {
        query: query_lint,
        exclude: exclude_lint,
        preview,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewBody {
    pub query: String,
    pub exclude: Option<String>,
    /// How many of the newest messages to try it on (1 to 5000, default 1000).
    pub recent: Option<usize>,
    /// How many matches to list (0 to 100, default 20).
    pub limit: Option<usize>,
}

/// Lints a draft topic and tries it on the workspace's newest messages, before saving.
#[utoipa::path(post, path = "/api/v1/query/preview", tag = "topics", params(WorkspaceParam), request_body = PreviewBody,
    responses((status = 200, description = "`lint` for each query; `preview` (examined, matched, messages with `match`) when neither has errors, else null")))]
pub async fn preview(
    State(state): State<Arc<AppState>>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    let body: PreviewBody = json_body(&headers, body)?;
    let recent = body.recent.unwrap_or(PREVIEW_RECENT);
    if !(1..=needle_listen::preview::MAX_RECENT).contains(&recent) {
        return Err(ApiError::bad_request(format!(
            "`recent` must be from 1 to {}, got {recent}",
            needle_listen::preview::MAX_RECENT
        )));
    }
    let limit = body.limit.unwrap_or(PREVIEW_SHOWN);
    if limit > 100 {
        return Err(ApiError::bad_request(format!(
            "`limit` must be from 0 to 100, got {limit}"
        )));
    }
    blocking(move || {
        let ws = workspace_of(&state, &params)?;
        let draft = try_draft(
            &state,
            ws,
            &body.query,
            body.exclude.as_deref(),
            recent,
            limit,
        )?;
        let preview = draft.preview.map(|p| {
            json!({
                "examined": p.examined,
                "matched": p.matched,
                "messages": p.messages.iter().map(|(stored, why)| {
                    let mut m = crate::api::stored_json(stored);
                    m["match"] = serde_json::to_value(why).unwrap_or_default();
                    m
                }).collect::<Vec<_>>(),
            })
        });
        Ok(Json(json!({
            "lint": {"query": draft.query, "exclude": draft.exclude},
            "preview": preview,
        })))
    })
    .await
}
