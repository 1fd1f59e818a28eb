//! Account API: accounts, their plans, and search by email.

use super::error::{ApiError, ErrorBody, ErrorsBody};
use super::extract::{Json, Path, Query};
use super::{ApiResult, AppState, Empty};
use crate::domain::{Account, AccountData, AccountId, Email, Plan, Role};
use crate::service::Caller;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(find_accounts, create_account))
        .routes(routes!(get_account, update_account, delete_account))
        .routes(routes!(get_plan))
        .routes(routes!(set_role))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindQuery {
    /// Exact email to look for.
    #[param(format = "email", max_length = 254)]
    email: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AccountList {
    values: Vec<Account>,
}

/// Finds accounts, optionally by email. Non-admins only ever find their own.
#[utoipa::path(get, path = "/v1/accounts", tag = "Account", params(FindQuery),
    security(("Token" = []), ("Cookie" = []), ("OAuth2" = ["account:read"])),
    responses((status = 200, body = AccountList),
        (status = 400, body = ErrorsBody), (status = 401, body = ErrorBody),
        (status = 500, body = ErrorBody)))]
async fn find_accounts(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<FindQuery>,
) -> ApiResult<AccountList> {
    let email = query
        .email
        .as_deref()
        .map(Email::parse)
        .transpose()
        .map_err(ApiError::invalid)?;
    let values = state
        .services
        .accounts
        .find(&caller, email.as_ref())
        .await?;
    Ok(Json(AccountList { values }))
}

/// Creates an account. Admins only.
#[utoipa::path(post, path = "/v1/accounts", tag = "Account", request_body = AccountData,
    security(("Token" = []), ("Cookie" = []), ("OAuth2" = ["account:write"])),
    responses((status = 200, body = Account),
        (status = 400, body = ErrorsBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 500, body = ErrorBody)))]
async fn create_account(
    State(state): State<AppState>,
    caller: Caller,
    Json(data): Json<AccountData>,
) -> ApiResult<Account> {
    Ok(Json(state.services.accounts.create(&caller, data).await?))
}

/// Gets an account.
#[utoipa::path(get, path = "/v1/accounts/{accountId}", tag = "Account",
    params(("accountId" = Uuid, Path, description = "Account id")),
    security(("Token" = []), ("Cookie" = []), ("OAuth2" = ["account:read"])),
    responses((status = 200, body = Account),
        (status = 400, body = ErrorsBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
async fn get_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<AccountId>,
) -> ApiResult<Account> {
    Ok(Json(state.services.accounts.get(&caller, id).await?))
}

/// Changes an account's name and email.
#[utoipa::path(put, path = "/v1/accounts/{accountId}", tag = "Account",
    params(("accountId" = Uuid, Path, description = "Account id")),
    request_body = AccountData,
    security(("Token" = []), ("Cookie" = []), ("OAuth2" = ["account:write"])),
    responses((status = 200, body = Account),
        (status = 400, body = ErrorsBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 500, body = ErrorBody)))]
async fn update_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<AccountId>,
    Json(data): Json<AccountData>,
) -> ApiResult<Account> {
    Ok(Json(
        state.services.accounts.update(&caller, id, data).await?,
    ))
}

/// Deletes an account and all its tokens.
#[utoipa::path(delete, path = "/v1/accounts/{accountId}", tag = "Account",
    params(("accountId" = Uuid, Path, description = "Account id")),
    security(("Token" = []), ("Cookie" = []), ("OAuth2" = ["account:write"])),
    responses((status = 200, body = Empty),
        (status = 400, body = ErrorsBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 500, body = ErrorBody)))]
async fn delete_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<AccountId>,
) -> ApiResult<Empty> {
    state.services.accounts.delete(&caller, id).await?;
    Ok(Json(Empty {}))
}

/// What an account may do beyond itself.
#[derive(Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoleName {
    Admin,
    User,
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    role: RoleName,
}

/// Makes an account an admin or a user. Admins only; the last admin keeps
/// the role (409). Takes effect on the account's next request.
#[utoipa::path(put, path = "/v1/accounts/{accountId}/role", tag = "Account", request_body = RoleBody,
    params(("accountId" = Uuid, Path, description = "Account id")),
    security(("Token" = []), ("Cookie" = []), ("OAuth2" = ["account:write"])),
    responses((status = 200, body = RoleBody),
        (status = 400, body = ErrorsBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 500, body = ErrorBody)))]
async fn set_role(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<AccountId>,
    Json(body): Json<RoleBody>,
) -> ApiResult<RoleBody> {
    let role = match body.role {
        RoleName::Admin => Role::Admin,
        RoleName::User => Role::User,
    };
    state.services.accounts.set_role(&caller, id, role).await?;
    Ok(Json(body))
}

/// Gets the plan of an account.
#[utoipa::path(get, path = "/v1/accounts/{accountId}/plan", tag = "Account",
    params(("accountId" = Uuid, Path, description = "Account id")),
    security(("Token" = []), ("Cookie" = []), ("OAuth2" = ["account:read"])),
    responses((status = 200, body = Plan),
        (status = 400, body = ErrorsBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
async fn get_plan(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<AccountId>,
) -> ApiResult<Plan> {
    Ok(Json(state.services.accounts.plan(&caller, id).await?))
}
