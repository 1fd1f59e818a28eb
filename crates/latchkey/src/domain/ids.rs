use serde::{Deserialize, Serialize};
use std::fmt;
use utoipa::ToSchema;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = Uuid)]
        pub struct $name(pub Uuid);

        impl $name {
            /// Time-ordered ids keep B-tree inserts local; creation time is public anyway.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// Identifies an account.
    AccountId
);
id_type!(
    /// Identifies a token (not its secret).
    TokenId
);
id_type!(
    /// Identifies a plan.
    PlanId
);
id_type!(
    /// Identifies a registered OAuth client (its public `client_id`).
    ClientId
);
id_type!(
    /// Identifies one authorization: the family of codes and tokens that one
    /// consent (or one device approval) produced.
    GrantId
);
