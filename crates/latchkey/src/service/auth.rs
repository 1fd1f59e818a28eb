use super::{Caller, ServiceError, TokenCache};
use crate::clock::Clock;
use crate::domain::TokenSecret;
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
}

impl Authenticator {
    pub fn new(store: Store, cache: Arc<TokenCache>, metrics: Arc<Metrics>, clock: Clock) -> Self {
        Self {
            store,
            cache,
            metrics,
            clock,
        }
    }

    pub async fn authenticate(&self, presented: Option<&str>) -> Result<Caller, ServiceError> {
        let result = self.check(presented).await;
        let outcome = match &result {
            Ok(_) => Validation::Valid,
            Err(ServiceError::Unauthorized(failure)) => failure.outcome(),
            Err(_) => Validation::Error,
        };
        self.metrics.validation(outcome);
        result
    }

    async fn check(&self, presented: Option<&str>) -> Result<Caller, ServiceError> {
        let presented = presented.ok_or(ServiceError::Unauthorized(AuthFailure::Missing))?;
        let secret = TokenSecret::parse(presented)
            .ok_or(ServiceError::Unauthorized(AuthFailure::Malformed))?;
        let hash = secret.hash();
        let caller = match self.cache.get(&hash) {
            Some(caller) => caller,
            None => {
                let generation = self.cache.generation();
                let record = self
                    .store
                    .find_token_by_hash(&hash)
                    .await?
                    .ok_or(ServiceError::Unauthorized(AuthFailure::Unknown))?;
                let caller = Caller {
                    token: record.token,
                    role: record.role,
                };
                self.cache.insert(hash, caller, generation);
                caller
            }
        };
        if caller.token.expires_at.is_past(self.clock.now()) {
            return Err(ServiceError::Unauthorized(AuthFailure::Expired));
        }
        Ok(caller)
    }
}
