//! The authorization endpoint (RFC 6749 §4.1.1, RFC 7636, RFC 9207, RFC
//! 9700 §2.1 and §4.1): check a request, then let the signed-in user approve
//! or deny it, and send the browser back to the client with a code.
//!
//! The client and the redirect URI are checked before anything else. If
//! either is wrong the user sees an error page and is never redirected:
//! that redirect would be an open redirect. Every later error goes back to
//! the client by redirect, with `state` and `iss`.

use super::error::{ErrorCode, OAuthError};
use super::{requested_scopes, OAuthServer, NOT_THE_CLIENTS};
use crate::domain::{AccountId, GrantType, OAuthClient, PrefixedSecret, ScopeSet, SecretKind};
use crate::domain::{AuditKind, ClientId};
use crate::service::AuditEvent;
use crate::store::{NewCode, Store};

/// The query of `GET /oauth/authorize`, as sent.
#[derive(Clone, Debug, Default)]
pub struct AuthorizeRequest {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
}

/// Why a request cannot go on.
#[derive(Debug)]
pub enum AuthorizeError {
    /// Shown to the user; never redirected (unknown client, bad redirect URI).
    Page(String),
    /// Sent back to the client: the URL to send the browser to.
    Redirect(String),
    Internal(crate::store::StoreError),
}

/// A request that checked out, waiting for the user's answer.
#[derive(Clone, Debug)]
pub struct ValidAuthorization {
    pub client: OAuthClient,
    /// Where the answer goes: the redirect URI as the client sent it (a
    /// loopback one with its port), or the registered one if it sent none.
    pub redirect_to: String,
    /// Exactly as sent, to compare at the token endpoint.
    pub redirect_sent: Option<String>,
    pub scopes: ScopeSet,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
}

const MAX_STATE: usize = 1024;

impl OAuthServer {
    pub async fn check_authorization(
        &self,
        req: &AuthorizeRequest,
    ) -> Result<ValidAuthorization, AuthorizeError> {
        let client = match req.client_id.as_deref() {
            None | Some("") => return Err(AuthorizeError::Page("client_id is required".into())),
            Some(id) => self
                .clients
                .find(id)
                .await
                .map_err(internal)?
                .ok_or_else(|| AuthorizeError::Page("Unknown client".into()))?,
        };
        let redirect_to = match client.redirect_for(req.redirect_uri.as_deref()) {
            Some(registered) => req
                .redirect_uri
                .clone()
                .unwrap_or_else(|| registered.as_str().to_owned()),
            None => {
                return Err(AuthorizeError::Page(match &req.redirect_uri {
                    Some(_) => "redirect_uri is not registered for this client".into(),
                    None => "redirect_uri is required: the client registered several".into(),
                }))
            }
        };
        // From here on, errors go back to the client.
        let back = |code: ErrorCode, why: &str| {
            AuthorizeError::Redirect(self.error_redirect(
                &redirect_to,
                code,
                why,
                req.state.as_deref(),
            ))
        };
        if req.state.as_ref().is_some_and(|s| s.len() > MAX_STATE) {
            return Err(back(ErrorCode::InvalidRequest, "state is too long"));
        }
        match req.response_type.as_deref() {
            Some("code") => {}
            None => return Err(back(ErrorCode::InvalidRequest, "response_type is required")),
            Some(_) => {
                return Err(back(
                    ErrorCode::UnsupportedResponseType,
                    "only response_type=code is supported",
                ))
            }
        }
        if !client.grant_types.contains(GrantType::AuthorizationCode) {
            return Err(back(
                ErrorCode::UnauthorizedClient,
                "this client may not use the authorization code grant",
            ));
        }
        let scopes = requested_scopes(req.scope.as_deref(), client.scopes, NOT_THE_CLIENTS)
            .map_err(|why| back(ErrorCode::InvalidScope, &why))?;
        let code_challenge = match (
            req.code_challenge.as_deref(),
            req.code_challenge_method.as_deref(),
        ) {
            (None, None) if client.public => {
                return Err(back(
                    ErrorCode::InvalidRequest,
                    "a public client must use PKCE (code_challenge with S256)",
                ))
            }
            (None, None) => None,
            (None, Some(_)) => {
                return Err(back(
                    ErrorCode::InvalidRequest,
                    "code_challenge is required",
                ))
            }
            (Some(challenge), Some("S256")) if is_s256_challenge(challenge) => {
                Some(challenge.to_owned())
            }
            (Some(_), Some("S256")) => {
                return Err(back(
                    ErrorCode::InvalidRequest,
                    "code_challenge must be 43 base64url characters (S256)",
                ))
            }
            // `plain`, or a challenge without a method (which means plain).
            (Some(_), _) => {
                return Err(back(
                    ErrorCode::InvalidRequest,
                    "only code_challenge_method=S256 is supported",
                ))
            }
        };
        Ok(ValidAuthorization {
            client,
            redirect_to,
            redirect_sent: req.redirect_uri.clone(),
            scopes,
            state: req.state.clone(),
            code_challenge,
        })
    }

