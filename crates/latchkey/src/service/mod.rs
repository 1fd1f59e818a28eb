//! The rules: who may do what, and what a valid request is. Knows the store
//! and the GitHub client, never HTTP.

mod accounts;
mod audit;
mod auth;
mod bootstrap;
mod caller;
mod client_slots;
mod csrf;
pub(crate) mod device_flow;
mod error;
mod github_login;
mod health;
mod last_use;
pub mod oauth;
mod peers;
mod signup_policy;
mod sweeper;
mod token_cache;
mod tokens;
mod web_flow;

pub use accounts::AccountService;
pub use audit::{within, Audit, AuditEvent, AuditPage, AuditQuery, RequestContext};
pub use auth::{AuthFailure, Authenticator};
pub use bootstrap::{bootstrap, Bootstrapped};
pub use caller::{require_account, Caller, ClientCaller, Issued, Principal};
pub use csrf::Csrf;
pub use device_flow::{slowed_interval, DeviceFlow, DeviceStart};
pub use error::ServiceError;
pub use github_login::{GithubLogin, LoginMethod, ACCESS_TOKEN_EXCHANGE_DISABLED};
pub use health::{watch_database, Health};
pub use last_use::{record_last_use, LastRecorded, LastUse};
pub use peers::{listen_to_peers, Caches, Peers};
pub use signup_policy::SignupPolicy;
pub use sweeper::{sweep, SweepConfig, Swept, EXPIRED_TOKEN_GRACE};
pub use token_cache::{TokenCache, TokenCacheConfig};
pub use tokens::{NewToken, TokenService};
pub use web_flow::{
    is_local_path, redirect_allowed, BrowserSignIn, CallbackOutcome, PendingConfirmation,
    WebAuthorize, WebCallback, WebFlow, WebPoll,
};

use crate::clock::Clock;
use crate::crypto::ServerKey;
use crate::github::{GithubClient, GithubConfig};
use crate::metrics::Metrics;
use crate::store::Store;
use chrono::TimeDelta;
use std::sync::Arc;
use std::time::Duration;

/// How logins behave; resolved from configuration.
#[derive(Clone, Debug)]
pub struct LoginConfig {
    pub github: GithubConfig,
    pub policy: SignupPolicy,
    pub token_lifetime: TimeDelta,
    pub device_max_wait: Duration,
    pub device_max_concurrent_polls: usize,
    pub public_url: String,
    pub allowed_redirects: Vec<String>,
    pub web_flow_confirm: bool,
}

/// Every service, built once at start-up over one store and one token cache.
#[derive(Clone)]
pub struct Services {
    pub auth: Authenticator,
    pub accounts: AccountService,
    pub tokens: TokenService,
    pub github_login: GithubLogin,
    pub device_flow: DeviceFlow,
    pub web_flow: WebFlow,
    pub oauth: oauth::OAuthServer,
    pub csrf: Csrf,
    /// What another node's revocations drop (see `listen_to_peers`).
    pub caches: Caches,
    /// Uses waiting to be written (see `record_last_use`).
    pub last_use: Arc<LastUse>,
    /// Whether the database answers (see `watch_database`).
    pub health: Health,
    /// Reading the security log; services write to it themselves.
    pub audit: Audit,
}

impl Services {
    pub fn new(
        store: Store,
        cache: TokenCacheConfig,
        key: ServerKey,
        login: LoginConfig,
        metrics: Arc<Metrics>,
        clock: Clock,
        oauth: oauth::OAuthConfig,
    ) -> Result<Self, ServiceError> {
        let cache = Arc::new(TokenCache::new(
            cache.ttl,
            cache.capacity,
            Some(Peers::new(store.clone())),
        ));
        let tokens = TokenService::new(store.clone(), cache.clone());
        let github = GithubClient::new(login.github)?;
        let github_login = GithubLogin::new(
            store.clone(),
            github.clone(),
            tokens.clone(),
            login.policy,
            login.token_lifetime,
        );
        let last_use = Arc::new(LastUse::default());
        let auth = Authenticator::new(
            store.clone(),
            cache.clone(),
            metrics,
            clock.clone(),
            last_use.clone(),
        );
        let oauth = oauth::OAuthServer::new(
            store.clone(),
            cache.clone(),
            auth.clone(),
            key.clone(),
            oauth,
            clock,
        );
        Ok(Self {
            csrf: Csrf::new(key.clone()),
            last_use,
            health: Health::default(),
            audit: Audit::new(store.clone()),
            caches: Caches {
                tokens: cache.clone(),
                clients: oauth.clients.clone(),
            },
            oauth,
            auth,
            accounts: AccountService::new(store.clone(), cache),
            device_flow: DeviceFlow::new(
                store.clone(),
                github.clone(),
                github_login.clone(),
                key.clone(),
                login.device_max_wait,
                login.device_max_concurrent_polls,
            ),
            web_flow: WebFlow::new(
                store,
                github,
                github_login.clone(),
                key,
                &login.public_url,
                login.allowed_redirects,
                login.web_flow_confirm,
            ),
            github_login,
            tokens,
        })
    }
}
