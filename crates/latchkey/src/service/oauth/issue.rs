//! Minting what every grant hands out: an access token and, where the
//! client may refresh, a refresh token.

use super::error::OAuthError;
use super::OAuthServer;
use crate::domain::{
    AccountId, GrantId, GrantType, OAuthClient, PrefixedSecret, ScopeSet, SecretKind, Timestamp,
    TokenId,
};
use crate::store::{NewAccessToken, NewRefreshToken};
use serde::{Deserialize, Serialize};

/// The successful answer of the token endpoint (RFC 6749 §5.1).
#[derive(Clone, Debug)]
pub struct TokenResponse {
    pub access_token: PrefixedSecret,
    pub expires_in: i64,
    pub refresh_token: Option<PrefixedSecret>,
    pub scope: ScopeSet,
}

/// A new pair: the rows to store and the answer to give.
pub(super) struct Minted {
    pub access: NewAccessToken,
    pub refresh: Option<NewRefreshToken>,
    pub response: TokenResponse,
}

/// What a refresh rotation seals for its grace window: the same answer,
/// bound to the token it replaced.
#[derive(Serialize, Deserialize)]
pub(super) struct SealedPair {
    pub replaces: String,
    pub access_token: String,
    pub access_expires_at: i64,
    pub refresh_token: String,
    pub scope: String,
}

impl OAuthServer {
    /// A new pair. The refresh token carries the grant's scopes unchanged
    /// (RFC 6749 §6); the access token carries `wanted` (within them), cut
    /// down to what the client may still ask for, since an admin may have
    /// narrowed the client after the user agreed.
    pub(super) fn mint(
        &self,
        client: &OAuthClient,
        grant: Option<GrantId>,
        account: Option<AccountId>,
        granted: ScopeSet,
        wanted: ScopeSet,
        now: Timestamp,
    ) -> Result<Minted, OAuthError> {
        let scopes = wanted.intersection(granted).intersection(client.scopes);
        if scopes.is_empty() {
            return Err(OAuthError::invalid_scope(
                "the client may no longer ask for any of these scopes",
            ));
        }
        let access_secret = PrefixedSecret::generate(SecretKind::AccessToken);
        let expires_at = now.plus(self.config.access_token_lifetime);
        let refreshable = grant.is_some() && client.grant_types.contains(GrantType::RefreshToken);
        let refresh = grant.filter(|_| refreshable).map(|grant| {
            let secret = PrefixedSecret::generate(SecretKind::RefreshToken);
            let row = NewRefreshToken {
                hash: secret.hash(),
                grant,
                scopes: granted,
                created_at: now,
                expires_at: now.plus(self.config.refresh_token_lifetime),
            };
            (secret, row)
        });
        Ok(Minted {
            access: NewAccessToken {
                id: TokenId::generate(),
                hash: access_secret.hash(),
                client: client.client_id,
                grant,
                account,
                scopes,
                created_at: now,
                expires_at,
            },
            response: TokenResponse {
                access_token: access_secret,
                expires_in: self.config.access_token_lifetime.num_seconds(),
                refresh_token: refresh.as_ref().map(|(secret, _)| secret.clone()),
                scope: scopes,
            },
            refresh: refresh.map(|(_, row)| row),
        })
    }
}
