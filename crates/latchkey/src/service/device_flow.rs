use super::client_slots::ClientSlots;
use super::{GithubLogin, LoginMethod, ServiceError};
use crate::crypto::{self, ServerKey};
use crate::domain::{Timestamp, UnsafeToken};
use crate::github::{GithubClient, TokenPoll};
use crate::store::{DevicePace, Store};
use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

pub(crate) const SEAL_PURPOSE: &str = "device-session-v1";
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
#[derive(PartialEq, Serialize, Deserialize)]
pub(crate) struct Session {
    pub device_code: String,
    pub interval: u64,
    pub expires: i64,
}

/// The device code is GitHub's secret for this login: never printed.
impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("interval", &self.interval)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

impl Session {
    pub(crate) fn seal(&self, key: &ServerKey) -> String {
        let plain = serde_json::to_vec(self).expect("a plain struct serialises");
        key.seal(SEAL_PURPOSE, &plain)
    }

    /// `None` for anything this key did not seal as a session.
    pub(crate) fn open(key: &ServerKey, encoded: &str) -> Option<Self> {
        key.open(SEAL_PURPOSE, encoded)
            .and_then(|plain| serde_json::from_slice(&plain).ok())
    }
}

/// GitHub's device flow, for CLIs.
#[derive(Clone)]
pub struct DeviceFlow {
    store: Store,
    github: GithubClient,
    login: GithubLogin,
    key: ServerKey,
    max_wait: Duration,
    /// How long past `max_wait` a lease outlives a node that died holding it.
    lease_margin: Duration,
    polls: Arc<Semaphore>,
    /// Each completion waits minutes for a person and holds one of the
    /// node's polling slots, so one client with many sessions could otherwise
    /// take them all.
    per_client: Arc<ClientSlots>,
}

/// Device completions one client may have waiting at once, per node.
const COMPLETIONS_PER_CLIENT: usize = 4;

/// The interval after a `slow_down`: RFC 8628 adds 5 s for this and every
/// later poll; GitHub also names the new interval, and the longer one wins.
pub fn slowed_interval(current: u64, github_says: Option<u64>) -> u64 {
    github_says
        .unwrap_or(0)
        .max(current.saturating_add(SLOW_DOWN_STEP))
}

impl DeviceFlow {
    pub fn new(
        store: Store,
        github: GithubClient,
        login: GithubLogin,
        key: ServerKey,
        max_wait: Duration,
        max_concurrent_polls: usize,
    ) -> Self {
        let lease_margin = github.timeout() * 2 + Duration::from_secs(5);
        Self {
            store,
            github,
            login,
            key,
            max_wait,
            lease_margin,
            polls: Arc::new(Semaphore::new(max_concurrent_polls.max(1))),
            per_client: Arc::new(ClientSlots::new(COMPLETIONS_PER_CLIENT)),
        }
    }

    pub async fn start(&self) -> Result<DeviceStart, ServiceError> {
        let code = self.github.start_device_flow("user:email").await?;
        let expires = Timestamp::now().plus(TimeDelta::seconds(code.expires_in.min(86_400) as i64));
        let session = Session {
            device_code: code.device_code,
            interval: code.interval,
            expires: expires.as_micros(),
        };
        Ok(DeviceStart {
            url: code.verification_uri,
            user_code: code.user_code,
            expires,
            encoded_session: session.seal(&self.key),
        })
    }

    /// Polls GitHub at its interval until it answers, or until the longest
    /// wait; `LoginPending` then tells the client to call again.
    ///
    /// One completion per device code runs at a time on all nodes together:
    /// a lease in the database, taken with one conditional upsert. The pace
    /// GitHub set (interval, next allowed poll) is kept there too, so a
    /// client that calls again at once still polls GitHub no faster than asked.
    /// `client` is who asks, as the rate limits key it.
    pub async fn complete(
        &self,
        encoded_session: &str,
        client: IpAddr,
    ) -> Result<UnsafeToken, ServiceError> {
        let session = Session::open(&self.key, encoded_session)
            .ok_or_else(|| ServiceError::invalid("encodedSession is not a valid session"))?;
        let expires = Timestamp::from_micros(session.expires);
        let now = Timestamp::now();
        if expires.is_past(now) {
            return Err(expired());
        }
        let code_hash = crypto::sha256(session.device_code.as_bytes());
        let holder = crypto::random_token();
        let lease =
            TimeDelta::from_std(self.max_wait + self.lease_margin).unwrap_or(TimeDelta::hours(1));
        let first = DevicePace {
            interval_secs: session.interval,
            next_poll_at: now,
        };
        let pace = self
            .store
            .lease_device_poll(&code_hash, &holder, now.plus(lease), now, first, expires)
            .await?
            .ok_or(ServiceError::Conflict(
                "This device login is already being completed by another request; \
                 wait for that one to answer",
            ))?;
        let lease = Lease {
            store: self.store.clone(),
            code_hash,
            holder,
        };
        let outcome = match (self.per_client.take(client), self.polls.try_acquire()) {
            (None, _) => Err(ServiceError::TooManyFromClient),
            (_, Err(_)) => Err(ServiceError::Busy),
            (Some(_slot), Ok(_permit)) => {
                self.poll(&session, expires, &lease.code_hash, &lease.holder, pace)
                    .await
            }
        };
        lease.release().await;
        outcome
    }

