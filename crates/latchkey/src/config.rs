//! Settings, layered: command-line flags, then `LATCHKEY_*` environment
//! variables (clap reads both), then the TOML file, then defaults.

use crate::clock::Clock;
use crate::domain::Email;
use crate::http::AccessLog;
use crate::service::{SweepConfig, TokenCacheConfig};
use anyhow::{bail, Context};
use ipnet::IpNet;
use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:9881";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://latchkey.db";

/// Database options shared by every subcommand.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct DatabaseArgs {
    /// sqlite://FILE (created if missing) or postgres://…
    #[arg(long, env = "LATCHKEY_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Upper bound on pooled database connections.
    #[arg(long, env = "LATCHKEY_DATABASE_MAX_CONNECTIONS")]
    pub database_max_connections: Option<u32>,
    /// SQLite only: WAL pages written before a checkpoint (SQLite's
    /// wal_autocheckpoint). Lower trades write throughput for a lower p99.
    #[arg(long, env = "LATCHKEY_SQLITE_CHECKPOINT_PAGES")]
    pub sqlite_checkpoint_pages: Option<u32>,
}

/// Options of `latchkey serve`.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "LATCHKEY_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Base URL clients and browsers reach this server at.
    #[arg(long, env = "LATCHKEY_PUBLIC_URL")]
    pub public_url: Option<String>,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Write the first-start admin token here (mode 0600) instead of stderr.
    #[arg(long, env = "LATCHKEY_BOOTSTRAP_TOKEN_FILE")]
    pub bootstrap_token_file: Option<PathBuf>,
    /// Email of the admin account created on first start.
    #[arg(long, env = "LATCHKEY_BOOTSTRAP_ADMIN_EMAIL")]
    pub bootstrap_admin_email: Option<String>,
    /// How long a validated token may be served from memory: the fallback
    /// should a revocation message from another node be lost.
    #[arg(long, env = "LATCHKEY_TOKEN_CACHE_TTL_SECS")]
    pub token_cache_ttl_secs: Option<u64>,
    /// Validated tokens held in memory (about 400 bytes each); a check of a
    /// token beyond them costs one indexed database lookup.
    #[arg(long, env = "LATCHKEY_TOKEN_CACHE_CAPACITY")]
    pub token_cache_capacity: Option<u64>,
    /// Seconds between janitor runs (removing expired rows); 0 turns it off.
    #[arg(long, env = "LATCHKEY_JANITOR_INTERVAL_SECS")]
    pub janitor_interval_secs: Option<u64>,
    /// Rows the janitor deletes per statement.
    #[arg(long, env = "LATCHKEY_JANITOR_BATCH")]
    pub janitor_batch: Option<u32>,
    /// Days security events stay in the audit log before the janitor removes them.
    #[arg(long, env = "LATCHKEY_AUDIT_RETENTION_DAYS")]
    pub audit_retention_days: Option<u32>,
    /// Seconds between writes of tokens' last use.
    #[arg(long, env = "LATCHKEY_LAST_USE_FLUSH_SECS")]
    pub last_use_flush_secs: Option<u64>,
    #[command(flatten)]
    pub login: LoginArgs,
    #[command(flatten)]
    pub http: HttpArgs,
    #[command(flatten)]
    pub oauth: OAuthArgs,
    /// Offline dev mode: run a fake GitHub in-process (loopback only).
    #[arg(long, env = "LATCHKEY_DEV")]
    pub dev: bool,
}

/// Connection, timeout, logging and metrics options of `latchkey serve`.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct HttpArgs {
    /// Seconds a client has to send a request's head (request line and
    /// headers); slower connections are closed.
    #[arg(long, env = "LATCHKEY_HEADER_READ_TIMEOUT_SECS")]
    pub header_read_timeout_secs: Option<u64>,
    /// Seconds a whole request may take, body included (not the device-flow
    /// completion, which has --device-max-wait-secs).
    #[arg(long, env = "LATCHKEY_REQUEST_TIMEOUT_SECS")]
    pub request_timeout_secs: Option<u64>,
    /// Open connections at once; more wait in the listen backlog.
    #[arg(long, env = "LATCHKEY_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Where /metrics is served: `main` (the API listener), `off`, or an
    /// address of its own such as 127.0.0.1:9882.
    #[arg(long, env = "LATCHKEY_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// Level of the one-line-per-request access log: off, error, warn, info,
    /// debug or trace (shown only if LATCHKEY_LOG lets that level through).
    #[arg(long, env = "LATCHKEY_ACCESS_LOG")]
    pub access_log: Option<String>,
    /// A proxy (CIDR) whose X-Forwarded-For is believed; repeatable.
    #[arg(
        long = "trusted-proxy",
        env = "LATCHKEY_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<String>,
}

