//! Who started a sign-in, as far as the server could tell: shown to the
//! person asked to confirm it, so they can tell their own from someone
//! else's.

/// Bounded when recorded: both come from the client.
const MAX_USER_AGENT: usize = 256;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SignInOrigin {
    /// The client's address (after trusted proxies).
    pub address: Option<String>,
    pub user_agent: Option<String>,
}

impl SignInOrigin {
    /// The user agent is cut to 256 characters of printable text; it is
    /// only ever shown, escaped, on a page.
    pub fn new(address: Option<String>, user_agent: Option<&str>) -> Self {
        let user_agent = user_agent.map(|ua| {
            ua.chars()
                .filter(|c| !c.is_control())
                .take(MAX_USER_AGENT)
                .collect()
        });
        Self {
            address,
            user_agent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_are_bounded_and_printable() {
        let long = format!("a\u{7}b{}", "x".repeat(1000));
        let origin = SignInOrigin::new(None, Some(&long));
        let ua = origin.user_agent.unwrap();
        assert_eq!(ua.chars().count(), MAX_USER_AGENT);
        assert!(ua.starts_with("abx"));
    }
}
