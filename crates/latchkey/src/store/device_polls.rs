use super::{rows, Store, StoreError};
use crate::domain::Timestamp;
use sqlx::Row;

/// How fast GitHub lets us poll one device code, as last agreed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DevicePace {
    pub interval_secs: u64,
    /// No poll before this instant.
    pub next_poll_at: Timestamp,
}

impl Store {
    /// Takes the lease on a device code's completion until `leased_until`,
    /// unless another live lease holds it: `None` then. The one conditional
    /// upsert is the whole check, so two nodes cannot both win.
    pub async fn lease_device_poll(
        &self,
        code_hash: &[u8; 32],
        holder: &str,
        leased_until: Timestamp,
        now: Timestamp,
        pace: DevicePace,
        expires_at: Timestamp,
    ) -> Result<Option<DevicePace>, StoreError> {
        let row = sqlx::query(
            "INSERT INTO device_polls \
             (code_hash, holder, leased_until, interval_secs, next_poll_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (code_hash) DO UPDATE \
             SET holder = excluded.holder, leased_until = excluded.leased_until \
             WHERE device_polls.leased_until <= $7 \
             RETURNING interval_secs, next_poll_at",
        )
        .bind(&code_hash[..])
        .bind(holder)
        .bind(leased_until.as_micros())
        .bind(pace.interval_secs as i64)
        .bind(pace.next_poll_at.as_micros())
        .bind(expires_at.as_micros())
        .bind(now.as_micros())
        .fetch_optional(&self.writer)
        .await?;
        row.map(|row| {
            let interval: i64 = row.try_get("interval_secs")?;
            Ok(DevicePace {
                interval_secs: interval.max(0) as u64,
                next_poll_at: rows::timestamp(&row, "next_poll_at")?,
            })
        })
        .transpose()
    }

    /// Records the pace after a poll, if `holder` still holds the lease.
    pub async fn pace_device_poll(
        &self,
        code_hash: &[u8; 32],
        holder: &str,
        pace: DevicePace,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE device_polls SET interval_secs = $1, next_poll_at = $2 \
             WHERE code_hash = $3 AND holder = $4",
        )
        .bind(pace.interval_secs as i64)
        .bind(pace.next_poll_at.as_micros())
        .bind(&code_hash[..])
        .bind(holder)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Ends `holder`'s lease; the pace stays for the next completion.
    pub async fn release_device_poll(
        &self,
        code_hash: &[u8; 32],
        holder: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE device_polls SET leased_until = 0 WHERE code_hash = $1 AND holder = $2",
        )
        .bind(&code_hash[..])
        .bind(holder)
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}
