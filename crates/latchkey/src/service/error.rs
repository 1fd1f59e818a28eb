use super::AuthFailure;
use crate::store::StoreError;

/// Why a service refused or failed a request, in terms a client can act on.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{}", .0.message())]
    Unauthorized(AuthFailure),
    #[error("invalid request: {}", .0.join("; "))]
    Invalid(Vec<String>),
    #[error("{0}")]
    Conflict(&'static str),
    #[error(transparent)]
    Internal(#[from] StoreError),
}

impl ServiceError {
    pub fn invalid(problem: impl Into<String>) -> Self {
        ServiceError::Invalid(vec![problem.into()])
    }
}
