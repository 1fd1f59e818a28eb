//! The code a person types at `/oauth/device` (RFC 8628 §6.1): eight letters
//! from an alphabet without vowels or look-alikes, shown as `XXXX-XXXX`,
//! compared ignoring case and separators. 20^8 ≈ 2.6 × 10^10 codes, and
//! attempts are rate-limited.

use std::fmt;

pub(crate) const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct UserCode(String);

impl UserCode {
    pub fn generate() -> Self {
        let mut code = String::with_capacity(8);
        while code.len() < 8 {
            for byte in crate::crypto::random_bytes::<16>() {
                // 240 = 12 × 20: uniform.
                if byte < 240 && code.len() < 8 {
                    code.push(ALPHABET[usize::from(byte % 20)] as char);
                }
            }
        }
        Self(code)
    }

    /// What a person typed: any case, dashes and spaces anywhere.
    pub fn normalise(typed: &str) -> Option<Self> {
        if typed.len() > 32 {
            return None;
        }
        let code: String = typed
            .chars()
            .filter(|c| !matches!(c, '-' | ' '))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        (code.len() == 8 && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(Self(code))
    }

    /// Eight letters, no dash: what is stored and compared.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `XXXX-XXXX`, as shown to people.
impl fmt::Display for UserCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", &self.0[..4], &self.0[4..])
    }
}

impl fmt::Debug for UserCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserCode({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_shown_with_a_dash_and_read_back_loosely() {
        let code = UserCode::generate();
        let shown = code.to_string();
        assert_eq!(shown.len(), 9);
        assert_eq!(&shown[4..5], "-");
        assert_eq!(UserCode::normalise(&shown), Some(code.clone()));
        assert_eq!(
            UserCode::normalise(&shown.to_lowercase()),
            Some(code.clone())
        );
        assert_eq!(
            UserCode::normalise(&shown.replace('-', " ")),
            Some(code.clone())
        );
        assert_eq!(UserCode::normalise(code.as_str()), Some(code));
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "",
            "BCDF-GHJ",
            "BCDF-GHJKL",
            "ABCD-EFGH",
            "BCDF-GHJ1",
            "ＢCDF-GHJK",
            &"B".repeat(40),
        ] {
            assert_eq!(UserCode::normalise(bad), None, "{bad}");
        }
    }
}
