//! The refresh token grant (RFC 6749 §6, RFC 9700 §4.14): rotation on every
//! use, with a grace window, and reuse detection per token family.
//!
//! - Each refresh claims the old token with one conditional UPDATE and issues
//!   a new pair in the same transaction.
//! - A client that lost the answer, or two tabs refreshing at once, replays
//!   the old token within the grace window and gets back the *same* pair,
//!   sealed under the server key beside the old token's hash for the window
//!   only. Nobody is logged out and no extra tokens appear.
//! - A replay after the window means the token leaked: that grant family is
//!   revoked, and nothing else (each authorization is its own family).
//! - The previous access token stays valid until its own expiry.
//! - The access token's scope may narrow, never widen; the new refresh
//!   token keeps the old one's scope (RFC 6749 §6), and nothing exceeds
//!   what the client may still ask for.

use super::error::OAuthError;
use super::issue::{SealedPair, TokenResponse};
use super::{requested_scopes, OAuthServer};
use crate::domain::{
    AuditKind, GrantType, OAuthClient, PrefixedSecret, ScopeSet, SecretKind, Timestamp,
};
use crate::store::RefreshRecord;

const SEAL_PURPOSE: &str = "refresh-successor-v1";

impl OAuthServer {
    pub async fn refresh(
        &self,
        client: &OAuthClient,
        refresh_token: Option<&str>,
        scope: Option<&str>,
    ) -> Result<TokenResponse, OAuthError> {
        if !client.grant_types.contains(GrantType::RefreshToken) {
            return Err(OAuthError::unauthorized_client(
                "this client may not use refresh tokens",
            ));
        }
        let presented = refresh_token
            .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
        let old = PrefixedSecret::parse_kind(presented, SecretKind::RefreshToken)
            .ok_or_else(|| OAuthError::invalid_grant("the refresh token is not valid"))?;
        let hash = old.hash();
        let record = self
            .store
            .find_refresh_token(&hash)
            .await?
            .ok_or_else(|| OAuthError::invalid_grant("the refresh token is not valid"))?;
        if record.client != client.client_id {
            return Err(OAuthError::invalid_grant(
                "the refresh token was issued to another client",
            ));
        }
        let now = self.clock.now();
        if record.used_at.is_some() {
            return self.replayed(&old, &record, now).await;
        }
        if record.expires_at.is_past(now) {
            return Err(OAuthError::invalid_grant("the refresh token has expired"));
        }
        let scopes = requested_scopes(
            scope,
            record.scopes,
            "a refresh may narrow the scope, never widen it",
        )
        .map_err(OAuthError::invalid_scope)?;
        let minted = self.mint(
            client,
            Some(record.grant),
            record.account,
            record.scopes,
            scopes,
            now,
        )?;
        let (Some(new_refresh), Some(new_refresh_row)) =
            (&minted.response.refresh_token, &minted.refresh)
        else {
            return Err(OAuthError::unauthorized_client(
                "this client may not use refresh tokens",
            ));
        };
        let sealed = SealedPair {
            replaces: old.expose().to_owned(),
            access_token: minted.response.access_token.expose().to_owned(),
            access_expires_at: minted.access.expires_at.as_micros(),
            refresh_token: new_refresh.expose().to_owned(),
            scope: minted.response.scope.to_string(),
        };
        let sealed = self.key.seal(
            SEAL_PURPOSE,
            &serde_json::to_vec(&sealed).expect("a plain struct serialises"),
        );
        let rotated = self
            .store
            .rotate_refresh_token(
                &hash,
                now,
                &sealed,
                now.plus(self.config.refresh_grace),
                &minted.access,
                new_refresh_row,
            )
            .await?;
        if !rotated {
            // A concurrent refresh of the same token won: answer as a replay.
            let record = self
                .store
                .find_refresh_token(&hash)
                .await?
                .ok_or_else(|| OAuthError::invalid_grant("the refresh token is not valid"))?;
            return self.replayed(&old, &record, now).await;
        }
        Ok(minted.response)
    }

    /// The token was already rotated: within the grace window, the same
    /// pair again; after it, the family is revoked.
    async fn replayed(
        &self,
        old: &PrefixedSecret,
        record: &RefreshRecord,
        now: Timestamp,
    ) -> Result<TokenResponse, OAuthError> {
        let within_window = record
            .successor_until
            .is_some_and(|until| !until.is_past(now));
        let pair = record
            .successor
            .as_deref()
            .filter(|_| within_window)
            .and_then(|sealed| self.key.open(SEAL_PURPOSE, sealed))
            .and_then(|plain| serde_json::from_slice::<SealedPair>(&plain).ok())
            .filter(|pair| pair.replaces == old.expose());
        if let Some(pair) = pair {
            let access_token =
                PrefixedSecret::parse_kind(&pair.access_token, SecretKind::AccessToken);
            let refresh_token =
                PrefixedSecret::parse_kind(&pair.refresh_token, SecretKind::RefreshToken);
            if let (Some(access_token), Some(refresh_token), Ok(scope)) =
                (access_token, refresh_token, ScopeSet::parse(&pair.scope))
            {
                // Revoked since (the access token, or the grant): nothing to
                // hand out again, and nothing leaked either.
                let alive = self
                    .store
                    .find_access_token(&access_token.hash())
                    .await?
                    .is_some()
                    && self
                        .store
                        .find_refresh_token(&refresh_token.hash())
                        .await?
                        .is_some();
                if !alive {
                    return Err(OAuthError::invalid_grant(
                        "the tokens this refresh issued have been revoked",
                    ));
                }
                let left = (pair.access_expires_at - now.as_micros()) / 1_000_000;
                return Ok(TokenResponse {
                    access_token,
                    expires_in: left.max(0),
                    refresh_token: Some(refresh_token),
                    scope,
                });
            }
        }
        let hashes = self.store.revoke_grant(record.grant).await?;
        self.cache.evict(&hashes).await;
        tracing::warn!(grant = %record.grant, "refresh token reused after rotation; its grant is revoked");
        let mut event = crate::service::AuditEvent::new(AuditKind::RefreshReuseDetected)
            .outcome("grant revoked")
            .target(record.client)
            .detail(serde_json::json!({"grant": record.grant.to_string()}));
        if let Some(account) = record.account {
            event = event.account(account);
        }
        event.record(&self.store).await;
        Err(OAuthError::invalid_grant(
            "the refresh token was already used; this authorization is revoked",
        ))
    }
}
