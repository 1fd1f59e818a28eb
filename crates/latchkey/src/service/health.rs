//! Whether this node can reach its database, for `/healthcheck`. A watcher
//! pings it every second, so the check itself is one atomic load: load
//! balancers may poll it as often as they like at no database cost.

use crate::store::Store;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const EVERY: Duration = Duration::from_secs(1);
/// A ping slower than this counts as a failure.
const PATIENCE: Duration = Duration::from_secs(2);

#[derive(Clone, Debug)]
pub struct Health {
    database_up: Arc<AtomicBool>,
}

impl Default for Health {
    /// Up: the server connected to the database before it started serving.
    fn default() -> Self {
        Self {
            database_up: Arc::new(AtomicBool::new(true)),
        }
    }
}

impl Health {
    pub fn database_up(&self) -> bool {
        self.database_up.load(Ordering::Relaxed)
    }

    fn set(&self, up: bool) {
        let was = self.database_up.swap(up, Ordering::Relaxed);
        match (was, up) {
            (true, false) => {
                tracing::warn!("the database is unreachable; /healthcheck answers 503")
            }
            (false, true) => tracing::info!("the database is reachable again"),
            _ => {}
        }
    }
}

/// Runs for the life of the server.
pub async fn watch_database(store: Store, health: Health) {
    let mut ticks = tokio::time::interval(EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let up = matches!(
            tokio::time::timeout(PATIENCE, store.ping()).await,
            Ok(Ok(()))
        );
        health.set(up);
    }
}
