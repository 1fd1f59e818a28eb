//! When tokens and grants were last used. The request path only compares a
//! number kept with the cached verdict; at most once a minute per token it
//! queues the use, and a background task writes the queue in batches.

use super::Principal;
use crate::domain::Timestamp;
use crate::store::{Store, Used};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A use is recorded at most this often (µs) per token and node.
const EVERY_MICROS: i64 = 60_000_000;

/// Uses waiting beyond this are dropped (and counted): should the database
/// fall behind, memory stays bounded, and the next use a minute on records
/// the token again.
const MAX_PENDING: usize = 1_000_000;

/// The last use recorded for one cached token, shared by the cache's copies.
#[derive(Clone, Debug, Default)]
pub struct LastRecorded(Arc<AtomicI64>);

impl LastRecorded {
    pub fn new(at: Option<Timestamp>) -> Self {
        Self(Arc::new(AtomicI64::new(at.map_or(0, Timestamp::as_micros))))
    }
}

#[derive(Default)]
pub struct LastUse {
    pending: Mutex<Vec<(Used, Timestamp)>>,
}

impl LastUse {
    /// On every successful validation: queues the use if the last recorded
    /// one is a minute old. Only one of several racing requests queues it.
    pub fn note(&self, principal: &Principal, recorded: &LastRecorded, now: Timestamp) {
        let last = recorded.0.load(Ordering::Relaxed);
        if now.as_micros().saturating_sub(last) < EVERY_MICROS {
            return;
        }
        let Some(used) = used(principal) else {
            return;
        };
        if recorded
            .0
            .compare_exchange(last, now.as_micros(), Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            let mut pending = self
                .pending
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if pending.len() < MAX_PENDING {
                pending.push((used, now));
            }
        }
    }

    fn take(&self) -> Vec<(Used, Timestamp)> {
        std::mem::take(
            &mut *self
                .pending
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }

    /// Writes what is queued; called by the background task and at shutdown.
    pub async fn flush(&self, store: &Store) {
        let uses = self.take();
        if uses.is_empty() {
            return;
        }
        if let Err(err) = store.record_last_use(&uses).await {
            tracing::warn!(error = %err, count = uses.len(), "could not record token last use");
        }
    }
}

/// An API token is recorded itself, an OAuth access token as its grant; a
/// client acting as itself has neither.
fn used(principal: &Principal) -> Option<Used> {
    match principal {
        Principal::Account(caller) => match &caller.oauth {
            None => Some(Used::Token(caller.token.id)),
            Some(issued) => issued.grant.map(Used::Grant),
        },
        Principal::Client(_) => None,
    }
}

/// Runs until `stop` turns true, then writes what is left: never aborted in
/// the middle of a write, so a batch taken from the queue is not lost.
pub async fn record_last_use(
    store: Store,
    last_use: Arc<LastUse>,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    // The first write is one interval after start: nothing is queued before.
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !*stop.borrow() {
        tokio::select! {
            _ = ticks.tick() => last_use.flush(&store).await,
            changed = stop.changed() => if changed.is_err() { break },
        }
    }
    last_use.flush(&store).await;
}
