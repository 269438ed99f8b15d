//! Connections over HTTP: configure a workspace's channels (`PUT /api/v1/connections/{name}`),
//! see each one's health, and the webhook endpoint senders POST to
//! (`POST /api/v1/hooks/{name}`).
//!
//! Secrets go in and never come out: answers say only whether one is set. Health (last
//! success, last error, lag, totals) is also on `/metrics`, read from the store at each
//! scrape so that every process of a cluster reports the same.

use std::sync::Arc;
use std::sync::atomic::AtomicI64;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::{Extension, Json};
use needle_connect::ConnectorConfig;
use needle_connect::webhook::{self, WebhookConfig};
use needle_core::ErrorCode;
use needle_core::message::format_time;
use needle_pipeline::Item;
use needle_store::connections::{Attempt, Connection, ConnectionSpec};
use needle_store::outbox::{Delivery, DeliveryFilter, DeliveryStatus};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::api::{
    IngestResult, WorkspaceParam, blocking, query_error, read_body, refuse_while_stopping, submit,
    workspace_or_default,
};
use crate::error::AppResult;
use crate::topics::json_body;
use crate::{ApiError, AppState, MAX_BATCH};

/// Create or replace a connection.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionBody {
    /// `rss` or `webhook`.
    pub kind: String,
    /// The connector's settings. `rss`: `{url, poll_seconds}`. `webhook`: `{fields: {text:
    /// "/pointer", "author.email": "/pointer", …}, items, channel, signature_header}`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub config: Value,
    /// The webhook signing key. Left out when replacing a connection: the stored one stays.
    pub secret: Option<String>,
    /// Default true.
    pub enabled: Option<bool>,
}

fn time(t: Option<OffsetDateTime>) -> Value {
    t.map_or(Value::Null, |t| json!(format_time(t)))
}

/// Seconds since the connection last worked.
fn lag_seconds(c: &Connection, now: OffsetDateTime) -> Option<i64> {
    c.health
        .last_success_at
        .map(|t| (now - t).whole_seconds().max(0))
}

fn view(c: &Connection, workspace: &str) -> Value {
    let h = &c.health;
    let mut v = json!({
        "name": c.spec.name,
        "kind": c.spec.kind,
        "enabled": c.spec.enabled,
        "config": c.spec.config,
        "has_secret": c.spec.secret.is_some(),
        "created_at": format_time(c.created_at),
        "updated_at": format_time(c.updated_at),
        "checkpoint_at": time(c.checkpoint_at),
        "health": {
            "status": c.status(),
            "last_attempt_at": time(h.last_attempt_at),
            "last_success_at": time(h.last_success_at),
            "last_error": h.last_error,
            "last_error_at": time(h.last_error_at),
            "consecutive_failures": h.consecutive_failures,
            "lag_seconds": lag_seconds(c, OffsetDateTime::now_utc()),
            "messages_total": h.messages_total,
            "errors_total": h.errors_total,
        },
    });
    if c.spec.kind == "webhook" {
        v["endpoint"] = json!(format!(
            "/api/v1/hooks/{}?workspace={workspace}",
            c.spec.name
        ));
    }
    v
}

/// Every connection of the workspace, with its health.
#[utoipa::path(get, path = "/api/v1/connections", tag = "connections", params(WorkspaceParam),
    responses((status = 200, description = "`{connections: [{name, kind, enabled, config, has_secret, health: {status, last_success_at, last_error, lag_seconds, …}}]}`")))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    blocking(move || {
        let ws = workspace_or_default(&state, params.workspace.as_deref())?;
        let connections: Vec<Value> = state
            .listening
            .store()
            .connections(Some(ws.id))?
            .iter()
            .map(|c| view(c, &ws.name))
            .collect();
        Ok(Json(json!({ "connections": connections })))
    })
    .await
}

