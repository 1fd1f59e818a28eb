use super::{rows, Store, StoreError};
use crate::domain::{AccountId, Plan, PlanData, PlanId};
use sqlx::Row;
use uuid::Uuid;

/// The plan seeded by the first migration and given to every new account.
pub const DEFAULT_PLAN_ID: PlanId = PlanId(Uuid::from_u128(0x00000000_0000_4000_8000_000000000001));

impl Store {
    pub async fn plan_of_account(&self, account: AccountId) -> Result<Option<Plan>, StoreError> {
        let row = sqlx::query(
            "SELECT p.id, p.project_limit, p.component_limit, p.worker_limit, p.storage_limit, \
                    p.monthly_gas_limit, p.monthly_upload_limit \
             FROM accounts a JOIN plans p ON p.id = a.plan_id WHERE a.id = $1",
        )
        .bind(account.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(Plan {
                plan_id: rows::plan_id(&row, "id")?,
                plan_data: PlanData {
                    project_limit: row.try_get("project_limit")?,
                    component_limit: row.try_get("component_limit")?,
                    worker_limit: row.try_get("worker_limit")?,
                    storage_limit: row.try_get("storage_limit")?,
                    monthly_gas_limit: row.try_get("monthly_gas_limit")?,
                    monthly_upload_limit: row.try_get("monthly_upload_limit")?,
                },
            })
        })
        .transpose()
    }
}
