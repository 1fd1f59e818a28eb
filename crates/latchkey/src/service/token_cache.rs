use super::{LastRecorded, Peers, Principal};
use crate::domain::SecretHash;
use moka::sync::Cache;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The in-process cache of validated tokens.
#[derive(Clone, Copy, Debug)]
pub struct TokenCacheConfig {
    /// How long a verdict may be served: the fallback should a revocation
    /// message from another node be lost.
    pub ttl: Duration,
    /// Entries at most; 0 sends every check to the database.
    pub capacity: u64,
}

/// Validated secrets, keyed by hash, so the hot path skips the database.
///
/// Deletions evict entries on this node at once and are told to the other
/// nodes (`Peers`), which evict them too. The generation counter closes the
/// race where a lookup reads a row just before it is deleted and caches it
/// just after the eviction: such an insert notices the bump and undoes itself.
/// Only verdicts are cached, never the time: expiry is checked on every use.
pub struct TokenCache {
    entries: Cache<SecretHash, (Principal, LastRecorded)>,
    generation: AtomicU64,
    peers: Option<Peers>,
}

impl TokenCache {
    pub fn new(ttl: Duration, capacity: u64, peers: Option<Peers>) -> Self {
        Self {
            entries: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
            generation: AtomicU64::new(0),
            peers,
        }
    }

    pub fn get(&self, hash: &SecretHash) -> Option<(Principal, LastRecorded)> {
        self.entries.get(hash)
    }

    /// Read before the database lookup whose result may be cached.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    pub fn insert(&self, hash: SecretHash, entry: (Principal, LastRecorded), seen_generation: u64) {
        self.entries.insert(hash, entry);
        if self.generation.load(Ordering::SeqCst) != seen_generation {
            self.entries.invalidate(&hash);
        }
    }

    /// Call after the deletion has committed: evicts here, then tells the
    /// other nodes.
    pub async fn evict(&self, hashes: &[SecretHash]) {
        self.evict_local(hashes);
        if let Some(peers) = &self.peers {
            peers.tokens_revoked(hashes).await;
        }
    }

    /// What another node revoked.
    pub fn evict_local(&self, hashes: &[SecretHash]) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        for hash in hashes {
            self.entries.invalidate(hash);
        }
    }

    /// Everything, when revocations may have been missed.
    pub fn flush(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.entries.invalidate_all();
    }
}

#[cfg(test)]
mod tests {
    use super::super::Caller;
    use super::*;
    use crate::domain::{AccountId, Role, Timestamp, Token, TokenId};

    fn caller() -> (Principal, LastRecorded) {
        let principal = Principal::Account(Caller {
            token: Token {
                id: TokenId::generate(),
                account_id: AccountId::generate(),
                created_at: Timestamp::now(),
                expires_at: Timestamp::now(),
                name: None,
                scopes: None,
                last_used_at: None,
            },
            role: Role::User,
            scopes: None,
            oauth: None,
            email: "a@b.c".into(),
        });
        (principal, LastRecorded::new(None))
    }

    #[test]
    fn eviction_removes_entries() {
        let cache = TokenCache::new(Duration::from_secs(60), 10, None);
        let h = SecretHash([1; 32]);
        cache.insert(h, caller(), cache.generation());
        assert!(cache.get(&h).is_some());
        cache.evict_local(&[h]);
        assert!(cache.get(&h).is_none());
        cache.insert(h, caller(), cache.generation());
        cache.flush();
        assert!(cache.get(&h).is_none());
    }

    #[test]
    fn insert_racing_an_eviction_does_not_stick() {
        let cache = TokenCache::new(Duration::from_secs(60), 10, None);
        let h = SecretHash([2; 32]);
        let seen = cache.generation();
        // A deletion commits and evicts while the lookup is still in flight.
        cache.evict_local(&[h]);
        cache.insert(h, caller(), seen);
        assert!(cache.get(&h).is_none());
    }
}
