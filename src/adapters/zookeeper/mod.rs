//! ZooKeeper behind one small trait, [`ZnodeStore`]: read, create, update and delete znodes and
//! their ACLs, with optimistic concurrency through versions.
//!
//! Where to start reading:
//! - [`ZnodeStore`]: what the resources may ask of ZooKeeper. Tests for resources can implement
//!   it in memory.
//! - [`ZkPool`]: how the provider gets a store: one shared session per connect string and
//!   auth list, reconnected when it dies. [`connect`] opens an unshared one.
//! - [`ZkError`]: every failure, worded for the practitioner.
//! - [`Perms`], [`Acl`], [`Stat`]: the values, independent of the client library (the crate
//!   `zookeeper-client` is only named in this module's private files).
//! - [`EnsembleMembership`], [`EnsembleConfig`]: the committed membership and dynamic
//!   reconfiguration (`reconfig`), for ensemble scaling; [`connect_membership`] opens one.
//! - [`digest_id`], [`validate_path`], [`parent`]: pure helpers the resources use at plan time.
//!
//! Versions follow ZooKeeper: `-1` matches any version.

mod acl;
mod digest;
mod ensemble_config;
mod error;
mod path;
mod pool;
mod session;
mod stat;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use self::acl::{Acl, Perms, PermsParseError};
pub use self::digest::digest_id;
pub use self::ensemble_config::{EnsembleConfig, EnsembleMembership};
pub use self::error::ZkError;
pub use self::path::{parent, validate_path};
pub use self::pool::ZkPool;
pub use self::session::CHROOT_NOTE;
pub use self::stat::Stat;

/// Session timeout asked of the server unless the configuration says otherwise. The server
/// clamps it to its own `minSessionTimeout`..`maxSessionTimeout` (by default 2 to 20 ticks).
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(10);

/// How long to wait for a session before reporting the ensemble unreachable. Long enough for
/// an ensemble created in the same apply to elect a leader, short enough that a typo in the
/// connect string does not hang `terraform plan`.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Where and how to connect.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ZkConnection {
    /// `host:port[,host:port...][/chroot]`, as for ZooKeeper's own clients. With a chroot,
    /// every path given to the store is relative to it.
    pub connect_string: String,
    /// Added to the session, in order, right after it is established.
    pub auth: Vec<ZkAuth>,
    /// Session timeout requested from the server; also bounds every single request.
    pub session_timeout: Duration,
    /// Bound on connecting and authenticating together.
    pub connect_timeout: Duration,
}

impl ZkConnection {
    /// A connection without auth and with the default timeouts.
    pub fn new(connect_string: impl Into<String>) -> ZkConnection {
        ZkConnection {
            connect_string: connect_string.into(),
            auth: Vec::new(),
            session_timeout: DEFAULT_SESSION_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }
}

/// One `addauth`: for scheme `digest`, credentials are `user:password`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ZkAuth {
    pub scheme: String,
    /// A secret: never printed, see the `Debug` impl.
    pub credentials: String,
}

impl ZkAuth {
    /// `digest` auth for `user` with `password`.
    pub fn digest(user: &str, password: &str) -> ZkAuth {
        ZkAuth {
            scheme: "digest".to_string(),
            credentials: format!("{user}:{password}"),
        }
    }
}

/// Shows the scheme only: credentials are secrets and must not reach logs or error messages.
impl fmt::Debug for ZkAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZkAuth")
            .field("scheme", &self.scheme)
            .field("credentials", &"<redacted>")
            .finish()
    }
}

/// What the znode resources need from ZooKeeper. All paths are absolute (relative to the
/// connection's chroot) and checked with [`validate_path`]; `-1` as an expected version
/// matches any version.
#[async_trait]
pub trait ZnodeStore: Send + Sync {
    /// Data and stat, or `None` when the znode does not exist. Needs `r`.
    async fn get(&self, path: &str) -> Result<Option<(Vec<u8>, Stat)>, ZkError>;

