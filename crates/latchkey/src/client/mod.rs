//! The `latchkey` CLI client: subcommands of the same binary that talk to a
//! Latchkey server over HTTP, as any other client of its API would. The
//! server is `--server`, else `LATCHKEY_SERVER`, else the one the saved
//! login is for; the token is `LATCHKEY_TOKEN`, else the saved login's.

mod admin;
mod api;
mod error;
mod login;
mod output;
mod profile;
mod tokens;

pub use error::CliError;

use api::Api;
use clap::{Args, Subcommand};

/// What every client command takes.
#[derive(Debug, Args)]
pub struct ClientArgs {
    /// The Latchkey server, e.g. https://login.example.com.
    #[arg(long, global = true, env = "LATCHKEY_SERVER")]
    pub server: Option<String>,
    /// Print the server's JSON instead of a readable table.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// List your API tokens.
    List,
    /// Create an API token; its secret is printed this once.
    Create {
        /// A lifetime (30d, 12h, 90m) or an RFC 3339 instant.
        #[arg(long, default_value = "30d")]
        expires: String,
        /// A name to recognise it by.
        #[arg(long)]
        name: Option<String>,
    },
    /// Delete an API token; it stops working at once.
    Delete {
        /// The token's id (from `latchkey token list`).
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// List accounts (admins see all; `--email` finds one).
    List {
        #[arg(long)]
        email: Option<String>,
    },
    /// Show an account.
    Show { id: String },
    /// Create an account (admins).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
    },
    /// Delete an account and every token of it (admins, or the account itself).
    Delete { id: String },
    /// Make an account an admin or a user (admins; the last admin keeps the role).
    SetRole {
        id: String,
        #[arg(value_parser = ["admin", "user"])]
        role: String,
    },
}

/// A client's settings, as flags.
#[derive(Debug, Args)]
pub struct ClientFields {
    #[arg(long)]
    pub name: String,
    /// Repeat for each redirect URI.
    #[arg(long = "redirect-uri")]
    pub redirect_uris: Vec<String>,
    /// A browser or native app without a secret (only when creating).
    #[arg(long)]
    pub public: bool,
    /// Repeat for each scope; default: all.
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    /// Repeat for each grant type; default: the server's.
    #[arg(long = "grant-type")]
    pub grant_types: Vec<String>,
    /// One of the platform's services, which may introspect any token.
    #[arg(long)]
    pub resource_server: bool,
}

impl ClientFields {
    fn body(&self) -> serde_json::Value {
        let mut body = serde_json::json!({
            "name": self.name,
            "redirectUris": self.redirect_uris,
            "public": self.public,
            "resourceServer": self.resource_server,
        });
        if !self.scopes.is_empty() {
            body["scopes"] = serde_json::json!(self.scopes);
        }
        if !self.grant_types.is_empty() {
            body["grantTypes"] = serde_json::json!(self.grant_types);
        }
        body
    }
}

#[derive(Debug, Subcommand)]
pub enum ClientsCommand {
    /// List OAuth clients (admins).
    List,
    /// Show a client.
    Show { id: String },
    /// Register a client; a confidential one's secret is printed this once.
    Create(ClientFields),
    /// Replace a client's settings (`--public` must stay as it was).
    Update {
        id: String,
        #[command(flatten)]
        fields: ClientFields,
    },
    /// Delete a client and everything issued to it.
    Delete { id: String },
    /// Give a confidential client a new secret; the old one stops working.
    RotateSecret { id: String },
}

/// The server and token a command uses.
struct Target {
    server: String,
    token: Option<String>,
}

fn target(args: &ClientArgs) -> Result<Target, CliError> {
    let saved = profile::load()?;
    let env_token = std::env::var("LATCHKEY_TOKEN")
        .ok()
        .filter(|t| !t.is_empty());
    let server = match (&args.server, &saved) {
        (Some(server), _) => server.clone(),
        (None, Some(saved)) => saved.server.clone(),
        (None, None) => {
            return Err(CliError::Usage(
                "which server? pass --server URL or set LATCHKEY_SERVER".to_owned(),
            ))
        }
    };
    if !(server.starts_with("http://") || server.starts_with("https://")) {
        return Err(CliError::Usage(format!(
            "--server must be an http:// or https:// URL, not {server:?}"
        )));
    }
    // A saved token belongs to the server it came from, never another.
    let saved_token = saved
        .filter(|p| p.server.trim_end_matches('/') == server.trim_end_matches('/'))
        .map(|p| p.token);
    Ok(Target {
        server,
        token: env_token.or(saved_token),
    })
}

fn api(args: &ClientArgs, signed_in: bool) -> Result<Api, CliError> {
    let target = target(args)?;
    if signed_in && target.token.is_none() {
        return Err(CliError::not_signed_in());
    }
    Api::new(&target.server, target.token)
}

pub async fn login(args: &ClientArgs, no_browser: bool, web: bool) -> Result<(), CliError> {
    // Signing in needs no token, so none is sent: not LATCHKEY_TOKEN's to a
    // server it was never meant for.
    let target = target(args)?;
    login::login(&Api::new(&target.server, None)?, args.json, no_browser, web).await
}

pub async fn whoami(args: &ClientArgs) -> Result<(), CliError> {
    login::whoami(&api(args, true)?, args.json).await
}

pub async fn logout(args: &ClientArgs) -> Result<(), CliError> {
    login::logout(&api(args, true)?).await
}

pub async fn tokens(args: &ClientArgs, command: &TokensCommand) -> Result<(), CliError> {
    tokens::run(&api(args, true)?, args.json, command).await
}

pub async fn accounts(args: &ClientArgs, command: &AccountsCommand) -> Result<(), CliError> {
    admin::accounts(&api(args, true)?, args.json, command).await
}

pub async fn clients(args: &ClientArgs, command: &ClientsCommand) -> Result<(), CliError> {
    admin::clients(&api(args, true)?, args.json, command).await
}
