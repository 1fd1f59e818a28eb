//! Group commit for the rows written most often: new tokens (API tokens and
//! client_credentials access tokens) and audit events, one of which comes with
//! most writes. Every insert is its own commit otherwise, and a SQLite commit
//! costs ~150 µs of WAL writes here however small the row (PostgreSQL: a WAL
//! flush). Inserts that arrive while a commit is running wait for the next one
//! and go in together, one multi-row INSERT per table, so the commit rate stays
//! what the disk allows while throughput scales with the number of waiting
//! requests. A lone insert goes at once, as before; each caller is answered
//! only after its row is committed.

use super::audit::{bind_audit_row, insert_audit, AuditRow, AUDIT_COLUMNS};
use super::oauth_tokens::{
    bind_access_token, insert_access_token, NewAccessToken, ACCESS_TOKEN_COLUMNS,
};
use super::tokens::{bind_token, insert_token, TOKEN_COLUMNS};
use super::{Backend, StoreError};
use crate::domain::{SecretHash, Token};
use sqlx::{Any, AnyPool};
use tokio::sync::{mpsc, oneshot};

/// Rows per statement: at most 10 parameters each, far below either
/// database's limit.
const MAX_BATCH: usize = 64;

/// A row of one of the two tables of bearer tokens, or of the audit log.
enum Row {
    Api(Token, SecretHash),
    Access(NewAccessToken),
    Audit(AuditRow),
}

struct Pending {
    row: Row,
    reply: oneshot::Sender<Result<(), StoreError>>,
}

#[derive(Clone, Debug)]
pub(super) struct GroupCommit {
    queue: mpsc::Sender<Pending>,
}

impl GroupCommit {
    /// Starts the writer task; it ends when the last handle is dropped.
    pub fn start(backend: Backend, pool: AnyPool) -> Self {
        let (queue, inbox) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(run(backend, pool, inbox));
        Self { queue }
    }

    pub async fn insert(&self, token: &Token, hash: &SecretHash) -> Result<(), StoreError> {
        self.send(Row::Api(token.clone(), *hash)).await
    }

    pub async fn insert_access(&self, token: &NewAccessToken) -> Result<(), StoreError> {
        self.send(Row::Access(token.clone())).await
    }

    pub async fn insert_audit(&self, row: AuditRow) -> Result<(), StoreError> {
        self.send(Row::Audit(row)).await
    }

    async fn send(&self, row: Row) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        let pending = Pending { row, reply };
        self.queue
            .send(pending)
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

async fn run(backend: Backend, pool: AnyPool, mut inbox: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while inbox.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // A caller that has gone (its request was abandoned) gets no token:
        // no one would ever see its secret. Its audit event is still written,
        // as the action it records has happened.
        batch.retain(|pending| matches!(pending.row, Row::Audit(_)) || !pending.reply.is_closed());
        if batch.is_empty() {
            continue;
        }
        match insert_all(backend, &pool, &batch).await {
            Ok(()) => {
                for pending in batch.drain(..) {
                    let _ = pending.reply.send(Ok(()));
                }
            }
            // One bad row (its account was just deleted, a text PostgreSQL
            // refuses) fails the whole statement: find out which, one by
            // one, so that no one else's write fails with it. A database
            // that is down or closed fails everyone, and is not retried 64
            // times.
            Err(StoreError::MissingReference | StoreError::Conflict | StoreError::Database(_))
                if batch.len() > 1 =>
            {
                for pending in batch.drain(..) {
                    let outcome = insert_one(&pool, &pending.row).await;
                    let _ = pending.reply.send(outcome);
                }
            }
            Err(err) => {
                for pending in batch.drain(..) {
                    let _ = pending.reply.send(Err(err.clone_kind()));
                }
            }
        }
    }
}

async fn insert_one(pool: &AnyPool, row: &Row) -> Result<(), StoreError> {
    match row {
        Row::Api(token, hash) => insert_token(pool, token, hash).await,
        Row::Access(token) => insert_access_token(pool, token).await,
        Row::Audit(row) => insert_audit(pool, row).await,
    }
}

/// One commit for the whole batch: one multi-row INSERT per table.
async fn insert_all(backend: Backend, pool: &AnyPool, batch: &[Pending]) -> Result<(), StoreError> {
    if let [one] = batch {
        return insert_one(pool, &one.row).await;
    }
    let mut api = Vec::new();
    let mut access = Vec::new();
    let mut audit = Vec::new();
    for pending in batch {
        match &pending.row {
            Row::Api(token, hash) => api.push((token, hash)),
            Row::Access(token) => access.push(token),
            Row::Audit(row) => audit.push(row),
        }
    }
    // One statement is its own transaction; two or three need one around them.
    let tables = [!api.is_empty(), !access.is_empty(), !audit.is_empty()];
    if tables.iter().filter(|&&some| some).count() == 1 {
        return if !api.is_empty() {
            insert_api_rows(backend, pool, &api).await
        } else if !access.is_empty() {
            insert_access_rows(backend, pool, &access).await
        } else {
            insert_audit_rows(backend, pool, &audit).await
        };
    }
    let mut tx = pool.begin().await?;
    if !api.is_empty() {
        insert_api_rows(backend, &mut *tx, &api).await?;
    }
    if !access.is_empty() {
        insert_access_rows(backend, &mut *tx, &access).await?;
    }
    if !audit.is_empty() {
        insert_audit_rows(backend, &mut *tx, &audit).await?;
    }
    super::commit(tx).await?;
    Ok(())
}

