//! Proof that the rendered ensemble configuration is real: the ConfigMap's zoo.cfg, seed
//! membership, start script and probe script run as real ZooKeeper processes, one per member
//! ([`common::ensemble::LocalEnsemble`]: what it rewrites for a host-local run and the
//! environment it gives each member are described there).
//!
//! Membership changes are the pods' own: the rendered start.sh makes a new member a voter
//! (member.sh join, `reconfig -add` through the ZooKeeper CLI as the super user) and the
//! rendered preStop hook (member.sh leave, `reconfig -remove`) takes a member out before it
//! stops. The harness plays the kubelet: it runs start.sh, runs the preStop hook and then sends
//! SIGTERM, and plays the StatefulSet: one member at a time, with the ConfigMap rendered for
//! each step.
//!
//! ZooKeeper: the bench's `common::tools().zookeeper_home` (scripts/install-tools.sh, cached).

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::ensemble::{ensemble, four_letter_word, LocalEnsemble, SERVE_TIMEOUT};
use zkkafka::adapters::zookeeper::{connect, Acl, Perms, ZkConnection, ZkError, ZnodeStore};
use zkkafka::resources::zookeeper_ensemble::membership::{
    leader_in_log, plan_membership, Membership, MembershipStep, Role,
};

/// How long one write may take to land while members come and go.
const WRITE_DEADLINE: Duration = Duration::from_secs(30);
/// Upper bound on writes in one writer loop.
const MAX_WRITES: usize = 20000;

/// One ensemble at a time: the machine is small and each member is a JVM.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn store(conn: &ZkConnection) -> Arc<dyn ZnodeStore> {
    connect(conn).await.expect("client session")
}

/// Writes and reads back one znode through the ensemble.
async fn write_and_read(conn: &ZkConnection, path: &str, data: &[u8]) {
    let s = store(conn).await;
    s.create(path, data, &[Acl::world(Perms::ALL)], false, &[])
        .await
        .expect("write");
    let (read, _) = s.get(path).await.expect("read").expect("exists");
    assert_eq!(read, data);
}

