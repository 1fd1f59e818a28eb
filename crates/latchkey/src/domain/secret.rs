//! Secrets Latchkey's OAuth server hands out, in a form people and secret
//! scanners can recognise: `lk_<kind>_`, 43 random base62 characters (256
//! bits), and a 6-character base62 CRC-32 of everything before it (GitHub's
//! token format is the model). A typo or a scanner's false positive fails
//! the checksum and never reaches the database. Only the SHA-256 of the whole
//! string is stored.

use super::SecretHash;
use sha2::{Digest, Sha256};
use std::fmt;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const RANDOM_LEN: usize = 43;
const CHECKSUM_LEN: usize = 6;
const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// Which secret it is; the two letters after `lk_`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretKind {
    AccessToken,
    RefreshToken,
    ClientSecret,
    AuthorizationCode,
    DeviceCode,
}

impl SecretKind {
    fn prefix(self) -> &'static str {
        match self {
            SecretKind::AccessToken => "lk_at_",
            SecretKind::RefreshToken => "lk_rt_",
            SecretKind::ClientSecret => "lk_cs_",
            SecretKind::AuthorizationCode => "lk_ac_",
            SecretKind::DeviceCode => "lk_dc_",
        }
    }

    const ALL: [SecretKind; 5] = [
        SecretKind::AccessToken,
        SecretKind::RefreshToken,
        SecretKind::ClientSecret,
        SecretKind::AuthorizationCode,
        SecretKind::DeviceCode,
    ];
}

/// A well-formed secret of a known kind. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct PrefixedSecret {
    kind: SecretKind,
    text: String,
}

impl PrefixedSecret {
    pub fn generate(kind: SecretKind) -> Self {
        let mut text = String::with_capacity(6 + RANDOM_LEN + CHECKSUM_LEN);
        text.push_str(kind.prefix());
        // Rejection sampling keeps every character uniform: 43 of them carry
        // 43 × log2(62) ≈ 256 bits.
        while text.len() < 6 + RANDOM_LEN {
            for byte in crate::crypto::random_bytes::<64>() {
                if byte < 248 && text.len() < 6 + RANDOM_LEN {
                    text.push(BASE62[usize::from(byte % 62)] as char);
                }
            }
        }
        let checksum = checksum(&text);
        text.push_str(&checksum);
        Self { kind, text }
    }

    /// `None` for anything that is not a well-formed secret with a matching
    /// checksum; costs no database trip.
    pub fn parse(raw: &str) -> Option<Self> {
        let kind = SecretKind::ALL
            .into_iter()
            .find(|k| raw.starts_with(k.prefix()))?;
        if raw.len() != 6 + RANDOM_LEN + CHECKSUM_LEN
            || !raw[6..].bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return None;
        }
        let (body, sum) = raw.split_at(6 + RANDOM_LEN);
        (checksum(body) == sum).then(|| Self {
            kind,
            text: raw.to_owned(),
        })
    }

    /// Like [`parse`](Self::parse), and of the `kind` expected.
    pub fn parse_kind(raw: &str, kind: SecretKind) -> Option<Self> {
        Self::parse(raw).filter(|s| s.kind == kind)
    }

    pub fn kind(&self) -> SecretKind {
        self.kind
    }

    pub fn hash(&self) -> SecretHash {
        SecretHash(Sha256::digest(self.text.as_bytes()).into())
    }

    /// The secret itself, for the one answer that hands it out.
    pub fn expose(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for PrefixedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrefixedSecret({}<redacted>)", self.kind.prefix())
    }
}

fn checksum(body: &str) -> String {
    let mut n = u64::from(CRC.checksum(body.as_bytes()));
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(out.to_vec()).expect("base62 is ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_parse_back_with_their_kind() {
        for kind in SecretKind::ALL {
            let s = PrefixedSecret::generate(kind);
            assert!(s.expose().starts_with(kind.prefix()));
            assert_eq!(s.expose().len(), 55);
            let back = PrefixedSecret::parse(s.expose()).unwrap();
            assert_eq!(back.kind(), kind);
            assert_eq!(back.hash(), s.hash());
            assert!(PrefixedSecret::parse_kind(s.expose(), kind).is_some());
        }
        let a = PrefixedSecret::generate(SecretKind::AccessToken);
        assert!(PrefixedSecret::parse_kind(a.expose(), SecretKind::RefreshToken).is_none());
        assert_ne!(a, PrefixedSecret::generate(SecretKind::AccessToken));
    }

    #[test]
    fn a_typo_fails_the_checksum() {
        let s = PrefixedSecret::generate(SecretKind::AccessToken);
        let text = s.expose();
        for i in 6..text.len() {
            let mut bytes = text.as_bytes().to_vec();
            bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
            let typo = String::from_utf8(bytes).unwrap();
            assert!(PrefixedSecret::parse(&typo).is_none(), "{i}");
        }
        for bad in [
            "",
            "lk_at_",
            "lk_xx_abc",
            "ghp_abcdef",
            &text[..54],
            &format!("{text}x"),
        ] {
            assert!(PrefixedSecret::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let s = PrefixedSecret::generate(SecretKind::ClientSecret);
        assert!(!format!("{s:?}").contains(&s.expose()[6..]));
    }
}
