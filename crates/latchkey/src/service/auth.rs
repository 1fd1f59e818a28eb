use super::{
    Caller, ClientCaller, Issued, LastRecorded, LastUse, Principal, ServiceError, TokenCache,
};
use crate::clock::Clock;
use crate::domain::{PrefixedSecret, Role, SecretHash, SecretKind, Token, TokenSecret};
use crate::metrics::{Metrics, Validation};
use crate::store::Store;
use std::sync::Arc;

/// Why a presented credential was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthFailure {
    Missing,
    Malformed,
    Unknown,
    Expired,
}

impl AuthFailure {
    pub fn message(self) -> &'static str {
        match self {
            AuthFailure::Missing => "Authentication required",
            AuthFailure::Malformed => "Malformed token",
            AuthFailure::Unknown => "Invalid token",
            AuthFailure::Expired => "Token expired",
        }
    }

    fn outcome(self) -> Validation {
        match self {
            AuthFailure::Missing => Validation::Missing,
            AuthFailure::Malformed => Validation::Malformed,
            AuthFailure::Unknown => Validation::Unknown,
            AuthFailure::Expired => Validation::Expired,
        }
    }
}

/// Turns a presented secret into a [`Caller`], via the cache when it can.
#[derive(Clone)]
pub struct Authenticator {
    store: Store,
    cache: Arc<TokenCache>,
    metrics: Arc<Metrics>,
    clock: Clock,
    last_use: Arc<LastUse>,
}

impl Authenticator {
    pub fn new(
        store: Store,
        cache: Arc<TokenCache>,
        metrics: Arc<Metrics>,
        clock: Clock,
        last_use: Arc<LastUse>,
    ) -> Self {
        Self {
            store,
            cache,
            metrics,
            clock,
            last_use,
        }
    }

    /// The principal behind a presented bearer secret: an API token (a UUID)
    /// or an OAuth access token (`lk_at_…`). One hash-indexed lookup on a
    /// cache miss, none on a hit; expiry is checked against the clock every time.
    pub async fn authenticate(&self, presented: Option<&str>) -> Result<Principal, ServiceError> {
        let result = self.check(presented).await;
        let outcome = match &result {
            Ok(_) => Validation::Valid,
            Err(ServiceError::Unauthorized(failure)) => failure.outcome(),
            Err(_) => Validation::Error,
        };
        self.metrics.validation(outcome);
        result
    }

    async fn check(&self, presented: Option<&str>) -> Result<Principal, ServiceError> {
        let presented = presented.ok_or(ServiceError::Unauthorized(AuthFailure::Missing))?;
        let (hash, oauth) = match presented.starts_with("lk_") {
            true => PrefixedSecret::parse_kind(presented, SecretKind::AccessToken)
                .map(|s| (s.hash(), true)),
            false => TokenSecret::parse(presented).map(|s| (s.hash(), false)),
        }
        .ok_or(ServiceError::Unauthorized(AuthFailure::Malformed))?;
        let (principal, recorded) = match self.cache.get(&hash) {
            Some(entry) => entry,
            None => {
                let generation = self.cache.generation();
                let entry = match oauth {
                    true => self.access_token(&hash).await?,
                    false => self.api_token(&hash).await?,
                }
                .ok_or(ServiceError::Unauthorized(AuthFailure::Unknown))?;
                self.cache.insert(hash, entry.clone(), generation);
                entry
            }
        };
        let now = self.clock.now();
        if principal.expires_at().is_past(now) {
            return Err(ServiceError::Unauthorized(AuthFailure::Expired));
        }
        self.last_use.note(&principal, &recorded, now);
        Ok(principal)
    }

    async fn api_token(
        &self,
        hash: &SecretHash,
    ) -> Result<Option<(Principal, LastRecorded)>, ServiceError> {
        let Some(record) = self.store.find_token_by_hash(hash).await? else {
            return Ok(None);
        };
        let recorded = LastRecorded::new(record.token.last_used_at);
        let principal = Principal::Account(Caller {
            scopes: record.token.scopes,
            token: record.token,
            role: record.role,
            oauth: None,
            email: record.email.into(),
        });
        Ok(Some((principal, recorded)))
    }

    async fn access_token(
        &self,
        hash: &SecretHash,
    ) -> Result<Option<(Principal, LastRecorded)>, ServiceError> {
        let Some(record) = self.store.find_access_token(hash).await? else {
            return Ok(None);
        };
        let recorded = LastRecorded::new(record.last_used_at);
        let principal = match record.account {
            Some(account) => Principal::Account(Caller {
                token: Token {
                    id: record.id,
                    account_id: account,
                    created_at: record.created_at,
                    expires_at: record.expires_at,
                    name: None,
                    scopes: Some(record.scopes),
                    last_used_at: None,
                },
                // Delegated access is the user's own, never an admin's.
                role: Role::User,
                scopes: Some(record.scopes),
                oauth: Some(Issued {
                    client: record.client,
                    grant: record.grant,
                }),
                email: record.email.unwrap_or_default().into(),
            }),
            None => Principal::Client(ClientCaller {
                token_id: record.id,
                client: record.client,
                scopes: record.scopes,
                created_at: record.created_at,
                expires_at: record.expires_at,
            }),
        };
        Ok(Some((principal, recorded)))
    }
}