/// One connection with its health.
#[utoipa::path(get, path = "/api/v1/connections/{name}", tag = "connections",
    params(("name" = String, Path, description = "Connection name"), WorkspaceParam),
    responses((status = 200, description = "The connection"), (status = 404, description = "No such connection")))]
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    blocking(move || {
        let ws = workspace_or_default(&state, params.workspace.as_deref())?;
        let c = find(&state, ws.id, &name)?;
        Ok(Json(view(&c, &ws.name)))
    })
    .await
}

fn find(state: &AppState, workspace_id: i64, name: &str) -> AppResult<Connection> {
    state
        .listening
        .store()
        .connection(workspace_id, name)?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no connection named {name:?}")))
}

/// Creates a connection or replaces its settings. A feed starts being read within seconds;
/// a webhook's answer carries the `endpoint` to give senders.
#[utoipa::path(put, path = "/api/v1/connections/{name}", tag = "connections", request_body = ConnectionBody,
    params(("name" = String, Path, description = "1 to 64 lower-case letters, digits, `_` or `-`"), WorkspaceParam),
    responses((status = 201, description = "Created"), (status = 200, description = "Replaced"),
              (status = 400, description = "A setting is wrong; the message says which and why")))]
pub async fn put(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let Query(params) = params.map_err(query_error)?;
    needle_connect::config::check_name(&name).map_err(ApiError::bad_request)?;
    let body: ConnectionBody = json_body(&headers, body)?;
    blocking(move || {
        let ws = workspace_or_default(&state, params.workspace.as_deref())?;
        let store = state.listening.store();
        let secret = match body.secret {
            Some(s) if s.is_empty() => None,
            Some(s) => Some(s),
            None => store.connection(ws.id, &name)?.and_then(|c| c.spec.secret),
        };
        ConnectorConfig::parse(&body.kind, &body.config, secret.is_some())
            .map_err(|e| ApiError::bad_request(format!("connection {name:?}: {e}")))?;
        let spec = ConnectionSpec {
            name,
            kind: body.kind,
            config: body.config,
            secret,
            enabled: body.enabled.unwrap_or(true),
        };
        let (stored, created) = store.put_connection(ws.id, &spec)?;
        let status = if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        Ok((status, Json(view(&stored, &ws.name))))
    })
    .await
}

/// Removes a connection; the messages it brought in stay.
#[utoipa::path(delete, path = "/api/v1/connections/{name}", tag = "connections",
    params(("name" = String, Path, description = "Connection name"), WorkspaceParam),
    responses((status = 204, description = "Removed"), (status = 404, description = "No such connection")))]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
) -> AppResult<StatusCode> {
    let Query(params) = params.map_err(query_error)?;
    blocking(move || {
        let ws = workspace_or_default(&state, params.workspace.as_deref())?;
        if state.listening.store().remove_connection(ws.id, &name)? {
            Ok(StatusCode::NO_CONTENT)
        } else {
            Err(ApiError::new(
                ErrorCode::NotFound,
                format!("no connection named {name:?}"),
            ))
        }
    })
    .await
}

/// The webhook endpoint of a connection: checks the body's HMAC-SHA256 signature, maps the
/// body's items to messages with the connection's `fields`, and stores them like ingest does.
/// A wrong signature (401) or an item that cannot be mapped (422) stores nothing.
#[utoipa::path(post, path = "/api/v1/hooks/{name}", tag = "connections",
    params(("name" = String, Path, description = "A webhook connection's name"), WorkspaceParam),
    request_body(content = Object, description = "Any JSON the connection's `fields` map; signed in `X-Needle-Signature: sha256=<hex HMAC-SHA256 of the body>`"),
    responses((status = 200, description = "Stored; the same answer as ingest"),
              (status = 401, description = "Missing or wrong signature"),
              (status = 404, description = "No webhook connection of that name"),
              (status = 422, description = "An item cannot be a message: `errors: [{index, field, message}]`")))]
