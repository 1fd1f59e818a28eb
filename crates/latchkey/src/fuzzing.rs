//! The properties the parser fuzzers check, one function per target in
//! `fuzz/fuzz_targets/`. They live here, not in the fuzz crate, so they can
//! reach the crate-private parsers, and so the kept corpora replay as an
//! ordinary test on stable (`kept_corpora_still_hold` below) on every CI run.
//!
//! Each takes raw fuzzer bytes, must never panic, and asserts what the parser
//! promises beyond "no crash": a differential oracle, a round trip, or a
//! rule (such as exact redirect matching) that a wrong answer would break.

use crate::crypto::ServerKey;
use crate::domain::user_code::ALPHABET;
use crate::domain::{RedirectUri, UserCode};
use crate::http::auth::credential;
use crate::http::oauth::form::{basic_credentials, OAuthForm};
use crate::service::device_flow::{Session, SEAL_PURPOSE};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// A property over raw fuzzer bytes.
pub type Check = fn(&[u8]);

/// The targets by name, as `cargo fuzz` knows them.
pub const TARGETS: &[(&str, Check)] = &[
    ("auth_header", auth_header),
    ("client_form", client_form),
    ("sealed_session", sealed_session),
    ("redirect_uri", redirect_uri),
    ("user_code", user_code),
];

/// Splits fuzzer bytes into two inputs at the first NUL.
fn two(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// `Authorization: Bearer …` and `Token token="…"`.
pub fn auth_header(data: &[u8]) {
    if let Some(found) = credential(data) {
        // Only a header of one of the two schemes names a credential.
        let scheme = found_scheme(data);
        assert!(
            scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token"),
            "{data:?} gave {found:?}"
        );
    }
    // Any secret a client can send comes back exactly, in either scheme.
    let secret: String = text(data)
        .chars()
        .filter(|c| c.is_ascii_graphic() && *c != '"')
        .collect();
    if secret.is_empty() {
        return;
    }
    for header in [
        format!("Bearer {secret}"),
        format!("bearer  {secret} "),
        format!("Token token=\"{secret}\""),
        format!("TOKEN token={secret}"),
    ] {
        assert_eq!(
            credential(header.as_bytes()),
            Some(secret.as_str()),
            "{header:?}"
        );
    }
    assert_eq!(credential(format!("Basic {secret}").as_bytes()), None);
}

fn found_scheme(header: &[u8]) -> String {
    text(header)
        .split_once(' ')
        .map(|(scheme, _)| scheme.to_owned())
        .unwrap_or_default()
}

/// An OAuth form body and its Authorization header: the client it names.
pub fn client_form(data: &[u8]) {
    let (header, body) = two(data);
    let header = text(header);
    if let Ok(form) = OAuthForm::parse(body, Some(header.clone())) {
        let _ = form.client();
    }
    if let Ok(form) = OAuthForm::parse(body, None) {
        let _ = form.client();
    }
    // Basic credentials decode as the form-urlencoding the RFC names would.
    if let Some((id, secret)) = basic_credentials(&header) {
        let raw = header.split_once(' ').map(|(_, b)| b.trim()).unwrap_or("");
        let decoded = String::from_utf8(STANDARD.decode(raw).unwrap()).unwrap();
        let (raw_id, raw_secret) = decoded.split_once(':').unwrap();
        assert_eq!(id, form_decoded(raw_id), "id of {header:?}");
        assert_eq!(secret, form_decoded(raw_secret), "secret of {header:?}");
    }
    // Whatever id and secret a client has, its Basic header carries them.
    let (id, secret) = (header, text(body));
    let encoded = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", form_encoded(&id), form_encoded(&secret)))
    );
    assert_eq!(basic_credentials(&encoded), Some((id, secret)));
}

