//! Wiring: store, services and router, started on a listener.

use crate::config::{DatabaseSettings, Settings};
use crate::domain::Timestamp;
use crate::http;
use crate::service::{self, Bootstrapped, Services};
use crate::store::Store;
use chrono::TimeDelta;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::task::JoinHandle;

/// How long the first-start admin token lives.
const BOOTSTRAP_TOKEN_LIFETIME: TimeDelta = TimeDelta::days(365);

/// Connects and brings the schema up to date.
pub async fn open_store(db: &DatabaseSettings) -> anyhow::Result<Store> {
    let store = Store::connect(&db.url.0, db.max_connections).await?;
    store.migrate().await?;
    Ok(store)
}

/// A server running in the background.
pub struct Running {
    pub addr: SocketAddr,
    pub bootstrapped: Option<Bootstrapped>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Waits until the server has stopped after its shutdown signal and every
    /// in-flight request has finished.
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await??;
        Ok(())
    }
}

/// Migrates, bootstraps an empty database, binds and starts serving until
/// `shutdown` resolves.
pub async fn start(
    settings: &Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Running> {
    let store = open_store(&settings.database).await?;
    let services = Services::new(store.clone(), settings.token_cache_ttl);
    let bootstrapped = service::bootstrap(
        &store,
        &services.accounts,
        &services.tokens,
        &settings.bootstrap_admin_email,
        BOOTSTRAP_TOKEN_LIFETIME,
    )
    .await?;
    let listener = tokio::net::TcpListener::bind(settings.listen).await?;
    let addr = listener.local_addr()?;
    let sweeper = tokio::spawn(sweep_expired_tokens(store.clone()));
    let router = http::router(services);
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await;
        sweeper.abort();
        store.close().await;
        served
    });
    Ok(Running {
        addr,
        bootstrapped,
        task,
    })
}

/// Expired tokens already fail authentication; this only reclaims their rows
/// a day later, so users can still see that a token expired.
async fn sweep_expired_tokens(store: Store) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let cutoff = Timestamp::now().plus(-TimeDelta::days(1));
        match store.delete_expired_tokens(cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "swept expired tokens"),
            Err(err) => tracing::warn!(error = %err, "sweeping expired tokens failed"),
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
