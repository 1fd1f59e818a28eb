use crate::domain::Email;

/// Who may create an account by logging in. Empty lists mean anyone may;
/// otherwise a listed login, email or email domain is required. Accounts that
/// already exist can always log in.
#[derive(Clone, Debug, Default)]
pub struct SignupPolicy {
    logins: Vec<String>,
    emails: Vec<String>,
    domains: Vec<String>,
}

impl SignupPolicy {
    pub fn new(logins: &[String], emails: &[String], domains: &[String]) -> Self {
        let clean = |v: &[String]| -> Vec<String> {
            v.iter()
                .map(|s| s.trim().trim_start_matches('@').to_lowercase())
                .filter(|s| !s.is_empty())
                .collect()
        };
        Self {
            logins: clean(logins),
            emails: clean(emails),
            domains: clean(domains),
        }
    }

    pub fn is_open(&self) -> bool {
        self.logins.is_empty() && self.emails.is_empty() && self.domains.is_empty()
    }

    pub fn permits(&self, login: &str, email: &Email) -> bool {
        self.is_open()
            || self.logins.iter().any(|l| l.eq_ignore_ascii_case(login))
            || self.emails.iter().any(|e| e == email.as_str())
            || self.domains.iter().any(|d| d == email.domain())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(s: &str) -> Email {
        Email::parse(s).unwrap()
    }

    #[test]
    fn empty_policy_is_open() {
        assert!(SignupPolicy::default().permits("anyone", &email("a@b.c")));
    }

    #[test]
    fn lists_restrict_sign_up() {
        let p = SignupPolicy::new(
            &["OctoCat".into()],
            &["Boss@Corp.example".into()],
            &["@team.example".into()],
        );
        assert!(p.permits("octocat", &email("x@y.z")));
        assert!(p.permits("someone", &email("boss@corp.example")));
        assert!(p.permits("someone", &email("dev@team.example")));
        assert!(!p.permits("someone", &email("dev@sub.team.example")));
        assert!(!p.permits("someone", &email("other@corp.example")));
    }
}
