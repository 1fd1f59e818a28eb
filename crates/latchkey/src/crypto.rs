//! Small cryptographic helpers: randomness, digests, and sealing opaque blobs
//! (the device flow's `encodedSession`) so clients can neither read nor forge them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::fmt;

/// `n` bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    getrandom::getrandom(&mut out).expect("the OS random source is available");
    out
}

/// 256 random bits as URL-safe text: for states and other one-time handles.
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

pub fn base64url(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

fn hmac(key: &[u8], label: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(label);
    mac.update(&[0]);
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// The server's master key (32 bytes), from config or the database; the
/// purpose-specific keys are derived from it so one value covers them all.
#[derive(Clone)]
pub struct ServerKey([u8; 32]);

impl ServerKey {
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    /// Accepts the base64 (standard or URL-safe) text of 32 bytes.
    pub fn from_base64(text: &str) -> Option<Self> {
        use base64::engine::general_purpose::STANDARD;
        let text = text.trim();
        STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
            .ok()
            .and_then(|b| Self::from_bytes(&b))
    }

    pub fn generate() -> Self {
        Self(random_bytes())
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A keyed digest under a purpose label: same input, same output, and
    /// nobody without the key can compute it.
    pub fn derive(&self, purpose: &str, data: &[u8]) -> [u8; 32] {
        hmac(&self.0, purpose.as_bytes(), data)
    }

    /// Authenticated encryption with a random 192-bit nonce; the purpose is
    /// bound in as associated data so a blob sealed for one use fails another.
    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> String {
        let key = self.derive("seal-key", purpose.as_bytes());
        let cipher = XChaCha20Poly1305::new((&key).into());
        let nonce_bytes = random_bytes::<24>();
        let nonce = XNonce::from_slice(&nonce_bytes);
        let sealed = cipher
            .encrypt(
                nonce,
                Payload {
                    msg: plaintext,
                    aad: purpose.as_bytes(),
                },
            )
            .expect("encryption of an in-memory buffer cannot fail");
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&sealed);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// `None` for anything not sealed by this key for this purpose.
    pub fn open(&self, purpose: &str, sealed: &str) -> Option<Vec<u8>> {
        let raw = URL_SAFE_NO_PAD.decode(sealed.trim()).ok()?;
        if raw.len() < 24 + 16 {
            return None;
        }
        let (nonce, ciphertext) = raw.split_at(24);
        let key = self.derive("seal-key", purpose.as_bytes());
        let cipher = XChaCha20Poly1305::new((&key).into());
        cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: purpose.as_bytes(),
                },
            )
            .ok()
    }
}

impl fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_blobs_open_only_with_the_same_key_and_purpose() {
        let key = ServerKey::generate();
        let sealed = key.seal("device", b"hello");
        assert_eq!(key.open("device", &sealed).unwrap(), b"hello");
        assert!(key.open("other", &sealed).is_none());
        assert!(ServerKey::generate().open("device", &sealed).is_none());
        assert!(!sealed.contains("hello"));
    }

    #[test]
    fn tampering_is_detected() {
        let key = ServerKey::generate();
        let sealed = key.seal("device", b"hello world");
        let mut bytes = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert!(key.open("device", &URL_SAFE_NO_PAD.encode(bytes)).is_none());
        assert!(key.open("device", "garbage!").is_none());
        assert!(key.open("device", "").is_none());
    }

    #[test]
    fn keys_parse_from_base64() {
        let key = ServerKey::generate();
        let text = base64::engine::general_purpose::STANDARD.encode(key.as_bytes());
        assert_eq!(
            ServerKey::from_base64(&text).unwrap().as_bytes(),
            key.as_bytes()
        );
        assert!(ServerKey::from_base64("c2hvcnQ=").is_none());
    }
}
