//! Request parameters the way GitHub takes them: query string, form body or
//! JSON body; and OAuth answers the way GitHub gives them: form-encoded unless
//! `Accept: application/json`, errors with HTTP 200.

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;

pub fn parse(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> HashMap<String, String> {
    let mut params: HashMap<String, String> = query
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    let from_body: HashMap<String, String> = if is_json {
        serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(body)
            .map(|m| {
                m.into_iter()
                    .map(|(k, v)| {
                        let v = v
                            .as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string());
                        (k, v)
                    })
                    .collect()
            })
            .unwrap_or_default()
    } else {
        serde_urlencoded::from_bytes(body).unwrap_or_default()
    };
    params.extend(from_body);
    params
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
}

/// An OAuth endpoint's answer in the format the `Accept` header picks.
pub fn oauth_reply(headers: &HeaderMap, pairs: &[(&str, String)]) -> Response {
    if wants_json(headers) {
        let mut map = serde_json::Map::new();
        for (k, v) in pairs {
            let value = match v.parse::<u64>() {
                Ok(n) if *k == "expires_in" || *k == "interval" => serde_json::Value::from(n),
                _ => serde_json::Value::from(v.clone()),
            };
            map.insert((*k).to_owned(), value);
        }
        (StatusCode::OK, axum::Json(serde_json::Value::Object(map))).into_response()
    } else {
        let body = serde_urlencoded::to_string(pairs).unwrap_or_default();
        (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "application/x-www-form-urlencoded; charset=utf-8",
            )],
            body,
        )
            .into_response()
    }
}

/// GitHub's OAuth error: HTTP 200 with `error`, `error_description`, `error_uri`.
pub fn oauth_error(headers: &HeaderMap, code: &str, description: &str) -> Response {
    oauth_reply(
        headers,
        &[
            ("error", code.to_owned()),
            ("error_description", description.to_owned()),
            (
                "error_uri",
                "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors".to_owned(),
            ),
        ],
    )
}
