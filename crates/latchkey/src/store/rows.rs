//! Decoding helpers: ids are TEXT and instants BIGINT micros in both dialects.

use super::StoreError;
use crate::domain::{
    AccountId, ClientId, Email, GrantId, PlanId, Role, ScopeSet, SecretHash, Timestamp, TokenId,
};
use sqlx::any::AnyRow;
use sqlx::Row;
use uuid::Uuid;

fn uuid(row: &AnyRow, col: &'static str) -> Result<Uuid, StoreError> {
    let raw: String = row.try_get(col)?;
    Uuid::parse_str(&raw).map_err(|_| StoreError::Corrupt(col))
}

pub fn account_id(row: &AnyRow, col: &'static str) -> Result<AccountId, StoreError> {
    uuid(row, col).map(AccountId)
}

pub fn token_id(row: &AnyRow, col: &'static str) -> Result<TokenId, StoreError> {
    uuid(row, col).map(TokenId)
}

pub fn plan_id(row: &AnyRow, col: &'static str) -> Result<PlanId, StoreError> {
    uuid(row, col).map(PlanId)
}

pub fn timestamp(row: &AnyRow, col: &'static str) -> Result<Timestamp, StoreError> {
    Ok(Timestamp::from_micros(row.try_get(col)?))
}

pub fn email(row: &AnyRow, col: &'static str) -> Result<Email, StoreError> {
    let raw: String = row.try_get(col)?;
    Email::parse(&raw).map_err(|_| StoreError::Corrupt(col))
}

pub fn role(row: &AnyRow, col: &'static str) -> Result<Role, StoreError> {
    let raw: String = row.try_get(col)?;
    Role::parse(&raw).ok_or(StoreError::Corrupt(col))
}

pub fn secret_hash(row: &AnyRow, col: &'static str) -> Result<SecretHash, StoreError> {
    let raw: Vec<u8> = row.try_get(col)?;
    SecretHash::from_slice(&raw).ok_or(StoreError::Corrupt(col))
}

/// A 0/1 BIGINT flag.
pub fn flag(row: &AnyRow, col: &'static str) -> Result<bool, StoreError> {
    let raw: i64 = row.try_get(col)?;
    Ok(raw != 0)
}

pub fn client_id(row: &AnyRow, col: &'static str) -> Result<ClientId, StoreError> {
    uuid(row, col).map(ClientId)
}

pub fn grant_id(row: &AnyRow, col: &'static str) -> Result<GrantId, StoreError> {
    uuid(row, col).map(GrantId)
}

pub fn opt_account_id(row: &AnyRow, col: &'static str) -> Result<Option<AccountId>, StoreError> {
    let raw: Option<String> = row.try_get(col)?;
    raw.map(|s| {
        Uuid::parse_str(&s)
            .map(AccountId)
            .map_err(|_| StoreError::Corrupt(col))
    })
    .transpose()
}

pub fn opt_grant_id(row: &AnyRow, col: &'static str) -> Result<Option<GrantId>, StoreError> {
    let raw: Option<String> = row.try_get(col)?;
    raw.map(|s| {
        Uuid::parse_str(&s)
            .map(GrantId)
            .map_err(|_| StoreError::Corrupt(col))
    })
    .transpose()
}

pub fn opt_timestamp(row: &AnyRow, col: &'static str) -> Result<Option<Timestamp>, StoreError> {
    let raw: Option<i64> = row.try_get(col)?;
    Ok(raw.map(Timestamp::from_micros))
}

pub fn scopes(row: &AnyRow, col: &'static str) -> Result<ScopeSet, StoreError> {
    let raw: String = row.try_get(col)?;
    ScopeSet::parse(&raw).map_err(|_| StoreError::Corrupt(col))
}

pub fn opt_scopes(row: &AnyRow, col: &'static str) -> Result<Option<ScopeSet>, StoreError> {
    let raw: Option<String> = row.try_get(col)?;
    raw.map(|s| ScopeSet::parse(&s).map_err(|_| StoreError::Corrupt(col)))
        .transpose()
}