    /// Whether the user must see the consent page: not if they already
    /// gave this client every scope asked for.
    pub async fn needs_consent(
        &self,
        account: AccountId,
        request: &ValidAuthorization,
    ) -> Result<bool, OAuthError> {
        let given = self
            .store
            .consented_scopes(account, request.client.client_id)
            .await?;
        Ok(!given.is_some_and(|given| request.scopes.is_subset_of(given)))
    }

    /// The user said yes: remember it, mint a code, and answer with where
    /// to send the browser (`code`, `state`, `iss`).
    pub async fn approve(
        &self,
        account: AccountId,
        request: &ValidAuthorization,
    ) -> Result<String, OAuthError> {
        let now = self.clock.now();
        let given = self
            .store
            .consented_scopes(account, request.client.client_id)
            .await?;
        let before = given.unwrap_or_default();
        self.store
            .record_consent(
                account,
                request.client.client_id,
                before.union(request.scopes),
                now,
            )
            .await?;
        // Only a yes to something new is an event: a silent re-approval of
        // scopes already granted is the same consent, used again.
        if given.is_none() || !request.scopes.is_subset_of(before) {
            consent_granted(
                &self.store,
                account,
                request.client.client_id,
                request.scopes,
                "authorization_code",
            )
            .await;
        }
        let code = PrefixedSecret::generate(SecretKind::AuthorizationCode);
        self.store
            .insert_code(&NewCode {
                hash: code.hash(),
                client: request.client.client_id,
                account,
                redirect_uri: request.redirect_sent.clone(),
                code_challenge: request.code_challenge.clone(),
                scopes: request.scopes,
                created_at: now,
                expires_at: now.plus(self.config.code_lifetime),
            })
            .await?;
        Ok(self.redirect(
            &request.redirect_to,
            &[("code", code.expose())],
            request.state.as_deref(),
        ))
    }

    /// The user said no.
    pub fn deny(&self, request: &ValidAuthorization) -> String {
        self.error_redirect(
            &request.redirect_to,
            ErrorCode::AccessDenied,
            "the user denied the request",
            request.state.as_deref(),
        )
    }

    fn error_redirect(
        &self,
        to: &str,
        code: ErrorCode,
        description: &str,
        state: Option<&str>,
    ) -> String {
        self.redirect(
            to,
            &[("error", code.as_str()), ("error_description", description)],
            state,
        )
    }

    /// `to` with `pairs`, `state` and `iss` added to its query; a query it
    /// already has is kept (RFC 6749 §3.1.2).
    fn redirect(&self, to: &str, pairs: &[(&str, &str)], state: Option<&str>) -> String {
        let Ok(mut url) = url::Url::parse(to) else {
            return to.to_owned();
        };
        {
            let mut query = url.query_pairs_mut();
            for (name, value) in pairs {
                query.append_pair(name, value);
            }
            if let Some(state) = state {
                query.append_pair("state", state);
            }
            query.append_pair("iss", &self.config.issuer);
        }
        url.into()
    }
}

fn internal(err: OAuthError) -> AuthorizeError {
    match err {
        OAuthError::Internal(err) => AuthorizeError::Internal(err),
        other => AuthorizeError::Page(other.to_string()),
    }
}

/// BASE64URL(SHA-256(verifier)) without padding: 43 characters.
fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// RFC 7636 §4.1: 43 to 128 characters of `[A-Za-z0-9-._~]`.
pub(super) fn is_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// A person's yes to a client, through the consent page or a device code.
pub(super) async fn consent_granted(
    store: &Store,
    account: AccountId,
    client: ClientId,
    scopes: ScopeSet,
    grant: &'static str,
) {
    AuditEvent::new(AuditKind::ConsentGranted)
        .account(account)
        .actor_is_account()
        .target(client)
        .detail(serde_json::json!({"scope": scopes.to_string(), "grant": grant}))
        .record(store)
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_shapes() {
        assert!(is_s256_challenge(&"a".repeat(43)));
        assert!(!is_s256_challenge(&"a".repeat(42)));
        assert!(!is_s256_challenge(&format!("{}=", "a".repeat(42))));
        assert!(is_verifier(&"a~.-_".repeat(9)));
        assert!(!is_verifier(&"a".repeat(42)));
        assert!(!is_verifier(&"a".repeat(129)));
        assert!(!is_verifier(&format!("{}+", "a".repeat(43))));
    }
}
