//! What an OAuth access token (or a narrowed API token) may do. The set is
//! fixed and documented; anything else in a request is `invalid_scope`.

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    AccountRead,
    AccountWrite,
    TokensRead,
    TokensWrite,
    Profile,
    Email,
}

impl Scope {
    pub const ALL: [Scope; 6] = [
        Scope::AccountRead,
        Scope::AccountWrite,
        Scope::TokensRead,
        Scope::TokensWrite,
        Scope::Profile,
        Scope::Email,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::AccountRead => "account:read",
            Scope::AccountWrite => "account:write",
            Scope::TokensRead => "tokens:read",
            Scope::TokensWrite => "tokens:write",
            Scope::Profile => "profile",
            Scope::Email => "email",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == s)
    }

    /// What the consent page says the application may do.
    pub fn description(self) -> &'static str {
        match self {
            Scope::AccountRead => "See your account: name, email and plan",
            Scope::AccountWrite => "Change your account's name and email, or delete it",
            Scope::TokensRead => "List your API tokens (never their secrets)",
            Scope::TokensWrite => "Delete your API tokens",
            Scope::Profile => "Know your name",
            Scope::Email => "Know your email address",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of scopes. On the wire: space-separated names (RFC 6749 §3.3).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ScopeSet(u8);

impl ScopeSet {
    pub const EMPTY: ScopeSet = ScopeSet(0);

    pub fn all() -> Self {
        Scope::ALL.into_iter().collect()
    }

    /// Space-separated names; empty text is the empty set. `Err` names the
    /// first unknown scope.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut set = ScopeSet::EMPTY;
        for name in text.split(' ').filter(|s| !s.is_empty()) {
            match Scope::parse(name) {
                Some(scope) => set.insert(scope),
                None => return Err(name.chars().take(64).collect()),
            }
        }
        Ok(set)
    }

    pub fn insert(&mut self, scope: Scope) {
        self.0 |= scope.bit();
    }

    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    pub fn is_subset_of(self, other: ScopeSet) -> bool {
        self.0 & !other.0 == 0
    }

    pub fn union(self, other: ScopeSet) -> ScopeSet {
        ScopeSet(self.0 | other.0)
    }

    pub fn intersection(self, other: ScopeSet) -> ScopeSet {
        ScopeSet(self.0 & other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        let mut set = ScopeSet::EMPTY;
        for scope in iter {
            set.insert(scope);
        }
        set
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for scope in self.iter() {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(scope.as_str())?;
            first = false;
        }
        Ok(())
    }
}

impl fmt::Debug for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ScopeSet({self})")
    }
}

/// JSON: an array of scope names.
impl Serialize for ScopeSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter().map(Scope::as_str))
    }
}

impl<'de> Deserialize<'de> for ScopeSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // The schema says `uniqueItems`: a name given twice is refused, not
        // silently merged, so what a client sends is what it documents.
        let names = Vec::<String>::deserialize(deserializer)?;
        let mut set = ScopeSet::EMPTY;
        for n in &names {
            let scope = Scope::parse(n).ok_or_else(|| {
                de::Error::custom(format!("unknown scope {n:?}; known: {}", ScopeSet::all()))
            })?;
            if set.contains(scope) {
                return Err(de::Error::custom(format!("scope {n:?} is listed twice")));
            }
            set.insert(scope);
        }
        Ok(set)
    }
}

impl utoipa::PartialSchema for ScopeSet {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
        ArrayBuilder::new()
            .items(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(Scope::ALL.map(Scope::as_str))),
            )
            .unique_items(true)
            .into()
    }
}

impl utoipa::ToSchema for ScopeSet {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_space_separated() {
        let set = ScopeSet::parse("email  account:read").unwrap();
        assert!(set.contains(Scope::Email) && set.contains(Scope::AccountRead));
        assert!(!set.contains(Scope::TokensWrite));
        assert_eq!(set.to_string(), "account:read email");
        assert_eq!(ScopeSet::parse("").unwrap(), ScopeSet::EMPTY);
        assert_eq!(ScopeSet::parse("email admin").unwrap_err(), "admin");
        assert_eq!(
            ScopeSet::parse(&ScopeSet::all().to_string()).unwrap(),
            ScopeSet::all()
        );
    }

    #[test]
    fn subsets() {
        let small = ScopeSet::parse("email").unwrap();
        let big = ScopeSet::parse("email profile").unwrap();
        assert!(small.is_subset_of(big));
        assert!(!big.is_subset_of(small));
        assert!(ScopeSet::EMPTY.is_subset_of(small));
    }

    #[test]
    fn json_is_an_array_of_names() {
        let set = ScopeSet::parse("tokens:read profile").unwrap();
        assert_eq!(
            serde_json::to_value(set).unwrap(),
            serde_json::json!(["tokens:read", "profile"])
        );
        let back: ScopeSet = serde_json::from_value(serde_json::json!(["profile"])).unwrap();
        assert_eq!(back, ScopeSet::parse("profile").unwrap());
        assert!(serde_json::from_value::<ScopeSet>(serde_json::json!(["root"])).is_err());
    }
}
