//! Liveness, version and Prometheus metrics.

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

/// Answers 200 while the process serves requests.
#[utoipa::path(get, security(()), path = "/healthcheck", tag = "Operations",
    responses((status = 200, body = Empty)))]
async fn healthcheck() -> Json<Empty> {
    Json(Empty {})
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
