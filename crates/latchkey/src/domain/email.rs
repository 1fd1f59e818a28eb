use serde::{de, Deserialize, Deserializer, Serialize};
use std::fmt;
use utoipa::ToSchema;

/// An email address, trimmed and lower-cased so that uniqueness ignores case.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl utoipa::PartialSchema for Email {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, SchemaFormat, Type};
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
            .max_length(Some(254))
            .description(Some(
                "An email address, at most 254 characters, compared ignoring case.",
            ))
            .into()
    }
}

impl ToSchema for Email {}

impl Email {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let s = raw.trim();
        if s.is_empty() || s.chars().count() > 254 {
            return Err("email must be between 1 and 254 characters");
        }
        let (local, domain) = s.rsplit_once('@').ok_or("email must contain '@'")?;
        let bad = |c: char| c.is_whitespace() || c.is_control() || c == '<' || c == '>';
        if local.is_empty() || domain.is_empty() || s.chars().any(bad) || local.contains('@') {
            return Err("email is not a valid address");
        }
        if domain.starts_with('.') || domain.ends_with('.') || domain.contains("..") {
            return Err("email is not a valid address");
        }
        Ok(Self(s.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Email::parse(&raw).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_whitespace() {
        assert_eq!(
            Email::parse(" Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
    }

    #[test]
    fn rejects_invalid_addresses() {
        for bad in [
            "",
            "no-at",
            "@x.org",
            "a@",
            "a b@x.org",
            "a@x..org",
            "a@.x",
            "a@b@c",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
