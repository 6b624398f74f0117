//! What the resources that run on Kubernetes share: the `resources` and `tolerations` schema
//! blocks ([`blocks`]); plan-time checks for names, quantities, labels and scheduling
//! ([`validate`]); reading typed models out of values ([`values`]); quantities by value
//! ([`quantity`]); scheduling settings ([`scheduling`]); and rendered objects with their
//! digests ([`objects`]). Resource-specific rendering stays with each resource
//! (`zookeeper_ensemble`, `kafka_cluster`).

pub mod blocks;
pub mod kube_io;
pub mod objects;
pub mod observe;
pub mod plan_notes;
pub mod quantity;
pub mod scheduling;
pub mod validate;
pub mod values;
