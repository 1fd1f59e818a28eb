//! What goes wrong in the CLI client, each with its exit code, so scripts
//! can tell a typo from an expired login from an outage.

/// One line for a person; the exit code for a script.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad input: ours, or the server's 400/409 about it. Exit 2, as clap's
    /// own usage errors.
    #[error("{0}")]
    Usage(String),
    /// Not signed in, or the token is refused. Exit 3.
    #[error("{0}")]
    Auth(String),
    /// Exit 4.
    #[error("{0}")]
    NotFound(String),
    /// The server failed or could not be reached. Exit 5.
    #[error("{0}")]
    Server(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Auth(_) => 3,
            CliError::NotFound(_) => 4,
            CliError::Server(_) => 5,
        }
    }

    pub fn not_signed_in() -> Self {
        CliError::Auth("not signed in: run `latchkey login` (or set LATCHKEY_TOKEN)".to_owned())
    }
}
