//! Who is asking, and may they? Every `/api/v1` request but a webhook's or a chat visitor's
//! proves who sent it, with an API token (`Authorization: Bearer ndl_…`) or a signed-in
//! browser's session cookie, and is then checked against its role in the workspace it names
//! ([`access`]). Anonymous callers get 401, callers whose role does not allow the request 403.
//!
//! A browser session must also send its CSRF token (`X-CSRF-Token`, or a form field) with
//! every request that changes something: the cookie alone proves only that a browser is
//! signed in, not that this page sent the request.

pub mod access;
pub mod limiter;
pub mod secrets;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use needle_core::ErrorCode;
use needle_store::Workspace;
use needle_store::accounts::{AccountStore, AuditEntry, EVERY_WORKSPACE, Grant, Role};
use serde_json::Value;
use time::OffsetDateTime;

use crate::api::blocking;
use crate::error::AppResult;
use crate::{ApiError, AppState, DEFAULT_WORKSPACE};
use access::Need;

/// The session cookie: random, HTTP-only, SameSite=Lax; the store keeps its SHA-256.
pub const SESSION_COOKIE: &str = "needle_session";
/// How long a sign-in lasts: a working day, then sign in again.
pub const SESSION_HOURS: i64 = 12;
/// The header a browser session sends its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Who sent a request, and what they may do where.
#[derive(Debug, Clone)]
pub struct Principal {
    /// For the audit log: `user:kim@example.com` or `token:ci`.
    pub actor: String,
    pub user_id: Option<i64>,
    pub grants: Vec<Grant>,
    /// Set when a browser session (not a token) sent the request.
    pub session: Option<SessionKeys>,
}

/// What a browser session holds beside its user.
#[derive(Debug, Clone)]
pub struct SessionKeys {
    pub id_hash: String,
    pub csrf: String,
    pub email: String,
    /// The user still has a password Needle made up, and may do nothing but change it.
    pub must_change_password: bool,
}

impl Principal {
    /// The role held in `workspace_id`: the higher of the role there and the role held in
    /// every workspace.
    pub fn role_in(&self, workspace_id: i64) -> Option<Role> {
        needle_store::accounts::role_in(&self.grants, workspace_id)
    }

    pub fn role_everywhere(&self) -> Option<Role> {
        self.role_in(EVERY_WORKSPACE)
    }

    /// The workspaces of `all` this principal may see.
    pub fn visible(&self, all: Vec<Workspace>) -> Vec<Workspace> {
        all.into_iter()
            .filter(|w| self.role_in(w.id).is_some())
            .collect()
    }

    /// The one workspace this principal is limited to, if it is limited to one: requests
    /// that name no workspace go there instead of to `default`.
    fn sole_workspace(&self) -> Option<i64> {
        match self.grants.as_slice() {
            [only] if only.workspace_id != EVERY_WORKSPACE => Some(only.workspace_id),
            _ => None,
        }
    }

    /// The principal's role, said plainly for error messages.
    fn describe(&self, workspace: &str, role: Option<Role>) -> String {
        match role {
            Some(role) => format!(
                "{} is {} in workspace {workspace:?}",
                self.actor,
                role.as_str()
            ),
            None => format!("{} has no role in workspace {workspace:?}", self.actor),
        }
    }
}

/// The value of cookie `name`, if the request carries it.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Whether the browser reached us on a loopback address, where there is no TLS to insist
/// on: cookies are `Secure` everywhere else.
fn loopback(headers: &HeaderMap) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name == "localhost"
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A `Set-Cookie` value: HTTP-only, SameSite=Lax, path `/`, `Secure` off loopback.
pub fn set_cookie(headers: &HeaderMap, name: &str, value: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if loopback(headers) { "" } else { "; Secure" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    ))
    .expect("cookie values are hex")
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Who sent the request: its API token if it has one, else its session cookie. `Ok(None)`
/// for an anonymous request; a token that is wrong or revoked is an error, not anonymity.
pub async fn authenticate(
    state: &Arc<AppState>,
    headers: &HeaderMap,
) -> AppResult<Option<Principal>> {
    if let Some(token) = bearer(headers) {
        let hash = secrets::sha256_hex(token);
        let state = state.clone();
        let found = blocking(move || Ok(state.listening.store().token(&hash)?)).await?;
        return match found {
            Some(token) => Ok(Some(Principal {
                actor: format!("token:{}", token.name),
                user_id: None,
                grants: vec![token.grant],
                session: None,
            })),
            None => Err(ApiError::new(
                ErrorCode::Unauthorized,
                "the API token is not valid (unknown or revoked); create one with `needle token add`",
            )),
        };
    }
    let Some(id) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let id_hash = secrets::sha256_hex(&id);
    let state = state.clone();
    let session = blocking(move || {
        Ok(state
            .listening
            .store()
            .session(&id_hash, OffsetDateTime::now_utc())?
            .map(|s| (s, id_hash)))
    })
    .await?;
    Ok(session.map(|(session, id_hash)| Principal {
        actor: format!("user:{}", session.user.email),
        user_id: Some(session.user.id),
        grants: session.user.grants,
        session: Some(SessionKeys {
            id_hash,
            csrf: session.csrf,
            email: session.user.email,
            must_change_password: session.user.must_change_password,
        }),
    }))
}

/// Whether a browser request carries its session's CSRF token in the header.
pub fn csrf_header_ok(headers: &HeaderMap, keys: &SessionKeys) -> bool {
    headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|sent| secrets::same_secret(sent, &keys.csrf))
}

