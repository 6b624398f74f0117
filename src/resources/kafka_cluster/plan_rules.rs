//! What a plan refuses or warns about beyond single attributes: brokers removed without
//! `allow_broker_removal`, storage shrinking, a changed controller count, version downgrades
//! across a metadata version; and the form of a KRaft cluster id.

use base64::Engine as _;

use crate::resources::k8s_common::quantity::quantity_value;
use crate::tfvalue::{AttributePath, Diagnostic, Diagnostics};

use super::model::{KafkaCluster, Mode};
use super::version::{classify_change, VersionChange};

/// Checks an update from `prior` to `planned`.
pub fn check_update(
    prior: &KafkaCluster,
    planned: &KafkaCluster,
    allow_broker_removal: bool,
    diags: &mut Diagnostics,
) {
    if planned.brokers < prior.brokers && !allow_broker_removal {
        let removed: Vec<String> = (planned.brokers..prior.brokers)
            .map(|i| planned.pod_name(super::model::Role::Broker, u32::from(i)))
            .collect();
        diags.push(
            Diagnostic::error(
                "Removing brokers is refused",
                format!(
                    "brokers would go from {} to {}, removing {}. Partition replicas on those \
                     brokers would be lost or left under-replicated. Reassign their partitions \
                     to the remaining brokers first (kafka-reassign-partitions), then set \
                     allow_broker_removal = true for this change.",
                    prior.brokers,
                    planned.brokers,
                    removed.join(", ")
                ),
            )
            .at(AttributePath::attr("brokers")),
        );
    }
    if let (Some(before), Some(after)) = (
        quantity_value(&prior.storage_size),
        quantity_value(&planned.storage_size),
    ) {
        if after < before {
            diags.push(
                Diagnostic::error(
                    "Storage cannot shrink",
                    format!(
                        "storage.size would go from {} to {}: Kubernetes volumes only grow. Keep \
                         {} or more.",
                        prior.storage_size, planned.storage_size, prior.storage_size
                    ),
                )
                .at(AttributePath::attr("storage").then_attr("size")),
            );
        }
    }
    if let (Mode::Kraft { controllers: a }, Mode::Kraft { controllers: b }) =
        (&prior.mode, &planned.mode)
    {
        if a != b {
            diags.push(
                Diagnostic::error(
                    "Controller count cannot change",
                    format!(
                        "kraft.controllers would go from {a} to {b}. The controllers form a \
                         static voter set (controller.quorum.voters), which Kafka cannot change \
                         in place. Keep {a}."
                    ),
                )
                .at(AttributePath::attr("kraft").then_attr("controllers")),
            );
        }
    }
    if classify_change(prior.version, planned.version) == VersionChange::DowngradeAcrossMetadata {
        let what = match planned.mode {
            Mode::Kraft { .. } => "metadata.version",
            Mode::Zookeeper { .. } => "inter.broker.protocol.version",
        };
        diags.push(
            Diagnostic::warning(
                "Downgrade across a metadata version",
                format!(
                    "Kafka goes from {} to {}, an older release line. If the cluster has \
                     already moved its {what} to {}.{}, Kafka {} cannot read its metadata and \
                     the brokers will not start. Downgrade only if {what} is still at {}.{} or \
                     older.",
                    prior.version,
                    planned.version,
                    prior.version.major,
                    prior.version.minor,
                    planned.version,
                    planned.version.major,
                    planned.version.minor,
                ),
            )
            .at(AttributePath::attr("version")),
        );
    }
}

/// The attributes whose change replaces the cluster: the metadata mode (ZooKeeper to KRaft is
/// a migration this resource does not run) and the chroot (the metadata lives there).
pub fn replacing_change(prior: &KafkaCluster, planned: &KafkaCluster) -> Option<&'static str> {
    match (&prior.mode, &planned.mode) {
        (Mode::Kraft { .. }, Mode::Zookeeper { .. }) => Some("zookeeper"),
        (Mode::Zookeeper { .. }, Mode::Kraft { .. }) => Some("kraft"),
        (Mode::Zookeeper { chroot: a, .. }, Mode::Zookeeper { chroot: b, .. }) if a != b => {
            Some("zookeeper")
        }
        _ => None,
    }
}

