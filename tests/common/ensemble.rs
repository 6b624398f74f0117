//! `LocalEnsemble`: a ZooKeeper ensemble run from the zookeeper_ensemble resource's RENDERED
//! ConfigMap (zoo.cfg, seed membership, start script, probe and member scripts) and Secret, as
//! real ZooKeeper processes (jars from Maven Central), one per member, with each pod's DNS name
//! mapped to its own loopback address through a hosts file the JVM reads
//! (`-Djdk.net.hosts.file`). Used by tests/ensemble_quorum.rs (quorum, loss, scaling) and by
//! tests/kafka_cluster_real.rs (Kafka brokers in ZooKeeper mode on it).
//!
//! The harness plays the kubelet: it runs start.sh, runs the preStop hook and then sends
//! SIGTERM; and the StatefulSet: one member at a time, with the ConfigMap rendered for each
//! step ([`LocalEnsemble::execute`]).
//!
//! What is rewritten for a host-local run, and nothing else:
//! - the mount paths `/config`, `/data` and `/secret` become per-member directories;
//! - `quorumListenOnAllIPs=true` becomes `false`, and the client address `0.0.0.0` in server
//!   lines becomes the member's loopback address: all members share one host's ports, so each
//!   must bind only its own address (in Kubernetes each pod has its own network namespace);
//! - the probe and member scripts ask the member's loopback address instead of 127.0.0.1.
//!
//! The environment the pod would get: `HOSTNAME` (the pod name), `ZK_SUPER_DIGEST` (from the
//! rendered Secret) and the Secret's password as the file `/secret/super-password`; plus
//! `ZK_HOME` (where the jars are; in the image the script finds `/apache-zookeeper-*-bin`) and
//! `JAVA_TOOL_OPTIONS` for the hosts file.
//!
//! Member `id` listens on 127.77.<net>.(10 + id); `net` comes from the test process id and a
//! slot per test, so tests of one binary running at once do not share addresses.

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zkkafka::adapters::zookeeper::{connect_membership, ZkAuth, ZkConnection};
use zkkafka::resources::zookeeper_ensemble::membership::{Membership, MembershipStep, Role};
use zkkafka::resources::zookeeper_ensemble::render::{render, SUPER_USER};
use zkkafka::resources::zookeeper_ensemble::Ensemble;
use zkkafka::tfvalue::Value;

/// The super user's password of every harness ensemble (rendered into its Secret).
pub const PASSWORD: &str = "quorum-harness-password";
/// How long a member may take to start and join a quorum.
pub const SERVE_TIMEOUT: Duration = Duration::from_secs(90);

/// The ZooKeeper the members run: the bench's (scripts/install-tools.sh, cached).
pub fn zookeeper_home() -> PathBuf {
    super::tools().zookeeper_home.clone()
}

/// The harness's ensemble `data/zk` with `replicas` members.
pub fn ensemble(replicas: u8) -> Ensemble {
    Ensemble::from_value(&Value::object([
        ("name", Value::from("zk")),
        ("namespace", Value::from("data")),
        ("replicas", Value::int(i64::from(replicas))),
    ]))
    .expect("valid model")
}

/// Members of one harness run, each a real ZooKeeper process.
pub struct LocalEnsemble {
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
    pub fn new(net_slot: u8) -> LocalEnsemble {
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

    pub fn addr(&self, id: u8) -> String {
        addr(self.net, id)
    }

    pub fn member_dir(&self, id: u8) -> PathBuf {
        self.dir.path().join(format!("member-{id}"))
    }

    /// The connect string over the given members' client addresses.
    pub fn connect_string(&self, ids: impl IntoIterator<Item = u8>) -> String {
        ids.into_iter()
            .map(|id| format!("{}:2181", self.addr(id)))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Hosts-file lines (`address name`) for a client of `e`, an ensemble this harness runs:
    /// each member's pod DNS name on the member's address, and the client Service's name (the
    /// host of [`Ensemble::connect_string`]) on member `via`'s address. In Kubernetes the
    /// Service has one virtual address that forwards each connection to a ready member; here
    /// that address is one member's, so a client through it reaches that member only.
    pub fn client_hosts(&self, e: &Ensemble, via: u8) -> String {
        let mut lines = String::new();
        for m in e.members() {
            lines.push_str(&format!("{} {}\n", self.addr(m.id), m.host));
        }
        let connect = e.connect_string();
        let (service, _port) = connect.rsplit_once(':').expect("host:port");
        lines.push_str(&format!("{} {service}\n", self.addr(via)));
        lines
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
    pub fn start(&mut self, rendered: &Ensemble, id: u8) {
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
    pub fn pre_stop(&self, id: u8) -> bool {
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
    pub fn terminate(&mut self, id: u8) {
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
    pub fn kill(&mut self, id: u8) {
        if let Some(mut child) = self.running.remove(&id) {
            signal_group(&child, "KILL");
            let _ = child.wait();
        }
    }

    /// Runs the rendered probe script (`alive` or `ready`) for a member.
    pub fn probe(&self, id: u8, mode: &str) -> bool {
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

    pub async fn role(&self, id: u8) -> Role {
        Role::from_four_letter_word(&four_letter_word(&self.addr(id), "srvr").await)
    }

    pub async fn roles(&self) -> BTreeMap<u8, Role> {
        let mut out = BTreeMap::new();
        for id in self.running.keys() {
            out.insert(*id, self.role(*id).await);
        }
        out
    }

    /// Waits until every running member serves, exactly one leads and the rest follow.
    pub async fn wait_quorum(&self) -> u8 {
        let all: BTreeSet<u8> = self.running.keys().copied().collect();
        self.wait_quorum_of(&all).await
    }

    /// Waits until exactly one running member leads and every member of `voters` serves
    /// (followers or the leader); a running member outside `voters` may do anything but lead.
    pub async fn wait_quorum_of(&self, voters: &BTreeSet<u8>) -> u8 {
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
    pub async fn wait_voter(&self, id: u8) {
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

    pub fn log_tail(&self, id: u8) -> String {
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

    pub fn super_connection(&self, ids: impl IntoIterator<Item = u8>) -> ZkConnection {
        let mut conn = ZkConnection::new(self.connect_string(ids));
        conn.auth.push(ZkAuth::digest(SUPER_USER, PASSWORD));
        conn.session_timeout = Duration::from_secs(10);
        conn
    }

    /// The voters of the committed configuration (`/zookeeper/config`), read through the
    /// adapter as the provider would if it could reach the members.
    pub async fn committed_voters(&self) -> BTreeSet<u8> {
        self.committed_voters_from(self.running.keys().copied())
            .await
    }

    /// The same, asking only the given members (a member that was just removed may still
    /// answer with the configuration before its removal).
    pub async fn committed_voters_from(&self, ids: impl IntoIterator<Item = u8>) -> BTreeSet<u8> {
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
    pub async fn observed(&self) -> Membership {
        Membership {
            pods: self.running.keys().copied().max().unwrap_or(0),
            voters: self.committed_voters().await,
        }
    }

    /// Executes one step as Kubernetes and the pods will: the StatefulSet starts or stops one
    /// pod with the ConfigMap rendered for the step; the pods' own scripts reconfigure.
    pub async fn execute(&mut self, step: MembershipStep) {
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

/// Asks a member's client port a four-letter word (`srvr`, `conf`...); empty on no answer.
pub async fn four_letter_word(addr: &str, word: &str) -> String {
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
