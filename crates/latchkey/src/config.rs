//! Settings, layered: command-line flags, then `LATCHKEY_*` environment
//! variables (clap reads both), then the TOML file, then defaults.

use crate::domain::Email;
use anyhow::{bail, Context};
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
    /// How long a validated token may be served from memory on other nodes.
    #[arg(long, env = "LATCHKEY_TOKEN_CACHE_TTL_SECS")]
    pub token_cache_ttl_secs: Option<u64>,
}

/// The TOML file: the same keys as the flags, in snake_case.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub public_url: Option<String>,
    pub database_url: Option<String>,
    pub database_max_connections: Option<u32>,
    pub bootstrap_token_file: Option<PathBuf>,
    pub bootstrap_admin_email: Option<String>,
    pub token_cache_ttl_secs: Option<u64>,
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
        }
    }
}

/// Everything `serve` needs, resolved and validated.
#[derive(Clone, Debug)]
pub struct Settings {
    pub listen: SocketAddr,
    pub public_url: String,
    pub database: DatabaseSettings,
    pub bootstrap_token_file: Option<PathBuf>,
    pub bootstrap_admin_email: Email,
    pub token_cache_ttl: Duration,
}

impl Settings {
    pub fn resolve(args: ServeArgs, file: &FileConfig) -> anyhow::Result<Self> {
        let listen = args
            .listen
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("default address parses"));
        let public_url = args
            .public_url
            .or_else(|| file.public_url.clone())
            .unwrap_or_else(|| format!("http://{listen}"));
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            bail!("public URL must start with http:// or https://");
        }
        let email = args
            .bootstrap_admin_email
            .or_else(|| file.bootstrap_admin_email.clone())
            .unwrap_or_else(|| "admin@localhost".to_owned());
        let bootstrap_admin_email =
            Email::parse(&email).map_err(|e| anyhow::anyhow!("bootstrap admin email: {e}"))?;
        Ok(Self {
            listen,
            public_url: public_url.trim_end_matches('/').to_owned(),
            database: DatabaseSettings::resolve(args.database, file),
            bootstrap_token_file: args
                .bootstrap_token_file
                .or_else(|| file.bootstrap_token_file.clone()),
            bootstrap_admin_email,
            token_cache_ttl: Duration::from_secs(
                args.token_cache_ttl_secs
                    .or(file.token_cache_ttl_secs)
                    .unwrap_or(30),
            ),
        })
    }

    /// Defaults everywhere except the database: what tests and embedders start from.
    pub fn with_database(url: &str) -> Self {
        let args = ServeArgs {
            database: DatabaseArgs {
                database_url: Some(url.to_owned()),
                database_max_connections: None,
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
        assert_eq!(s.public_url, "http://127.0.0.1:9881");
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
        assert_eq!(s.token_cache_ttl, Duration::from_secs(5));
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
    }

    #[test]
    fn database_url_debug_hides_credentials() {
        let url = DatabaseUrl("postgres://u:hunter2@h/db".into());
        assert!(!format!("{url:?}").contains("hunter2"));
    }
}
