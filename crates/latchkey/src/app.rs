//! Wiring: store, GitHub client, services and router, started on a listener.

use crate::config::{DatabaseSettings, LoginSettings, MetricsListen, OAuthSettings, Settings};
use crate::crypto::ServerKey;
use crate::domain::Timestamp;
use crate::http::server::{self, ConnectionLimits};
use crate::http::{self, CookieConfig, HttpConfig, TrustedProxies};
use crate::metrics::Metrics;
use crate::service::oauth::OAuthConfig;
use crate::service::{self, Bootstrapped, LoginConfig, Services, SignupPolicy};
use crate::store::{Expiring, Store};
use anyhow::{bail, Context};
use chrono::TimeDelta;
use fake_github::FakeGithub;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// How long the first-start admin token lives.
const BOOTSTRAP_TOKEN_LIFETIME: TimeDelta = TimeDelta::days(365);

/// Connects and brings the schema up to date.
pub async fn open_store(db: &DatabaseSettings) -> anyhow::Result<Store> {
    let store = Store::connect(&db.url.0, db.store_options()).await?;
    store.migrate().await?;
    Ok(store)
}

/// A server running in the background.
pub struct Running {
    pub addr: SocketAddr,
    /// Where `/metrics` listens when it has a listener of its own.
    pub metrics_addr: Option<SocketAddr>,
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
    let metrics_listener = match settings.http.metrics_listen {
        MetricsListen::Own(at) => Some(
            tokio::net::TcpListener::bind(at)
                .await
                .with_context(|| format!("binding the metrics listener {at}"))?,
        ),
        MetricsListen::Main | MetricsListen::Off => None,
    };
    let metrics_addr = match &metrics_listener {
        Some(l) => Some(l.local_addr()?),
        None => None,
    };
    let public_url = settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let store = open_store(&settings.database).await?;
    refuse_to_overwrite_token_file(&store, settings.bootstrap_token_file.as_deref()).await?;
    let key = server_key(&store, &settings.login).await?;
    if settings.login.github_client_secret.is_none() {
        tracing::warn!(
            "no GitHub client secret: POST /v1/oauth2 (access-token login) answers 501 until \
             --github-client-secret (LATCHKEY_GITHUB_CLIENT_SECRET) is set; the device flow works"
        );
    }
    let metrics = Arc::new(Metrics::new());
    let services = Services::new(
        store.clone(),
        settings.token_cache,
        key,
        login_config(&settings.login, &public_url),
        metrics.clone(),
        settings.clock.clone(),
        oauth_config(&settings.oauth, &public_url),
    )?;
    let bootstrapped = service::bootstrap(
        &store,
        &settings.bootstrap_admin_email,
        BOOTSTRAP_TOKEN_LIFETIME,
    )
    .await?;
    // Stopped only after the last request is answered, and then awaited: it
    // writes the uses seen since its last write.
    let (stop_recorder, recorder_stopped) = tokio::sync::watch::channel(false);
    let recorder = tokio::spawn(service::record_last_use(
        store.clone(),
        services.last_use.clone(),
        settings.last_use_flush,
        recorder_stopped,
    ));
    let background = [
        tokio::spawn(janitor(
            store.clone(),
            metrics.clone(),
            settings.janitor_interval,
            settings.sweep,
        )),
        tokio::spawn(service::listen_to_peers(
            store.clone(),
            services.caches.clone(),
        )),
        tokio::spawn(metrics_upkeep(metrics.clone())),
        tokio::spawn(service::watch_database(
            store.clone(),
            services.health.clone(),
        )),
    ];
    let http = &settings.http;
    let app = http::app(
        services,
        metrics.clone(),
        HttpConfig {
            cookie: CookieConfig {
                name: settings.login.session_cookie_name.clone(),
                secure: public_url.starts_with("https://"),
                max_age: settings.login.token_lifetime,
            },
            login_rate_limit_per_minute: settings.login.rate_limit_per_minute,
            trusted_proxies: TrustedProxies::new(http.trusted_proxies.clone()),
            request_timeout: http.request_timeout,
            access_log: http.access_log,
            metrics_route: http.metrics_listen == MetricsListen::Main,
        },
    )
    .map_err(anyhow::Error::msg)?;
    let limits = ConnectionLimits {
        header_read_timeout: http.header_read_timeout,
        max_connections: http.max_connections,
        write_timeout: http.request_timeout,
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    let metrics_task = metrics_listener.map(|listener| {
        let router = http::metrics_router(metrics);
        tokio::spawn(server::serve(
            listener,
            router,
            limits,
            signalled(stopped.clone()),
        ))
    });
    let dev_github = fake.as_ref().map(FakeGithub::url);
    let task = tokio::spawn(async move {
        let served = server::serve(listener, app, limits, signalled(stopped)).await;
        if let Some(task) = metrics_task {
            let _ = task.await;
        }
        for task in background {
            task.abort();
        }
        let _ = stop_recorder.send(true);
        let _ = recorder.await;
        store.close().await;
        drop(fake);
        served
    });
    Ok(Running {
        addr,
        metrics_addr,
        public_url,
        bootstrapped,
        dev_github,
        task,
    })
}

async fn signalled(mut stopped: tokio::sync::watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// A token file that exists already is refused before anything is created:
/// afterwards the only copy of the admin secret would have nowhere to go.
async fn refuse_to_overwrite_token_file(store: &Store, file: Option<&Path>) -> anyhow::Result<()> {
    let Some(path) = file else {
        return Ok(());
    };
    if std::fs::symlink_metadata(path).is_ok() && store.count_accounts().await? == 0 {
        bail!(
            "refusing to bootstrap: the token file {} already exists; remove it or name a new file",
            path.display()
        );
    }
    Ok(())
}

fn oauth_config(oauth: &OAuthSettings, public_url: &str) -> OAuthConfig {
    let delta = |d: Duration| TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX);
    OAuthConfig {
        code_lifetime: delta(oauth.code_ttl),
        access_token_lifetime: delta(oauth.access_token_ttl),
        refresh_token_lifetime: delta(oauth.refresh_token_ttl),
        refresh_grace: delta(oauth.refresh_grace),
        device_interval_secs: oauth.device_interval.as_secs(),
        ..OAuthConfig::with_issuer(public_url)
    }
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
        web_flow_confirm: login.web_flow_confirm,
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
    // Nothing reads the call log in dev mode, and it would be most of the
    // process's heap under a soak.
    fake.keep_calls(0);
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

/// The janitor on this node; with several nodes each runs one, and their
/// batches skip each other's rows.
async fn janitor(
    store: Store,
    metrics: Arc<Metrics>,
    every: Option<Duration>,
    config: service::SweepConfig,
) {
    let Some(every) = every else {
        return;
    };
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        run_janitor(&store, &metrics, &config).await;
    }
}

/// One janitor run, logged and reported in `/metrics`.
pub async fn run_janitor(
    store: &Store,
    metrics: &Metrics,
    config: &service::SweepConfig,
) -> Option<service::Swept> {
    match service::sweep(store, Timestamp::now(), config).await {
        Ok(swept) => {
            let removed: Vec<(&'static str, u64)> = Expiring::ALL
                .iter()
                .map(|kind| (kind.label(), swept.of(*kind)))
                .collect();
            metrics.janitor_run(Timestamp::now().as_micros() as f64 / 1e6, &removed);
            if swept.total() > 0 {
                tracing::info!(removed = ?removed, "janitor removed expired rows");
            }
            Some(swept)
        }
        Err(err) => {
            tracing::warn!(error = %err, "janitor run failed");
            None
        }
    }
}

async fn metrics_upkeep(metrics: Arc<Metrics>) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        metrics.upkeep();
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
