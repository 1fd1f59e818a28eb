//! `/oauth/authorize` in the browser: the consent page and its answer.
//! The rules are in `service::oauth::authorize`; this file only shows and posts.

use super::form::PageForm;
use super::templates::ConsentPage;
use super::{render, PageError, Session};
use crate::http::AppState;
use crate::service::oauth::{AuthorizeError, AuthorizeRequest, ValidAuthorization};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};

const FIELDS: [&str; 7] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
];

/// The request's parameters, each at most once (RFC 6749 §3.1).
fn request_from(pairs: &[(String, String)]) -> Result<AuthorizeRequest, PageError> {
    let mut values: [Option<String>; 7] = Default::default();
    for (name, value) in pairs {
        if let Some(i) = FIELDS.iter().position(|f| f == name) {
            if values[i].replace(value.clone()).is_some() {
                return Err(PageError::bad_request(format!(
                    "The authorization request names {name} more than once."
                )));
            }
        }
    }
    let [response_type, client_id, redirect_uri, scope, state, code_challenge, code_challenge_method] =
        values;
    Ok(AuthorizeRequest {
        response_type,
        client_id,
        redirect_uri,
        scope,
        state,
        code_challenge,
        code_challenge_method,
    })
}

async fn check(state: &AppState, req: &AuthorizeRequest) -> Result<ValidAuthorization, Response> {
    match state.services.oauth.check_authorization(req).await {
        Ok(valid) => Ok(valid),
        // Never redirected: the client or the redirect URI is not to be trusted.
        Err(AuthorizeError::Page(message)) => Err(PageError::bad_request(format!(
            "This application's sign-in link is not valid: {message}."
        ))
        .into_response()),
        Err(AuthorizeError::Redirect(to)) => Err(Redirect::to(&to).into_response()),
        Err(AuthorizeError::Internal(err)) => Err(PageError::store(err).into_response()),
    }
}

/// `GET /oauth/authorize`: check the request, make sure someone is signed
/// in, then approve at once if they already gave this client these scopes,
/// or ask them.
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect();
    let req = request_from(&pairs)?;
    let valid = match check(&state, &req).await {
        Ok(valid) => valid,
        Err(response) => return Ok(response),
    };
    let session = Session::require(&state, &headers, &uri).await?;
    let oauth = &state.services.oauth;
    if !oauth
        .needs_consent(session.caller.account_id(), &valid)
        .await?
    {
        let to = oauth.approve(session.caller.account_id(), &valid).await?;
        return Ok(Redirect::to(&to).into_response());
    }
    let hidden = FIELDS
        .iter()
        .zip([
            &req.response_type,
            &req.client_id,
            &req.redirect_uri,
            &req.scope,
            &req.state,
            &req.code_challenge,
            &req.code_challenge_method,
        ])
        .filter_map(|(name, value)| value.clone().map(|v| (*name, v)))
        .collect();
    let page = ConsentPage {
        nav: Some(session.nav(&state)),
        client_name: valid.client.name.clone(),
        redirect_host: host_of(&valid.redirect_to),
        scopes: valid
            .scopes
            .iter()
            .map(|s| s.description().to_owned())
            .collect(),
        csrf: session.csrf(&state, "consent"),
        hidden,
    };
    Ok(render(StatusCode::OK, &page))
}

/// `POST /oauth/authorize`: the user's answer. Always 303 (RFC 9700
/// §4.11): a 307 would make the browser post the form again, to the client.
pub async fn decide(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: PageForm,
) -> Result<Response, PageError> {
    let session = Session::find(&state, &headers)
        .await?
        .ok_or(PageError::Status(
            StatusCode::FORBIDDEN,
            "You are no longer signed in. Go back to the application and start again.".into(),
        ))?;
    session.check_csrf(&state, "consent", form.get("csrf"))?;
    let pairs: Vec<(String, String)> = FIELDS
        .iter()
        .flat_map(|name| {
            form.all(name)
                .map(move |v| (name.to_string(), v.to_owned()))
        })
        .collect();
    let req = request_from(&pairs)?;
    let valid = match check(&state, &req).await {
        Ok(valid) => valid,
        Err(response) => return Ok(response),
    };
    let oauth = &state.services.oauth;
    let approved = form.get("decision") == Some("submit") && form.get("authorize") == Some("yes");
    let to = match approved {
        true => oauth.approve(session.caller.account_id(), &valid).await?,
        false => oauth.deny(&valid),
    };
    Ok(Redirect::to(&to).into_response())
}

fn host_of(uri: &str) -> String {
    url::Url::parse(uri)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default()
}
