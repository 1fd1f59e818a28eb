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
        .execute(&self.writer)
        .await?;
        let row = sqlx::query("SELECT value FROM server_keys WHERE name = $1")
            .bind(name)
            .fetch_one(&self.writer)
            .await?;
        Ok(row.try_get("value")?)
    }
}

impl Store {
    /// Claims the one-time event `name` inside `tx`: `true` for exactly one
    /// caller ever. Of two nodes racing, PostgreSQL makes the second wait for
    /// the first's commit and then find the row.
    pub(super) async fn claim_once(
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        name: &str,
    ) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO once_markers (name, created_at) VALUES ($1, $2) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(Timestamp::now().as_micros())
        .execute(&mut **tx)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }
}
