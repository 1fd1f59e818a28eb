//! Signing in to Latchkey's pages with GitHub, and out again.

use super::form::{query_param, PageForm};
use super::templates::{HomePage, SignedOutPage};
use super::{render, PageError, Session};
use crate::http::AppState;
use crate::service::is_local_path;
use axum::extract::{RawQuery, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

/// `GET /login?next=/path`: an existing session goes straight to `next`;
/// otherwise GitHub's web flow, bound to this browser by a pre-login cookie,
/// comes back to `next`.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let next = query_param(query.as_deref(), "next").unwrap_or_else(|| "/".to_owned());
    if !is_local_path(&next) {
        return Err(PageError::bad_request(
            "After signing in you can only be sent to a page of this server.",
        ));
    }
    if Session::find(&state, &headers).await?.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    let started = state.services.web_flow.begin_browser_sign_in(&next).await?;
    let location = HeaderValue::from_str(&started.url)
        .map_err(|_| PageError::Internal("GitHub's URL is not a header value".into()))?;
    Ok((
        StatusCode::SEE_OTHER,
        [
            (LOCATION, location),
            (SET_COOKIE, state.cookie.set_prelogin(&started.nonce)),
        ],
    )
        .into_response())
}

/// `POST /logout`: ends the session (its token is deleted) and clears the cookie.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: PageForm,
) -> Result<Response, PageError> {
    // Without a session there is nothing to end, and no cookie is touched:
    // a cross-site form cannot strip a browser of a cookie it did not check.
    let Some(session) = Session::find(&state, &headers).await? else {
        return Ok(Redirect::to("/").into_response());
    };
    session.check_csrf(&state, "logout", form.get("csrf"))?;
    state.services.tokens.revoke_own(&session.caller).await?;
    Ok((
        StatusCode::SEE_OTHER,
        [
            (LOCATION, HeaderValue::from_static("/")),
            (SET_COOKIE, state.cookie.clear_pages()),
        ],
    )
        .into_response())
}

/// `GET /`: who is signed in, or how to sign in.
pub async fn home(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    Ok(match Session::find(&state, &headers).await? {
        Some(session) => render(
            StatusCode::OK,
            &HomePage {
                nav: Some(session.nav(&state)),
                email: session.caller.email.to_string(),
                admin: session.caller.is_admin(),
            },
        ),
        None => render(StatusCode::OK, &SignedOutPage { nav: None }),
    })
}
