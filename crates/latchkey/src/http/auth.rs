use super::error::ApiError;
use super::AppState;
use crate::service::Caller;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

/// A handler that takes a [`Caller`] cannot run unauthenticated.
/// Accepts `Authorization: Bearer <secret>` or the session cookie.
impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // The header wins; the web flow's session cookie is the fallback.
        let presented = match parts.headers.get(AUTHORIZATION) {
            None => state.cookie.read(&parts.headers),
            Some(value) => Some(bearer_secret(value.as_bytes()).unwrap_or("")),
        };
        Ok(state.services.auth.authenticate(presented).await?)
    }
}

/// The credential of an `Authorization: Bearer <secret>` header (RFC 6750 §2.1;
/// the scheme is case-insensitive).
fn bearer_secret(header: &[u8]) -> Option<&str> {
    let value = std::str::from_utf8(header).ok()?;
    let (scheme, credential) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credential.trim())
}

#[cfg(test)]
mod tests {
    use super::bearer_secret;

    #[test]
    fn parses_bearer_credentials() {
        assert_eq!(bearer_secret(b"Bearer abc"), Some("abc"));
        assert_eq!(bearer_secret(b"bearer  abc "), Some("abc"));
        assert_eq!(bearer_secret(b"Basic abc"), None);
        assert_eq!(bearer_secret(b"Bearer"), None);
        assert_eq!(bearer_secret(&[0xff, 0xfe]), None);
    }
}
