//! Signing in and out of the web app, and choosing one's own password.
//!
//! The sign-in form is protected against login CSRF by a double-submit token: a random
//! pre-session cookie that the form repeats. Signed-in forms carry the session's own CSRF
//! token. Failed sign-ins are rate limited per account and per address ([`SignInLimiter`]),
//! and an unknown email takes as long to refuse as a wrong password.
//!
//! [`SignInLimiter`]: crate::auth::limiter::SignInLimiter

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Form;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::AppState;
use crate::api::blocking;
use crate::auth::{self, Principal, SESSION_COOKIE, SESSION_HOURS, secrets};
use crate::page::page;
use needle_store::accounts::EVERY_WORKSPACE;

/// The pre-session cookie the sign-in form repeats (login CSRF).
const SIGNIN_COOKIE: &str = "needle_signin";

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

fn signin_form(csrf: &str, email: &str, problem: Option<&str>) -> Markup {
    html! {
        section.signin aria-labelledby="signin-title" {
            h2 #signin-title { "Sign in" }
            @if let Some(problem) = problem {
                p.error role="alert" { (problem) }
            }
            form method="post" action="/signin" {
                input type="hidden" name="csrf" value=(csrf);
                label { "Email" input type="email" name="email" value=(email) autocomplete="username" required autofocus; }
                label { "Password" input type="password" name="password" autocomplete="current-password" required; }
                button type="submit" { "Sign in" }
            }
        }
    }
}

/// A sign-in page with a fresh pre-session token.
fn signin_page(
    headers: &HeaderMap,
    status: StatusCode,
    email: &str,
    problem: Option<&str>,
) -> Response {
    let csrf = secrets::random_hex(32);
    let mut response = (
        status,
        page("Sign in · Needle", None, signin_form(&csrf, email, problem)),
    )
        .into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        auth::set_cookie(headers, SIGNIN_COOKIE, &csrf, 3600),
    );
    response
}

pub async fn show(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Ok(Some(_)) = auth::authenticate(&state, &headers).await {
        return Redirect::to("/").into_response();
    }
    signin_page(&headers, StatusCode::OK, "", None)
}

pub async fn submit(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let email = form.email.trim().to_lowercase();
    let repeated = auth::cookie(&headers, SIGNIN_COOKIE)
        .is_some_and(|c| !form.csrf.is_empty() && secrets::same_secret(&c, &form.csrf));
    if !repeated {
        return signin_page(
            &headers,
            StatusCode::FORBIDDEN,
            &email,
            Some("This form expired or came from another site. Please sign in again."),
        );
    }
    let address = peer.ip().to_string();
    if let Some(wait) = state.limiter.check(&email, &address, Instant::now()) {
        let minutes = wait.as_secs().div_ceil(60);
        let mut response = signin_page(
            &headers,
            StatusCode::TOO_MANY_REQUESTS,
            &email,
            Some(&format!(
                "Too many failed sign-ins. Try again in {minutes} minute{}.",
                if minutes == 1 { "" } else { "s" }
            )),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, wait.as_secs().max(1).into());
        return response;
    }

    let checked = {
        let state = state.clone();
        let (email, password) = (email.clone(), form.password);
        blocking(move || {
            let found = state.listening.store().user_by_email(&email)?;
            let hash = found
                .as_ref()
                .map_or(secrets::decoy_hash(), |(_, h)| h.as_str());
            let ok = secrets::verify_password(&password, hash);
            Ok(found.filter(|_| ok).map(|(user, _)| user))
        })
        .await
    };
    let user = match checked {
        Ok(Some(user)) => user,
        Ok(None) => {
            state.limiter.failed(&email, &address, Instant::now());
            auth::audit(
                &state,
                EVERY_WORKSPACE,
                &format!("user:{email}"),
                "signin.failed",
                &email,
                json!({"address": address}),
            )
            .await;
            return signin_page(
                &headers,
                StatusCode::UNAUTHORIZED,
                &email,
                Some("Wrong email or password."),
            );
        }
        Err(e) => {
            return signin_page(
                &headers,
                StatusCode::SERVICE_UNAVAILABLE,
                &email,
                Some(&e.message),
            );
        }
    };
    state.limiter.succeeded(&email);

    let session_id = secrets::random_hex(32);
    let started = {
        let state = state.clone();
        let (id_hash, csrf) = (secrets::sha256_hex(&session_id), secrets::random_hex(32));
        let expires = OffsetDateTime::now_utc() + Duration::hours(SESSION_HOURS);
        let user_id = user.id;
        blocking(move || {
            Ok(state
                .listening
                .store()
                .start_session(&id_hash, user_id, &csrf, expires)?)
        })
        .await
    };
    if let Err(e) = started {
        return signin_page(
            &headers,
            StatusCode::SERVICE_UNAVAILABLE,
            &email,
            Some(&e.message),
        );
    }
    auth::audit(
        &state,
        EVERY_WORKSPACE,
        &format!("user:{email}"),
        "signin",
        &email,
        json!({"address": address}),
    )
    .await;
    let next = if user.must_change_password {
        "/account/password"
    } else {
        "/"
    };
    let mut response = Redirect::to(next).into_response();
    let cookies = response.headers_mut();
    cookies.append(
        header::SET_COOKIE,
        auth::set_cookie(&headers, SESSION_COOKIE, &session_id, SESSION_HOURS * 3600),
    );
    cookies.append(
        header::SET_COOKIE,
        auth::set_cookie(&headers, SIGNIN_COOKIE, "", 0),
    );
    response
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// The signed-in principal of a page request whose form carried the session's CSRF token.
fn form_ok(principal: &Principal, csrf: &str) -> bool {
    principal
        .session
        .as_ref()
        .is_some_and(|keys| secrets::same_secret(&keys.csrf, csrf))
}

pub async fn signout(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Ok(Some(principal)) = auth::authenticate(&state, &headers).await {
        if !form_ok(&principal, &form.csrf) {
            return (
                StatusCode::FORBIDDEN,
                "the sign-out form expired; reload the page",
            )
                .into_response();
        }
        if let Some(keys) = &principal.session {
            let (store_state, id_hash) = (state.clone(), keys.id_hash.clone());
            let _ =
                blocking(move || Ok(store_state.listening.store().end_session(&id_hash)?)).await;
            auth::audit(
                &state,
                EVERY_WORKSPACE,
                &principal.actor,
                "signout",
                &keys.email,
                json!({}),
            )
            .await;
        }
    }
    let mut response = Redirect::to("/signin").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        auth::set_cookie(&headers, SESSION_COOKIE, "", 0),
    );
    response
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    repeat: String,
}

