//! Relevance learned per topic, over HTTP: agents label a topic's messages relevant or not,
//! Needle learns from the labels (needle-embed's `Relevance`) and scores a text or a stored
//! message, explaining each score by the nearest labelled messages. Also custom intents
//! defined by example sentences.
//!
//! Labels work without a model; scoring needs the embedding model (`needle models fetch`),
//! and answers 503 with the fix when it is absent. Each topic's trained model and the
//! vectors of its labels are kept in memory: a score after a new label embeds that one
//! label and retrains from the previous weights.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use needle_core::ErrorCode;
use needle_core::message::format_time;
use needle_embed::intents::{IntentExample, Intents};
use needle_embed::{Embedder, Example, Relevance};
use needle_store::labels::Label;
use needle_store::micros;
use needle_store::topics::TopicRecord;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::api::{WorkspaceParam, blocking, query_error, workspace_id_or_default};
use crate::topics::json_body;
use crate::{ApiError, AppState};

use crate::error::AppResult;

/// Longest text accepted for scoring (longer texts are cut by the model anyway).
const MAX_TEXT_BYTES: usize = 1024 * 1024;
/// Most texts one intent-classification request may carry.
const MAX_INTENT_TEXTS: usize = 256;

/// The embedding model, once the server has one, and what was learned with it.
#[derive(Default)]
pub struct Learning {
    embedder: OnceLock<Arc<dyn Embedder>>,
    topics: Mutex<HashMap<i64, TopicModel>>,
}

/// A topic's labels as last embedded, and the model trained on them.
struct TopicModel {
    /// Label id → (the time it was last set, its vector).
    vectors: HashMap<i64, (i64, Vec<f32>)>,
    trained: Option<(Vec<(i64, i64)>, Relevance)>,
}

impl Learning {
    /// Gives the server its embedding model; false when it had one already.
    pub fn set_embedder(&self, embedder: Arc<dyn Embedder>) -> bool {
        self.embedder.set(embedder).is_ok()
    }

    fn embedder(&self) -> AppResult<Arc<dyn Embedder>> {
        self.embedder.get().cloned().ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unavailable,
                "relevance and intents need the embedding model, which this server has not \
                 loaded: run `needle models fetch` and restart `needle serve`",
            )
        })
    }

    /// The topic's model trained on `labels`, embedding only labels it has not seen and
    /// retraining from the last weights when the labels changed.
    fn model_for(&self, topic_id: i64, labels: &[Label]) -> AppResult<Relevance> {
        let embedder = self.embedder()?;
        let fingerprint: Vec<(i64, i64)> = labels
            .iter()
            .map(|l| (l.id, micros(l.created_at)))
            .collect();
        let mut topics = self.topics.lock().expect("relevance cache");
        let entry = topics.entry(topic_id).or_insert_with(|| TopicModel {
            vectors: HashMap::new(),
            trained: None,
        });
        if let Some((seen, model)) = &entry.trained
            && *seen == fingerprint
        {
            return Ok(model.clone());
        }
        let fresh: Vec<&Label> = labels
            .iter()
            .filter(|l| {
                entry
                    .vectors
                    .get(&l.id)
                    .is_none_or(|(at, _)| *at != micros(l.created_at))
            })
            .collect();
        let texts: Vec<&str> = fresh.iter().map(|l| l.text.as_str()).collect();
        let vectors = embedder.embed(&texts).map_err(embed_error)?;
        for (label, vector) in fresh.iter().zip(vectors) {
            entry
                .vectors
                .insert(label.id, (micros(label.created_at), vector));
        }
        entry
            .vectors
            .retain(|id, _| labels.iter().any(|l| l.id == *id));
        let examples = labels
            .iter()
            .map(|l| Example {
                id: l.id.to_string(),
                text: l.text.clone(),
                vector: entry.vectors[&l.id].1.clone(),
                relevant: l.relevant,
            })
            .collect();
        let model = match &entry.trained {
            Some((_, previous)) => previous.retrain(examples),
            None => Relevance::train(examples),
        }
        .map_err(|e| ApiError::new(ErrorCode::Conflict, format!("cannot score yet: {e}")))?;
        entry.trained = Some((fingerprint, model.clone()));
        Ok(model)
    }
}

fn embed_error(e: needle_embed::EmbedError) -> ApiError {
    ApiError::new(e.code(), e.to_string())
}

/// A stored message, named as in `/api/v1/messages/{channel}/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageRef {
    pub channel: String,
    pub id: String,
}

/// An agent's verdict on one of a topic's messages.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelBody {
    pub message: MessageRef,
    /// Whether the message is what the topic is about.
    pub relevant: bool,
}

