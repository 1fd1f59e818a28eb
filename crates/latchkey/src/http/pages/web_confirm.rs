//! `--web-flow-confirm`: the Login API's web flow stops at its callback and
//! shows who started the sign-in, from where and when; it completes only
//! when the person posts "yes" from this page.
//!
//! The threat: someone starts a web flow, sends its GitHub link to a person
//! who already authorized Latchkey's GitHub app, and collects that person's
//! token at the poll the moment they click. The confirmation puts a person's
//! decision between the click and the token. GitHub's code is used at the
//! callback and never leaves the server; what waits is bound to the browser
//! that came back from GitHub (a cookie whose hash the flow stores), and the
//! answer carries a CSRF token keyed by that cookie and the flow's state, so
//! neither another browser nor another site's form can give it.

use super::form::{query_param, PageForm};
use super::templates::{MessagePage, WebConfirmPage};
use super::{render, PageError};
use crate::domain::Timestamp;
use crate::http::AppState;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::header::{LOCATION, SET_COOKIE, USER_AGENT};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;

/// `GET /login/confirm?state=…`, where the callback sent the browser.
pub async fn show(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let github_state = query_param(query.as_deref(), "state").unwrap_or_default();
    let nonce = state.cookie.read_confirm(&headers);
    let pending = state
        .services
        .web_flow
        .awaiting_confirmation(&github_state, nonce)
        .await?;
    let nonce = nonce.unwrap_or_default();
    let here = state.proxies.client(peer.ip(), &headers).to_string();
    let here_agent = headers
        .get(USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let address = pending
        .origin
        .address
        .unwrap_or_else(|| "unknown".to_owned());
    let user_agent = pending
        .origin
        .user_agent
        .unwrap_or_else(|| "unknown".to_owned());
    let minutes = (Timestamp::now().as_micros() - pending.started_at.as_micros()) / 60_000_000;
    let page = WebConfirmPage {
        nav: None,
        csrf: state.services.csrf.token(nonce, &purpose(&github_state)),
        state: github_state,
        started_at: format!(
            "{} (about {minutes} minute{} ago)",
            pending.started_at,
            if minutes == 1 { "" } else { "s" }
        ),
        same_address: address == here,
        same_agent: user_agent == here_agent,
        address,
        user_agent,
        here,
        destination: pending
            .redirect
            .unwrap_or_else(|| "nowhere: the application collects the result".to_owned()),
    };
    Ok(render(StatusCode::OK, &page))
}

/// `POST /login/confirm`: "yes" completes the sign-in as the callback would
/// have; "cancel" ends it, and the poller is told so.
pub async fn decide(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: PageForm,
) -> Result<Response, PageError> {
    let github_state = form.get("state").unwrap_or_default();
    let Some(nonce) = state.cookie.read_confirm(&headers).filter(|nonce| {
        form.get("csrf").is_some_and(|sent| {
            state
                .services
                .csrf
                .verify(nonce, &purpose(github_state), sent)
        })
    }) else {
        return Err(PageError::Status(
            StatusCode::FORBIDDEN,
            "This confirmation did not come from the page Latchkey showed in this browser. \
             Open the sign-in link again."
                .to_owned(),
        ));
    };
    let web_flow = &state.services.web_flow;
    if form.get("decision") != Some("confirm") {
        web_flow.refuse(github_state, nonce).await?;
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
    let done = web_flow.confirm(github_state, nonce).await?;
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
