use super::{rows, Store, StoreError};
use crate::domain::{AccountId, Role, SecretHash, Timestamp, Token, TokenId};
use sqlx::any::AnyRow;

/// What authenticating a secret needs: the token and its owner's role.
#[derive(Clone, Copy, Debug)]
pub struct AuthRecord {
    pub token: Token,
    pub role: Role,
}

fn token(row: &AnyRow) -> Result<Token, StoreError> {
    Ok(Token {
        id: rows::token_id(row, "id")?,
        account_id: rows::account_id(row, "account_id")?,
        created_at: rows::timestamp(row, "created_at")?,
        expires_at: rows::timestamp(row, "expires_at")?,
    })
}

pub(super) async fn insert_token<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    token: &Token,
    hash: &SecretHash,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO tokens (id, account_id, secret_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token.id.to_string())
    .bind(token.account_id.to_string())
    .bind(&hash.0[..])
    .bind(token.created_at.as_micros())
    .bind(token.expires_at.as_micros())
    .execute(executor)
    .await?;
    Ok(())
}

impl Store {
    /// Committed when this returns; concurrent inserts share a commit.
    /// [`StoreError::MissingReference`] when the account is gone.
    pub async fn insert_token(&self, token: &Token, hash: &SecretHash) -> Result<(), StoreError> {
        self.tokens.insert(token, hash).await
    }

    pub async fn list_tokens(&self, account: AccountId) -> Result<Vec<Token>, StoreError> {
        sqlx::query(
            "SELECT id, account_id, created_at, expires_at FROM tokens \
             WHERE account_id = $1 ORDER BY created_at, id",
        )
        .bind(account.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(token)
        .collect()
    }

    pub async fn get_token(
        &self,
        account: AccountId,
        id: TokenId,
    ) -> Result<Option<Token>, StoreError> {
        let row = sqlx::query(
            "SELECT id, account_id, created_at, expires_at FROM tokens \
             WHERE id = $1 AND account_id = $2",
        )
        .bind(id.to_string())
        .bind(account.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(token).transpose()
    }

    /// Returns the deleted token's hash, or `None` when there was no such token.
    pub async fn delete_token(
        &self,
        account: AccountId,
        id: TokenId,
    ) -> Result<Option<SecretHash>, StoreError> {
        let row = sqlx::query(
            "DELETE FROM tokens WHERE id = $1 AND account_id = $2 RETURNING secret_hash",
        )
        .bind(id.to_string())
        .bind(account.to_string())
        .fetch_optional(&self.writer)
        .await?;
        row.map(|row| rows::secret_hash(&row, "secret_hash"))
            .transpose()
    }

    pub async fn find_token_by_hash(
        &self,
        hash: &SecretHash,
    ) -> Result<Option<AuthRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT t.id, t.account_id, t.created_at, t.expires_at, a.role \
             FROM tokens t JOIN accounts a ON a.id = t.account_id \
             WHERE t.secret_hash = $1",
        )
        .bind(&hash.0[..])
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(AuthRecord {
                token: token(&row)?,
                role: rows::role(&row, "role")?,
            })
        })
        .transpose()
    }

    /// Removes tokens that expired before `cutoff`; returns how many went.
    pub async fn delete_expired_tokens(&self, cutoff: Timestamp) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM tokens WHERE expires_at < $1")
            .bind(cutoff.as_micros())
            .execute(&self.writer)
            .await?
            .rows_affected())
    }
}
