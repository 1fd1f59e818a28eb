//! The janitor: what expires when, removed in bounded batches.

use super::ServiceError;
use crate::domain::Timestamp;
use crate::store::{Expiring, Store};
use chrono::TimeDelta;

/// Expired tokens stay listed this long, so people can see that a token
/// expired; they stopped working at their expiry.
pub const EXPIRED_TOKEN_GRACE: TimeDelta = TimeDelta::days(1);

/// Audit events are kept this long unless configured otherwise.
pub const DEFAULT_AUDIT_RETENTION_DAYS: u32 = 90;

/// How the janitor sweeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SweepConfig {
    /// Rows per statement.
    pub batch: u32,
    /// Audit events older than this go.
    pub audit_retention: TimeDelta,
}

impl Default for SweepConfig {
    fn default() -> Self {
        Self {
            // Each statement holds SQLite's one writer for its whole run, and
            // every token creation waits behind it: 1,000 OAuth access tokens
            // (six indexes each) took 100-170 ms to delete under the soak's
            // load, and creation's p99 rose from about 20 to 65-360 ms once
            // they began to expire. No 100-row statement has been logged
            // as slow (over 100 ms) in the soak since.
            batch: 100,
            audit_retention: TimeDelta::days(DEFAULT_AUDIT_RETENTION_DAYS.into()),
        }
    }
}

/// Rows removed by one run, per kind (in `Expiring::ALL` order).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub removed: [u64; Expiring::ALL.len()],
}

impl Swept {
    pub fn of(&self, kind: Expiring) -> u64 {
        Expiring::ALL
            .iter()
            .position(|k| *k == kind)
            .map_or(0, |i| self.removed[i])
    }

    pub fn total(&self) -> u64 {
        self.removed.iter().sum()
    }
}

/// When a kind of row is gone: API tokens a day after expiry, authorization
/// codes a day after (a replay of an old code is still recognised and
/// revokes what it issued), everything else as soon as it lapses.
fn cutoff(kind: Expiring, now: Timestamp, config: &SweepConfig) -> Timestamp {
    match kind {
        Expiring::Tokens | Expiring::Codes => now.plus(-EXPIRED_TOKEN_GRACE),
        Expiring::AuditEvents => now.plus(-config.audit_retention),
        _ => now,
    }
}

/// Removes what has expired as of `now`, `batch` rows per statement, each
/// kind until none is left. Safe on several nodes at once.
pub async fn sweep(
    store: &Store,
    now: Timestamp,
    config: &SweepConfig,
) -> Result<Swept, ServiceError> {
    let batch = config.batch.max(1);
    let mut swept = Swept::default();
    for (i, kind) in Expiring::ALL.into_iter().enumerate() {
        loop {
            let removed = store
                .purge_expired(kind, cutoff(kind, now, config), batch)
                .await?;
            swept.removed[i] += removed;
            if removed < u64::from(batch) {
                break;
            }
            // Let waiting writers in between batches.
            tokio::task::yield_now().await;
        }
    }
    while store.forget_stale_successors(now, batch).await? >= u64::from(batch) {
        tokio::task::yield_now().await;
    }
    Ok(swept)
}
