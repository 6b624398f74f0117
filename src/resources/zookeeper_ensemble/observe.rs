//! Drift detection on live objects is shared with the Kafka cluster: see
//! [`crate::resources::k8s_common::observe`].

pub use crate::resources::k8s_common::observe::*;
