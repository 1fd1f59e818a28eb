//! Writing when tokens and grants were last used, in batches.

use super::{Store, StoreError};
use crate::domain::{GrantId, Timestamp, TokenId};

/// Something whose use is recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Used {
    Token(TokenId),
    Grant(GrantId),
}

/// Rows per statement: two parameters each, well inside both databases'
/// limits, and a statement short enough not to hold the writer long.
const BATCH: usize = 500;

impl Store {
    /// Moves each `last_used_at` forward (never back: several nodes write),
    /// one statement per batch of rows; a row deleted meanwhile is skipped.
    pub async fn record_last_use(&self, uses: &[(Used, Timestamp)]) -> Result<(), StoreError> {
        // One row per id (the latest use): a statement may name each once.
        let mut latest: std::collections::HashMap<Used, Timestamp> =
            std::collections::HashMap::with_capacity(uses.len());
        for (used, at) in uses {
            let kept = latest.entry(*used).or_insert(*at);
            *kept = (*kept).max(*at);
        }
        let uses: Vec<(Used, Timestamp)> = latest.into_iter().collect();
        let tokens: Vec<(String, i64)> = uses
            .iter()
            .filter_map(|(used, at)| match used {
                Used::Token(id) => Some((id.to_string(), at.as_micros())),
                Used::Grant(_) => None,
            })
            .collect();
        let grants: Vec<(String, i64)> = uses
            .iter()
            .filter_map(|(used, at)| match used {
                Used::Grant(id) => Some((id.to_string(), at.as_micros())),
                Used::Token(_) => None,
            })
            .collect();
        for (table, rows) in [("tokens", tokens), ("oauth_grants", grants)] {
            for chunk in rows.chunks(BATCH) {
                let values = (0..chunk.len())
                    .map(|i| format!("(${}, CAST(${} AS BIGINT))", 2 * i + 1, 2 * i + 2))
                    .collect::<Vec<_>>()
                    .join(", ");
                let sql = format!(
                    "WITH v(id, at) AS (VALUES {values}) \
                     UPDATE {table} SET last_used_at = (SELECT at FROM v WHERE v.id = {table}.id) \
                     WHERE id IN (SELECT id FROM v) AND (last_used_at IS NULL \
                        OR last_used_at < (SELECT at FROM v WHERE v.id = {table}.id))"
                );
                let mut query = sqlx::query(&sql);
                for (id, at) in chunk {
                    query = query.bind(id).bind(*at);
                }
                query.execute(&self.writer).await?;
            }
        }
        Ok(())
    }
}