/// Options of Latchkey's own OAuth2 authorization server.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct OAuthArgs {
    /// Lifetime of an authorization code (at most 600).
    #[arg(long, env = "LATCHKEY_OAUTH_CODE_TTL_SECS")]
    pub oauth_code_ttl_secs: Option<u64>,
    /// Lifetime of an OAuth access token.
    #[arg(long, env = "LATCHKEY_OAUTH_ACCESS_TOKEN_TTL_SECS")]
    pub oauth_access_token_ttl_secs: Option<u64>,
    /// Lifetime of an OAuth refresh token.
    #[arg(long, env = "LATCHKEY_OAUTH_REFRESH_TOKEN_TTL_SECS")]
    pub oauth_refresh_token_ttl_secs: Option<u64>,
    /// How long a rotated refresh token, sent again, still gets the same new pair.
    #[arg(long, env = "LATCHKEY_OAUTH_REFRESH_GRACE_SECS")]
    pub oauth_refresh_grace_secs: Option<u64>,
}

/// GitHub login options of `latchkey serve`.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct LoginArgs {
    /// GitHub's web host (OAuth endpoints).
    #[arg(long, env = "LATCHKEY_GITHUB_WEB_URL")]
    pub github_web_url: Option<String>,
    /// GitHub's REST API host.
    #[arg(long, env = "LATCHKEY_GITHUB_API_URL")]
    pub github_api_url: Option<String>,
    /// Client id of Latchkey's GitHub OAuth app.
    #[arg(long, env = "LATCHKEY_GITHUB_CLIENT_ID")]
    pub github_client_id: Option<String>,
    /// Client secret of that app; when set, exchanged access tokens must belong to it.
    #[arg(long, env = "LATCHKEY_GITHUB_CLIENT_SECRET", hide_env_values = true)]
    pub github_client_secret: Option<String>,
    /// Upper bound on each call to GitHub.
    #[arg(long, env = "LATCHKEY_GITHUB_TIMEOUT_SECS")]
    pub github_timeout_secs: Option<u64>,
    /// Allowed web-flow redirect prefixes (comma-separated).
    #[arg(
        long = "allowed-redirect",
        env = "LATCHKEY_ALLOWED_REDIRECTS",
        value_delimiter = ','
    )]
    pub allowed_redirects: Vec<String>,
    /// The Login API's web flow asks for an explicit confirmation at the
    /// callback (who started the sign-in, from where, when) before it
    /// completes: a forwarded GitHub link then cannot hand over a session.
    #[arg(long, env = "LATCHKEY_WEB_FLOW_CONFIRM")]
    pub web_flow_confirm: bool,
    /// Lifetime of tokens minted by a login.
    #[arg(long, env = "LATCHKEY_LOGIN_TOKEN_TTL_SECS")]
    pub login_token_ttl_secs: Option<u64>,
    /// Longest a device-flow completion waits for the user before answering 408.
    #[arg(long, env = "LATCHKEY_DEVICE_MAX_WAIT_SECS")]
    pub device_max_wait_secs: Option<u64>,
    /// Device-flow completions polling GitHub at once, per node.
    #[arg(long, env = "LATCHKEY_DEVICE_MAX_CONCURRENT_POLLS")]
    pub device_max_concurrent_polls: Option<usize>,
    /// Key sealing device-flow sessions (base64 of 32 bytes); generated and
    /// stored in the database when absent.
    #[arg(long, env = "LATCHKEY_SESSION_KEY", hide_env_values = true)]
    pub session_key: Option<String>,
    /// Name of the browser session cookie.
    #[arg(long, env = "LATCHKEY_SESSION_COOKIE_NAME")]
    pub session_cookie_name: Option<String>,
    /// Only these GitHub logins may sign up (comma-separated).
    #[arg(
        long = "signup-allow-login",
        env = "LATCHKEY_SIGNUP_ALLOWED_LOGINS",
        value_delimiter = ','
    )]
    pub signup_allowed_logins: Vec<String>,
    /// Only these emails may sign up (comma-separated).
    #[arg(
        long = "signup-allow-email",
        env = "LATCHKEY_SIGNUP_ALLOWED_EMAILS",
        value_delimiter = ','
    )]
    pub signup_allowed_emails: Vec<String>,
    /// Only emails in these domains may sign up (comma-separated).
    #[arg(
        long = "signup-allow-domain",
        env = "LATCHKEY_SIGNUP_ALLOWED_DOMAINS",
        value_delimiter = ','
    )]
    pub signup_allowed_domains: Vec<String>,
    /// Requests per minute per client IP on the login endpoints.
    #[arg(long, env = "LATCHKEY_LOGIN_RATE_LIMIT_PER_MINUTE")]
    pub login_rate_limit_per_minute: Option<u32>,
}

