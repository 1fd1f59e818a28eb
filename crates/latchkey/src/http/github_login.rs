//! Login API (seeds 001 and 003): GitHub access-token exchange, device flow
//! and web flow. Every route here is rate-limited per client IP.

use super::error::{ApiError, ErrorBody, ErrorsBody, NoStore};
use super::extract::{Json, Query};
use super::rate_limit;
use super::{ApiResult, AppState, Empty};
use crate::domain::{SignInOrigin, Timestamp, UnsafeToken};
use crate::service::{CallbackOutcome, WebPoll};
use axum::extract::{ConnectInfo, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::HeaderMap;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(exchange_access_token))
        .routes(routes!(device_start))
        .routes(routes!(device_complete))
        .routes(routes!(web_authorize))
        .routes(routes!(web_callback))
        .routes(routes!(web_poll))
        // Older paths of the same operations (seed 001 and the v1 prefix).
        .route("/oauth2/device/start", post(device_start))
        .route("/v1/login/oauth2/device/start", post(device_start))
        .route(DEVICE_COMPLETE_PATHS[1], post(device_complete))
        .route(DEVICE_COMPLETE_PATHS[2], post(device_complete))
}

/// Every path of the device completion, which waits for a person and so has
/// its own bound instead of the request timeout.
pub const DEVICE_COMPLETE_PATHS: [&str; 3] = [
    "/login/oauth2/device/complete",
    "/oauth2/device/complete",
    "/v1/login/oauth2/device/complete",
];

const GITHUB: &str = "github";

/// The external login providers: only GitHub.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // documents the parameter; handlers read it as text to list every problem
pub enum Provider {
    Github,
}

fn check_provider(provider: Option<&str>, problems: &mut Vec<String>) {
    match provider {
        None => problems.push("provider is required".to_owned()),
        Some(GITHUB) => {}
        Some(other) => problems.push(format!("provider {other:?} is not supported; use github")),
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExchangeQuery {
    /// Currently only `github`.
    #[param(value_type = Provider, required = true)]
    provider: Option<String>,
    /// The GitHub OAuth access token (`access_token` is accepted too).
    #[serde(rename = "access-token", alias = "access_token")]
    #[param(rename = "access-token", value_type = String, required = true, min_length = 1, pattern = r"\S")]
    access_token: Option<String>,
}

/// Gets a token by authorizing with an external OAuth2 provider.
/// Answers 501 when the server has no GitHub client secret to check that the
/// token was issued to its OAuth app.
#[utoipa::path(post, security(()), path = "/v1/oauth2", tag = "Login", params(ExchangeQuery),
    responses((status = 200, body = UnsafeToken),
        (status = 400, body = ErrorsBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 500, body = ErrorBody),
        (status = 501, body = ErrorBody)))]
async fn exchange_access_token(
    State(state): State<AppState>,
    Query(query): Query<ExchangeQuery>,
) -> Result<NoStore<Json<UnsafeToken>>, ApiError> {
    let mut problems = Vec::new();
    check_provider(query.provider.as_deref(), &mut problems);
    let token = query.access_token.unwrap_or_default();
    if token.trim().is_empty() {
        problems.push("access-token is required".to_owned());
    }
    if !problems.is_empty() {
        return Err(ApiError::Invalid(problems));
    }
    Ok(NoStore(Json(
        state
            .services
            .github_login
            .with_access_token(&token)
            .await?,
    )))
}

/// The `encodedSession` of `OAuth2Data`, sent back as a JSON string.
pub struct EncodedSession;

impl utoipa::PartialSchema for EncodedSession {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .min_length(Some(1))
            .into()
    }
}

impl ToSchema for EncodedSession {}

/// `OAuth2Data`: what the user needs to authorize a device.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OAuth2Data {
    url: String,
    user_code: String,
    expires: Timestamp,
    encoded_session: String,
}

/// Starts GitHub's device flow: show `url` and `userCode` to the user.
#[utoipa::path(post, security(()), path = "/login/oauth2/device/start", tag = "Login",
    responses((status = 200, body = OAuth2Data),
        (status = 429, body = ErrorBody), (status = 500, body = ErrorBody),
        (status = 501, body = ErrorBody)))]
async fn device_start(State(state): State<AppState>) -> ApiResult<OAuth2Data> {
    let start = state.services.device_flow.start().await?;
    Ok(Json(OAuth2Data {
        url: start.url,
        user_code: start.user_code,
        expires: start.expires,
        encoded_session: start.encoded_session,
    }))
}

