//! PostgreSQL's LISTEN/NOTIFY, the channel on which nodes sharing a database
//! tell each other what they revoked. SQLite serves one node: nothing to tell.

use super::{Backend, Store, StoreError};
use sqlx::postgres::PgListener;

/// One channel per database: nodes of different Latchkey databases on one
/// server never hear each other (NOTIFY is scoped to the database).
const CHANNEL: &str = "latchkey_invalidate";

/// PostgreSQL's limit on a payload is 8000 bytes.
pub const MAX_PAYLOAD: usize = 7900;

impl Store {
    /// Sends `payload` to every node listening, this one included.
    pub async fn notify(&self, payload: &str) -> Result<(), StoreError> {
        if self.backend != Backend::Postgres {
            return Ok(());
        }
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(payload)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// A dedicated connection listening on the channel; `None` on SQLite.
    pub async fn listen(&self) -> Result<Option<Listener>, StoreError> {
        let Some(url) = self
            .url
            .as_ref()
            .filter(|_| self.backend == Backend::Postgres)
        else {
            return Ok(None);
        };
        let mut listener = PgListener::connect(&url.0).await?;
        listener.listen(CHANNEL).await?;
        Ok(Some(Listener(listener)))
    }
}

/// What the listening connection brought.
pub enum Heard {
    Payload(String),
    /// The connection dropped and was re-established: anything sent in
    /// between is lost.
    Gap,
}

pub struct Listener(PgListener);

impl Listener {
    /// The next payload, or a gap. An error means the database is out of
    /// reach; the next call tries to reconnect.
    pub async fn next(&mut self) -> Result<Heard, StoreError> {
        Ok(match self.0.try_recv().await? {
            Some(notification) => Heard::Payload(notification.payload().to_owned()),
            None => Heard::Gap,
        })
    }
}
