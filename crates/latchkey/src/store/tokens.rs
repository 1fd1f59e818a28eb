use super::{rows, Store, StoreError};
use crate::domain::{AccountId, Role, SecretHash, Token, TokenId};
use sqlx::any::AnyRow;

/// What authenticating a secret needs: the token, its owner's role, and
/// the owner's email (introspection's `username`).
#[derive(Clone, Debug)]
pub struct AuthRecord {
    pub token: Token,
    pub role: Role,
    pub email: String,
}

const COLUMNS: &str = "id, account_id, created_at, expires_at, name, scopes, last_used_at";

fn token(row: &AnyRow) -> Result<Token, StoreError> {
    use sqlx::Row;
    let name: Option<String> = row.try_get("name")?;
    Ok(Token {
        id: rows::token_id(row, "id")?,
        account_id: rows::account_id(row, "account_id")?,
        created_at: rows::timestamp(row, "created_at")?,
        expires_at: rows::timestamp(row, "expires_at")?,
        name: name.map(Into::into),
        scopes: rows::opt_scopes(row, "scopes")?,
        last_used_at: rows::opt_timestamp(row, "last_used_at")?,
    })
}

pub(super) async fn insert_token<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    token: &Token,
    hash: &SecretHash,
) -> Result<(), StoreError> {
    let query = sqlx::query(
        "INSERT INTO tokens (id, account_id, secret_hash, created_at, expires_at, name, scopes) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    );
    bind_token(query, token, hash).execute(executor).await?;
    Ok(())
}

/// The columns in the order of [`TOKEN_COLUMNS`].
pub(super) fn bind_token<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    token: &'q Token,
    hash: &'q SecretHash,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    query
        .bind(token.id.to_string())
        .bind(token.account_id.to_string())
        .bind(&hash.0[..])
        .bind(token.created_at.as_micros())
        .bind(token.expires_at.as_micros())
        .bind(token.name.as_deref())
        .bind(token.scopes.map(|s| s.to_string()))
}

pub(super) const TOKEN_COLUMNS: &str =
    "id, account_id, secret_hash, created_at, expires_at, name, scopes";

impl Store {
    /// Committed when this returns; concurrent inserts share a commit.
    /// [`StoreError::MissingReference`] when the account is gone.
    pub async fn insert_token(&self, token: &Token, hash: &SecretHash) -> Result<(), StoreError> {
        self.group.insert(token, hash).await
    }

    pub async fn list_tokens(&self, account: AccountId) -> Result<Vec<Token>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM tokens WHERE account_id = $1 ORDER BY created_at, id");
        sqlx::query(&sql)
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
        let sql = format!("SELECT {COLUMNS} FROM tokens WHERE id = $1 AND account_id = $2");
        let row = sqlx::query(&sql)
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
        use sqlx::Row;
        let row = sqlx::query(
            "SELECT t.id, t.account_id, t.created_at, t.expires_at, t.name, t.scopes, \
                    t.last_used_at, a.role, a.email \
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
                email: row.try_get("email")?,
            })
        })
        .transpose()
    }
}