fn topic_named(state: &AppState, ws: i64, key: &str) -> AppResult<TopicRecord> {
    state.listening.store().topic(ws, key)?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            format!("no topic {key:?} in this workspace"),
        )
    })
}

fn label_json(label: &Label, message: Option<(&str, &str)>) -> Value {
    json!({
        "id": label.id,
        "message_seq": label.message_seq,
        "message": message.map(|(channel, id)| json!({"channel": channel, "id": id})),
        "text": label.text,
        "relevant": label.relevant,
        "created_at": format_time(label.created_at),
    })
}

/// Labels a stored message relevant or not to a topic; labelling it again replaces the
/// verdict.
#[utoipa::path(post, path = "/api/v1/topics/{key}/labels", tag = "relevance",
    params(("key" = String, Path), WorkspaceParam), request_body = LabelBody,
    responses((status = 201, description = "The label"), (status = 404, description = "No such topic or message")))]
pub async fn put_label(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    let Query(params) = params.map_err(query_error)?;
    let body: LabelBody = json_body(&headers, body)?;
    let label = blocking(move || {
        let ws = workspace_id_or_default(&state, params.workspace.as_deref())?;
        let topic = topic_named(&state, ws, &key)?;
        let channel = body.message.channel.to_ascii_lowercase();
        let stored = crate::api::stored_message(&state, ws, &channel, &body.message.id)?;
        let label = state.listening.store().put_label(
            ws,
            topic.id,
            stored.seq,
            &stored.message.text,
            body.relevant,
        )?;
        Ok(label_json(
            &label,
            Some((&stored.message.channel, &stored.message.id)),
        ))
    })
    .await?;
    Ok((StatusCode::CREATED, Json(label)).into_response())
}

/// A topic's labels, oldest first.
#[utoipa::path(get, path = "/api/v1/topics/{key}/labels", tag = "relevance",
    params(("key" = String, Path), WorkspaceParam),
    responses((status = 200, description = "The labels")))]
pub async fn labels(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    blocking(move || {
        let ws = workspace_id_or_default(&state, params.workspace.as_deref())?;
        let topic = topic_named(&state, ws, &key)?;
        let labels = state.listening.store().labels(topic.id)?;
        let seqs: Vec<i64> = labels.iter().map(|l| l.message_seq).collect();
        let messages: HashMap<i64, (String, String)> = state
            .store
            .get_many(&seqs)?
            .into_iter()
            .map(|m| (m.seq, (m.message.channel, m.message.id)))
            .collect();
        let list = labels
            .iter()
            .map(|l| {
                let message = messages
                    .get(&l.message_seq)
                    .map(|(c, i)| (c.as_str(), i.as_str()));
                label_json(l, message)
            })
            .collect();
        Ok(Json(Value::Array(list)))
    })
    .await
}

/// Removes one label.
#[utoipa::path(delete, path = "/api/v1/topics/{key}/labels/{label_id}", tag = "relevance",
    params(("key" = String, Path), ("label_id" = i64, Path), WorkspaceParam),
    responses((status = 204, description = "Removed"), (status = 404, description = "No such label")))]
pub async fn delete_label(
    State(state): State<Arc<AppState>>,
    Path((key, label_id)): Path<(String, String)>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
) -> AppResult<StatusCode> {
    let Query(params) = params.map_err(query_error)?;
    let label_id: i64 = label_id
        .parse()
        .map_err(|_| ApiError::bad_request(format!("label id {label_id:?} is not a number")))?;
    blocking(move || {
        let ws = workspace_id_or_default(&state, params.workspace.as_deref())?;
        let topic = topic_named(&state, ws, &key)?;
        if state.listening.store().delete_label(topic.id, label_id)? {
            Ok(StatusCode::NO_CONTENT)
        } else {
            Err(ApiError::new(
                ErrorCode::NotFound,
                format!("topic {key:?} has no label {label_id}"),
            ))
        }
    })
    .await
}

/// What to score: a text, or a stored message.
#[derive(Debug, Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ScoreBody {
    pub text: Option<String>,
    /// With `id`: a stored message.
    pub channel: Option<String>,
    pub id: Option<String>,
    /// Workspace name (default `default`); on POST it may also come as a query parameter.
    pub workspace: Option<String>,
}