/// The TOML file: the same keys as the flags, in snake_case.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub public_url: Option<String>,
    pub database_url: Option<String>,
    pub database_max_connections: Option<u32>,
    pub sqlite_checkpoint_pages: Option<u32>,
    pub bootstrap_token_file: Option<PathBuf>,
    pub bootstrap_admin_email: Option<String>,
    pub token_cache_ttl_secs: Option<u64>,
    pub token_cache_capacity: Option<u64>,
    pub janitor_interval_secs: Option<u64>,
    pub janitor_batch: Option<u32>,
    pub audit_retention_days: Option<u32>,
    pub last_use_flush_secs: Option<u64>,
    pub dev: Option<bool>,
    pub github_web_url: Option<String>,
    pub github_api_url: Option<String>,
    pub github_client_id: Option<String>,
    pub github_client_secret: Option<String>,
    pub github_timeout_secs: Option<u64>,
    pub allowed_redirects: Option<Vec<String>>,
    pub web_flow_confirm: Option<bool>,
    pub login_token_ttl_secs: Option<u64>,
    pub device_max_wait_secs: Option<u64>,
    pub device_max_concurrent_polls: Option<usize>,
    pub session_key: Option<String>,
    pub session_cookie_name: Option<String>,
    pub signup_allowed_logins: Option<Vec<String>>,
    pub signup_allowed_emails: Option<Vec<String>>,
    pub signup_allowed_domains: Option<Vec<String>>,
    pub login_rate_limit_per_minute: Option<u32>,
    pub header_read_timeout_secs: Option<u64>,
    pub request_timeout_secs: Option<u64>,
    pub max_connections: Option<usize>,
    pub metrics_listen: Option<String>,
    pub access_log: Option<String>,
    pub trusted_proxies: Option<Vec<String>>,
    pub oauth_code_ttl_secs: Option<u64>,
    pub oauth_access_token_ttl_secs: Option<u64>,
    pub oauth_refresh_token_ttl_secs: Option<u64>,
    pub oauth_refresh_grace_secs: Option<u64>,
}

impl FileConfig {
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing config file {}", path.display()))
    }
}

/// A database URL; `Debug` hides it because it may hold a password.
#[derive(Clone)]
pub struct DatabaseUrl(pub String);

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = self.0.split(':').next().unwrap_or("");
        write!(f, "DatabaseUrl({scheme}:…)")
    }
}

#[derive(Clone, Debug)]
pub struct DatabaseSettings {
    pub url: DatabaseUrl,
    pub max_connections: u32,
    pub sqlite_checkpoint_pages: u32,
}

impl DatabaseSettings {
    pub fn resolve(args: DatabaseArgs, file: &FileConfig) -> Self {
        Self {
            url: DatabaseUrl(
                args.database_url
                    .or_else(|| file.database_url.clone())
                    .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()),
            ),
            max_connections: args
                .database_max_connections
                .or(file.database_max_connections)
                .unwrap_or(16)
                .max(1),
            sqlite_checkpoint_pages: args
                .sqlite_checkpoint_pages
                .or(file.sqlite_checkpoint_pages)
                .unwrap_or(1000)
                .max(1),
        }
    }

    pub fn store_options(&self) -> crate::store::StoreOptions {
        crate::store::StoreOptions {
            max_connections: self.max_connections,
            sqlite_checkpoint_pages: self.sqlite_checkpoint_pages,
        }
    }
}

const DEFAULT_TOKEN_CACHE_CAPACITY: u64 = 100_000;

