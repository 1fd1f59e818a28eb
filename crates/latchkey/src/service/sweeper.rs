use super::ServiceError;
use crate::domain::Timestamp;
use crate::store::Store;
use chrono::TimeDelta;

/// Expired tokens stay listed this long, so people can see that a token
/// expired; they stopped working at their expiry.
pub const EXPIRED_TOKEN_GRACE: TimeDelta = TimeDelta::days(1);

/// Rows removed by one sweep.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub tokens: u64,
    pub web_logins: u64,
    pub device_polls: u64,
    /// OAuth access and refresh tokens, codes and device codes.
    pub oauth: u64,
}

impl Swept {
    pub fn total(&self) -> u64 {
        self.tokens + self.web_logins + self.device_polls + self.oauth
    }
}

/// Removes what has expired as of `now`: API tokens a day after expiry,
/// browser logins, device-poll leases and OAuth tokens as soon as they
/// lapse, and authorization codes a day after (a replay of an old code is
/// still recognised and revokes what it issued).
pub async fn sweep(store: &Store, now: Timestamp) -> Result<Swept, ServiceError> {
    let a_day_ago = now.plus(-EXPIRED_TOKEN_GRACE);
    Ok(Swept {
        tokens: store.delete_expired_tokens(a_day_ago).await?,
        web_logins: store.delete_expired_web_logins(now).await?,
        device_polls: store.delete_expired_device_polls(now).await?,
        oauth: store.delete_expired_oauth_tokens(now).await?
            + store.delete_expired_codes(a_day_ago).await?
            + store.delete_expired_device_codes(now).await?,
    })
}