/// The url crate's decoding, with `&` and `=` escaped first because here
/// they are not separators.
fn form_decoded(s: &str) -> String {
    let s = s.replace('&', "%26").replace('=', "%3D");
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn form_encoded(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The device flow's `encodedSession`.
pub fn sealed_session(data: &[u8]) {
    let key = ServerKey::from_bytes(&[7; 32]).expect("32 bytes");
    // Nothing the fuzzer writes is a session: that would be a forgery.
    assert_eq!(Session::open(&key, &text(data)), None);
    // Any plaintext under the key decodes as JSON would, or not at all.
    let sealed = key.seal(SEAL_PURPOSE, data);
    assert_eq!(
        Session::open(&key, &sealed),
        serde_json::from_slice::<Session>(data).ok()
    );
    // A real session comes back whole; any one changed character breaks it.
    let (head, tail) = data.split_at(data.len().min(8));
    let mut number = [0u8; 8];
    number[..head.len()].copy_from_slice(head);
    let session = Session {
        device_code: text(tail),
        interval: u64::from_le_bytes(number),
        expires: i64::from_le_bytes(number),
    };
    let sealed = session.seal(&key);
    assert_eq!(Session::open(&key, &sealed).as_ref(), Some(&session));
    let at = usize::from(number[0]) * 31 % sealed.len();
    let mut tampered = sealed.clone().into_bytes();
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("base64 is ASCII");
    assert_eq!(Session::open(&key, &tampered), None, "{at} of {sealed}");
    let other = ServerKey::from_bytes(&[8; 32]).expect("32 bytes");
    assert_eq!(Session::open(&other, &sealed), None);
}

/// A registered redirect URI and what a client sends.
pub fn redirect_uri(data: &[u8]) {
    let (registered, sent) = two(data);
    let (registered, sent) = (text(registered), text(sent));
    let Ok(uri) = RedirectUri::parse(&registered) else {
        return;
    };
    let _ = uri.host();
    if !uri.matches(&sent) || sent == registered {
        return;
    }
    // The server redirects to `sent` as sent: it must be as clean as what
    // registration accepts, not merely parse the same once the url crate
    // has dropped tabs and newlines.
    assert!(sent.bytes().all(|b| b.is_ascii_graphic()), "{sent:?}");
    // Only the port of a loopback IP literal may differ (RFC 8252 §7.3).
    let (a, b) = (
        url::Url::parse(&registered).expect("it parsed once"),
        url::Url::parse(&sent).expect("a match parses"),
    );
    let why = format!("{registered:?} matched {sent:?}");
    assert_eq!((a.scheme(), b.scheme()), ("http", "http"), "{why}");
    assert!(
        matches!(a.host(), Some(url::Host::Ipv4(_) | url::Host::Ipv6(_))),
        "{why}"
    );
    assert_eq!(a.host(), b.host(), "{why}");
    assert_eq!(a.path(), b.path(), "{why}");
    assert_eq!(a.query(), b.query(), "{why}");
    assert_eq!(a.fragment(), b.fragment(), "{why}");
    assert_eq!(
        (a.username(), a.password()),
        (b.username(), b.password()),
        "{why}"
    );
}

/// What a person types at `/oauth/device`.
pub fn user_code(data: &[u8]) {
    let typed = text(data);
    let Some(code) = UserCode::normalise(&typed) else {
        return;
    };
    assert_eq!(code.as_str().len(), 8);
    // Accepted only if every character typed is a separator or one of the
    // code's letters, in either case.
    assert!(
        typed
            .bytes()
            .all(|b| matches!(b, b'-' | b' ') || ALPHABET.contains(&b.to_ascii_uppercase())),
        "{typed:?}"
    );
    let shown = code.to_string();
    assert_eq!(UserCode::normalise(&shown).as_ref(), Some(&code));
    assert_eq!(
        UserCode::normalise(&shown.to_ascii_lowercase()).as_ref(),
        Some(&code)
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Every input the fuzzers kept, and any crash input once fixed (copied
    /// to `fuzz/regressions/`, as `fuzz/run.sh` says), holds on today's code.
    #[test]
    fn kept_corpora_still_hold() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
        for (name, check) in TARGETS {
            let mut seen = 0;
            for dir in [
                root.join("corpus").join(name),
                root.join("regressions").join(name),
            ] {
                let Ok(entries) = std::fs::read_dir(&dir) else {
                    continue;
                };
                for entry in entries {
                    let path = entry.unwrap().path();
                    check(&std::fs::read(&path).unwrap());
                    seen += 1;
                }
            }
            assert!(
                seen > 0,
                "no kept inputs for {name} under {}",
                root.display()
            );
        }
    }

    #[test]
    fn a_plus_sign_is_not_a_hex_digit() {
        client_form(b"Basic aWQ6JSsx\0");
    }

    #[test]
    fn only_the_port_of_a_loopback_literal_may_differ() {
        redirect_uri(b"HTTP://127.0.0.1:8080/cb\0HTTP://127.0.0.1:1/elsewhere");
        redirect_uri(b"http://127.000.000.001:8080/cb\0http://127.1:9/elsewhere");
    }
}
