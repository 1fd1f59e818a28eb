//! The OAuth2 server's machine endpoints: token, revocation, introspection,
//! device authorization, metadata and userinfo. Each parses, calls the
//! service and maps the answer; the rules live in `service::oauth`.

use super::error::{no_store, OAuthErrorBody, OAuthHttpError};
use super::form::OAuthForm;
use crate::domain::{GrantType, Scope, ScopeSet};
use crate::http::error::{ApiError, ErrorBody, NoStore};
use crate::http::extract::Json;
use crate::http::AppState;
use crate::service::oauth::{
    CodeExchange, ErrorCode, Introspection, OAuthError, PresentedClient, TokenResponse,
};
use crate::service::Caller;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(token))
        .routes(routes!(revoke))
        .routes(routes!(introspect))
        .routes(routes!(metadata))
        .routes(routes!(userinfo))
        // The path in GoCD's example (seed 004).
        .route(GO_TOKEN_PATH, post(token))
}

/// Device authorization, apart so the login rate limit can guard it: each
/// call stores a device code, and a public client's id, which anyone can
/// read off its app, is all it takes.
pub fn device_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(device_authorization))
}

pub const GO_TOKEN_PATH: &str = "/go/oauth/token";

/// The fields the token endpoint reads, by grant type.
#[derive(ToSchema, IntoParams)]
#[allow(dead_code)] // documents the form; the handler reads it as pairs
pub struct TokenForm {
    /// `authorization_code` (GoCD's `authorization-code` is accepted too),
    /// `refresh_token`, `client_credentials` or
    /// `urn:ietf:params:oauth:grant-type:device_code`.
    grant_type: String,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    /// Space-separated scopes: narrower than granted, for a refresh.
    scope: Option<String>,
    device_code: Option<String>,
    /// With `client_secret_post`, or alone for a public client.
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// RFC 6749 §5.1.
#[derive(Serialize, ToSchema)]
pub struct TokenBody {
    access_token: String,
    /// Always `Bearer`.
    token_type: &'static str,
    expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    /// Space-separated scopes of the access token.
    scope: String,
}

impl From<TokenResponse> for TokenBody {
    fn from(r: TokenResponse) -> Self {
        Self {
            access_token: r.access_token.expose().to_owned(),
            token_type: "Bearer",
            expires_in: r.expires_in,
            refresh_token: r.refresh_token.map(|t| t.expose().to_owned()),
            scope: r.scope.to_string(),
        }
    }
}

/// Authenticates the client of an OAuth form; failures remember whether
/// the client used Basic, for the 401's challenge.
async fn client_of(
    state: &AppState,
    form: &OAuthForm,
) -> Result<(crate::domain::OAuthClient, bool), OAuthHttpError> {
    let presented: PresentedClient = form.client()?;
    let basic = presented.basic;
    let client = state
        .services
        .oauth
        .clients
        .authenticate(&presented)
        .await
        .map_err(|error| OAuthHttpError { error, basic })?;
    Ok((client, basic))
}

/// The token endpoint (RFC 6749 §3.2): every grant. Form-encoded only;
/// clients authenticate with HTTP Basic or `client_secret_post`, never both.
#[utoipa::path(post, security(()), path = "/oauth/token", tag = "OAuth2",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = TokenBody),
        (status = 400, body = OAuthErrorBody), (status = 401, body = OAuthErrorBody),
        (status = 408, body = ErrorBody), (status = 500, body = OAuthErrorBody)))]
