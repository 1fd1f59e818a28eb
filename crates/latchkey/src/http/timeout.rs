//! A bound on every request's whole life (reading the body, handling,
//! answering), except the device-flow completion, which waits for a person
//! up to its own configured bound.

use super::error::ApiError;
use super::github_login::DEVICE_COMPLETE_PATHS;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Duration;

pub async fn limit(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    if DEVICE_COMPLETE_PATHS.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::RequestTimeout.into_response(),
    }
}
