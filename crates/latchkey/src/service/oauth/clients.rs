//! The client registry (admins only) and client authentication.

use super::error::OAuthError;
use crate::domain::AuditKind;
use crate::domain::{
    name_problems, ClientId, GrantType, GrantTypes, OAuthClient, PrefixedSecret, RedirectUri,
    ScopeSet, SecretKind, Timestamp,
};
use crate::service::AuditEvent;
use crate::service::{Caller, Peers, ServiceError, TokenCache};
use crate::store::{ClientChange, ClientRecord, Store};
use moka::sync::Cache;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;

const CLIENT_NOT_FOUND: ServiceError = ServiceError::NotFound("Client not found");

/// What an admin sends to register or change a client.
#[derive(Clone, Debug)]
pub struct ClientInput {
    pub name: String,
    pub redirect_uris: Vec<RedirectUri>,
    pub public: bool,
    pub scopes: Option<ScopeSet>,
    pub grant_types: Option<GrantTypes>,
    pub resource_server: bool,
}

/// A registered client, with its secret this once.
pub struct RegisteredClient {
    pub client: OAuthClient,
    pub secret: Option<PrefixedSecret>,
}

/// How a request to the token, revocation or introspection endpoint
/// identified its client (RFC 6749 §2.3.1).
#[derive(Clone, Debug)]
pub struct PresentedClient {
    pub id: String,
    pub secret: Option<String>,
    /// Sent with HTTP Basic: a failure then answers 401 with a challenge.
    pub basic: bool,
}

#[derive(Clone)]
pub struct ClientRegistry {
    store: Store,
    tokens: Arc<TokenCache>,
    /// Clients by id, so the token and introspection endpoints need no
    /// database trip to authenticate one. Every change evicts.
    cache: Cache<ClientId, Arc<ClientRecord>>,
    /// Bumped by every eviction (see `record`).
    generation: Arc<AtomicU64>,
    peers: Peers,
}