async fn token(State(state): State<AppState>, form: OAuthForm) -> Result<Response, OAuthHttpError> {
    let (client, basic) = client_of(&state, &form).await?;
    let oauth = &state.services.oauth;
    let grant_type = form
        .get("grant_type")
        .ok_or_else(|| OAuthHttpError::invalid_request("grant_type is required"))?;
    let issued = match GrantType::parse(grant_type) {
        Some(GrantType::AuthorizationCode) => {
            let req = CodeExchange {
                code: form.get("code").map(str::to_owned),
                redirect_uri: form.get("redirect_uri").map(str::to_owned),
                code_verifier: form.get("code_verifier").map(str::to_owned),
            };
            oauth.exchange_code(&client, req).await
        }
        Some(GrantType::RefreshToken) => {
            oauth
                .refresh(&client, form.get("refresh_token"), form.get("scope"))
                .await
        }
        Some(GrantType::ClientCredentials) => {
            oauth.client_credentials(&client, form.get("scope")).await
        }
        Some(GrantType::DeviceCode) => oauth.poll_device(&client, form.get("device_code")).await,
        None => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "unsupported grant_type",
        )),
    }
    .map_err(|error| OAuthHttpError { error, basic })?;
    Ok((no_store(), Json(TokenBody::from(issued))).into_response())
}

/// What revocation and introspection read.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TokenHintForm {
    token: String,
    /// `access_token` or `refresh_token`; only a hint.
    token_type_hint: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// Revocation (RFC 7009). An unknown token, or another client's, answers
/// 200 all the same. Revoking a refresh token ends its whole authorization.
#[utoipa::path(post, security(()), path = "/oauth/revoke", tag = "OAuth2",
    request_body(content = TokenHintForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "revoked, or nothing to revoke"),
        (status = 400, body = OAuthErrorBody), (status = 401, body = OAuthErrorBody),
        (status = 500, body = OAuthErrorBody)))]
async fn revoke(
    State(state): State<AppState>,
    form: OAuthForm,
) -> Result<Response, OAuthHttpError> {
    let (client, basic) = client_of(&state, &form).await?;
    state
        .services
        .oauth
        .revoke(&client, form.get("token"))
        .await
        .map_err(|error| OAuthHttpError { error, basic })?;
    Ok(no_store().into_response())
}

/// RFC 7662 §2.2; an inactive token is `{"active": false}` and nothing else.
#[derive(Serialize, ToSchema)]
pub struct IntrospectionBody {
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
}

impl From<Introspection> for IntrospectionBody {
    fn from(i: Introspection) -> Self {
        Self {
            active: i.active,
            scope: i.scope.map(|s| s.to_string()),
            client_id: i.client_id.map(|c| c.to_string()),
            username: i.username,
            sub: i.sub,
            exp: i.exp,
            iat: i.iat,
            token_type: i.token_type,
            iss: i.iss,
        }
    }
}

/// Introspection (RFC 7662) for confidential clients: any Latchkey token,
/// OAuth or Token API.
#[utoipa::path(post, security(()), path = "/oauth/introspect", tag = "OAuth2",
    request_body(content = TokenHintForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = IntrospectionBody),
        (status = 400, body = OAuthErrorBody), (status = 401, body = OAuthErrorBody),
        (status = 500, body = OAuthErrorBody)))]
async fn introspect(
    State(state): State<AppState>,
    form: OAuthForm,
) -> Result<Response, OAuthHttpError> {
    let (client, basic) = client_of(&state, &form).await?;
    let answer = state
        .services
        .oauth
        .introspect(&client, form.get("token"))
        .await
        .map_err(|error| OAuthHttpError { error, basic })?;
    Ok((no_store(), Json(IntrospectionBody::from(answer))).into_response())
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct DeviceAuthorizationForm {
    client_id: String,
    client_secret: Option<String>,
    /// Space-separated scopes.
    scope: Option<String>,
}

/// RFC 8628 §3.2.
#[derive(Serialize, ToSchema)]
pub struct DeviceAuthorizationBody {
    device_code: String,
    /// Eight letters shown as `XXXX-XXXX`.
    user_code: String,
    verification_uri: String,
    verification_uri_complete: String,
    expires_in: i64,
    interval: u64,
}

/// Device authorization (RFC 8628): codes for a device without a browser.
#[utoipa::path(post, security(()), path = "/oauth/device_authorization", tag = "OAuth2",
    request_body(content = DeviceAuthorizationForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = DeviceAuthorizationBody),
        (status = 400, body = OAuthErrorBody), (status = 401, body = OAuthErrorBody),
        (status = 429, body = ErrorBody), (status = 500, body = OAuthErrorBody)))]
