//! Group commit for new tokens. Every insert is its own commit otherwise,
//! and a SQLite commit costs ~150 µs of WAL writes here however small the row
//! (PostgreSQL: a WAL flush). Inserts that arrive while a commit is running
//! wait for the next one and go in together, as one multi-row INSERT, so the
//! commit rate stays what the disk allows while throughput scales with the
//! number of waiting requests. A lone insert goes at once, as before; each
//! caller is answered only after its row is committed.

use super::oauth_tokens::{insert_access_token, NewAccessToken};
use super::tokens::insert_token;
use super::{Backend, StoreError};
use crate::domain::{SecretHash, Token};
use sqlx::{Any, AnyPool};
use tokio::sync::{mpsc, oneshot};

/// Rows per statement: 5 parameters each, far below either database's limit.
const MAX_BATCH: usize = 64;

/// A row of one of the two tables of bearer tokens.
enum Row {
    Api(Token, SecretHash),
    Access(NewAccessToken),
}

struct Pending {
    row: Row,
    reply: oneshot::Sender<Result<(), StoreError>>,
}

#[derive(Clone, Debug)]
pub(super) struct TokenWriter {
    queue: mpsc::Sender<Pending>,
}

impl TokenWriter {
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
        // A caller that has gone (its request was abandoned) gets no row.
        batch.retain(|pending| !pending.reply.is_closed());
        if batch.is_empty() {
            continue;
        }
        match insert_all(backend, &pool, &batch).await {
            Ok(()) => {
                for pending in batch.drain(..) {
                    let _ = pending.reply.send(Ok(()));
                }
            }
            // One bad row (its account was just deleted) fails the whole
            // statement: find out which, one by one. Any other failure (the
            // database is down) is everyone's, and is not retried 64 times.
            Err(StoreError::MissingReference | StoreError::Conflict) if batch.len() > 1 => {
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
    }
}

/// One commit for the whole batch: one multi-row INSERT per table.
async fn insert_all(backend: Backend, pool: &AnyPool, batch: &[Pending]) -> Result<(), StoreError> {
    if let [one] = batch {
        return insert_one(pool, &one.row).await;
    }
    let api: Vec<_> = batch
        .iter()
        .filter_map(|p| match &p.row {
            Row::Api(token, hash) => Some((token, hash)),
            Row::Access(_) => None,
        })
        .collect();
    let access: Vec<_> = batch
        .iter()
        .filter_map(|p| match &p.row {
            Row::Access(token) => Some(token),
            Row::Api(..) => None,
        })
        .collect();
    // One statement is its own transaction; two need one around them.
    match (api.is_empty(), access.is_empty()) {
        (false, true) => insert_api_rows(backend, pool, &api).await,
        (true, false) => insert_access_rows(backend, pool, &access).await,
        _ => {
            let mut tx = pool.begin().await?;
            insert_api_rows(backend, &mut *tx, &api).await?;
            insert_access_rows(backend, &mut *tx, &access).await?;
            tx.commit().await?;
            Ok(())
        }
    }
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
    let sql = multi_row_insert(
        backend,
        "tokens",
        "id, account_id, secret_hash, created_at, expires_at, name, scopes",
        7,
        rows.len(),
    );
    // Statements of every batch size would crowd the statement cache.
    let mut query = sqlx::query(&sql).persistent(false);
    for (token, hash) in rows {
        query = query
            .bind(token.id.to_string())
            .bind(token.account_id.to_string())
            .bind(hash.0.to_vec())
            .bind(token.created_at.as_micros())
            .bind(token.expires_at.as_micros())
            .bind(token.name.as_deref().map(str::to_owned))
            .bind(token.scopes.map(|s| s.to_string()));
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
        "id, secret_hash, client_id, grant_id, account_id, scopes, created_at, expires_at",
        8,
        rows.len(),
    );
    let mut query = sqlx::query(&sql).persistent(false);
    for token in rows {
        query = query
            .bind(token.id.to_string())
            .bind(token.hash.0.to_vec())
            .bind(token.client.to_string())
            .bind(token.grant.map(|g| g.to_string()))
            .bind(token.account.map(|a| a.to_string()))
            .bind(token.scopes.to_string())
            .bind(token.created_at.as_micros())
            .bind(token.expires_at.as_micros());
    }
    query.execute(executor).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
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
