//! Proof that the rendered ensemble configuration is real: the ConfigMap's zoo.cfg, seed
//! membership, start script and probe script run as real ZooKeeper processes (jars from Maven
//! Central), one per member, with each pod's DNS name mapped to its own loopback address
//! through a hosts file the JVM reads (`-Djdk.net.hosts.file`).
//!
//! What is rewritten for a host-local run, and nothing else:
//! - the mount paths `/config` and `/data` become per-member directories;
//! - `quorumListenOnAllIPs=true` becomes `false`, and the client address `0.0.0.0` in server
//!   lines becomes the member's loopback address: all members share one host's ports, so each
//!   must bind only its own address (in Kubernetes each pod has its own network namespace);
//! - the probe script asks the member's loopback address instead of 127.0.0.1.
//!
//! The environment the pod would get: `HOSTNAME` (the pod name), `ZK_SUPER_DIGEST` (from the
//! rendered Secret); plus `ZK_HOME` (where the jars are; in the image the script finds
//! `/apache-zookeeper-*-bin`) and `JAVA_TOOL_OPTIONS` for the hosts file.
//!
//! ZooKeeper: the bench's `common::tools().zookeeper_home` (scripts/install-tools.sh, cached).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zkkafka::adapters::zookeeper::{
    connect, connect_membership, Acl, EnsembleMembership, Perms, ZkAuth, ZkConnection, ZkError,
    ZnodeStore,
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
const MAX_WRITES: usize = 5000;

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
        let super_digest = base64::engine::general_purpose::STANDARD
            .decode(secret["data"]["super-digest"].as_str().expect("digest"))
            .expect("base64");
        LocalEnsemble {
            dir,
            net,
            hosts_file,
            zk_home: zookeeper_home(),
            super_digest: String::from_utf8(super_digest).expect("utf-8"),
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

    /// Writes the ConfigMap files of `rendered` (an ensemble of `pods` members) into member
    /// `id`'s config directory, localized, and starts the rendered start script.
    fn start(&mut self, rendered: &Ensemble, id: u8) {
        let (config_dir, data_dir) = (
            self.member_dir(id).join("config"),
            self.member_dir(id).join("data"),
        );
        std::fs::create_dir_all(&config_dir).expect("config dir");
        std::fs::create_dir_all(&data_dir).expect("data dir");
        let config_map = &render(rendered, PASSWORD)[0].object["data"];
        for (name, content) in config_map.as_object().expect("ConfigMap data") {
            let text = self.localize(
                name,
                content.as_str().expect("text"),
                id,
                &config_dir,
                &data_dir,
            );
            std::fs::write(config_dir.join(name), text).expect("write ConfigMap file");
        }
        for port in [2181, 2888, 3888] {
            if let Err(e) = TcpListener::bind((self.addr(id).as_str(), port)) {
                panic!("{}:{port} is not free for member {id}: {e}", self.addr(id));
            }
        }
        let log =
            std::fs::File::create(self.member_dir(id).join("zookeeper.log")).expect("log file");
        let child = Command::new("bash")
            .arg(config_dir.join("start.sh"))
            .env("HOSTNAME", format!("zk-{}", id - 1))
            .env("ZK_HOME", &self.zk_home)
            .env("ZK_SUPER_DIGEST", &self.super_digest)
            .env("ZK_HEAP", "256m")
            .env(
                "JAVA_TOOL_OPTIONS",
                format!("-Djdk.net.hosts.file={}", self.hosts_file.display()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("start member");
        self.running.insert(id, child);
    }

    fn localize(
        &self,
        file: &str,
        text: &str,
        id: u8,
        config_dir: &Path,
        data_dir: &Path,
    ) -> String {
        let text = text
            .replace("/config/", &format!("{}/", config_dir.display()))
            .replace("=/data", &format!("={}", data_dir.display()));
        match file {
            "zoo.cfg" => text.replace("quorumListenOnAllIPs=true", "quorumListenOnAllIPs=false"),
            "zoo.cfg.dynamic" => localize_server_lines(&text, self.net),
            "probe.sh" => text.replace(
                "/dev/tcp/127.0.0.1/",
                &format!("/dev/tcp/{}/", self.addr(id)),
            ),
            _ => text,
        }
    }

    /// Stops a member at once (SIGKILL: the worst case of a node failure).
    fn kill(&mut self, id: u8) {
        if let Some(mut child) = self.running.remove(&id) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Runs the rendered probe script (`alive` or `ready`) for a member.
    fn probe(&self, id: u8, mode: &str) -> bool {
        Command::new("bash")
            .arg(self.member_dir(id).join("config/probe.sh"))
            .arg(mode)
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

    async fn wait_serving(&self, id: u8) {
        let deadline = Instant::now() + SERVE_TIMEOUT;
        while Instant::now() < deadline {
            if self.role(id).await != Role::NotServing {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!(
            "member {id} did not serve within {SERVE_TIMEOUT:?}; log: {}",
            self.log_tail(id)
        );
    }

    /// Waits until every running member serves, exactly one leads and the rest follow.
    async fn wait_quorum(&self) -> u8 {
        let deadline = Instant::now() + SERVE_TIMEOUT;
        loop {
            let roles = self.roles().await;
            let leaders: Vec<u8> = roles
                .iter()
                .filter(|(_, r)| **r == Role::Leader)
                .map(|(id, _)| *id)
                .collect();
            let followers = roles.values().filter(|r| **r == Role::Follower).count();
            if leaders.len() == 1 && followers == roles.len() - 1 {
                return leaders[0];
            }
            assert!(leaders.len() <= 1, "two leaders at once: {roles:?}");
            if Instant::now() > deadline {
                let logs: Vec<String> = roles
                    .keys()
                    .map(|id| format!("member {id}: {}", self.log_tail(*id)))
                    .collect();
                panic!(
                    "no quorum within {SERVE_TIMEOUT:?}: {roles:?}\n{}",
                    logs.join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    fn log_tail(&self, id: u8) -> String {
        let text =
            std::fs::read_to_string(self.member_dir(id).join("zookeeper.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    fn super_connection(&self, ids: impl IntoIterator<Item = u8>) -> ZkConnection {
        let mut conn = ZkConnection::new(self.connect_string(ids));
        conn.auth.push(ZkAuth::digest(SUPER_USER, PASSWORD));
        conn.session_timeout = Duration::from_secs(10);
        conn
    }

    async fn membership(&self) -> Arc<dyn EnsembleMembership> {
        connect_membership(&self.super_connection(self.running.keys().copied()))
            .await
            .expect("membership session")
    }

    /// The state the membership planner starts from: pods running, voters committed.
    async fn observed(&self) -> Membership {
        let config = self
            .membership()
            .await
            .ensemble_config()
            .await
            .expect("read config");
        Membership {
            pods: self.running.keys().copied().max().unwrap_or(0),
            voters: config.voters().into_iter().map(|id| id as u8).collect(),
        }
    }

    /// Executes one step as the provider will, with the rendered objects for each stage.
    async fn execute(&mut self, step: MembershipStep) {
        match step {
            MembershipStep::StartMember { id, pods } => {
                self.start(&ensemble(pods), id);
                self.wait_serving(id).await;
            }
            MembershipStep::AddVoter { id } => {
                let member = &ensemble(id).members_of(id)[usize::from(id) - 1];
                let line = localize_server_lines(&member.server_line(), self.net);
                let config = self
                    .membership()
                    .await
                    .reconfig(&[line], &[])
                    .await
                    .expect("reconfig add");
                assert!(
                    config.voters().contains(&u32::from(id)),
                    "{id} not added: {config:?}"
                );
            }
            MembershipStep::RemoveVoter { id } => {
                let config = self
                    .membership()
                    .await
                    .reconfig(&[], &[u32::from(id)])
                    .await
                    .expect("reconfig remove");
                assert!(
                    !config.voters().contains(&u32::from(id)),
                    "{id} not removed: {config:?}"
                );
            }
            MembershipStep::StopMember { id, .. } => {
                self.kill(id);
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
        tokio::time::sleep(Duration::from_millis(20)).await;
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
            "probe.sh ready fails for member {id}"
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaling_three_to_five_to_three_keeps_serving_writes() {
    let _serial = SERIAL.lock().await;
    let mut local = LocalEnsemble::new(2);
    let three = ensemble(3);
    for id in 1..=3 {
        local.start(&three, id);
    }
    local.wait_quorum().await;

    let stop = Arc::new(AtomicBool::new(false));
    let writes = tokio::spawn(writer(local.super_connection(1..=5), stop.clone()));
    tokio::time::sleep(Duration::from_secs(1)).await;

    let mut executed = Vec::new();
    for desired in [5, 3] {
        let current = local.observed().await;
        let steps = plan_membership(&current, desired).expect("plan");
        for step in steps {
            local.execute(step).await;
            executed.push(step);
            let leader = local.wait_quorum().await;
            let voters = local.observed().await.voters;
            assert!(
                voters.contains(&leader),
                "leader {leader} is not a voter {voters:?}"
            );
            assert!(!writes.is_finished(), "the writer stopped during {step:?}");
        }
        assert_eq!(local.observed().await, Membership::settled(desired));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    let (written, slowest) = writes.await.expect("writer");

    // Every write landed, in order, with its data.
    let s = store(&local.super_connection(1..=3)).await;
    let children = s.children("/scaling").await.expect("list").expect("exists");
    assert_eq!(children.len(), written);
    for i in [0, written / 2, written - 1] {
        let (data, _) = s
            .get(&format!("/scaling/w-{i:06}"))
            .await
            .expect("read")
            .expect("exists");
        assert_eq!(data, i.to_string().as_bytes());
    }

    // A voter restarted after the reconfigurations uses the membership ZooKeeper committed,
    // not the seed (the start script keeps ZooKeeper's dynamicConfigFile pointer).
    local.kill(1);
    local.start(&three, 1);
    local.wait_quorum().await;
    let cfg =
        std::fs::read_to_string(local.member_dir(1).join("data/conf/zoo.cfg")).expect("zoo.cfg");
    let pointer = cfg
        .lines()
        .find_map(|l| l.strip_prefix("dynamicConfigFile="))
        .expect("pointer");
    assert!(
        pointer.contains("zoo.cfg.dynamic.") && !pointer.ends_with("zoo.cfg.dynamic"),
        "{pointer}"
    );

    let expected: BTreeSet<u8> = [1, 2, 3].into();
    assert_eq!(local.observed().await.voters, expected);
    eprintln!(
        "3 -> 5 -> 3 in {} steps ({executed:?}); {written} writes landed, slowest {slowest:?}",
        executed.len()
    );
}