pub async fn hook(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    refuse_while_stopping(&state)?;
    let Query(params) = params.map_err(query_error)?;
    let body = read_body(body)?;
    let (ws, connection) = {
        let state = state.clone();
        blocking(move || {
            let ws = workspace_or_default(&state, params.workspace.as_deref())?;
            let c = find(&state, ws.id, &name)?;
            Ok((ws, c))
        })
        .await?
    };
    let taken = take_hook(&connection, &headers, &body);
    let (items, count) = match taken {
        Ok(messages) => {
            let count = messages.len();
            (
                messages.into_iter().map(Item::new).collect::<Vec<_>>(),
                count,
            )
        }
        Err(error) => {
            record(
                &state,
                connection.id,
                Attempt::Failed {
                    reason: error.message.clone(),
                },
            )
            .await;
            return Err(error);
        }
    };
    let results = (0..count)
        .map(|index| IngestResult {
            index,
            id: Some(items[index].message.id.clone()),
            channel: Some(items[index].message.channel.clone()),
            status: "pending",
            seq: None,
            error: None,
        })
        .collect();
    let answer = submit(&state, ws.id, results, items, (0..count).collect()).await;
    let attempt = match &answer {
        Ok(response) if response.status().is_success() => Attempt::Succeeded {
            messages: count as u64,
        },
        Ok(response) => Attempt::Failed {
            reason: format!("answered {}", response.status()),
        },
        Err(e) => Attempt::Failed {
            reason: e.message.clone(),
        },
    };
    record(&state, connection.id, attempt).await;
    answer
}

/// Checks a webhook delivery and maps it, without storing anything.
fn take_hook(
    connection: &Connection,
    headers: &HeaderMap,
    body: &[u8],
) -> AppResult<Vec<needle_core::Message>> {
    let not_a_hook = || {
        ApiError::new(
            ErrorCode::NotFound,
            format!("{:?} is not a webhook connection", connection.spec.name),
        )
    };
    if connection.spec.kind != "webhook" {
        return Err(not_a_hook());
    }
    if !connection.spec.enabled {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("the connection {:?} is disabled", connection.spec.name),
        ));
    }
    let config = WebhookConfig::from_json(&connection.spec.config)
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("stored settings: {e}")))?;
    let secret = connection.spec.secret.as_deref().ok_or_else(|| {
        ApiError::new(ErrorCode::Internal, "the webhook connection has no secret")
    })?;
    let signature = headers
        .get(config.signature_header.as_str())
        .and_then(|v| v.to_str().ok());
    webhook::verify(&config, secret.as_bytes(), signature, body)
        .map_err(|e| ApiError::new(ErrorCode::Unauthorized, e.to_string()))?;
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?;
    let messages = webhook::map_body(
        &config,
        &connection.spec.name,
        &value,
        OffsetDateTime::now_utc(),
    )
    .map_err(|errors| {
        let listed: Vec<Value> = errors
            .iter()
            .map(|e| json!({"index": e.index, "field": e.field, "message": e.message}))
            .collect();
        let first = &errors[0];
        ApiError::new(
            ErrorCode::InvalidMessage,
            format!(
                "{} item(s) cannot be messages, nothing was stored; item {}: {}",
                errors.len(),
                first.index,
                first.message
            ),
        )
        .with("errors", Value::Array(listed))
    })?;
    if messages.len() > MAX_BATCH {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "a delivery holds at most {MAX_BATCH} items; this one has {}",
                messages.len()
            ),
        ));
    }
    Ok(messages)
}

