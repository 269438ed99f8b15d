//! Who else has a case open, and who is typing a reply there, so that two agents do not
//! answer the same customer twice.
//!
//! Pages say so themselves (`POST /api/v1/cases/{id}/presence`, every few seconds and when
//! typing starts); whoever stops saying so is gone after [`DEFAULT_TTL`]. Presence lives in
//! this process's memory only: in a cluster each web node knows the people whose pages talk
//! to it, which is enough for a hint and not worth a store table that changes every few
//! seconds. Whenever what a case's viewers would see changes, the handler announces
//! `case.presence` on the live feed and open pages fetch the list again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{WorkspaceParam, blocking, query_error, workspace_or_default};
use crate::auth::Principal;
use crate::cases::email_of;
use crate::error::AppResult;
use crate::topics::json_body;
use crate::{ApiError, AppState};

/// How long a page counts as open after it last said so.
pub const DEFAULT_TTL: Duration = Duration::from_secs(30);
/// The live event of a case whose viewers changed.
pub const CASE_PRESENCE: &str = "case.presence";

/// What someone is doing on a case page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doing {
    Viewing,
    Typing,
}

impl Doing {
    pub fn as_str(self) -> &'static str {
        match self {
            Doing::Viewing => "viewing",
            Doing::Typing => "typing",
        }
    }
}

/// One person on one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Here {
    pub email: String,
    pub doing: Doing,
}

#[derive(Debug)]
struct Seen {
    doing: Doing,
    until: Instant,
}

#[derive(Debug)]
struct Inner {
    ttl: Duration,
    /// (workspace, case) → email → what they do, until when.
    cases: HashMap<(i64, i64), HashMap<String, Seen>>,
}

/// Everyone on every case page of this process, for [`Presence::ttl`] after they last said so.
#[derive(Debug)]
pub struct Presence {
    inner: Mutex<Inner>,
}

impl Default for Presence {
    fn default() -> Presence {
        Presence::new(DEFAULT_TTL)
    }
}

impl Presence {
    pub fn new(ttl: Duration) -> Presence {
        Presence {
            inner: Mutex::new(Inner {
                ttl,
                cases: HashMap::new(),
            }),
        }
    }

