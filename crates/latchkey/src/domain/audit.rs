use super::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

/// What happened, as the audit log names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditKind {
    Login,
    AccountCreated,
    AccountUpdated,
    AccountDeleted,
    TokenCreated,
    TokenDeleted,
    ClientCreated,
    ClientUpdated,
    ClientDeleted,
    ClientSecretRotated,
    RoleChanged,
    ConsentGranted,
    ConsentRevoked,
    RefreshReuseDetected,
    CodeReuseDetected,
    RateLimited,
}

impl AuditKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::Login => "login",
            AuditKind::AccountCreated => "account.created",
            AuditKind::AccountUpdated => "account.updated",
            AuditKind::AccountDeleted => "account.deleted",
            AuditKind::TokenCreated => "token.created",
            AuditKind::TokenDeleted => "token.deleted",
            AuditKind::ClientCreated => "client.created",
            AuditKind::ClientUpdated => "client.updated",
            AuditKind::ClientDeleted => "client.deleted",
            AuditKind::ClientSecretRotated => "client.secret_rotated",
            AuditKind::RoleChanged => "role.changed",
            AuditKind::ConsentGranted => "consent.granted",
            AuditKind::ConsentRevoked => "consent.revoked",
            AuditKind::RefreshReuseDetected => "refresh.reuse_detected",
            AuditKind::CodeReuseDetected => "code.reuse_detected",
            AuditKind::RateLimited => "rate_limit.refused",
        }
    }
}

/// One security event as `GET /v1/audit` shows it. Never holds a secret.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// Time-ordered; also the cursor for the next page.
    pub id: String,
    pub at: Timestamp,
    /// `login`, `account.created`, `account.updated`, `account.deleted`,
    /// `token.created`, `token.deleted`, `client.created`, `client.updated`,
    /// `client.deleted`, `client.secret_rotated`, `role.changed`,
    /// `consent.granted`, `consent.revoked`, `refresh.reuse_detected`,
    /// `code.reuse_detected`, `rate_limit.refused`.
    pub kind: String,
    /// `success`, or why it failed.
    pub outcome: String,
    /// The account the event concerns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// The account that acted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<String>,
    /// The token, client or route acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Kind-specific facts (for a login: `method` and `githubId`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub detail: Option<serde_json::Value>,
    /// The client's address (behind trusted proxies, from `X-Forwarded-For`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The `x-request-id` of the request that caused it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}
