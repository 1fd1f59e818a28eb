//! The SQL layer. One implementation serves SQLite and PostgreSQL through
//! sqlx's `Any` driver; only the migrations are written per dialect.

mod accounts;
mod audit;
mod bootstrap;
mod device_polls;
mod error;
mod group_commit;
mod identities;
mod janitor;
mod last_use;
mod notifications;
mod oauth_clients;
mod oauth_codes;
mod oauth_devices;
mod oauth_tokens;
mod plans;
mod rows;
mod server_keys;
mod tokens;
mod web_logins;

pub use accounts::{AccountDeletion, AccountRecord, RoleChange};
pub use audit::{AuditFilter, AuditRow};
pub use device_polls::DevicePace;
pub use error::StoreError;
pub use identities::Identity;
pub use janitor::Expiring;
pub use last_use::Used;
pub use notifications::{Heard, Listener, MAX_PAYLOAD as MAX_NOTIFY_PAYLOAD};
pub use oauth_clients::{ClientChange, ClientRecord};
pub use oauth_codes::{CodeRecord, NewCode};
pub use oauth_devices::{DeviceRecord, DeviceStatus, NewDeviceCode};
pub use oauth_tokens::{
    AccessRecord, AuthorizationRecord, NewAccessToken, NewGrant, NewRefreshToken, RefreshRecord,
};
pub use plans::DEFAULT_PLAN_ID;
pub use tokens::AuthRecord;
pub use web_logins::{WebLogin, WebLoginClaim};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, ConnectOptions, Executor};
use std::str::FromStr;
use std::time::Duration;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }
}

/// How to connect.
#[derive(Clone, Copy, Debug)]
pub struct StoreOptions {
    /// Upper bound on pooled connections (SQLite: readers; it has one writer).
    pub max_connections: u32,
    /// SQLite: WAL pages before the committing writer checkpoints (SQLite's
    /// `wal_autocheckpoint`). Fewer: shorter, more frequent pauses (a lower
    /// p99 of writes, less throughput); more: the reverse. See the README.
    pub sqlite_checkpoint_pages: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            sqlite_checkpoint_pages: 1000,
        }
    }
}

/// A handle on the database; cheap to clone (the pools are shared).
///
/// Reads go to `pool`, writes to `writer`. On SQLite the writer is a single
/// connection, so writers queue in the pool instead of racing for the file
/// lock and sleeping in `busy_timeout`; reader connections are `query_only`,
/// so a write sent to the wrong pool fails loudly in tests. On PostgreSQL
/// both are the same pool.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    writer: AnyPool,
    backend: Backend,
    group: group_commit::GroupCommit,
    /// PostgreSQL's, for the listening connection, which is not pooled.
    url: Option<DatabaseUrl>,
}

/// A connection URL, which may hold a password: never in `Debug` output.
#[derive(Clone)]
struct DatabaseUrl(std::sync::Arc<str>);

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatabaseUrl(…)")
    }
}

impl Store {
    pub async fn connect(url: &str, options: StoreOptions) -> Result<Self, StoreError> {
        let StoreOptions {
            max_connections,
            sqlite_checkpoint_pages: pages,
        } = options;
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        match backend {
            Backend::Postgres => {
                let pool = pool_options(backend, max_connections, false, pages)
                    .connect_with(connect_options(backend, url)?)
                    .await?;
                let mut store = Self::new(pool.clone(), pool, backend);
                store.url = Some(DatabaseUrl(url.into()));
                Ok(store)
            }
            Backend::Sqlite if url.contains(":memory:") => {
                // Every connection to :memory: is its own database: one only,
                // and closing it would empty the database.
                let pool = never_recycled(pool_options(backend, 1, false, pages))
                    .connect_with(connect_options(backend, url)?)
                    .await?;
                Ok(Self::new(pool.clone(), pool, backend))
            }
            Backend::Sqlite => {
                create_private_sqlite_file(url)?;
                let options = connect_options(backend, &sqlite_url_creating_file(url))?;
                // The writer first: it creates the file and switches it to WAL.
                let writer = never_recycled(pool_options(backend, 1, false, pages))
                    .after_release(|conn, _meta| Box::pin(leaves_no_transaction_open(conn)))
                    .connect_with(options.clone())
                    .await?;
                let pool = never_recycled(pool_options(backend, max_connections, true, pages))
                    .connect_with(options)
                    .await?;
                Ok(Self::new(pool, writer, backend))
            }
        }
    }

