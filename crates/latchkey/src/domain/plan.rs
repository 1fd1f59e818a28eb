use super::PlanId;
use serde::Serialize;
use utoipa::ToSchema;

/// The limits an account's plan grants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanData {
    pub project_limit: i64,
    pub component_limit: i64,
    pub worker_limit: i64,
    pub storage_limit: i64,
    pub monthly_gas_limit: i64,
    pub monthly_upload_limit: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub plan_id: PlanId,
    pub plan_data: PlanData,
}
