//! zkkafka: a Terraform / OpenTofu provider for ZooKeeper ensembles and Kafka clusters on
//! Kubernetes, and for znodes and their ACLs.
//!
//! Where to start reading:
//! - [`plugin`]: transport only — the go-plugin handshake, mTLS, the gRPC services, and the
//!   conversion between generated protobuf types and native ones. Nothing else names protobuf.
//! - [`tfvalue`]: wire values and types, the msgpack and JSON codecs, attribute paths and
//!   diagnostics.
//! - [`framework`]: the resource trait, plan helpers, and [`framework::ProviderServer`], which
//!   answers each RPC.
//! - [`resources`]: one module per resource, data source and function.
//! - [`adapters`]: IO behind small traits (ZooKeeper today, Kubernetes next).

pub mod adapters;
pub mod framework;
pub mod plugin;
pub mod resources;
pub mod tfvalue;