    fn new(pool: AnyPool, writer: AnyPool, backend: Backend) -> Self {
        Self {
            group: group_commit::GroupCommit::start(backend, writer.clone()),
            pool,
            writer,
            backend,
            url: None,
        }
    }

    /// PostgreSQL serialises concurrent migrators with an advisory lock.
    /// SQLite has none: two processes starting on one new file both read "no
    /// migrations applied", and the slower one's first migration fails on a
    /// table the faster one made. Each migration is one transaction, so the
    /// slower one only needs to read the list again.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        let mut attempts = 0;
        loop {
            match migrator.run(&self.writer).await {
                Ok(()) => return Ok(()),
                Err(
                    sqlx::migrate::MigrateError::Execute(_)
                    | sqlx::migrate::MigrateError::ExecuteMigration(..),
                ) if self.backend == Backend::Sqlite && attempts < 5 => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(50 * attempts)).await;
                }
                Err(err) => return Err(err.into()),
            }
        }
    }

    /// One round trip, for the health watcher.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }

    /// `SELECT … FOR UPDATE` where the dialect has it. SQLite needs none: its
    /// single writer connection already serialises every write transaction.
    fn for_update(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        }
    }
}

/// A statement on a local SQLite file this slow means a stalled disk or a long
/// checkpoint (a write outside a transaction checkpoints inside its own
/// statement), and is logged at warn so that a latency spike can be matched
/// to the database. sqlx's default, one second, hid the soak's write stalls.
/// PostgreSQL keeps that default: every statement there includes a network
/// round trip.
const SQLITE_SLOW_STATEMENT: Duration = Duration::from_millis(100);

fn connect_options(backend: Backend, url: &str) -> Result<AnyConnectOptions, StoreError> {
    let options = AnyConnectOptions::from_str(url)?;
    Ok(match backend {
        Backend::Sqlite => {
            options.log_slow_statements(log::LevelFilter::Warn, SQLITE_SLOW_STATEMENT)
        }
        Backend::Postgres => options,
    })
}

/// Commits a write transaction, with a warning past `SLOW_COMMIT`. sqlx times
/// statements but not COMMIT, and a SQLite commit is where the WAL is
/// checkpointed once it is long enough.
async fn commit(tx: sqlx::Transaction<'_, sqlx::Any>) -> Result<(), StoreError> {
    let started = std::time::Instant::now();
    tx.commit().await?;
    let elapsed = started.elapsed();
    if elapsed >= SLOW_COMMIT {
        tracing::warn!(?elapsed, "slow commit: over {SLOW_COMMIT:?}");
    }
    Ok(())
}

/// As for a SQLite statement; on PostgreSQL a commit is one round trip and a
/// WAL flush, so this long is worth a line there too.
const SLOW_COMMIT: Duration = SQLITE_SLOW_STATEMENT;

/// sqlx runs each SQLite connection on its own OS thread, and by default
/// closes connections idle for 10 minutes and any older than 30; the next
/// demand starts new threads, and the allocator keeps the old threads' partly
/// used pages: in the soak, mimalloc's arena grew 1.6 MB in the minute the
/// 30-minute recycling came and never gave it back. Reconnecting to a local
/// file gains nothing, so SQLite connections stay open (the writer's way out
/// of a broken transaction is `leaves_no_transaction_open`).
fn never_recycled(options: AnyPoolOptions) -> AnyPoolOptions {
    options.idle_timeout(None).max_lifetime(None)
}

