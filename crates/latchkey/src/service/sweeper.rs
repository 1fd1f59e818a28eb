//! The janitor: what expires when, removed in bounded batches.

use super::ServiceError;
use crate::domain::Timestamp;
use crate::store::{Expiring, Store};
use chrono::TimeDelta;

/// Expired tokens stay listed this long, so people can see that a token
/// expired; they stopped working at their expiry.
pub const EXPIRED_TOKEN_GRACE: TimeDelta = TimeDelta::days(1);

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
fn cutoff(kind: Expiring, now: Timestamp) -> Timestamp {
    match kind {
        Expiring::Tokens | Expiring::Codes => now.plus(-EXPIRED_TOKEN_GRACE),
        _ => now,
    }
}

/// Removes what has expired as of `now`, `batch` rows per statement, each
/// kind until none is left. Safe on several nodes at once.
pub async fn sweep(store: &Store, now: Timestamp, batch: u32) -> Result<Swept, ServiceError> {
    let batch = batch.max(1);
    let mut swept = Swept::default();
    for (i, kind) in Expiring::ALL.into_iter().enumerate() {
        loop {
            let removed = store.purge_expired(kind, cutoff(kind, now), batch).await?;
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
