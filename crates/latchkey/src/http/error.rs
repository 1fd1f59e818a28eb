use crate::service::{AuthFailure, ServiceError};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// 400 body: every problem found in the request.
#[derive(Serialize, ToSchema)]
pub struct ErrorsBody {
    pub errors: Vec<String>,
}

/// Body of every other error status.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
}

/// What went wrong inside, riding on the response to the edge, which logs
/// it with the request's id. The client sees only the generic body.
#[derive(Clone, Debug)]
pub enum ErrorNote {
    Internal(String),
    External(String),
}

/// Every way an HTTP request can fail, mapped to a status and body in one place.
#[derive(Debug)]
pub enum ApiError {
    Invalid(Vec<String>),
    Unauthorized(AuthFailure),
    LoginFailed(String),
    LoginPending,
    Forbidden(&'static str),
    /// A valid token without the scope this route needs (RFC 6750 §3.1).
    InsufficientScope(crate::domain::Scope),
    NotFound(&'static str),
    MethodNotAllowed,
    Conflict(&'static str),
    /// Switched off by configuration: 501, with how to switch it on.
    NotImplemented(String),
    PayloadTooLarge,
    RequestTimeout,
    TooManyRequests {
        retry_after: u64,
    },
    Busy,
    /// The database cannot be reached: 503 at once, so clients and load
    /// balancers retry elsewhere or later instead of waiting.
    Unavailable,
    External(String),
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn invalid(problem: impl Into<String>) -> Self {
        ApiError::Invalid(vec![problem.into()])
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::NotFound(msg) => ApiError::NotFound(msg),
            ServiceError::Forbidden(msg) => ApiError::Forbidden(msg),
            ServiceError::Unauthorized(failure) => ApiError::Unauthorized(failure),
            ServiceError::Invalid(problems) => ApiError::Invalid(problems),
            ServiceError::Conflict(msg) => ApiError::Conflict(msg),
            ServiceError::Disabled(msg) => ApiError::NotImplemented(msg),
            ServiceError::LoginFailed(msg) => ApiError::LoginFailed(msg),
            ServiceError::LoginPending => ApiError::LoginPending,
            ServiceError::Busy => ApiError::Busy,
            ServiceError::TooManyFromClient => ApiError::TooManyRequests { retry_after: 5 },
            err @ ServiceError::External(_) => ApiError::External(err.to_string()),
            ServiceError::Unavailable => ApiError::Unavailable,
            ServiceError::Internal(err) => ApiError::Internal(Box::new(err)),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            _ => ApiError::invalid(rejection.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::invalid(rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::invalid(rejection.body_text())
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    let body = ErrorBody {
        error: message.to_owned(),
    };
    (status, axum::Json(body)).into_response()
}

fn with_header(mut response: Response, name: header::HeaderName, value: HeaderValue) -> Response {
    response.headers_mut().insert(name, value);
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Invalid(errors) => {
                (StatusCode::BAD_REQUEST, axum::Json(ErrorsBody { errors })).into_response()
            }
            ApiError::Unauthorized(failure) => {
                // RFC 6750 §3: no error code when no credentials were sent.
                let challenge = match failure {
                    AuthFailure::Missing => r#"Bearer realm="latchkey""#,
                    _ => r#"Bearer realm="latchkey", error="invalid_token""#,
                };
                with_header(
                    error(StatusCode::UNAUTHORIZED, failure.message()),
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(challenge),
                )
            }
            ApiError::LoginFailed(msg) => with_header(
                error(StatusCode::UNAUTHORIZED, &msg),
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Bearer realm="latchkey""#),
            ),
            ApiError::LoginPending => error(
                StatusCode::REQUEST_TIMEOUT,
                "authorization_pending: the user has not finished authorizing yet; call again",
            ),
            ApiError::TooManyRequests { retry_after } => with_header(
                error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many requests; slow down",
                ),
                header::RETRY_AFTER,
                HeaderValue::from(retry_after),
            ),
            ApiError::Busy => with_header(
                error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Too many logins in progress; try again shortly",
                ),
                header::RETRY_AFTER,
                HeaderValue::from_static("5"),
            ),
            ApiError::Unavailable => with_header(
                error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The database is unreachable; try again shortly",
                ),
                header::RETRY_AFTER,
                HeaderValue::from_static("1"),
            ),
            ApiError::External(msg) => {
                let mut response = error(StatusCode::INTERNAL_SERVER_ERROR, &msg);
                response.extensions_mut().insert(ErrorNote::External(msg));
                response
            }
            ApiError::Forbidden(msg) => error(StatusCode::FORBIDDEN, msg),
            ApiError::InsufficientScope(scope) => {
                let challenge = format!(
                    r#"Bearer realm="latchkey", error="insufficient_scope", scope="{}""#,
                    scope.as_str()
                );
                with_header(
                    error(
                        StatusCode::FORBIDDEN,
                        &format!("This token lacks the {} scope", scope.as_str()),
                    ),
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_str(&challenge).expect("scope names are header-safe"),
                )
            }
            ApiError::NotFound(msg) => error(StatusCode::NOT_FOUND, msg),
            ApiError::MethodNotAllowed => {
                error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")
            }
            ApiError::Conflict(msg) => error(StatusCode::CONFLICT, msg),
            ApiError::NotImplemented(msg) => error(StatusCode::NOT_IMPLEMENTED, &msg),
            ApiError::RequestTimeout => error(
                StatusCode::REQUEST_TIMEOUT,
                "The request took too long and was cut off",
            ),
            ApiError::PayloadTooLarge => {
                error(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large")
            }
            ApiError::Internal(err) => {
                let mut response =
                    error(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error");
                response
                    .extensions_mut()
                    .insert(ErrorNote::Internal(err.to_string()));
                response
            }
        }
    }
}

/// An answer that holds a secret or personal data: never stored by a cache
/// (RFC 6749 §5.1 asks this of token responses; the same holds here).
pub struct NoStore<T>(pub T);

impl<T: IntoResponse> IntoResponse for NoStore<T> {
    fn into_response(self) -> Response {
        (super::oauth::error::no_store(), self.0).into_response()
    }
}
