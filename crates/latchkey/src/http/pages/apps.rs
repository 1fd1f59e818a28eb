//! The console's Authorized apps page: the applications the signed-in user
//! let act for them, and taking that back (with every token it issued).

use super::form::PageForm;
use super::templates::{AppRow, AppsPage};
use super::{path_id, render, shown, PageError, Session};
use crate::domain::ClientId;
use crate::http::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};

const CSRF: &str = "apps";

pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, PageError> {
    let session = Session::require(&state, &headers, &uri).await?;
    let caller = &session.caller;
    let apps = state
        .services
        .oauth
        .authorizations(caller, caller.account_id())
        .await?
        .into_iter()
        .map(|a| AppRow {
            client_id: a.client_id.to_string(),
            name: a.client_name,
            scopes: a
                .scopes
                .iter()
                .map(|s| s.description().to_owned())
                .collect(),
            granted: shown(a.granted_at),
            last_used: a.last_used_at.map_or_else(|| "never".to_owned(), shown),
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &AppsPage {
            nav: Some(session.nav(&state)),
            csrf: session.csrf(&state, CSRF),
            apps,
        },
    ))
}

/// `POST /apps/{clientId}/revoke`: the consent and every token it issued end.
pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    form: PageForm,
) -> Result<Response, PageError> {
    let session = Session::require(&state, &headers, &uri).await?;
    session.check_csrf(&state, CSRF, form.get("csrf"))?;
    let client: ClientId = path_id(&id)?;
    let caller = &session.caller;
    state
        .services
        .oauth
        .revoke_authorization(caller, caller.account_id(), client)
        .await?;
    Ok(Redirect::to("/apps").into_response())
}
