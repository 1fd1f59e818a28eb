use super::{rows, Store, StoreError};
use crate::domain::{AccountId, SignInOrigin, Timestamp};
use sqlx::Row;

/// A browser login in flight, found by its GitHub-side state.
#[derive(Debug)]
pub struct WebLogin {
    pub redirect: Option<String>,
    pub expires_at: Timestamp,
    /// Set once the callback has run, with its outcome.
    pub done: bool,
    /// A browser sign-in: the hash of the pre-login cookie that must come
    /// back with the callback.
    pub prelogin_hash: Option<[u8; 32]>,
    pub created_at: Timestamp,
    pub origin: SignInOrigin,
    /// `--web-flow-confirm`: GitHub signed this account in; the person has
    /// yet to confirm, from the browser whose cookie hashes to `confirm_hash`.
    pub awaiting_account: Option<AccountId>,
    pub confirm_hash: Option<[u8; 32]>,
}

/// What a poll found, claimed atomically.
#[derive(Debug, PartialEq, Eq)]
pub enum WebLoginClaim {
    LoggedIn(AccountId),
    Failed(String),
    Pending,
    Unknown,
}

impl Store {
    pub async fn insert_web_login(
        &self,
        state_hash: &[u8; 32],
        poll_hash: &[u8; 32],
        redirect: Option<&str>,
        expires_at: Timestamp,
        prelogin_hash: Option<&[u8; 32]>,
        origin: &SignInOrigin,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO web_logins \
             (state_hash, poll_hash, redirect, created_at, expires_at, prelogin_hash, \
              started_from, started_agent) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&state_hash[..])
        .bind(&poll_hash[..])
        .bind(redirect)
        .bind(Timestamp::now().as_micros())
        .bind(expires_at.as_micros())
        .bind(prelogin_hash.map(|h| h.to_vec()))
        .bind(origin.address.as_deref())
        .bind(origin.user_agent.as_deref())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn find_web_login(
        &self,
        state_hash: &[u8; 32],
    ) -> Result<Option<WebLogin>, StoreError> {
        let row = sqlx::query(
            "SELECT redirect, created_at, expires_at, account_id, error, prelogin_hash, \
                    started_from, started_agent, awaiting_account, confirm_hash \
             FROM web_logins WHERE state_hash = $1",
        )
        .bind(&state_hash[..])
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let account: Option<String> = row.try_get("account_id")?;
            let error: Option<String> = row.try_get("error")?;
            let prelogin: Option<Vec<u8>> = row.try_get("prelogin_hash")?;
            let confirm: Option<Vec<u8>> = row.try_get("confirm_hash")?;
            let awaiting: Option<String> = row.try_get("awaiting_account")?;
            Ok(WebLogin {
                redirect: row.try_get("redirect")?,
                expires_at: rows::timestamp(&row, "expires_at")?,
                done: account.is_some() || error.is_some(),
                prelogin_hash: prelogin
                    .map(|h| {
                        h.try_into()
                            .map_err(|_| StoreError::Corrupt("prelogin_hash"))
                    })
                    .transpose()?,
                created_at: rows::timestamp(&row, "created_at")?,
                origin: SignInOrigin {
                    address: row.try_get("started_from")?,
                    user_agent: row.try_get("started_agent")?,
                },
                awaiting_account: awaiting
                    .map(|a| {
                        a.parse()
                            .map_err(|_| StoreError::Corrupt("awaiting_account"))
                    })
                    .transpose()?,
                confirm_hash: confirm
                    .map(|h| {
                        h.try_into()
                            .map_err(|_| StoreError::Corrupt("confirm_hash"))
                    })
                    .transpose()?,
            })
        })
        .transpose()
    }

    /// Records the callback's outcome once; `false` if it was already recorded.
    pub async fn finish_web_login(
        &self,
        state_hash: &[u8; 32],
        outcome: Result<AccountId, &str>,
    ) -> Result<bool, StoreError> {
        let (account, error) = match outcome {
            Ok(account) => (Some(account.to_string()), None),
            Err(error) => (None, Some(error)),
        };
        let updated = sqlx::query(
            "UPDATE web_logins SET account_id = $1, error = $2 \
             WHERE state_hash = $3 AND account_id IS NULL AND error IS NULL",
        )
        .bind(account)
        .bind(error)
        .bind(&state_hash[..])
        .execute(&self.writer)
        .await?
        .rows_affected();
        Ok(updated == 1)
    }

    /// `--web-flow-confirm`: GitHub signed `account` in at the callback; it
    /// waits for the person's answer from the browser holding the cookie
    /// that hashes to `confirm_hash`. `false` if the callback already ran.
    pub async fn await_web_login_confirmation(
        &self,
        state_hash: &[u8; 32],
        account: AccountId,
        confirm_hash: &[u8; 32],
    ) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE web_logins SET awaiting_account = $1, confirm_hash = $2 \
             WHERE state_hash = $3 AND account_id IS NULL AND error IS NULL \
             AND awaiting_account IS NULL",
        )
        .bind(account.to_string())
        .bind(&confirm_hash[..])
        .bind(&state_hash[..])
        .execute(&self.writer)
        .await?
        .rows_affected();
        Ok(updated == 1)
    }

    /// The person confirmed: the waiting account becomes the outcome, once.
    pub async fn confirm_web_login(
        &self,
        state_hash: &[u8; 32],
        confirm_hash: &[u8; 32],
    ) -> Result<Option<AccountId>, StoreError> {
        let row = sqlx::query(
            "UPDATE web_logins SET account_id = awaiting_account \
             WHERE state_hash = $1 AND confirm_hash = $2 AND awaiting_account IS NOT NULL \
             AND account_id IS NULL AND error IS NULL RETURNING account_id",
        )
        .bind(&state_hash[..])
        .bind(&confirm_hash[..])
        .fetch_optional(&self.writer)
        .await?;
        row.map(|row| rows::account_id(&row, "account_id"))
            .transpose()
    }

    /// Takes a finished login out in one statement, so of two racing polls
    /// exactly one gets it.
    pub async fn claim_web_login(
        &self,
        poll_hash: &[u8; 32],
        now: Timestamp,
    ) -> Result<WebLoginClaim, StoreError> {
        let claimed = sqlx::query(
            "DELETE FROM web_logins WHERE poll_hash = $1 AND expires_at > $2 \
             AND (account_id IS NOT NULL OR error IS NOT NULL) RETURNING account_id, error",
        )
        .bind(&poll_hash[..])
        .bind(now.as_micros())
        .fetch_optional(&self.writer)
        .await?;
        if let Some(row) = claimed {
            let error: Option<String> = row.try_get("error")?;
            return Ok(match error {
                Some(error) => WebLoginClaim::Failed(error),
                None => WebLoginClaim::LoggedIn(rows::account_id(&row, "account_id")?),
            });
        }
        let pending =
            sqlx::query("SELECT 1 AS one FROM web_logins WHERE poll_hash = $1 AND expires_at > $2")
                .bind(&poll_hash[..])
                .bind(now.as_micros())
                .fetch_optional(&self.pool)
                .await?;
        Ok(if pending.is_some() {
            WebLoginClaim::Pending
        } else {
            WebLoginClaim::Unknown
        })
    }
}
