use super::{require_account, AuditEvent, Caller, ServiceError, TokenCache};
use crate::domain::{
    AccountId, AuditKind, ScopeSet, Timestamp, Token, TokenId, TokenSecret, UnsafeToken,
};
use crate::store::{Store, StoreError};
use std::sync::Arc;

const TOKEN_NOT_FOUND: ServiceError = ServiceError::NotFound("Token not found");

/// What `POST /v1/accounts/{id}/tokens` asks for.
#[derive(Clone, Debug)]
pub struct NewToken {
    pub expires_at: Timestamp,
    pub name: Option<String>,
    pub scopes: Option<ScopeSet>,
}

/// What is wrong with `name` as a token name, if anything.
fn token_name_problems(name: &str) -> Vec<String> {
    let name = name.trim();
    let mut problems = Vec::new();
    if name.is_empty() || name.chars().count() > 100 {
        problems.push("name must be 1 to 100 characters".to_owned());
    }
    if name.chars().any(char::is_control) {
        problems.push("name must not contain control characters".to_owned());
    }
    problems
}

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
        require_account(&self.store, caller, account).await?;
        Ok(self.store.list_tokens(account).await?)
    }

    pub async fn get(
        &self,
        caller: &Caller,
        account: AccountId,
        id: TokenId,
    ) -> Result<Token, ServiceError> {
        require_account(&self.store, caller, account).await?;
        self.store
            .get_token(account, id)
            .await?
            .ok_or(TOKEN_NOT_FOUND)
    }

    /// A new API token. An application's access token cannot mint one: an
    /// API token would outlive the user's revocation of that application.
    /// A narrowed API token can only mint tokens narrowed at least as far
    /// that expire no later than itself, so it cannot outgrow itself.
    pub async fn create(
        &self,
        caller: &Caller,
        account: AccountId,
        request: NewToken,
    ) -> Result<UnsafeToken, ServiceError> {
        require_account(&self.store, caller, account).await?;
        if caller.oauth.is_some() {
            return Err(ServiceError::Forbidden(
                "An application's access token cannot create API tokens",
            ));
        }
        if caller.scopes.is_some() && request.expires_at > caller.token.expires_at {
            return Err(ServiceError::Forbidden(
                "A narrowed token may only create tokens that expire no later than itself",
            ));
        }
        let mut problems = Vec::new();
        if let Some(name) = &request.name {
            problems.extend(token_name_problems(name));
        }
        if request.scopes.is_some_and(ScopeSet::is_empty) {
            problems.push("scopes must name at least one scope".to_owned());
        }
        if !problems.is_empty() {
            return Err(ServiceError::Invalid(problems));
        }
        let scopes = match (caller.scopes, request.scopes) {
            (None, wanted) => wanted,
            (Some(own), None) => Some(own),
            (Some(own), Some(wanted)) if wanted.is_subset_of(own) => Some(wanted),
            (Some(_), Some(_)) => {
                return Err(ServiceError::Forbidden(
                    "A token may only create tokens with scopes it has itself",
                ))
            }
        };
        let name = request.name.map(|n| n.trim().into());
        let created = self
            .mint_with(account, request.expires_at, name, scopes)
            .await?;
        AuditEvent::new(AuditKind::TokenCreated)
            .by(caller)
            .account(account)
            .target(created.data.id)
            .record(&self.store)
            .await;
        Ok(created)
    }

    pub async fn delete(
        &self,
        caller: &Caller,
        account: AccountId,
        id: TokenId,
    ) -> Result<(), ServiceError> {
        require_account(&self.store, caller, account).await?;
        self.remove(account, id).await?;
        AuditEvent::new(AuditKind::TokenDeleted)
            .by(caller)
            .account(account)
            .target(id)
            .record(&self.store)
            .await;
        Ok(())
    }

    /// Deletes the token the caller authenticated with (logout), an API
    /// token or an OAuth access token.
    pub async fn revoke_own(&self, caller: &Caller) -> Result<(), ServiceError> {
        if caller.oauth.is_some() {
            let hash = self
                .store
                .delete_access_token_by_id(caller.token.id)
                .await?
                .ok_or(TOKEN_NOT_FOUND)?;
            self.cache.evict(&[hash]).await;
        } else {
            self.remove(caller.account_id(), caller.token.id).await?;
        }
        AuditEvent::new(AuditKind::TokenDeleted)
            .by(caller)
            .target(caller.token.id)
            .detail(serde_json::json!({"via": "logout"}))
            .record(&self.store)
            .await;
        Ok(())
    }

    /// Deletes, then evicts once the deletion has committed.
    async fn remove(&self, account: AccountId, id: TokenId) -> Result<(), ServiceError> {
        let hash = self
            .store
            .delete_token(account, id)
            .await?
            .ok_or(TOKEN_NOT_FOUND)?;
        self.cache.evict(&[hash]).await;
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
        self.mint_with(account, expires_at, None, None).await
    }

    async fn mint_with(
        &self,
        account: AccountId,
        expires_at: Timestamp,
        name: Option<std::sync::Arc<str>>,
        scopes: Option<ScopeSet>,
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
            name,
            scopes,
            last_used_at: None,
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
}
