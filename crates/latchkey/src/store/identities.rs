use super::accounts::insert_account;
use super::{rows, Store, StoreError};
use crate::domain::{Account, AccountId, Role, Timestamp};

/// An external identity to link to an account.
pub struct Identity<'a> {
    pub provider: &'a str,
    /// The provider's stable id (GitHub's numeric user id), never a login.
    pub subject: &'a str,
    pub login: &'a str,
}

impl Store {
    pub async fn find_identity(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<AccountId>, StoreError> {
        let row =
            sqlx::query("SELECT account_id FROM identities WHERE provider = $1 AND subject = $2")
                .bind(provider)
                .bind(subject)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|row| rows::account_id(&row, "account_id"))
            .transpose()
    }

    /// The subject linked to `account` for `provider`, if any.
    pub async fn identity_of_account(
        &self,
        provider: &str,
        account: AccountId,
    ) -> Result<Option<String>, StoreError> {
        use sqlx::Row;
        let row =
            sqlx::query("SELECT subject FROM identities WHERE provider = $1 AND account_id = $2")
                .bind(provider)
                .bind(account.to_string())
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|row| row.try_get("subject")).transpose()?)
    }

    /// Fails with [`StoreError::Conflict`] when the identity or the account's
    /// slot for this provider is taken.
    pub async fn link_identity(
        &self,
        account: AccountId,
        identity: &Identity<'_>,
    ) -> Result<(), StoreError> {
        insert_identity(&self.writer, account, identity).await
    }

    /// Creates the account and links the identity in one transaction, so a
    /// failed link leaves no orphan account. Conflict: the verified email or the
    /// identity is taken.
    pub async fn create_account_with_identity(
        &self,
        account: &Account,
        role: Role,
        identity: &Identity<'_>,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        // The email came from GitHub's verified addresses.
        insert_account(&mut *tx, account, role, true, Timestamp::now()).await?;
        insert_identity(&mut *tx, account.id, identity).await?;
        super::commit(tx).await?;
        Ok(())
    }
}

async fn insert_identity<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    account: AccountId,
    identity: &Identity<'_>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO identities (provider, subject, account_id, login, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(identity.provider)
    .bind(identity.subject)
    .bind(account.to_string())
    .bind(identity.login)
    .bind(Timestamp::now().as_micros())
    .execute(executor)
    .await?;
    Ok(())
}
