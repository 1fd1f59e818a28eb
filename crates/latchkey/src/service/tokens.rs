use super::{Caller, ServiceError, TokenCache};
use crate::domain::{AccountId, Timestamp, Token, TokenId, TokenSecret, UnsafeToken};
use crate::store::{Store, StoreError};
use std::sync::Arc;

const TOKEN_NOT_FOUND: ServiceError = ServiceError::NotFound("Token not found");

/// Minting, listing and deleting an account's API tokens.
#[derive(Clone)]
pub struct TokenService {
    store: Store,
    cache: Arc<TokenCache>,
}

impl TokenService {
    pub fn new(store: Store, cache: Arc<TokenCache>) -> Self {
        Self { store, cache }
    }

    pub async fn list(
        &self,
        caller: &Caller,
        account: AccountId,
    ) -> Result<Vec<Token>, ServiceError> {
        self.require_account(caller, account).await?;
        Ok(self.store.list_tokens(account).await?)
    }

    pub async fn get(
        &self,
        caller: &Caller,
        account: AccountId,
        id: TokenId,
    ) -> Result<Token, ServiceError> {
        self.require_account(caller, account).await?;
        self.store
            .get_token(account, id)
            .await?
            .ok_or(TOKEN_NOT_FOUND)
    }

    pub async fn create(
        &self,
        caller: &Caller,
        account: AccountId,
        expires_at: Timestamp,
    ) -> Result<UnsafeToken, ServiceError> {
        self.require_account(caller, account).await?;
        self.mint(account, expires_at).await
    }

    pub async fn delete(
        &self,
        caller: &Caller,
        account: AccountId,
        id: TokenId,
    ) -> Result<(), ServiceError> {
        self.require_account(caller, account).await?;
        self.remove(account, id).await
    }

    /// Deletes the token the caller authenticated with (logout).
    pub async fn revoke_own(&self, caller: &Caller) -> Result<(), ServiceError> {
        self.remove(caller.account_id(), caller.token.id).await
    }

    /// Deletes, then evicts once the deletion has committed.
    async fn remove(&self, account: AccountId, id: TokenId) -> Result<(), ServiceError> {
        let hash = self
            .store
            .delete_token(account, id)
            .await?
            .ok_or(TOKEN_NOT_FOUND)?;
        self.cache.evict(&[hash]);
        Ok(())
    }

    /// Offline recovery (`latchkey admin token create`): no caller, but the
    /// account must exist.
    pub async fn mint_for_recovery(
        &self,
        account: AccountId,
        expires_at: Timestamp,
    ) -> Result<UnsafeToken, ServiceError> {
        if self.store.get_account(account).await?.is_none() {
            return Err(ServiceError::ACCOUNT_NOT_FOUND);
        }
        self.mint(account, expires_at).await
    }

    /// Mints a token for an existing account with no caller check: for
    /// bootstrap, the offline CLI and logins, which have done their own.
    pub async fn mint(
        &self,
        account: AccountId,
        expires_at: Timestamp,
    ) -> Result<UnsafeToken, ServiceError> {
        let now = Timestamp::now();
        if expires_at.is_past(now) {
            return Err(ServiceError::invalid("expiresAt must be in the future"));
        }
        let secret = TokenSecret::generate();
        let token = Token {
            id: TokenId::generate(),
            account_id: account,
            created_at: now,
            expires_at,
        };
        match self.store.insert_token(&token, &secret.hash()).await {
            Ok(()) => {}
            // The account was deleted after the caller looked it up.
            Err(StoreError::MissingReference) => return Err(ServiceError::ACCOUNT_NOT_FOUND),
            Err(err) => return Err(err.into()),
        }
        Ok(UnsafeToken {
            data: token,
            secret,
        })
    }

    /// Answers 404 alike for "not yours" and "does not exist", so ids cannot be probed.
    async fn require_account(
        &self,
        caller: &Caller,
        account: AccountId,
    ) -> Result<(), ServiceError> {
        if !caller.can_access(account) {
            return Err(ServiceError::ACCOUNT_NOT_FOUND);
        }
        if caller.account_id() != account && self.store.get_account(account).await?.is_none() {
            return Err(ServiceError::ACCOUNT_NOT_FOUND);
        }
        Ok(())
    }
}
