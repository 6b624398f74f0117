//! [`ZkSession`]: the [`ZnodeStore`] backed by one live `zookeeper-client` session.
//!
//! Start at [`open`], which connects under a hard timeout and authenticates; then each trait
//! method is one or a few requests, each bounded by [`ZkSession::op_timeout`], with the client
//! library's errors turned into [`ZkError`]s that name the znode and the missing permission.

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use zookeeper_client as zk;

use super::path::{join, parent, validate_path};
use super::{
    Acl, EnsembleConfig, EnsembleMembership, Perms, Stat, ZkConnection, ZkError, ZnodeStore,
};

/// How many times `delete_recursive` lists and deletes again when someone keeps adding
/// children underneath while it works, before it gives up with `NotEmpty`.
const DELETE_RECURSIVE_ATTEMPTS: usize = 5;

/// Opens a session: connects (the client library retries the servers in the connect string
/// until the deadline, so an ensemble still starting up within the timeout is fine), then adds
/// each auth to the session. The whole thing is bounded by `conn.connect_timeout`.
pub(crate) async fn open(conn: &ZkConnection) -> Result<ZkSession, ZkError> {
    let unreachable = || ZkError::Unreachable {
        connect_string: conn.connect_string.clone(),
        timeout: conn.connect_timeout,
    };
    let connecting = async {
        let client = zk::Client::connector()
            .with_session_timeout(conn.session_timeout)
            .with_connection_timeout(per_server_timeout(conn))
            .connect(&conn.connect_string)
            .await
            .map_err(|source| match source {
                zk::Error::BadArguments(_) => ZkError::InvalidConnectString {
                    connect_string: conn.connect_string.clone(),
                    source,
                },
                _ => unreachable(),
            })?;
        for auth in &conn.auth {
            // The scheme alone goes into errors: the credentials are secrets.
            client
                .auth(&auth.scheme, auth.credentials.as_bytes())
                .await
                .map_err(|source| match source {
                    zk::Error::AuthFailed => ZkError::AuthFailed {
                        scheme: auth.scheme.clone(),
                    },
                    source => ZkError::Other {
                        op: "addauth",
                        path: "/".to_string(),
                        source,
                    },
                })?;
        }
        Ok(client)
    };
    let client = tokio::time::timeout(conn.connect_timeout, connecting)
        .await
        .map_err(|_| unreachable())??;
    tracing::debug!(
        connect_string = %conn.connect_string,
        session = %client.session_id(),
        schemes = ?conn.auth.iter().map(|a| a.scheme.as_str()).collect::<Vec<_>>(),
        "ZooKeeper session established"
    );
    Ok(ZkSession {
        schemes: conn
            .auth
            .iter()
            .map(|a| a.scheme.as_str())
            .collect::<Vec<_>>()
            .join(","),
        op_timeout: conn.session_timeout.max(Duration::from_secs(1)),
        client,
    })
}

/// What follows the chroot where a message names it as the znode `/` of a chrooted session.
pub const CHROOT_NOTE: &str = " (the chroot in the connect string)";

/// How long the client library waits on one server before it tries the next one, and later how
/// long a silent connection may stay before it is given up for another server. Its default, 2/5
/// of the session timeout (12 s for 30 s), is more than the whole 10 s connect timeout, so a
/// server that accepts connections but never answers (a paused or wedged process) would use up
/// the attempt when the library happens to try it first. The connect timeout is shared among
/// the servers instead (ZooKeeper's Java client shares its session timeout the same way when it
/// connects). The library uses the same value for a connection that goes silent later, which
/// the Java client allows 2/3 of the session timeout: so at least 3 s each, for a server busy
/// with a slow disk or a collection pause, and never more than the library's default.
fn per_server_timeout(conn: &ZkConnection) -> Duration {
    let hosts = conn.connect_string.split('/').next().unwrap_or_default();
    let servers = u32::try_from(hosts.split(',').count().max(1)).unwrap_or(u32::MAX);
    let default = conn.session_timeout * 2 / 5;
    (conn.connect_timeout / servers)
        .max(Duration::from_secs(3))
        .min(default)
}

