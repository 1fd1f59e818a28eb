use super::ServiceError;
use crate::domain::{
    Account, AccountId, Email, Timestamp, Token, TokenId, TokenSecret, UnsafeToken,
};
use crate::store::{Store, DEFAULT_PLAN_ID};
use chrono::TimeDelta;

/// What the first start of an empty database created.
pub struct Bootstrapped {
    pub admin: Account,
    pub token: UnsafeToken,
}

/// On an empty database, creates an admin account and a token for it.
///
/// Account, token and a once-only marker go in one transaction, so of several
/// nodes starting together on one empty database exactly one bootstraps, and
/// none leaves an admin without a token.
pub async fn bootstrap(
    store: &Store,
    admin_email: &Email,
    token_lifetime: TimeDelta,
) -> Result<Option<Bootstrapped>, ServiceError> {
    if store.count_accounts().await? > 0 {
        return Ok(None);
    }
    let now = Timestamp::now();
    let admin = Account {
        id: AccountId::generate(),
        name: "Admin".to_owned(),
        email: admin_email.clone(),
        plan_id: DEFAULT_PLAN_ID,
    };
    let secret = TokenSecret::generate();
    let token = Token {
        id: TokenId::generate(),
        account_id: admin.id,
        created_at: now,
        expires_at: now.plus(token_lifetime),
        name: None,
        scopes: None,
        last_used_at: None,
    };
    if !store
        .bootstrap_admin(&admin, &token, &secret.hash())
        .await?
    {
        return Ok(None);
    }
    Ok(Some(Bootstrapped {
        admin,
        token: UnsafeToken {
            data: token,
            secret,
        },
    }))
}
