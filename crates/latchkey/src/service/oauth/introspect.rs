//! Token introspection (RFC 7662), for the platform's other services: one
//! place to check any Latchkey token, OAuth access and refresh tokens and
//! the Token API's tokens alike. Access and API tokens go through the same
//! cache as every request's authentication.

use super::error::OAuthError;
use super::OAuthServer;
use crate::domain::{ClientId, PrefixedSecret, Scope, ScopeSet, SecretKind, Timestamp};
use crate::service::Principal;

/// An introspection answer; an inactive token says nothing else.
#[derive(Clone, Debug, Default)]
pub struct Introspection {
    pub active: bool,
    pub scope: Option<ScopeSet>,
    pub client_id: Option<ClientId>,
    pub username: Option<String>,
    pub sub: Option<String>,
    pub exp: Option<i64>,
    pub iat: Option<i64>,
    pub token_type: Option<&'static str>,
    pub iss: Option<String>,
}

impl OAuthServer {
    /// `client` must be a confidential client: introspection tells what a
    /// token may do, so it is for resource servers that can authenticate.
    /// A client registered as a resource server (the platform's services)
    /// may introspect any token; any other client only the tokens issued to
    /// it, without the user's email unless the token carries `email`. For
    /// everything else the answer is `{"active": false}`, as for a token
    /// that does not exist, so nobody can probe others' tokens (RFC 7662 §4).
    pub async fn introspect(
        &self,
        client: &crate::domain::OAuthClient,
        token: Option<&str>,
    ) -> Result<Introspection, OAuthError> {
        if client.public {
            return Err(OAuthError::invalid_client(
                "introspection needs a confidential client",
            ));
        }
        let token = token.ok_or_else(|| OAuthError::invalid_request("token is required"))?;
        if PrefixedSecret::parse_kind(token, SecretKind::RefreshToken).is_some() {
            let answer = self.introspect_refresh(token).await?;
            let allowed = client.resource_server || answer.client_id == Some(client.client_id);
            return Ok(if allowed {
                answer
            } else {
                Introspection::default()
            });
        }
        let principal = match self.auth.authenticate(Some(token)).await {
            Ok(principal) => principal,
            Err(crate::service::ServiceError::Internal(err)) => return Err(err.into()),
            Err(crate::service::ServiceError::Unavailable) => {
                return Err(crate::store::StoreError::Unavailable("while validating".into()).into())
            }
            Err(_) => return Ok(Introspection::default()),
        };
        let seconds = |t: Timestamp| t.as_micros().div_euclid(1_000_000);
        let issued_to = match &principal {
            Principal::Account(caller) => caller.oauth.map(|o| o.client),
            Principal::Client(own) => Some(own.client),
        };
        if !client.resource_server && issued_to != Some(client.client_id) {
            return Ok(Introspection::default());
        }
        Ok(match principal {
            Principal::Account(caller) => Introspection {
                active: true,
                scope: Some(caller.scopes.unwrap_or_else(ScopeSet::all)),
                client_id: caller.oauth.map(|o| o.client),
                username: (client.resource_server || caller.allows(Scope::Email))
                    .then(|| caller.email.to_string()),
                sub: Some(caller.account_id().to_string()),
                exp: Some(seconds(caller.token.expires_at)),
                iat: Some(seconds(caller.token.created_at)),
                token_type: Some("Bearer"),
                iss: Some(self.config.issuer.clone()),
            },
            Principal::Client(client) => Introspection {
                active: true,
                scope: Some(client.scopes),
                client_id: Some(client.client),
                username: None,
                sub: Some(client.client.to_string()),
                exp: Some(seconds(client.expires_at)),
                iat: Some(seconds(client.created_at)),
                token_type: Some("Bearer"),
                iss: Some(self.config.issuer.clone()),
            },
        })
    }

    async fn introspect_refresh(&self, token: &str) -> Result<Introspection, OAuthError> {
        let Some(secret) = PrefixedSecret::parse_kind(token, SecretKind::RefreshToken) else {
            return Ok(Introspection::default());
        };
        let Some(record) = self.store.find_refresh_token(&secret.hash()).await? else {
            return Ok(Introspection::default());
        };
        if record.used_at.is_some() || record.expires_at.is_past(self.clock.now()) {
            return Ok(Introspection::default());
        }
        let seconds = |t: Timestamp| t.as_micros().div_euclid(1_000_000);
        Ok(Introspection {
            active: true,
            scope: Some(record.scopes),
            client_id: Some(record.client),
            username: None,
            sub: record.account.map(|a| a.to_string()),
            exp: Some(seconds(record.expires_at)),
            iat: Some(seconds(record.created_at)),
            // RFC 7662 takes token types from RFC 6749 §7.1, which names
            // access token types only: a refresh token has none.
            token_type: None,
            iss: Some(self.config.issuer.clone()),
        })
    }
}
