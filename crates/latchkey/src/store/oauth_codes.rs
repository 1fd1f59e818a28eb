//! Authorization codes: single use, short-lived, bound to a client, a
//! redirect URI and a PKCE challenge.

use super::oauth_tokens::{insert_grant, insert_pair, NewAccessToken, NewGrant, NewRefreshToken};
use super::{rows, Store, StoreError};
use crate::domain::{AccountId, ClientId, GrantId, ScopeSet, SecretHash, Timestamp};
use sqlx::Row;

#[derive(Clone, Debug)]
pub struct NewCode {
    pub hash: SecretHash,
    pub client: ClientId,
    pub account: AccountId,
    /// As sent at authorize (`None` if the client sent none).
    pub redirect_uri: Option<String>,
    pub code_challenge: Option<String>,
    pub scopes: ScopeSet,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct CodeRecord {
    pub client: ClientId,
    pub account: AccountId,
    pub redirect_uri: Option<String>,
    pub code_challenge: Option<String>,
    pub scopes: ScopeSet,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
    /// The grant its exchange created.
    pub grant: Option<GrantId>,
}

impl Store {
    pub async fn insert_code(&self, code: &NewCode) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oauth_codes (code_hash, client_id, account_id, redirect_uri, \
             code_challenge, scopes, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(code.hash.0.to_vec())
        .bind(code.client.to_string())
        .bind(code.account.to_string())
        .bind(code.redirect_uri.as_deref())
        .bind(code.code_challenge.as_deref())
        .bind(code.scopes.to_string())
        .bind(code.created_at.as_micros())
        .bind(code.expires_at.as_micros())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn find_code(&self, hash: &SecretHash) -> Result<Option<CodeRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT client_id, account_id, redirect_uri, code_challenge, scopes, expires_at, \
                    used_at, grant_id FROM oauth_codes WHERE code_hash = $1",
        )
        .bind(hash.0.to_vec())
        .fetch_optional(&self.writer)
        .await?;
        row.map(|row| {
            Ok(CodeRecord {
                client: rows::client_id(&row, "client_id")?,
                account: rows::account_id(&row, "account_id")?,
                redirect_uri: row.try_get("redirect_uri")?,
                code_challenge: row.try_get("code_challenge")?,
                scopes: rows::scopes(&row, "scopes")?,
                expires_at: rows::timestamp(&row, "expires_at")?,
                used_at: rows::opt_timestamp(&row, "used_at")?,
                grant: rows::opt_grant_id(&row, "grant_id")?,
            })
        })
        .transpose()
    }

    /// Redeems a code: one conditional UPDATE claims it (and records the
    /// grant it creates, so a replay can find and revoke that grant), then
    /// the grant and its tokens, all in one transaction. `false`: the code
    /// was already used.
    pub async fn redeem_code(
        &self,
        hash: &SecretHash,
        now: Timestamp,
        grant: &NewGrant,
        access: &NewAccessToken,
        refresh: Option<&NewRefreshToken>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin().await?;
        let claimed = sqlx::query(
            "UPDATE oauth_codes SET used_at = $1, grant_id = $2 \
             WHERE code_hash = $3 AND used_at IS NULL",
        )
        .bind(now.as_micros())
        .bind(grant.id.to_string())
        .bind(hash.0.to_vec())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed != 1 {
            // Rather than dropped: the writer's release check then has no
            // queued rollback to wait for (a lost race is common under load).
            tx.rollback().await?;
            return Ok(false);
        }
        insert_grant(&mut tx, grant).await?;
        insert_pair(&mut tx, access, refresh).await?;
        super::commit(tx).await?;
        Ok(true)
    }
}