async fn record(state: &Arc<AppState>, connection_id: i64, attempt: Attempt) {
    let state = state.clone();
    let recorded = blocking(move || {
        state.listening.store().record_attempt(
            connection_id,
            OffsetDateTime::now_utc(),
            &attempt,
        )?;
        Ok(())
    })
    .await;
    if let Err(e) = recorded {
        tracing::warn!(error = %e.message, "could not record a webhook delivery's health");
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ConnectionLabels {
    workspace: String,
    connection: String,
    kind: String,
}

/// Each connection's health as gauges, set from the store when `/metrics` is scraped.
#[derive(Default)]
pub(crate) struct ConnectionGauges {
    up: Family<ConnectionLabels, Gauge<i64, AtomicI64>>,
    last_success: Family<ConnectionLabels, Gauge<i64, AtomicI64>>,
    lag: Family<ConnectionLabels, Gauge<i64, AtomicI64>>,
    messages: Family<ConnectionLabels, Gauge<i64, AtomicI64>>,
    errors: Family<ConnectionLabels, Gauge<i64, AtomicI64>>,
}

impl ConnectionGauges {
    pub(crate) fn register(registry: &mut Registry) -> ConnectionGauges {
        let g = ConnectionGauges::default();
        registry.register(
            "needle_connection_up",
            "1 when the connection's last attempt worked (or it has not run yet), 0 when failing",
            g.up.clone(),
        );
        registry.register(
            "needle_connection_last_success_timestamp_seconds",
            "When the connection last worked (Unix time); absent until it has",
            g.last_success.clone(),
        );
        registry.register(
            "needle_connection_lag_seconds",
            "Seconds since the connection last worked",
            g.lag.clone(),
        );
        registry.register(
            "needle_connection_messages",
            "Messages the connection has brought in since it was created",
            g.messages.clone(),
        );
        registry.register(
            "needle_connection_errors",
            "Failed attempts of the connection since it was created",
            g.errors.clone(),
        );
        g
    }

    /// Reads every connection from the store; removed ones disappear from the output.
    pub(crate) fn refresh(&self, state: &AppState) -> AppResult<()> {
        let store = state.listening.store();
        let names: std::collections::HashMap<i64, String> = store
            .workspaces()?
            .into_iter()
            .map(|w| (w.id, w.name))
            .collect();
        let connections = store.connections(None)?;
        let now = OffsetDateTime::now_utc();
        for family in [
            &self.up,
            &self.last_success,
            &self.lag,
            &self.messages,
            &self.errors,
        ] {
            family.clear();
        }
        for c in &connections {
            let labels = ConnectionLabels {
                workspace: names.get(&c.workspace_id).cloned().unwrap_or_default(),
                connection: c.spec.name.clone(),
                kind: c.spec.kind.clone(),
            };
            self.up
                .get_or_create(&labels)
                .set(i64::from(c.health.consecutive_failures == 0));
            if let Some(t) = c.health.last_success_at {
                self.last_success
                    .get_or_create(&labels)
                    .set(t.unix_timestamp());
            }
            if let Some(lag) = lag_seconds(c, now) {
                self.lag.get_or_create(&labels).set(lag);
            }
            self.messages
                .get_or_create(&labels)
                .set(c.health.messages_total);
            self.errors
                .get_or_create(&labels)
                .set(c.health.errors_total);
        }
        Ok(())
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboxParams {
    pub workspace: Option<String>,
    /// Only this connection's deliveries.
    pub connection: Option<String>,
    /// `queued`, `sent` or `failed`.
    pub status: Option<String>,
    /// The `next` of the previous page.
    pub before: Option<i64>,
    /// 1 to 1000 (default 100).
    pub limit: Option<usize>,
}

fn delivery_view(d: &Delivery, connection: &str) -> Value {
    json!({
        "id": d.id,
        "connection": connection,
        "key": d.key,
        "status": d.status.as_str(),
        "attempts": d.attempts,
        "next_attempt_at": (d.status == DeliveryStatus::Queued).then(|| format_time(d.next_attempt_at)),
        "last_error": d.last_error,
        "receipt": d.receipt,
        "created_at": format_time(d.created_at),
        "updated_at": format_time(d.updated_at),
        "payload": d.payload,
    })
}

/// What Needle sends out (outbound webhook events now, replies later), newest first: each
/// delivery's status (`queued`, `sent`, `failed`), attempts, last error and receipt.
#[utoipa::path(get, path = "/api/v1/outbox", tag = "connections", params(OutboxParams),
    responses((status = 200, description = "`{deliveries: [{id, connection, key, status, attempts, last_error, receipt, …}], next}`")))]
pub async fn outbox(
    State(state): State<Arc<AppState>>,
    params: Result<Query<OutboxParams>, QueryRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    let limit = crate::api::page_limit(params.limit, 100, 1000)?;
    let status = params
        .status
        .as_deref()
        .map(|s| {
            DeliveryStatus::parse(s).ok_or_else(|| {
                ApiError::bad_request(format!("`status` is queued, sent or failed; got {s:?}"))
            })
        })
        .transpose()?;
    blocking(move || {
        let ws = workspace_or_default(&state, params.workspace.as_deref())?;
        let store = state.listening.store();
        let names: std::collections::HashMap<i64, String> = store
            .connections(Some(ws.id))?
            .into_iter()
            .map(|c| (c.id, c.spec.name))
            .collect();
        let connection_id = match params.connection.as_deref() {
            Some(name) => Some(find(&state, ws.id, name)?.id),
            None => None,
        };
        let filter = DeliveryFilter {
            connection_id,
            status,
            before: params.before,
        };
        let page = store.deliveries(ws.id, &filter, limit)?;
        let next = (page.len() == limit)
            .then(|| page.last().map(|d| d.id))
            .flatten();
        let deliveries: Vec<Value> = page
            .iter()
            .map(|d| {
                let name = names
                    .get(&d.connection_id)
                    .map_or("(removed)", String::as_str);
                delivery_view(d, name)
            })
            .collect();
        Ok(Json(json!({"deliveries": deliveries, "next": next})))
    })
    .await
}

/// One delivery with every attempt (`history`).
#[utoipa::path(get, path = "/api/v1/outbox/{id}", tag = "connections",
    params(("id" = i64, Path, description = "Delivery id"), WorkspaceParam),
    responses((status = 200, description = "The delivery with `history: [{at, outcome, detail}]`"),
              (status = 404, description = "No such delivery")))]
