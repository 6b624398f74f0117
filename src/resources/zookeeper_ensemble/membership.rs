//! Membership changes and roll order, as pure plans the provider (and the quorum harness in
//! tests/ensemble_quorum.rs) executes step by step. See docs/guides/ensemble-scaling.md.
//!
//! The rules: the voting membership changes by exactly one server per committed
//! reconfiguration, so any majority of the old configuration intersects any majority of the
//! new one and two quorums can never coexist. To grow, a member is started first (it follows
//! the leader as a non-voting learner) and then reconfigured in; to shrink, a member is
//! reconfigured out first and then stopped. Pods are StatefulSet ordinals, so members are
//! added with increasing and removed with decreasing ids.

use std::collections::BTreeSet;

/// What the ensemble looks like now: how many pods the StatefulSet runs (ids `1..=pods`) and
/// which ids ZooKeeper's committed configuration lists as voters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    pub pods: u8,
    pub voters: BTreeSet<u8>,
}

impl Membership {
    /// A settled ensemble of `n` members: `n` pods, all voting.
    pub fn settled(n: u8) -> Membership {
        Membership {
            pods: n,
            voters: (1..=n).collect(),
        }
    }
}

/// One step; each is finished (and checked) before the next starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MembershipStep {
    /// Set the StatefulSet to `pods` replicas (seed membership rendered for `pods` members), so
    /// member `id` (= `pods`) starts with an empty volume; wait until it serves as a learner of
    /// the current leader.
    StartMember { id: u8, pods: u8 },
    /// `reconfig` joining `server.<id>=...`; wait until the committed configuration lists it.
    AddVoter { id: u8 },
    /// `reconfig` leaving `<id>`; wait until the committed configuration no longer lists it.
    RemoveVoter { id: u8 },
    /// Set the StatefulSet to `pods` replicas, stopping member `id` (= `pods + 1`); its volume
    /// claim is deleted with it.
    StopMember { id: u8, pods: u8 },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MembershipError {
    #[error("an ensemble has 1 to 9 members; asked for {0}")]
    OutOfRange(u8),
    #[error(
        "the committed configuration has no voter among the members that would remain \
         (voters {voters:?}, target 1..={desired}); the ensemble needs manual repair"
    )]
    NoSurvivingVoter { voters: Vec<u8>, desired: u8 },
}

/// The steps from `current` to a settled ensemble of `desired` members. It also converges from
/// the half-done states an interrupted apply leaves (a started member not yet voting, a
/// removed voter whose pod still runs).
pub fn plan_membership(
    current: &Membership,
    desired: u8,
) -> Result<Vec<MembershipStep>, MembershipError> {
    if !(1..=9).contains(&desired) {
        return Err(MembershipError::OutOfRange(desired));
    }
    if !current.voters.iter().any(|id| *id <= desired) {
        return Err(MembershipError::NoSurvivingVoter {
            voters: current.voters.iter().copied().collect(),
            desired,
        });
    }
    let mut steps = Vec::new();
    let mut pods = current.pods;
    // Shrink first, highest id first: out of the configuration, then stop.
    let highest = current.voters.iter().copied().max().unwrap_or(0).max(pods);
    for id in (desired + 1..=highest).rev() {
        if current.voters.contains(&id) {
            steps.push(MembershipStep::RemoveVoter { id });
        }
        if id == pods {
            pods -= 1;
            steps.push(MembershipStep::StopMember { id, pods });
        }
    }
    // Then grow, lowest id first: start, then into the configuration.
    for id in 1..=desired {
        if id > pods {
            pods = id;
            steps.push(MembershipStep::StartMember { id, pods });
        }
        if !current.voters.contains(&id) {
            steps.push(MembershipStep::AddVoter { id });
        }
    }
    Ok(steps)
}

/// What a member reports through `srvr`/`mntr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Leader,
    Follower,
    Observer,
    /// Not answering, or answering "not currently serving requests".
    NotServing,
}

