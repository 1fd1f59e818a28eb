//! The client credentials grant (RFC 6749 §4.4): a confidential client gets
//! a token that acts as itself, for no user, within its own scopes. No
//! refresh token: it can always ask again. Issued through the store's group
//! commit, so concurrent requests share a commit.

use super::error::OAuthError;
use super::issue::TokenResponse;
use super::{requested_scopes, OAuthServer, NOT_THE_CLIENTS};
use crate::domain::{GrantType, OAuthClient};

impl OAuthServer {
    pub async fn client_credentials(
        &self,
        client: &OAuthClient,
        scope: Option<&str>,
    ) -> Result<TokenResponse, OAuthError> {
        if client.public || !client.grant_types.contains(GrantType::ClientCredentials) {
            return Err(OAuthError::unauthorized_client(
                "this client may not use the client credentials grant",
            ));
        }
        let scopes = requested_scopes(scope, client.scopes, NOT_THE_CLIENTS)
            .map_err(OAuthError::invalid_scope)?;
        let minted = self.mint(client, None, None, scopes, scopes, self.clock.now())?;
        self.store.insert_access_token(&minted.access).await?;
        Ok(minted.response)
    }
}
