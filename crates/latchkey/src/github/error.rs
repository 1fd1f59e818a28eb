/// What went wrong talking to GitHub.
#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    /// GitHub refused the access token (REST 401).
    #[error("GitHub rejected the credentials")]
    BadCredentials,
    /// 5xx, a timeout, no connection, or an exhausted rate limit.
    #[error("GitHub is unavailable: {0}")]
    Unavailable(String),
    /// An answer we cannot read.
    #[error("unexpected answer from GitHub: {0}")]
    Protocol(String),
    /// An OAuth error code (GitHub sends these with HTTP 200).
    #[error("GitHub OAuth error {code}")]
    OAuth { code: String, description: String },
    /// An operation needs a client id or secret that is not configured.
    #[error("GitHub OAuth app is not configured: {0}")]
    NotConfigured(&'static str),
}

impl From<reqwest::Error> for GithubError {
    fn from(err: reqwest::Error) -> Self {
        if err.is_timeout() {
            GithubError::Unavailable("timed out".to_owned())
        } else if err.is_connect() {
            GithubError::Unavailable("could not connect".to_owned())
        } else if err.is_decode() {
            GithubError::Protocol("undecodable body".to_owned())
        } else {
            // reqwest's text may carry the URL; the kind is enough for a log.
            GithubError::Unavailable("request failed".to_owned())
        }
    }
}
