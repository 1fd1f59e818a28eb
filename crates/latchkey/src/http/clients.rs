//! The Client API: admins register and manage OAuth clients. Anyone else
//! gets 404, as for accounts they may not see.

use super::error::{ApiError, ErrorBody, ErrorsBody, NoStore};
use super::extract::{Json, Path};
use super::{ApiResult, AppState, Empty};
use crate::domain::{ClientId, GrantTypes, OAuthClient, RedirectUri, ScopeSet};
use crate::service::oauth::{ClientInput, RegisteredClient};
use crate::service::Caller;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_clients, create_client))
        .routes(routes!(get_client, update_client, delete_client))
        .routes(routes!(rotate_secret))
}

/// A client to register, or its new settings.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientData {
    /// 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    /// Where users are sent back; matched as exact strings.
    #[schema(max_items = 20)]
    redirect_uris: Vec<RedirectUri>,
    /// A browser or native app that cannot keep a secret. Default false;
    /// cannot change after registration.
    #[serde(default)]
    public: bool,
    /// Default: every scope.
    #[serde(default)]
    scopes: Option<ScopeSet>,
    /// Default: authorization_code and refresh_token, plus
    /// client_credentials for confidential clients or the device grant
    /// for public ones.
    #[serde(default)]
    grant_types: Option<GrantTypes>,
    /// One of the platform's own services, which may introspect any
    /// Latchkey token (API tokens and every client's). Default false: a
    /// client introspects only the tokens issued to it.
    #[serde(default)]
    resource_server: bool,
}

impl From<ClientData> for ClientInput {
    fn from(d: ClientData) -> Self {
        Self {
            name: d.name,
            redirect_uris: d.redirect_uris,
            public: d.public,
            scopes: d.scopes,
            grant_types: d.grant_types,
            resource_server: d.resource_server,
        }
    }
}

/// A client with its secret, shown this once.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientWithSecret {
    #[serde(flatten)]
    client: OAuthClient,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
}

impl From<RegisteredClient> for ClientWithSecret {
    fn from(r: RegisteredClient) -> Self {
        Self {
            client: r.client,
            client_secret: r.secret.map(|s| s.expose().to_owned()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ClientList {
    values: Vec<OAuthClient>,
}

/// Lists the registered clients. Admins only.
#[utoipa::path(get, path = "/v1/oauth/clients", tag = "Clients",
    security(("Token" = []), ("Cookie" = [])),
    responses((status = 200, body = ClientList),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 500, body = ErrorBody)))]
async fn list_clients(State(state): State<AppState>, caller: Caller) -> ApiResult<ClientList> {
    let values = state.services.oauth.clients.list(&caller).await?;
    Ok(Json(ClientList { values }))
}

/// Registers a client; a confidential one's `clientSecret` is shown this once.
#[utoipa::path(post, path = "/v1/oauth/clients", tag = "Clients", request_body = ClientData,
    security(("Token" = []), ("Cookie" = [])),
    responses((status = 200, body = ClientWithSecret),
        (status = 400, body = ErrorsBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
async fn create_client(
    State(state): State<AppState>,
    caller: Caller,
    Json(data): Json<ClientData>,
) -> Result<NoStore<Json<ClientWithSecret>>, ApiError> {
    let created = state
        .services
        .oauth
        .clients
        .create(&caller, data.into())
        .await?;
    Ok(NoStore(Json(created.into())))
}

/// Gets a client. Admins only.
#[utoipa::path(get, path = "/v1/oauth/clients/{clientId}", tag = "Clients",
    params(("clientId" = Uuid, Path, description = "Client id")),
    security(("Token" = []), ("Cookie" = [])),
    responses((status = 200, body = OAuthClient),
        (status = 400, body = ErrorsBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
async fn get_client(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ClientId>,
) -> ApiResult<OAuthClient> {
    Ok(Json(state.services.oauth.clients.get(&caller, id).await?))
}

/// Changes a client's name, redirect URIs, scopes or grant types.
#[utoipa::path(put, path = "/v1/oauth/clients/{clientId}", tag = "Clients",
    params(("clientId" = Uuid, Path, description = "Client id")),
    request_body = ClientData,
    security(("Token" = []), ("Cookie" = [])),
    responses((status = 200, body = OAuthClient),
        (status = 400, body = ErrorsBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
async fn update_client(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ClientId>,
    Json(data): Json<ClientData>,
) -> ApiResult<OAuthClient> {
    Ok(Json(
        state
            .services
            .oauth
            .clients
            .update(&caller, id, data.into())
            .await?,
    ))
}

/// Deletes a client and revokes every grant and token issued to it, at once.
#[utoipa::path(delete, path = "/v1/oauth/clients/{clientId}", tag = "Clients",
    params(("clientId" = Uuid, Path, description = "Client id")),
    security(("Token" = []), ("Cookie" = [])),
    responses((status = 200, body = Empty),
        (status = 400, body = ErrorsBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
async fn delete_client(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ClientId>,
) -> ApiResult<Empty> {
    state.services.oauth.clients.delete(&caller, id).await?;
    Ok(Json(Empty {}))
}

/// Gives a confidential client a new secret; the old one stops working.
#[utoipa::path(post, path = "/v1/oauth/clients/{clientId}/secret", tag = "Clients",
    params(("clientId" = Uuid, Path, description = "Client id")),
    security(("Token" = []), ("Cookie" = [])),
    responses((status = 200, body = ClientWithSecret),
        (status = 400, body = ErrorsBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
async fn rotate_secret(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ClientId>,
) -> Result<NoStore<Json<ClientWithSecret>>, ApiError> {
    let rotated = state
        .services
        .oauth
        .clients
        .rotate_secret(&caller, id)
        .await?;
    Ok(NoStore(Json(rotated.into())))
}