pub async fn delivery(
    State(state): State<Arc<AppState>>,
    Path(id): Path<i64>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    blocking(move || {
        let ws = workspace_or_default(&state, params.workspace.as_deref())?;
        let store = state.listening.store();
        let d = store.delivery(ws.id, id)?.ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                format!("no delivery {id} in this workspace"),
            )
        })?;
        let name = store
            .connections(Some(ws.id))?
            .into_iter()
            .find(|c| c.id == d.connection_id)
            .map_or_else(|| "(removed)".to_string(), |c| c.spec.name);
        let attempts: Vec<Value> = store
            .delivery_attempts(d.id)?
            .iter()
            .map(|a| json!({"at": format_time(a.at), "outcome": a.outcome, "detail": a.detail}))
            .collect();
        let mut view = delivery_view(&d, &name);
        view["history"] = Value::Array(attempts);
        Ok(Json(view))
    })
    .await
}

/// A reply to write.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyBody {
    /// The reply's text; on Mastodon a mention of the author is added when missing.
    pub text: String,
}

/// Longest reply accepted (Mastodon's default limit is 500 characters; servers differ).
const MAX_REPLY: usize = 10_000;

/// Answers a message on its own channel, through the connection it came in on: the reply is
/// queued in the outbox (202) and sent with retries; once the channel took it, it is stored
/// as an outbound message in the same thread. Send `Idempotency-Key` to make a retried
/// request queue one reply.
#[utoipa::path(post, path = "/api/v1/messages/{channel}/{id}/replies", tag = "connections",
    request_body = ReplyBody,
    params(("channel" = String, Path, description = "Channel"), ("id" = String, Path, description = "The message's id on its channel"), WorkspaceParam),
    responses((status = 202, description = "Queued: `{delivery: {id, key, status}}`"),
              (status = 200, description = "Already queued under this Idempotency-Key"),
              (status = 404, description = "No such message"),
              (status = 409, description = "The message did not come through a connection that can answer")))]