impl Role {
    /// Reads the `Mode:` line of a `srvr` answer (or `zk_server_state` of `mntr`).
    pub fn from_four_letter_word(answer: &str) -> Role {
        let mode = answer.lines().find_map(|l| {
            l.strip_prefix("Mode:")
                .or_else(|| l.strip_prefix("zk_server_state"))
                .map(str::trim)
        });
        match mode {
            Some("leader") => Role::Leader,
            Some("follower") => Role::Follower,
            Some("observer") => Role::Observer,
            _ => Role::NotServing,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RollError {
    #[error("members {0:?} all report being leader; refusing to restart anything until one leads")]
    SeveralLeaders(Vec<u8>),
}

/// The order to restart members in, one at a time (each must serve again before the next):
/// members not serving first (restarting them costs nothing), then observers and followers
/// from the highest id down, the leader last, so leadership moves once.
pub fn roll_order(members: &[(u8, Role)]) -> Result<Vec<u8>, RollError> {
    let leaders: Vec<u8> = members
        .iter()
        .filter(|(_, r)| *r == Role::Leader)
        .map(|(id, _)| *id)
        .collect();
    if leaders.len() > 1 {
        return Err(RollError::SeveralLeaders(leaders));
    }
    let rank = |r: Role| match r {
        Role::NotServing => 0,
        Role::Observer => 1,
        Role::Follower => 2,
        Role::Leader => 3,
    };
    let mut order: Vec<(u8, Role)> = members.to_vec();
    order.sort_by(|(a, ra), (b, rb)| rank(*ra).cmp(&rank(*rb)).then(b.cmp(a)));
    Ok(order.into_iter().map(|(id, _)| id).collect())
}

/// What a member's log says of its role: `Some(true)` when its latest peer state change
/// (`Peer state changed: <state>`, logged at INFO by ZooKeeper's QuorumPeer: `looking`,
/// `leading - discovery`, `following - broadcast`, ...) is to leading; `Some(false)` for any
/// other latest state; `None` when the log holds none.
pub fn leader_in_log(log: &str) -> Option<bool> {
    const MARK: &str = "Peer state changed: ";
    let at = log.rfind(MARK)?;
    Some(log[at + MARK.len()..].starts_with("leading"))
}

/// Smallest majority of `n` voters.
pub fn quorum(n: usize) -> usize {
    n / 2 + 1
}

/// True when every majority of `a` shares a member with every majority of `b`: a reconfiguration
/// from `a` to `b` cannot produce two quorums.
pub fn majorities_intersect(a: &BTreeSet<u8>, b: &BTreeSet<u8>) -> bool {
    let common = a.intersection(b).count();
    // Disjoint majorities exist iff both fit outside each other's share of the common part.
    let (only_a, only_b) = (a.len() - common, b.len() - common);
    let (qa, qb) = (quorum(a.len()), quorum(b.len()));
    // Put as much of each majority as possible outside the common part; the rest must share
    // the common part without overlap.
    qa.saturating_sub(only_a) + qb.saturating_sub(only_b) > common
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leader_from_the_log() {
        let log =
            "INFO Peer state changed: looking\nINFO Peer state changed: leading - discovery\n\
                   INFO Peer state changed: leading - broadcast\nINFO other\n";
        assert_eq!(leader_in_log(log), Some(true));
        let lost = format!("{log}INFO Peer state changed: looking\n");
        assert_eq!(leader_in_log(&lost), Some(false));
        assert_eq!(
            leader_in_log("INFO Peer state changed: following - broadcast\n"),
            Some(false)
        );
        assert_eq!(leader_in_log("INFO starting\n"), None);
    }
    use MembershipStep::*;

    /// Applies steps to a membership, checking each step's preconditions and the quorum
    /// invariant, and returns the final membership.
    fn simulate(start: &Membership, steps: &[MembershipStep]) -> Membership {
        let mut m = start.clone();
        for step in steps {
            let before = m.voters.clone();
            match *step {
                StartMember { id, pods } => {
                    assert_eq!((id, pods), (m.pods + 1, m.pods + 1), "{step:?}");
                    m.pods = pods;
                }
                AddVoter { id } => {
                    assert!(id <= m.pods, "{step:?}: member must run before it votes");
                    assert!(m.voters.insert(id), "{step:?}");
                }
                RemoveVoter { id } => {
                    assert!(m.voters.remove(&id), "{step:?}");
                    assert!(!m.voters.is_empty(), "{step:?}");
                }
                StopMember { id, pods } => {
                    assert_eq!((id, pods), (m.pods, m.pods - 1), "{step:?}");
                    assert!(
                        !m.voters.contains(&id),
                        "{step:?}: a voter is never stopped"
                    );
                    m.pods = pods;
                }
            }
            let changed = before.symmetric_difference(&m.voters).count();
            assert!(changed <= 1, "{step:?} changes {changed} voters");
            assert!(
                majorities_intersect(&before, &m.voters),
                "{step:?}: two quorums possible"
            );
        }
        m
    }

    #[test]
    fn scaling_plans() {
        let cases: &[(&str, u8, u8, &[MembershipStep])] = &[
            (
                "1 to 3",
                1,
                3,
                &[
                    StartMember { id: 2, pods: 2 },
                    AddVoter { id: 2 },
                    StartMember { id: 3, pods: 3 },
                    AddVoter { id: 3 },
                ],
            ),
            (
                "3 to 5",
                3,
                5,
                &[
                    StartMember { id: 4, pods: 4 },
                    AddVoter { id: 4 },
                    StartMember { id: 5, pods: 5 },
                    AddVoter { id: 5 },
                ],
            ),
            (
                "5 to 3",
                5,
                3,
                &[
                    RemoveVoter { id: 5 },
                    StopMember { id: 5, pods: 4 },
                    RemoveVoter { id: 4 },
                    StopMember { id: 4, pods: 3 },
                ],
            ),
            (
                "3 to 1",
                3,
                1,
                &[
                    RemoveVoter { id: 3 },
                    StopMember { id: 3, pods: 2 },
                    RemoveVoter { id: 2 },
                    StopMember { id: 2, pods: 1 },
                ],
            ),
            ("no change", 3, 3, &[]),
        ];
        for (name, from, to, want) in cases {
            let steps = plan_membership(&Membership::settled(*from), *to).unwrap();
            assert_eq!(&steps, want, "case {name}");
            assert_eq!(
                simulate(&Membership::settled(*from), &steps),
                Membership::settled(*to),
                "case {name}"
            );
        }
    }

    #[test]
    fn every_size_change_is_safe() {
        for from in 1..=9 {
            for to in (1..=9).step_by(2) {
                let steps = plan_membership(&Membership::settled(from), to).unwrap();
                assert_eq!(
                    simulate(&Membership::settled(from), &steps),
                    Membership::settled(to),
                    "{from}->{to}"
                );
            }
        }
    }

    #[test]
    fn converges_from_interrupted_applies() {
        let cases: &[(&str, Membership, u8, &[MembershipStep])] = &[
            (
                "started but not yet voting",
                Membership {
                    pods: 4,
                    voters: [1, 2, 3].into(),
                },
                5,
                &[
                    AddVoter { id: 4 },
                    StartMember { id: 5, pods: 5 },
                    AddVoter { id: 5 },
                ],
            ),
            (
                "removed but still running",
                Membership {
                    pods: 5,
                    voters: [1, 2, 3, 4].into(),
                },
                3,
                &[
                    StopMember { id: 5, pods: 4 },
                    RemoveVoter { id: 4 },
                    StopMember { id: 4, pods: 3 },
                ],
            ),
            (
                "grow was interrupted and the user went back",
                Membership {
                    pods: 4,
                    voters: [1, 2, 3].into(),
                },
                3,
                &[StopMember { id: 4, pods: 3 }],
            ),
        ];
        for (name, from, to, want) in cases {
            let steps = plan_membership(from, *to).unwrap();
            assert_eq!(&steps, want, "case {name}");
            assert_eq!(
                simulate(from, &steps),
                Membership::settled(*to),
                "case {name}"
            );
        }
    }

    #[test]
    fn refuses_what_it_cannot_do_safely() {
        assert_eq!(
            plan_membership(&Membership::settled(3), 0),
            Err(MembershipError::OutOfRange(0))
        );
        assert_eq!(
            plan_membership(&Membership::settled(3), 11),
            Err(MembershipError::OutOfRange(11))
        );
        let lost = Membership {
            pods: 5,
            voters: [4, 5].into(),
        };
        assert!(matches!(
            plan_membership(&lost, 3),
            Err(MembershipError::NoSurvivingVoter { .. })
        ));
    }

    #[test]
    fn majority_intersection() {
        let set = |ids: &[u8]| ids.iter().copied().collect::<BTreeSet<u8>>();
        assert!(majorities_intersect(&set(&[1, 2, 3]), &set(&[1, 2, 3, 4])));
        assert!(majorities_intersect(
            &set(&[1, 2, 3, 4, 5]),
            &set(&[1, 2, 3, 4])
        ));
        // Jumping from 3 to 5 at once, with two new members: {4,5} plus one old member makes
        // a majority of five that a majority of the old three need not share.
        assert!(!majorities_intersect(
            &set(&[1, 2, 3]),
            &set(&[1, 2, 3, 4, 5, 6, 7])
        ));
        assert!(!majorities_intersect(&set(&[1, 2, 3]), &set(&[4, 5, 6])));
    }

    #[test]
    fn roll_followers_first_leader_last() {
        let members = [
            (1, Role::Follower),
            (2, Role::Leader),
            (3, Role::Follower),
            (4, Role::NotServing),
            (5, Role::Observer),
        ];
        assert_eq!(roll_order(&members).unwrap(), vec![4, 5, 3, 1, 2]);
        let split = [(1, Role::Leader), (2, Role::Leader)];
        assert_eq!(
            roll_order(&split),
            Err(RollError::SeveralLeaders(vec![1, 2]))
        );
        assert_eq!(
            roll_order(&[(1, Role::NotServing), (2, Role::NotServing)]).unwrap(),
            vec![2, 1]
        );
    }

    #[test]
    fn reads_roles() {
        let srvr = "Zookeeper version: 3.9.3\nLatency min/avg/max: 0/0.0/0\nMode: follower\nNode count: 5\n";
        assert_eq!(Role::from_four_letter_word(srvr), Role::Follower);
        assert_eq!(
            Role::from_four_letter_word("zk_version\t3.9.3\nzk_server_state\tleader\n"),
            Role::Leader
        );
        assert_eq!(
            Role::from_four_letter_word(
                "This ZooKeeper instance is not currently serving requests\n"
            ),
            Role::NotServing
        );
    }
}
