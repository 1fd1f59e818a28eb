use super::accounts::insert_account;
use super::tokens::insert_token;
use super::{Store, StoreError};
use crate::domain::{Account, Role, SecretHash, Token};

impl Store {
    /// Creates the first admin and its token, in one transaction, if and only
    /// if nobody has bootstrapped this database before and it has no
    /// accounts. `false`: another node (or an earlier start) did it.
    pub async fn bootstrap_admin(
        &self,
        admin: &Account,
        token: &Token,
        hash: &SecretHash,
    ) -> Result<bool, StoreError> {
        use sqlx::Row;
        let mut tx = self.writer.begin().await?;
        if !Store::claim_once(&mut tx, "bootstrap").await? {
            return Ok(false);
        }
        let existing: i64 = sqlx::query("SELECT COUNT(*) AS n FROM accounts")
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if existing > 0 {
            super::commit(tx).await?;
            return Ok(false);
        }
        // Configuration named this email: it counts as set by an admin.
        insert_account(&mut *tx, admin, Role::Admin, true, token.created_at).await?;
        insert_token(&mut *tx, token, hash).await?;
        super::commit(tx).await?;
        Ok(true)
    }
}
