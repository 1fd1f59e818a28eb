/// Failures of the SQL layer. Callers decide what a conflict means to a user.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a unique constraint was violated")]
    Conflict,
    /// A row refers to one that no longer exists (a token for a deleted account).
    #[error("a referenced row does not exist")]
    MissingReference,
    #[error("{0}")]
    File(String),
    /// The store was closed while a write waited.
    #[error("the database is closed")]
    Closed,
    /// A grouped write failed as a whole.
    #[error("database error: {0}")]
    Batch(String),
    #[error("database URL must start with sqlite: or postgres://")]
    UnsupportedUrl,
    #[error("stored row is invalid: {0}")]
    Corrupt(&'static str),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// The database cannot be reached (refused, dropped, no free connection
    /// in time, shutting down): worth retrying, unlike the errors above.
    #[error("the database is unreachable: {0}")]
    Unavailable(String),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if unreachable(&err) {
            return StoreError::Unavailable(err.to_string());
        }
        match err.as_database_error() {
            Some(db) if db.is_unique_violation() => StoreError::Conflict,
            Some(db) if db.is_foreign_key_violation() => StoreError::MissingReference,
            _ => StoreError::Database(err),
        }
    }
}

/// Failures of the connection rather than of the statement: PostgreSQL's
/// class 08 (connection exception), 57P (the server shutting down or
/// starting) and 25006 (a read-only server, as after a failover to a
/// replica), and sqlx's own I/O, TLS, pool and worker failures. A protocol
/// error counts only as PostgreSQL's handshake meeting a closed connection
/// ("unexpected response from SSLRequest"); elsewhere it is a bug, a 500.
fn unreachable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Protocol(what) => what.contains("SSLRequest"),
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || code.starts_with("57P") || code == "25006"
        }),
        _ => false,
    }
}

impl StoreError {
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }

    /// The same failure for another waiter of a batch; database details are
    /// summarised, since `sqlx::Error` cannot be cloned.
    pub fn clone_kind(&self) -> StoreError {
        match self {
            StoreError::Conflict => StoreError::Conflict,
            StoreError::MissingReference => StoreError::MissingReference,
            StoreError::Closed => StoreError::Closed,
            StoreError::UnsupportedUrl => StoreError::UnsupportedUrl,
            StoreError::Corrupt(col) => StoreError::Corrupt(col),
            StoreError::File(what) => StoreError::File(what.clone()),
            StoreError::Unavailable(why) => StoreError::Unavailable(why.clone()),
            other => StoreError::Batch(other.to_string()),
        }
    }
}