fn unsafe_method(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The `workspace` query parameter, if the request names one.
fn named_workspace(query: Option<&str>) -> Option<String> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "workspace")
        .map(|(_, v)| v.to_string())
}

/// The middleware in front of `/api/v1`: authenticates, checks CSRF for browser sessions,
/// sends a principal limited to one workspace there by default, and checks the role.
pub async fn guard_api(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    match admit(&state, &mut request).await {
        Ok(()) => next.run(request).await,
        Err(e) => {
            let unauthorized = e.code == ErrorCode::Unauthorized;
            let mut response = e.into_response();
            if unauthorized {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"needle\""),
                );
            }
            response
        }
    }
}

async fn admit(state: &Arc<AppState>, request: &mut Request) -> AppResult<()> {
    let path = request.uri().path();
    let need = access::need(
        request.method(),
        path.strip_prefix("/api/v1").unwrap_or(path),
    );
    if need == Need::Open {
        return Ok(());
    }
    let Some(principal) = authenticate(state, request.headers()).await? else {
        return Err(ApiError::new(
            ErrorCode::Unauthorized,
            "sign in, or send an API token as `Authorization: Bearer …` (`needle token add` makes one)",
        ));
    };
    if let Some(keys) = &principal.session {
        if keys.must_change_password {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "choose your own password first (/account/password)",
            ));
        }
        if unsafe_method(request.method()) && !csrf_header_ok(request.headers(), keys) {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("a browser session must send its CSRF token in {CSRF_HEADER}"),
            ));
        }
    }

    let named = named_workspace(request.uri().query());
    let sole = match named {
        None => principal.sole_workspace(),
        Some(_) => None,
    };
    let (name, workspace_id) = {
        let state = state.clone();
        blocking(move || {
            if let Some(id) = sole {
                let ws = state.store.workspaces()?.into_iter().find(|w| w.id == id);
                return Ok(ws.map_or((DEFAULT_WORKSPACE.to_string(), None), |w| {
                    (w.name, Some(w.id))
                }));
            }
            let name = named.unwrap_or_else(|| DEFAULT_WORKSPACE.to_string());
            let id = state.store.workspace(&name)?.map(|w| w.id);
            Ok((name, id))
        })
        .await?
    };
    if sole.is_some() {
        default_workspace_to(request, &name);
    }

    let role = match workspace_id {
        Some(id) => principal.role_in(id),
        None => principal.role_everywhere(),
    };
    let allowed = match need {
        Need::Operator => principal.role_everywhere() == Some(Role::Admin),
        _ => role.is_some_and(|r| need.met_by(r)),
    };
    if !allowed {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            format!(
                "{}; this needs {}",
                principal.describe(&name, role),
                need.who()
            ),
        ));
    }
    request.extensions_mut().insert(principal);
    Ok(())
}

/// Adds `workspace=NAME` to the request's query (names are `[a-z0-9_-]`, nothing to escape).
fn default_workspace_to(request: &mut Request, name: &str) {
    let uri = request.uri();
    let path_and_query = match uri.query() {
        Some(q) if !q.is_empty() => format!("{}?{q}&workspace={name}", uri.path()),
        _ => format!("{}?workspace={name}", uri.path()),
    };
    if let Ok(rewritten) = path_and_query.parse() {
        *request.uri_mut() = rewritten;
    }
}

/// Records one line of the audit log, from blocking code. A failure to record is logged, not
/// returned: the action it describes has happened.
pub fn record(store: &dyn AccountStore, entry: &AuditEntry) {
    if let Err(e) = store.record_audit(entry) {
        tracing::error!(action = %entry.action, error = %e, "could not record the audit entry");
    }
}

/// [`record`] from async code.
pub async fn audit(
    state: &Arc<AppState>,
    workspace_id: i64,
    actor: &str,
    action: &str,
    subject: &str,
    detail: Value,
) {
    let entry = AuditEntry::now(workspace_id, actor, action, subject, detail);
    let state = state.clone();
    let _ = blocking(move || {
        record(state.listening.store().as_ref(), &entry);
        Ok(())
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn cookies_are_secure_everywhere_but_on_loopback() {
        for local in [
            "127.0.0.1:8080",
            "localhost:8080",
            "[::1]:8080",
            "localhost",
        ] {
            let cookie = set_cookie(&host(local), SESSION_COOKIE, "ab", 60);
            assert_eq!(
                cookie.to_str().unwrap(),
                "needle_session=ab; Path=/; HttpOnly; SameSite=Lax; Max-Age=60",
                "{local}"
            );
        }
        for public in ["needle.example.com", "10.0.0.5:8080", "[2001:db8::1]:443"] {
            let cookie = set_cookie(&host(public), SESSION_COOKIE, "ab", 60);
            assert!(cookie.to_str().unwrap().ends_with("; Secure"), "{public}");
        }
        assert!(
            set_cookie(&HeaderMap::new(), SESSION_COOKIE, "ab", 60)
                .to_str()
                .unwrap()
                .ends_with("; Secure"),
            "no Host: secure"
        );
    }

    #[test]
    fn cookies_and_bearer_tokens_are_read_from_their_headers() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; needle_session=cafe; b=2"),
        );
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer ndl_x"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("cafe"));
        assert_eq!(cookie(&headers, "missing"), None);
        assert_eq!(
            bearer(&headers),
            Some("ndl_x"),
            "the scheme is case-insensitive"
        );
        assert_eq!(
            named_workspace(Some("q=x&workspace=acme")).as_deref(),
            Some("acme")
        );
        assert_eq!(named_workspace(Some("q=x")), None);
    }
}
