//! Keeping every node's caches true. A node that revokes something drops it
//! from its own caches and tells the others through the database (PostgreSQL
//! LISTEN/NOTIFY), which drop it within moments. A listener that loses its
//! connection may have missed messages, so it empties the caches; their TTL
//! is the last fallback should a message never come.

use super::oauth::ClientRegistry;
use super::TokenCache;
use crate::domain::{ClientId, SecretHash};
use crate::store::{Heard, Store, MAX_NOTIFY_PAYLOAD};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::sync::Arc;
use std::time::Duration;

const TOKENS: &str = "t:";
const CLIENT: &str = "c:";
/// A listener that heard nothing this long asks the database for an echo.
const SILENCE: Duration = Duration::from_secs(30);
/// An echo that does not come back in time means a dead connection.
const ECHO_WAIT: Duration = Duration::from_secs(5);
const ECHO: &str = "p:";

/// Tells the other nodes; on SQLite (one node) it has no one to tell.
#[derive(Clone, Debug)]
pub struct Peers {
    store: Store,
}

impl Peers {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Call after the revocation has committed. A failure is logged, not
    /// returned: the revocation stands, and other nodes' TTL still ends it.
    pub async fn tokens_revoked(&self, hashes: &[SecretHash]) {
        let mut payload = String::from(TOKENS);
        for hash in hashes {
            if payload.len() + 44 > MAX_NOTIFY_PAYLOAD {
                self.send(&payload).await;
                payload.truncate(TOKENS.len());
            }
            if payload.len() > TOKENS.len() {
                payload.push(',');
            }
            URL_SAFE_NO_PAD.encode_string(hash.0, &mut payload);
        }
        if payload.len() > TOKENS.len() {
            self.send(&payload).await;
        }
    }

    /// A client was changed, rotated or deleted.
    pub async fn client_changed(&self, id: ClientId) {
        self.send(&format!("{CLIENT}{id}")).await;
    }

    async fn send(&self, payload: &str) {
        if let Err(err) = self.store.notify(payload).await {
            tracing::warn!(error = %err, "could not tell the other nodes of a revocation; their cache TTL ends it");
        }
    }
}

/// What a listener drops when it hears of a revocation.
#[derive(Clone)]
pub struct Caches {
    pub tokens: Arc<TokenCache>,
    pub clients: ClientRegistry,
}

impl Caches {
    fn hear(&self, payload: &str) {
        if let Some(list) = payload.strip_prefix(TOKENS) {
            let hashes: Vec<SecretHash> = list
                .split(',')
                .filter_map(|h| URL_SAFE_NO_PAD.decode(h).ok())
                .filter_map(|bytes| SecretHash::from_slice(&bytes))
                .collect();
            self.tokens.evict_local(&hashes);
        } else if payload.starts_with(ECHO) {
            // Some node checking its connection; nothing to drop.
        } else if let Some(id) = payload.strip_prefix(CLIENT) {
            match id.parse::<ClientId>() {
                Ok(id) => self.clients.forget(&id),
                Err(_) => self.forget_everything(),
            }
        } else {
            // A message from a newer node that this one cannot read.
            self.forget_everything();
        }
    }

    fn forget_everything(&self) {
        self.tokens.flush();
        self.clients.forget_all();
    }
}

/// Runs until the process ends: hears the other nodes and reconnects after
/// a drop, emptying the caches each time something may have been missed.
pub async fn listen_to_peers(store: Store, caches: Caches) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let mut listener = match store.listen().await {
            Ok(Some(listener)) => listener,
            Ok(None) => return,
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for other nodes' revocations; retrying");
                caches.forget_everything();
                tokio::time::sleep(backoff).await;
                // Short: each failed try empties the caches again, so a revocation
                // made meanwhile on another node is honoured within about a second.
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        // Revocations made while this listener was away were not heard.
        caches.forget_everything();
        backoff = Duration::from_millis(100);
        // A half-open connection would wait forever: after a silence the
        // listener sends itself an echo, and a missing echo is a lost link.
        let mut echo_sent = false;
        loop {
            let wait = if echo_sent { ECHO_WAIT } else { SILENCE };
            let heard = match tokio::time::timeout(wait, listener.next()).await {
                Ok(heard) => heard,
                Err(_) if !echo_sent => {
                    let _ = store.notify(ECHO).await;
                    echo_sent = true;
                    continue;
                }
                Err(_) => {
                    tracing::warn!("the revocation listener heard no echo; reconnecting");
                    caches.forget_everything();
                    break;
                }
            };
            echo_sent = false;
            match heard {
                Ok(Heard::Payload(payload)) => caches.hear(&payload),
                Ok(Heard::Gap) => {
                    tracing::warn!("the revocation listener reconnected; caches emptied");
                    caches.forget_everything();
                }
                Err(err) => {
                    tracing::warn!(error = %err, "the revocation listener lost the database");
                    caches.forget_everything();
                    break;
                }
            }
        }
    }
}
