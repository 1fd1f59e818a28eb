//! The audit log: security events go to the append-only `audit_events`
//! table and to the logs (target `audit`) as one structured line each.
//!
//! Who and what come from the service that acts; when, from which address
//! and under which request id come from the request's context, which the
//! HTTP edge sets for the request's task (`within`), so services need no
//! extra parameters. Writing is after the action: a failed write is logged
//! (the log line stays) and never undoes or fails the action.

use super::{Caller, ServiceError};
use crate::domain::{AccountId, AuditEntry, AuditKind, Timestamp};
use crate::store::{AuditFilter, AuditRow, Store};
use std::borrow::Cow;
use std::future::Future;
use std::net::IpAddr;

/// Events per page at most.
pub const MAX_PAGE: u32 = 500;

tokio::task_local! {
    static CONTEXT: RequestContext;
}

/// What the HTTP edge knows of the request being served.
#[derive(Clone, Debug, Default)]
pub struct RequestContext {
    pub request_id: Option<axum::http::HeaderValue>,
    pub address: Option<IpAddr>,
}

/// Runs `work` with `context` as its request's context.
pub fn within<F: Future>(context: RequestContext, work: F) -> impl Future<Output = F::Output> {
    CONTEXT.scope(context, work)
}

/// One event, built by the service that saw it.
#[derive(Debug)]
pub struct AuditEvent {
    kind: AuditKind,
    outcome: Cow<'static, str>,
    account: Option<AccountId>,
    actor: Option<AccountId>,
    target: Option<String>,
    detail: Option<serde_json::Value>,
}

impl AuditEvent {
    pub fn new(kind: AuditKind) -> Self {
        Self {
            kind,
            outcome: Cow::Borrowed("success"),
            account: None,
            actor: None,
            target: None,
            detail: None,
        }
    }

    pub fn outcome(mut self, outcome: impl Into<Cow<'static, str>>) -> Self {
        self.outcome = outcome.into();
        self
    }

    pub fn account(mut self, account: AccountId) -> Self {
        self.account = Some(account);
        self
    }

    /// The account concerned acted itself (a person consenting).
    pub fn actor_is_account(mut self) -> Self {
        self.actor = self.account;
        self
    }

    /// The caller who acted; also the account concerned unless set.
    pub fn by(mut self, caller: &Caller) -> Self {
        self.actor = Some(caller.account_id());
        self
    }

    pub fn target(mut self, target: impl ToString) -> Self {
        self.target = Some(target.to_string());
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(detail);
        self
    }

    /// Writes the log line and the row.
    pub async fn record(self, store: &Store) {
        let context = CONTEXT.try_with(Clone::clone).unwrap_or_default();
        let request_id = context
            .request_id
            .as_ref()
            .and_then(|id| id.to_str().ok())
            .map(str::to_owned);
        let address = context.address.map(|a| a.to_string());
        let account = self.account.or(self.actor).map(|a| a.to_string());
        let actor = self.actor.map(|a| a.to_string());
        let detail = self.detail.as_ref().map(|d| d.to_string());
        tracing::info!(
            target: "audit",
            kind = self.kind.as_str(),
            outcome = %self.outcome,
            account = account.as_deref(),
            actor = actor.as_deref(),
            target = self.target.as_deref(),
            detail = detail.as_deref(),
            address = address.as_deref(),
            request_id = request_id.as_deref(),
            "audit event"
        );
        let row = AuditRow {
            id: uuid::Uuid::now_v7().to_string(),
            at: Timestamp::now().as_micros(),
            kind: self.kind.as_str().to_owned(),
            outcome: self.outcome.into_owned(),
            account_id: account,
            actor_id: actor,
            target: self.target,
            detail,
            address,
            request_id,
        };
        // On a task of its own, so that the event is written (or its failure
        // logged) even if the request is abandoned meanwhile: the action it
        // records has happened. The caller still waits for it.
        let store = store.clone();
        let kind = self.kind.as_str();
        let write = tokio::spawn(async move {
            if let Err(err) = store.insert_audit(row).await {
                tracing::error!(error = %err, kind, "could not store an audit event");
            }
        });
        let _ = write.await;
    }
}

/// Which page of the log to read.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub account: Option<AccountId>,
    pub since: Option<Timestamp>,
    /// The previous page's `next`.
    pub before: Option<uuid::Uuid>,
    pub limit: Option<u32>,
}

/// One page, newest first; `next` is set while older events remain.
#[derive(Clone, Debug)]
pub struct AuditPage {
    pub values: Vec<AuditEntry>,
    pub next: Option<String>,
}

/// Reading the log, and recording from the HTTP layer (rate-limit refusals).
#[derive(Clone)]
pub struct Audit {
    store: Store,
}

impl Audit {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    pub async fn record(&self, event: AuditEvent) {
        event.record(&self.store).await;
    }

    /// Admins only.
    pub async fn list(
        &self,
        caller: &Caller,
        query: AuditQuery,
    ) -> Result<AuditPage, ServiceError> {
        if !caller.is_admin() {
            return Err(ServiceError::Forbidden(
                "Only an admin may read the audit log",
            ));
        }
        let limit = query.limit.unwrap_or(100);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(ServiceError::invalid(format!(
                "limit must be between 1 and {MAX_PAGE}"
            )));
        }
        let filter = AuditFilter {
            account: query.account.map(|a| a.to_string()),
            since: query.since.map(Timestamp::as_micros),
            before: query.before.map(|id| id.to_string()),
            limit: limit + 1,
        };
        let mut rows = self.store.list_audit(&filter).await?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next = more.then(|| rows.last().map(|r| r.id.clone())).flatten();
        let values = rows
            .into_iter()
            .map(|row| AuditEntry {
                detail: row.detail.and_then(|d| serde_json::from_str(&d).ok()),
                id: row.id,
                at: Timestamp::from_micros(row.at),
                kind: row.kind,
                outcome: row.outcome,
                account_id: row.account_id,
                actor_id: row.actor_id,
                target: row.target,
                address: row.address,
                request_id: row.request_id,
            })
            .collect();
        Ok(AuditPage { values, next })
    }
}
