use super::{AccountService, ServiceError, TokenService};
use crate::domain::{Account, AccountData, Email, Role, Timestamp, UnsafeToken};
use crate::store::Store;
use chrono::TimeDelta;

/// What the first start of an empty database created.
pub struct Bootstrapped {
    pub admin: Account,
    pub token: UnsafeToken,
}

/// On an empty database, creates an admin account and a token for it.
///
/// Two nodes starting together on one empty PostgreSQL both try; the unique
/// email lets exactly one succeed and the other returns `None`.
pub async fn bootstrap(
    store: &Store,
    accounts: &AccountService,
    tokens: &TokenService,
    admin_email: &Email,
    token_lifetime: TimeDelta,
) -> Result<Option<Bootstrapped>, ServiceError> {
    if store.count_accounts(None).await? > 0 {
        return Ok(None);
    }
    let data = AccountData {
        name: "Admin".to_owned(),
        email: admin_email.clone(),
    };
    let admin = match accounts.create_unchecked(data, Role::Admin).await {
        Ok(account) => account,
        Err(ServiceError::Conflict(_)) => return Ok(None),
        Err(err) => return Err(err),
    };
    let token = tokens
        .mint(admin.id, Timestamp::now().plus(token_lifetime))
        .await?;
    Ok(Some(Bootstrapped { admin, token }))
}
