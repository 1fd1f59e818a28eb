//! The REST endpoints under the API host (`api.github.com`).

use crate::state::{Failure, FakeUser};
use crate::Shared;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;

fn message(status: StatusCode, text: &str) -> Response {
    let body = json!({
        "message": text,
        "documentation_url": "https://docs.github.com/rest",
        "status": status.as_u16().to_string(),
    });
    with_rate_limit((status, axum::Json(body)).into_response())
}

fn bad_credentials() -> Box<Response> {
    Box::new(message(StatusCode::UNAUTHORIZED, "Bad credentials"))
}

fn with_rate_limit(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert("x-ratelimit-limit", HeaderValue::from_static("5000"));
    h.insert("x-ratelimit-remaining", HeaderValue::from_static("4999"));
    h.insert("x-ratelimit-reset", HeaderValue::from_static("4102444800"));
    h.insert("x-ratelimit-used", HeaderValue::from_static("1"));
    response
}

/// The user behind `Authorization: Bearer|token <token>`, or GitHub's refusal.
fn authenticate(shared: &Shared, headers: &HeaderMap) -> Result<FakeUser, Box<Response>> {
    if headers.get(header::USER_AGENT).is_none() {
        return Err(Box::new(message(
            StatusCode::FORBIDDEN,
            "Request forbidden by administrative rules. Please make sure your request has a User-Agent header",
        )));
    }
    let state = shared.lock();
    match state.script.rest_failure {
        Some(Failure::Unauthorized) => return Err(bad_credentials()),
        Some(Failure::ServerError) => {
            return Err(Box::new(message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Server Error",
            )))
        }
        None => {}
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("token "))
        })
        .ok_or_else(bad_credentials)?;
    let user_id = state.tokens.get(token).ok_or_else(bad_credentials)?.user_id;
    state
        .user_by_id(user_id)
        .cloned()
        .ok_or_else(bad_credentials)
}

pub async fn user(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    let user = match authenticate(&shared, &headers) {
        Ok(user) => user,
        Err(response) => return *response,
    };
    let body = json!({
        "login": user.login,
        "id": user.id,
        "node_id": format!("MDQ6VXNlcj{}", user.id),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{}?v=4", user.id),
        "type": "User",
        "site_admin": false,
        "name": user.name,
        "email": user.email,
    });
    with_rate_limit(axum::Json(body).into_response())
}

/// Paginated like GitHub: `per_page` (≤ 100, default 30), `page`, `Link` header.
pub async fn emails(
    State(shared): State<Shared>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let user = match authenticate(&shared, &headers) {
        Ok(user) => user,
        Err(response) => return *response,
    };
    let p = crate::params::parse(query.as_deref(), &HeaderMap::new(), &[]);
    let per_page: usize = p
        .get("per_page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page: usize = p
        .get("page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let all: Vec<_> = user
        .emails
        .iter()
        .map(|e| {
            json!({
                "email": e.email,
                "primary": e.primary,
                "verified": e.verified,
                "visibility": if user.email.as_deref() == Some(&e.email) { json!("public") } else { json!(null) },
            })
        })
        .collect();
    let chunk: Vec<_> = all
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .cloned()
        .collect();
    let mut response = with_rate_limit(axum::Json(chunk).into_response());
    if page * per_page < all.len() {
        let next = format!(
            "<{}/user/emails?per_page={per_page}&page={}>; rel=\"next\"",
            shared.base_url(),
            page + 1
        );
        if let Ok(value) = HeaderValue::from_str(&next) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    response
}

/// `POST /applications/{client_id}/token`: does this token belong to that app?
pub async fn check_token(
    State(shared): State<Shared>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let state = shared.lock();
    let expected = format!("{}:{}", state.client_id, state.client_secret);
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b).ok());
    if client_id != state.client_id || basic.as_deref() != Some(expected.as_bytes()) {
        return message(StatusCode::NOT_FOUND, "Not Found");
    }
    let token = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["access_token"].as_str().map(str::to_owned))
        .unwrap_or_default();
    match state.tokens.get(&token) {
        Some(t) if t.client_id == client_id => {
            let user = state.user_by_id(t.user_id);
            let body = json!({
                "id": 1,
                "token": token,
                "app": {"client_id": client_id, "name": "Latchkey", "url": "http://localhost"},
                "scopes": ["read:user", "user:email"],
                "user": user.map(|u| json!({"login": u.login, "id": u.id})),
            });
            with_rate_limit(axum::Json(body).into_response())
        }
        _ => message(StatusCode::NOT_FOUND, "Not Found"),
    }
}
