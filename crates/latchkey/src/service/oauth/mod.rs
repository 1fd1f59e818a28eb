//! Latchkey as an OAuth2 authorization server (RFC 6749, 6750, 7636, 7009,
//! 7662, 8414, 8628, 9207, and the RFC 9700 security BCP). Each grant and
//! endpoint is one file, readable top to bottom; this module holds what they
//! share. The HTTP adapters only parse, call and map the result.

mod authorizations;
mod authorize;
mod clients;
mod config;
mod device_grant;
mod error;
mod introspect;
mod issue;
mod revoke;
mod token_client_credentials;
mod token_code;
mod token_refresh;
mod userinfo;

pub use authorizations::Authorization;
pub use authorize::{AuthorizeError, AuthorizeRequest, ValidAuthorization};
pub use clients::{ClientInput, ClientRegistry, PresentedClient, RegisteredClient};
pub use config::OAuthConfig;
pub use device_grant::{DeviceAuthorization, PendingDevice};
pub use error::{ErrorCode, OAuthError};
pub use introspect::Introspection;
pub use issue::TokenResponse;
pub use token_code::CodeExchange;
pub use userinfo::UserInfo;

use super::{Authenticator, TokenCache};
use crate::clock::Clock;
use crate::crypto::ServerKey;
use crate::domain::ScopeSet;
use crate::store::Store;
use std::borrow::Cow;
use std::sync::Arc;

#[derive(Clone)]
pub struct OAuthServer {
    store: Store,
    cache: Arc<TokenCache>,
    auth: Authenticator,
    key: ServerKey,
    config: OAuthConfig,
    clock: Clock,
    pub clients: ClientRegistry,
}

impl OAuthServer {
    pub fn new(
        store: Store,
        cache: Arc<TokenCache>,
        auth: Authenticator,
        key: ServerKey,
        config: OAuthConfig,
        clock: Clock,
    ) -> Self {
        Self {
            clients: ClientRegistry::new(store.clone(), cache.clone()),
            store,
            cache,
            auth,
            key,
            config,
            clock,
        }
    }

    pub fn config(&self) -> &OAuthConfig {
        &self.config
    }
}

const NOT_THE_CLIENTS: &str = "the client may not ask for these scopes";

/// The scopes a request asks for (RFC 6749 §3.3): the `scope` parameter if
/// it names any, else all of `within`, and never beyond it (`beyond` says
/// why not). The error is the description of an `invalid_scope`.
fn requested_scopes(
    scope: Option<&str>,
    within: ScopeSet,
    beyond: &'static str,
) -> Result<ScopeSet, Cow<'static, str>> {
    let scopes = match scope {
        None | Some("") => return Ok(within),
        Some(text) => {
            ScopeSet::parse(text).map_err(|unknown| format!("unknown scope {unknown:?}"))?
        }
    };
    match scopes.is_subset_of(within) {
        true => Ok(scopes),
        false => Err(beyond.into()),
    }
}
