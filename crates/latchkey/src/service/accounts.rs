use super::{Caller, ServiceError, TokenCache};
use crate::domain::{Account, AccountData, AccountId, Email, Plan, Role, Timestamp};
use crate::store::{AccountRecord, Store, StoreError, DEFAULT_PLAN_ID};
use std::sync::Arc;

/// Account reads and changes, with the visibility rules applied.
#[derive(Clone)]
pub struct AccountService {
    store: Store,
    cache: Arc<TokenCache>,
}

impl AccountService {
    pub fn new(store: Store, cache: Arc<TokenCache>) -> Self {
        Self { store, cache }
    }

    pub async fn get(&self, caller: &Caller, id: AccountId) -> Result<Account, ServiceError> {
        Ok(self.visible(caller, id).await?.account)
    }

    pub async fn plan(&self, caller: &Caller, id: AccountId) -> Result<Plan, ServiceError> {
        if !caller.can_access(id) {
            return Err(ServiceError::ACCOUNT_NOT_FOUND);
        }
        self.store
            .plan_of_account(id)
            .await?
            .ok_or(ServiceError::ACCOUNT_NOT_FOUND)
    }

    /// Admins search every account; anyone else only ever finds their own.
    pub async fn find(
        &self,
        caller: &Caller,
        email: Option<&Email>,
    ) -> Result<Vec<Account>, ServiceError> {
        if caller.is_admin() {
            return Ok(self.store.find_accounts(email).await?);
        }
        let own = self.visible(caller, caller.account_id()).await?.account;
        Ok(match email {
            Some(email) if *email != own.email => Vec::new(),
            _ => vec![own],
        })
    }

    pub async fn create(
        &self,
        caller: &Caller,
        data: AccountData,
    ) -> Result<Account, ServiceError> {
        if !caller.is_admin() {
            return Err(ServiceError::Forbidden("Only admins can create accounts"));
        }
        self.create_unchecked(data, Role::User).await
    }

    /// Creates an account with no caller check: for bootstrap and logins.
    pub async fn create_unchecked(
        &self,
        data: AccountData,
        role: Role,
    ) -> Result<Account, ServiceError> {
        check(&data)?;
        let account = Account {
            id: AccountId::generate(),
            name: data.name.trim().to_owned(),
            email: data.email,
            plan_id: DEFAULT_PLAN_ID,
        };
        match self
            .store
            .insert_account(&account, role, Timestamp::now())
            .await
        {
            Ok(()) => Ok(account),
            Err(StoreError::Conflict) => Err(ServiceError::EMAIL_TAKEN),
            Err(err) => Err(err.into()),
        }
    }

    pub async fn update(
        &self,
        caller: &Caller,
        id: AccountId,
        data: AccountData,
    ) -> Result<Account, ServiceError> {
        if !caller.can_access(id) {
            return Err(ServiceError::ACCOUNT_NOT_FOUND);
        }
        check(&data)?;
        match self.store.update_account(id, &data).await {
            Ok(Some(account)) => Ok(account),
            Ok(None) => Err(ServiceError::ACCOUNT_NOT_FOUND),
            Err(StoreError::Conflict) => Err(ServiceError::EMAIL_TAKEN),
            Err(err) => Err(err.into()),
        }
    }

    /// Deletes the account and every token of it; those tokens stop working at once.
    pub async fn delete(&self, caller: &Caller, id: AccountId) -> Result<(), ServiceError> {
        let target = self.visible(caller, id).await?;
        if target.role == Role::Admin && self.store.count_accounts(Some(Role::Admin)).await? <= 1 {
            return Err(ServiceError::Conflict(
                "The last admin account cannot be deleted",
            ));
        }
        let hashes = self
            .store
            .delete_account(id)
            .await?
            .ok_or(ServiceError::ACCOUNT_NOT_FOUND)?;
        self.cache.evict(&hashes);
        Ok(())
    }

    async fn visible(&self, caller: &Caller, id: AccountId) -> Result<AccountRecord, ServiceError> {
        if !caller.can_access(id) {
            return Err(ServiceError::ACCOUNT_NOT_FOUND);
        }
        self.store
            .get_account(id)
            .await?
            .ok_or(ServiceError::ACCOUNT_NOT_FOUND)
    }
}

fn check(data: &AccountData) -> Result<(), ServiceError> {
    let problems = data.problems();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::Invalid(problems))
    }
}
