//! Login API (seeds 001 and 003). GitHub flows arrive with the next issue.

use super::error::ErrorBody;
use super::extract::Json;
use super::{ApiResult, AppState};
use crate::domain::Token;
use crate::service::Caller;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(current_token))
}

/// Gets information about the token selected by the `Authorization` header.
#[utoipa::path(get, path = "/v1/login/token", tag = "Login",
    security(("Token" = [])),
    responses((status = 200, body = Token), (status = 401, body = ErrorBody),
              (status = 500, body = ErrorBody)))]
async fn current_token(caller: Caller) -> ApiResult<Token> {
    Ok(Json(caller.token))
}
