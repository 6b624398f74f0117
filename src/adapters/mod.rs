//! IO behind small traits: ZooKeeper (znodes, ACLs), Kubernetes next.
pub mod zookeeper;
