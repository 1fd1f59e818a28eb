//! The audit log's rows: group-committed, read newest first in pages,
//! deleted only by the janitor after the retention.

use super::{Store, StoreError};
use sqlx::Row;

/// One stored event; texts as stored (ids, JSON detail), instants in µs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRow {
    pub id: String,
    pub at: i64,
    pub kind: String,
    pub outcome: String,
    pub account_id: Option<String>,
    pub actor_id: Option<String>,
    pub target: Option<String>,
    pub detail: Option<String>,
    pub address: Option<String>,
    pub request_id: Option<String>,
}

/// Which events to read: about or by `account`, at or after `since`, older
/// than the id `before` (the previous page's last), at most `limit`.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub account: Option<String>,
    pub since: Option<i64>,
    pub before: Option<String>,
    pub limit: u32,
}

pub(super) async fn insert_audit<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    row: &AuditRow,
) -> Result<(), StoreError> {
    let query = sqlx::query(
        // AUDIT_COLUMNS, spelled out so that the statement is a constant
        // (prepared once per connection and cached).
        "INSERT INTO audit_events (id, at, kind, outcome, account_id, actor_id, target, \
         detail, address, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    );
    bind_audit_row(query, row).execute(executor).await?;
    Ok(())
}

/// The columns in the order of [`AUDIT_COLUMNS`].
pub(super) fn bind_audit_row<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    row: &'q AuditRow,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    query
        .bind(&row.id)
        .bind(row.at)
        .bind(&row.kind)
        .bind(&row.outcome)
        .bind(&row.account_id)
        .bind(&row.actor_id)
        .bind(&row.target)
        .bind(&row.detail)
        .bind(&row.address)
        .bind(&row.request_id)
}

pub(super) const AUDIT_COLUMNS: &str =
    "id, at, kind, outcome, account_id, actor_id, target, detail, address, request_id";

impl Store {
    /// Committed when this returns; concurrent inserts share a commit with
    /// each other and with new tokens.
    pub async fn insert_audit(&self, row: AuditRow) -> Result<(), StoreError> {
        self.group.insert_audit(row).await
    }

    /// Newest first.
    pub async fn list_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditRow>, StoreError> {
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        let mut clauses = Vec::new();
        if filter.account.is_some() {
            let (a, b) = (next(), next());
            clauses.push(format!("(account_id = {a} OR actor_id = {b})"));
        }
        if filter.since.is_some() {
            clauses.push(format!("at >= {}", next()));
        }
        if filter.before.is_some() {
            clauses.push(format!("id < {}", next()));
        }
        let condition = match clauses.is_empty() {
            true => String::new(),
            false => format!(" WHERE {}", clauses.join(" AND ")),
        };
        let sql = format!(
            "SELECT id, at, kind, outcome, account_id, actor_id, target, detail, address, \
             request_id FROM audit_events{condition} ORDER BY id DESC LIMIT {}",
            filter.limit
        );
        let mut query = sqlx::query(&sql);
        if let Some(account) = &filter.account {
            query = query.bind(account).bind(account);
        }
        if let Some(since) = filter.since {
            query = query.bind(since);
        }
        if let Some(before) = &filter.before {
            query = query.bind(before);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(AuditRow {
                    id: row.try_get("id")?,
                    at: row.try_get("at")?,
                    kind: row.try_get("kind")?,
                    outcome: row.try_get("outcome")?,
                    account_id: row.try_get("account_id")?,
                    actor_id: row.try_get("actor_id")?,
                    target: row.try_get("target")?,
                    detail: row.try_get("detail")?,
                    address: row.try_get("address")?,
                    request_id: row.try_get("request_id")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }
}
