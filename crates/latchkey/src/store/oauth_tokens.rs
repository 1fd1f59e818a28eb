//! Grants (token families), OAuth access tokens and refresh tokens.

use super::{rows, Store, StoreError};
use crate::domain::{AccountId, ClientId, GrantId, ScopeSet, SecretHash, Timestamp, TokenId};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

/// One authorization: what a consent, a device approval or a
/// client_credentials request produced.
#[derive(Clone, Debug)]
pub struct NewGrant {
    pub id: GrantId,
    /// `None` for client_credentials.
    pub account: Option<AccountId>,
    pub client: ClientId,
    pub scopes: ScopeSet,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct NewAccessToken {
    pub id: TokenId,
    pub hash: SecretHash,
    pub client: ClientId,
    pub grant: Option<GrantId>,
    pub account: Option<AccountId>,
    pub scopes: ScopeSet,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct NewRefreshToken {
    pub hash: SecretHash,
    pub grant: GrantId,
    pub scopes: ScopeSet,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// An access token as authentication and introspection need it.
#[derive(Clone, Debug)]
pub struct AccessRecord {
    pub id: TokenId,
    pub client: ClientId,
    pub grant: Option<GrantId>,
    pub account: Option<AccountId>,
    /// The account's email, the introspection `username`.
    pub email: Option<String>,
    pub scopes: ScopeSet,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// Its grant's last recorded use.
    pub last_used_at: Option<Timestamp>,
}

/// A refresh token with what its grant says.
#[derive(Clone, Debug)]
pub struct RefreshRecord {
    pub grant: GrantId,
    pub client: ClientId,
    pub account: Option<AccountId>,
    pub scopes: ScopeSet,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
    /// The sealed pair the rotation issued, while its grace window lasts.
    pub successor: Option<String>,
    pub successor_until: Option<Timestamp>,
}

/// An application a user authorized, for `GET …/authorizations`.
#[derive(Clone, Debug)]
pub struct AuthorizationRecord {
    pub client: ClientId,
    pub client_name: String,
    pub scopes: ScopeSet,
    pub granted_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

pub(super) async fn insert_grant(
    tx: &mut Transaction<'_, Any>,
    grant: &NewGrant,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO oauth_grants (id, account_id, client_id, scopes, created_at, last_used_at) \
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(grant.id.to_string())
    .bind(grant.account.map(|a| a.to_string()))
    .bind(grant.client.to_string())
    .bind(grant.scopes.to_string())
    .bind(grant.created_at.as_micros())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(super) async fn insert_access_token<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    token: &NewAccessToken,
) -> Result<(), StoreError> {
    let query = sqlx::query(
        "INSERT INTO oauth_access_tokens \
         (id, secret_hash, client_id, grant_id, account_id, scopes, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    );
    bind_access_token(query, token).execute(executor).await?;
    Ok(())
}

/// The columns in the order of [`ACCESS_TOKEN_COLUMNS`].
pub(super) fn bind_access_token<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    token: &'q NewAccessToken,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    query
        .bind(token.id.to_string())
        .bind(token.hash.0.to_vec())
        .bind(token.client.to_string())
        .bind(token.grant.map(|g| g.to_string()))
        .bind(token.account.map(|a| a.to_string()))
        .bind(token.scopes.to_string())
        .bind(token.created_at.as_micros())
        .bind(token.expires_at.as_micros())
}

pub(super) const ACCESS_TOKEN_COLUMNS: &str =
    "id, secret_hash, client_id, grant_id, account_id, scopes, created_at, expires_at";

async fn insert_refresh_token(
    tx: &mut Transaction<'_, Any>,
    token: &NewRefreshToken,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO oauth_refresh_tokens (secret_hash, grant_id, scopes, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token.hash.0.to_vec())
    .bind(token.grant.to_string())
    .bind(token.scopes.to_string())
    .bind(token.created_at.as_micros())
    .bind(token.expires_at.as_micros())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Access and refresh token of one issuance, in the transaction that justifies them.
pub(super) async fn insert_pair(
    tx: &mut Transaction<'_, Any>,
    access: &NewAccessToken,
    refresh: Option<&NewRefreshToken>,
) -> Result<(), StoreError> {
    insert_access_token(&mut **tx, access).await?;
    if let Some(refresh) = refresh {
        insert_refresh_token(tx, refresh).await?;
    }
    Ok(())
}

fn access_record(row: &AnyRow) -> Result<AccessRecord, StoreError> {
    Ok(AccessRecord {
        id: rows::token_id(row, "id")?,
        client: rows::client_id(row, "client_id")?,
        grant: rows::opt_grant_id(row, "grant_id")?,
        account: rows::opt_account_id(row, "account_id")?,
        email: row.try_get("email")?,
        scopes: rows::scopes(row, "scopes")?,
        created_at: rows::timestamp(row, "created_at")?,
        expires_at: rows::timestamp(row, "expires_at")?,
        last_used_at: rows::opt_timestamp(row, "last_used_at")?,
    })
}

/// Deletes the access tokens `where_sql` selects (with `$1` bound to `key`)
/// and returns their hashes for the caches.
async fn delete_access_tokens(
    tx: &mut Transaction<'_, Any>,
    where_sql: &str,
    key: String,
) -> Result<Vec<SecretHash>, StoreError> {
    let sql = format!("DELETE FROM oauth_access_tokens WHERE {where_sql} RETURNING secret_hash");
    sqlx::query(&sql)
        .bind(key)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|row| rows::secret_hash(row, "secret_hash"))
        .collect()
}

impl Store {
    /// One indexed lookup, joined with the account for introspection.
    pub async fn find_access_token(
        &self,
        hash: &SecretHash,
    ) -> Result<Option<AccessRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT t.id, t.client_id, t.grant_id, t.account_id, a.email, t.scopes, \
                    t.created_at, t.expires_at, g.last_used_at \
             FROM oauth_access_tokens t LEFT JOIN accounts a ON a.id = t.account_id \
                  LEFT JOIN oauth_grants g ON g.id = t.grant_id \
             WHERE t.secret_hash = $1",
        )
        .bind(hash.0.to_vec())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(access_record).transpose()
    }

    pub async fn find_refresh_token(
        &self,
        hash: &SecretHash,
    ) -> Result<Option<RefreshRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT r.grant_id, g.client_id, g.account_id, r.scopes, r.created_at, r.expires_at, \
                    r.used_at, r.successor, r.successor_until \
             FROM oauth_refresh_tokens r JOIN oauth_grants g ON g.id = r.grant_id \
             WHERE r.secret_hash = $1",
        )
        .bind(hash.0.to_vec())
        .fetch_optional(&self.writer)
        .await?;
        row.map(|row| {
            Ok(RefreshRecord {
                grant: rows::grant_id(&row, "grant_id")?,
                client: rows::client_id(&row, "client_id")?,
                account: rows::opt_account_id(&row, "account_id")?,
                scopes: rows::scopes(&row, "scopes")?,
                created_at: rows::timestamp(&row, "created_at")?,
                expires_at: rows::timestamp(&row, "expires_at")?,
                used_at: rows::opt_timestamp(&row, "used_at")?,
                successor: row.try_get("successor")?,
                successor_until: rows::opt_timestamp(&row, "successor_until")?,
            })
        })
        .transpose()
    }

