//! Domain types shared by every layer: parsed once at the edge, valid by construction.

mod account;
mod audit;
mod email;
mod ids;
mod oauth_client;
mod plan;
mod redirect_uri;
mod scope;
mod secret;
mod sign_in_origin;
mod timestamp;
mod token;
pub(crate) mod user_code;

pub use account::{name_problems, Account, AccountData, Role};
pub use audit::{AuditEntry, AuditKind};
pub use email::Email;
pub use ids::{AccountId, ClientId, GrantId, PlanId, TokenId};
pub use oauth_client::{GrantType, GrantTypes, OAuthClient, DEVICE_CODE_GRANT};
pub use plan::{Plan, PlanData};
pub use redirect_uri::RedirectUri;
pub use scope::{Scope, ScopeSet};
pub use secret::{PrefixedSecret, SecretKind};
pub use sign_in_origin::SignInOrigin;
pub use timestamp::Timestamp;
pub use token::{SecretHash, Token, TokenSecret, UnsafeToken};
pub use user_code::UserCode;