/// The janitor's settings, from flags or else the file, for `serve` and
/// `latchkey janitor` alike.
pub fn sweep_config(
    batch: Option<u32>,
    retention_days: Option<u32>,
    file: &FileConfig,
) -> anyhow::Result<SweepConfig> {
    let defaults = SweepConfig::default();
    let audit_retention = match retention_days.or(file.audit_retention_days) {
        None => defaults.audit_retention,
        // 0 would empty the log at every run; a century is plenty.
        Some(days @ 1..=MAX_AUDIT_RETENTION_DAYS) => chrono::TimeDelta::days(days.into()),
        Some(_) => bail!("the audit retention must be 1 to {MAX_AUDIT_RETENTION_DAYS} days"),
    };
    Ok(SweepConfig {
        batch: batch.or(file.janitor_batch).unwrap_or(defaults.batch),
        audit_retention,
    })
}

const MAX_AUDIT_RETENTION_DAYS: u32 = 36_500;

/// Everything `serve` needs, resolved and validated.
#[derive(Clone, Debug)]
pub struct Settings {
    pub listen: SocketAddr,
    /// `None`: `http://` and the address actually bound.
    pub public_url: Option<String>,
    pub database: DatabaseSettings,
    pub bootstrap_token_file: Option<PathBuf>,
    pub bootstrap_admin_email: Email,
    pub token_cache: TokenCacheConfig,
    /// Between janitor runs; `None`: no janitor in this process.
    pub janitor_interval: Option<Duration>,
    /// Rows per janitor statement, and the audit log's retention.
    pub sweep: SweepConfig,
    pub last_use_flush: Duration,
    pub dev: bool,
    pub login: LoginSettings,
    pub http: HttpSettings,
    pub oauth: OAuthSettings,
    /// What token expiry is checked against: the system clock, which tests
    /// move forward.
    pub clock: Clock,
}

/// Lifetimes of what the OAuth server issues, resolved.
#[derive(Clone, Debug)]
pub struct OAuthSettings {
    pub code_ttl: Duration,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub refresh_grace: Duration,
    /// How often a device may poll (RFC 8628 §3.2 `interval`).
    pub device_interval: Duration,
}

impl OAuthSettings {
    pub fn resolve(args: OAuthArgs, file: &FileConfig) -> anyhow::Result<Self> {
        let secs = |flag: Option<u64>, file: Option<u64>, default: u64| {
            Duration::from_secs(flag.or(file).unwrap_or(default))
        };
        let code_ttl = secs(args.oauth_code_ttl_secs, file.oauth_code_ttl_secs, 60);
        if code_ttl.is_zero() || code_ttl > Duration::from_secs(600) {
            bail!("the authorization code lifetime must be 1 to 600 seconds (RFC 6749 §4.1.2)");
        }
        let settings = Self {
            code_ttl,
            access_token_ttl: secs(
                args.oauth_access_token_ttl_secs,
                file.oauth_access_token_ttl_secs,
                3600,
            ),
            refresh_token_ttl: secs(
                args.oauth_refresh_token_ttl_secs,
                file.oauth_refresh_token_ttl_secs,
                30 * 24 * 3600,
            ),
            refresh_grace: secs(
                args.oauth_refresh_grace_secs,
                file.oauth_refresh_grace_secs,
                30,
            ),
            device_interval: Duration::from_secs(5),
        };
        if settings.access_token_ttl.is_zero() || settings.refresh_token_ttl.is_zero() {
            bail!("OAuth token lifetimes must be at least one second");
        }
        Ok(settings)
    }
}

/// Where `/metrics` is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricsListen {
    /// On the API listener.
    Main,
    Off,
    Own(SocketAddr),
}

/// Connection, timeout, logging and metrics settings, resolved.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    pub header_read_timeout: Duration,
    pub request_timeout: Duration,
    pub max_connections: usize,
    pub metrics_listen: MetricsListen,
    pub access_log: AccessLog,
    pub trusted_proxies: Vec<IpNet>,
}

/// Why the access log's default is `debug`, not `info`: every API call of
/// the platform passes through token validation, and one formatted line per
/// call to stderr costs more CPU than the validation itself (see the README's
/// benchmark). Counts and latencies by route are in /metrics; errors are
/// logged whatever this says.
pub const DEFAULT_ACCESS_LOG: &str = "debug";

