//! Who is signed in to the pages: the pages' own session cookie, which
//! holds an API token of the Token API, set only by a browser sign-in
//! (`/login`) that finished in the browser that started it.

use super::templates::Nav;
use super::PageError;
use crate::http::AppState;
use crate::service::{Caller, Principal};
use axum::http::{HeaderMap, Uri};

/// A signed-in browser.
pub struct Session {
    pub caller: Caller,
    /// The cookie's secret: what CSRF tokens are bound to.
    secret: String,
}

impl Session {
    /// The signed-in user, or a trip to sign-in that comes back to `uri`.
    pub async fn require(
        state: &AppState,
        headers: &HeaderMap,
        uri: &Uri,
    ) -> Result<Self, PageError> {
        match Self::find(state, headers).await? {
            Some(session) => Ok(session),
            None => Err(PageError::SignIn {
                next: uri
                    .path_and_query()
                    .map_or("/".to_owned(), |pq| pq.as_str().to_owned()),
            }),
        }
    }

    /// Like `require`, for the admins' pages: anyone else is told nothing
    /// is there, as the API tells them.
    pub async fn require_admin(
        state: &AppState,
        headers: &HeaderMap,
        uri: &Uri,
    ) -> Result<Self, PageError> {
        let session = Self::require(state, headers, uri).await?;
        match session.caller.is_admin() {
            true => Ok(session),
            false => Err(PageError::not_found()),
        }
    }

    /// The signed-in user, if any. Only a full session token counts: an
    /// OAuth access token or a narrowed API token placed in the cookie
    /// never signs anyone in to these pages.
    pub async fn find(state: &AppState, headers: &HeaderMap) -> Result<Option<Self>, PageError> {
        let Some(secret) = state.cookie.read_pages(headers) else {
            return Ok(None);
        };
        match state.services.auth.authenticate(Some(secret)).await {
            Ok(Principal::Account(caller)) if caller.oauth.is_none() && caller.scopes.is_none() => {
                Ok(Some(Self {
                    caller,
                    secret: secret.to_owned(),
                }))
            }
            Ok(_) | Err(crate::service::ServiceError::Unauthorized(_)) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    pub fn csrf(&self, state: &AppState, purpose: &str) -> String {
        state.services.csrf.token(&self.secret, purpose)
    }

    /// A form's CSRF token must be this session's, for this form.
    pub fn check_csrf(
        &self,
        state: &AppState,
        purpose: &str,
        sent: Option<&str>,
    ) -> Result<(), PageError> {
        match sent.is_some_and(|sent| state.services.csrf.verify(&self.secret, purpose, sent)) {
            true => Ok(()),
            false => Err(PageError::Status(
                axum::http::StatusCode::FORBIDDEN,
                "This form has expired or did not come from Latchkey. Go back, reload the page and try again."
                    .to_owned(),
            )),
        }
    }

    pub fn nav(&self, state: &AppState) -> Nav {
        Nav {
            email: self.caller.email.to_string(),
            admin: self.caller.is_admin(),
            logout_csrf: self.csrf(state, "logout"),
        }
    }
}
