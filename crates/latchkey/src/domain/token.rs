use super::{AccountId, ScopeSet, Timestamp, TokenId};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::Arc;
use utoipa::ToSchema;
use uuid::Uuid;

/// A token's public description. The secret is never part of it. `name`,
/// `scopes` and `lastUsedAt` are extras of Latchkey's: absent unless the
/// token has them, so the Golem wire format is unchanged. (`lastUsedAt` is
/// read from the token lists; `/v1/login/token` answers from the cache.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Token {
    pub id: TokenId,
    pub account_id: AccountId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// What the token is for, as its owner named it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub name: Option<Arc<str>>,
    /// A narrowed token may do only this; without it, everything its account may.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<ScopeSet>,
    /// When it was last used, to within about a minute (recorded in batches);
    /// absent until then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<Timestamp>,
}

/// A freshly minted token with its secret: returned once, never stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnsafeToken {
    pub data: Token,
    pub secret: TokenSecret,
}

/// A bearer secret: a random UUIDv4 drawn from the operating system's CSPRNG.
///
/// `Debug` is redacted so the value cannot reach a log by accident.
#[derive(Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TokenSecret {
    #[schema(value_type = String, format = Uuid)]
    value: Uuid,
}

impl TokenSecret {
    pub fn generate() -> Self {
        Self {
            value: Uuid::new_v4(),
        }
    }

    /// Parses a secret as presented by a client; anything but a UUID is not one of ours.
    pub fn parse(raw: &str) -> Option<Self> {
        Uuid::try_parse(raw).ok().map(|value| Self { value })
    }

    pub fn hash(&self) -> SecretHash {
        SecretHash(Sha256::digest(self.value.as_bytes()).into())
    }

    pub fn expose(&self) -> String {
        self.value.to_string()
    }
}

impl fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSecret(<redacted>)")
    }
}

/// SHA-256 of a secret: what the database keeps and what lookups use.
///
/// Secrets carry 122 random bits, so a fast hash is enough; a slow KDF would
/// only cost every request without adding protection.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecretHash(pub [u8; 32]);

impl SecretHash {
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHash(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_v4_and_parse_back() {
        let a = TokenSecret::generate();
        let b = TokenSecret::generate();
        assert_ne!(a, b);
        assert_eq!(a.value.get_version_num(), 4);
        let parsed = TokenSecret::parse(&a.expose()).unwrap();
        assert_eq!(parsed.hash(), a.hash());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let s = TokenSecret::generate();
        assert!(!format!("{s:?}").contains(&s.expose()));
    }

    #[test]
    fn serialises_as_value_object() {
        let s = TokenSecret::generate();
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["value"], s.expose());
    }
}
