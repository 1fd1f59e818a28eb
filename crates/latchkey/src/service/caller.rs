use super::ServiceError;
use crate::domain::{
    AccountId, ClientId, GrantId, Role, Scope, ScopeSet, Timestamp, Token, TokenId,
};
use crate::store::Store;
use std::sync::Arc;

/// The account behind a request, and the token it presented.
#[derive(Clone, Debug)]
pub struct Caller {
    pub token: Token,
    /// An OAuth access token never carries the admin role, whoever granted it.
    pub role: Role,
    /// What the token may do; `None` is everything the account may (the
    /// Token API's tokens, unless narrowed).
    pub scopes: Option<ScopeSet>,
    /// Set when the token is an OAuth access token.
    pub oauth: Option<Issued>,
    /// The account's email when the token was looked up.
    pub email: Arc<str>,
}

/// Which client and grant an OAuth access token came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Issued {
    pub client: ClientId,
    pub grant: Option<GrantId>,
}

impl Caller {
    pub fn account_id(&self) -> AccountId {
        self.token.account_id
    }

    /// Admin powers are not a scope, so only a full-access token of an
    /// admin has them: a narrowed token acts as a user, whoever made it.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin && self.scopes.is_none()
    }

    /// An account's data is visible to its owner and to admins only.
    pub fn can_access(&self, account: AccountId) -> bool {
        self.is_admin() || self.account_id() == account
    }

    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.is_none_or(|s| s.contains(scope))
    }
}

/// A client_credentials token: it acts as the client, for no account.
#[derive(Clone, Debug)]
pub struct ClientCaller {
    pub token_id: TokenId,
    pub client: ClientId,
    pub scopes: ScopeSet,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// Whoever a valid bearer token stands for.
#[derive(Clone, Debug)]
pub enum Principal {
    Account(Caller),
    Client(ClientCaller),
}

impl Principal {
    pub fn expires_at(&self) -> Timestamp {
        match self {
            Principal::Account(caller) => caller.token.expires_at,
            Principal::Client(client) => client.expires_at,
        }
    }
}

/// An account route's first check: 404 alike for "not yours" and "does not
/// exist", so account ids cannot be probed.
pub async fn require_account(
    store: &Store,
    caller: &Caller,
    account: AccountId,
) -> Result<(), ServiceError> {
    if !caller.can_access(account) {
        return Err(ServiceError::ACCOUNT_NOT_FOUND);
    }
    if caller.account_id() != account && store.get_account(account).await?.is_none() {
        return Err(ServiceError::ACCOUNT_NOT_FOUND);
    }
    Ok(())
}
