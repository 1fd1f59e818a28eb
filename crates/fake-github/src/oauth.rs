//! The browser and token endpoints under the web host (`github.com`).

use crate::params::{oauth_error, oauth_reply, parse};
use crate::state::{random_hex, CodeGrant, DeviceGrant, DeviceOutcome};
use crate::Shared;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

const CODE_LIFETIME: Duration = Duration::from_secs(600);
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

pub async fn device_code(
    State(shared): State<Shared>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let p = parse(query.as_deref(), &headers, &body);
    let mut state = shared.lock();
    if p.get("client_id") != Some(&state.client_id) {
        return oauth_error(
            &headers,
            "incorrect_client_credentials",
            "The client_id is not valid.",
        );
    }
    let device_code = random_hex(40);
    let user_code = format!("{}-{}", random_hex(4), random_hex(4)).to_uppercase();
    let interval = state.script.device_interval;
    let outcome = state.script.device_outcome.clone();
    state.devices.insert(
        device_code.clone(),
        DeviceGrant {
            user_code: user_code.clone(),
            polls: 0,
            interval,
            last_poll: None,
            slowed: false,
            outcome,
        },
    );
    drop(state);
    oauth_reply(
        &headers,
        &[
            ("device_code", device_code),
            ("user_code", user_code),
            (
                "verification_uri",
                format!("{}/login/device", shared.base_url()),
            ),
            ("expires_in", "900".to_owned()),
            ("interval", interval.to_string()),
        ],
    )
}

pub async fn access_token(
    State(shared): State<Shared>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let p = parse(query.as_deref(), &headers, &body);
    match p.get("grant_type").map(String::as_str) {
        Some(DEVICE_GRANT) => device_poll(&shared, &headers, &p),
        None | Some("authorization_code") => code_exchange(&shared, &headers, &p),
        Some(_) => oauth_error(
            &headers,
            "unsupported_grant_type",
            "Unsupported grant type.",
        ),
    }
}

fn device_poll(
    shared: &Shared,
    headers: &HeaderMap,
    p: &std::collections::HashMap<String, String>,
) -> Response {
    let mut state = shared.lock();
    if p.get("client_id") != Some(&state.client_id) {
        return oauth_error(
            headers,
            "incorrect_client_credentials",
            "The client_id is not valid.",
        );
    }
    let code = p.get("device_code").cloned().unwrap_or_default();
    let slow_down_on = state.script.device_slow_down_on_poll;
    let names_interval = state.script.device_slow_down_names_interval;
    let pending = state.script.device_pending_polls;
    let Some(grant) = state.devices.get_mut(&code) else {
        return oauth_error(
            headers,
            "incorrect_device_code",
            "The device_code provided is not valid.",
        );
    };
    grant.polls += 1;
    let now = Instant::now();
    let too_fast = grant
        .last_poll
        .is_some_and(|last| now.duration_since(last) < Duration::from_secs(grant.interval));
    grant.last_poll = Some(now);
    if too_fast || (!grant.slowed && slow_down_on == Some(grant.polls)) {
        grant.slowed = true;
        grant.interval += 5;
        let mut reply = vec![
            ("error", "slow_down".to_owned()),
            (
                "error_description",
                "Too many requests have been made in the same timeframe.".to_owned(),
            ),
        ];
        if names_interval {
            reply.push(("interval", grant.interval.to_string()));
        }
        return oauth_reply(headers, &reply);
    }
    if grant.polls <= pending {
        return oauth_error(
            headers,
            "authorization_pending",
            "The authorization request is still pending.",
        );
    }
    let outcome = grant.outcome.clone();
    match outcome {
        DeviceOutcome::Deny => {
            state.devices.remove(&code);
            oauth_error(
                headers,
                "access_denied",
                "The authorization request was denied.",
            )
        }
        DeviceOutcome::Expire => {
            state.devices.remove(&code);
            oauth_error(headers, "expired_token", "The device_code has expired.")
        }
        DeviceOutcome::Approve(login) => {
            let Some(user_id) = state.approving_user(&login) else {
                return oauth_error(headers, "access_denied", "No such user.");
            };
            state.devices.remove(&code);
            let client_id = state.client_id.clone();
            let token = state.issue_token(user_id, &client_id);
            drop(state);
            token_reply(headers, token)
        }
    }
}

fn token_reply(headers: &HeaderMap, token: String) -> Response {
    oauth_reply(
        headers,
        &[
            ("access_token", token),
            ("token_type", "bearer".to_owned()),
            // GitHub separates granted scopes with commas.
            ("scope", "read:user,user:email".to_owned()),
        ],
    )
}

