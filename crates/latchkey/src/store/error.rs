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
