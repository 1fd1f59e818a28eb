use super::{rows, Store, StoreError};
use crate::domain::{Account, AccountData, AccountId, Email, Role, SecretHash, Timestamp};
use sqlx::any::AnyRow;

/// An account as stored, with the role that never goes on the wire.
#[derive(Clone, Debug)]
pub struct AccountRecord {
    pub account: Account,
    pub role: Role,
}

const COLUMNS: &str = "id, name, email, plan_id, role";

fn account(row: &AnyRow) -> Result<Account, StoreError> {
    use sqlx::Row;
    Ok(Account {
        id: rows::account_id(row, "id")?,
        name: row.try_get("name")?,
        email: rows::email(row, "email")?,
        plan_id: rows::plan_id(row, "plan_id")?,
    })
}

/// Shared by plain creation and creation with a linked identity.
pub(super) async fn insert_account<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    account: &Account,
    role: Role,
    created_at: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO accounts (id, name, email, plan_id, role, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(account.id.to_string())
    .bind(&account.name)
    .bind(account.email.as_str())
    .bind(account.plan_id.to_string())
    .bind(role.as_str())
    .bind(created_at.as_micros())
    .execute(executor)
    .await?;
    Ok(())
}

fn record(row: &AnyRow) -> Result<AccountRecord, StoreError> {
    Ok(AccountRecord {
        account: account(row)?,
        role: rows::role(row, "role")?,
    })
}

impl Store {
    /// Fails with [`StoreError::Conflict`] when the email is taken.
    pub async fn insert_account(
        &self,
        account: &Account,
        role: Role,
        created_at: Timestamp,
    ) -> Result<(), StoreError> {
        insert_account(&self.pool, account, role, created_at).await
    }

    pub async fn get_account(&self, id: AccountId) -> Result<Option<AccountRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM accounts WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(record).transpose()
    }

    /// All accounts, or the one with `email`, oldest first.
    pub async fn find_accounts(&self, email: Option<&Email>) -> Result<Vec<Account>, StoreError> {
        let rows = match email {
            Some(email) => {
                let sql = format!("SELECT {COLUMNS} FROM accounts WHERE email = $1");
                sqlx::query(&sql)
                    .bind(email.as_str())
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                let sql = format!("SELECT {COLUMNS} FROM accounts ORDER BY created_at, id");
                sqlx::query(&sql).fetch_all(&self.pool).await?
            }
        };
        rows.iter().map(account).collect()
    }

    /// Fails with [`StoreError::Conflict`] when the new email is taken.
    pub async fn update_account(
        &self,
        id: AccountId,
        data: &AccountData,
    ) -> Result<Option<Account>, StoreError> {
        let sql =
            format!("UPDATE accounts SET name = $1, email = $2 WHERE id = $3 RETURNING {COLUMNS}");
        let row = sqlx::query(&sql)
            .bind(data.name.trim())
            .bind(data.email.as_str())
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(account).transpose()
    }

    pub async fn count_accounts(&self, role: Option<Role>) -> Result<i64, StoreError> {
        use sqlx::Row;
        let row = match role {
            Some(role) => {
                sqlx::query("SELECT COUNT(*) AS n FROM accounts WHERE role = $1")
                    .bind(role.as_str())
                    .fetch_one(&self.pool)
                    .await?
            }
            None => {
                sqlx::query("SELECT COUNT(*) AS n FROM accounts")
                    .fetch_one(&self.pool)
                    .await?
            }
        };
        Ok(row.try_get("n")?)
    }

    /// Deletes the account and its tokens in one transaction and returns the
    /// deleted tokens' hashes so callers can evict them from caches.
    /// `None` means there was no such account.
    pub async fn delete_account(
        &self,
        id: AccountId,
    ) -> Result<Option<Vec<SecretHash>>, StoreError> {
        let id = id.to_string();
        let mut tx = self.pool.begin().await?;
        let hashes = sqlx::query("DELETE FROM tokens WHERE account_id = $1 RETURNING secret_hash")
            .bind(&id)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| rows::secret_hash(row, "secret_hash"))
            .collect::<Result<Vec<_>, _>>()?;
        let deleted = sqlx::query("DELETE FROM accounts WHERE id = $1")
            .bind(&id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok((deleted > 0).then_some(hashes))
    }
}
