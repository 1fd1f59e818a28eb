use super::{rows, Store, StoreError};
use crate::domain::{ClientId, GrantTypes, OAuthClient, RedirectUri, ScopeSet, SecretHash};
use sqlx::any::AnyRow;
use sqlx::Row;

/// A client as stored: what the API shows, and its secret's hash.
#[derive(Clone, Debug)]
pub struct ClientRecord {
    pub client: OAuthClient,
    /// `None` for public clients.
    pub secret_hash: Option<SecretHash>,
}

/// The fields an admin may change.
pub struct ClientChange<'a> {
    pub name: &'a str,
    pub redirect_uris: &'a [RedirectUri],
    pub scopes: ScopeSet,
    pub grant_types: GrantTypes,
    pub resource_server: bool,
}

const COLUMNS: &str =
    "id, name, redirect_uris, public, scopes, grant_types, resource_server, secret_hash, created_at";

fn record(row: &AnyRow) -> Result<ClientRecord, StoreError> {
    let uris: String = row.try_get("redirect_uris")?;
    let uris: Vec<String> =
        serde_json::from_str(&uris).map_err(|_| StoreError::Corrupt("redirect_uris"))?;
    let redirect_uris = uris
        .iter()
        .map(|u| RedirectUri::parse(u).map_err(|_| StoreError::Corrupt("redirect_uris")))
        .collect::<Result<_, _>>()?;
    let grants: String = row.try_get("grant_types")?;
    let secret: Option<Vec<u8>> = row.try_get("secret_hash")?;
    Ok(ClientRecord {
        client: OAuthClient {
            client_id: rows::client_id(row, "id")?,
            name: row.try_get("name")?,
            redirect_uris,
            public: rows::flag(row, "public")?,
            scopes: rows::scopes(row, "scopes")?,
            grant_types: GrantTypes::parse_list(&grants)
                .ok_or(StoreError::Corrupt("grant_types"))?,
            resource_server: rows::flag(row, "resource_server")?,
            created_at: rows::timestamp(row, "created_at")?,
        },
        secret_hash: secret
            .map(|b| SecretHash::from_slice(&b).ok_or(StoreError::Corrupt("secret_hash")))
            .transpose()?,
    })
}

fn uris_json(uris: &[RedirectUri]) -> String {
    serde_json::to_string(&uris.iter().map(RedirectUri::as_str).collect::<Vec<_>>())
        .expect("strings serialise")
}

impl Store {
    pub async fn insert_client(
        &self,
        client: &OAuthClient,
        secret_hash: Option<&SecretHash>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oauth_clients \
             (id, name, redirect_uris, public, scopes, grant_types, secret_hash, created_at, \
              resource_server) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(client.client_id.to_string())
        .bind(&client.name)
        .bind(uris_json(&client.redirect_uris))
        .bind(i64::from(client.public))
        .bind(client.scopes.to_string())
        .bind(client.grant_types.to_list())
        .bind(secret_hash.map(|h| h.0.to_vec()))
        .bind(client.created_at.as_micros())
        .bind(i64::from(client.resource_server))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn get_client(&self, id: ClientId) -> Result<Option<ClientRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM oauth_clients WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(record).transpose()
    }

    pub async fn list_clients(&self) -> Result<Vec<OAuthClient>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM oauth_clients ORDER BY created_at, id");
        sqlx::query(&sql)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| record(row).map(|r| r.client))
            .collect()
    }

    pub async fn update_client(
        &self,
        id: ClientId,
        change: &ClientChange<'_>,
    ) -> Result<Option<OAuthClient>, StoreError> {
        let sql = format!(
            "UPDATE oauth_clients SET name = $1, redirect_uris = $2, scopes = $3, grant_types = $4, \
             resource_server = $5 WHERE id = $6 RETURNING {COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(change.name)
            .bind(uris_json(change.redirect_uris))
            .bind(change.scopes.to_string())
            .bind(change.grant_types.to_list())
            .bind(i64::from(change.resource_server))
            .bind(id.to_string())
            .fetch_optional(&self.writer)
            .await?;
        row.as_ref()
            .map(|r| record(r).map(|r| r.client))
            .transpose()
    }

    /// Replaces a confidential client's secret; `false` if there is no such client.
    pub async fn set_client_secret(
        &self,
        id: ClientId,
        hash: &SecretHash,
    ) -> Result<bool, StoreError> {
        Ok(sqlx::query(
            "UPDATE oauth_clients SET secret_hash = $1 WHERE id = $2 AND secret_hash IS NOT NULL",
        )
        .bind(hash.0.to_vec())
        .bind(id.to_string())
        .execute(&self.writer)
        .await?
        .rows_affected()
            == 1)
    }

    /// Deletes the client and, by cascade, every consent, grant, code and
    /// token issued to it, in one transaction. Returns the access tokens'
    /// hashes for the caches; `None` if there was no such client.
    pub async fn delete_client(&self, id: ClientId) -> Result<Option<Vec<SecretHash>>, StoreError> {
        let id = id.to_string();
        let mut tx = self.writer.begin().await?;
        let hashes = sqlx::query(
            "DELETE FROM oauth_access_tokens WHERE client_id = $1 RETURNING secret_hash",
        )
        .bind(&id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| rows::secret_hash(row, "secret_hash"))
        .collect::<Result<Vec<_>, _>>()?;
        let deleted = sqlx::query("DELETE FROM oauth_clients WHERE id = $1")
            .bind(&id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        super::commit(tx).await?;
        Ok((deleted > 0).then_some(hashes))
    }

    /// Revokes every access token of a client (its refresh tokens stay).
    pub async fn delete_client_access_tokens(
        &self,
        id: ClientId,
    ) -> Result<Vec<SecretHash>, StoreError> {
        sqlx::query("DELETE FROM oauth_access_tokens WHERE client_id = $1 RETURNING secret_hash")
            .bind(id.to_string())
            .fetch_all(&self.writer)
            .await?
            .iter()
            .map(|row| rows::secret_hash(row, "secret_hash"))
            .collect()
    }
}
