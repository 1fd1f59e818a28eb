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
}

impl Swept {
    pub fn total(&self) -> u64 {
        self.tokens + self.web_logins + self.device_polls
    }
}

/// Removes what has expired as of `now`: tokens a day after expiry, browser
/// logins and device-poll leases as soon as they lapse.
pub async fn sweep(store: &Store, now: Timestamp) -> Result<Swept, ServiceError> {
    Ok(Swept {
        tokens: store
            .delete_expired_tokens(now.plus(-EXPIRED_TOKEN_GRACE))
            .await?,
        web_logins: store.delete_expired_web_logins(now).await?,
        device_polls: store.delete_expired_device_polls(now).await?,
    })
}
