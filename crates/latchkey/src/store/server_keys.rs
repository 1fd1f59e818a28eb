use super::{Store, StoreError};
use crate::domain::Timestamp;
use sqlx::Row;

impl Store {
    /// The key stored under `name`, storing `candidate` first if there is none.
    /// Every node on one database therefore ends up with the same key.
    pub async fn key_or_insert(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>, StoreError> {
        sqlx::query(
            "INSERT INTO server_keys (name, value, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(candidate)
        .bind(Timestamp::now().as_micros())
        .execute(&self.pool)
        .await?;
        let row = sqlx::query("SELECT value FROM server_keys WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("value")?)
    }
}
