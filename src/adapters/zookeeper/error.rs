//! [`ZkError`]: every way a ZooKeeper call can fail, with messages written for the practitioner
//! reading a `terraform plan`. Credentials never appear in any of them.

use std::time::Duration;

use zookeeper_client as zk;

use super::Perms;

/// A failed ZooKeeper call. Paths are relative to the connection's chroot, as the user wrote
/// them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ZkError {
    #[error("znode {path} does not exist")]
    NoNode { path: String },

    #[error("znode {path} already exists")]
    NodeExists { path: String },

    #[error(
        "znode {path} changed since it was read (expected version {expected}); someone else \
         modified it — refresh and plan again"
    )]
    BadVersion { path: String, expected: i32 },

    #[error(
        "znode {path} has children ({}); delete them first, or ask for a recursive delete",
        list_children(children)
    )]
    NotEmpty { path: String, children: Vec<String> },

    /// `needs` is the permission the operation requires, and `path` the znode it is checked on:
    /// the parent for create and delete, the znode itself otherwise.
    #[error("permission denied on {path}: needs {needs} ({})", needs.describe())]
    NoAuth { path: String, needs: Perms },

    #[error(
        "ZooKeeper rejected the ACL for {path} as invalid: check that it is not empty, that \
         digest ids look like user:base64hash, that ip ids are addresses or CIDR ranges, \
         that scheme \"auth\" is only used when the connection is authenticated, and that \
         sasl and x509 entries are only used where the server enables those providers"
    )]
    InvalidAcl { path: String },

    #[error(
        "ZooKeeper rejected authentication with scheme \"{scheme}\"; check the scheme and the \
         credentials configured for this connection"
    )]
    AuthFailed { scheme: String },

    #[error("could not connect to ZooKeeper at {connect_string} within {}s", timeout.as_secs_f64())]
    Unreachable {
        connect_string: String,
        timeout: Duration,
    },

    #[error("the ZooKeeper session expired or was closed; run the command again to reconnect")]
    SessionExpired,

    #[error("ZooKeeper did not answer {op} on {path} within {}s", timeout.as_secs_f64())]
    Timeout {
        op: &'static str,
        path: String,
        timeout: Duration,
    },

    /// Terraform sent StopProvider (Ctrl-C) while the call waited for ZooKeeper.
    #[error("interrupted before ZooKeeper answered, because Terraform asked the provider to stop")]
    Interrupted,

    #[error("ZooKeeper refused a membership change: the servers run without reconfigEnabled=true")]
    ReconfigDisabled,

    #[error("ZooKeeper returned an ensemble configuration this provider cannot read: {reason}")]
    BadEnsembleConfig { reason: String },

    #[error("invalid znode path {path:?}: {reason}")]
    InvalidPath { path: String, reason: String },

    #[error("invalid ZooKeeper connect string \"{connect_string}\": {source}")]
    InvalidConnectString {
        connect_string: String,
        #[source]
        source: zk::Error,
    },

    /// The connection failed while the call waited: the server closed it, or stopped
    /// answering for the client's connection timeout.
    #[error(
        "the connection to ZooKeeper was lost during {op} on {path} ({source}). The server may be \
         restarting, overloaded or out of reach; it also drops a request larger than its \
         jute.maxbuffer (default 1048575 bytes). Run the command again"
    )]
    ConnectionLost {
        op: &'static str,
        path: String,
        #[source]
        source: zk::Error,
    },

    #[error("ZooKeeper {op} on {path} failed: {source}")]
    Other {
        op: &'static str,
        path: String,
        #[source]
        source: zk::Error,
    },
}

impl ZkError {
    /// Whether a write that failed this way may still have been carried out: the request may
    /// have reached the server, and its answer was lost (connection loss, no answer in time,
    /// Ctrl-C). Every other error is an answer, or a refusal before sending, and means the
    /// write did not happen.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            ZkError::Timeout { .. } | ZkError::Interrupted | ZkError::ConnectionLost { .. } => true,
            ZkError::Other { source, .. } => !matches!(
                source,
                zk::Error::NoHosts
                    | zk::Error::BadArguments(_)
                    | zk::Error::NoNode
                    | zk::Error::NoAuth
                    | zk::Error::BadVersion
                    | zk::Error::NoChildrenForEphemerals
                    | zk::Error::NodeExists
                    | zk::Error::NotEmpty
                    | zk::Error::SessionExpired
                    | zk::Error::InvalidAcl
                    | zk::Error::AuthFailed
                    | zk::Error::SessionMoved
                    | zk::Error::NotReadOnly
                    | zk::Error::NoWatcher
                    | zk::Error::QuotaExceeded
                    | zk::Error::Throttled
                    | zk::Error::MarshallingError
                    | zk::Error::Unimplemented
                    | zk::Error::ReconfigDisabled
                    | zk::Error::UnexpectedErrorCode(_)
                    | zk::Error::ClientClosed
            ),
            _ => false,
        }
    }
}

/// Names at most five children, so a huge subtree does not flood the plan output.
fn list_children(children: &[String]) -> String {
    const SHOWN: usize = 5;
    if children.is_empty() {
        return "unknown".to_string();
    }
    let mut listed = children
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if children.len() > SHOWN {
        listed.push_str(&format!(" and {} more", children.len() - SHOWN));
    }
    listed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_well() {
        let cases: Vec<(&str, ZkError, &str)> =
            vec![
            (
                "no auth names the permission",
                ZkError::NoAuth { path: "/locked".into(), needs: Perms::READ },
                "permission denied on /locked: needs r (read)",
            ),
            (
                "bad version tells what to do",
                ZkError::BadVersion { path: "/a".into(), expected: 3 },
                "znode /a changed since it was read (expected version 3); someone else modified \
                 it — refresh and plan again",
            ),
            (
                "not empty lists a few children",
                ZkError::NotEmpty {
                    path: "/a".into(),
                    children: (1..=7).map(|i| format!("c{i}")).collect(),
                },
                "znode /a has children (c1, c2, c3, c4, c5 and 2 more); delete them first, or \
                 ask for a recursive delete",
            ),
            (
                "unreachable gives the timeout in seconds",
                ZkError::Unreachable {
                    connect_string: "127.0.0.1:1/events".into(),
                    timeout: Duration::from_millis(1500),
                },
                "could not connect to ZooKeeper at 127.0.0.1:1/events within 1.5s",
            ),
        ];
        for (name, err, want) in cases {
            assert_eq!(err.to_string(), want, "case {name}");
        }
    }

    #[test]
    fn only_lost_answers_leave_the_outcome_unknown() {
        let other = |source| ZkError::Other {
            op: "create",
            path: "/a".into(),
            source,
        };
        assert!(ZkError::Interrupted.outcome_unknown());
        assert!(ZkError::Timeout {
            op: "create",
            path: "/a".into(),
            timeout: Duration::from_secs(1)
        }
        .outcome_unknown());
        assert!(other(zk::Error::ConnectionLoss).outcome_unknown());
        assert!(ZkError::ConnectionLost {
            op: "create",
            path: "/a".into(),
            source: zk::Error::ConnectionLoss
        }
        .outcome_unknown());
        assert!(other(zk::Error::Timeout).outcome_unknown());
        assert!(!other(zk::Error::Throttled).outcome_unknown());
        assert!(!ZkError::NodeExists { path: "/a".into() }.outcome_unknown());
        assert!(!ZkError::NoAuth {
            path: "/".into(),
            needs: Perms::CREATE
        }
        .outcome_unknown());
    }
}
