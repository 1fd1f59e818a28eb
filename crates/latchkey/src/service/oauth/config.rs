use chrono::TimeDelta;

/// How the OAuth server behaves; resolved from configuration.
#[derive(Clone, Debug)]
pub struct OAuthConfig {
    /// The issuer identifier (RFC 8414, RFC 9207): the public base URL.
    pub issuer: String,
    /// Authorization codes: 60 s by default, at most 10 minutes.
    pub code_lifetime: TimeDelta,
    pub access_token_lifetime: TimeDelta,
    pub refresh_token_lifetime: TimeDelta,
    /// How long a replayed refresh token still gets the same new pair.
    pub refresh_grace: TimeDelta,
    pub device_code_lifetime: TimeDelta,
    pub device_interval_secs: u64,
}

impl OAuthConfig {
    pub fn with_issuer(issuer: &str) -> Self {
        Self {
            issuer: issuer.trim_end_matches('/').to_owned(),
            code_lifetime: TimeDelta::seconds(60),
            access_token_lifetime: TimeDelta::hours(1),
            refresh_token_lifetime: TimeDelta::days(30),
            refresh_grace: TimeDelta::seconds(30),
            device_code_lifetime: TimeDelta::minutes(10),
            device_interval_secs: 5,
        }
    }

    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}
