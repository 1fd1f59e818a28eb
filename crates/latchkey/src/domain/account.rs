use super::{AccountId, Email, PlanId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a caller may do beyond their own account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Admin,
    User,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Role::Admin),
            "user" => Some(Role::User),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub email: Email,
    pub plan_id: PlanId,
}

/// The user-editable part of an account, as sent to `POST` and `PUT`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountData {
    /// 1 to 200 characters after trimming, no control characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: String,
    #[schema(max_length = 254)]
    pub email: Email,
    /// Admins only: whether the email is confirmed to belong to the account's
    /// owner. Defaults to true when an admin sets a new email; an email the
    /// account sets itself is unverified. A first GitHub login is linked to
    /// an existing account only through a verified email.
    #[serde(default)]
    pub email_verified: Option<bool>,
}

impl AccountData {
    /// Returns the problems with this input, empty when it is acceptable.
    pub fn problems(&self) -> Vec<String> {
        name_problems(&self.name)
    }
}

/// What is wrong with `name` as an account name, if anything.
pub fn name_problems(name: &str) -> Vec<String> {
    let name = name.trim();
    let mut problems = Vec::new();
    if name.is_empty() {
        problems.push("name must not be empty".to_owned());
    } else if name.chars().count() > 200 {
        problems.push("name must be at most 200 characters".to_owned());
    }
    if name.chars().any(char::is_control) {
        problems.push("name must not contain control characters".to_owned());
    }
    problems
}
