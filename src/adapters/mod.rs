//! IO behind small traits, so `resources/` never talk to a server directly and can be tested
//! against fakes.
//!
//! - [`zookeeper`]: znodes and their ACLs through the [`zookeeper::ZnodeStore`] trait; start at
//!   [`zookeeper::ZkPool`], which hands out shared sessions.
//! - Kubernetes comes next.

pub mod zookeeper;
