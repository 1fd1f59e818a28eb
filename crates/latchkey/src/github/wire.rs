//! GitHub's JSON, as documented; only the fields Latchkey reads.

use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
pub struct GithubUser {
    pub id: u64,
    pub login: String,
    pub name: Option<String>,
    /// The public profile email; GitHub only allows a verified one here.
    pub email: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct GithubEmail {
    pub email: String,
    pub primary: bool,
    pub verified: bool,
}

#[derive(Debug, Deserialize)]
pub struct DeviceCode {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub expires_in: u64,
    pub interval: u64,
}

/// The token endpoint's answer: a token, or an error (with HTTP 200).
#[derive(Debug, Deserialize)]
pub struct TokenAnswer {
    pub access_token: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// Sent with `slow_down`: the interval to use from now on.
    pub interval: Option<u64>,
}

/// Start-of-device-flow answer, which can also be an error with HTTP 200.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum DeviceCodeAnswer {
    Code(DeviceCode),
    Error {
        error: String,
        error_description: Option<String>,
    },
}
