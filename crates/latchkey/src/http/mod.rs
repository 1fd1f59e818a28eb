//! The HTTP edge: routes, extractors and the one error mapping. Knows the
//! services, never the store.

mod accounts;
mod audit;
pub(crate) mod auth;
mod authorizations;
pub mod client_ip;
mod clients;
mod docs;
mod edge;
pub mod error;
mod extract;
mod github_login;
mod login;
mod metrics;
pub(crate) mod oauth;
mod ops;
mod pages;
mod rate_limit;
pub mod server;
mod session_cookie;
mod tokens;
mod write_deadline;

use crate::metrics::Metrics;
use crate::service::Services;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use error::ApiError;
use serde::Serialize;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tower::Service;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, AuthorizationCode, Flow, Http, HttpAuthScheme, OAuth2, Scopes,
    SecurityScheme,
};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;

pub use client_ip::TrustedProxies;
pub use edge::{edge, AccessLog, EdgeConfig, REQUEST_ID};
pub use session_cookie::CookieConfig;

/// Handlers answer JSON or an [`ApiError`].
pub type ApiResult<T> = Result<extract::Json<T>, ApiError>;

/// The `{}` body of operations that return nothing.
#[derive(Serialize, ToSchema)]
pub struct Empty {}

/// What every handler can reach. Axum clones the state for every extractor
/// and middleware that asks for it, so it is one `Arc`: cloning the services
/// themselves showed up at 10% of a validation's CPU time in the profile.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub services: Services,
    cookie: CookieConfig,
    metrics: Arc<Metrics>,
    docs: docs::Docs,
    proxies: TrustedProxies,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// HTTP-only settings.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    pub cookie: CookieConfig,
    pub login_rate_limit_per_minute: u32,
    pub trusted_proxies: TrustedProxies,
    /// Bound on a whole request, except the device completion.
    pub request_timeout: Duration,
    pub access_log: AccessLog,
    /// Serve `/metrics` on this listener (else on its own, or nowhere).
    pub metrics_route: bool,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Latchkey", description = "Login and token service."),
    modifiers(&SecuritySchemes),
    components(schemas(github_login::Provider)),
    tags((name = "Login"), (name = "Token"), (name = "Account"), (name = "Clients"),
        (name = "OAuth2"), (name = "Operations"))
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
        // OAuth access tokens, with the scope each operation needs; the
        // Token API's tokens (the "Token" scheme) are not narrowed unless
        // created with scopes.
        let scopes =
            Scopes::from_iter(crate::domain::Scope::ALL.map(|s| (s.as_str(), s.description())));
        components.add_security_scheme(
            "OAuth2",
            SecurityScheme::OAuth2(OAuth2::new([Flow::AuthorizationCode(
                AuthorizationCode::new("/oauth/authorize", "/oauth/token", scopes),
            )])),
        );
    }
}

/// The documented routes, from which the OpenAPI document is generated;
/// `limited` wraps the login flows and OAuth device authorization in the
/// rate limit.
fn api_router(
    limited: impl FnOnce(OpenApiRouter<AppState>) -> OpenApiRouter<AppState>,
) -> OpenApiRouter<AppState> {
    let flows = OpenApiRouter::new()
        .merge(github_login::routes())
        .merge(oauth::endpoints::device_routes());
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(limited(flows))
        .merge(login::routes())
        .merge(tokens::routes())
        .merge(accounts::routes())
        .merge(audit::routes())
        .merge(authorizations::routes())
        .merge(clients::routes())
        .merge(oauth::endpoints::routes())
        .merge(ops::routes())
}

/// The whole HTTP service: the router inside the edge. Fails if an API
/// operation declares no security requirement.
pub fn app(
    services: Services,
    metrics: Arc<Metrics>,
    config: HttpConfig,
) -> Result<
    impl Service<Request<Body>, Response = Response, Error = Infallible, Future: Send + 'static>
        + Clone
        + Send
        + 'static,
    String,
