//! The device authorization grant, as a provider (RFC 8628): a device asks
//! for codes, a person types the user code at `/oauth/device` and approves,
//! and the device polls the token endpoint until then.

use super::error::{ErrorCode, OAuthError};
use super::issue::TokenResponse;
use super::{requested_scopes, OAuthServer, NOT_THE_CLIENTS};
use crate::domain::{
    AccountId, GrantId, GrantType, OAuthClient, PrefixedSecret, ScopeSet, SecretKind, UserCode,
    DEVICE_CODE_GRANT,
};
use crate::store::{DeviceStatus, NewDeviceCode, NewGrant, StoreError};

/// RFC 8628 §3.5: a client that polls too fast adds 5 s for good.
const SLOW_DOWN_STEP: u64 = 5;

/// The answer of `POST /oauth/device_authorization` (RFC 8628 §3.2).
pub struct DeviceAuthorization {
    pub device_code: PrefixedSecret,
    pub user_code: UserCode,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: u64,
}

/// A device waiting for a person, as the approval page shows it.
pub struct PendingDevice {
    pub user_code: UserCode,
    pub client: OAuthClient,
    pub scopes: ScopeSet,
}

impl OAuthServer {
    pub async fn start_device(
        &self,
        client: &OAuthClient,
        scope: Option<&str>,
    ) -> Result<DeviceAuthorization, OAuthError> {
        if !client.grant_types.contains(GrantType::DeviceCode) {
            return Err(OAuthError::unauthorized_client(
                "this client may not use the device authorization grant",
            ));
        }
        let scopes = requested_scopes(scope, client.scopes, NOT_THE_CLIENTS)
            .map_err(OAuthError::invalid_scope)?;
        let now = self.clock.now();
        let device_code = PrefixedSecret::generate(SecretKind::DeviceCode);
        // A user code is short: on the rare collision with a live one, draw again.
        for _ in 0..5 {
            let user_code = UserCode::generate();
            let row = NewDeviceCode {
                hash: device_code.hash(),
                user_code: user_code.clone(),
                client: client.client_id,
                scopes,
                created_at: now,
                expires_at: now.plus(self.config.device_code_lifetime),
                interval_secs: self.config.device_interval_secs,
            };
            match self.store.insert_device_code(&row).await {
                Ok(()) => {
                    let verification_uri = self.config.endpoint("/oauth/device");
                    return Ok(DeviceAuthorization {
                        verification_uri_complete: format!(
                            "{verification_uri}?user_code={user_code}"
                        ),
                        verification_uri,
                        device_code,
                        user_code,
                        expires_in: self.config.device_code_lifetime.num_seconds(),
                        interval: self.config.device_interval_secs,
                    });
                }
                Err(StoreError::Conflict) => continue,
                Err(err) => return Err(err.into()),
            }
        }
        Err(OAuthError::new(
            ErrorCode::ServerError,
            "could not draw a free user code",
        ))
    }

    /// The device a typed code names, if it still waits for an answer.
    pub async fn pending_device(&self, typed: &str) -> Result<Option<PendingDevice>, OAuthError> {
        let Some(user_code) = UserCode::normalise(typed) else {
            return Ok(None);
        };
        let Some(record) = self.store.find_device_by_user_code(&user_code).await? else {
            return Ok(None);
        };
        if record.status != DeviceStatus::Pending || record.expires_at.is_past(self.clock.now()) {
            return Ok(None);
        }
        let Some(client) = self.clients.find(&record.client.to_string()).await? else {
            return Ok(None);
        };
        Ok(Some(PendingDevice {
            user_code,
            client,
            scopes: record.scopes,
        }))
    }

    /// The person's answer; `false` if the code no longer waits for one.
    pub async fn decide_device(
        &self,
        account: AccountId,
        user_code: &UserCode,
        approve: bool,
    ) -> Result<bool, OAuthError> {
        let now = self.clock.now();
        let decided = self
            .store
            .decide_device_code(user_code, account, approve, now)
            .await?;
        if decided && approve {
            if let Some(record) = self.store.find_device_by_user_code(user_code).await? {
                let given = self
                    .store
                    .consented_scopes(account, record.client)
                    .await?
                    .unwrap_or_default();
                self.store
                    .record_consent(account, record.client, given.union(record.scopes), now)
                    .await?;
                // A person typed the code and said yes: always their decision.
                super::authorize::consent_granted(
                    &self.store,
                    account,
                    record.client,
                    record.scopes,
                    DEVICE_CODE_GRANT,
                )
                .await;
            }
        }
        Ok(decided)
    }

    /// `grant_type=urn:ietf:params:oauth:grant-type:device_code` (§3.4, §3.5).
    pub async fn poll_device(
        &self,
        client: &OAuthClient,
        device_code: Option<&str>,
    ) -> Result<TokenResponse, OAuthError> {
        if !client.grant_types.contains(GrantType::DeviceCode) {
            return Err(OAuthError::unauthorized_client(
                "this client may not use the device authorization grant",
            ));
        }
        let code =
            device_code.ok_or_else(|| OAuthError::invalid_request("device_code is required"))?;
        let code = PrefixedSecret::parse_kind(code, SecretKind::DeviceCode)
            .ok_or_else(|| OAuthError::invalid_grant("the device code is not valid"))?;
        let now = self.clock.now();
        let record = self
            .store
            .poll_device_code(&code.hash(), now, SLOW_DOWN_STEP)
            .await?
            .ok_or_else(|| OAuthError::invalid_grant("the device code is not valid"))?;
        if record.client != client.client_id {
            return Err(OAuthError::invalid_grant(
                "the device code was issued to another client",
            ));
        }
        if record.expires_at.is_past(now) {
            return Err(OAuthError::new(
                ErrorCode::ExpiredToken,
                "the device code has expired",
            ));
        }
        let too_early = record.last_poll_at.is_some_and(|last| {
            now.as_micros() - last.as_micros() < (record.interval_secs as i64) * 1_000_000
        });
        if too_early {
            return Err(OAuthError::new(
                ErrorCode::SlowDown,
                format!(
                    "poll at most every {} seconds",
                    record.interval_secs + SLOW_DOWN_STEP
                ),
            ));
        }
        match record.status {
            DeviceStatus::Pending => Err(OAuthError::new(
                ErrorCode::AuthorizationPending,
                "the user has not answered yet",
            )),
            DeviceStatus::Denied => Err(OAuthError::new(
                ErrorCode::AccessDenied,
                "the user denied the request",
            )),
            DeviceStatus::Issued => Err(OAuthError::invalid_grant(
                "the device code was already used",
            )),
            DeviceStatus::Approved => {
                let account = record.account.ok_or_else(|| {
                    OAuthError::invalid_grant("the device code has no approving user")
                })?;
                let grant = NewGrant {
                    id: GrantId::generate(),
                    account: Some(account),
                    client: client.client_id,
                    scopes: record.scopes,
                    created_at: now,
                };
                let minted = self.mint(
                    client,
                    Some(grant.id),
                    Some(account),
                    record.scopes,
                    record.scopes,
                    now,
                )?;
                let issued = self
                    .store
                    .issue_device_tokens(
                        &code.hash(),
                        &grant,
                        &minted.access,
                        minted.refresh.as_ref(),
                    )
                    .await?;
                match issued {
                    true => Ok(minted.response),
                    false => Err(OAuthError::invalid_grant(
                        "the device code was already used",
                    )),
                }
            }
        }
    }
}
