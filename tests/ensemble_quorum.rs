//! Proof that the rendered ensemble configuration is real: the ConfigMap's zoo.cfg, seed
//! membership, start script and probe script run as real ZooKeeper processes (jars from Maven
//! Central), one per member, with each pod's DNS name mapped to its own loopback address
//! through a hosts file the JVM reads (`-Djdk.net.hosts.file`).
//!
//! Membership changes are the pods' own: the rendered start.sh makes a new member a voter
//! (member.sh join, `reconfig -add` through the ZooKeeper CLI as the super user) and the
//! rendered preStop hook (member.sh leave, `reconfig -remove`) takes a member out before it
//! stops. The harness plays the kubelet: it runs start.sh, runs the preStop hook and then sends
//! SIGTERM, and plays the StatefulSet: one member at a time, with the ConfigMap rendered for
//! each step.
//!
//! What is rewritten for a host-local run, and nothing else:
//! - the mount paths `/config`, `/data` and `/secret` become per-member directories;
//! - `quorumListenOnAllIPs=true` becomes `false`, and the client address `0.0.0.0` in server
//!   lines becomes the member's loopback address: all members share one host's ports, so each
//!   must bind only its own address (in Kubernetes each pod has its own network namespace);
//! - the probe and member scripts ask the member's loopback address instead of 127.0.0.1.
//!
//! The environment the pod would get: `HOSTNAME` (the pod name), `ZK_SUPER_DIGEST` (from the
//! rendered Secret) and the Secret's password as the file `/secret/super-password`; plus `ZK_HOME` (where the jars are; in the image the script finds
//! `/apache-zookeeper-*-bin`) and `JAVA_TOOL_OPTIONS` for the hosts file.
//!
//! ZooKeeper: the bench's `common::tools().zookeeper_home` (scripts/install-tools.sh, cached).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zkkafka::adapters::zookeeper::{
    connect, connect_membership, Acl, Perms, ZkAuth, ZkConnection, ZkError, ZnodeStore,
};
use zkkafka::resources::zookeeper_ensemble::membership::{
    plan_membership, Membership, MembershipStep, Role,
};
use zkkafka::resources::zookeeper_ensemble::render::{render, SUPER_USER};
use zkkafka::resources::zookeeper_ensemble::Ensemble;
use zkkafka::tfvalue::Value;

const PASSWORD: &str = "quorum-harness-password";
/// How long a member may take to start and join a quorum.
const SERVE_TIMEOUT: Duration = Duration::from_secs(90);
/// How long one write may take to land while members come and go.
const WRITE_DEADLINE: Duration = Duration::from_secs(30);
/// Upper bound on writes in one writer loop.
const MAX_WRITES: usize = 20000;

/// One ensemble at a time: the machine is small and each member is a JVM.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn zookeeper_home() -> PathBuf {
    common::tools().zookeeper_home.clone()
}

fn ensemble(replicas: u8) -> Ensemble {
    Ensemble::from_value(&Value::object([
        ("name", Value::from("zk")),
        ("namespace", Value::from("data")),
        ("replicas", Value::int(i64::from(replicas))),
    ]))
    .expect("valid model")
}

/// Members of one harness run, each a real ZooKeeper process.
struct LocalEnsemble {
    dir: tempfile::TempDir,
    /// Third octet of this run's loopback addresses, 127.77.<net>.<10 + id>.
    net: u8,
    hosts_file: PathBuf,
    zk_home: PathBuf,
    super_digest: String,
    password: String,
    running: BTreeMap<u8, Child>,
}

