//! The OAuth endpoints' error surface: RFC 6749 §5.2 JSON,
//! `{"error", "error_description"}`, never the Golem API's shapes.

use crate::service::oauth::{ErrorCode, OAuthError};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::super::error::ErrorNote;

/// RFC 6749 §5.2.
#[derive(Serialize, ToSchema)]
pub struct OAuthErrorBody {
    /// `invalid_request`, `invalid_client`, `invalid_grant`,
    /// `unauthorized_client`, `unsupported_grant_type`, `invalid_scope`,
    /// `authorization_pending`, `slow_down`, `access_denied`,
    /// `expired_token` or `server_error`.
    pub error: String,
    pub error_description: String,
}

/// An OAuth error as the HTTP edge answers it.
#[derive(Debug)]
pub struct OAuthHttpError {
    pub error: OAuthError,
    /// The client authenticated with HTTP Basic: `invalid_client` then
    /// answers 401 with a `WWW-Authenticate` challenge (§5.2).
    pub basic: bool,
}

impl From<OAuthError> for OAuthHttpError {
    fn from(error: OAuthError) -> Self {
        Self {
            error,
            basic: false,
        }
    }
}

impl OAuthHttpError {
    pub fn invalid_request(why: &'static str) -> Self {
        OAuthError::invalid_request(why).into()
    }
}

impl IntoResponse for OAuthHttpError {
    fn into_response(self) -> Response {
        let code = self.error.code();
        let (description, note) = match &self.error {
            OAuthError::Rejected { description, .. } => (description.to_string(), None),
            OAuthError::Internal(err) if err.is_unavailable() => (
                "the database is unreachable; try again shortly".to_owned(),
                Some(ErrorNote::External(err.to_string())),
            ),
            OAuthError::Internal(err) => (
                "internal server error".to_owned(),
                Some(ErrorNote::Internal(err.to_string())),
            ),
        };
        let status = match code {
            ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        let body = OAuthErrorBody {
            error: code.as_str().to_owned(),
            error_description: description,
        };
        let mut response = (status, no_store(), axum::Json(body)).into_response();
        if code == ErrorCode::InvalidClient && self.basic {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Basic realm="latchkey", charset="UTF-8""#),
            );
        }
        if code == ErrorCode::TemporarilyUnavailable {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if let Some(note) = note {
            response.extensions_mut().insert(note);
        }
        response
    }
}

/// Token answers must never be cached (RFC 6749 §5.1).
pub fn no_store() -> [(header::HeaderName, HeaderValue); 2] {
    [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
    ]
}