/// Whether the SQLite writer may go back to the pool. SQLite may end a
/// transaction by itself (disk full, an I/O error); sqlx still counts it
/// open, because its ROLLBACK then fails. Its next `begin()` would send a
/// SAVEPOINT, and once that transaction is dropped the connection stays
/// inside a transaction nothing commits: every later write would be lost when
/// the connection closes. The ping first runs the rollback a dropped
/// transaction queued; a transaction sqlx still counts after that is one of
/// these, and the connection is closed (the next one starts clean). The count
/// is an atomic: the ping, a round trip to the connection's thread, is paid
/// only after a dropped transaction (paid on every release, it cost a quarter
/// of durable token creation, 4,200 → 3,100/s).
async fn leaves_no_transaction_open(conn: &mut sqlx::AnyConnection) -> Result<bool, sqlx::Error> {
    use sqlx::Connection;
    if !conn.is_in_transaction() {
        return Ok(true);
    }
    conn.ping().await?;
    if conn.is_in_transaction() {
        tracing::warn!("closing the SQLite writer: a transaction SQLite ended by itself was still counted open");
        return Ok(false);
    }
    Ok(true)
}

/// A SQLite reader's own page cache: 256 KiB (the writer keeps SQLite's 2 MB).
const READER_PAGE_CACHE: &str = "PRAGMA cache_size = -256";

fn pool_options(
    backend: Backend,
    max_connections: u32,
    read_only: bool,
    checkpoint_pages: u32,
) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(max_connections.max(1))
        // Reaching PostgreSQL over the network may fail: a request then
        // waits at most this long for a connection and gets a 503, rather
        // than hanging while sqlx retries. A local SQLite file never goes
        // away, so there the bound only caps a queue of readers.
        .acquire_timeout(match backend {
            Backend::Postgres => Duration::from_secs(2),
            Backend::Sqlite => Duration::from_secs(10),
        })
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    // WAL lets readers proceed during a write; NORMAL is durable
                    // under WAL against a process crash, and loses at most the
                    // last commits on power loss (see the README). Checkpoints
                    // stay SQLite's own, on the writer: run from another
                    // connection under a steady write load they never catch
                    // up, and the WAL grows without end.
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    conn.execute("PRAGMA busy_timeout = 5000").await?;
                    let pages = format!("PRAGMA wal_autocheckpoint = {checkpoint_pages}");
                    conn.execute(pages.as_str()).await?;
                    if read_only {
                        conn.execute("PRAGMA query_only = ON").await?;
                        // Each connection keeps a private page cache (2 MB by
                        // default) that fills as the file grows: 16 readers
                        // held up to 32 MB of copies of the same pages, and
                        // the soak's RSS rose for minutes. Token checks hit
                        // the token cache first, and a reader's miss is a read
                        // from the OS page cache, which all of them share.
                        conn.execute(READER_PAGE_CACHE).await?;
                    }
                }
                Ok(())
            })
        })
}

/// The file behind a `sqlite:` URL, unless it is in memory.
fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    (!path.is_empty() && !path.contains(":memory:")).then_some(path)
}

/// The database holds the server key and token hashes: a file Latchkey
/// creates is readable by its owner only (SQLite gives its -wal and -shm
/// files the same mode). An existing file keeps the mode its owner chose.
fn create_private_sqlite_file(url: &str) -> Result<(), StoreError> {
    let Some(path) = sqlite_path(url) else {
        return Ok(());
    };
    if url.contains("mode=ro") || url.contains("mode=rw&") || url.ends_with("mode=rw") {
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(StoreError::File(format!("creating {path}: {err}"))),
    }
}

