//! Token revocation (RFC 7009). A client revokes its own tokens; revoking a
//! refresh token ends its whole authorization, access tokens included. An
//! unknown token, or one issued to another client, answers the same 200, so
//! nobody can probe which tokens exist.

use super::error::OAuthError;
use super::OAuthServer;
use crate::domain::{OAuthClient, PrefixedSecret, SecretKind};

impl OAuthServer {
    /// `token_type_hint` is only a hint: the token's own prefix says what it is.
    pub async fn revoke(
        &self,
        client: &OAuthClient,
        token: Option<&str>,
    ) -> Result<(), OAuthError> {
        let token = token.ok_or_else(|| OAuthError::invalid_request("token is required"))?;
        let Some(secret) = PrefixedSecret::parse(token) else {
            return Ok(());
        };
        match secret.kind() {
            SecretKind::AccessToken => {
                let hash = secret.hash();
                if let Some(record) = self.store.find_access_token(&hash).await? {
                    if record.client == client.client_id {
                        self.store.revoke_access_token(&hash).await?;
                        self.cache.evict(&[hash]).await;
                    }
                }
            }
            SecretKind::RefreshToken => {
                if let Some(record) = self.store.find_refresh_token(&secret.hash()).await? {
                    if record.client == client.client_id {
                        let hashes = self.store.revoke_grant(record.grant).await?;
                        self.cache.evict(&hashes).await;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}
