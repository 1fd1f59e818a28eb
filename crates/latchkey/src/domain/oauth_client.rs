//! A third-party application registered by an admin.

use super::{ClientId, RedirectUri, ScopeSet, Timestamp};
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use utoipa::ToSchema;

/// The grants a client may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    DeviceCode,
}

pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

impl GrantType {
    pub const ALL: [GrantType; 4] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
        GrantType::DeviceCode,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::DeviceCode => DEVICE_CODE_GRANT,
        }
    }

    /// The RFC names, and GoCD's `authorization-code` (accepted, never advertised).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "authorization-code" => Some(GrantType::AuthorizationCode),
            _ => GrantType::ALL.into_iter().find(|g| g.as_str() == s),
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of grant types; JSON: an array of names.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct GrantTypes(u8);

impl GrantTypes {
    pub fn contains(self, grant: GrantType) -> bool {
        self.0 & grant.bit() != 0
    }

    pub fn iter(self) -> impl Iterator<Item = GrantType> {
        GrantType::ALL
            .into_iter()
            .filter(move |g| self.contains(*g))
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Space-separated, as stored.
    pub fn parse_list(text: &str) -> Option<Self> {
        text.split(' ')
            .filter(|s| !s.is_empty())
            .map(GrantType::parse)
            .collect()
    }

    pub fn to_list(self) -> String {
        self.iter()
            .map(GrantType::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl FromIterator<GrantType> for GrantTypes {
    fn from_iter<I: IntoIterator<Item = GrantType>>(iter: I) -> Self {
        GrantTypes(iter.into_iter().fold(0, |bits, g| bits | g.bit()))
    }
}

impl fmt::Debug for GrantTypes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GrantTypes({})", self.to_list())
    }
}

impl Serialize for GrantTypes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter().map(GrantType::as_str))
    }
}

impl<'de> Deserialize<'de> for GrantTypes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let names = Vec::<String>::deserialize(deserializer)?;
        let mut set = GrantTypes(0);
        for n in &names {
            let grant = GrantType::ALL
                .into_iter()
                .find(|g| g.as_str() == n)
                .ok_or_else(|| de::Error::custom(format!("unknown grant type {n:?}")))?;
            if set.contains(grant) {
                return Err(de::Error::custom(format!(
                    "grant type {n:?} is listed twice"
                )));
            }
            set.0 |= grant.bit();
        }
        Ok(set)
    }
}

impl utoipa::PartialSchema for GrantTypes {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
        ArrayBuilder::new()
            .items(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(GrantType::ALL.map(GrantType::as_str))),
            )
            .unique_items(true)
            .into()
    }
}

impl ToSchema for GrantTypes {}

/// A registered client as the Client API shows it. The secret is never part of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OAuthClient {
    pub client_id: ClientId,
    pub name: String,
    pub redirect_uris: Vec<RedirectUri>,
    /// A public client (a browser or native app) cannot keep a secret: it has
    /// none, must use PKCE, and cannot use client_credentials.
    pub public: bool,
    /// The most any token issued to this client may do.
    pub scopes: ScopeSet,
    pub grant_types: GrantTypes,
    /// One of the platform's own services: it may introspect any Latchkey
    /// token. Other clients introspect only the tokens issued to them.
    pub resource_server: bool,
    pub created_at: Timestamp,
}

impl OAuthClient {
    /// The redirect URI a request names: the registered one it matches, or
    /// the only one when it names none (RFC 6749 §3.1.2.3).
    pub fn redirect_for(&self, sent: Option<&str>) -> Option<&RedirectUri> {
        match sent {
            Some(sent) => self.redirect_uris.iter().find(|r| r.matches(sent)),
            None if self.redirect_uris.len() == 1 => self.redirect_uris.first(),
            None => None,
        }
    }
}
