//! The metadata ZooKeeper keeps for every znode, mirrored so callers do not depend on the client
//! library's types.

use zookeeper_client as zk;

/// A znode's stat, field for field as ZooKeeper returns it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Stat {
    /// zxid of the change that created the znode.
    pub czxid: i64,
    /// zxid of the change that last modified the data.
    pub mzxid: i64,
    /// Creation time, milliseconds since the epoch.
    pub ctime: i64,
    /// Last data modification time, milliseconds since the epoch.
    pub mtime: i64,
    /// Data version: the number of changes to the data. Pass it to `set_data`/`delete`.
    pub version: i32,
    /// The number of changes to the children.
    pub cversion: i32,
    /// ACL version: the number of changes to the ACL. Pass it to `set_acl`.
    pub aversion: i32,
    /// Owning session id for an ephemeral znode, 0 otherwise.
    pub ephemeral_owner: i64,
    /// Length of the data in bytes.
    pub data_length: i32,
    /// Number of children.
    pub num_children: i32,
    /// zxid of the change that last modified the children.
    pub pzxid: i64,
}

impl From<zk::Stat> for Stat {
    fn from(s: zk::Stat) -> Stat {
        Stat {
            czxid: s.czxid,
            mzxid: s.mzxid,
            ctime: s.ctime,
            mtime: s.mtime,
            version: s.version,
            cversion: s.cversion,
            aversion: s.aversion,
            ephemeral_owner: s.ephemeral_owner,
            data_length: s.data_length,
            num_children: s.num_children,
            pzxid: s.pzxid,
        }
    }
}
