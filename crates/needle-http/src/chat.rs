//! Live chat: the script a website embeds (`/chat.js`) and the WebSocket it talks over
//! (`/api/v1/chat/{name}/socket?workspace=W&visitor=V&after=SEQ`).
//!
//! On connecting, the socket sends the visitor's conversation after `after` (so a reconnect
//! loses nothing), then every new message of it as it is stored (the visitor's own, from any
//! tab, and agents' replies), found by the live feed's `message.stored` events, which carry
//! the thread: one event costs a socket one lookup by seq, and only when it is its own. A visitor's message carries the browser's `client_id`, the same
//! when resent, so a message sent twice across a reconnect is stored once; it is answered with
//! an `ack`. `identify` with the site's HMAC of its user id makes later messages carry that
//! verified identity.

use std::sync::Arc;

use axum::extract::ws::{Message as Frame, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use needle_bus::Event;
use needle_connect::ConnectorConfig;
use needle_connect::chat::{self, Identity};
use needle_core::ErrorCode;
use needle_core::message::format_time;
use needle_pipeline::{Batch, Item, Outcome};
use needle_store::{ListFilter, StoredMessage};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::api::{blocking, workspace_or_default};
use crate::error::AppResult;
use crate::{ApiError, AppState};

/// The embeddable script.
const SCRIPT: &str = include_str!("../assets/chat.js");
/// Longest visitor message taken.
const MAX_TEXT: usize = 5_000;
/// How much of a conversation a (re)connect sends back.
const HISTORY: usize = 500;

/// `GET /chat.js`
pub async fn script() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        SCRIPT,
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
pub struct SocketParams {
    pub workspace: Option<String>,
    pub visitor: String,
    /// The last seq this browser has shown.
    pub after: Option<i64>,
}

/// `GET /api/v1/chat/{name}/socket`: the visitor's WebSocket.
pub async fn socket(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    Query(params): Query<SocketParams>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> AppResult<Response> {
    if !chat::valid_visitor(&params.visitor) {
        return Err(ApiError::bad_request(
            "`visitor` must be 16 to 64 letters, digits or `-`",
        ));
    }
    let (ws, connection, config) = {
        let state = state.clone();
        let workspace = params.workspace.clone();
        blocking(move || {
            let ws = workspace_or_default(&state, workspace.as_deref())?;
            let c = state
                .listening
                .store()
                .connection(ws.id, &name)?
                .ok_or_else(|| {
                    ApiError::new(ErrorCode::NotFound, format!("no chat named {name:?}"))
                })?;
            match ConnectorConfig::parse(&c.spec.kind, &c.spec.config, c.spec.secret.is_some()) {
                Ok(ConnectorConfig::Chat(config)) if c.spec.enabled => Ok((ws, c, config)),
                _ => Err(ApiError::new(
                    ErrorCode::NotFound,
                    format!("no open chat named {name:?}"),
                )),
            }
        })
        .await?
    };
    let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
    if !config.allows(origin) {
        return Err(ApiError::new(
            ErrorCode::Unauthorized,
            "this page's origin may not open the chat (see allowed_origins)",
        ));
    }
    let session = Session {
        state,
        workspace_id: ws.id,
        account: connection.spec.name,
        secret: connection.spec.secret.unwrap_or_default(),
        visitor: params.visitor,
        identity: None,
        last_sent: params.after.unwrap_or(0),
    };
    Ok(upgrade
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| session.run(socket)))
}

struct Session {
    state: Arc<AppState>,
    workspace_id: i64,
    account: String,
    secret: String,
    visitor: String,
    identity: Option<Identity>,
    /// The highest seq sent to this socket.
    last_sent: i64,
}

fn frame(message: &StoredMessage) -> Value {
    let m = &message.message;
    json!({
        "type": "message",
        "seq": message.seq,
        "id": m.id,
        "direction": m.direction.as_str(),
        "author": m.author.name.clone().or_else(|| m.author.id.clone()),
        "text": m.text,
        "at": format_time(m.created_at),
    })
}

impl Session {
    async fn run(mut self, mut socket: WebSocket) {
        let mut events = self.state.feed.subscribe();
        if self.send_new(&mut socket).await.is_err() {
            return;
        }
        loop {
            tokio::select! {
                incoming = socket.recv() => {
                    let Some(Ok(frame)) = incoming else { return };
                    let reply = match frame {
                        Frame::Text(text) => self.handle(text.as_str()).await,
                        Frame::Close(_) => return,
                        _ => continue,
                    };
                    // A stored message comes back through the live feed, like everyone's.
                    if socket.send(Frame::Text(reply.to_string().into())).await.is_err() {
                        return;
                    }
                }
                event = events.recv() => {
                    let sent = match &event {
                        Ok(e) => match self.seq_of_ours(e) {
                            Some(seq) => self.send_stored(&mut socket, seq).await,
                            None => Ok(()),
                        },
                        // Fell behind the feed: look in the store for what was missed.
                        Err(_) => self.send_new(&mut socket).await,
                    };
                    if sent.is_err() {
                        return;
                    }
                }
            }
        }
    }

    /// The seq of a newly stored message of this conversation, from the live feed's event.
    fn seq_of_ours(&self, event: &Event) -> Option<i64> {
        let ours = event.kind == Event::MESSAGE_STORED
            && event.workspace_id == self.workspace_id
            && event.data["channel"] == "chat"
            && event.data["thread_id"].as_str() == Some(chat::thread_of(&self.visitor).as_str());
        ours.then(|| event.data["seq"].as_i64()).flatten()
    }

    /// Sends one stored message of this conversation, unless it was sent already.
    async fn send_stored(&mut self, socket: &mut WebSocket, seq: i64) -> Result<(), ()> {
        if seq <= self.last_sent {
            return Ok(());
        }
        let state = self.state.clone();
        let stored = blocking(move || Ok(state.store.get_many(&[seq])?))
            .await
            .map_err(|_| ())?;
        for m in stored {
            // The thread names the visitor; the account tells two chats of one site apart.
            if m.message.account.as_deref() == Some(self.account.as_str()) {
                self.last_sent = m.seq;
                socket
                    .send(Frame::Text(frame(&m).to_string().into()))
                    .await
                    .map_err(|_| ())?;
            }
        }
        Ok(())
    }

    /// Sends the conversation's messages after the last one sent: on connecting, and after
    /// falling behind the live feed.
    async fn send_new(&mut self, socket: &mut WebSocket) -> Result<(), ()> {
        let state = self.state.clone();
        let (ws, account, thread, after) = (
            self.workspace_id,
            self.account.clone(),
            chat::thread_of(&self.visitor),
            self.last_sent,
        );
        let found = blocking(move || {
            let filter = ListFilter {
                channel: Some("chat".into()),
                ..ListFilter::default()
            };
            let mut found: Vec<StoredMessage> = state
                .store
                .list(ws, &filter, None, 5_000)?
                .into_iter()
                .filter(|m| {
                    m.seq > after
                        && m.message.thread_id.as_deref() == Some(thread.as_str())
                        && m.message.account.as_deref() == Some(account.as_str())
                })
                .collect();
            found.sort_by_key(|m| m.seq);
            found.truncate(HISTORY);
            Ok(found)
        })
        .await
        .map_err(|_| ())?;
        for m in found {
            self.last_sent = self.last_sent.max(m.seq);
            socket
                .send(Frame::Text(frame(&m).to_string().into()))
                .await
                .map_err(|_| ())?;
        }
        Ok(())
    }

    /// Answers one frame from the browser.
    async fn handle(&mut self, text: &str) -> Value {
        let Ok(value) = serde_json::from_str::<Value>(text) else {
            return json!({"type": "error", "message": "send JSON frames"});
        };
        match value["type"].as_str() {
            Some("identify") => {
                let (Some(user_id), Some(signature)) =
                    (value["user_id"].as_str(), value["signature"].as_str())
                else {
                    return json!({"type": "error", "message": "identify needs user_id and signature"});
                };
                if !chat::verify_identity(self.secret.as_bytes(), user_id, signature) {
                    return json!({"type": "error", "message": "the identity's signature does not match"});
                }
                self.identity = Some(Identity {
                    user_id: user_id.to_string(),
                    email: value["email"].as_str().map(str::to_string),
                    name: value["name"].as_str().map(str::to_string),
                });
                json!({"type": "identified", "user_id": user_id})
            }
            Some("message") => {
                let (Some(client_id), Some(body)) =
                    (value["client_id"].as_str(), value["text"].as_str())
                else {
                    return json!({"type": "error", "message": "a message needs client_id and text"});
                };
                if client_id.is_empty() || client_id.len() > 64 || body.chars().count() > MAX_TEXT {
                    return json!({"type": "error", "client_id": client_id,
                                  "message": format!("a message holds 1 to {MAX_TEXT} characters")});
                }
                match self.store(client_id, body).await {
                    Ok((status, seq)) => {
                        json!({"type": "ack", "client_id": client_id, "status": status, "seq": seq})
                    }
                    Err(message) => {
                        json!({"type": "error", "client_id": client_id, "message": message})
                    }
                }
            }
            _ => json!({"type": "error", "message": "unknown frame type"}),
        }
    }

    async fn store(
        &self,
        client_id: &str,
        text: &str,
    ) -> Result<(&'static str, Option<i64>), String> {
        let message = chat::visitor_message(
            &self.account,
            &self.visitor,
            client_id,
            text,
            self.identity.as_ref(),
            OffsetDateTime::now_utc(),
        )
        .map_err(|e| e.to_string())?;
        if let Some(bus) = self.state.bus.clone() {
            let envelope = needle_bus::Envelope::new(self.workspace_id, message);
            tokio::task::spawn_blocking(move || bus.publish(&[envelope]))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
            return Ok(("accepted", None));
        }
        let state = self.state.clone();
        let batch = Batch::new(self.workspace_id, vec![Item::new(message)]);
        let done = tokio::task::spawn_blocking(move || {
            state
                .pipeline
                .as_ref()
                .ok_or(needle_pipeline::Closed)?
                .process(batch)
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|_| "needle is shutting down; retry shortly".to_string())?;
        match done.items.into_iter().next().map(|i| i.outcome) {
            Some(Outcome::Stored(seq)) => Ok(("created", Some(seq))),
            Some(Outcome::Duplicate(seq)) => Ok(("duplicate", Some(seq))),
            Some(Outcome::Rejected(invalid)) => Err(invalid.to_string()),
            Some(Outcome::Failed { reason, .. }) => Err(reason),
            _ => Err("the message was not stored".into()),
        }
    }
}