    /// A grant with its first tokens, in one transaction (device approvals;
    /// client_credentials have no grant and go through [`Store::insert_access_token`]).
    pub async fn insert_grant_with_tokens(
        &self,
        grant: &NewGrant,
        access: &NewAccessToken,
        refresh: Option<&NewRefreshToken>,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        insert_grant(&mut tx, grant).await?;
        insert_pair(&mut tx, access, refresh).await?;
        super::commit(tx).await?;
        Ok(())
    }

    /// Group-committed with concurrent issuances (client_credentials).
    pub async fn insert_access_token(&self, token: &NewAccessToken) -> Result<(), StoreError> {
        self.group.insert_access(token).await
    }

    /// Rotates a refresh token: marks it used, keeps the sealed successor
    /// for the grace window, and stores the new pair, all or nothing. The
    /// one conditional UPDATE is the claim: `false` means another request
    /// rotated it first (read the row again for its successor).
    pub async fn rotate_refresh_token(
        &self,
        old: &SecretHash,
        now: Timestamp,
        sealed_successor: &str,
        successor_until: Timestamp,
        access: &NewAccessToken,
        refresh: &NewRefreshToken,
    ) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin().await?;
        let claimed = sqlx::query(
            "UPDATE oauth_refresh_tokens SET used_at = $1, successor = $2, successor_until = $3 \
             WHERE secret_hash = $4 AND used_at IS NULL",
        )
        .bind(now.as_micros())
        .bind(sealed_successor)
        .bind(successor_until.as_micros())
        .bind(old.0.to_vec())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed != 1 {
            // Rather than dropped: the writer's release check then has no
            // queued rollback to wait for (a lost race is common under load).
            tx.rollback().await?;
            return Ok(false);
        }
        insert_pair(&mut tx, access, Some(refresh)).await?;
        sqlx::query("UPDATE oauth_grants SET last_used_at = $1 WHERE id = $2")
            .bind(now.as_micros())
            .bind(refresh.grant.to_string())
            .execute(&mut *tx)
            .await?;
        super::commit(tx).await?;
        Ok(true)
    }

    /// Revokes one grant: its access tokens, refresh tokens and the grant
    /// itself. Returns the access tokens' hashes for the caches.
    pub async fn revoke_grant(&self, grant: GrantId) -> Result<Vec<SecretHash>, StoreError> {
        let mut tx = self.writer.begin().await?;
        let hashes = delete_access_tokens(&mut tx, "grant_id = $1", grant.to_string()).await?;
        sqlx::query("DELETE FROM oauth_grants WHERE id = $1")
            .bind(grant.to_string())
            .execute(&mut *tx)
            .await?;
        super::commit(tx).await?;
        Ok(hashes)
    }

    /// Deletes one access token by id; its hash for the caches.
    pub async fn delete_access_token_by_id(
        &self,
        id: TokenId,
    ) -> Result<Option<SecretHash>, StoreError> {
        let row =
            sqlx::query("DELETE FROM oauth_access_tokens WHERE id = $1 RETURNING secret_hash")
                .bind(id.to_string())
                .fetch_optional(&self.writer)
                .await?;
        row.map(|row| rows::secret_hash(&row, "secret_hash"))
            .transpose()
    }

    /// Revokes one access token; `None` if there was none with this hash.
    pub async fn revoke_access_token(
        &self,
        hash: &SecretHash,
    ) -> Result<Option<AccessRecord>, StoreError> {
        let found = self.find_access_token(hash).await?;
        if found.is_some() {
            sqlx::query("DELETE FROM oauth_access_tokens WHERE secret_hash = $1")
                .bind(hash.0.to_vec())
                .execute(&self.writer)
                .await?;
        }
        Ok(found)
    }

    /// Everything an account gave a client: the consent, every grant and its
    /// tokens, and codes not yet exchanged. Returns the access tokens' hashes;
    /// `None` if there was nothing to revoke.
    pub async fn revoke_authorization(
        &self,
        account: AccountId,
        client: ClientId,
    ) -> Result<Option<Vec<SecretHash>>, StoreError> {
        let (account, client) = (account.to_string(), client.to_string());
        let mut tx = self.writer.begin().await?;
        let consents =
            sqlx::query("DELETE FROM oauth_consents WHERE account_id = $1 AND client_id = $2")
                .bind(&account)
                .bind(&client)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        let hashes = sqlx::query(
            "DELETE FROM oauth_access_tokens WHERE account_id = $1 AND client_id = $2 \
             RETURNING secret_hash",
        )
        .bind(&account)
        .bind(&client)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| rows::secret_hash(row, "secret_hash"))
        .collect::<Result<Vec<_>, _>>()?;
        let grants =
            sqlx::query("DELETE FROM oauth_grants WHERE account_id = $1 AND client_id = $2")
                .bind(&account)
                .bind(&client)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        sqlx::query("DELETE FROM oauth_codes WHERE account_id = $1 AND client_id = $2")
            .bind(&account)
            .bind(&client)
            .execute(&mut *tx)
            .await?;
        // A device this user approved that has not polled yet would
        // otherwise still collect its tokens.
        let devices =
            sqlx::query("DELETE FROM oauth_device_codes WHERE account_id = $1 AND client_id = $2")
                .bind(&account)
                .bind(&client)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        super::commit(tx).await?;
        Ok((consents + grants + devices > 0 || !hashes.is_empty()).then_some(hashes))
    }

    /// The applications an account authorized: one per client, with the
    /// consented scopes, when granted and when last used.
    pub async fn list_authorizations(
        &self,
        account: AccountId,
    ) -> Result<Vec<AuthorizationRecord>, StoreError> {
        sqlx::query(
            "SELECT c.client_id, k.name, c.scopes, c.granted_at, \
                    (SELECT MAX(g.last_used_at) FROM oauth_grants g \
                     WHERE g.account_id = c.account_id AND g.client_id = c.client_id) AS last_used_at \
             FROM oauth_consents c JOIN oauth_clients k ON k.id = c.client_id \
             WHERE c.account_id = $1 ORDER BY c.granted_at, c.client_id",
        )
        .bind(account.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(AuthorizationRecord {
                client: rows::client_id(row, "client_id")?,
                client_name: row.try_get("name")?,
                scopes: rows::scopes(row, "scopes")?,
                granted_at: rows::timestamp(row, "granted_at")?,
                last_used_at: rows::opt_timestamp(row, "last_used_at")?,
            })
        })
        .collect()
    }

    pub async fn consented_scopes(
        &self,
        account: AccountId,
        client: ClientId,
    ) -> Result<Option<ScopeSet>, StoreError> {
        let row = sqlx::query(
            "SELECT scopes FROM oauth_consents WHERE account_id = $1 AND client_id = $2",
        )
        .bind(account.to_string())
        .bind(client.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| rows::scopes(&row, "scopes")).transpose()
    }

    /// Records (or widens) a consent.
    pub async fn record_consent(
        &self,
        account: AccountId,
        client: ClientId,
        scopes: ScopeSet,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oauth_consents (account_id, client_id, scopes, granted_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account_id, client_id) DO UPDATE SET scopes = excluded.scopes",
        )
        .bind(account.to_string())
        .bind(client.to_string())
        .bind(scopes.to_string())
        .bind(now.as_micros())
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}
