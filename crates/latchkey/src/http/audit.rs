//! The audit log, for admins: `GET /v1/audit?account=&since=&before=&limit=`.

use super::error::{ApiError, ErrorBody, ErrorsBody};
use super::extract::{Json, Query};
use super::{ApiResult, AppState};
use crate::domain::{AccountId, AuditEntry, Timestamp};
use crate::service::{AuditQuery, Caller};
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// Only events about or by this account.
    #[param(format = "uuid")]
    account: Option<String>,
    /// Only events at or after this instant (RFC 3339).
    #[param(format = "date-time")]
    since: Option<String>,
    /// The `next` of the previous page: only older events.
    #[param(format = "uuid")]
    before: Option<String>,
    /// Events per page, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditList {
    /// Newest first.
    values: Vec<AuditEntry>,
    /// Pass as `before` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

/// Security events, newest first, in pages. Admins only.
#[utoipa::path(get, path = "/v1/audit", tag = "Account", params(AuditParams),
    security(("Token" = []), ("Cookie" = [])),
    responses((status = 200, body = AuditList),
        (status = 400, body = ErrorsBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 500, body = ErrorBody)))]
async fn list_audit(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<AuditParams>,
) -> ApiResult<AuditList> {
    let mut problems = Vec::new();
    let account = params.account.as_deref().and_then(|a| {
        a.parse::<AccountId>()
            .map_err(|_| problems.push("account must be an account id".to_owned()))
            .ok()
    });
    let since = params.since.as_deref().and_then(|s| {
        Timestamp::parse_rfc3339(s).or_else(|| {
            problems.push("since must be an RFC 3339 instant".to_owned());
            None
        })
    });
    let before = params.before.as_deref().and_then(|b| {
        uuid::Uuid::parse_str(b)
            .map_err(|_| problems.push("before must be the next of a previous page".to_owned()))
            .ok()
    });
    if !problems.is_empty() {
        return Err(ApiError::Invalid(problems));
    }
    let page = state
        .services
        .audit
        .list(
            &caller,
            AuditQuery {
                account,
                since,
                before,
                limit: params.limit,
            },
        )
        .await?;
    Ok(Json(AuditList {
        values: page.values,
        next: page.next,
    }))
}
