//! `--web-flow-confirm`: the Login API's web flow stops at its callback and
//! shows who started the sign-in, from where and when; it completes only
//! when the person posts "yes" from this page.
//!
//! The threat: someone starts a web flow, sends its GitHub link to a person
//! who already authorized Latchkey's GitHub app, and collects that person's
//! token at the poll the moment they click. The confirmation puts a person's
//! decision between the click and the token. Its form is bound to the browser
//! that was shown the page (a short-lived cookie, and a CSRF token keyed by
//! it and by the flow's state), so another page cannot post it for them.

use super::form::{query_param, PageForm};
use super::templates::{MessagePage, WebConfirmPage};
use super::{render, PageError};
use crate::crypto;
use crate::http::AppState;
use axum::extract::{RawQuery, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// `GET /login/confirm?state=…&code=…`, where the callback sends the browser.
pub async fn show(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let github_state = query_param(query.as_deref(), "state").unwrap_or_default();
    let code = query_param(query.as_deref(), "code").unwrap_or_default();
    let pending = state
        .services
        .web_flow
        .awaiting_confirmation(&github_state)
        .await?
        .ok_or_else(|| PageError::bad_request("There is no sign-in to confirm here."))?;
    let nonce = crypto::random_token();
    let unknown = || "unknown".to_owned();
    let page = WebConfirmPage {
        nav: None,
        csrf: state.services.csrf.token(&nonce, &purpose(&github_state)),
        state: github_state,
        code,
        started_at: pending.started_at.to_string(),
        address: pending.origin.address.unwrap_or_else(unknown),
        user_agent: pending.origin.user_agent.unwrap_or_else(unknown),
        destination: pending
            .redirect
            .unwrap_or_else(|| "nowhere: the application collects the result".to_owned()),
    };
    let mut response = render(StatusCode::OK, &page);
    response
        .headers_mut()
        .append(SET_COOKIE, state.cookie.set_confirm(&nonce));
    Ok(response)
}

/// `POST /login/confirm`: "yes" completes the sign-in as the callback would
/// have; "cancel" ends it, and the poller is told so.
pub async fn decide(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: PageForm,
) -> Result<Response, PageError> {
    let github_state = form.get("state").unwrap_or_default();
    let bound = state.cookie.read_confirm(&headers).is_some_and(|nonce| {
        form.get("csrf").is_some_and(|sent| {
            state
                .services
                .csrf
                .verify(nonce, &purpose(github_state), sent)
        })
    });
    if !bound {
        return Err(PageError::Status(
            StatusCode::FORBIDDEN,
            "This confirmation did not come from the page Latchkey showed in this browser. \
             Open the sign-in link again."
                .to_owned(),
        ));
    }
    let web_flow = &state.services.web_flow;
    if form.get("decision") != Some("confirm") {
        web_flow.refuse(github_state).await?;
        let mut response = render(
            StatusCode::OK,
            &MessagePage {
                nav: None,
                title: "Sign-in cancelled".into(),
                message: "Nobody was signed in. You can close this page.".into(),
            },
        );
        response
            .headers_mut()
            .append(SET_COOKIE, state.cookie.clear_confirm());
        return Ok(response);
    }
    let done = web_flow
        .callback(form.get("code"), github_state, None, None, true)
        .await?;
    let session = state.cookie.set(&done.session.secret.expose());
    let mut response = match done.redirect {
        Some(redirect) => {
            let location = HeaderValue::from_str(&redirect)
                .map_err(|_| PageError::bad_request("The redirect is not a valid header value."))?;
            (StatusCode::SEE_OTHER, [(LOCATION, location)]).into_response()
        }
        None => render(
            StatusCode::OK,
            &MessagePage {
                nav: None,
                title: "Signed in".into(),
                message: "You can close this page and go back to the application.".into(),
            },
        ),
    };
    let headers = response.headers_mut();
    headers.append(SET_COOKIE, session);
    headers.append(SET_COOKIE, state.cookie.clear_confirm());
    Ok(response)
}

fn purpose(github_state: &str) -> String {
    format!("web-flow-confirm:{github_state}")
}
