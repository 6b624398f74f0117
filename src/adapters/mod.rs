//! IO behind small traits, so `resources/` never talk to a server directly and can be tested
//! against fakes.
//!
//! - [`zookeeper`]: znodes and their ACLs through the [`zookeeper::ZnodeStore`] trait; start at
//!   [`zookeeper::ZkPool`], which hands out shared sessions.
//! - [`kubernetes`]: objects through the [`kubernetes::ObjectStore`] trait (server-side apply,
//!   get, delete, list); start at [`kubernetes::KubeConnector`], which builds the shared client.

pub mod kubernetes;
pub mod zookeeper;