fn password_page(principal: &Principal, status: StatusCode, problem: Option<&str>) -> Response {
    let keys = principal.session.as_ref().expect("a browser session");
    let body = html! {
        section.signin aria-labelledby="password-title" {
            h2 #password-title { "Choose your password" }
            @if keys.must_change_password {
                p { "You signed in with a password Needle made up. Choose your own to go on." }
            }
            @if let Some(problem) = problem { p.error role="alert" { (problem) } }
            form method="post" action="/account/password" {
                input type="hidden" name="csrf" value=(keys.csrf);
                label { "Current password" input type="password" name="current" autocomplete="current-password" required; }
                label { "New password (at least " (secrets::MIN_PASSWORD_CHARS) " characters)"
                    input type="password" name="new" autocomplete="new-password" minlength=(secrets::MIN_PASSWORD_CHARS) required; }
                label { "New password again" input type="password" name="repeat" autocomplete="new-password" required; }
                button type="submit" { "Save password" }
            }
        }
    };
    (status, page("Password · Needle", Some(principal), body)).into_response()
}

pub async fn password_show(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    match auth::authenticate(&state, &headers).await {
        Ok(Some(p)) if p.session.is_some() => password_page(&p, StatusCode::OK, None),
        _ => Redirect::to("/signin").into_response(),
    }
}

pub async fn password_submit(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Response {
    let principal = match auth::authenticate(&state, &headers).await {
        Ok(Some(p)) if p.session.is_some() => p,
        _ => return Redirect::to("/signin").into_response(),
    };
    if !form_ok(&principal, &form.csrf) {
        return password_page(
            &principal,
            StatusCode::FORBIDDEN,
            Some("The form expired; try again."),
        );
    }
    if let Err(problem) = secrets::check_new_password(&form.new) {
        return password_page(&principal, StatusCode::BAD_REQUEST, Some(&problem));
    }
    if form.new != form.repeat {
        return password_page(
            &principal,
            StatusCode::BAD_REQUEST,
            Some("The two new passwords differ."),
        );
    }
    let keys = principal.session.clone().expect("checked above");
    let user_id = principal.user_id.expect("sessions belong to users");
    let changed = {
        let state = state.clone();
        let email = keys.email.clone();
        blocking(move || {
            let Some((_, hash)) = state.listening.store().user_by_email(&email)? else {
                return Ok(false);
            };
            if !secrets::verify_password(&form.current, &hash) {
                return Ok(false);
            }
            // Ends every session of the user, this one too; it is started again below.
            state.listening.store().set_password(
                user_id,
                &secrets::hash_password(&form.new),
                false,
            )?;
            let expires = OffsetDateTime::now_utc() + Duration::hours(SESSION_HOURS);
            state
                .listening
                .store()
                .start_session(&keys.id_hash, user_id, &keys.csrf, expires)?;
            Ok(true)
        })
        .await
    };
    match changed {
        Ok(true) => {
            auth::audit(
                &state,
                EVERY_WORKSPACE,
                &principal.actor,
                "password.changed",
                &keys.email,
                json!({}),
            )
            .await;
            Redirect::to("/").into_response()
        }
        Ok(false) => password_page(
            &principal,
            StatusCode::UNAUTHORIZED,
            Some("The current password is wrong."),
        ),
        Err(e) => password_page(
            &principal,
            StatusCode::SERVICE_UNAVAILABLE,
            Some(&e.message),
        ),
    }
}
