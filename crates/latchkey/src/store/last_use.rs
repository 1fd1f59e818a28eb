//! Writing when tokens and grants were last used, in batches.

use super::{Store, StoreError};
use crate::domain::{GrantId, Timestamp, TokenId};

/// Something whose use is recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Used {
    Token(TokenId),
    Grant(GrantId),
}

/// Rows per transaction, so that one flush never holds the writer long.
const BATCH: usize = 500;

impl Store {
    /// Moves each `last_used_at` forward (never back: several nodes write);
    /// a row deleted meanwhile is skipped.
    pub async fn record_last_use(&self, uses: &[(Used, Timestamp)]) -> Result<(), StoreError> {
        for chunk in uses.chunks(BATCH) {
            let mut tx = self.writer.begin().await?;
            for (used, at) in chunk {
                let (sql, id) = match used {
                    Used::Token(id) => (
                        "UPDATE tokens SET last_used_at = $1 \
                         WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)",
                        id.to_string(),
                    ),
                    Used::Grant(id) => (
                        "UPDATE oauth_grants SET last_used_at = $1 \
                         WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)",
                        id.to_string(),
                    ),
                };
                sqlx::query(sql)
                    .bind(at.as_micros())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
        Ok(())
    }
}