fn score_one(state: &AppState, key: &str, what: ScoreBody) -> AppResult<Value> {
    let ws = workspace_id_or_default(state, what.workspace.as_deref())?;
    let topic = topic_named(state, ws, key)?;
    let text = match (what.text, what.channel, what.id) {
        (Some(text), None, None) => text,
        (None, Some(channel), Some(id)) => {
            crate::api::stored_message(state, ws, &channel, &id)?
                .message
                .text
        }
        _ => {
            return Err(ApiError::bad_request(
                "give either `text`, or `channel` and `id` of a stored message",
            ));
        }
    };
    if text.len() > MAX_TEXT_BYTES {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("the text is {} bytes; at most {MAX_TEXT_BYTES}", text.len()),
        ));
    }
    let labels = state.listening.store().labels(topic.id)?;
    let model = state.learning.model_for(topic.id, &labels)?;
    let vector = state
        .learning
        .embedder()?
        .embed(&[&text])
        .map_err(embed_error)?
        .remove(0);
    let score = model.score(&vector).map_err(embed_error)?;
    Ok(json!({
        "topic": topic.key,
        "score": score.score,
        "relevant": score.relevant,
        "method": score.method.as_str(),
        "labels": labels.len(),
        "nearest": score.nearest.iter().map(|n| json!({
            "label_id": n.id.parse::<i64>().ok(),
            "text": n.text,
            "relevant": n.relevant,
            "similarity": n.similarity,
        })).collect::<Vec<_>>(),
    }))
}

/// Scores a text or a stored message for a topic with the model learned from its labels,
/// explained by the nearest labelled messages.
#[utoipa::path(post, path = "/api/v1/topics/{key}/relevance", tag = "relevance",
    params(("key" = String, Path), WorkspaceParam), request_body = ScoreBody,
    responses((status = 200, description = "`score` in [0, 1], `relevant`, `method`, `nearest` labelled examples"),
              (status = 409, description = "Not enough labels yet"),
              (status = 503, description = "No embedding model loaded")))]
pub async fn score_post(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    let mut body: ScoreBody = json_body(&headers, body)?;
    body.workspace = body.workspace.or(params.workspace);
    blocking(move || score_one(&state, &key, body).map(Json)).await
}

/// As POST, with `text`, or `channel` and `id`, as query parameters.
#[utoipa::path(get, path = "/api/v1/topics/{key}/relevance", tag = "relevance",
    params(("key" = String, Path), ScoreBody),
    responses((status = 200, description = "As POST")))]
pub async fn score_get(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
    params: Result<Query<ScoreBody>, QueryRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    blocking(move || score_one(&state, &key, params).map(Json)).await
}

/// Intents defined by example sentences, and the texts to classify with them.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntentsBody {
    /// Intent name → a few example sentences.
    pub intents: HashMap<String, Vec<String>>,
    pub texts: Vec<String>,
    /// Similarity to an intent's centroid from which it applies (default 0.45).
    pub threshold: Option<f32>,
}

/// Classifies texts into custom intents given by examples: each text gets every intent
/// close enough, or none.
#[utoipa::path(post, path = "/api/v1/intents/classify", tag = "relevance", request_body = IntentsBody,
    responses((status = 200, description = "Per text: its intents (maybe none), each with its closest example"),
              (status = 503, description = "No embedding model loaded")))]
pub async fn classify_intents(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Json<Value>> {
    let body: IntentsBody = json_body(&headers, body)?;
    if body.texts.len() > MAX_INTENT_TEXTS {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "{} texts; at most {MAX_INTENT_TEXTS} per request",
                body.texts.len()
            ),
        ));
    }
    blocking(move || {
        let embedder = state.learning.embedder()?;
        let mut names: Vec<&String> = body.intents.keys().collect();
        names.sort();
        let mut sentences = Vec::new();
        for name in &names {
            for example in &body.intents[*name] {
                sentences.push((name.as_str(), example.as_str()));
            }
        }
        let example_texts: Vec<&str> = sentences.iter().map(|(_, t)| *t).collect();
        let vectors = embedder.embed(&example_texts).map_err(embed_error)?;
        let examples = sentences
            .iter()
            .zip(vectors)
            .map(|((intent, text), vector)| IntentExample {
                intent: intent.to_string(),
                text: text.to_string(),
                vector,
            })
            .collect();
        let threshold = body
            .threshold
            .unwrap_or(needle_embed::intents::DEFAULT_THRESHOLD);
        let intents = Intents::new(examples, threshold)
            .map_err(|e| ApiError::new(ErrorCode::InvalidMessage, e.to_string()))?;
        let texts: Vec<&str> = body.texts.iter().map(String::as_str).collect();
        let vectors = embedder.embed(&texts).map_err(embed_error)?;
        let mut results = Vec::new();
        for (text, vector) in texts.iter().zip(vectors) {
            let found = intents.classify(&vector).map_err(embed_error)?;
            results.push(json!({
                "text": text,
                "intents": found.iter().map(|m| json!({
                    "intent": m.intent,
                    "similarity": m.similarity,
                    "closest_example": m.closest_example,
                    "closest_similarity": m.closest_similarity,
                })).collect::<Vec<_>>(),
            }));
        }
        Ok(Json(json!({"results": results})))
    })
    .await
}