async fn device_authorization(
    State(state): State<AppState>,
    form: OAuthForm,
) -> Result<Response, OAuthHttpError> {
    let (client, basic) = client_of(&state, &form).await?;
    let started = state
        .services
        .oauth
        .start_device(&client, form.get("scope"))
        .await
        .map_err(|error| OAuthHttpError { error, basic })?;
    let body = DeviceAuthorizationBody {
        device_code: started.device_code.expose().to_owned(),
        user_code: started.user_code.to_string(),
        verification_uri: started.verification_uri,
        verification_uri_complete: started.verification_uri_complete,
        expires_in: started.expires_in,
        interval: started.interval,
    };
    Ok((no_store(), Json(body)).into_response())
}

/// RFC 8414 §2.
#[derive(Serialize, ToSchema)]
pub struct MetadataBody {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    revocation_endpoint: String,
    introspection_endpoint: String,
    device_authorization_endpoint: String,
    userinfo_endpoint: String,
    response_types_supported: Vec<&'static str>,
    response_modes_supported: Vec<&'static str>,
    grant_types_supported: Vec<&'static str>,
    token_endpoint_auth_methods_supported: Vec<&'static str>,
    revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    code_challenge_methods_supported: Vec<&'static str>,
    scopes_supported: Vec<&'static str>,
    authorization_response_iss_parameter_supported: bool,
}

/// Authorization server metadata (RFC 8414).
#[utoipa::path(get, security(()), path = "/.well-known/oauth-authorization-server", tag = "OAuth2",
    responses((status = 200, body = MetadataBody)))]
async fn metadata(State(state): State<AppState>) -> Json<MetadataBody> {
    let config = state.services.oauth.config();
    let auth_methods = vec!["client_secret_basic", "client_secret_post", "none"];
    Json(MetadataBody {
        issuer: config.issuer.clone(),
        authorization_endpoint: config.endpoint("/oauth/authorize"),
        token_endpoint: config.endpoint("/oauth/token"),
        revocation_endpoint: config.endpoint("/oauth/revoke"),
        introspection_endpoint: config.endpoint("/oauth/introspect"),
        device_authorization_endpoint: config.endpoint("/oauth/device_authorization"),
        userinfo_endpoint: config.endpoint("/oauth/userinfo"),
        response_types_supported: vec!["code"],
        response_modes_supported: vec!["query"],
        grant_types_supported: GrantType::ALL.iter().map(|g| g.as_str()).collect(),
        token_endpoint_auth_methods_supported: auth_methods.clone(),
        revocation_endpoint_auth_methods_supported: auth_methods,
        introspection_endpoint_auth_methods_supported: vec![
            "client_secret_basic",
            "client_secret_post",
        ],
        code_challenge_methods_supported: vec!["S256"],
        scopes_supported: ScopeSet::all().iter().map(Scope::as_str).collect(),
        authorization_response_iss_parameter_supported: true,
    })
}

/// Who granted the token.
#[derive(Serialize, ToSchema)]
pub struct UserInfoBody {
    /// The account id, as `sub` in introspection.
    sub: String,
    /// With the `profile` scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    /// With the `email` scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email_verified: Option<bool>,
}

/// The account behind the token, as far as its scopes allow.
#[utoipa::path(get, path = "/oauth/userinfo", tag = "OAuth2",
    security(("Token" = []), ("Cookie" = [])),
    responses((status = 200, body = UserInfoBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 500, body = ErrorBody)))]
async fn userinfo(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<NoStore<Json<UserInfoBody>>, ApiError> {
    let info = state.services.oauth.userinfo(&caller).await?;
    Ok(NoStore(Json(UserInfoBody {
        sub: info.sub,
        name: info.name,
        email: info.email.map(|e| e.to_string()),
        email_verified: info.email_verified,
    })))
}
