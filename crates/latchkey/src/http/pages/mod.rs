//! Latchkey's own browser pages: sign-in, the OAuth consent and device
//! pages, and the admins' OAuth Clients tab. Server-rendered (askama), no
//! script needed, every form with a CSRF token, and every answer with the
//! headers that keep it out of frames and its URLs out of Referer headers.

mod admin_accounts;
mod admin_clients;
mod apps;
mod authorize;
mod device;
mod form;
mod session;
mod sign_in;
mod templates;
mod tokens;
mod web_confirm;

pub use session::Session;

use super::rate_limit::LoginLimiter;
use super::AppState;
use askama::Template;
use axum::extract::Request;
use axum::handler::Handler;
use axum::http::header::{self, HeaderValue};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;
use templates::ErrorPage;

/// Attempts at a user code per client and minute.
const USER_CODE_ATTEMPTS_PER_MINUTE: u32 = 10;

/// `login` is the Login API's limiter: starting a browser sign-in writes a
/// row, as the API's web flow does, and shares its budget.
pub fn routes(
    limits: crate::http::TrustedProxies,
    login: Arc<LoginLimiter>,
    audit: crate::service::Audit,
) -> Router<AppState> {
    let code_attempts =
        Arc::new(LoginLimiter::per_minute(USER_CODE_ATTEMPTS_PER_MINUTE, limits).audited(audit));
    super::spawn_limiter_cleanup(&code_attempts);
    // Only typed codes count as attempts, not visits to the form.
    let attempts = axum::middleware::from_fn_with_state(code_attempts, limit_page);
    let sign_ins = axum::middleware::from_fn_with_state(login, limit_page);
    let device = Router::new()
        .route(
            "/oauth/device",
            get(device::entry).post(device::submit.layer(attempts.clone())),
        )
        .route(
            "/oauth/device/decision",
            post(device::decide.layer(attempts)),
        );
    Router::new()
        .route("/", get(sign_in::home))
        .route("/login", get(sign_in::login.layer(sign_ins)))
        .route("/logout", post(sign_in::logout))
        .route(
            "/login/confirm",
            get(web_confirm::show).post(web_confirm::decide),
        )
        .route(
            "/oauth/authorize",
            get(authorize::show).post(authorize::decide),
        )
        .route(
            "/admin/oauth/clients",
            get(admin_clients::list).post(admin_clients::create),
        )
        .route("/admin/oauth/clients/new", get(admin_clients::new_form))
        .route(
            "/admin/oauth/clients/{client_id}",
            post(admin_clients::update),
        )
        .route(
            "/admin/oauth/clients/{client_id}/edit",
            get(admin_clients::edit_form),
        )
        .route(
            "/admin/oauth/clients/{client_id}/delete",
            get(admin_clients::confirm_delete).post(admin_clients::delete),
        )
        .merge(device)
        .route("/assets/latchkey.css", get(stylesheet))
        .route("/assets/copy.js", get(copy_script))
        .route("/tokens", get(tokens::list).post(tokens::create))
        .route(
            "/tokens/{token_id}/delete",
            get(tokens::confirm_delete).post(tokens::delete),
        )
        .route("/apps", get(apps::list))
        .route("/admin/accounts", get(admin_accounts::list))
        .route(
            "/admin/accounts/{account_id}/role",
            post(admin_accounts::set_role),
        )
        .route(
            "/admin/accounts/{account_id}/delete",
            get(admin_accounts::confirm_delete).post(admin_accounts::delete),
        )
        .route("/apps/{client_id}/revoke", post(apps::revoke))
        .route_layer(axum::middleware::from_fn(protect))
}

/// Why a page cannot be shown.
#[derive(Debug)]
pub enum PageError {
    /// Not signed in: off to sign-in, then back to `next`.
    SignIn {
        next: String,
    },
    Status(StatusCode, String),
    Internal(String),
}

impl PageError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        PageError::Status(StatusCode::BAD_REQUEST, message.into())
    }

    /// A database that cannot be reached is 503, anything else 500.
    pub fn store(err: crate::store::StoreError) -> Self {
        match err.is_unavailable() {
            true => PageError::Status(
                StatusCode::SERVICE_UNAVAILABLE,
                "The database is unreachable; try again shortly.".into(),
            ),
            false => PageError::Internal(err.to_string()),
        }
    }

    pub fn not_found() -> Self {
        PageError::Status(StatusCode::NOT_FOUND, "There is nothing here.".into())
    }
}