/// A client writing numbered znodes until told to stop, each write retried until it lands
/// (a retry that finds the znode means the earlier attempt landed).
async fn writer(conn: ZkConnection, stop: Arc<AtomicBool>) -> (usize, Duration) {
    let mut s = store(&conn).await;
    s.create("/scaling", b"", &[Acl::world(Perms::ALL)], false, &[])
        .await
        .expect("base znode");
    let mut slowest = Duration::ZERO;
    let mut written = 0;
    while written < MAX_WRITES && !stop.load(Ordering::Relaxed) {
        let path = format!("/scaling/w-{written:06}");
        let started = Instant::now();
        loop {
            match s
                .create(
                    &path,
                    written.to_string().as_bytes(),
                    &[Acl::world(Perms::ALL)],
                    false,
                    &[],
                )
                .await
            {
                Ok(_) | Err(ZkError::NodeExists { .. }) => break,
                Err(ZkError::SessionExpired) => s = store(&conn).await,
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
            assert!(
                started.elapsed() < WRITE_DEADLINE,
                "write {written} did not land within {WRITE_DEADLINE:?}"
            );
        }
        slowest = slowest.max(started.elapsed());
        written += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (written, slowest)
}

/// The members' own logs name the leader `srvr` reports, read the way the provider reads
/// `pods/log` before a roll ([`leader_in_log`]): exactly `leader` says it leads.
fn logs_name_the_leader(local: &LocalEnsemble, ids: impl IntoIterator<Item = u8>, leader: u8) {
    for id in ids {
        let log =
            std::fs::read_to_string(local.member_dir(id).join("zookeeper.log")).unwrap_or_default();
        assert_eq!(
            leader_in_log(&log),
            Some(id == leader),
            "member {id}'s log vs srvr (leader {leader}):\n{}",
            local.log_tail(id)
        );
    }
}

async fn quorum_forms_serves_and_survives_a_lost_member(size: u8, net_slot: u8) {
    let _serial = SERIAL.lock().await;
    let mut local = LocalEnsemble::new(net_slot);
    let rendered = ensemble(size);
    for id in 1..=size {
        local.start(&rendered, id);
    }
    let leader = local.wait_quorum().await;
    logs_name_the_leader(&local, 1..=size, leader);
    for id in 1..=size {
        assert!(
            local.probe(id, "alive"),
            "probe.sh alive fails for member {id}"
        );
        assert!(
            local.probe(id, "ready"),
            "probe.sh ready fails for member {id}; conf: {}",
            four_letter_word(&local.addr(id), "conf").await
        );
    }
    let conn = local.super_connection(1..=size);
    write_and_read(&conn, "/before", b"one").await;

    // Lose the leader, the member whose loss hurts most: the rest elect a new one and serve.
    local.kill(leader);
    let new_leader = local.wait_quorum().await;
    assert_ne!(new_leader, leader);
    logs_name_the_leader(&local, (1..=size).filter(|id| *id != leader), new_leader);
    write_and_read(&conn, "/after", b"two").await;
    let s = store(&conn).await;
    assert_eq!(
        s.get("/before").await.expect("read").map(|(d, _)| d),
        Some(b"one".to_vec())
    );

    // The lost member comes back with its volume and follows.
    local.start(&rendered, leader);
    local.wait_quorum().await;
    assert_eq!(local.role(leader).await, Role::Follower);
    logs_name_the_leader(&local, 1..=size, new_leader);
    eprintln!("{size} members: leader {leader}, after losing it leader {new_leader}; writes and reads served");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_form_a_quorum_and_survive_a_loss() {
    quorum_forms_serves_and_survives_a_lost_member(3, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_members_form_a_quorum_and_survive_a_loss() {
    quorum_forms_serves_and_survives_a_lost_member(5, 1).await;
}

/// After each step: exactly one leader, it is a voter, and the committed configuration is
/// exactly `expected`.
async fn check_step(local: &LocalEnsemble, expected: &BTreeSet<u8>, what: &str) -> u8 {
    let leader = local.wait_quorum_of(expected).await;
    let voters = local.committed_voters_from(expected.iter().copied()).await;
    assert_eq!(&voters, expected, "committed voters after {what}");
    assert!(
        voters.contains(&leader),
        "leader {leader} is not a voter {voters:?}"
    );
    leader
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaling_three_to_five_to_three_keeps_serving_writes() {
    let _serial = SERIAL.lock().await;
    let mut local = LocalEnsemble::new(2);
    let three = ensemble(3);
    for id in 1..=3 {
        local.start(&three, id);
    }
    local.wait_quorum().await;
    for id in 1..=3 {
        local.wait_voter(id).await;
    }

    let stop = Arc::new(AtomicBool::new(false));
    let writes = tokio::spawn(writer(local.super_connection(1..=5), stop.clone()));
    tokio::time::sleep(Duration::from_secs(1)).await;

    // Scaling: the StatefulSet moves one pod at a time (plan_membership from the observed
    // state); the pods' scripts do the reconfiguration.
    let mut expected: BTreeSet<u8> = [1, 2, 3].into();
    let mut executed = Vec::new();
    for desired in [5, 3] {
        let current = local.observed().await;
        assert_eq!(current.voters, expected);
        let steps = plan_membership(&current, desired).expect("plan");
        for step in steps {
            local.execute(step).await;
            match step {
                MembershipStep::StartMember { id, .. } => expected.insert(id),
                MembershipStep::RemoveVoter { id } => expected.remove(&id),
                _ => true,
            };
            check_step(&local, &expected, &format!("{step:?}")).await;
            assert!(!writes.is_finished(), "the writer stopped during {step:?}");
            executed.push(step);
        }
        assert_eq!(local.observed().await, Membership::settled(desired));
    }

    // A restart of the leader, as a roll does it: its preStop hook takes it out of the
    // voters (ZooKeeper hands leadership to a remaining voter), it stops, starts again from
    // its volume and makes itself a voter again.
    let leader = check_step(&local, &expected, "scaling").await;
    assert!(
        local.pre_stop(leader),
        "preStop of leader {leader}: {}",
        local.log_tail(leader)
    );
    let without: BTreeSet<u8> = expected
        .iter()
        .copied()
        .filter(|id| *id != leader)
        .collect();
    let new_leader = check_step(&local, &without, "the leader's preStop").await;
    assert_ne!(new_leader, leader);
    local.terminate(leader);
    local.start(&three, leader);
    local.wait_voter(leader).await;
    check_step(&local, &expected, "the leader's restart").await;
    // It runs on the membership ZooKeeper committed, not the seed (start.sh keeps ZooKeeper's
    // dynamicConfigFile pointer).
    let cfg = std::fs::read_to_string(local.member_dir(leader).join("data/conf/zoo.cfg"))
        .expect("zoo.cfg");
    let pointer = cfg
        .lines()
        .find_map(|l| l.strip_prefix("dynamicConfigFile="))
        .expect("pointer");
    assert!(
        pointer.contains("zoo.cfg.dynamic.") && !pointer.ends_with("zoo.cfg.dynamic"),
        "{pointer}"
    );

    // A forced deletion: member 4 joins, then its pod is deleted without the preStop hook
    // and the StatefulSet goes back to 3. Voter 4 stays in the committed configuration until
    // a member starts: its member.sh join removes voters beyond the seed that do not answer.
    local
        .execute(MembershipStep::StartMember { id: 4, pods: 4 })
        .await;
    expected.insert(4);
    check_step(&local, &expected, "member 4 joining").await;
    local.kill(4);
    let _ = std::fs::remove_dir_all(local.member_dir(4));
    let alive: BTreeSet<u8> = [1, 2, 3].into();
    local.wait_quorum_of(&alive).await;
    assert_eq!(
        local.committed_voters_from(1..=3).await,
        expected,
        "voter 4 stays after a forced deletion"
    );
    let restarted = if leader == 1 { 2 } else { 1 };
    local.kill(restarted);
    local.start(&three, restarted);
    expected.remove(&4);
    let deadline = Instant::now() + SERVE_TIMEOUT;
    while local.committed_voters().await != expected {
        assert!(
            Instant::now() < deadline,
            "stale voter 4 not removed: {}",
            local.log_tail(restarted)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    local.wait_voter(restarted).await;
    check_step(&local, &expected, "the repair").await;

    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    let (written, slowest) = writes.await.expect("writer");

    // Every acknowledged write survived, with its data, and nothing else appeared.
    let s = store(&local.super_connection(1..=3)).await;
    let mut children = s.children("/scaling").await.expect("list").expect("exists");
    children.sort();
    let want: Vec<String> = (0..written).map(|i| format!("w-{i:06}")).collect();
    assert_eq!(children, want);
    for i in 0..written {
        let (data, _) = s
            .get(&format!("/scaling/w-{i:06}"))
            .await
            .expect("read")
            .expect("exists");
        assert_eq!(data, i.to_string().as_bytes(), "write {i}");
    }
    eprintln!(
        "3 -> 5 -> 3 in {} steps ({executed:?}), leader {leader} restarted (leadership to \
         {new_leader}), stale voter 4 repaired; {written} writes landed, slowest {slowest:?}",
        executed.len()
    );
}
