//! The applications a user authorized (OAuth consents), and revoking one.

use super::error::{ErrorBody, ErrorsBody};
use super::extract::{Json, Path};
use super::{ApiResult, AppState, Empty};
use crate::domain::{AccountId, ClientId, ScopeSet, Timestamp};
use crate::service::Caller;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_authorizations))
        .routes(routes!(revoke_authorization))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationData {
    client_id: ClientId,
    client_name: String,
    scopes: ScopeSet,
    granted_at: Timestamp,
    /// When the application last got tokens with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    last_used_at: Option<Timestamp>,
}

#[derive(Serialize, ToSchema)]
pub struct AuthorizationList {
    values: Vec<AuthorizationData>,
}

/// The applications the account authorized.
#[utoipa::path(get, path = "/v1/accounts/{accountId}/authorizations", tag = "Account",
    params(("accountId" = Uuid, Path, description = "Account id")),
    security(("Token" = []), ("Cookie" = []), ("OAuth2" = ["account:read"])),
    responses((status = 200, body = AuthorizationList),
        (status = 400, body = ErrorsBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 500, body = ErrorBody)))]
async fn list_authorizations(
    State(state): State<AppState>,
    caller: Caller,
    Path(account): Path<AccountId>,
) -> ApiResult<AuthorizationList> {
    let values = state
        .services
        .oauth
        .authorizations(&caller, account)
        .await?
        .into_iter()
        .map(|a| AuthorizationData {
            client_id: a.client_id,
            client_name: a.client_name,
            scopes: a.scopes,
            granted_at: a.granted_at,
            last_used_at: a.last_used_at,
        })
        .collect();
    Ok(Json(AuthorizationList { values }))
}

/// Revokes the consent and every token the application got with it, at once.
#[utoipa::path(delete, path = "/v1/accounts/{accountId}/authorizations/{clientId}", tag = "Account",
    params(("accountId" = Uuid, Path, description = "Account id"),
        ("clientId" = Uuid, Path, description = "Client id")),
    security(("Token" = []), ("Cookie" = []), ("OAuth2" = ["account:write"])),
    responses((status = 200, body = Empty),
        (status = 400, body = ErrorsBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 500, body = ErrorBody)))]
async fn revoke_authorization(
    State(state): State<AppState>,
    caller: Caller,
    Path((account, client)): Path<(AccountId, ClientId)>,
) -> ApiResult<Empty> {
    state
        .services
        .oauth
        .revoke_authorization(&caller, account, client)
        .await?;
    Ok(Json(Empty {}))
}