fn code_exchange(
    shared: &Shared,
    headers: &HeaderMap,
    p: &std::collections::HashMap<String, String>,
) -> Response {
    let mut state = shared.lock();
    if p.get("client_id") != Some(&state.client_id)
        || p.get("client_secret") != Some(&state.client_secret)
    {
        return oauth_error(
            headers,
            "incorrect_client_credentials",
            "The client_id and/or client_secret passed are incorrect.",
        );
    }
    let code = p.get("code").cloned().unwrap_or_default();
    let Some(grant) = state.codes.remove(&code) else {
        return oauth_error(
            headers,
            "bad_verification_code",
            "The code passed is incorrect or expired.",
        );
    };
    if grant.issued.elapsed() > CODE_LIFETIME {
        return oauth_error(
            headers,
            "bad_verification_code",
            "The code passed is incorrect or expired.",
        );
    }
    if grant.redirect_uri.is_some() && p.get("redirect_uri") != grant.redirect_uri.as_ref() {
        return oauth_error(
            headers,
            "redirect_uri_mismatch",
            "The redirect_uri MUST match the registered callback URL for this application.",
        );
    }
    if let Some(challenge) = &grant.challenge {
        let verified = p
            .get("code_verifier")
            .is_some_and(|v| URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes())) == *challenge);
        if !verified {
            return oauth_error(
                headers,
                "bad_verification_code",
                "The code_verifier does not match the code_challenge.",
            );
        }
    }
    let client_id = state.client_id.clone();
    let token = state.issue_token(grant.user_id, &client_id);
    drop(state);
    token_reply(headers, token)
}

/// `GET /login/oauth/authorize`: approve at once when scripted, else a form.
pub async fn authorize(State(shared): State<Shared>, RawQuery(query): RawQuery) -> Response {
    let p = parse(query.as_deref(), &HeaderMap::new(), &[]);
    let state = shared.lock();
    if p.get("client_id") != Some(&state.client_id) {
        return (
            StatusCode::NOT_FOUND,
            Html("<h1>404: unknown application</h1>"),
        )
            .into_response();
    }
    if p.contains_key("code_challenge")
        && p.get("code_challenge_method").map(String::as_str) != Some("S256")
    {
        return (
            StatusCode::BAD_REQUEST,
            Html("<h1>Only S256 is supported for PKCE</h1>"),
        )
            .into_response();
    }
    if state.script.authorize_deny {
        drop(state);
        return decide(&shared, &p, None);
    }
    if let Some(login) = state.script.authorize_as.clone() {
        let user = state.user_by_login(&login).map(|u| u.id);
        drop(state);
        return decide(&shared, &p, user);
    }
    let options: String = state
        .users
        .iter()
        .map(|u| format!(r#"<option value="{0}">{0}</option>"#, html_escape(&u.login)))
        .collect();
    let hidden: String = [
        "client_id",
        "redirect_uri",
        "state",
        "code_challenge",
        "code_challenge_method",
        "scope",
    ]
    .iter()
    .filter_map(|k| {
        p.get(*k).map(|v| {
            format!(
                r#"<input type="hidden" name="{k}" value="{}">"#,
                html_escape(v)
            )
        })
    })
    .collect();
    Html(format!(
        "<!doctype html><title>Fake GitHub: authorize</title><h1>Authorize application</h1>\
         <form method=post action=/login/oauth/authorize>{hidden}\
         <label>Sign in as <select name=login>{options}</select></label> \
         <button name=decision value=approve>Authorize</button> \
         <button name=decision value=deny>Cancel</button></form>"
    ))
    .into_response()
}

/// The form's answer.
pub async fn authorize_form(
    State(shared): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let p = parse(None, &headers, &body);
    let user = if p.get("decision").map(String::as_str) == Some("approve") {
        let state = shared.lock();
        p.get("login")
            .and_then(|l| state.user_by_login(l))
            .map(|u| u.id)
    } else {
        None
    };
    decide(&shared, &p, user)
}

/// Redirects back with a code (approved) or `error=access_denied`.
fn decide(
    shared: &Shared,
    p: &std::collections::HashMap<String, String>,
    user: Option<u64>,
) -> Response {
    let Some(redirect_uri) = p.get("redirect_uri").cloned() else {
        return (
            StatusCode::BAD_REQUEST,
            Html("<h1>redirect_uri is required here</h1>"),
        )
            .into_response();
    };
    let mut pairs: Vec<(&str, String)> = Vec::new();
    match user {
        Some(user_id) => {
            let code = random_hex(20);
            shared.lock().codes.insert(
                code.clone(),
                CodeGrant {
                    user_id,
                    redirect_uri: Some(redirect_uri.clone()),
                    challenge: p.get("code_challenge").cloned(),
                    issued: Instant::now(),
                },
            );
            pairs.push(("code", code));
        }
        None => {
            pairs.push(("error", "access_denied".to_owned()));
            pairs.push((
                "error_description",
                "The user has denied your application access.".to_owned(),
            ));
        }
    }
    if let Some(state) = p.get("state") {
        pairs.push(("state", state.clone()));
    }
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    Redirect::to(&format!("{redirect_uri}{sep}{query}")).into_response()
}

/// `GET /login/device`: where a person would type the user code. The fake
/// approves by script, so this page only lists the codes it is waiting for.
pub async fn device_page(State(shared): State<Shared>) -> Html<String> {
    let state = shared.lock();
    let codes: String = state
        .devices
        .values()
        .map(|d| format!("<li><code>{}</code></li>", html_escape(&d.user_code)))
        .collect();
    Html(format!(
        "<!doctype html><title>Fake GitHub: device activation</title>\
         <h1>Device activation</h1><p>Codes waiting (approved automatically on the next poll):</p><ul>{codes}</ul>"
    ))
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