    async fn poll(
        &self,
        session: &Session,
        expires: Timestamp,
        code_hash: &[u8; 32],
        holder: &str,
        mut pace: DevicePace,
    ) -> Result<UnsafeToken, ServiceError> {
        let deadline = tokio::time::Instant::now() + self.max_wait;
        loop {
            let wait = until(pace.next_poll_at);
            if tokio::time::Instant::now() + wait > deadline {
                return Err(ServiceError::LoginPending);
            }
            tokio::time::sleep(wait).await;
            if expires.is_past(Timestamp::now()) {
                return Err(expired());
            }
            let answer = self.github.poll_device_flow(&session.device_code).await?;
            if let TokenPoll::SlowDown { interval } = answer {
                pace.interval_secs = slowed_interval(pace.interval_secs, interval);
            }
            let gap = Duration::from_secs(pace.interval_secs).max(MIN_POLL_GAP);
            pace.next_poll_at = Timestamp::now().plus(TimeDelta::from_std(gap).unwrap_or_default());
            match answer {
                TokenPoll::Granted(access_token) => {
                    let account = self
                        .login
                        .account_for(&access_token, LoginMethod::DeviceFlow)
                        .await?;
                    return self.login.mint(account).await;
                }
                TokenPoll::Denied => {
                    return Err(ServiceError::LoginFailed(
                        "The user denied the authorization request".to_owned(),
                    ))
                }
                TokenPoll::Expired => return Err(expired()),
                TokenPoll::Pending | TokenPoll::SlowDown { .. } => {
                    self.store.pace_device_poll(code_hash, holder, pace).await?;
                }
            }
        }
    }
}

/// A held device-code lease. Dropping it releases it, also when the request
/// is abandoned mid-wait (the client hung up): otherwise the session would
/// answer 409 until the lease lapsed minutes later.
struct Lease {
    store: Store,
    code_hash: [u8; 32],
    holder: String,
}

impl Lease {
    /// Releases before the answer goes out, so the client's next call finds
    /// the lease free.
    async fn release(mut self) {
        let holder = std::mem::take(&mut self.holder);
        release(&self.store, &self.code_hash, &holder).await;
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if self.holder.is_empty() {
            return;
        }
        let (store, code_hash, holder) = (
            self.store.clone(),
            self.code_hash,
            std::mem::take(&mut self.holder),
        );
        tokio::spawn(async move { release(&store, &code_hash, &holder).await });
    }
}

async fn release(store: &Store, code_hash: &[u8; 32], holder: &str) {
    if let Err(err) = store.release_device_poll(code_hash, holder).await {
        // The lease then lapses by itself at its deadline.
        tracing::warn!(error = %err, "releasing a device-flow lease failed");
    }
}

/// How long until `at`, zero if it has passed.
fn until(at: Timestamp) -> Duration {
    let micros = at.as_micros() - Timestamp::now().as_micros();
    Duration::from_micros(micros.max(0) as u64)
}

fn expired() -> ServiceError {
    ServiceError::LoginFailed("The device code has expired; start again".to_owned())
}

#[cfg(test)]
mod tests {
    use super::slowed_interval;

    #[test]
    fn slow_down_adds_five_seconds_unless_github_names_more() {
        assert_eq!(slowed_interval(5, None), 10);
        assert_eq!(slowed_interval(5, Some(10)), 10);
        assert_eq!(slowed_interval(1, Some(3)), 6);
        assert_eq!(slowed_interval(5, Some(30)), 30);
    }
}