impl ClientRegistry {
    pub fn new(store: Store, tokens: Arc<TokenCache>) -> Self {
        Self {
            peers: Peers::new(store.clone()),
            generation: Arc::new(AtomicU64::new(0)),
            store,
            tokens,
            cache: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(60))
                .build(),
        }
    }

    /// Another node changed this client.
    pub fn forget(&self, id: &ClientId) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.cache.invalidate(id);
    }

    pub fn forget_all(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.cache.invalidate_all();
    }

    /// Call after the change has committed.
    async fn forget_everywhere(&self, id: ClientId) {
        self.forget(&id);
        self.peers.client_changed(id).await;
    }

    pub async fn create(
        &self,
        caller: &Caller,
        input: ClientInput,
    ) -> Result<RegisteredClient, ServiceError> {
        require_admin(caller)?;
        let (scopes, grant_types) = check(&input)?;
        let client = OAuthClient {
            client_id: ClientId::generate(),
            name: input.name.trim().to_owned(),
            redirect_uris: input.redirect_uris,
            public: input.public,
            scopes,
            grant_types,
            resource_server: input.resource_server,
            created_at: Timestamp::now(),
        };
        let secret = (!client.public).then(|| PrefixedSecret::generate(SecretKind::ClientSecret));
        let hash = secret.as_ref().map(PrefixedSecret::hash);
        self.store.insert_client(&client, hash.as_ref()).await?;
        AuditEvent::new(AuditKind::ClientCreated)
            .by(caller)
            .target(client.client_id)
            .detail(serde_json::json!({"name": client.name, "public": client.public}))
            .record(&self.store)
            .await;
        Ok(RegisteredClient { client, secret })
    }

    pub async fn list(&self, caller: &Caller) -> Result<Vec<OAuthClient>, ServiceError> {
        require_admin(caller)?;
        Ok(self.store.list_clients().await?)
    }

    pub async fn get(&self, caller: &Caller, id: ClientId) -> Result<OAuthClient, ServiceError> {
        require_admin(caller)?;
        Ok(self
            .record(id)
            .await?
            .ok_or(CLIENT_NOT_FOUND)?
            .client
            .clone())
    }

    /// Name, redirect URIs, scopes and grant types change; whether the client
    /// is public does not (it decides whether it has a secret at all).
    pub async fn update(
        &self,
        caller: &Caller,
        id: ClientId,
        input: ClientInput,
    ) -> Result<OAuthClient, ServiceError> {
        require_admin(caller)?;
        let current = self.record(id).await?.ok_or(CLIENT_NOT_FOUND)?;
        if current.client.public != input.public {
            return Err(ServiceError::invalid(
                "public cannot change; register a new client instead",
            ));
        }
        let (scopes, grant_types) = check(&input)?;
        let change = ClientChange {
            name: input.name.trim(),
            redirect_uris: &input.redirect_uris,
            scopes,
            grant_types,
            resource_server: input.resource_server,
        };
        let updated = self
            .store
            .update_client(id, &change)
            .await?
            .ok_or(CLIENT_NOT_FOUND)?;
        self.forget_everywhere(id).await;
        // Narrowed: tokens issued under the wider scopes stop at once. Its
        // refresh tokens stay, and their next refresh gets the narrower set.
        if !current.client.scopes.is_subset_of(scopes) {
            let hashes = self.store.delete_client_access_tokens(id).await?;
            self.tokens.evict(&hashes).await;
        }
        // Redirect URIs decide where codes go: a change is worth a record.
        AuditEvent::new(AuditKind::ClientUpdated)
            .by(caller)
            .target(id)
            .detail(serde_json::json!({
                "redirectUris": updated.redirect_uris,
                "scopes": updated.scopes.to_string(),
            }))
            .record(&self.store)
            .await;
        Ok(updated)
    }

    /// Deleting a client revokes everything issued to it, at once.
    pub async fn delete(&self, caller: &Caller, id: ClientId) -> Result<(), ServiceError> {
        require_admin(caller)?;
        let hashes = self
            .store
            .delete_client(id)
            .await?
            .ok_or(CLIENT_NOT_FOUND)?;
        self.forget_everywhere(id).await;
        self.tokens.evict(&hashes).await;
        AuditEvent::new(AuditKind::ClientDeleted)
            .by(caller)
            .target(id)
            .record(&self.store)
            .await;
        Ok(())
    }

    /// A new secret for a confidential client; the old one stops working.
    pub async fn rotate_secret(
        &self,
        caller: &Caller,
        id: ClientId,
    ) -> Result<RegisteredClient, ServiceError> {
        require_admin(caller)?;
        let current = self.record(id).await?.ok_or(CLIENT_NOT_FOUND)?;
        if current.client.public {
            return Err(ServiceError::invalid("a public client has no secret"));
        }
        let secret = PrefixedSecret::generate(SecretKind::ClientSecret);
        if !self.store.set_client_secret(id, &secret.hash()).await? {
            return Err(CLIENT_NOT_FOUND);
        }
        self.forget_everywhere(id).await;
        AuditEvent::new(AuditKind::ClientSecretRotated)
            .by(caller)
            .target(id)
            .record(&self.store)
            .await;
        Ok(RegisteredClient {
            client: current.client.clone(),
            secret: Some(secret),
        })
    }

    /// The client behind a request to the token, revocation, introspection
    /// or device endpoint. A confidential client must present its secret; a
    /// public one must not present any.
    pub async fn authenticate(
        &self,
        presented: &PresentedClient,
    ) -> Result<OAuthClient, OAuthError> {
        const UNKNOWN: &str = "unknown client or wrong credentials";
        let id: ClientId = presented
            .id
            .parse()
            .map_err(|_| OAuthError::invalid_client(UNKNOWN))?;
        let record = self
            .record(id)
            .await?
            .ok_or(OAuthError::invalid_client(UNKNOWN))?;
        match (&record.secret_hash, &presented.secret) {
            (None, None) => Ok(record.client.clone()),
            (None, Some(_)) => Err(OAuthError::invalid_client(
                "a public client has no secret to send",
            )),
            (Some(_), None) => Err(OAuthError::invalid_client(
                "this client must authenticate with its secret",
            )),
            (Some(stored), Some(sent)) => {
                // The checksum refuses a mistyped secret without hashing
                // anything; the comparison takes the same time either way.
                let matches = PrefixedSecret::parse_kind(sent, SecretKind::ClientSecret)
                    .is_some_and(|s| bool::from(s.hash().0.ct_eq(&stored.0)));
                match matches {
                    true => Ok(record.client.clone()),
                    false => Err(OAuthError::invalid_client(UNKNOWN)),
                }
            }
        }
    }

    /// A client by id, for the authorization endpoint (which knows no secret).
    pub async fn find(&self, id: &str) -> Result<Option<OAuthClient>, OAuthError> {
        let Ok(id) = id.parse::<ClientId>() else {
            return Ok(None);
        };
        Ok(self.record(id).await?.map(|r| r.client.clone()))
    }

    async fn record(
        &self,
        id: ClientId,
    ) -> Result<Option<Arc<ClientRecord>>, crate::store::StoreError> {
        if let Some(record) = self.cache.get(&id) {
            return Ok(Some(record));
        }
        // As in the token cache: a lookup that read the row before a change
        // and finishes after its eviction must not cache what it read.
        let seen = self.generation.load(Ordering::SeqCst);
        let record = self.store.get_client(id).await?.map(Arc::new);
        if let Some(record) = &record {
            self.cache.insert(id, record.clone());
            if self.generation.load(Ordering::SeqCst) != seen {
                self.cache.invalidate(&id);
            }
        }
        Ok(record)
    }
}

