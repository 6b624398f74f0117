//! [`ZkPool`]: shares one ZooKeeper session per connection (connect string, auth list, timeouts), so the hundreds
//! of znode resources in one plan connect once, and reconnects when a session has died. A
//! failed attempt is remembered for as long as it took, so when ZooKeeper is down the hundreds
//! of resources fail together after one connect timeout, not one timeout after another.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::session::{open, ZkSession};
use super::{ZkAuth, ZkConnection, ZkError, ZnodeStore};

/// Sessions are shared by everything that connects with the same connect string, the same auth
/// list (in order) and the same timeouts, so each resource's own settings hold.
type PoolKey = (String, Vec<ZkAuth>, Duration, Duration);

/// One slot per key. The async lock makes concurrent callers for the same key wait for a single
/// connection attempt instead of each opening their own.
type Slot = Arc<tokio::sync::Mutex<SlotState>>;

#[derive(Debug, Default)]
struct SlotState {
    session: Option<Arc<ZkSession>>,
    /// The last attempt's failure, and until when callers get it without trying again.
    failed: Option<(Instant, RecentFailure)>,
}

/// A connection failure worth handing to the callers that come right after it. Other errors
/// (an invalid connect string, say) are cheap to hit again and are not remembered.
#[derive(Clone, Debug)]
enum RecentFailure {
    Unreachable {
        connect_string: String,
        timeout: Duration,
    },
    AuthFailed {
        scheme: String,
    },
}

impl RecentFailure {
    fn of(err: &ZkError) -> Option<RecentFailure> {
        match err {
            ZkError::Unreachable {
                connect_string,
                timeout,
            } => Some(RecentFailure::Unreachable {
                connect_string: connect_string.clone(),
                timeout: *timeout,
            }),
            ZkError::AuthFailed { scheme } => Some(RecentFailure::AuthFailed {
                scheme: scheme.clone(),
            }),
            _ => None,
        }
    }

    fn error(self) -> ZkError {
        match self {
            RecentFailure::Unreachable {
                connect_string,
                timeout,
            } => ZkError::Unreachable {
                connect_string,
                timeout,
            },
            RecentFailure::AuthFailed { scheme } => ZkError::AuthFailed { scheme },
        }
    }
}

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
    /// When an attempt finds ZooKeeper unreachable or refusing the credentials, calls for the
    /// same connection get that error at once for as long again as the attempt took (at least
    /// a second); after that, the next call tries again.
    pub async fn get(&self, conn: &ZkConnection) -> Result<Arc<dyn ZnodeStore>, ZkError> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            slots
                .entry((
                    conn.connect_string.clone(),
                    conn.auth.clone(),
                    conn.session_timeout,
                    conn.connect_timeout,
                ))
                .or_default()
                .clone()
        };
        let mut state = slot.lock().await;
        if let Some(session) = state.session.as_ref() {
            if session.is_alive() {
                return Ok(session.clone());
            }
            tracing::info!(connect_string = %conn.connect_string, "ZooKeeper session ended; reconnecting");
        }
        if let Some((until, failure)) = &state.failed {
            if Instant::now() < *until {
                return Err(failure.clone().error());
            }
        }
        let started = Instant::now();
        match open(conn).await {
            Ok(session) => {
                let session = Arc::new(session);
                *state = SlotState {
                    session: Some(session.clone()),
                    failed: None,
                };
                Ok(session)
            }
            Err(err) => {
                let took = started.elapsed().max(Duration::from_secs(1));
                state.failed = RecentFailure::of(&err).map(|f| (Instant::now() + took, f));
                Err(err)
            }
        }
    }
}