impl HttpSettings {
    pub fn resolve(args: HttpArgs, file: &FileConfig) -> anyhow::Result<Self> {
        let metrics_listen = match args
            .metrics_listen
            .or_else(|| file.metrics_listen.clone())
            .as_deref()
        {
            None | Some("main") => MetricsListen::Main,
            Some("off") => MetricsListen::Off,
            Some(addr) => MetricsListen::Own(addr.parse().with_context(|| {
                format!("metrics listen {addr:?} must be main, off or an address such as 127.0.0.1:9882")
            })?),
        };
        let level = args
            .access_log
            .or_else(|| file.access_log.clone())
            .unwrap_or_else(|| DEFAULT_ACCESS_LOG.to_owned());
        let access_log = AccessLog::parse(&level).with_context(|| {
            format!("access log {level:?} must be off, error, warn, info, debug or trace")
        })?;
        let trusted_proxies = list(args.trusted_proxies, &file.trusted_proxies)
            .iter()
            .map(|cidr| parse_cidr(cidr))
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            header_read_timeout: Duration::from_secs(
                args.header_read_timeout_secs
                    .or(file.header_read_timeout_secs)
                    .unwrap_or(10)
                    .max(1),
            ),
            request_timeout: Duration::from_secs(
                args.request_timeout_secs
                    .or(file.request_timeout_secs)
                    .unwrap_or(30)
                    .max(1),
            ),
            max_connections: args
                .max_connections
                .or(file.max_connections)
                .unwrap_or(4096)
                .max(1),
            metrics_listen,
            access_log,
            trusted_proxies,
        })
    }
}

/// `10.0.0.0/8`, or a bare address meaning just that address.
fn parse_cidr(text: &str) -> anyhow::Result<IpNet> {
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
        .with_context(|| format!("trusted proxy {text:?} must be an address or a CIDR block"))
}

/// GitHub login settings, resolved.
#[derive(Clone, Debug)]
pub struct LoginSettings {
    pub github_web_url: String,
    pub github_api_url: String,
    pub github_client_id: Option<String>,
    pub github_client_secret: Option<Secret>,
    pub github_timeout: Duration,
    pub allowed_redirects: Vec<String>,
    pub web_flow_confirm: bool,
    pub token_lifetime: Duration,
    pub device_max_wait: Duration,
    pub device_max_concurrent_polls: usize,
    pub session_key: Option<Secret>,
    pub session_cookie_name: String,
    pub signup_allowed_logins: Vec<String>,
    pub signup_allowed_emails: Vec<String>,
    pub signup_allowed_domains: Vec<String>,
    pub rate_limit_per_minute: u32,
}

/// A configured secret; `Debug` never shows it.
#[derive(Clone)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A list flag wins when given at all; otherwise the file's list.
fn list(flag: Vec<String>, file: &Option<Vec<String>>) -> Vec<String> {
    let chosen = if flag.is_empty() {
        file.clone().unwrap_or_default()
    } else {
        flag
    };
    chosen
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

impl LoginSettings {
    pub fn resolve(args: LoginArgs, file: &FileConfig) -> anyhow::Result<Self> {
        let cookie = args
            .session_cookie_name
            .or_else(|| file.session_cookie_name.clone())
            .unwrap_or_else(|| "latchkey_session".to_owned());
        if cookie.is_empty()
            || !cookie
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            bail!("session cookie name may hold only letters, digits, '-', '_' and '.'");
        }
        let given = |flag: Option<String>, file: &Option<String>, what: &str| match flag
            .or_else(|| file.clone())
        {
            Some(v) if v.trim().is_empty() => bail!("{what} must not be empty"),
            other => Ok(other),
        };
        let github_client_id = given(
            args.github_client_id,
            &file.github_client_id,
            "the GitHub client id",
        )?;
        let github_client_secret = given(
            args.github_client_secret,
            &file.github_client_secret,
            "the GitHub client secret",
        )?;
        let session_key = given(args.session_key, &file.session_key, "the session key")?;
        let allowed_redirects = list(args.allowed_redirects, &file.allowed_redirects);
        for prefix in &allowed_redirects {
            if !(prefix.starts_with("http://") || prefix.starts_with("https://")) {
                bail!("allowed redirect {prefix:?} must start with http:// or https://");
            }
        }
        Ok(Self {
            github_web_url: args
                .github_web_url
                .or_else(|| file.github_web_url.clone())
                .unwrap_or_else(|| "https://github.com".to_owned()),
            github_api_url: args
                .github_api_url
                .or_else(|| file.github_api_url.clone())
                .unwrap_or_else(|| "https://api.github.com".to_owned()),
            github_client_id,
            github_client_secret: github_client_secret.map(Secret),
            github_timeout: Duration::from_secs(
                args.github_timeout_secs
                    .or(file.github_timeout_secs)
                    .unwrap_or(10)
                    .max(1),
            ),
            allowed_redirects,
            web_flow_confirm: args.web_flow_confirm || file.web_flow_confirm.unwrap_or(false),
            token_lifetime: Duration::from_secs(
                args.login_token_ttl_secs
                    .or(file.login_token_ttl_secs)
                    .unwrap_or(30 * 24 * 3600)
                    .max(60),
            ),
            device_max_wait: Duration::from_secs(
                args.device_max_wait_secs
                    .or(file.device_max_wait_secs)
                    .unwrap_or(120),
            ),
            device_max_concurrent_polls: args
                .device_max_concurrent_polls
                .or(file.device_max_concurrent_polls)
                .unwrap_or(64),
            session_key: session_key.map(Secret),
            session_cookie_name: cookie,
            signup_allowed_logins: list(args.signup_allowed_logins, &file.signup_allowed_logins),
            signup_allowed_emails: list(args.signup_allowed_emails, &file.signup_allowed_emails),
            signup_allowed_domains: list(args.signup_allowed_domains, &file.signup_allowed_domains),
            rate_limit_per_minute: args
                .login_rate_limit_per_minute
                .or(file.login_rate_limit_per_minute)
                .unwrap_or(120)
                .max(1),
        })
    }
}