/// Finishes the device flow; the body is the `encodedSession` as a JSON string.
/// Waits while GitHub says the user has not finished, up to a limit (then 408).
#[utoipa::path(post, security(()), path = "/login/oauth2/device/complete", tag = "Login",
    request_body(content = EncodedSession, description = "encodedSession from start, as a JSON string"),
    responses((status = 200, body = UnsafeToken),
        (status = 400, body = ErrorsBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 408, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 429, body = ErrorBody),
        (status = 500, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn device_complete(
    State(state): State<AppState>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(encoded_session): Json<String>,
) -> Result<NoStore<Json<UnsafeToken>>, ApiError> {
    let client = rate_limit::client_of(Some(&peer), &headers, &state.proxies);
    Ok(NoStore(Json(
        state
            .services
            .device_flow
            .complete(&encoded_session, client)
            .await?,
    )))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuthorizeQuery {
    /// Currently only `github`.
    #[param(value_type = Provider, required = true)]
    provider: Option<String>,
    /// Where to send the browser afterwards; must match an allowed prefix.
    #[param(value_type = Option<String>, max_length = 2048, pattern = r"^https?://[!-~]+$")]
    redirect: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct WebAuthorizeData {
    /// GitHub's authorize URL, for the browser.
    url: String,
    /// The handle to poll with; not the state inside `url`.
    state: String,
}

/// Starts the web flow: returns GitHub's authorization URL and a poll state.
#[utoipa::path(get, security(()), path = "/v1/login/oauth2/web/authorize", tag = "Login", params(AuthorizeQuery),
    responses((status = 200, body = WebAuthorizeData),
        (status = 400, body = ErrorsBody), (status = 429, body = ErrorBody),
        (status = 500, body = ErrorBody), (status = 501, body = ErrorBody)))]
async fn web_authorize(
    State(state): State<AppState>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(query): Query<AuthorizeQuery>,
) -> ApiResult<WebAuthorizeData> {
    let mut problems = Vec::new();
    check_provider(query.provider.as_deref(), &mut problems);
    if !problems.is_empty() {
        return Err(ApiError::Invalid(problems));
    }
    let started = state
        .services
        .web_flow
        .authorize(query.redirect.as_deref(), &origin(&state, &peer, &headers))
        .await?;
    Ok(Json(WebAuthorizeData {
        url: started.url,
        state: started.poll_state,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    /// The authorization code from GitHub.
    code: Option<String>,
    /// The state Latchkey put in GitHub's URL.
    #[param(value_type = String, required = true, min_length = 1)]
    state: Option<String>,
    /// Set by GitHub when authorization failed.
    error: Option<String>,
}

/// GitHub sends the browser here. Logs in, sets the session cookie, then
/// redirects (no secret in the URL) or answers `{}`.
#[utoipa::path(get, security(()), path = "/v1/login/oauth2/web/callback/github", tag = "Login", params(CallbackQuery),
    responses((status = 200, body = Empty), (status = 302, description = "to the redirect"),
        (status = 303, description = "to the confirmation page (--web-flow-confirm)"),
        (status = 400, body = ErrorsBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 429, body = ErrorBody),
        (status = 500, body = ErrorBody)))]
async fn web_callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Result<Response, ApiError> {
    let Some(github_state) = query.state.as_deref().filter(|s| !s.is_empty()) else {
        return Err(ApiError::invalid("state is required"));
    };
    let outcome = state
        .services
        .web_flow
        .callback(
            query.code.as_deref(),
            github_state,
            query.error.as_deref(),
            state.cookie.read_prelogin(&headers),
        )
        .await?;
    let done = match outcome {
        CallbackOutcome::Done(done) => done,
        // --web-flow-confirm: the person sees who started this sign-in and
        // answers on a page of its own, from this browser only.
        CallbackOutcome::Confirm { nonce } => {
            let to = format!("/login/confirm?state={}", urlencode(github_state));
            let location = HeaderValue::from_str(&to)
                .map_err(|_| ApiError::invalid("state is not a valid header value"))?;
            return Ok((
                StatusCode::SEE_OTHER,
                [
                    (LOCATION, location),
                    (SET_COOKIE, state.cookie.set_confirm(&nonce)),
                ],
            )
                .into_response());
        }
    };
    let secret = done.session.secret.expose();
    Ok(match done.redirect {
        // A browser sign-in: back to the page that asked, a path here, with
        // the pages' cookie (the Golem cookie never signs in to the pages).
        Some(next) if done.browser => {
            let cookie = state.cookie.set_pages(&secret);
            let location = HeaderValue::from_str(&next)
                .map_err(|_| ApiError::invalid("next is not a valid header value"))?;
            let mut response = (
                StatusCode::SEE_OTHER,
                [(LOCATION, location), (SET_COOKIE, cookie)],
            )
                .into_response();
            response
                .headers_mut()
                .append(SET_COOKIE, state.cookie.clear_prelogin());
            response
        }
        Some(redirect) => {
            let cookie = state.cookie.set(&secret);
            let location = HeaderValue::from_str(&redirect)
                .map_err(|_| ApiError::invalid("redirect is not a valid header value"))?;
            (
                StatusCode::FOUND,
                [(LOCATION, location), (SET_COOKIE, cookie)],
            )
                .into_response()
        }
        None => ([(SET_COOKIE, state.cookie.set(&secret))], Json(Empty {})).into_response(),
    })
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PollQuery {
    /// The `state` returned by authorize.
    #[param(value_type = String, required = true, min_length = 1)]
    state: Option<String>,
}

/// 202 `{}` while the user is still at GitHub; then the token, exactly once.
#[utoipa::path(get, security(()), path = "/v1/login/oauth2/web/poll", tag = "Login", params(PollQuery),
    responses((status = 200, body = UnsafeToken), (status = 202, body = Empty),
        (status = 400, body = ErrorsBody), (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 500, body = ErrorBody)))]
async fn web_poll(
    State(state): State<AppState>,
    Query(query): Query<PollQuery>,
) -> Result<Response, ApiError> {
    let Some(poll_state) = query.state.as_deref().filter(|s| !s.is_empty()) else {
        return Err(ApiError::invalid("state is required"));
    };
    Ok(match state.services.web_flow.poll(poll_state).await? {
        WebPoll::Pending => (StatusCode::ACCEPTED, Json(Empty {})).into_response(),
        WebPoll::Ready(token) => NoStore(Json(token)).into_response(),
    })
}

/// Who asked for a sign-in: the client's address and user agent.
fn origin(state: &AppState, peer: &ConnectInfo<SocketAddr>, headers: &HeaderMap) -> SignInOrigin {
    let address = state.proxies.client(peer.0.ip(), headers);
    let agent = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    SignInOrigin::new(Some(address.to_string()), agent)
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