    /// ACL and stat (`Stat::aversion` is the ACL version), or `None` when the znode does not
    /// exist. Needs `r` (or `a`).
    async fn get_acl(&self, path: &str) -> Result<Option<(Vec<Acl>, Stat)>, ZkError>;

    /// Stat, or `None` when the znode does not exist. Needs `r` on an existing znode from
    /// ZooKeeper 3.9 on (older servers check nothing).
    async fn exists(&self, path: &str) -> Result<Option<Stat>, ZkError>;

    /// Child names (not paths), sorted, or `None` when the znode does not exist. Needs `r`.
    async fn children(&self, path: &str) -> Result<Option<Vec<String>>, ZkError>;

    /// Creates a persistent znode. With `create_parents`, missing ancestors are created first
    /// with `parent_acl` and empty data (an ancestor that appears concurrently is fine);
    /// without, a missing parent is `NoNode` for the parent. Needs `c` on the parent.
    async fn create(
        &self,
        path: &str,
        data: &[u8],
        acl: &[Acl],
        create_parents: bool,
        parent_acl: &[Acl],
    ) -> Result<Stat, ZkError>;

    /// Replaces the data if the data version is still `expected_version`, else `BadVersion`.
    /// Needs `w`.
    async fn set_data(
        &self,
        path: &str,
        data: &[u8],
        expected_version: i32,
    ) -> Result<Stat, ZkError>;

    /// Replaces the ACL if the ACL version (`Stat::aversion`) is still `expected_acl_version`,
    /// else `BadVersion`. Needs `a`.
    async fn set_acl(
        &self,
        path: &str,
        acl: &[Acl],
        expected_acl_version: i32,
    ) -> Result<Stat, ZkError>;

    /// Deletes a znode without children if its data version is still `expected_version`.
    /// `NotEmpty` names the children. Needs `d` on the parent.
    async fn delete(&self, path: &str, expected_version: i32) -> Result<(), ZkError>;

    /// Deletes a znode and everything below it, children first. Nodes deleted concurrently by
    /// someone else are fine, and so is a `path` that is already gone; children added
    /// concurrently are listed and deleted again a few times before giving up with `NotEmpty`.
    /// Refuses the root.
    async fn delete_recursive(&self, path: &str) -> Result<(), ZkError>;
}

/// Opens a new, unshared session: connects and adds `conn.auth`, all within
/// `conn.connect_timeout`, else [`ZkError::Unreachable`]. A rejected auth is
/// [`ZkError::AuthFailed`]. Prefer [`ZkPool::get`], which shares sessions.
pub async fn connect(conn: &ZkConnection) -> Result<Arc<dyn ZnodeStore>, ZkError> {
    Ok(Arc::new(session::open(conn).await?))
}

/// Opens a new, unshared session for membership changes (see [`EnsembleMembership`]); the
/// connection's auth must include the super user for `reconfig`.
pub async fn connect_membership(
    conn: &ZkConnection,
) -> Result<Arc<dyn EnsembleMembership>, ZkError> {
    Ok(Arc::new(session::open(conn).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_debug_redacts_credentials() {
        let cases: &[(&str, ZkAuth)] = &[
            ("digest", ZkAuth::digest("admin", "hunter2")),
            (
                "other scheme",
                ZkAuth {
                    scheme: "ip".into(),
                    credentials: "hunter2".into(),
                },
            ),
        ];
        for (name, auth) in cases {
            for shown in [format!("{auth:?}"), format!("{auth:#?}")] {
                assert!(!shown.contains("hunter2"), "case {name}: {shown}");
                assert!(shown.contains("<redacted>"), "case {name}: {shown}");
                assert!(shown.contains(&auth.scheme), "case {name}: {shown}");
            }
        }
        // Nor through the structures that hold an auth.
        let mut conn = ZkConnection::new("127.0.0.1:2181");
        conn.auth.push(ZkAuth::digest("admin", "hunter2"));
        assert!(!format!("{conn:?}").contains("hunter2"));
        assert!(!format!("{:?}", ZkPool::new()).contains("hunter2"));
    }
}
