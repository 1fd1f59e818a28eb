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
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match err.as_database_error() {
            Some(db) if db.is_unique_violation() => StoreError::Conflict,
            Some(db) if db.is_foreign_key_violation() => StoreError::MissingReference,
            _ => StoreError::Database(err),
        }
    }
}

impl StoreError {
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
            other => StoreError::Batch(other.to_string()),
        }
    }
}
