//! What the fake knows (users, apps, tokens, grants) and how a test scripts it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct FakeEmail {
    pub email: String,
    pub primary: bool,
    pub verified: bool,
}

#[derive(Clone, Debug)]
pub struct FakeUser {
    pub id: u64,
    pub login: String,
    pub name: Option<String>,
    /// The public profile email; `None` is GitHub's `null`.
    pub email: Option<String>,
    pub emails: Vec<FakeEmail>,
}

impl FakeUser {
    pub fn new(id: u64, login: &str) -> Self {
        Self {
            id,
            login: login.to_owned(),
            name: None,
            email: None,
            emails: Vec::new(),
        }
    }

    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    /// Sets a public email, which GitHub only allows for a verified address.
    pub fn public_email(mut self, email: &str) -> Self {
        self.email = Some(email.to_owned());
        let primary = self.emails.is_empty();
        self.with_email(email, primary, true)
    }

    pub fn with_email(mut self, email: &str, primary: bool, verified: bool) -> Self {
        self.emails.push(FakeEmail {
            email: email.to_owned(),
            primary,
            verified,
        });
        self
    }
}

/// How the device flow's next device code behaves.
#[derive(Clone, Debug)]
pub enum DeviceOutcome {
    Approve(String),
    Deny,
    Expire,
}

/// A failure to inject into the REST endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    Unauthorized,
    ServerError,
}

/// Knobs a test turns; defaults behave like GitHub with a user who approves.
#[derive(Clone, Debug)]
pub struct Script {
    /// `interval` handed out by `/login/device/code` (GitHub: 5).
    pub device_interval: u64,
    /// `authorization_pending` answers before the outcome.
    pub device_pending_polls: u32,
    /// Answer `slow_down` on this poll (1-based), once.
    pub device_slow_down_on_poll: Option<u32>,
    /// Whether a `slow_down` answer names the new interval, as GitHub's does.
    pub device_slow_down_names_interval: bool,
    pub device_outcome: DeviceOutcome,
    /// Web flow: approve as this login without a form; `None` shows the form.
    pub authorize_as: Option<String>,
    /// Web flow: deny instead of approving.
    pub authorize_deny: bool,
    /// Injected into `GET /user` and `/user/emails`.
    pub rest_failure: Option<Failure>,
    /// Added before every response.
    pub latency: Duration,
}

impl Default for Script {
    fn default() -> Self {
        Self {
            device_interval: 5,
            device_pending_polls: 0,
            device_slow_down_on_poll: None,
            device_slow_down_names_interval: true,
            device_outcome: DeviceOutcome::Approve(String::new()),
            authorize_as: None,
            authorize_deny: false,
            rest_failure: None,
            latency: Duration::ZERO,
        }
    }
}

/// One request the fake received, for tests to inspect.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: String,
    /// The path alone; the query string is in `query`.
    pub path: String,
    /// The query string as sent, apart from the body: what GitHub's URL logs see.
    pub query: Option<String>,
    /// When the request arrived.
    pub at: std::time::Instant,
    pub user_agent: Option<String>,
    pub accept: Option<String>,
    pub api_version: Option<String>,
    pub authorization: Option<String>,
    pub body: String,
}

pub(crate) struct AccessToken {
    pub user_id: u64,
    pub client_id: String,
}

pub(crate) struct DeviceGrant {
    pub user_code: String,
    pub polls: u32,
    pub interval: u64,
    pub last_poll: Option<Instant>,
    pub slowed: bool,
    pub outcome: DeviceOutcome,
}

pub(crate) struct CodeGrant {
    pub user_id: u64,
    pub redirect_uri: Option<String>,
    pub challenge: Option<String>,
    pub issued: Instant,
}

pub(crate) struct State {
    pub client_id: String,
    pub client_secret: String,
    pub users: Vec<FakeUser>,
    pub tokens: HashMap<String, AccessToken>,
    pub devices: HashMap<String, DeviceGrant>,
    pub codes: HashMap<String, CodeGrant>,
    /// `tokens`' keys, oldest first.
    pub token_order: std::collections::VecDeque<String>,
    pub script: Script,
    pub calls: Vec<Call>,
    /// At least this many of the latest calls are kept; 0 keeps none.
    pub calls_kept: usize,
}

/// Live access tokens at most; far more than any test or dev session needs.
const MAX_TOKENS: usize = 10_000;
/// Calls kept for inspection: at least the last this many.
const MAX_CALLS: usize = 10_000;

impl State {
    pub fn new(client_id: &str, client_secret: &str) -> Self {
        Self {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            users: Vec::new(),
            tokens: HashMap::new(),
            devices: HashMap::new(),
            codes: HashMap::new(),
            token_order: std::collections::VecDeque::new(),
            script: Script::default(),
            calls: Vec::new(),
            calls_kept: MAX_CALLS,
        }
    }

    pub fn user_by_login(&self, login: &str) -> Option<&FakeUser> {
        self.users.iter().find(|u| u.login == login)
    }

    pub fn user_by_id(&self, id: u64) -> Option<&FakeUser> {
        self.users.iter().find(|u| u.id == id)
    }

    pub fn issue_token(&mut self, user_id: u64, client_id: &str) -> String {
        let token = format!("gho_{}", random_hex(36));
        self.tokens.insert(
            token.clone(),
            AccessToken {
                user_id,
                client_id: client_id.to_owned(),
            },
        );
        // Dev mode runs for days: the oldest tokens are forgotten (as if
        // revoked) rather than kept forever.
        self.token_order.push_back(token.clone());
        while self.token_order.len() > MAX_TOKENS {
            if let Some(old) = self.token_order.pop_front() {
                self.tokens.remove(&old);
            }
        }
        token
    }

    /// Keeps the most recent calls only, so a long run stays bounded.
    pub fn record(&mut self, call: Call) {
        if self.calls_kept == 0 {
            return;
        }
        if self.calls.len() >= self.calls_kept.saturating_mul(2) {
            self.calls.drain(..self.calls_kept);
        }
        self.calls.push(call);
    }

    /// The user a device grant approves: the scripted login, else the first user.
    pub fn approving_user(&self, outcome_login: &str) -> Option<u64> {
        if outcome_login.is_empty() {
            self.users.first().map(|u| u.id)
        } else {
            self.user_by_login(outcome_login).map(|u| u.id)
        }
    }
}

pub(crate) fn random_hex(len: usize) -> String {
    let mut out = String::with_capacity(len + 32);
    while out.len() < len {
        out.push_str(&uuid::Uuid::new_v4().simple().to_string());
    }
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call() -> Call {
        Call {
            method: "GET".into(),
            path: "/user".into(),
            query: None,
            at: Instant::now(),
            user_agent: None,
            accept: None,
            api_version: None,
            authorization: None,
            body: String::new(),
        }
    }

    #[test]
    fn a_long_run_stays_bounded() {
        let mut state = State::new("id", "secret");
        let first = state.issue_token(1, "id");
        for _ in 0..MAX_TOKENS {
            state.issue_token(1, "id");
        }
        assert_eq!(state.tokens.len(), MAX_TOKENS);
        assert!(
            !state.tokens.contains_key(&first),
            "the oldest is forgotten"
        );
        for _ in 0..5 * MAX_CALLS {
            state.record(call());
        }
        assert!(state.calls.len() >= MAX_CALLS && state.calls.len() <= 2 * MAX_CALLS);
        state.calls_kept = 0;
        state.calls.clear();
        state.record(call());
        assert!(state.calls.is_empty(), "none kept when none are wanted");
    }
}
