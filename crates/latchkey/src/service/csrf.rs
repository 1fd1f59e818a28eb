//! Tokens for the browser pages' forms: an HMAC, under a key derived from
//! the server key, of the session and the form's purpose. Nothing is
//! stored; only the browser that holds the session can have the token for
//! it, and a token for one form does not work on another.

use crate::crypto::{self, ServerKey};
use subtle::ConstantTimeEq;

#[derive(Clone)]
pub struct Csrf {
    key: ServerKey,
}

impl Csrf {
    pub fn new(key: ServerKey) -> Self {
        Self { key }
    }

    /// The token for `purpose` in the session whose cookie secret is `session`.
    pub fn token(&self, session: &str, purpose: &str) -> String {
        crypto::base64url(&self.mac(session, purpose))
    }

    pub fn verify(&self, session: &str, purpose: &str, sent: &str) -> bool {
        let expected = self.token(session, purpose);
        bool::from(expected.as_bytes().ct_eq(sent.as_bytes()))
    }

    fn mac(&self, session: &str, purpose: &str) -> [u8; 32] {
        let mut input = crypto::sha256(session.as_bytes()).to_vec();
        input.extend_from_slice(purpose.as_bytes());
        self.key.derive("csrf-v1", &input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bound_to_session_and_purpose() {
        let csrf = Csrf::new(ServerKey::generate());
        let token = csrf.token("session-a", "consent");
        assert!(csrf.verify("session-a", "consent", &token));
        assert!(!csrf.verify("session-b", "consent", &token));
        assert!(!csrf.verify("session-a", "logout", &token));
        assert!(!csrf.verify("session-a", "consent", ""));
        assert!(!Csrf::new(ServerKey::generate()).verify("session-a", "consent", &token));
    }
}