/// One authenticated ZooKeeper session. Cheap to share behind an `Arc`: requests are pipelined
/// on the one connection.
#[derive(Debug)]
pub(crate) struct ZkSession {
    client: zk::Client,
    /// The auth schemes, comma-separated, for `AuthFailed` seen mid-session.
    schemes: String,
    /// Upper bound for any single request.
    op_timeout: Duration,
}

/// The operation being performed: it decides the error's wording and which permission on
/// which znode a `NoAuth` is about.
#[derive(Clone, Copy, Debug)]
enum Op {
    Get,
    GetAcl,
    Exists,
    Children,
    Create,
    SetData { expected: i32 },
    SetAcl { expected: i32 },
    Delete { expected: i32 },
    GetConfig,
    Reconfig,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Get => "get",
            Op::GetAcl => "getAcl",
            Op::Exists => "exists",
            Op::Children => "getChildren",
            Op::Create => "create",
            Op::SetData { .. } => "setData",
            Op::SetAcl { .. } => "setAcl",
            Op::Delete { .. } => "delete",
            Op::GetConfig => "getConfig",
            Op::Reconfig => "reconfig",
        }
    }

    /// The permission ZooKeeper checks, and on which znode: create and delete are checked
    /// against the parent's ACL, everything else against the znode's own.
    fn needs(self, path: &str) -> (Perms, String) {
        match self {
            Op::Get | Op::GetAcl | Op::Exists | Op::Children | Op::GetConfig => {
                (Perms::READ, path.to_string())
            }
            Op::SetData { .. } | Op::Reconfig => (Perms::WRITE, path.to_string()),
            Op::SetAcl { .. } => (Perms::ADMIN, path.to_string()),
            Op::Create => (Perms::CREATE, parent(path).to_string()),
            Op::Delete { .. } => (Perms::DELETE, parent(path).to_string()),
        }
    }
}

impl ZkSession {
    /// Whether the session can still serve requests. Expired, closed and auth-failed sessions
    /// never recover; a merely disconnected one is still reconnecting and counts as alive.
    pub(crate) fn is_alive(&self) -> bool {
        !self.client.state().is_terminated()
    }

    /// Runs one request under the operation timeout and turns its error into a [`ZkError`].
    async fn call<T>(
        &self,
        op: Op,
        path: &str,
        request: impl Future<Output = Result<T, zk::Error>>,
    ) -> Result<T, ZkError> {
        match tokio::time::timeout(self.op_timeout, request).await {
            Err(_) => Err(ZkError::Timeout {
                op: op.name(),
                path: path.to_string(),
                timeout: self.op_timeout,
            }),
            Ok(Ok(value)) => Ok(value),
            Ok(Err(source)) => Err(self.map_error(op, path, source)),
        }
    }

    fn map_error(&self, op: Op, path: &str, source: zk::Error) -> ZkError {
        let path_string = path.to_string();
        match source {
            // For create, a missing znode is the parent.
            zk::Error::NoNode if matches!(op, Op::Create) => ZkError::NoNode {
                path: self.shown(parent(path)),
            },
            zk::Error::NoNode => ZkError::NoNode { path: path_string },
            zk::Error::NodeExists => ZkError::NodeExists { path: path_string },
            zk::Error::BadVersion => match op {
                Op::SetData { expected } | Op::SetAcl { expected } | Op::Delete { expected } => {
                    ZkError::BadVersion {
                        path: path_string,
                        expected,
                    }
                }
                _ => ZkError::Other {
                    op: op.name(),
                    path: path_string,
                    source,
                },
            },
            zk::Error::NotEmpty => ZkError::NotEmpty {
                path: path_string,
                children: Vec::new(),
            },
            zk::Error::NoAuth => {
                let (needs, on) = op.needs(path);
                ZkError::NoAuth { path: on, needs }
            }
            zk::Error::InvalidAcl => ZkError::InvalidAcl { path: path_string },
            zk::Error::AuthFailed => ZkError::AuthFailed {
                scheme: self.schemes.clone(),
            },
            zk::Error::SessionExpired | zk::Error::ClientClosed => ZkError::SessionExpired,
            zk::Error::ConnectionLoss | zk::Error::Custom(_) => ZkError::ConnectionLost {
                op: op.name(),
                path: path_string,
                source,
            },
            zk::Error::ReconfigDisabled => ZkError::ReconfigDisabled,
            source => ZkError::Other {
                op: op.name(),
                path: path_string,
                source,
            },
        }
    }