/// `INSERT INTO {table} ({columns}) VALUES (…), (…), …` for `rows` rows.
/// PostgreSQL numbers its parameters (`$1`); SQLite gets anonymous `?`,
/// because binding hundreds of numbered ones made it compare parameter
/// names for each (a tenth of a grant's CPU in the profile).
fn multi_row_insert(
    backend: Backend,
    table: &str,
    columns: &str,
    width: usize,
    rows: usize,
) -> String {
    let mut sql = format!("INSERT INTO {table} ({columns}) VALUES ");
    for i in 0..rows {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for j in 0..width {
            if j > 0 {
                sql.push_str(", ");
            }
            match backend {
                Backend::Postgres => sql.push_str(&format!("${}", i * width + j + 1)),
                Backend::Sqlite => sql.push('?'),
            }
        }
        sql.push(')');
    }
    sql
}

async fn insert_api_rows<'e>(
    backend: Backend,
    executor: impl sqlx::Executor<'e, Database = Any>,
    rows: &[(&Token, &SecretHash)],
) -> Result<(), StoreError> {
    let sql = multi_row_insert(backend, "tokens", TOKEN_COLUMNS, 7, rows.len());
    // Statements of every batch size would crowd the statement cache.
    let mut query = sqlx::query(&sql).persistent(false);
    for (token, hash) in rows {
        query = bind_token(query, token, hash);
    }
    query.execute(executor).await?;
    Ok(())
}

async fn insert_access_rows<'e>(
    backend: Backend,
    executor: impl sqlx::Executor<'e, Database = Any>,
    rows: &[&NewAccessToken],
) -> Result<(), StoreError> {
    let sql = multi_row_insert(
        backend,
        "oauth_access_tokens",
        ACCESS_TOKEN_COLUMNS,
        8,
        rows.len(),
    );
    let mut query = sqlx::query(&sql).persistent(false);
    for token in rows {
        query = bind_access_token(query, token);
    }
    query.execute(executor).await?;
    Ok(())
}

