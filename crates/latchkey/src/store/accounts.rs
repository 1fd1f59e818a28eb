use super::{rows, Store, StoreError};
use crate::domain::{Account, AccountData, AccountId, Email, Role, SecretHash, Timestamp};
use sqlx::any::AnyRow;

/// An account as stored, with what never goes on the wire.
#[derive(Clone, Debug)]
pub struct AccountRecord {
    pub account: Account,
    pub role: Role,
    /// Set by an admin or taken from GitHub's verified addresses; a change
    /// by the account itself clears it.
    pub email_verified: bool,
}

/// What deleting an account did.
#[derive(Debug)]
pub enum RoleChange {
    /// Set, with the hashes of the account's tokens to evict from caches.
    Changed(Vec<SecretHash>),
    NotFound,
    /// Refused: it is the only admin.
    LastAdmin,
}

pub enum AccountDeletion {
    /// Gone, with its tokens' hashes to evict from caches.
    Deleted(Vec<SecretHash>),
    NotFound,
    /// Refused: it is the only admin.
    LastAdmin,
}

const COLUMNS: &str = "id, name, email, plan_id, role, email_verified";

fn account(row: &AnyRow) -> Result<Account, StoreError> {
    use sqlx::Row;
    Ok(Account {
        id: rows::account_id(row, "id")?,
        name: row.try_get("name")?,
        email: rows::email(row, "email")?,
        plan_id: rows::plan_id(row, "plan_id")?,
    })
}

fn record(row: &AnyRow) -> Result<AccountRecord, StoreError> {
    Ok(AccountRecord {
        account: account(row)?,
        role: rows::role(row, "role")?,
        email_verified: rows::flag(row, "email_verified")?,
    })
}

/// Shared by plain creation, creation with a linked identity and bootstrap.
pub(super) async fn insert_account<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    account: &Account,
    role: Role,
    email_verified: bool,
    created_at: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO accounts (id, name, email, plan_id, role, email_verified, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(account.id.to_string())
    .bind(&account.name)
    .bind(account.email.as_str())
    .bind(account.plan_id.to_string())
    .bind(role.as_str())
    .bind(i64::from(email_verified))
    .bind(created_at.as_micros())
    .execute(executor)
    .await?;
    Ok(())
}

impl Store {
    /// Fails with [`StoreError::Conflict`] when a verified email is taken.
    pub async fn insert_account(
        &self,
        account: &Account,
        role: Role,
        email_verified: bool,
        created_at: Timestamp,
    ) -> Result<(), StoreError> {
        insert_account(&self.writer, account, role, email_verified, created_at).await
    }

    pub async fn get_account(&self, id: AccountId) -> Result<Option<AccountRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM accounts WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(record).transpose()
    }

    /// All accounts, or those with `email`, oldest first. Only verified
    /// emails are unique, so several accounts may claim one address.
    pub async fn find_accounts(
        &self,
        email: Option<&Email>,
    ) -> Result<Vec<AccountRecord>, StoreError> {
        let rows = match email {
            Some(email) => {
                // The verified owner first, then unverified claims.
                let sql = format!(
                    "SELECT {COLUMNS} FROM accounts WHERE email = $1 \
                     ORDER BY email_verified DESC, created_at, id"
                );
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
        rows.iter().map(record).collect()
    }

    /// Changes name and email. The email's flag: `explicit` if given (an
    /// admin's say); else an unchanged email keeps it, and a changed one is
    /// verified if an admin (`by_admin`) changed it, unverified otherwise.
    /// Conflict: a verified email is taken.
    pub async fn update_account(
        &self,
        id: AccountId,
        data: &AccountData,
        by_admin: bool,
        explicit: Option<bool>,
    ) -> Result<Option<Account>, StoreError> {
        // SET expressions see the row as it was, so `email = $2` compares
        // against the old address.
        let sql = format!(
            "UPDATE accounts SET name = $1, email = $2, email_verified = CASE \
             WHEN $3 >= 0 THEN $3 WHEN email = $2 THEN email_verified WHEN $4 = 1 THEN 1 ELSE 0 END \
             WHERE id = $5 RETURNING {COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(data.name.trim())
            .bind(data.email.as_str())
            .bind(explicit.map_or(-1, i64::from))
            .bind(i64::from(by_admin))
            .bind(id.to_string())
            .fetch_optional(&self.writer)
            .await?;
        row.as_ref().map(account).transpose()
    }

    pub async fn count_accounts(&self) -> Result<i64, StoreError> {
        use sqlx::Row;
        let row = sqlx::query("SELECT COUNT(*) AS n FROM accounts")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    /// Deletes the account, its tokens and its OAuth access tokens in one
    /// transaction (the secret hashes come back for the caches), unless it is
    /// the last admin. The admins' rows are locked first, so two concurrent
    /// deletions of the last two admins serialise and the second sees one left.
    pub async fn delete_account(&self, id: AccountId) -> Result<AccountDeletion, StoreError> {
        let id = id.to_string();
        let mut tx = self.writer.begin().await?;
        let admins = self.locked_admins(&mut tx).await?;
        if admins.len() <= 1 && admins.contains(&id) {
            return Ok(AccountDeletion::LastAdmin);
        }
        // The cascade would remove the access tokens too, but not tell the
        // caches: every secret that stops working comes back for eviction.
        let mut hashes = Vec::new();
        for table in ["tokens", "oauth_access_tokens"] {
            let sql = format!("DELETE FROM {table} WHERE account_id = $1 RETURNING secret_hash");
            for row in sqlx::query(&sql).bind(&id).fetch_all(&mut *tx).await? {
                hashes.push(rows::secret_hash(&row, "secret_hash")?);
            }
        }
        let deleted = sqlx::query("DELETE FROM accounts WHERE id = $1")
            .bind(&id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        super::commit(tx).await?;
        Ok(match deleted {
            0 => AccountDeletion::NotFound,
            _ => AccountDeletion::Deleted(hashes),
        })
    }

    /// Sets an account's role; the last admin keeps theirs. Locks the
    /// admins' rows first, like `delete_account`, so two concurrent demotions
    /// of the last two admins serialise and the second sees one left.
    pub async fn set_role(&self, id: AccountId, role: Role) -> Result<RoleChange, StoreError> {
        let id = id.to_string();
        let mut tx = self.writer.begin().await?;
        let admins = self.locked_admins(&mut tx).await?;
        if role != Role::Admin && admins.len() <= 1 && admins.contains(&id) {
            return Ok(RoleChange::LastAdmin);
        }
        let changed = sqlx::query("UPDATE accounts SET role = $1 WHERE id = $2")
            .bind(role.as_str())
            .bind(&id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed == 0 {
            return Ok(RoleChange::NotFound);
        }
        let hashes = sqlx::query("SELECT secret_hash FROM tokens WHERE account_id = $1")
            .bind(&id)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| rows::secret_hash(row, "secret_hash"))
            .collect::<Result<Vec<_>, _>>()?;
        super::commit(tx).await?;
        Ok(RoleChange::Changed(hashes))
    }

    /// The admins' ids, their rows locked (PostgreSQL) until `tx` ends, so
    /// that changes which could remove the last admin serialise. SQLite has
    /// one writer, which serialises them already.
    async fn locked_admins(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ) -> Result<Vec<String>, StoreError> {
        use sqlx::Row;
        let sql = format!(
            "SELECT id FROM accounts WHERE role = 'admin' ORDER BY id{}",
            self.for_update()
        );
        sqlx::query(&sql)
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|row| row.try_get("id").map_err(StoreError::from))
            .collect()
    }
}
