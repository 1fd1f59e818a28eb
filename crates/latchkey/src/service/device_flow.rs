use super::{GithubLogin, ServiceError};
use crate::crypto::ServerKey;
use crate::domain::{Timestamp, UnsafeToken};
use crate::github::{GithubClient, TokenPoll};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

const SEAL_PURPOSE: &str = "device-session-v1";
/// GitHub's documented increment on `slow_down` (RFC 8628 §3.5).
const SLOW_DOWN_STEP: u64 = 5;
/// Never poll faster than this, whatever interval GitHub names.
const MIN_POLL_GAP: Duration = Duration::from_millis(100);

/// What `start` hands the client.
pub struct DeviceStart {
    pub url: String,
    pub user_code: String,
    pub expires: Timestamp,
    pub encoded_session: String,
}

/// The sealed `encodedSession`: only this server (any node sharing its key)
/// can read it, and any change to it is detected.
#[derive(Serialize, Deserialize)]
struct Session {
    device_code: String,
    interval: u64,
    expires: i64,
}

/// GitHub's device flow, for CLIs.
#[derive(Clone)]
pub struct DeviceFlow {
    github: GithubClient,
    login: GithubLogin,
    key: ServerKey,
    max_wait: Duration,
    polls: Arc<Semaphore>,
}

impl DeviceFlow {
    pub fn new(
        github: GithubClient,
        login: GithubLogin,
        key: ServerKey,
        max_wait: Duration,
        max_concurrent_polls: usize,
    ) -> Self {
        Self {
            github,
            login,
            key,
            max_wait,
            polls: Arc::new(Semaphore::new(max_concurrent_polls.max(1))),
        }
    }

    pub async fn start(&self) -> Result<DeviceStart, ServiceError> {
        let code = self.github.start_device_flow("user:email").await?;
        let expires = Timestamp::now().plus(chrono::TimeDelta::seconds(
            code.expires_in.min(86_400) as i64,
        ));
        let session = Session {
            device_code: code.device_code,
            interval: code.interval,
            expires: expires.as_micros(),
        };
        let plain = serde_json::to_vec(&session).expect("a plain struct serialises");
        Ok(DeviceStart {
            url: code.verification_uri,
            user_code: code.user_code,
            expires,
            encoded_session: self.key.seal(SEAL_PURPOSE, &plain),
        })
    }

    /// Polls GitHub at its interval until it answers, or until the longest
    /// wait; `LoginPending` then tells the client to call again.
    pub async fn complete(&self, encoded_session: &str) -> Result<UnsafeToken, ServiceError> {
        let session: Session = self
            .key
            .open(SEAL_PURPOSE, encoded_session)
            .and_then(|plain| serde_json::from_slice(&plain).ok())
            .ok_or_else(|| ServiceError::invalid("encodedSession is not a valid session"))?;
        let expires = Timestamp::from_micros(session.expires);
        let _permit = self.polls.try_acquire().map_err(|_| ServiceError::Busy)?;
        let deadline = tokio::time::Instant::now() + self.max_wait;
        let mut interval = session.interval;
        loop {
            if expires.is_past(Timestamp::now()) {
                return Err(expired());
            }
            match self.github.poll_device_flow(&session.device_code).await? {
                TokenPoll::Granted(access_token) => {
                    let account = self.login.account_for(&access_token).await?;
                    return self.login.mint(account).await;
                }
                TokenPoll::Denied => {
                    return Err(ServiceError::LoginFailed(
                        "The user denied the authorization request".to_owned(),
                    ))
                }
                TokenPoll::Expired => return Err(expired()),
                TokenPoll::Pending => {}
                TokenPoll::SlowDown { interval: next } => {
                    interval = next.unwrap_or(0).max(interval + SLOW_DOWN_STEP);
                }
            }
            let wait = Duration::from_secs(interval).max(MIN_POLL_GAP);
            if tokio::time::Instant::now() + wait > deadline {
                return Err(ServiceError::LoginPending);
            }
            tokio::time::sleep(wait).await;
        }
    }
}

fn expired() -> ServiceError {
    ServiceError::LoginFailed("The device code has expired; start again".to_owned())
}