    /// Changes how long a page counts as open (`needle serve --presence-seconds`).
    pub fn set_ttl(&self, ttl: Duration) {
        self.lock().ttl = ttl;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Nothing here can panic halfway through a change; a poisoned lock still holds a
        // consistent map.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records that `email` is `doing` on the case at `now` (`None`: they left). Answers the
    /// cases whose viewers now see something else: this one when someone came, left, started
    /// or stopped typing, and any case where someone went quiet for too long.
    pub fn mark(
        &self,
        case: (i64, i64),
        email: &str,
        doing: Option<Doing>,
        now: Instant,
    ) -> Vec<(i64, i64)> {
        let mut inner = self.lock();
        let ttl = inner.ttl;
        let mut changed = Vec::new();
        // Forget everyone gone quiet, on every case: the map stays as small as the team.
        inner.cases.retain(|at, people| {
            let before = people.len();
            people.retain(|_, seen| seen.until > now);
            if people.len() != before {
                changed.push(*at);
            }
            !people.is_empty()
        });
        let people = inner.cases.entry(case).or_default();
        let this_changed = match doing {
            Some(doing) => {
                let before = people.insert(
                    email.to_string(),
                    Seen {
                        doing,
                        until: now + ttl,
                    },
                );
                before.is_none_or(|b| b.doing != doing)
            }
            None => people.remove(email).is_some(),
        };
        if people.is_empty() {
            inner.cases.remove(&case);
        }
        if this_changed && !changed.contains(&case) {
            changed.push(case);
        }
        changed
    }

    /// Who is on the case at `now`, but `me`, by email.
    pub fn others(&self, case: (i64, i64), me: Option<&str>, now: Instant) -> Vec<Here> {
        let inner = self.lock();
        let mut here: Vec<Here> = inner
            .cases
            .get(&case)
            .into_iter()
            .flatten()
            .filter(|(email, seen)| seen.until > now && Some(email.as_str()) != me)
            .map(|(email, seen)| Here {
                email: email.clone(),
                doing: seen.doing,
            })
            .collect();
        here.sort_by(|a, b| a.email.cmp(&b.email));
        here
    }
}

/// Presence as the API shows it.
pub fn presence_json(here: &[Here]) -> Value {
    json!(
        here.iter()
            .map(|h| json!({"email": h.email, "state": h.doing.as_str()}))
            .collect::<Vec<_>>()
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresenceBody {
    /// `viewing`, `typing`, or `gone` when the page closes.
    pub state: String,
}

/// `POST /api/v1/cases/{id}/presence` `{"state": "viewing" | "typing" | "gone"}`: the
/// caller's page is open on the case. Answers who else is there.
pub async fn report(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<i64>,
    params: Result<Query<WorkspaceParam>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Json<Value>> {
    let Query(params) = params.map_err(query_error)?;
    let body: PresenceBody = json_body(&headers, body)?;
    let doing = match body.state.as_str() {
        "viewing" => Some(Doing::Viewing),
        "typing" => Some(Doing::Typing),
        "gone" => None,
        other => {
            return Err(ApiError::bad_request(format!(
                "unknown state {other:?}: viewing, typing or gone"
            )));
        }
    };
    let email = email_of(&principal)
        .ok_or_else(|| ApiError::bad_request("presence is a signed-in person's, not a token's"))?
        .to_string();
    blocking(move || {
        let ws = workspace_or_default(&state, params.workspace.as_deref())?;
        // The case must exist here: presence is never kept for cases nobody can open.
        crate::cases::case_in(&state, ws.id, id)?;
        let now = Instant::now();
        for (workspace_id, case_id) in state.presence.mark((ws.id, id), &email, doing, now) {
            state.feed.announce(needle_bus::Event::new(
                workspace_id,
                CASE_PRESENCE,
                json!({"id": case_id}),
            ));
        }
        let others = state.presence.others((ws.id, id), Some(&email), now);
        Ok(Json(json!({"presence": presence_json(&others)})))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    const CASE: (i64, i64) = (1, 7);

    #[test]
    fn people_are_seen_until_they_go_quiet_or_leave() {
        let p = Presence::new(Duration::from_secs(30));
        let t0 = Instant::now();
        let secs = |s| t0 + Duration::from_secs(s);
        assert_eq!(
            p.mark(CASE, "kim@x", Some(Doing::Viewing), t0),
            [CASE],
            "kim came"
        );
        assert!(
            p.mark(CASE, "kim@x", Some(Doing::Viewing), secs(10))
                .is_empty(),
            "a heartbeat changes nothing others see"
        );
        assert_eq!(p.mark(CASE, "ann@x", Some(Doing::Typing), secs(11)), [CASE]);
        assert_eq!(
            p.mark((1, 9), "lee@x", Some(Doing::Viewing), secs(11)),
            [(1, 9)]
        );
        let at = secs(12);
        assert_eq!(
            p.others(CASE, Some("kim@x"), at),
            [Here {
                email: "ann@x".into(),
                doing: Doing::Typing
            }],
            "nobody sees themselves"
        );
        assert_eq!(p.others(CASE, None, at).len(), 2);
        assert!(p.others((2, 7), None, at).is_empty(), "per workspace");
        assert!(p.others((1, 8), None, at).is_empty(), "per case");

        // Kim's last word was at 10 s: gone at 40 s, and the next mark, on any case, says so
        // (lee, on case 9 until 41 s, is still there).
        let late = secs(40);
        assert_eq!(p.others(CASE, None, late).len(), 1);
        let mut changed = p.mark((3, 3), "ann@x", Some(Doing::Viewing), late);
        changed.sort();
        assert_eq!(changed, [CASE, (3, 3)], "kim expired");
        assert_eq!(p.others((1, 9), None, late).len(), 1);
        assert!(p.mark(CASE, "ann@x", Some(Doing::Typing), late).is_empty());
        assert_eq!(
            p.mark(CASE, "ann@x", Some(Doing::Viewing), late),
            [CASE],
            "stopped typing"
        );
        assert_eq!(p.mark(CASE, "ann@x", None, late), [CASE], "ann left");
        assert!(p.mark(CASE, "ann@x", None, late).is_empty(), "already gone");
        p.mark((3, 3), "ann@x", None, late);
        p.mark((1, 9), "lee@x", None, late);
        assert!(p.lock().cases.is_empty(), "nothing kept for empty cases");
    }
}