impl LocalEnsemble {
    fn new(net_slot: u8) -> LocalEnsemble {
        let dir = tempfile::tempdir().expect("temp dir");
        let net = (std::process::id() % 40) as u8 * 5 + net_slot;
        let mut hosts = String::from("127.0.0.1 localhost\n");
        if let Ok(name) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
            hosts.push_str(&format!("127.0.0.1 {}\n", name.trim()));
        }
        let e = ensemble(9);
        for m in e.members() {
            hosts.push_str(&format!("{} {}\n", addr(net, m.id), m.host));
        }
        let hosts_file = dir.path().join("hosts");
        std::fs::write(&hosts_file, hosts).expect("write hosts file");
        let secret = &render(&e, PASSWORD)[1].object;
        let decode = |key: &str| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(secret["data"][key].as_str().expect("secret key"))
                .expect("base64");
            String::from_utf8(bytes).expect("utf-8")
        };
        LocalEnsemble {
            dir,
            net,
            hosts_file,
            zk_home: zookeeper_home(),
            super_digest: decode("super-digest"),
            password: decode("super-password"),
            running: BTreeMap::new(),
        }
    }

    fn addr(&self, id: u8) -> String {
        addr(self.net, id)
    }

    fn member_dir(&self, id: u8) -> PathBuf {
        self.dir.path().join(format!("member-{id}"))
    }

    /// The connect string over the given members' client addresses.
    fn connect_string(&self, ids: impl IntoIterator<Item = u8>) -> String {
        ids.into_iter()
            .map(|id| format!("{}:2181", self.addr(id)))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn env(&self, command: &mut Command, id: u8) {
        command
            .env("HOSTNAME", format!("zk-{}", id - 1))
            .env("ZK_HOME", &self.zk_home)
            .env("ZK_SUPER_DIGEST", &self.super_digest)
            .env("ZK_HEAP", "256m")
            .env(
                "JAVA_TOOL_OPTIONS",
                format!("-Djdk.net.hosts.file={}", self.hosts_file.display()),
            )
            .stdin(Stdio::null());
    }

    /// Writes the ConfigMap files of `rendered` (an ensemble of `pods` members) and the
    /// Secret's password into member `id`'s directories, localized, and starts the rendered
    /// start script in its own process group (ZooKeeper runs as its child).
    fn start(&mut self, rendered: &Ensemble, id: u8) {
        let (config_dir, data_dir, secret_dir) = (
            self.member_dir(id).join("config"),
            self.member_dir(id).join("data"),
            self.member_dir(id).join("secret"),
        );
        for d in [&config_dir, &data_dir, &secret_dir] {
            std::fs::create_dir_all(d).expect("member dir");
        }
        std::fs::write(secret_dir.join("super-password"), &self.password).expect("password");
        let config_map = &render(rendered, PASSWORD)[0].object["data"];
        for (name, content) in config_map.as_object().expect("ConfigMap data") {
            let text = self.localize(name, content.as_str().expect("text"), id);
            std::fs::write(config_dir.join(name), text).expect("write ConfigMap file");
        }
        // A member that was just stopped may hold its sockets for a moment while the kernel
        // closes them: wait (bounded) for its ports.
        for port in [2181, 2888, 3888] {
            let deadline = Instant::now() + Duration::from_secs(15);
            let mut bound = TcpListener::bind((self.addr(id).as_str(), port));
            while bound.is_err() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(200));
                bound = TcpListener::bind((self.addr(id).as_str(), port));
            }
            if let Err(e) = bound {
                let holders = Command::new("ss")
                    .args(["-ltnp"])
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                    .unwrap_or_default();
                let holders: Vec<&str> = holders
                    .lines()
                    .filter(|l| l.contains(&format!(":{port} ")))
                    .collect();
                panic!(
                    "{}:{port} is not free for member {id}: {e}; listening: {holders:?}; log: {}",
                    self.addr(id),
                    self.log_tail(id)
                );
            }
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.member_dir(id).join("zookeeper.log"))
            .expect("log file");
        let mut command = Command::new("bash");
        command.arg(config_dir.join("start.sh"));
        self.env(&mut command, id);
        let child = command
            .process_group(0)
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("start member");
        self.running.insert(id, child);
    }

    /// Runs the rendered preStop hook (`member.sh leave`) of a member, as the kubelet would
    /// before stopping its pod; its output goes to the member's log.
    fn pre_stop(&self, id: u8) -> bool {
        let log = std::fs::OpenOptions::new()
            .append(true)
            .open(self.member_dir(id).join("zookeeper.log"))
            .expect("log file");
        let mut command = Command::new("timeout");
        command
            .arg("120")
            .arg("bash")
            .arg(self.member_dir(id).join("config/member.sh"))
            .arg("leave");
        self.env(&mut command, id);
        command
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Stops a member as the kubelet does after the preStop hook: SIGTERM to start.sh (which
    /// passes it to ZooKeeper), SIGKILL to the process group after 30 s.
    fn terminate(&mut self, id: u8) {
        if let Some(mut child) = self.running.remove(&id) {
            signal_group(&child, "TERM");
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            signal_group(&child, "KILL");
            let _ = child.wait();
        }
    }

    fn localize(&self, file: &str, text: &str, id: u8) -> String {
        let (config_dir, data_dir, secret_dir) = (
            self.member_dir(id).join("config"),
            self.member_dir(id).join("data"),
            self.member_dir(id).join("secret"),
        );
        let text = text
            .replace("/config/", &format!("{}/", config_dir.display()))
            .replace("/secret/", &format!("{}/", secret_dir.display()))
            .replace("=/data", &format!("={}", data_dir.display()));
        match file {
            "zoo.cfg" => text.replace("quorumListenOnAllIPs=true", "quorumListenOnAllIPs=false"),
            "zoo.cfg.dynamic" => localize_server_lines(&text, self.net),
            "probe.sh" | "member.sh" => text.replace("127.0.0.1", &self.addr(id)),
            _ => text,
        }
    }

    /// Stops a member at once, without its preStop hook (SIGKILL to the process group: the
    /// worst case of a node failure, or a forced deletion).
    fn kill(&mut self, id: u8) {
        if let Some(mut child) = self.running.remove(&id) {
            signal_group(&child, "KILL");
            let _ = child.wait();
        }
    }

    /// Runs the rendered probe script (`alive` or `ready`) for a member.
    fn probe(&self, id: u8, mode: &str) -> bool {
        let mut command = Command::new("bash");
        command
            .arg(self.member_dir(id).join("config/probe.sh"))
            .arg(mode);
        // Exec probes run with the container's environment (HOSTNAME is the pod name).
        self.env(&mut command, id);
        command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    async fn role(&self, id: u8) -> Role {
        Role::from_four_letter_word(&four_letter_word(&self.addr(id), "srvr").await)
    }

    async fn roles(&self) -> BTreeMap<u8, Role> {
        let mut out = BTreeMap::new();
        for id in self.running.keys() {
            out.insert(*id, self.role(*id).await);
        }
        out
    }

    /// Waits until every running member serves, exactly one leads and the rest follow.
    async fn wait_quorum(&self) -> u8 {
        let all: BTreeSet<u8> = self.running.keys().copied().collect();
        self.wait_quorum_of(&all).await
    }

    /// Waits until exactly one running member leads and every member of `voters` serves
    /// (followers or the leader); a running member outside `voters` may do anything but lead.
    async fn wait_quorum_of(&self, voters: &BTreeSet<u8>) -> u8 {
        let deadline = Instant::now() + SERVE_TIMEOUT;
        loop {
            let roles = self.roles().await;
            let leaders: Vec<u8> = roles
                .iter()
                .filter(|(_, r)| **r == Role::Leader)
                .map(|(id, _)| *id)
                .collect();
            assert!(leaders.len() <= 1, "two leaders at once: {roles:?}");
            let serving = voters
                .iter()
                .all(|id| matches!(roles.get(id), Some(Role::Leader | Role::Follower)));
            if leaders.len() == 1 && serving && voters.contains(&leaders[0]) {
                return leaders[0];
            }
            if Instant::now() > deadline {
                let logs: Vec<String> = roles
                    .keys()
                    .map(|id| format!("member {id}: {}", self.log_tail(*id)))
                    .collect();
                panic!(
                    "no quorum of {voters:?} within {SERVE_TIMEOUT:?}: {roles:?}\n{}",
                    logs.join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Waits until member `id` made itself a voter (start.sh ran member.sh join): the
    /// committed configuration lists it and the rendered readiness probe passes.
    async fn wait_voter(&self, id: u8) {
        let deadline = Instant::now() + SERVE_TIMEOUT;
        loop {
            let voter = self.committed_voters().await.contains(&id);
            if voter && self.probe(id, "ready") {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "member {id} did not become a ready voter within {SERVE_TIMEOUT:?}; log: {}",
                    self.log_tail(id)
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    fn log_tail(&self, id: u8) -> String {
        let text =
            std::fs::read_to_string(self.member_dir(id).join("zookeeper.log")).unwrap_or_default();
        // The member script's lines (its own story), then the end of the log.
        let lines: Vec<&str> = text.lines().collect();
        let script: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| l.contains("member.sh[") || l.contains("start.sh:"))
            .collect();
        format!(
            "{}\n...\n{}",
            script.join("\n"),
            lines[lines.len().saturating_sub(15)..].join("\n")
        )
    }

    fn super_connection(&self, ids: impl IntoIterator<Item = u8>) -> ZkConnection {
        let mut conn = ZkConnection::new(self.connect_string(ids));
        conn.auth.push(ZkAuth::digest(SUPER_USER, PASSWORD));
        conn.session_timeout = Duration::from_secs(10);
        conn
    }

    /// The voters of the committed configuration (`/zookeeper/config`), read through the
    /// adapter as the provider would if it could reach the members.
    async fn committed_voters(&self) -> BTreeSet<u8> {
        self.committed_voters_from(self.running.keys().copied())
            .await
    }

    /// The same, asking only the given members (a member that was just removed may still
    /// answer with the configuration before its removal).
    async fn committed_voters_from(&self, ids: impl IntoIterator<Item = u8>) -> BTreeSet<u8> {
        let conn = self.super_connection(ids);
        let read = async {
            let m = connect_membership(&conn).await.ok()?;
            m.ensemble_config().await.ok()
        };
        match tokio::time::timeout(Duration::from_secs(20), read).await {
            Ok(Some(config)) => config.voters().into_iter().map(|id| id as u8).collect(),
            _ => BTreeSet::new(),
        }
    }

    /// The state the membership planner starts from: pods running, voters committed.
    async fn observed(&self) -> Membership {
        Membership {
            pods: self.running.keys().copied().max().unwrap_or(0),
            voters: self.committed_voters().await,
        }
    }

    /// Executes one step as Kubernetes and the pods will: the StatefulSet starts or stops one
    /// pod with the ConfigMap rendered for the step; the pods' own scripts reconfigure.
    async fn execute(&mut self, step: MembershipStep) {
        match step {
            MembershipStep::StartMember { id, pods } => {
                self.start(&ensemble(pods), id);
                self.wait_voter(id).await;
            }
            MembershipStep::AddVoter { id } => {
                // Done by the member itself (start.sh -> member.sh join): check only.
                let voters = self.committed_voters().await;
                assert!(voters.contains(&id), "{id} did not join: {voters:?}");
            }
            MembershipStep::RemoveVoter { id } => {
                // The preStop hook of the pod the StatefulSet is about to stop.
                assert!(
                    self.pre_stop(id),
                    "preStop of member {id} failed: {}",
                    self.log_tail(id)
                );
                // Followers learn of the commit a moment after the leader.
                let others: Vec<u8> = self.running.keys().copied().filter(|m| *m != id).collect();
                let deadline = Instant::now() + Duration::from_secs(15);
                loop {
                    let voters = self.committed_voters_from(others.iter().copied()).await;
                    if !voters.contains(&id) {
                        break;
                    }
                    assert!(
                        Instant::now() < deadline,
                        "{id} not removed: {voters:?}; {}",
                        self.log_tail(id)
                    );
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
            MembershipStep::StopMember { id, .. } => {
                self.terminate(id);
                // whenScaled: Delete — the member's volume goes with it.
                let _ = std::fs::remove_dir_all(self.member_dir(id));
            }
        }
    }
}

impl Drop for LocalEnsemble {
    fn drop(&mut self) {
        let ids: Vec<u8> = self.running.keys().copied().collect();
        for id in ids {
            self.kill(id);
        }
    }
}

/// Sends a signal to a member's process group (start.sh, ZooKeeper, member.sh and its CLI).
fn signal_group(child: &Child, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg("--")
        .arg(format!("-{}", child.id()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn addr(net: u8, id: u8) -> String {
    format!("127.77.{net}.{}", 10 + id)
}

/// `;0.0.0.0:2181` in server lines becomes the member's own loopback address.
fn localize_server_lines(text: &str, net: u8) -> String {
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let id = line
            .strip_prefix("server.")
            .and_then(|r| r.split_once('='))
            .and_then(|(id, _)| id.parse::<u8>().ok());
        match id {
            Some(id) => {
                out.push_str(&line.replace(";0.0.0.0:2181", &format!(";{}:2181", addr(net, id))))
            }
            None => out.push_str(line),
        }
    }
    out
}

async fn four_letter_word(addr: &str, word: &str) -> String {
    let ask = async {
        let mut stream = tokio::net::TcpStream::connect((addr, 2181)).await.ok()?;
        stream.write_all(word.as_bytes()).await.ok()?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.ok()?;
        Some(answer)
    };
    tokio::time::timeout(Duration::from_secs(5), ask)
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}

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

async fn quorum_forms_serves_and_survives_a_lost_member(size: u8, net_slot: u8) {
    let _serial = SERIAL.lock().await;
    let mut local = LocalEnsemble::new(net_slot);
    let rendered = ensemble(size);
    for id in 1..=size {
        local.start(&rendered, id);
    }
    let leader = local.wait_quorum().await;
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
