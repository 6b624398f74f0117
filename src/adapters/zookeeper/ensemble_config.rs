//! [`EnsembleConfig`]: the membership ZooKeeper has committed, as `/zookeeper/config` holds it
//! (`server.<id>=<spec>` lines and a `version=<hex>` line), and the [`EnsembleMembership`]
//! trait through which the provider reads and changes it (dynamic reconfiguration).

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::ZkError;

/// The committed ensemble configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnsembleConfig {
    /// Server id to its spec, e.g. `zk-0.zk-headless.data.svc.cluster.local:2888:3888:participant;0.0.0.0:2181`.
    pub servers: BTreeMap<u32, String>,
    /// The configuration version (hex, as ZooKeeper writes it), when present.
    pub version: Option<String>,
}

impl EnsembleConfig {
    /// Parses the text of `/zookeeper/config` (or a dynamic configuration file). Lines that are
    /// neither server lines nor the version are ignored; a malformed server id is an error.
    pub fn parse(text: &str) -> Result<EnsembleConfig, String> {
        let mut config = EnsembleConfig::default();
        for line in text.lines().map(str::trim) {
            if let Some(v) = line.strip_prefix("version=") {
                config.version = Some(v.to_string());
            } else if let Some(rest) = line.strip_prefix("server.") {
                let (id, spec) = rest
                    .split_once('=')
                    .ok_or_else(|| format!("server line without '=': {line:?}"))?;
                let id: u32 = id
                    .parse()
                    .map_err(|_| format!("server id is not a number: {line:?}"))?;
                config.servers.insert(id, spec.to_string());
            }
        }
        Ok(config)
    }

    /// Ids whose role is `participant` (the voters). A spec without a role is a participant.
    pub fn voters(&self) -> Vec<u32> {
        self.servers
            .iter()
            .filter(|(_, spec)| !spec.split(';').next().unwrap_or("").ends_with(":observer"))
            .map(|(id, _)| *id)
            .collect()
    }
}

/// Reading and changing the ensemble's membership. Changing it needs a session authenticated
/// as ZooKeeper's super user (or an ACL on `/zookeeper/config` granting write) and servers
/// running with `reconfigEnabled=true`.
#[async_trait]
pub trait EnsembleMembership: Send + Sync {
    /// The committed configuration (after a `sync`, so it is not older than the leader's).
    async fn ensemble_config(&self) -> Result<EnsembleConfig, ZkError>;

    /// One incremental reconfiguration: `joining` are `server.<id>=<spec>` lines, `leaving`
    /// server ids. Returns the configuration ZooKeeper committed. ZooKeeper refuses it (and
    /// nothing changes) when the new configuration would have no connected, synced quorum.
    async fn reconfig(
        &self,
        joining: &[String],
        leaving: &[u32],
    ) -> Result<EnsembleConfig, ZkError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_config_znode() {
        let text = "server.1=a:2888:3888:participant;0.0.0.0:2181\n\
                    server.2=b:2888:3888:participant;0.0.0.0:2181\n\
                    server.3=c:2888:3888:observer;0.0.0.0:2181\n\
                    version=100000003";
        let config = EnsembleConfig::parse(text).unwrap();
        assert_eq!(config.version.as_deref(), Some("100000003"));
        assert_eq!(config.servers.len(), 3);
        assert_eq!(config.voters(), vec![1, 2]);
        assert!(EnsembleConfig::parse("server.x=a:1:2").is_err());
        assert!(EnsembleConfig::parse("server.1").is_err());
        assert_eq!(
            EnsembleConfig::parse("").unwrap(),
            EnsembleConfig::default()
        );
    }
}
