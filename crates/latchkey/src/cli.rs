//! The `latchkey` command line.

use crate::app;
use crate::client::{self, AccountsCommand, ClientArgs, ClientsCommand, TokensCommand};
use crate::config::{DatabaseArgs, DatabaseSettings, FileConfig, ServeArgs, Settings};
use crate::domain::{AccountId, Timestamp};
use crate::service::{Bootstrapped, ServiceError, TokenCache, TokenService};
use crate::store::{Expiring, Store};
use anyhow::Context;
use chrono::TimeDelta;
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(name = "latchkey", version, about = "Login and token service")]
pub struct Cli {
    /// TOML file with settings; flags and LATCHKEY_* variables override it.
    #[arg(long, global = true, env = "LATCHKEY_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (migrates first).
    Serve(Box<ServeArgs>),
    /// Bring the database schema up to date and exit.
    Migrate(DatabaseArgs),
    /// Remove expired rows once (what `serve` does every
    /// --janitor-interval-secs) and print how many of each kind went.
    Janitor {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Rows deleted per statement (default 100, or `janitor_batch`).
        #[arg(long, env = "LATCHKEY_JANITOR_BATCH")]
        batch: Option<u32>,
        /// Days audit events are kept (default 90, or `audit_retention_days`).
        #[arg(long, env = "LATCHKEY_AUDIT_RETENTION_DAYS")]
        audit_retention_days: Option<u32>,
    },
    /// Offline administration, straight against the database.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Sign in with GitHub (device flow) and save the token for later commands.
    Login {
        #[command(flatten)]
        client: ClientArgs,
        /// Only print the URL; do not open a browser.
        #[arg(long)]
        no_browser: bool,
        /// Sign in with GitHub's browser redirect flow instead of the device flow.
        #[arg(long)]
        web: bool,
    },
    /// Who the saved login (or LATCHKEY_TOKEN) is.
    Whoami(ClientArgs),
    /// Delete the login token on the server and forget it here.
    Logout(ClientArgs),
    /// Your API tokens, on the server.
    Token {
        #[command(flatten)]
        client: ClientArgs,
        #[command(subcommand)]
        command: TokensCommand,
    },
    /// Accounts, on the server (admins).
    Account {
        #[command(flatten)]
        client: ClientArgs,
        #[command(subcommand)]
        command: AccountsCommand,
    },
    /// OAuth clients, on the server (admins).
    Client {
        #[command(flatten)]
        client: ClientArgs,
        #[command(subcommand)]
        command: ClientsCommand,
    },
    /// Print a shell completion script.
    Completions { shell: clap_complete::Shell },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Manage tokens.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Mint a token for an account and print it as JSON (for recovery).
    Create {
        /// The account the token acts for.
        #[arg(long)]
        account: AccountId,
        /// RFC 3339 expiry; defaults to 30 days from now.
        #[arg(long, value_parser = parse_timestamp)]
        expires_at: Option<Timestamp>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

fn parse_timestamp(s: &str) -> Result<Timestamp, String> {
    Timestamp::parse_rfc3339(s).ok_or_else(|| "expected an RFC 3339 timestamp".to_owned())
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    // The client commands talk to a server over HTTP; they read no server
    // configuration.
    let file = || FileConfig::load(cli.config.as_deref());
    match cli.command {
        Command::Login {
            client,
            no_browser,
            web,
        } => Ok(client::login(&client, no_browser, web).await?),
        Command::Whoami(client) => Ok(client::whoami(&client).await?),
        Command::Logout(client) => Ok(client::logout(&client).await?),
        Command::Token { client, command } => Ok(client::tokens(&client, &command).await?),
        Command::Account { client, command } => Ok(client::accounts(&client, &command).await?),
        Command::Client { client, command } => Ok(client::clients(&client, &command).await?),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "latchkey", &mut std::io::stdout());
            Ok(())
        }
        Command::Serve(args) => serve(Settings::resolve(*args, &file()?)?).await,
        Command::Migrate(args) => {
            let store = app::open_store(&DatabaseSettings::resolve(args, &file()?)).await?;
            store.close().await;
            eprintln!("database is up to date");
            Ok(())
        }
        Command::Janitor {
            database,
            batch,
            audit_retention_days,
        } => {
            let file = file()?;
            let config = crate::config::sweep_config(batch, audit_retention_days, &file)?;
            // Never migrates: a janitor run from a timer must not change the
            // schema under older nodes, nor make a database at a mistyped path.
            let settings = DatabaseSettings::resolve(database, &file);
            let store = Store::connect(&settings.url.0, settings.store_options()).await?;
            let swept = crate::service::sweep(&store, Timestamp::now(), &config).await;
            store.close().await;
            let swept = swept.map_err(|err| anyhow::anyhow!("janitor: {err}"))?;
            for kind in Expiring::ALL {
                println!("{}\t{}", kind.label(), swept.of(kind));
            }
            Ok(())
        }
        Command::Admin(AdminCommand::Token(TokenCommand::Create {
            account,
            expires_at,
            database,
        })) => {
            let settings = DatabaseSettings::resolve(database, &file()?);
            let store = app::open_store(&settings).await?;
            // A throwaway cache: this process serves no requests.
            let cache = Arc::new(TokenCache::new(Duration::from_secs(1), 1, None));
            let tokens = TokenService::new(store.clone(), cache);
            let expires_at =
                expires_at.unwrap_or_else(|| Timestamp::now().plus(TimeDelta::days(30)));
            let token = match tokens.mint_for_recovery(account, expires_at).await {
                Err(ServiceError::NotFound(_)) => anyhow::bail!("no account with id {account}"),
                other => other?,
            };
            store.close().await;
            println!("{}", serde_json::to_string_pretty(&token)?);
            Ok(())
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let token_file = settings.bootstrap_token_file.clone();
    let running = app::start(settings, app::shutdown_signal()).await?;
    if let Some(fake) = &running.dev_github {
        let rule = "!".repeat(72);
        eprintln!(
            "{rule}\nDEV MODE: GitHub is a FAKE running in this process at {fake}.\n\
             Logins are not real; never expose this server. Demo users: octocat, hubot.\n{rule}"
        );
        tracing::warn!(fake_github = %fake, "dev mode: GitHub is faked in-process");
    }
    if let Some(bootstrapped) = &running.bootstrapped {
        report_bootstrap(bootstrapped, token_file.as_deref())?;
    }
    tracing::info!(addr = %running.addr, public_url = %running.public_url, "latchkey listening");
    eprintln!("latchkey listening on {}", running.addr);
    running.wait().await
}

fn report_bootstrap(b: &Bootstrapped, file: Option<&Path>) -> anyhow::Result<()> {
    let secret = b.token.secret.expose();
    match file {
        Some(path) => {
            crate::private_file::write_private(path, &secret).with_context(|| {
                format!(
                    "writing the bootstrap token to {}; mint another with \
                     `latchkey admin token create --account {}`",
                    path.display(),
                    b.admin.id
                )
            })?;
            eprintln!(
                "latchkey bootstrap: created admin account {} ({}); its token was written to {}",
                b.admin.email,
                b.admin.id,
                path.display()
            );
        }
        None => {
            let rule = "=".repeat(72);
            eprintln!(
                "{rule}\nLATCHKEY BOOTSTRAP: created admin account {} ({})\n\
                 Admin token secret (shown once, expires {}):\n\n    {secret}\n\n\
                 Use it as: Authorization: Bearer {secret}\n{rule}",
                b.admin.email, b.admin.id, b.token.data.expires_at
            );
        }
    }
    Ok(())
}
