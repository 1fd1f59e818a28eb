//! The console's Accounts tab for admins: every account (or one, found by
//! email), making an admin or taking the role away, and deleting an account
//! after a confirmation step. Anyone else finds nothing here.

use super::form::{query_param, PageForm};
use super::templates::{AccountDeletePage, AccountRow, AccountsPage};
use super::{path_id, render, PageError, Session};
use crate::domain::{Email, Role};
use crate::http::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};

const CSRF: &str = "admin-accounts";

/// `GET /admin/accounts?email=…`
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let session = Session::require_admin(&state, &headers, &uri).await?;
    let search = query_param(query.as_deref(), "email")
        .map(|e| e.trim().to_owned())
        .filter(|e| !e.is_empty());
    let (email, problem) = match search.as_deref().map(Email::parse) {
        None => (None, None),
        Some(Ok(email)) => (Some(email), None),
        Some(Err(why)) => (None, Some(why.to_string())),
    };
    let accounts = match &problem {
        Some(_) => Vec::new(),
        None => state
            .services
            .accounts
            .find_with_roles(&session.caller, email.as_ref())
            .await?
            .into_iter()
            .map(|(account, role)| AccountRow {
                you: account.id == session.caller.account_id(),
                id: account.id.to_string(),
                name: account.name,
                email: account.email.to_string(),
                admin: role == Role::Admin,
            })
            .collect(),
    };
    Ok(render(
        if problem.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        },
        &AccountsPage {
            nav: Some(session.nav(&state)),
            csrf: session.csrf(&state, CSRF),
            search: search.unwrap_or_default(),
            problem,
            accounts,
        },
    ))
}

/// `POST /admin/accounts/{id}/role` with `role=admin|user`.
pub async fn set_role(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    form: PageForm,
) -> Result<Response, PageError> {
    let session = Session::require_admin(&state, &headers, &uri).await?;
    session.check_csrf(&state, CSRF, form.get("csrf"))?;
    let role = form
        .get("role")
        .and_then(Role::parse)
        .ok_or_else(|| PageError::bad_request("Choose admin or user."))?;
    state
        .services
        .accounts
        .set_role(&session.caller, path_id(&id)?, role)
        .await?;
    Ok(Redirect::to("/admin/accounts").into_response())
}

pub async fn confirm_delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let session = Session::require_admin(&state, &headers, &uri).await?;
    let account = state
        .services
        .accounts
        .get(&session.caller, path_id(&id)?)
        .await?;
    Ok(render(
        StatusCode::OK,
        &AccountDeletePage {
            nav: Some(session.nav(&state)),
            csrf: session.csrf(&state, CSRF),
            id: account.id.to_string(),
            name: account.name,
            email: account.email.to_string(),
        },
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    form: PageForm,
) -> Result<Response, PageError> {
    let session = Session::require_admin(&state, &headers, &uri).await?;
    session.check_csrf(&state, CSRF, form.get("csrf"))?;
    state
        .services
        .accounts
        .delete(&session.caller, path_id(&id)?)
        .await?;
    Ok(Redirect::to("/admin/accounts").into_response())
}