impl From<crate::service::ServiceError> for PageError {
    fn from(err: crate::service::ServiceError) -> Self {
        use crate::service::ServiceError;
        match err {
            ServiceError::Internal(err) => PageError::Internal(err.to_string()),
            err @ ServiceError::Unavailable => {
                PageError::Status(StatusCode::SERVICE_UNAVAILABLE, err.to_string())
            }
            ServiceError::NotFound(_) => PageError::not_found(),
            ServiceError::Invalid(problems) => PageError::bad_request(problems.join("; ")),
            ServiceError::Forbidden(why) => {
                PageError::Status(StatusCode::FORBIDDEN, why.to_owned())
            }
            ServiceError::Conflict(why) => PageError::Status(StatusCode::CONFLICT, why.to_owned()),
            ServiceError::External(msg) | ServiceError::Disabled(msg) => {
                PageError::Status(StatusCode::SERVICE_UNAVAILABLE, msg)
            }
            other => PageError::Status(StatusCode::BAD_REQUEST, other.to_string()),
        }
    }
}

impl From<crate::service::oauth::OAuthError> for PageError {
    fn from(err: crate::service::oauth::OAuthError) -> Self {
        use crate::service::oauth::OAuthError;
        match err {
            OAuthError::Internal(err) => PageError::store(err),
            other => PageError::bad_request(other.to_string()),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, message, note) = match self {
            PageError::SignIn { next } => {
                let target = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("next", &next)
                    .finish();
                return Redirect::to(&format!("/login?{target}")).into_response();
            }
            PageError::Status(status, message) => (status, message, None),
            PageError::Internal(detail) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side. Please try again.".to_owned(),
                Some(crate::http::error::ErrorNote::Internal(detail)),
            ),
        };
        let title = status.canonical_reason().unwrap_or("Error").to_owned();
        let mut response = render(status, &ErrorPage::new(title, message));
        if let Some(note) = note {
            response.extensions_mut().insert(note);
        }
        response
    }
}

/// A rate limit for browsers: the answer is a page.
async fn limit_page(
    axum::extract::State(limiter): axum::extract::State<Arc<LoginLimiter>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match limiter
        .admit(req.extensions().get(), req.headers(), req.uri().path())
        .await
    {
        Ok(()) => next.run(req).await,
        Err(retry_after) => {
            let mut response = PageError::Status(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts from your address. Wait a minute and try again.".into(),
            )
            .into_response();
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, retry_after.into());
            response
        }
    }
}

/// An id from a page's path; one that does not parse names nothing there.
pub fn path_id<T: std::str::FromStr>(raw: &str) -> Result<T, PageError> {
    raw.parse().map_err(|_| PageError::not_found())
}

/// An instant as people read it on a page: to the minute, in UTC.
pub fn shown(at: crate::domain::Timestamp) -> String {
    at.to_datetime().format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A template as an HTML answer.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(err) => {
            let mut response = (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<p>Page failed.</p>"),
            )
                .into_response();
            response
                .extensions_mut()
                .insert(crate::http::error::ErrorNote::Internal(err.to_string()));
            response
        }
    }
}

/// Every page: no framing (clickjacking), no Referer (codes in URLs), no
/// sniffing, no caching, and nothing loaded from anywhere else. A plain-text
/// rejection of the framework's (a malformed id in the path) becomes a page.
async fn protect(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"text/plain"));
    let mut response = match plain && response.status().is_client_error() {
        true => PageError::Status(
            response.status(),
            "This address is not one of Latchkey's pages.".into(),
        )
        .into_response(),
        false => response,
    };
    secure(response.headers_mut());
    response
}

/// An error as a page, for a browser that reached no page (an unknown
/// address, or a method the page does not take).
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let mut response = PageError::Status(status, message.to_owned()).into_response();
    secure(response.headers_mut());
    response
}

fn secure(headers: &mut axum::http::HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
}

async fn stylesheet() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("../../../assets/latchkey.css"),
    )
}

async fn copy_script() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../../assets/copy.js"),
    )
}

/// A file compiled into the binary, cacheable: it changes only with it.
fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}
