//! RFC 8628 device authorizations: a device code the device polls with, a
//! user code a person types.

use super::oauth_tokens::{insert_grant, insert_pair, NewAccessToken, NewGrant, NewRefreshToken};
use super::{rows, Store, StoreError};
use crate::domain::{AccountId, ClientId, ScopeSet, SecretHash, Timestamp, UserCode};
use sqlx::Row;

#[derive(Clone, Debug)]
pub struct NewDeviceCode {
    pub hash: SecretHash,
    pub user_code: UserCode,
    pub client: ClientId,
    pub scopes: ScopeSet,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub interval_secs: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceStatus {
    Pending,
    Approved,
    Denied,
    Issued,
}

impl DeviceStatus {
    fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Pending => "pending",
            DeviceStatus::Approved => "approved",
            DeviceStatus::Denied => "denied",
            DeviceStatus::Issued => "issued",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [
            DeviceStatus::Pending,
            DeviceStatus::Approved,
            DeviceStatus::Denied,
            DeviceStatus::Issued,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }
}

#[derive(Clone, Debug)]
pub struct DeviceRecord {
    pub user_code: String,
    pub client: ClientId,
    pub scopes: ScopeSet,
    pub expires_at: Timestamp,
    pub interval_secs: u64,
    pub last_poll_at: Option<Timestamp>,
    pub status: DeviceStatus,
    pub account: Option<AccountId>,
}

fn record(row: &sqlx::any::AnyRow) -> Result<DeviceRecord, StoreError> {
    let status: String = row.try_get("status")?;
    let interval: i64 = row.try_get("interval_secs")?;
    Ok(DeviceRecord {
        user_code: row.try_get("user_code")?,
        client: rows::client_id(row, "client_id")?,
        scopes: rows::scopes(row, "scopes")?,
        expires_at: rows::timestamp(row, "expires_at")?,
        interval_secs: interval.max(0) as u64,
        last_poll_at: rows::opt_timestamp(row, "last_poll_at")?,
        status: DeviceStatus::parse(&status).ok_or(StoreError::Corrupt("status"))?,
        account: rows::opt_account_id(row, "account_id")?,
    })
}

const COLUMNS: &str =
    "user_code, client_id, scopes, expires_at, interval_secs, last_poll_at, status, account_id";

impl Store {
    /// Conflict: the user code is taken (draw another).
    pub async fn insert_device_code(&self, device: &NewDeviceCode) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oauth_device_codes (code_hash, user_code, client_id, scopes, created_at, \
             expires_at, interval_secs, status) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending')",
        )
        .bind(device.hash.0.to_vec())
        .bind(device.user_code.as_str())
        .bind(device.client.to_string())
        .bind(device.scopes.to_string())
        .bind(device.created_at.as_micros())
        .bind(device.expires_at.as_micros())
        .bind(device.interval_secs as i64)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn find_device_by_user_code(
        &self,
        code: &UserCode,
    ) -> Result<Option<DeviceRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM oauth_device_codes WHERE user_code = $1");
        let row = sqlx::query(&sql)
            .bind(code.as_str())
            .fetch_optional(&self.writer)
            .await?;
        row.as_ref().map(record).transpose()
    }

    /// The person's answer, once: `false` if the code was not pending.
    pub async fn decide_device_code(
        &self,
        code: &UserCode,
        account: AccountId,
        approve: bool,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let status = if approve {
            DeviceStatus::Approved
        } else {
            DeviceStatus::Denied
        };
        Ok(sqlx::query(
            "UPDATE oauth_device_codes SET status = $1, account_id = $2 \
             WHERE user_code = $3 AND status = 'pending' AND expires_at > $4",
        )
        .bind(status.as_str())
        .bind(account.to_string())
        .bind(code.as_str())
        .bind(now.as_micros())
        .execute(&self.writer)
        .await?
        .rows_affected()
            == 1)
    }

    /// One poll: the record as it was, with `last_poll_at` (and, when the
    /// poll came too early, the interval) updated in the same statement.
    pub async fn poll_device_code(
        &self,
        hash: &SecretHash,
        now: Timestamp,
        slow_down_step: u64,
    ) -> Result<Option<DeviceRecord>, StoreError> {
        let before = {
            let sql = format!("SELECT {COLUMNS} FROM oauth_device_codes WHERE code_hash = $1");
            let row = sqlx::query(&sql)
                .bind(hash.0.to_vec())
                .fetch_optional(&self.writer)
                .await?;
            match row.as_ref().map(record).transpose()? {
                Some(record) => record,
                None => return Ok(None),
            }
        };
        let too_early = before.last_poll_at.is_some_and(|last| {
            now.as_micros() - last.as_micros() < (before.interval_secs as i64) * 1_000_000
        });
        let interval = if too_early {
            before.interval_secs + slow_down_step
        } else {
            before.interval_secs
        };
        sqlx::query(
            "UPDATE oauth_device_codes SET last_poll_at = $1, interval_secs = $2 WHERE code_hash = $3",
        )
        .bind(now.as_micros())
        .bind(interval as i64)
        .bind(hash.0.to_vec())
        .execute(&self.writer)
        .await?;
        Ok(Some(before))
    }

    /// Issues the tokens of an approved device code exactly once: the
    /// status moves from approved to issued in the same transaction.
    pub async fn issue_device_tokens(
        &self,
        hash: &SecretHash,
        grant: &NewGrant,
        access: &NewAccessToken,
        refresh: Option<&NewRefreshToken>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin().await?;
        let claimed = sqlx::query(
            "UPDATE oauth_device_codes SET status = 'issued' \
             WHERE code_hash = $1 AND status = 'approved'",
        )
        .bind(hash.0.to_vec())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed != 1 {
            // Rather than dropped: the writer's release check then has no
            // queued rollback to wait for (a lost race is common under load).
            tx.rollback().await?;
            return Ok(false);
        }
        insert_grant(&mut tx, grant).await?;
        insert_pair(&mut tx, access, refresh).await?;
        super::commit(tx).await?;
        Ok(true)
    }
}
