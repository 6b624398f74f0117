//! The zkkafka provider: its configuration, resources and functions.
//!
//! Start at [`ZkKafkaProvider`]. Each resource lives in its own module: [`znode`] and
//! [`znode_acl`] manage znodes through the ZooKeeper adapter; [`zk_common`] holds what they
//! share (ACL and connection blocks, validators, error diagnostics); [`provider_config`]
//! parses the provider's `kubernetes {}` and `zookeeper {}` blocks; [`functions`] holds
//! `provider::zkkafka::digest_id`. [`k8s_common`] holds what the Kubernetes-backed resources
//! share. [`zookeeper_ensemble`] and [`kafka_cluster`] manage ZooKeeper ensembles and Kafka clusters
//! on Kubernetes through the Kubernetes adapter.

pub mod functions;
pub mod k8s_common;
pub mod kafka_cluster;
pub mod provider_config;
pub mod zk_common;
pub mod znode;
pub mod znode_acl;
pub mod zookeeper_ensemble;

use std::any::Any;
use std::sync::Arc;

use async_trait::async_trait;

use crate::framework::{Function, Provider, Resource, Schema};
use crate::tfvalue::{Diagnostics, Value};

pub use provider_config::ProviderData;

/// The provider: `provider "zkkafka" { ... }`.
#[derive(Default)]
pub struct ZkKafkaProvider;

#[async_trait]
impl Provider for ZkKafkaProvider {
    fn schema(&self) -> Schema {
        provider_config::schema()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        provider_config::validate(config, diags);
    }

    async fn configure(
        &self,
        config: &Value,
        _terraform_version: &str,
        diags: &mut Diagnostics,
    ) -> Option<Arc<dyn Any + Send + Sync>> {
        let data = provider_config::configure(config, diags)?;
        Some(Arc::new(data))
    }

    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        vec![
            Arc::new(znode::ZnodeResource),
            Arc::new(znode_acl::ZnodeAclResource),
            Arc::new(zookeeper_ensemble::ZookeeperEnsembleResource),
            Arc::new(kafka_cluster::KafkaClusterResource),
        ]
    }

    fn functions(&self) -> Vec<Arc<dyn Function>> {
        vec![Arc::new(functions::DigestId)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::Block;

    /// Where under `at` an attribute or nested block has no description.
    fn undescribed(at: &str, block: &Block, missing: &mut Vec<String>) {
        for attribute in &block.attributes {
            if attribute.description.trim().is_empty() {
                missing.push(format!("{at}.{}", attribute.name));
            }
        }
        for nested in &block.blocks {
            let at = format!("{at}.{}", nested.type_name);
            if nested.block.description.trim().is_empty() {
                missing.push(at.clone());
            }
            undescribed(&at, &nested.block, missing);
        }
    }

    /// Descriptions are what editors show on hover and what generated docs list, so every
    /// attribute and block of the provider, its resources and data sources has one.
    #[test]
    fn every_attribute_and_block_has_a_description() {
        let provider = ZkKafkaProvider;
        let mut missing = Vec::new();
        undescribed("provider", &provider.schema().block, &mut missing);
        for resource in provider.resources() {
            undescribed(resource.type_name(), &resource.schema().block, &mut missing);
        }
        for data_source in provider.data_sources() {
            undescribed(
                data_source.type_name(),
                &data_source.schema().block,
                &mut missing,
            );
        }
        for function in provider.functions() {
            let signature = function.signature();
            for parameter in signature.parameters {
                if parameter.description.trim().is_empty() {
                    missing.push(format!("{}({})", function.name(), parameter.name));
                }
            }
        }
        assert!(missing.is_empty(), "no description: {missing:#?}");
    }
}