fn require_admin(caller: &Caller) -> Result<(), ServiceError> {
    // Like accounts: non-admins are told nothing exists.
    match caller.is_admin() {
        true => Ok(()),
        false => Err(CLIENT_NOT_FOUND),
    }
}

/// Every problem with a registration, and the scopes and grants it gets.
fn check(input: &ClientInput) -> Result<(ScopeSet, GrantTypes), ServiceError> {
    let mut problems = name_problems(&input.name);
    if input.redirect_uris.len() > 20 {
        problems.push("at most 20 redirect URIs".to_owned());
    }
    let unique: std::collections::HashSet<&str> = input
        .redirect_uris
        .iter()
        .map(RedirectUri::as_str)
        .collect();
    if unique.len() != input.redirect_uris.len() {
        problems.push("redirectUris must not repeat a URI".to_owned());
    }
    let scopes = input.scopes.unwrap_or_else(ScopeSet::all);
    if scopes.is_empty() {
        problems.push("scopes must name at least one scope".to_owned());
    }
    if input.public && input.resource_server {
        problems.push(
            "a public client cannot introspect, so it cannot be a resource server".to_owned(),
        );
    }
    let grant_types = input.grant_types.unwrap_or_else(|| match input.public {
        true => [
            GrantType::AuthorizationCode,
            GrantType::RefreshToken,
            GrantType::DeviceCode,
        ]
        .into_iter()
        .collect(),
        false => [
            GrantType::AuthorizationCode,
            GrantType::RefreshToken,
            GrantType::ClientCredentials,
        ]
        .into_iter()
        .collect(),
    });
    if grant_types.is_empty() {
        problems.push("grantTypes must name at least one grant type".to_owned());
    }
    if input.public && grant_types.contains(GrantType::ClientCredentials) {
        problems.push("a public client cannot use client_credentials".to_owned());
    }
    if grant_types.contains(GrantType::AuthorizationCode) && input.redirect_uris.is_empty() {
        problems.push("authorization_code needs at least one redirect URI".to_owned());
    }
    match problems.is_empty() {
        true => Ok((scopes, grant_types)),
        false => Err(ServiceError::Invalid(problems)),
    }
}
