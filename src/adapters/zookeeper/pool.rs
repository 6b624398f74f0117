//! [`ZkPool`]: shares one ZooKeeper session per (connect string, auth list), so the hundreds
//! of znode resources in one plan connect once, and reconnects when a session has died.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::session::{open, ZkSession};
use super::{ZkAuth, ZkConnection, ZkError, ZnodeStore};

/// Sessions are shared by everything that connects with the same connect string and the same
/// auth list (in order). The timeouts of the first caller win for the life of the session.
type PoolKey = (String, Vec<ZkAuth>);

/// One slot per key. The async lock makes concurrent callers for the same key wait for a single
/// connection attempt instead of each opening their own.
type Slot = Arc<tokio::sync::Mutex<Option<Arc<ZkSession>>>>;

/// A cache of live ZooKeeper sessions. Cheap to clone: clones share the cache.
///
/// Ask the pool for a store at the start of each operation rather than keeping one: a store
/// whose session expired stays expired (its calls fail with [`ZkError::SessionExpired`]), while
/// the pool replaces it.
#[derive(Clone, Debug, Default)]
pub struct ZkPool {
    slots: Arc<Mutex<HashMap<PoolKey, Slot>>>,
}

impl ZkPool {
    /// An empty pool.
    pub fn new() -> ZkPool {
        ZkPool::default()
    }

    /// The shared session for `conn`, connecting (under `conn.connect_timeout`) on first use
    /// and again whenever the cached session has expired, been closed or failed authentication.
    /// Failed connection attempts are not cached: the next call tries again.
    pub async fn get(&self, conn: &ZkConnection) -> Result<Arc<dyn ZnodeStore>, ZkError> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            slots
                .entry((conn.connect_string.clone(), conn.auth.clone()))
                .or_default()
                .clone()
        };
        let mut cached = slot.lock().await;
        if let Some(session) = cached.as_ref() {
            if session.is_alive() {
                return Ok(session.clone());
            }
            tracing::info!(connect_string = %conn.connect_string, "ZooKeeper session ended; reconnecting");
        }
        let session = Arc::new(open(conn).await?);
        *cached = Some(session.clone());
        Ok(session)
    }
}
