use crate::domain::{AccountId, Role, Token};

/// The authenticated party behind a request, and the token it presented.
#[derive(Clone, Copy, Debug)]
pub struct Caller {
    pub token: Token,
    pub role: Role,
}

impl Caller {
    pub fn account_id(&self) -> AccountId {
        self.token.account_id
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// An account's data is visible to its owner and to admins only.
    pub fn can_access(&self, account: AccountId) -> bool {
        self.is_admin() || self.account_id() == account
    }
}
