//! Liveness, version and Prometheus metrics.

use super::error::{ApiError, ErrorBody};
use super::extract::Json;
use super::{AppState, Empty};
use crate::metrics::Metrics;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthcheck))
        .routes(routes!(version))
}

/// Answers 200 while the process serves requests and reaches its database
/// (checked every second); 503 while the database is unreachable, so a load
/// balancer can send traffic elsewhere.
#[utoipa::path(get, security(()), path = "/healthcheck", tag = "Operations",
    responses((status = 200, body = Empty),
        (status = 503, body = ErrorBody, description = "The database is unreachable")))]
async fn healthcheck(State(state): State<AppState>) -> Result<Json<Empty>, ApiError> {
    match state.services.health.database_up() {
        true => Ok(Json(Empty {})),
        false => Err(ApiError::Unavailable),
    }
}

#[derive(Serialize, ToSchema)]
pub struct VersionInfo {
    version: &'static str,
}

/// The running build's version.
#[utoipa::path(get, security(()), path = "/version", tag = "Operations",
    responses((status = 200, body = VersionInfo)))]
async fn version() -> Json<VersionInfo> {
    Json(VersionInfo {
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// Prometheus text exposition.
pub async fn metrics(State(state): State<AppState>) -> Response {
    render_metrics(&state.metrics)
}

pub fn render_metrics(metrics: &Metrics) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics.render(),
    )
        .into_response()
}
