//! The applications a user authorized, and taking an authorization back.

use super::OAuthServer;
use crate::domain::{AccountId, AuditKind, ClientId, ScopeSet, Timestamp};
use crate::service::{require_account, AuditEvent, Caller, ServiceError};

/// One authorized application.
pub struct Authorization {
    pub client_id: ClientId,
    pub client_name: String,
    pub scopes: ScopeSet,
    pub granted_at: Timestamp,
    /// When it last got tokens (a code exchange or a refresh).
    pub last_used_at: Option<Timestamp>,
}

impl OAuthServer {
    pub async fn authorizations(
        &self,
        caller: &Caller,
        account: AccountId,
    ) -> Result<Vec<Authorization>, ServiceError> {
        require_account(&self.store, caller, account).await?;
        Ok(self
            .store
            .list_authorizations(account)
            .await?
            .into_iter()
            .map(|r| Authorization {
                client_id: r.client,
                client_name: r.client_name,
                scopes: r.scopes,
                granted_at: r.granted_at,
                last_used_at: r.last_used_at,
            })
            .collect())
    }

    /// Revokes the consent and every token it led to, at once.
    pub async fn revoke_authorization(
        &self,
        caller: &Caller,
        account: AccountId,
        client: ClientId,
    ) -> Result<(), ServiceError> {
        require_account(&self.store, caller, account).await?;
        let hashes = self
            .store
            .revoke_authorization(account, client)
            .await?
            .ok_or(ServiceError::NotFound("Authorization not found"))?;
        self.cache.evict(&hashes).await;
        AuditEvent::new(AuditKind::ConsentRevoked)
            .by(caller)
            .account(account)
            .target(client)
            .record(&self.store)
            .await;
        Ok(())
    }
}