> {
    let edge_config = EdgeConfig {
        access_log: config.access_log,
        request_timeout: Some(config.request_timeout),
        metrics: Some(metrics.clone()),
        proxies: config.trusted_proxies.clone(),
    };
    Ok(edge(router(services, metrics, config)?, edge_config))
}

/// Routes and shared state. The API's routes sit behind the auth layer,
/// which takes each one's requirement from the OpenAPI document; the rate
/// limit guards the login flows and OAuth device authorization. The pages
/// do their own sign-in checks.
fn router(services: Services, metrics: Arc<Metrics>, config: HttpConfig) -> Result<Router, String> {
    let audit = services.audit.clone();
    let limiter = Arc::new(
        rate_limit::LoginLimiter::per_minute(
            config.login_rate_limit_per_minute,
            config.trusted_proxies.clone(),
        )
        .audited(audit.clone()),
    );
    spawn_limiter_cleanup(&limiter);
    let page_limiter = limiter.clone();
    let (api, openapi) = api_router(|r| {
        r.route_layer(axum::middleware::from_fn_with_state(
            limiter,
            rate_limit::limit,
        ))
    })
    .split_for_parts();
    let mut requirements =
        auth::Requirements::from_openapi(&serde_json::to_value(&openapi).unwrap_or_default())?;
    for (alias, canonical) in [
        ("/oauth2/device/start", "/login/oauth2/device/start"),
        (
            "/v1/login/oauth2/device/start",
            "/login/oauth2/device/start",
        ),
        (
            github_login::DEVICE_COMPLETE_PATHS[1],
            github_login::DEVICE_COMPLETE_PATHS[0],
        ),
        (
            github_login::DEVICE_COMPLETE_PATHS[2],
            github_login::DEVICE_COMPLETE_PATHS[0],
        ),
        (oauth::endpoints::GO_TOKEN_PATH, "/oauth/token"),
    ] {
        requirements.alias(axum::http::Method::POST, alias, canonical);
    }
    let auth = auth::AuthLayer(Arc::new(auth::AuthContext {
        auth: services.auth.clone(),
        cookie: config.cookie.clone(),
        requirements,
    }));
    let state = AppState(Arc::new(Shared {
        services,
        cookie: config.cookie,
        metrics: metrics.clone(),
        docs: docs::Docs::new(&openapi),
        proxies: config.trusted_proxies.clone(),
    }));
    let mut others = pages::routes(config.trusted_proxies, page_limiter, audit)
        .route(
            "/openapi.json",
            get(|State(s): State<AppState>| async move { s.docs.json_response() }),
        )
        .route(
            "/docs",
            get(|State(s): State<AppState>| async move { s.docs.html_response() }),
        );
    if config.metrics_route {
        others = others.route("/metrics", get(ops::metrics));
    }
    Ok(api
        .route_layer(auth)
        .merge(others.route_layer(metrics::TrackLayer))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .with_state(state))
}

/// `/metrics` alone, for `--metrics-listen ADDR`.
pub fn metrics_router(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|State(m): State<Arc<Metrics>>| async move { ops::render_metrics(&m) }),
        )
        .fallback(|| async { ApiError::NotFound("Not found") })
        .with_state(metrics)
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

/// Browsers (which ask for HTML) get a page; API clients get JSON.
fn wants_a_page(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

async fn not_found(headers: axum::http::HeaderMap) -> Response {
    match wants_a_page(&headers) {
        true => pages::error_page(axum::http::StatusCode::NOT_FOUND, "There is nothing here."),
        false => axum::response::IntoResponse::into_response(ApiError::NotFound("Not found")),
    }
}

async fn method_not_allowed(headers: axum::http::HeaderMap) -> Response {
    match wants_a_page(&headers) {
        true => pages::error_page(
            axum::http::StatusCode::METHOD_NOT_ALLOWED,
            "This page cannot be reached that way. Go back and use its links and buttons.",
        ),
        false => axum::response::IntoResponse::into_response(ApiError::MethodNotAllowed),
    }
}