async fn insert_audit_rows<'e>(
    backend: Backend,
    executor: impl sqlx::Executor<'e, Database = Any>,
    rows: &[&AuditRow],
) -> Result<(), StoreError> {
    let sql = multi_row_insert(backend, "audit_events", AUDIT_COLUMNS, 10, rows.len());
    let mut query = sqlx::query(&sql).persistent(false);
    for row in rows {
        query = bind_audit_row(query, row);
    }
    query.execute(executor).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{AuditFilter, Store, StoreError, StoreOptions, DEFAULT_PLAN_ID};
    use super::AuditRow;
    use crate::domain::{Account, AccountId, Email, Role, SecretHash, Timestamp, Token, TokenId};

    fn token(account: AccountId, n: u8) -> (Token, SecretHash) {
        let now = Timestamp::now();
        let token = Token {
            id: TokenId::generate(),
            account_id: account,
            created_at: now,
            expires_at: Timestamp::from_micros(now.as_micros() + 3_600_000_000),
            name: None,
            scopes: None,
            last_used_at: None,
        };
        let mut hash = [n; 32];
        hash[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        (token, SecretHash(hash))
    }

    /// Every column different, so a swapped binding shows.
    fn audit(n: u8) -> AuditRow {
        AuditRow {
            id: uuid::Uuid::now_v7().to_string(),
            at: 1_000 + i64::from(n),
            kind: format!("kind-{n}"),
            outcome: format!("outcome-{n}"),
            account_id: Some(format!("account-{n}")),
            actor_id: Some(format!("actor-{n}")),
            target: Some(format!("target-{n}")),
            detail: Some(format!("{{\"n\":{n}}}")),
            address: Some(format!("10.0.0.{n}")),
            request_id: Some(format!("request-{n}")),
        }
    }

    async fn stored_audit(store: &Store) -> Vec<AuditRow> {
        let filter = AuditFilter {
            account: None,
            since: None,
            before: None,
            limit: 500,
        };
        let mut rows = store.list_audit(&filter).await.unwrap();
        rows.sort_by(|a, b| a.id.cmp(&b.id));
        rows
    }

    /// While the writer is held, the first row waits alone for it and the
    /// rest queue, to go in as one batch of tokens and audit events (even
    /// numbers are tokens, odd ones audit events). The bad row, if any, must
    /// be refused: an even one is a token of an account that does not exist,
    /// an odd one an audit event the caller has set the database to refuse.
    /// Returns the audit rows that should be stored.
    async fn batch(store: &Store, account: AccountId, bad: Option<u8>) -> Vec<AuditRow> {
        let held = store.writer.acquire().await.unwrap();
        let mut writes = tokio::task::JoinSet::new();
        let mut sent = Vec::new();
        for n in 0..20u8 {
            let store = store.clone();
            let owner = if bad == Some(n) {
                AccountId::generate()
            } else {
                account
            };
            let row = audit(n);
            if n % 2 == 1 && bad != Some(n) {
                sent.push(row.clone());
            }
            writes.spawn(async move {
                if n % 2 == 0 {
                    let (token, hash) = token(owner, n);
                    (n, store.insert_token(&token, &hash).await)
                } else {
                    (n, store.insert_audit(row).await)
                }
            });
        }
        // The writes reach the queue while the writer is held.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        drop(held);
        while let Some(done) = writes.join_next().await {
            let (n, outcome) = done.unwrap();
            if bad == Some(n) && n % 2 == 0 {
                assert!(
                    matches!(outcome, Err(StoreError::MissingReference)),
                    "{outcome:?}"
                );
            } else if bad == Some(n) {
                assert!(
                    matches!(outcome, Err(StoreError::Database(_))),
                    "{outcome:?}"
                );
            } else {
                assert!(outcome.is_ok(), "{n}: {outcome:?}");
            }
        }
        sent
    }

    async fn sqlite_store(dir: &tempfile::TempDir) -> (Store, AccountId) {
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = Store::connect(&url, StoreOptions::default()).await.unwrap();
        store.migrate().await.unwrap();
        let account = Account {
            id: AccountId::generate(),
            name: "Batch".into(),
            email: Email::parse("batch@example.com").unwrap(),
            plan_id: DEFAULT_PLAN_ID,
        };
        store
            .insert_account(&account, Role::User, true, Timestamp::now())
            .await
            .unwrap();
        (store, account.id)
    }

    /// A batch with a token whose account does not exist fails as a whole;
    /// the rows are then written one by one, and only that one is refused.
    #[tokio::test]
    async fn a_batch_of_tokens_and_audit_events_commits_all_but_its_bad_row() {
        let dir = tempfile::tempdir().unwrap();
        let (store, account) = sqlite_store(&dir).await;
        let mut sent = batch(&store, account, None).await;
        sent.extend(batch(&store, account, Some(6)).await);
        let tokens = store.list_tokens(account).await.unwrap();
        assert_eq!(tokens.len(), 19);
        sent.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(stored_audit(&store).await, sent);
        store.close().await;
    }

    /// A row failing with an error of no particular kind (here a trigger's
    /// abort; on PostgreSQL, say, a text it refuses) fails the whole batch
    /// too, and the others must not fail with it.
    #[tokio::test]
    async fn a_batch_commits_all_but_a_row_the_database_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let (store, account) = sqlite_store(&dir).await;
        sqlx::query(
            "CREATE TRIGGER refuse_kind_5 BEFORE INSERT ON audit_events \
             WHEN NEW.kind = 'kind-5' BEGIN SELECT RAISE(ABORT, 'refused'); END",
        )
        .execute(&store.writer)
        .await
        .unwrap();
        let mut sent = batch(&store, account, Some(5)).await;
        assert_eq!(store.list_tokens(account).await.unwrap().len(), 10);
        sent.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(stored_audit(&store).await, sent);
        store.close().await;
    }

    /// A request abandoned while its rows wait for the writer: its token is
    /// not written (no one has its secret), its audit event is (the action
    /// it records has happened).
    #[tokio::test]
    async fn an_abandoned_caller_gets_no_token_but_its_audit_event() {
        let dir = tempfile::tempdir().unwrap();
        let (store, account) = sqlite_store(&dir).await;
        let held = store.writer.acquire().await.unwrap();
        // Taken from the queue at once, this one waits for the writer; the
        // next rows wait in the queue.
        let first = {
            let store = store.clone();
            tokio::spawn(async move { store.insert_audit(audit(0)).await })
        };
        let (token, hash) = token(account, 1);
        let wait = std::time::Duration::from_millis(50);
        tokio::time::sleep(wait).await;
        let row = audit(2);
        let abandoned = tokio::time::timeout(wait, store.insert_audit(row.clone())).await;
        assert!(abandoned.is_err(), "the writer is held");
        let abandoned = tokio::time::timeout(wait, store.insert_token(&token, &hash)).await;
        assert!(abandoned.is_err(), "the writer is held");
        drop(held);
        first.await.unwrap().unwrap();
        // A later write goes after them through the same queue.
        store.insert_audit(audit(3)).await.unwrap();
        assert!(store.list_tokens(account).await.unwrap().is_empty());
        let stored = stored_audit(&store).await;
        assert_eq!(stored.len(), 3, "{stored:?}");
        assert_eq!(stored[1], row);
        store.close().await;
    }

    #[test]
    fn multi_row_inserts_number_their_parameters() {
        use super::{multi_row_insert, Backend};
        assert_eq!(
            multi_row_insert(Backend::Postgres, "t", "a, b", 2, 2),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)"
        );
        assert_eq!(
            multi_row_insert(Backend::Sqlite, "t", "a, b", 2, 2),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)"
        );
    }
}