impl Settings {
    pub fn resolve(args: ServeArgs, file: &FileConfig) -> anyhow::Result<Self> {
        let listen = args
            .listen
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("default address parses"));
        let public_url = args.public_url.or_else(|| file.public_url.clone());
        if let Some(url) = &public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                bail!("public URL must start with http:// or https://");
            }
        }
        let email = args
            .bootstrap_admin_email
            .or_else(|| file.bootstrap_admin_email.clone())
            .unwrap_or_else(|| "admin@localhost".to_owned());
        let bootstrap_admin_email =
            Email::parse(&email).map_err(|e| anyhow::anyhow!("bootstrap admin email: {e}"))?;
        Ok(Self {
            listen,
            public_url: public_url.map(|u| u.trim_end_matches('/').to_owned()),
            database: DatabaseSettings::resolve(args.database, file),
            bootstrap_token_file: args
                .bootstrap_token_file
                .or_else(|| file.bootstrap_token_file.clone()),
            bootstrap_admin_email,
            token_cache: TokenCacheConfig {
                ttl: Duration::from_secs(
                    args.token_cache_ttl_secs
                        .or(file.token_cache_ttl_secs)
                        .unwrap_or(30),
                ),
                capacity: args
                    .token_cache_capacity
                    .or(file.token_cache_capacity)
                    .unwrap_or(DEFAULT_TOKEN_CACHE_CAPACITY),
            },
            janitor_interval: match args
                .janitor_interval_secs
                .or(file.janitor_interval_secs)
                .unwrap_or(60)
            {
                0 => None,
                secs => Some(Duration::from_secs(secs)),
            },
            sweep: sweep_config(args.janitor_batch, args.audit_retention_days, file)?,
            last_use_flush: Duration::from_secs(
                args.last_use_flush_secs
                    .or(file.last_use_flush_secs)
                    .unwrap_or(10)
                    .max(1),
            ),
            dev: args.dev || file.dev.unwrap_or(false),
            login: LoginSettings::resolve(args.login, file)?,
            http: HttpSettings::resolve(args.http, file)?,
            oauth: OAuthSettings::resolve(args.oauth, file)?,
            clock: Clock::default(),
        })
    }

    /// Defaults everywhere except the database: what tests and embedders start from.
    pub fn with_database(url: &str) -> Self {
        let args = ServeArgs {
            database: DatabaseArgs {
                database_url: Some(url.to_owned()),
                ..DatabaseArgs::default()
            },
            ..ServeArgs::default()
        };
        Self::resolve(args, &FileConfig::default()).expect("defaults are valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(toml: &str) -> FileConfig {
        toml::from_str(toml).unwrap()
    }

    #[test]
    fn defaults_are_loopback_and_sqlite() {
        let s = Settings::resolve(ServeArgs::default(), &FileConfig::default()).unwrap();
        assert_eq!(s.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(s.database.url.0, DEFAULT_DATABASE_URL);
        assert_eq!(s.public_url, None);
    }

    #[test]
    fn flags_win_over_the_file() {
        let f = file(
            "listen = \"127.0.0.1:1\"\ndatabase_url = \"sqlite://f.db\"\ntoken_cache_ttl_secs = 5",
        );
        let args = ServeArgs {
            listen: Some("127.0.0.1:2".parse().unwrap()),
            ..ServeArgs::default()
        };
        let s = Settings::resolve(args, &f).unwrap();
        assert_eq!(s.listen.port(), 2);
        assert_eq!(s.database.url.0, "sqlite://f.db");
        assert_eq!(s.token_cache.ttl, Duration::from_secs(5));
        assert_eq!(s.token_cache.capacity, DEFAULT_TOKEN_CACHE_CAPACITY);
    }

    #[test]
    fn login_lists_come_from_flags_or_file() {
        let f = file("allowed_redirects = [\"https://a.example\"]\nsignup_allowed_domains = [\"corp.example\"]");
        let s = Settings::resolve(ServeArgs::default(), &f).unwrap();
        assert_eq!(s.login.allowed_redirects, vec!["https://a.example"]);
        assert_eq!(s.login.signup_allowed_domains, vec!["corp.example"]);
        let mut args = ServeArgs::default();
        args.login.allowed_redirects = vec!["https://b.example".into()];
        let s = Settings::resolve(args, &f).unwrap();
        assert_eq!(s.login.allowed_redirects, vec!["https://b.example"]);
        assert_eq!(s.login.github_web_url, "https://github.com");
        assert_eq!(s.login.github_api_url, "https://api.github.com");
    }

    #[test]
    fn secrets_never_print() {
        let mut args = ServeArgs::default();
        args.login.github_client_secret = Some("s3cr3t".into());
        let s = Settings::resolve(args, &FileConfig::default()).unwrap();
        assert!(!format!("{s:?}").contains("s3cr3t"));
    }

    #[test]
    fn unknown_file_keys_are_errors() {
        assert!(toml::from_str::<FileConfig>("lisen = \"x\"").is_err());
    }

    #[test]
    fn bad_values_are_refused() {
        let args = ServeArgs {
            public_url: Some("ftp://x".into()),
            ..ServeArgs::default()
        };
        assert!(Settings::resolve(args, &FileConfig::default()).is_err());
        let args = ServeArgs {
            bootstrap_admin_email: Some("nope".into()),
            ..ServeArgs::default()
        };
        assert!(Settings::resolve(args, &FileConfig::default()).is_err());
        // A retention of 0, or one past a century, would empty the audit log.
        for days in [0, 36_501, u32::MAX] {
            let args = ServeArgs {
                audit_retention_days: Some(days),
                ..ServeArgs::default()
            };
            assert!(
                Settings::resolve(args, &FileConfig::default()).is_err(),
                "{days}"
            );
        }
        let f = file("audit_retention_days = 7");
        let s = Settings::resolve(ServeArgs::default(), &f).unwrap();
        assert_eq!(s.sweep.audit_retention, chrono::TimeDelta::days(7));
    }

    #[test]
    fn http_settings_parse() {
        let f = file("metrics_listen = \"off\"\ntrusted_proxies = [\"10.0.0.0/8\", \"192.0.2.1\"]");
        let s = Settings::resolve(ServeArgs::default(), &f).unwrap();
        assert_eq!(s.http.metrics_listen, MetricsListen::Off);
        assert_eq!(s.http.trusted_proxies.len(), 2);
        assert_eq!(
            s.http.access_log,
            AccessLog::parse(DEFAULT_ACCESS_LOG).unwrap()
        );
        let mut args = ServeArgs::default();
        args.http.metrics_listen = Some("127.0.0.1:9999".into());
        args.http.access_log = Some("info".into());
        let s = Settings::resolve(args, &f).unwrap();
        assert_eq!(
            s.http.metrics_listen,
            MetricsListen::Own("127.0.0.1:9999".parse().unwrap())
        );
        for bad in [
            "metrics_listen = \"nowhere\"",
            "access_log = \"loud\"",
            "trusted_proxies = [\"10.0.0.0/33\"]",
        ] {
            assert!(
                Settings::resolve(ServeArgs::default(), &file(bad)).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn database_url_debug_hides_credentials() {
        let url = DatabaseUrl("postgres://u:hunter2@h/db".into());
        assert!(!format!("{url:?}").contains("hunter2"));
    }
}
