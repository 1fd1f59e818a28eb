//! Group commit for new tokens. Every insert is its own commit otherwise,
//! and a SQLite commit costs ~150 µs of WAL writes here however small the row
//! (PostgreSQL: a WAL flush). Inserts that arrive while a commit is running
//! wait for the next one and go in together, as one multi-row INSERT, so the
//! commit rate stays what the disk allows while throughput scales with the
//! number of waiting requests. A lone insert goes at once, as before; each
//! caller is answered only after its row is committed.

use super::tokens::insert_token;
use super::StoreError;
use crate::domain::{SecretHash, Token};
use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};

/// Rows per statement: 5 parameters each, far below either database's limit.
const MAX_BATCH: usize = 64;

struct Pending {
    token: Token,
    hash: SecretHash,
    reply: oneshot::Sender<Result<(), StoreError>>,
}

#[derive(Clone, Debug)]
pub(super) struct TokenWriter {
    queue: mpsc::Sender<Pending>,
}

impl TokenWriter {
    /// Starts the writer task; it ends when the last handle is dropped.
    pub fn start(pool: AnyPool) -> Self {
        let (queue, inbox) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(run(pool, inbox));
        Self { queue }
    }

    pub async fn insert(&self, token: &Token, hash: &SecretHash) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            token: *token,
            hash: *hash,
            reply,
        };
        self.queue
            .send(pending)
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

async fn run(pool: AnyPool, mut inbox: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while inbox.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // A caller that has gone (its request was abandoned) gets no row.
        batch.retain(|pending| !pending.reply.is_closed());
        if batch.is_empty() {
            continue;
        }
        match insert_all(&pool, &batch).await {
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
                    let outcome = insert_token(&pool, &pending.token, &pending.hash).await;
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

async fn insert_all(pool: &AnyPool, batch: &[Pending]) -> Result<(), StoreError> {
    if let [one] = batch {
        return insert_token(pool, &one.token, &one.hash).await;
    }
    let mut sql = String::from(
        "INSERT INTO tokens (id, account_id, secret_hash, created_at, expires_at) VALUES ",
    );
    for i in 0..batch.len() {
        let p = 5 * i;
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!(
            "(${}, ${}, ${}, ${}, ${})",
            p + 1,
            p + 2,
            p + 3,
            p + 4,
            p + 5
        ));
    }
    // Statements of every batch size would crowd the statement cache.
    let mut query = sqlx::query(&sql).persistent(false);
    for pending in batch {
        let token = &pending.token;
        query = query
            .bind(token.id.to_string())
            .bind(token.account_id.to_string())
            .bind(pending.hash.0.to_vec())
            .bind(token.created_at.as_micros())
            .bind(token.expires_at.as_micros());
    }
    query.execute(pool).await?;
    Ok(())
}
