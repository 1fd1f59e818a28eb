//! `GET /oauth/userinfo`: who granted the token, as far as its scopes allow.

use super::OAuthServer;
use crate::domain::{Email, Scope};
use crate::service::{Caller, ServiceError};

pub struct UserInfo {
    /// The account id, as `sub` in introspection.
    pub sub: String,
    pub name: Option<String>,
    pub email: Option<Email>,
    pub email_verified: Option<bool>,
}

impl OAuthServer {
    pub async fn userinfo(&self, caller: &Caller) -> Result<UserInfo, ServiceError> {
        let record = self
            .store
            .get_account(caller.account_id())
            .await?
            .ok_or(ServiceError::ACCOUNT_NOT_FOUND)?;
        let (profile, email) = (caller.allows(Scope::Profile), caller.allows(Scope::Email));
        Ok(UserInfo {
            sub: record.account.id.to_string(),
            name: profile.then(|| record.account.name.clone()),
            email_verified: email.then_some(record.email_verified),
            email: email.then_some(record.account.email),
        })
    }
}
