use super::wire::{DeviceCodeAnswer, GithubEmail, TokenAnswer};
use super::{DeviceCode, GithubError, GithubUser};
use reqwest::header::{ACCEPT, LINK};
use reqwest::{Response, StatusCode, Url};
use std::fmt;
use std::time::Duration;

const API_VERSION: &str = "2022-11-28";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// `/user/emails` pages followed at most; nobody has more than 1000 addresses.
const MAX_EMAIL_PAGES: usize = 10;

/// Where GitHub is and which OAuth app Latchkey is.
#[derive(Clone)]
pub struct GithubConfig {
    pub web_url: String,
    pub api_url: String,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub timeout: Duration,
}

impl fmt::Debug for GithubConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GithubConfig")
            .field("web_url", &self.web_url)
            .field("api_url", &self.api_url)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// One poll of the token endpoint in the device flow.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenPoll {
    Granted(String),
    Pending,
    SlowDown { interval: Option<u64> },
    Denied,
    Expired,
}

#[derive(Clone)]
pub struct GithubClient {
    http: reqwest::Client,
    config: GithubConfig,
}

impl GithubClient {
    pub fn new(config: GithubConfig) -> Result<Self, GithubError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("latchkey/", env!("CARGO_PKG_VERSION")))
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            // GitHub's OAuth answers are 200s and 302s we never want to follow.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|_| GithubError::Protocol("cannot build HTTP client".to_owned()))?;
        Ok(Self { http, config })
    }

    /// The bound on each call to GitHub.
    pub fn timeout(&self) -> Duration {
        self.config.timeout
    }

    pub fn has_client_secret(&self) -> bool {
        self.config.client_secret.is_some()
    }

    fn client_id(&self) -> Result<&str, GithubError> {
        self.config
            .client_id
            .as_deref()
            .ok_or(GithubError::NotConfigured("client id"))
    }

    fn client_secret(&self) -> Result<&str, GithubError> {
        self.config
            .client_secret
            .as_deref()
            .ok_or(GithubError::NotConfigured("client secret"))
    }

    fn api(&self, path: &str) -> String {
        format!("{}{}", self.config.api_url.trim_end_matches('/'), path)
    }

    fn web(&self, path: &str) -> String {
        format!("{}{}", self.config.web_url.trim_end_matches('/'), path)
    }

    fn rest_get(&self, url: &str, token: &str) -> reqwest::RequestBuilder {
        self.http
            .get(url)
            .bearer_auth(token)
            .header(ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", API_VERSION)
    }

    pub async fn user(&self, token: &str) -> Result<GithubUser, GithubError> {
        let response = checked(self.rest_get(&self.api("/user"), token).send().await?).await?;
        Ok(response.json().await?)
    }

    /// The primary address, if it is verified; unverified ones are never used.
    pub async fn primary_verified_email(&self, token: &str) -> Result<Option<String>, GithubError> {
        let mut url = self.api("/user/emails?per_page=100");
        for _ in 0..MAX_EMAIL_PAGES {
            let response = checked(self.rest_get(&url, token).send().await?).await?;
            let next = next_link(&response);
            let emails: Vec<GithubEmail> = response.json().await?;
            if let Some(primary) = emails.into_iter().find(|e| e.primary) {
                return Ok(primary.verified.then_some(primary.email));
            }
            // Follow only links back to the same API: the token goes with them.
            match next {
                Some(next) if next.starts_with(&self.api("/")) => url = next,
                _ => break,
            }
        }
        Ok(None)
    }

    /// Whether `token` was issued to our OAuth app (`POST /applications/{id}/token`).
    pub async fn token_belongs_to_app(&self, token: &str) -> Result<bool, GithubError> {
        let client_id = self.client_id()?;
        let response = self
            .http
            .post(self.api(&format!("/applications/{client_id}/token")))
            .basic_auth(client_id, Some(self.client_secret()?))
            .header(ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", API_VERSION)
            .json(&serde_json::json!({ "access_token": token }))
            .send()
            .await?;
        match response.status() {
            StatusCode::OK => Ok(true),
            StatusCode::NOT_FOUND | StatusCode::UNPROCESSABLE_ENTITY => Ok(false),
            _ => checked(response).await.map(|_| false),
        }
    }

    pub async fn start_device_flow(&self, scope: &str) -> Result<DeviceCode, GithubError> {
        let response = self
            .http
            .post(self.web("/login/device/code"))
            .header(ACCEPT, "application/json")
            .form(&[("client_id", self.client_id()?), ("scope", scope)])
            .send()
            .await?;
        match checked(response).await?.json().await? {
            DeviceCodeAnswer::Code(code) => Ok(code),
            DeviceCodeAnswer::Error {
                error,
                error_description,
            } => Err(GithubError::OAuth {
                code: error,
                description: error_description.unwrap_or_default(),
            }),
        }
    }

    pub async fn poll_device_flow(&self, device_code: &str) -> Result<TokenPoll, GithubError> {
        let answer = self
            .token_request(&[
                ("client_id", self.client_id()?),
                ("device_code", device_code),
                ("grant_type", DEVICE_GRANT),
            ])
            .await?;
        if let Some(token) = answer.access_token {
            return Ok(TokenPoll::Granted(token));
        }
        match answer.error.as_deref() {
            Some("authorization_pending") => Ok(TokenPoll::Pending),
            Some("slow_down") => Ok(TokenPoll::SlowDown {
                interval: answer.interval,
            }),
            Some("access_denied") => Ok(TokenPoll::Denied),
            Some("expired_token") => Ok(TokenPoll::Expired),
            _ => Err(oauth_error(answer)),
        }
    }

    /// The browser's authorize URL, with a PKCE S256 challenge.
    pub fn authorize_url(
        &self,
        redirect_uri: &str,
        scope: &str,
        state: &str,
        code_challenge: &str,
    ) -> Result<String, GithubError> {
        let url = Url::parse_with_params(
            &self.web("/login/oauth/authorize"),
            &[
                ("client_id", self.client_id()?),
                ("redirect_uri", redirect_uri),
                ("scope", scope),
                ("state", state),
                ("code_challenge", code_challenge),
                ("code_challenge_method", "S256"),
            ],
        )
        .map_err(|_| GithubError::Protocol("invalid GitHub web URL".to_owned()))?;
        Ok(url.into())
    }

    /// Exchanges a web-flow code; the secret travels only in the body.
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        code_verifier: &str,
    ) -> Result<String, GithubError> {
        let answer = self
            .token_request(&[
                ("client_id", self.client_id()?),
                ("client_secret", self.client_secret()?),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", code_verifier),
            ])
            .await?;
        match answer.access_token {
            Some(token) => Ok(token),
            None => Err(oauth_error(answer)),
        }
    }

    async fn token_request(&self, form: &[(&str, &str)]) -> Result<TokenAnswer, GithubError> {
        let response = self
            .http
            .post(self.web("/login/oauth/access_token"))
            .header(ACCEPT, "application/json")
            .form(form)
            .send()
            .await?;
        Ok(checked(response).await?.json().await?)
    }
}