/// A Kafka cluster id from 16 random bytes: base64url without padding, as Kafka's
/// `Uuid.toString()` writes it (22 characters). Like Kafka's own generator, never the
/// all-zero id and never one starting with '-' (command lines would read it as an option).
pub fn cluster_id_from_bytes(mut bytes: [u8; 16]) -> String {
    if bytes.iter().all(|b| *b == 0) {
        bytes[15] = 2;
    }
    // The first character is the top six bits of the first byte; 62 is '-'.
    if bytes[0] >> 2 == 62 {
        bytes[0] &= 0x7f;
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tfvalue::{Severity, Value};

    fn cluster(extra: Vec<(&str, Value)>) -> KafkaCluster {
        let mut attrs = vec![
            ("name", Value::from("events")),
            ("namespace", Value::from("data")),
            ("brokers", Value::int(3)),
            ("kraft", Value::object([("controllers", Value::int(3))])),
        ];
        attrs.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
        attrs.extend(extra);
        KafkaCluster::from_value(&Value::object(attrs)).unwrap()
    }

    fn summaries(
        prior: &KafkaCluster,
        planned: &KafkaCluster,
        allow: bool,
    ) -> Vec<(Severity, String)> {
        let mut d = Diagnostics::new();
        check_update(prior, planned, allow, &mut d);
        d.0.into_iter().map(|x| (x.severity, x.summary)).collect()
    }

    #[test]
    fn update_rules() {
        let base = cluster(vec![]);
        type Case<'a> = (&'a str, KafkaCluster, bool, Vec<(Severity, &'a str)>);
        let cases: Vec<Case<'_>> = vec![
            ("no change", base.clone(), false, vec![]),
            (
                "more brokers",
                cluster(vec![("brokers", Value::int(5))]),
                false,
                vec![],
            ),
            (
                "fewer brokers refused",
                cluster(vec![("brokers", Value::int(2))]),
                false,
                vec![(Severity::Error, "Removing brokers is refused")],
            ),
            (
                "fewer brokers allowed",
                cluster(vec![("brokers", Value::int(2))]),
                true,
                vec![],
            ),
            (
                "storage shrink",
                cluster(vec![(
                    "storage",
                    Value::object([("size", Value::from("50Gi"))]),
                )]),
                false,
                vec![(Severity::Error, "Storage cannot shrink")],
            ),
            (
                "storage grows",
                cluster(vec![(
                    "storage",
                    Value::object([("size", Value::from("1Ti"))]),
                )]),
                false,
                vec![],
            ),
            (
                "controllers change",
                cluster(vec![(
                    "kraft",
                    Value::object([("controllers", Value::int(5))]),
                )]),
                false,
                vec![(Severity::Error, "Controller count cannot change")],
            ),
            (
                "downgrade across metadata",
                cluster(vec![("version", Value::from("4.0.2"))]),
                false,
                vec![(Severity::Warning, "Downgrade across a metadata version")],
            ),
        ];
        for (case, planned, allow, want) in cases {
            let got = summaries(&base, &planned, allow);
            let want: Vec<(Severity, String)> =
                want.into_iter().map(|(s, m)| (s, m.to_string())).collect();
            assert_eq!(got, want, "case {case}");
        }
    }

    #[test]
    fn mode_and_chroot_changes_replace() {
        let kraft = cluster(vec![]);
        let zk = |chroot: &str| {
            let mut c = kraft.clone();
            c.mode = Mode::Zookeeper {
                connect_string: "zk:2181".into(),
                chroot: chroot.into(),
            };
            c
        };
        assert_eq!(replacing_change(&kraft, &zk("/a")), Some("zookeeper"));
        assert_eq!(replacing_change(&zk("/a"), &kraft), Some("kraft"));
        assert_eq!(replacing_change(&zk("/a"), &zk("/b")), Some("zookeeper"));
        assert_eq!(replacing_change(&zk("/a"), &zk("/a")), None);
    }

    #[test]
    fn cluster_ids() {
        let id = cluster_id_from_bytes([7; 16]);
        assert_eq!(id.len(), 22);
        assert_eq!(id, "BwcHBwcHBwcHBwcHBwcHBw");
        assert!(!cluster_id_from_bytes([0xf8; 16]).starts_with('-'));
        assert_ne!(cluster_id_from_bytes([0; 16]), "AAAAAAAAAAAAAAAAAAAAAA");
    }
}
