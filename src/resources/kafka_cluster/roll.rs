//! The order pods restart in when their configuration changes, and whether a broker may
//! restart now. Pure: the lifecycle gathers readiness, the active controller and partition
//! state, and asks these functions.
//!
//! Order: pods that are not ready first (they serve nothing, so restarting them costs
//! nothing and may be the fix); then ready controllers, the active controller last (each
//! restart of the active one forces an election); then ready brokers, by ordinal.

use super::model::Role;

/// One pod as the lifecycle observed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodState {
    pub role: Role,
    pub ordinal: u32,
    pub ready: bool,
    /// KRaft: this controller is the quorum leader (the active controller).
    pub active_controller: bool,
}

/// The restart order of `pods` (all of them need the restart).
pub fn roll_order(pods: &[PodState]) -> Vec<PodState> {
    let mut out = pods.to_vec();
    out.sort_by_key(|p| {
        let phase = match (p.ready, p.role) {
            (false, _) => 0,
            (true, Role::Controller) => 1,
            (true, Role::Broker) => 2,
        };
        (phase, p.role, p.active_controller, p.ordinal)
    });
    out
}

/// What a KRaft controller's log says of its role: `Some(true)` when its latest Raft state
/// transition (`Completed transition to <state> from <state>`, logged at INFO by Kafka's
/// QuorumState) is to `Leader`, i.e. it is the active controller; `Some(false)` for any other
/// latest state; `None` when the log holds no transition (it rotated away, or the node has not
/// joined yet).
pub fn active_controller_in_log(log: &str) -> Option<bool> {
    const MARK: &str = "Completed transition to ";
    let at = log.rfind(MARK)?;
    Some(log[at + MARK.len()..].starts_with("Leader"))
}

/// One partition's replication state, as the admin API reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionState {
    pub topic: String,
    pub partition: u32,
    /// Broker ids of the in-sync replicas.
    pub isr: Vec<u32>,
    /// The topic's effective `min.insync.replicas`.
    pub min_insync_replicas: u32,
}

/// The partitions a restart of `broker` would take below `min.insync.replicas` (producers with
/// acks=all would fail on them): empty means the restart is safe now.
pub fn restart_blockers(broker: u32, partitions: &[PartitionState]) -> Vec<&PartitionState> {
    partitions
        .iter()
        .filter(|p| p.isr.contains(&broker))
        .filter(|p| (p.isr.len() as u64).saturating_sub(1) < u64::from(p.min_insync_replicas))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(role: Role, ordinal: u32, ready: bool, active: bool) -> PodState {
        PodState {
            role,
            ordinal,
            ready,
            active_controller: active,
        }
    }

    fn names(order: &[PodState]) -> Vec<String> {
        order
            .iter()
            .map(|p| format!("{}-{}", p.role.as_str(), p.ordinal))
            .collect()
    }

    #[test]
    fn active_controller_from_the_log() {
        let log = "[2026] INFO [RaftManager id=1000] Completed transition to CandidateState(x) from Unattached(y) (org.apache.kafka.raft.QuorumState)\n\
                   [2026] INFO [RaftManager id=1000] Completed transition to Leader(localVoterNode=z, epoch=1) from CandidateState(x) (org.apache.kafka.raft.QuorumState)\n\
                   [2026] INFO something else\n";
        assert_eq!(active_controller_in_log(log), Some(true));
        let resigned = format!("{log}[2026] INFO [RaftManager id=1000] Completed transition to ResignedState(e=2) from Leader(epoch=1) (x)\n");
        assert_eq!(active_controller_in_log(&resigned), Some(false));
        assert_eq!(active_controller_in_log("[2026] INFO started\n"), None);
    }

    #[test]
    fn orders() {
        use Role::{Broker as B, Controller as C};
        let cases: Vec<(&str, Vec<PodState>, Vec<&str>)> = vec![
            (
                "controllers before brokers, active controller last of them",
                vec![
                    pod(B, 0, true, false),
                    pod(B, 1, true, false),
                    pod(C, 0, true, true),
                    pod(C, 1, true, false),
                    pod(C, 2, true, false),
                ],
                vec![
                    "controller-1",
                    "controller-2",
                    "controller-0",
                    "broker-0",
                    "broker-1",
                ],
            ),
            (
                "unready pods first, whatever their role",
                vec![
                    pod(C, 0, true, false),
                    pod(C, 1, true, true),
                    pod(B, 0, true, false),
                    pod(B, 2, false, false),
                    pod(C, 2, false, false),
                ],
                vec![
                    "controller-2",
                    "broker-2",
                    "controller-0",
                    "controller-1",
                    "broker-0",
                ],
            ),
            (
                "ZooKeeper mode: brokers by ordinal, unready first",
                vec![
                    pod(B, 0, true, false),
                    pod(B, 1, true, false),
                    pod(B, 2, false, false),
                ],
                vec!["broker-2", "broker-0", "broker-1"],
            ),
            ("nothing to roll", vec![], vec![]),
        ];
        for (case, pods, want) in cases {
            assert_eq!(names(&roll_order(&pods)), want, "case {case}");
        }
    }

    #[test]
    fn restart_safety() {
        let p = |partition, isr: &[u32], min| PartitionState {
            topic: "events".into(),
            partition,
            isr: isr.to_vec(),
            min_insync_replicas: min,
        };
        let healthy = [p(0, &[0, 1, 2], 2), p(1, &[1, 2, 0], 2)];
        assert!(restart_blockers(0, &healthy).is_empty());
        let degraded = [p(0, &[0, 1], 2), p(1, &[1, 2, 0], 2)];
        assert_eq!(restart_blockers(0, &degraded).len(), 1);
        assert!(
            restart_blockers(2, &degraded).is_empty(),
            "2 is not in partition 0's ISR"
        );
        assert!(restart_blockers(5, &healthy).is_empty());
    }
}
