//! The session side of the Login API: which token is this, and logout.

use super::error::{ApiError, ErrorBody};
use super::extract::Json;
use super::{ApiResult, AppState, Empty};
use crate::domain::Token;
use crate::service::Caller;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::response::IntoResponse;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(current_token))
        .routes(routes!(logout))
}

/// Gets information about the token selected by the `Authorization` header
/// (or the session cookie).
#[utoipa::path(get, path = "/v1/login/token", tag = "Login",
    security(("Token" = []), ("Cookie" = [])),
    responses((status = 200, body = Token), (status = 401, body = ErrorBody),
              (status = 500, body = ErrorBody)))]
async fn current_token(caller: Caller) -> ApiResult<Token> {
    Ok(Json(caller.token))
}

/// Deletes the token this request authenticated with and clears the cookie.
#[utoipa::path(post, path = "/v1/logout", tag = "Login",
    security(("Token" = []), ("Cookie" = [])),
    responses((status = 200, body = Empty), (status = 401, body = ErrorBody),
              (status = 500, body = ErrorBody)))]
async fn logout(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<impl IntoResponse, ApiError> {
    state.services.tokens.revoke_own(&caller).await?;
    Ok(([(SET_COOKIE, state.cookie.clear())], Json(Empty {})))
}
