//! Domain types shared by every layer: parsed once at the edge, valid by construction.

mod account;
mod email;
mod ids;
mod plan;
mod timestamp;
mod token;

pub use account::{name_problems, Account, AccountData, Role};
pub use email::Email;
pub use ids::{AccountId, PlanId, TokenId};
pub use plan::{Plan, PlanData};
pub use timestamp::Timestamp;
pub use token::{SecretHash, Token, TokenSecret, UnsafeToken};
