use super::{AuditEvent, Caller, ServiceError, TokenCache};
use crate::domain::{Account, AccountData, AccountId, AuditKind, Email, Plan, Role, Timestamp};
use crate::store::{
    AccountDeletion, AccountRecord, RoleChange, Store, StoreError, DEFAULT_PLAN_ID,
};
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
            let found = self.store.find_accounts(email).await?;
            return Ok(found.into_iter().map(|r| r.account).collect());
        }
        let own = self.visible(caller, caller.account_id()).await?.account;
        Ok(match email {
            Some(email) if *email != own.email => Vec::new(),
            _ => vec![own],
        })
    }

    /// Every account (or the one with `email`) with its role: the admins'
    /// Accounts page. Anyone else is told nothing exists.
    pub async fn find_with_roles(
        &self,
        caller: &Caller,
        email: Option<&Email>,
    ) -> Result<Vec<(Account, Role)>, ServiceError> {
        if !caller.is_admin() {
            return Err(ServiceError::ACCOUNT_NOT_FOUND);
        }
        let found = self.store.find_accounts(email).await?;
        Ok(found.into_iter().map(|r| (r.account, r.role)).collect())
    }

    /// Admins only; the email counts as verified because an admin set it.
    pub async fn create(
        &self,
        caller: &Caller,
        data: AccountData,
    ) -> Result<Account, ServiceError> {
        if !caller.is_admin() {
            return Err(ServiceError::Forbidden("Only admins can create accounts"));
        }
        check(&data)?;
        let verified = data.email_verified.unwrap_or(true);
        let account = Account {
            id: AccountId::generate(),
            name: data.name.trim().to_owned(),
            email: data.email,
            plan_id: DEFAULT_PLAN_ID,
        };
        match self
            .store
            .insert_account(&account, Role::User, verified, Timestamp::now())
            .await
        {
            Ok(()) => {
                AuditEvent::new(AuditKind::AccountCreated)
                    .by(caller)
                    .account(account.id)
                    .record(&self.store)
                    .await;
                Ok(account)
            }
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
        // Only admin-set emails are verified, and only verified ones are
        // unique in the database; a user may still not pick an address that
        // another account shows.
        let by_admin = caller.is_admin();
        if !by_admin {
            if data.email_verified.is_some() {
                return Err(ServiceError::Forbidden(
                    "Only admins can say whether an email is verified",
                ));
            }
            let holders = self.store.find_accounts(Some(&data.email)).await?;
            if holders.iter().any(|r| r.account.id != id) {
                return Err(ServiceError::EMAIL_TAKEN);
            }
        }
        match self
            .store
            .update_account(id, &data, by_admin, data.email_verified)
            .await
        {
            Ok(Some(account)) => {
                // The email decides which GitHub user may link to the account.
                AuditEvent::new(AuditKind::AccountUpdated)
                    .by(caller)
                    .account(id)
                    .detail(serde_json::json!({
                        "email": account.email.as_str(),
                        "emailVerified": data.email_verified,
                    }))
                    .record(&self.store)
                    .await;
                Ok(account)
            }
            Ok(None) => Err(ServiceError::ACCOUNT_NOT_FOUND),
            Err(StoreError::Conflict) => Err(ServiceError::EMAIL_TAKEN),
            Err(err) => Err(err.into()),
        }
    }

    /// Deletes the account and every token of it; those tokens stop working at once.
    pub async fn delete(&self, caller: &Caller, id: AccountId) -> Result<(), ServiceError> {
        self.visible(caller, id).await?;
        match self.store.delete_account(id).await? {
            AccountDeletion::Deleted(hashes) => {
                self.cache.evict(&hashes).await;
                AuditEvent::new(AuditKind::AccountDeleted)
                    .by(caller)
                    .account(id)
                    .record(&self.store)
                    .await;
                Ok(())
            }
            AccountDeletion::NotFound => Err(ServiceError::ACCOUNT_NOT_FOUND),
            AccountDeletion::LastAdmin => Err(ServiceError::Conflict(
                "The last admin account cannot be deleted",
            )),
        }
    }

    /// Makes an account an admin or a user. Admins only, and the last admin
    /// keeps the role. The account's cached tokens are evicted, so the new
    /// role holds from its next request.
    pub async fn set_role(
        &self,
        caller: &Caller,
        id: AccountId,
        role: Role,
    ) -> Result<(), ServiceError> {
        if !caller.is_admin() {
            return match caller.can_access(id) {
                true => Err(ServiceError::Forbidden("Only an admin may change roles")),
                false => Err(ServiceError::ACCOUNT_NOT_FOUND),
            };
        }
        match self.store.set_role(id, role).await? {
            RoleChange::Changed(hashes) => {
                self.cache.evict(&hashes).await;
                AuditEvent::new(AuditKind::RoleChanged)
                    .by(caller)
                    .account(id)
                    .detail(serde_json::json!({"role": role.as_str()}))
                    .record(&self.store)
                    .await;
                Ok(())
            }
            RoleChange::NotFound => Err(ServiceError::ACCOUNT_NOT_FOUND),
            RoleChange::LastAdmin => Err(ServiceError::Conflict(
                "The last admin cannot stop being an admin",
            )),
        }
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
