//! `/oauth/device`: a person types the code their device shows, checks
//! what the device's application asks for, and approves or denies it.
//! Attempts are rate-limited per client (see `pages::routes`).

use super::form::{query_param, PageForm};
use super::templates::{DeviceConfirmPage, DeviceEntryPage, MessagePage};
use super::{render, PageError, Session};
use crate::domain::UserCode;
use crate::http::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;

/// The form, filled in when the device's link (`verification_uri_complete`)
/// carried the code: the person still confirms it.
pub async fn entry(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, PageError> {
    let session = Session::require(&state, &headers, &uri).await?;
    let typed = query_param(uri.query(), "user_code").unwrap_or_default();
    Ok(render(
        StatusCode::OK,
        &DeviceEntryPage {
            nav: Some(session.nav(&state)),
            csrf: session.csrf(&state, "device"),
            user_code: typed.chars().take(32).collect(),
            problem: None,
        },
    ))
}

/// A typed code: the confirmation page if it names a waiting device.
pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    form: PageForm,
) -> Result<Response, PageError> {
    let session = Session::require(&state, &headers, &uri).await?;
    session.check_csrf(&state, "device", form.get("csrf"))?;
    let typed = form.get("user_code").unwrap_or_default();
    match state.services.oauth.pending_device(typed).await? {
        Some(pending) => Ok(render(
            StatusCode::OK,
            &DeviceConfirmPage {
                nav: Some(session.nav(&state)),
                // The decision's token names this code: only a confirmation
                // page (reached through the rate-limited form) can decide it.
                csrf: session.csrf(&state, &decision_purpose(&pending.user_code)),
                client_name: pending.client.name,
                user_code: pending.user_code.to_string(),
                scopes: pending
                    .scopes
                    .iter()
                    .map(|s| s.description().to_owned())
                    .collect(),
            },
        )),
        None => Ok(render(
            StatusCode::BAD_REQUEST,
            &DeviceEntryPage {
                nav: Some(session.nav(&state)),
                csrf: session.csrf(&state, "device"),
                user_code: typed.chars().take(32).collect(),
                problem: Some(
                    "That code is not valid, or has expired. Check your device and try again."
                        .into(),
                ),
            },
        )),
    }
}

/// The answer for a device.
pub async fn decide(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    form: PageForm,
) -> Result<Response, PageError> {
    let session = Session::require(&state, &headers, &uri).await?;
    let code = form
        .get("user_code")
        .and_then(UserCode::normalise)
        .ok_or_else(|| PageError::bad_request("The code is missing or not valid."))?;
    session.check_csrf(&state, &decision_purpose(&code), form.get("csrf"))?;
    let approve = form.get("decision") == Some("approve");
    let decided = state
        .services
        .oauth
        .decide_device(session.caller.account_id(), &code, approve)
        .await?;
    let (title, message) = match (decided, approve) {
        (false, _) => (
            "Nothing to do",
            "That code is no longer waiting for an answer. Start again on your device.",
        ),
        (true, true) => (
            "Device connected",
            "You can close this page and go back to your device.",
        ),
        (true, false) => (
            "Request denied",
            "The device was not given access. You can close this page.",
        ),
    };
    Ok(render(
        if decided {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        },
        &MessagePage {
            nav: Some(session.nav(&state)),
            title: title.into(),
            message: message.into(),
        },
    ))
}

fn decision_purpose(code: &UserCode) -> String {
    format!("device-decision:{code}")
}
