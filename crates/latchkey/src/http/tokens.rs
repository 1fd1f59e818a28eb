//! Token API (seed 002): an account's long-lived bearer tokens.

use super::error::{ApiError, ErrorBody, ErrorsBody, NoStore};
use super::extract::{Json, Path};
use super::{ApiResult, AppState, Empty};
use crate::domain::{AccountId, ScopeSet, Timestamp, Token, TokenId, UnsafeToken};
use crate::service::{Caller, NewToken};
use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(get_token, delete_token))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateTokenDto {
    pub expires_at: Timestamp,
    /// Latchkey's extra: what the token is for (1 to 100 characters).
    #[schema(min_length = 1, max_length = 100)]
    #[serde(default)]
    pub name: Option<String>,
    /// Latchkey's extra: narrow the token to these scopes. Without it the
    /// token may do everything its account may (within the creating token's
    /// own scopes, if those are narrowed).
    #[serde(default)]
    pub scopes: Option<ScopeSet>,
}

/// Gets all created tokens of an account.
#[utoipa::path(get, path = "/v1/accounts/{accountId}/tokens", tag = "Token",
    params(("accountId" = Uuid, Path, description = "Account id")),
    security(("Token" = []), ("Cookie" = []), ("OAuth2" = ["tokens:read"])),
    responses(
        (status = 200, body = [Token]),
        (status = 400, body = ErrorsBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
    Path(account): Path<AccountId>,
) -> ApiResult<Vec<Token>> {
    Ok(Json(state.services.tokens.list(&caller, account).await?))
}

/// Gets information about a token given by its identifier.
#[utoipa::path(get, path = "/v1/accounts/{accountId}/tokens/{tokenId}", tag = "Token",
    params(("accountId" = Uuid, Path, description = "Account id"),
           ("tokenId" = Uuid, Path, description = "Token id")),
    security(("Token" = []), ("Cookie" = []), ("OAuth2" = ["tokens:read"])),
    responses(
        (status = 200, body = Token),
        (status = 400, body = ErrorsBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
async fn get_token(
    State(state): State<AppState>,
    caller: Caller,
    Path((account, token)): Path<(AccountId, TokenId)>,
) -> ApiResult<Token> {
    Ok(Json(
        state.services.tokens.get(&caller, account, token).await?,
    ))
}

/// Creates a new token. The response is the only time its secret is returned.
#[utoipa::path(post, path = "/v1/accounts/{accountId}/tokens", tag = "Token",
    params(("accountId" = Uuid, Path, description = "Account id")),
    request_body = CreateTokenDto,
    security(("Token" = []), ("Cookie" = []), ("OAuth2" = ["tokens:write"])),
    responses(
        (status = 200, body = UnsafeToken),
        (status = 400, body = ErrorsBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(account): Path<AccountId>,
    Json(body): Json<CreateTokenDto>,
) -> Result<NoStore<Json<UnsafeToken>>, ApiError> {
    let token = state
        .services
        .tokens
        .create(
            &caller,
            account,
            NewToken {
                expires_at: body.expires_at,
                name: body.name,
                scopes: body.scopes,
            },
        )
        .await?;
    Ok(NoStore(Json(token)))
}

/// Deletes a token; it stops working at once.
#[utoipa::path(delete, path = "/v1/accounts/{accountId}/tokens/{tokenId}", tag = "Token",
    params(("accountId" = Uuid, Path, description = "Account id"),
           ("tokenId" = Uuid, Path, description = "Token id")),
    security(("Token" = []), ("Cookie" = []), ("OAuth2" = ["tokens:write"])),
    responses(
        (status = 200, body = Empty),
        (status = 400, body = ErrorsBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
async fn delete_token(
    State(state): State<AppState>,
    caller: Caller,
    Path((account, token)): Path<(AccountId, TokenId)>,
) -> ApiResult<Empty> {
    state
        .services
        .tokens
        .delete(&caller, account, token)
        .await?;
    Ok(Json(Empty {}))
}