/// `sqlite://latchkey.db` should create the file on first start, as users expect.
fn sqlite_url_creating_file(url: &str) -> String {
    if url.contains(":memory:") || url.contains("mode=") {
        return url.to_owned();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}mode=rwc")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_create_the_file_unless_told_otherwise() {
        assert_eq!(
            sqlite_url_creating_file("sqlite://latchkey.db"),
            "sqlite://latchkey.db?mode=rwc"
        );
        assert_eq!(
            sqlite_url_creating_file("sqlite://x.db?cache=shared"),
            "sqlite://x.db?cache=shared&mode=rwc"
        );
        assert_eq!(
            sqlite_url_creating_file("sqlite://x.db?mode=ro"),
            "sqlite://x.db?mode=ro"
        );
    }

    #[test]
    fn sqlite_paths_come_from_the_url() {
        assert_eq!(sqlite_path("sqlite://latchkey.db"), Some("latchkey.db"));
        assert_eq!(
            sqlite_path("sqlite:///tmp/x.db?mode=rwc"),
            Some("/tmp/x.db")
        );
        assert_eq!(sqlite_path("sqlite:x.db"), Some("x.db"));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://h/db"), None);
    }

    /// The soak's RSS rose in a step when sqlx closed and reopened SQLite
    /// connections (each one a thread of its own); closing the one
    /// connection to `:memory:` would empty the database.
    #[tokio::test]
    async fn sqlite_connections_are_never_recycled() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let file = Store::connect(&url, StoreOptions::default()).await.unwrap();
        let memory = Store::connect("sqlite::memory:", StoreOptions::default())
            .await
            .unwrap();
        for pool in [&file.pool, &memory.pool] {
            assert_eq!(pool.options().get_idle_timeout(), None);
            assert_eq!(pool.options().get_max_lifetime(), None);
        }
        assert_eq!(file.writer.options().get_idle_timeout(), None);
        assert_eq!(file.writer.options().get_max_lifetime(), None);
        file.close().await;
        memory.close().await;
    }

    #[test]
    fn slow_sqlite_statements_are_logged_at_warn_from_100_ms() {
        let sqlite = connect_options(Backend::Sqlite, "sqlite://t.db").unwrap();
        assert_eq!(
            sqlite.log_settings.slow_statements_duration,
            Duration::from_millis(100)
        );
        assert_eq!(
            sqlite.log_settings.slow_statements_level,
            log::LevelFilter::Warn
        );
        let postgres = connect_options(Backend::Postgres, "postgres://h/db").unwrap();
        assert_eq!(
            postgres.log_settings.slow_statements_duration,
            Duration::from_secs(1)
        );
    }

    /// A ROLLBACK sent inside a transaction stands in for SQLite ending it by
    /// itself: sqlx still counts the transaction open, as after a disk-full.
    #[tokio::test]
    async fn writes_after_a_transaction_sqlite_ended_by_itself_are_durable() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = Store::connect(&url, StoreOptions::default()).await.unwrap();
        let mut tx = store.writer.begin().await.unwrap();
        sqlx::query("ROLLBACK").execute(&mut *tx).await.unwrap();
        let err = tx.commit().await.unwrap_err().to_string();
        assert!(err.contains("no transaction is active"), "{err}");
        // The transaction an error path drops: with the count off by one,
        // sqlx made it a savepoint and left SQLite inside a transaction.
        let dropped = store.writer.begin().await.unwrap();
        drop(dropped);
        sqlx::query("CREATE TABLE kept (x INTEGER)")
            .execute(&store.writer)
            .await
            .unwrap();
        sqlx::query("INSERT INTO kept VALUES (1)")
            .execute(&store.writer)
            .await
            .unwrap();
        let (rows,): (i64,) = sqlx::query_as("SELECT count(*) FROM kept")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(rows, 1, "a reader sees the committed row");
        store.close().await;
    }

    #[test]
    fn rejects_unknown_schemes() {
        assert!(matches!(
            Backend::from_url("mysql://x"),
            Err(StoreError::UnsupportedUrl)
        ));
        assert_eq!(
            Backend::from_url("postgresql://h/db").unwrap(),
            Backend::Postgres
        );
    }
}