pub async fn reply(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<crate::auth::Principal>,
    Path((channel, id)): Path<(String, String)>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let Query(params) = params.map_err(query_error)?;
    let body: ReplyBody = json_body(&headers, body)?;
    let text = body.text.trim().to_string();
    if text.is_empty() || text.chars().count() > MAX_REPLY {
        return Err(ApiError::bad_request(format!(
            "`text` must hold 1 to {MAX_REPLY} characters"
        )));
    }
    let key = match headers.get("idempotency-key").map(|v| v.to_str()) {
        Some(Ok(k)) if !k.trim().is_empty() && k.len() <= 200 => format!("reply:{}", k.trim()),
        Some(_) => {
            return Err(ApiError::bad_request(
                "`Idempotency-Key` must be 1 to 200 visible characters",
            ));
        }
        None => format!(
            "reply:{:x}{:016x}",
            OffsetDateTime::now_utc().unix_timestamp_nanos(),
            fastrand::u64(..)
        ),
    };
    blocking(move || {
        let ws = workspace_or_default(&state, params.workspace.as_deref())?;
        let (queued, created) =
            queue_reply(&state, ws.id, &channel, &id, &text, &key, &principal.actor)?;
        let status = if created {
            StatusCode::ACCEPTED
        } else {
            StatusCode::OK
        };
        Ok((status, Json(json!({"delivery": queued}))))
    })
    .await
}

/// Queues `text` as the answer to message `channel`/`id` on the connection it came through,
/// once per idempotency `key`; records it in the audit log and in the message's case. The
/// delivery as the API shows it, and whether it was queued now (not before).
pub(crate) fn queue_reply(
    state: &AppState,
    workspace_id: i64,
    channel: &str,
    id: &str,
    text: &str,
    key: &str,
    actor: &str,
) -> AppResult<(Value, bool)> {
    let store = state.listening.store();
    let original = crate::api::stored_message(state, workspace_id, channel, id)?;
    let conflict = |why: String| ApiError::new(ErrorCode::Conflict, why);
    let account = original.message.account.clone().ok_or_else(|| {
        conflict(
            "the message came through no connection of ours, so there is nothing to answer through"
                .into(),
        )
    })?;
    let connection = store.connection(workspace_id, &account)?.ok_or_else(|| {
        conflict(format!(
            "the connection {account:?} it came through is gone"
        ))
    })?;
    let payload = match connection.spec.kind.as_str() {
        "mastodon" => {
            needle_connect::mastodon::reply_payload(&original.message, text).map_err(conflict)?
        }
        "email" => {
            needle_connect::email::reply_payload(&original.message, text).map_err(conflict)?
        }
        "chat" => needle_connect::chat::reply_payload(&original.message, text).map_err(conflict)?,
        kind => {
            return Err(conflict(format!(
                "a {kind} connection cannot send replies (yet): the reply was not queued"
            )));
        }
    };
    if let Some(existing) = store.delivery_by_key(connection.id, key)? {
        return Ok((delivery_view(&existing, &account), false));
    }
    store.enqueue(
        workspace_id,
        connection.id,
        &[needle_store::outbox::NewDelivery {
            key: key.to_string(),
            payload,
        }],
        None,
    )?;
    let queued = store
        .delivery_by_key(connection.id, key)?
        .ok_or_else(|| ApiError::new(ErrorCode::Internal, "the queued reply cannot be found"))?;
    let now = OffsetDateTime::now_utc();
    let entry = needle_store::accounts::AuditEntry::now(
        workspace_id,
        actor,
        "reply.queued",
        &format!("{channel}/{id}"),
        json!({"delivery": queued.id, "connection": account}),
    );
    crate::auth::record(store.as_ref(), &entry);
    let thread = original
        .message
        .thread_id
        .as_deref()
        .unwrap_or(&original.message.id);
    if let Some(case) = store.case_of_thread(workspace_id, &original.message.channel, thread)? {
        let body = json!({"text": text, "delivery": queued.id, "in_reply_to": id});
        store.add_case_event(workspace_id, case.id, actor, "reply", &body, now)?;
        crate::cases::announce_case(state, workspace_id, case.id, "reply");
    }
    Ok((delivery_view(&queued, &account), true))
}
