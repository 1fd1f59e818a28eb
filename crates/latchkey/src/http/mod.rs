//! The HTTP edge: routes, extractors and the one error mapping. Knows the
//! services, never the store.

mod accounts;
mod auth;
mod docs;
pub mod error;
mod extract;
mod github_login;
mod login;
mod metrics;
mod ops;
mod rate_limit;
mod session_cookie;
mod tokens;

use crate::service::Services;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::HeaderName;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use error::ApiError;
use metrics_exporter_prometheus::PrometheusHandle;
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;

pub use session_cookie::CookieConfig;

/// Handlers answer JSON or an [`ApiError`].
pub type ApiResult<T> = Result<extract::Json<T>, ApiError>;

/// The `{}` body of operations that return nothing.
#[derive(Serialize, ToSchema)]
pub struct Empty {}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    cookie: Arc<CookieConfig>,
    metrics: PrometheusHandle,
    docs: Arc<docs::Docs>,
}

/// HTTP-only settings.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    pub cookie: CookieConfig,
    pub login_rate_limit_per_minute: u32,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Latchkey", description = "Login and token service."),
    modifiers(&SecuritySchemes),
    tags((name = "Login"), (name = "Token"), (name = "Account"), (name = "Operations"))
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "Token",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        // The cookie's name is configurable; the document shows the default.
        components.add_security_scheme(
            "Cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("latchkey_session"))),
        );
    }
}

/// The documented routes, from which the OpenAPI document is generated;
/// `limited` wraps the login flows in the rate limit.
fn api_router(
    limited: impl FnOnce(OpenApiRouter<AppState>) -> OpenApiRouter<AppState>,
) -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(limited(github_login::routes()))
        .merge(login::routes())
        .merge(tokens::routes())
        .merge(accounts::routes())
        .merge(ops::routes())
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Assembles routes, shared state and layers.
pub fn router(services: Services, config: HttpConfig) -> Router {
    let limiter = Arc::new(rate_limit::LoginLimiter::per_minute(
        config.login_rate_limit_per_minute,
    ));
    spawn_limiter_cleanup(&limiter);
    let (api, openapi) = api_router(|r| {
        r.route_layer(axum::middleware::from_fn_with_state(
            limiter,
            rate_limit::limit,
        ))
    })
    .split_for_parts();
    let state = AppState {
        services,
        cookie: Arc::new(config.cookie),
        metrics: metrics::recorder(),
        docs: Arc::new(docs::Docs::new(&openapi)),
    };
    api.route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(|State(s): State<AppState>| async move { s.docs.json_response() }))
        .route("/docs", get(|State(s): State<AppState>| async move { s.docs.html_response() }))
        .route_layer(axum::middleware::from_fn(metrics::track))
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .fallback(not_found)
        .with_state(state)
        .layer(DefaultBodyLimit::max(64 * 1024))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let id = req
                        .headers()
                        .get(&REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    // The path only: query strings can carry credentials.
                    tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO).latency_unit(tower_http::LatencyUnit::Micros)),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(CatchPanicLayer::custom(|_panic| {
            tracing::error!("handler panicked");
            ApiError::Internal("handler panicked".into()).into_response()
        }))
}

fn spawn_limiter_cleanup(limiter: &Arc<rate_limit::LoginLimiter>) {
    let limiter = Arc::downgrade(limiter);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            match limiter.upgrade() {
                Some(limiter) => limiter.shrink(),
                None => break,
            }
        }
    });
}

async fn not_found(req: Request) -> Response {
    let start = Instant::now();
    let response = ApiError::NotFound("Not found").into_response();
    metrics::record(
        req.method().as_str().to_owned(),
        "unmatched".to_owned(),
        &response,
        start,
    );
    response
}
