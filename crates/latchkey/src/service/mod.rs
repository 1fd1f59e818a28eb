//! The rules: who may do what, and what a valid request is. Knows the store,
//! never HTTP.

mod accounts;
mod auth;
mod bootstrap;
mod caller;
mod error;
mod token_cache;
mod tokens;

pub use accounts::AccountService;
pub use auth::{AuthFailure, Authenticator};
pub use bootstrap::{bootstrap, Bootstrapped};
pub use caller::Caller;
pub use error::ServiceError;
pub use token_cache::TokenCache;
pub use tokens::TokenService;

use crate::store::Store;
use std::sync::Arc;
use std::time::Duration;

/// Every service, built once at start-up over one store and one token cache.
#[derive(Clone)]
pub struct Services {
    pub auth: Authenticator,
    pub accounts: AccountService,
    pub tokens: TokenService,
}

impl Services {
    pub fn new(store: Store, cache_ttl: Duration) -> Self {
        let cache = Arc::new(TokenCache::new(cache_ttl, 100_000));
        Self {
            auth: Authenticator::new(store.clone(), cache.clone()),
            accounts: AccountService::new(store.clone(), cache.clone()),
            tokens: TokenService::new(store, cache),
        }
    }
}
