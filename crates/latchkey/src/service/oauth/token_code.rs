//! The authorization code grant at the token endpoint (RFC 6749 §4.1.3,
//! RFC 7636 §4.6, RFC 9700 §2.1.1 and §4.5).
//!
//! A code is single-use, short-lived, and bound to its client, to the
//! redirect URI sent at authorize (the identical string) and to the PKCE
//! challenge. A code that comes back after it was used revokes everything
//! its first use issued: someone else has it.

use super::authorize::is_verifier;
use super::error::OAuthError;
use super::issue::TokenResponse;
use super::OAuthServer;
use crate::domain::{GrantId, GrantType, OAuthClient, PrefixedSecret, SecretKind};
use crate::store::NewGrant;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The form of `grant_type=authorization_code`.
#[derive(Clone, Debug, Default)]
pub struct CodeExchange {
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
}

impl OAuthServer {
    pub async fn exchange_code(
        &self,
        client: &OAuthClient,
        req: CodeExchange,
    ) -> Result<TokenResponse, OAuthError> {
        if !client.grant_types.contains(GrantType::AuthorizationCode) {
            return Err(OAuthError::unauthorized_client(
                "this client may not use the authorization code grant",
            ));
        }
        let code = req
            .code
            .as_deref()
            .ok_or_else(|| OAuthError::invalid_request("code is required"))?;
        // A malformed code or a bad checksum costs no database trip.
        let code = PrefixedSecret::parse_kind(code, SecretKind::AuthorizationCode)
            .ok_or_else(|| OAuthError::invalid_grant("the code is not valid"))?;
        let hash = code.hash();
        let record = self
            .store
            .find_code(&hash)
            .await?
            .ok_or_else(|| OAuthError::invalid_grant("the code is not valid"))?;
        if record.used_at.is_some() {
            self.code_replayed(record.grant).await?;
            return Err(OAuthError::invalid_grant(
                "the code was already used; what it issued is revoked",
            ));
        }
        if record.client != client.client_id {
            return Err(OAuthError::invalid_grant(
                "the code was issued to another client",
            ));
        }
        let now = self.clock.now();
        if record.expires_at.is_past(now) {
            return Err(OAuthError::invalid_grant("the code has expired"));
        }
        let redirect_ok = match (&record.redirect_uri, &req.redirect_uri) {
            // Sent at authorize: the identical string is required.
            (Some(sent), Some(now_sent)) => sent == now_sent,
            (Some(_), None) => false,
            // Not sent at authorize: if sent now, it must be a registered one.
            (None, Some(now_sent)) => client.redirect_uris.iter().any(|r| r.as_str() == now_sent),
            (None, None) => true,
        };
        if !redirect_ok {
            return Err(OAuthError::invalid_grant(
                "redirect_uri differs from the one sent at authorize",
            ));
        }
        match (&record.code_challenge, &req.code_verifier) {
            (Some(challenge), Some(verifier)) => {
                let matches = is_verifier(verifier)
                    && bool::from(s256(verifier).as_bytes().ct_eq(challenge.as_bytes()));
                if !matches {
                    return Err(OAuthError::invalid_grant(
                        "code_verifier does not match the code_challenge",
                    ));
                }
            }
            (Some(_), None) => return Err(OAuthError::invalid_grant("code_verifier is required")),
            // A verifier for a code issued without a challenge: someone is
            // trying to pass off a code from a flow without PKCE.
            (None, Some(_)) => {
                return Err(OAuthError::invalid_grant(
                    "no code_challenge was sent at authorize, so no code_verifier is accepted",
                ))
            }
            (None, None) => {}
        }
        let grant = NewGrant {
            id: GrantId::generate(),
            account: Some(record.account),
            client: client.client_id,
            scopes: record.scopes,
            created_at: now,
        };
        let minted = self.mint(
            client,
            Some(grant.id),
            Some(record.account),
            record.scopes,
            record.scopes,
            now,
        )?;
        let redeemed = self
            .store
            .redeem_code(&hash, now, &grant, &minted.access, minted.refresh.as_ref())
            .await?;
        if !redeemed {
            // Another request redeemed it between our read and our claim.
            let grant = self.store.find_code(&hash).await?.and_then(|r| r.grant);
            self.code_replayed(grant).await?;
            return Err(OAuthError::invalid_grant(
                "the code was already used; what it issued is revoked",
            ));
        }
        Ok(minted.response)
    }

    async fn code_replayed(&self, grant: Option<GrantId>) -> Result<(), OAuthError> {
        if let Some(grant) = grant {
            let hashes = self.store.revoke_grant(grant).await?;
            self.cache.evict(&hashes).await;
            tracing::warn!(%grant, "authorization code replayed; its grant is revoked");
            crate::service::AuditEvent::new(crate::domain::AuditKind::CodeReuseDetected)
                .outcome("grant revoked")
                .detail(serde_json::json!({"grant": grant.to_string()}))
                .record(&self.store)
                .await;
        }
        Ok(())
    }
}

fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}