fn oauth_error(answer: TokenAnswer) -> GithubError {
    match answer.error {
        Some(code) => GithubError::OAuth {
            code,
            description: answer.error_description.unwrap_or_default(),
        },
        None => GithubError::Protocol("neither a token nor an error".to_owned()),
    }
}

/// Maps HTTP failures; lets 2xx through.
async fn checked(response: Response) -> Result<Response, GithubError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let limited = status == StatusCode::TOO_MANY_REQUESTS
        || (status == StatusCode::FORBIDDEN
            && response
                .headers()
                .get("x-ratelimit-remaining")
                .is_some_and(|v| v.as_bytes() == b"0"));
    Err(match status {
        StatusCode::UNAUTHORIZED => GithubError::BadCredentials,
        _ if limited => {
            let retry = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("?");
            GithubError::Unavailable(format!("rate limited; retry after {retry}s"))
        }
        s if s.is_server_error() => GithubError::Unavailable(format!("HTTP {}", s.as_u16())),
        s => GithubError::Protocol(format!("HTTP {}", s.as_u16())),
    })
}

/// The `rel="next"` target of a `Link` header.
fn next_link(response: &Response) -> Option<String> {
    let link = response.headers().get(LINK)?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params.contains("rel=\"next\"").then(|| {
            url.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        })
    })
}
