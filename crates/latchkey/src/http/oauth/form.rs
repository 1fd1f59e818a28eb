//! The OAuth endpoints take `application/x-www-form-urlencoded` bodies
//! (RFC 6749 §3.2), each parameter at most once, and clients authenticate
//! by exactly one method: HTTP Basic or `client_secret_post` (§2.3.1).

use super::error::OAuthHttpError;
use crate::service::oauth::{OAuthError, PresentedClient};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::HeaderMap;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use std::collections::HashMap;

/// A parsed OAuth form, with the request's Authorization header.
#[derive(Debug, Default)]
pub struct OAuthForm {
    params: HashMap<String, String>,
    authorization: Option<String>,
}

impl OAuthForm {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Who the client says it is, by exactly one method.
    pub fn client(&self) -> Result<PresentedClient, OAuthHttpError> {
        let basic = self
            .authorization
            .as_deref()
            .map(|header| basic_credentials(header).ok_or(()));
        let posted_secret = self.get("client_secret");
        match basic {
            Some(Err(())) => Err(OAuthHttpError {
                error: OAuthError::invalid_client("the Authorization header is not HTTP Basic"),
                basic: true,
            }),
            Some(Ok((id, secret))) => {
                if posted_secret.is_some() {
                    return Err(OAuthHttpError::invalid_request(
                        "use one client authentication method, not Basic and client_secret both",
                    ));
                }
                if self.get("client_id").is_some_and(|posted| posted != id) {
                    return Err(OAuthHttpError::invalid_request(
                        "client_id differs from the Basic credentials",
                    ));
                }
                Ok(PresentedClient {
                    id,
                    secret: Some(secret),
                    basic: true,
                })
            }
            None => {
                let id = self
                    .get("client_id")
                    .ok_or(OAuthHttpError {
                        error: OAuthError::invalid_client("client authentication is required"),
                        basic: false,
                    })?
                    .to_owned();
                Ok(PresentedClient {
                    id,
                    secret: posted_secret.map(str::to_owned),
                    basic: false,
                })
            }
        }
    }
}

impl<S: Send + Sync> FromRequest<S> for OAuthForm {
    type Rejection = OAuthHttpError;

    async fn from_request(req: Request, state: &S) -> Result<Self, OAuthHttpError> {
        let headers: HeaderMap = req.headers().clone();
        let form_encoded = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !form_encoded {
            return Err(OAuthHttpError::invalid_request(
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|_| OAuthHttpError::invalid_request("the body could not be read"))?;
        let authorization = headers
            .get(AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or("").to_owned());
        Self::parse(&body, authorization)
    }
}

impl OAuthForm {
    /// The body's parameters, each at most once, beside the Authorization
    /// header as it came (an unreadable one is empty, so it fails as not Basic).
    pub(crate) fn parse(
        body: &[u8],
        authorization: Option<String>,
    ) -> Result<Self, OAuthHttpError> {
        let mut params = HashMap::new();
        for (name, value) in url::form_urlencoded::parse(body) {
            if params
                .insert(name.into_owned(), value.into_owned())
                .is_some()
            {
                return Err(OAuthHttpError::invalid_request(
                    "a parameter appears more than once",
                ));
            }
        }
        Ok(Self {
            params,
            authorization,
        })
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`: the id and the
/// secret are form-urlencoded before the base64 (RFC 6749 §2.3.1).
pub(crate) fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((form_decode(id)?, form_decode(secret)?))
}

/// `+` is a space and `%XX` a byte; `None` for a bad escape or bad UTF-8.
fn form_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                // Exactly two hex digits (from_str_radix would take "+1").
                let high = char::from(bytes.next()?).to_digit(16)?;
                let low = char::from(bytes.next()?).to_digit(16)?;
                out.push((high * 16 + low) as u8);
            }
            other => out.push(other),
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(raw: &str) -> String {
        format!("Basic {}", STANDARD.encode(raw))
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        assert_eq!(
            basic_credentials(&basic("my%3Aid:s%2Bcr+et")),
            Some(("my:id".to_owned(), "s+cr et".to_owned()))
        );
        assert_eq!(
            basic_credentials(&basic("id:secret")),
            Some(("id".to_owned(), "secret".to_owned()))
        );
        assert_eq!(basic_credentials("Bearer x"), None);
        assert_eq!(basic_credentials("Basic !!!"), None);
        assert_eq!(basic_credentials(&basic("no-colon")), None);
        assert_eq!(basic_credentials(&basic("id:bad%2")), None);
        assert_eq!(
            basic_credentials(&basic("a&b=c:x%26y")),
            Some(("a&b=c".to_owned(), "x&y".to_owned()))
        );
    }
}
