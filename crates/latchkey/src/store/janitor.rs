//! Removing expired rows in bounded batches: each batch is one short
//! statement, so the janitor never holds a long lock or reads a giant result,
//! and on PostgreSQL several nodes' janitors skip each other's rows.

use super::{Backend, Store, StoreError};
use crate::domain::Timestamp;

/// Every kind of row that expires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiring {
    Tokens,
    WebLogins,
    DevicePolls,
    /// Client-credentials tokens included.
    AccessTokens,
    RefreshTokens,
    Codes,
    DeviceCodes,
    /// Audit events past their retention.
    AuditEvents,
}

impl Expiring {
    pub const ALL: [Expiring; 8] = [
        Expiring::Tokens,
        Expiring::WebLogins,
        Expiring::DevicePolls,
        Expiring::AccessTokens,
        Expiring::RefreshTokens,
        Expiring::Codes,
        Expiring::DeviceCodes,
        Expiring::AuditEvents,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Expiring::Tokens => "tokens",
            Expiring::WebLogins => "web_logins",
            Expiring::DevicePolls => "device_polls",
            Expiring::AccessTokens => "oauth_access_tokens",
            Expiring::RefreshTokens => "oauth_refresh_tokens",
            Expiring::Codes => "oauth_codes",
            Expiring::DeviceCodes => "oauth_device_codes",
            Expiring::AuditEvents => "audit_events",
        }
    }

    /// The table's key, and which rows are gone as of `$1` (indexed).
    fn key_and_condition(self) -> (&'static str, &'static str) {
        match self {
            Expiring::Tokens => ("id", "expires_at < $1"),
            Expiring::WebLogins => ("state_hash", "expires_at <= $1"),
            Expiring::DevicePolls => ("code_hash", "expires_at <= $1 AND leased_until <= $1"),
            Expiring::AccessTokens => ("id", "expires_at <= $1"),
            Expiring::RefreshTokens => ("secret_hash", "expires_at <= $1"),
            Expiring::Codes | Expiring::DeviceCodes => ("code_hash", "expires_at <= $1"),
            Expiring::AuditEvents => ("id", "at < $1"),
        }
    }
}

impl Store {
    /// Deletes up to `batch` rows of `kind` that expired as of `cutoff`;
    /// returns how many went. Call again while it returns `batch`.
    pub async fn purge_expired(
        &self,
        kind: Expiring,
        cutoff: Timestamp,
        batch: u32,
    ) -> Result<u64, StoreError> {
        let (key, condition) = kind.key_and_condition();
        let table = kind.label();
        let skip_locked = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "DELETE FROM {table} WHERE {key} IN \
             (SELECT {key} FROM {table} WHERE {condition} LIMIT {batch}{skip_locked})"
        );
        Ok(sqlx::query(&sql)
            .bind(cutoff.as_micros())
            .execute(&self.writer)
            .await?
            .rows_affected())
    }

    /// A rotated refresh token's successor is kept (sealed) only for the
    /// grace window; after it, the replay answer is cleared, up to `batch`
    /// rows per call.
    pub async fn forget_stale_successors(
        &self,
        now: Timestamp,
        batch: u32,
    ) -> Result<u64, StoreError> {
        let skip_locked = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE oauth_refresh_tokens SET successor = NULL, successor_until = NULL \
             WHERE secret_hash IN (SELECT secret_hash FROM oauth_refresh_tokens \
             WHERE successor_until <= $1 LIMIT {batch}{skip_locked})"
        );
        Ok(sqlx::query(&sql)
            .bind(now.as_micros())
            .execute(&self.writer)
            .await?
            .rows_affected())
    }
}
