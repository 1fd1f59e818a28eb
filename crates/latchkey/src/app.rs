//! Wiring: store, GitHub client, services and router, started on a listener.

use crate::config::{DatabaseSettings, LoginSettings, Settings};
use crate::crypto::ServerKey;
use crate::domain::Timestamp;
use crate::http::{self, CookieConfig, HttpConfig};
use crate::service::{self, Bootstrapped, LoginConfig, Services, SignupPolicy};
use crate::store::Store;
use anyhow::{bail, Context};
use chrono::TimeDelta;
use fake_github::FakeGithub;
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
    pub public_url: String,
    pub bootstrapped: Option<Bootstrapped>,
    /// In dev mode, where the in-process fake GitHub listens.
    pub dev_github: Option<String>,
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
    mut settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Running> {
    let fake = match settings.dev {
        true => Some(start_dev_github(&mut settings).await?),
        false => None,
    };
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("binding {}", settings.listen))?;
    let addr = listener.local_addr()?;
    let public_url = settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let store = open_store(&settings.database).await?;
    let key = server_key(&store, &settings.login).await?;
    let services = Services::new(
        store.clone(),
        settings.token_cache_ttl,
        key,
        login_config(&settings.login, &public_url),
    )?;
    let bootstrapped = service::bootstrap(
        &store,
        &services.accounts,
        &services.tokens,
        &settings.bootstrap_admin_email,
        BOOTSTRAP_TOKEN_LIFETIME,
    )
    .await?;
    let sweeper = tokio::spawn(sweep(store.clone()));
    let router = http::router(
        services,
        HttpConfig {
            cookie: CookieConfig {
                name: settings.login.session_cookie_name.clone(),
                secure: public_url.starts_with("https://"),
                max_age: settings.login.token_lifetime,
            },
            login_rate_limit_per_minute: settings.login.rate_limit_per_minute,
        },
    );
    let dev_github = fake.as_ref().map(FakeGithub::url);
    let task = tokio::spawn(async move {
        let served = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        sweeper.abort();
        store.close().await;
        drop(fake);
        served
    });
    Ok(Running {
        addr,
        public_url,
        bootstrapped,
        dev_github,
        task,
    })
}

fn login_config(login: &LoginSettings, public_url: &str) -> LoginConfig {
    LoginConfig {
        github: crate::github::GithubConfig {
            web_url: login.github_web_url.clone(),
            api_url: login.github_api_url.clone(),
            client_id: login.github_client_id.clone(),
            client_secret: login.github_client_secret.as_ref().map(|s| s.0.clone()),
            timeout: login.github_timeout,
        },
        policy: SignupPolicy::new(
            &login.signup_allowed_logins,
            &login.signup_allowed_emails,
            &login.signup_allowed_domains,
        ),
        token_lifetime: TimeDelta::from_std(login.token_lifetime).unwrap_or(TimeDelta::days(30)),
        device_max_wait: login.device_max_wait,
        device_max_concurrent_polls: login.device_max_concurrent_polls,
        public_url: public_url.to_owned(),
        allowed_redirects: login.allowed_redirects.clone(),
    }
}

/// The configured key, or the one stored in the database (generated on
/// first start), so every node seals and opens sessions alike.
async fn server_key(store: &Store, login: &LoginSettings) -> anyhow::Result<ServerKey> {
    if let Some(configured) = &login.session_key {
        return ServerKey::from_base64(&configured.0)
            .context("the session key must be the base64 text of 32 bytes");
    }
    let stored = store
        .key_or_insert("session", ServerKey::generate().as_bytes())
        .await?;
    ServerKey::from_bytes(&stored).context("the stored session key is not 32 bytes")
}

/// Dev mode: a fake GitHub in this process, Latchkey wired to it.
async fn start_dev_github(settings: &mut Settings) -> anyhow::Result<FakeGithub> {
    if !settings.listen.ip().is_loopback() {
        bail!(
            "--dev refuses to listen on {}: dev mode binds loopback addresses only",
            settings.listen
        );
    }
    let (client_id, client_secret) = ("latchkey-dev-client", "latchkey-dev-secret");
    let fake = FakeGithub::start(client_id, client_secret).await?;
    for user in fake_github::demo_users() {
        fake.add_user(user);
    }
    fake.script(|s| {
        s.authorize_as = Some("octocat".to_owned());
        s.device_interval = 1;
        s.device_pending_polls = 1;
    });
    let login = &mut settings.login;
    login.github_web_url = fake.url();
    login.github_api_url = fake.url();
    login.github_client_id = Some(client_id.to_owned());
    login.github_client_secret = Some(crate::config::Secret(client_secret.to_owned()));
    if login.allowed_redirects.is_empty() {
        login.allowed_redirects =
            vec!["http://127.0.0.1".to_owned(), "http://localhost".to_owned()];
    }
    Ok(fake)
}

/// Expired tokens already fail authentication; this only reclaims their rows
/// a day later, so users can still see that a token expired. Finished or
/// abandoned browser logins go as soon as they expire.
async fn sweep(store: Store) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        let now = Timestamp::now();
        match store
            .delete_expired_tokens(now.plus(-TimeDelta::days(1)))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "swept expired tokens"),
            Err(err) => tracing::warn!(error = %err, "sweeping expired tokens failed"),
        }
        if let Err(err) = store.delete_expired_web_logins(now).await {
            tracing::warn!(error = %err, "sweeping expired web logins failed");
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
