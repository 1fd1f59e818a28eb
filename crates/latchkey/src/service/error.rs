use super::AuthFailure;
use crate::github::GithubError;
use crate::store::StoreError;

/// Why a service refused or failed a request, in terms a client can act on.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{}", .0.message())]
    Unauthorized(AuthFailure),
    /// A login attempt failed (GitHub refused, the user denied, …).
    #[error("{0}")]
    LoginFailed(String),
    /// The device flow is still waiting for the user after the longest wait.
    #[error("authorization pending")]
    LoginPending,
    /// Too many device-flow polls are in flight on this node.
    #[error("busy")]
    Busy,
    /// This client already has as many requests waiting as it may.
    #[error("too many requests from this client")]
    TooManyFromClient,
    #[error("invalid request: {}", .0.join("; "))]
    Invalid(Vec<String>),
    #[error("{0}")]
    Conflict(&'static str),
    /// The feature is switched off by configuration; the text says how to enable it.
    #[error("{0}")]
    Disabled(String),
    /// GitHub failed or could not be reached; the text is safe to show.
    #[error("External service call failed: {0}")]
    External(String),
    /// The database cannot be reached; the request may be retried.
    #[error("The database is unreachable; try again shortly")]
    Unavailable,
    #[error(transparent)]
    Internal(StoreError),
}

impl From<StoreError> for ServiceError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(why) => {
                tracing::warn!(error = %why, "database unreachable");
                ServiceError::Unavailable
            }
            err => ServiceError::Internal(err),
        }
    }
}

impl ServiceError {
    /// Also the answer for an account the caller may not see, so ids cannot be probed.
    pub const ACCOUNT_NOT_FOUND: Self = ServiceError::NotFound("Account not found");
    pub const EMAIL_TAKEN: Self =
        ServiceError::Conflict("Email is already in use by another account");

    pub fn invalid(problem: impl Into<String>) -> Self {
        ServiceError::Invalid(vec![problem.into()])
    }
}

impl From<GithubError> for ServiceError {
    fn from(err: GithubError) -> Self {
        match err {
            GithubError::BadCredentials => {
                ServiceError::LoginFailed("GitHub rejected the access token".to_owned())
            }
            GithubError::OAuth { code, .. } => match code.as_str() {
                // Our app's setup is wrong: not the user's fault.
                "incorrect_client_credentials"
                | "device_flow_disabled"
                | "unsupported_grant_type"
                | "redirect_uri_mismatch"
                | "application_suspended" => {
                    tracing::error!(code, "GitHub refused our OAuth app");
                    ServiceError::External(format!("GitHub refused the OAuth app ({code})"))
                }
                _ => ServiceError::LoginFailed(format!("GitHub login failed: {code}")),
            },
            GithubError::Unavailable(why) => ServiceError::External(format!("GitHub {why}")),
            GithubError::Protocol(why) => {
                ServiceError::External(format!("GitHub answered oddly ({why})"))
            }
            GithubError::NotConfigured(what) => ServiceError::Disabled(format!(
                "GitHub login is not configured on this server: set the GitHub OAuth app's \
                 {what} (--github-client-id, --github-client-secret), or run with --dev"
            )),
        }
    }
}