    /// How to show a path in a message: the root of a chrooted session is the chroot, which
    /// the user knows from the connect string, not `/`.
    fn shown(&self, path: &str) -> String {
        let chroot = self.client.path();
        if path == "/" && chroot != "/" {
            format!("{chroot}{CHROOT_NOTE}")
        } else {
            path.to_string()
        }
    }

    /// Creates one znode; no parents, no retries.
    async fn create_one(&self, path: &str, data: &[u8], acl: &[Acl]) -> Result<Stat, ZkError> {
        let acl: Vec<zk::Acl> = acl.iter().map(zk::Acl::from).collect();
        let options = zk::CreateMode::Persistent.with_acls(zk::Acls::new(&acl));
        let (stat, _) = self
            .call(Op::Create, path, self.client.create(path, data, &options))
            .await?;
        Ok(stat.into())
    }

    /// Creates the missing ancestors of `path`, top-down, with `acl` and empty data. It first
    /// walks up with `exists` to the deepest existing ancestor, so ancestors that exist are never
    /// re-created (that would need create permission on their parents). An ancestor created
    /// concurrently by someone else is fine.
    async fn create_ancestors(&self, path: &str, acl: &[Acl]) -> Result<(), ZkError> {
        let mut missing = Vec::new();
        let mut ancestor = parent(path);
        while ancestor != "/" {
            match self.exists(ancestor).await {
                Ok(Some(_)) => break,
                // ZooKeeper 3.9 checks read permission on exists; a denial proves the znode is
                // there (a missing one answers NoNode without any check).
                Err(ZkError::NoAuth { .. }) => break,
                Ok(None) => {
                    missing.push(ancestor);
                    ancestor = parent(ancestor);
                }
                Err(err) => return Err(err),
            }
        }
        for ancestor in missing.into_iter().rev() {
            match self.create_one(ancestor, &[], acl).await {
                Ok(_) | Err(ZkError::NodeExists { .. }) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(())
    }

    /// `path` and all its descendants, parents before children.
    async fn subtree(&self, path: &str) -> Result<Vec<String>, ZkError> {
        let mut nodes = vec![path.to_string()];
        let mut next = 0;
        while next < nodes.len() {
            let node = nodes[next].clone();
            next += 1;
            // A node deleted while we walk simply has no children left to visit.
            if let Some(children) = self.children(&node).await? {
                nodes.extend(children.iter().map(|child| join(&node, child)));
            }
        }
        Ok(nodes)
    }
}

impl ZkSession {
    /// One pass of `delete_recursive`: lists the subtree, then deletes it leaves first. Returns
    /// the `NotEmpty` error when someone added a child meanwhile, so the caller can try again.
    async fn delete_subtree_once(&self, path: &str) -> Result<Option<ZkError>, ZkError> {
        let nodes = self.subtree(path).await?;
        // Children come after their parents in `nodes`, so reversed they go first.
        for node in nodes.iter().rev() {
            match self.delete(node, -1).await {
                // Someone else deleted it first: the goal is reached anyway.
                Ok(()) | Err(ZkError::NoNode { .. }) => {}
                Err(err @ ZkError::NotEmpty { .. }) => return Ok(Some(err)),
                Err(err) => return Err(err),
            }
        }
        Ok(None)
    }
}

fn check_path(path: &str) -> Result<(), ZkError> {
    validate_path(path).map_err(|reason| ZkError::InvalidPath {
        path: path.to_string(),
        reason,
    })
}

#[async_trait]
impl ZnodeStore for ZkSession {
    async fn get(&self, path: &str) -> Result<Option<(Vec<u8>, Stat)>, ZkError> {
        check_path(path)?;
        match self.call(Op::Get, path, self.client.get_data(path)).await {
            Ok((data, stat)) => Ok(Some((data, stat.into()))),
            Err(ZkError::NoNode { .. }) => Ok(None),
            Err(err) => Err(err),
        }
    }

    async fn get_acl(&self, path: &str) -> Result<Option<(Vec<Acl>, Stat)>, ZkError> {
        check_path(path)?;
        match self.call(Op::GetAcl, path, self.client.get_acl(path)).await {
            Ok((acl, stat)) => Ok(Some((acl.iter().map(Acl::from).collect(), stat.into()))),
            Err(ZkError::NoNode { .. }) => Ok(None),
            Err(err) => Err(err),
        }
    }

    async fn exists(&self, path: &str) -> Result<Option<Stat>, ZkError> {
        check_path(path)?;
        Ok(self
            .call(Op::Exists, path, self.client.check_stat(path))
            .await?
            .map(Stat::from))
    }

    async fn children(&self, path: &str) -> Result<Option<Vec<String>>, ZkError> {
        check_path(path)?;
        match self
            .call(Op::Children, path, self.client.list_children(path))
            .await
        {
            Ok(mut children) => {
                // ZooKeeper lists children in no particular order; sort so plans are stable.
                children.sort();
                Ok(Some(children))
            }
            Err(ZkError::NoNode { .. }) => Ok(None),
            Err(err) => Err(err),
        }
    }

    async fn create(
        &self,
        path: &str,
        data: &[u8],
        acl: &[Acl],
        create_parents: bool,
        parent_acl: &[Acl],
    ) -> Result<Stat, ZkError> {
        check_path(path)?;
        if path == "/" {
            return Err(ZkError::NodeExists {
                path: self.shown(path),
            });
        }
        match self.create_one(path, data, acl).await {
            Err(ZkError::NoNode { .. }) if create_parents => {
                self.create_ancestors(path, parent_acl).await?;
                self.create_one(path, data, acl).await
            }
            result => result,
        }
    }

    async fn set_data(
        &self,
        path: &str,
        data: &[u8],
        expected_version: i32,
    ) -> Result<Stat, ZkError> {
        check_path(path)?;
        let op = Op::SetData {
            expected: expected_version,
        };
        let stat = self
            .call(
                op,
                path,
                self.client.set_data(path, data, Some(expected_version)),
            )
            .await?;
        Ok(stat.into())
    }

    async fn set_acl(
        &self,
        path: &str,
        acl: &[Acl],
        expected_acl_version: i32,
    ) -> Result<Stat, ZkError> {
        check_path(path)?;
        let acl: Vec<zk::Acl> = acl.iter().map(zk::Acl::from).collect();
        if acl.is_empty() {
            // ZooKeeper would reject it too; say so before sending.
            return Err(ZkError::InvalidAcl {
                path: path.to_string(),
            });
        }
        let op = Op::SetAcl {
            expected: expected_acl_version,
        };
        let stat = self
            .call(
                op,
                path,
                self.client.set_acl(path, &acl, Some(expected_acl_version)),
            )
            .await?;
        Ok(stat.into())
    }

    async fn delete(&self, path: &str, expected_version: i32) -> Result<(), ZkError> {
        check_path(path)?;
        if path == "/" {
            return Err(ZkError::InvalidPath {
                path: path.to_string(),
                reason: "the root znode cannot be deleted".into(),
            });
        }
        let op = Op::Delete {
            expected: expected_version,
        };
        match self
            .call(op, path, self.client.delete(path, Some(expected_version)))
            .await
        {
            Err(ZkError::NotEmpty { path, .. }) => {
                // Name the children in the message; best effort, the error stands either way.
                let children = self
                    .children(&path)
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or_default();
                Err(ZkError::NotEmpty { path, children })
            }
            result => result,
        }
    }

    async fn delete_recursive(&self, path: &str) -> Result<(), ZkError> {
        check_path(path)?;
        if path == "/" {
            return Err(ZkError::InvalidPath {
                path: path.to_string(),
                reason: "refusing to delete everything under the root znode".into(),
            });
        }
        let mut last_error = None;
        for _ in 0..DELETE_RECURSIVE_ATTEMPTS {
            match self.delete_subtree_once(path).await? {
                None => return Ok(()),
                Some(not_empty) => last_error = Some(not_empty),
            }
        }
        Err(last_error.unwrap_or(ZkError::NotEmpty {
            path: path.to_string(),
            children: Vec::new(),
        }))
    }
}

/// Where ZooKeeper keeps the committed ensemble configuration.
const CONFIG_ZNODE: &str = "/zookeeper/config";

#[async_trait]
impl EnsembleMembership for ZkSession {
    async fn ensemble_config(&self) -> Result<EnsembleConfig, ZkError> {
        // Reads may be served by a lagging follower: sync first so the answer is current.
        self.call(Op::GetConfig, CONFIG_ZNODE, self.client.sync(CONFIG_ZNODE))
            .await
            .or_else(|e| match e {
                // A chrooted session cannot name /zookeeper/config for sync; read anyway.
                ZkError::NoNode { .. } => Ok(()),
                e => Err(e),
            })?;
        let (data, _) = self
            .call(Op::GetConfig, CONFIG_ZNODE, self.client.get_config())
            .await?;
        parse_config(&data)
    }

    async fn reconfig(
        &self,
        joining: &[String],
        leaving: &[u32],
    ) -> Result<EnsembleConfig, ZkError> {
        let leaving: Vec<String> = leaving.iter().map(u32::to_string).collect();
        let update = zk::EnsembleUpdate::Incremental {
            joinings: joining.iter().map(String::as_str),
            leavings: leaving.iter().map(String::as_str),
        };
        let (data, _) = self
            .call(
                Op::Reconfig,
                CONFIG_ZNODE,
                self.client.update_ensemble(update, None),
            )
            .await?;
        parse_config(&data)
    }
}

fn parse_config(data: &[u8]) -> Result<EnsembleConfig, ZkError> {
    EnsembleConfig::parse(&String::from_utf8_lossy(data))
        .map_err(|reason| ZkError::BadEnsembleConfig { reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connect_timeout_is_shared_among_the_servers() {
        let secs = Duration::from_secs;
        let conn = |connect_string: &str, session: u64, connect: u64| ZkConnection {
            session_timeout: secs(session),
            connect_timeout: secs(connect),
            ..ZkConnection::new(connect_string)
        };
        let cases = [
            (
                "one server: the whole connect timeout",
                conn("a:1", 30, 10),
                secs(10),
            ),
            (
                "two servers: half each",
                conn("a:1,b:1/chroot", 30, 10),
                secs(5),
            ),
            (
                "many servers: at least 3 s each",
                conn("a:1,b:1,c:1,d:1,e:1,f:1", 30, 10),
                secs(3),
            ),
            (
                "never more than the library's default",
                conn("a:1", 30, 60),
                secs(12),
            ),
            (
                "a short session bounds it",
                conn("a:1,b:1", 3, 10),
                Duration::from_millis(1200),
            ),
        ];
        for (name, conn, want) in cases {
            assert_eq!(per_server_timeout(&conn), want, "{name}");
        }
    }
}
