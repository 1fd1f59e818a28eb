//! The console's Tokens page: the signed-in account's API tokens, a form
//! to create one (its secret shown once), and deleting one after a
//! confirmation step. Works without JavaScript; the copy button is extra.

use super::form::PageForm;
use super::templates::{TokenCreatedPage, TokenDeletePage, TokenRow, TokensPage};
use super::{path_id, render, shown, PageError, Session};
use crate::domain::Timestamp;
use crate::http::AppState;
use crate::service::{NewToken, ServiceError};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::TimeDelta;

const CSRF: &str = "tokens";
/// The expiry picker's choices: (form value, label, lifetime).
const LIFETIMES: [(&str, &str, TimeDelta); 4] = [
    ("7d", "7 days", TimeDelta::days(7)),
    ("30d", "30 days", TimeDelta::days(30)),
    ("90d", "90 days", TimeDelta::days(90)),
    ("365d", "1 year", TimeDelta::days(365)),
];

pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, PageError> {
    let session = Session::require(&state, &headers, &uri).await?;
    page(&state, &session, StatusCode::OK, vec![]).await
}

async fn page(
    state: &AppState,
    session: &Session,
    status: StatusCode,
    problems: Vec<String>,
) -> Result<Response, PageError> {
    let caller = &session.caller;
    let tokens = state
        .services
        .tokens
        .list(caller, caller.account_id())
        .await?
        .into_iter()
        .map(|t| TokenRow {
            current: t.id == caller.token.id,
            id: t.id.to_string(),
            name: t.name.map_or_else(String::new, |n| n.to_string()),
            scopes: t.scopes.map_or_else(|| "all".to_owned(), |s| s.to_string()),
            created: shown(t.created_at),
            expires: shown(t.expires_at),
            last_used: t.last_used_at.map_or_else(|| "never".to_owned(), shown),
        })
        .collect();
    Ok(render(
        status,
        &TokensPage {
            nav: Some(session.nav(state)),
            csrf: session.csrf(state, CSRF),
            tokens,
            lifetimes: LIFETIMES.iter().map(|(v, l, _)| (*v, *l)).collect(),
            problems,
        },
    ))
}

/// `POST /tokens`: a new token; its secret is on the answer, and nowhere else.
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    form: PageForm,
) -> Result<Response, PageError> {
    let session = Session::require(&state, &headers, &uri).await?;
    session.check_csrf(&state, CSRF, form.get("csrf"))?;
    let Some((_, _, lifetime)) = LIFETIMES
        .iter()
        .find(|(value, _, _)| Some(*value) == form.get("expires"))
    else {
        let problem = "Choose how long the token lives.".to_owned();
        return page(&state, &session, StatusCode::BAD_REQUEST, vec![problem]).await;
    };
    let name = form.get("name").map(str::trim).filter(|n| !n.is_empty());
    let request = NewToken {
        expires_at: Timestamp::now().plus(*lifetime),
        name: name.map(str::to_owned),
        scopes: None,
    };
    let caller = &session.caller;
    match state
        .services
        .tokens
        .create(caller, caller.account_id(), request)
        .await
    {
        Ok(created) => Ok(render(
            StatusCode::OK,
            &TokenCreatedPage {
                nav: Some(session.nav(&state)),
                name: created
                    .data
                    .name
                    .map_or_else(String::new, |n| n.to_string()),
                expires: shown(created.data.expires_at),
                secret: created.secret.expose(),
            },
        )),
        Err(ServiceError::Invalid(problems)) => {
            page(&state, &session, StatusCode::BAD_REQUEST, problems).await
        }
        Err(err) => Err(err.into()),
    }
}

pub async fn confirm_delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let session = Session::require(&state, &headers, &uri).await?;
    let caller = &session.caller;
    let token = state
        .services
        .tokens
        .get(caller, caller.account_id(), path_id(&id)?)
        .await?;
    Ok(render(
        StatusCode::OK,
        &TokenDeletePage {
            nav: Some(session.nav(&state)),
            csrf: session.csrf(&state, CSRF),
            id: token.id.to_string(),
            name: token.name.map_or_else(String::new, |n| n.to_string()),
            current: token.id == caller.token.id,
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
    let session = Session::require(&state, &headers, &uri).await?;
    session.check_csrf(&state, CSRF, form.get("csrf"))?;
    let caller = &session.caller;
    state
        .services
        .tokens
        .delete(caller, caller.account_id(), path_id(&id)?)
        .await?;
    Ok(Redirect::to("/tokens").into_response())
}
