//! Proof that the rendered Kafka configuration is real: each node's server.properties, the
//! start script and the log configuration from the rendered ConfigMaps run as real Kafka
//! processes (jars from Maven Central, scripts/install-tools.sh), one per pod, with each pod's
//! DNS name mapped to its own loopback address through a hosts file the JVM reads
//! (`-Djdk.net.hosts.file`). Clients are Kafka's own Java tools (TopicCommand,
//! VerifiableProducer, ConsoleConsumer) resolving the same names, so they bootstrap from and
//! follow the advertised listeners as in-cluster clients would.
//!
//! Two modes:
//! - KRaft on Kafka 4: 3 controllers and 3 brokers;
//! - ZooKeeper mode on Kafka 3.9: 3 brokers on a real 3-member ZooKeeper ensemble run from the
//!   zookeeper_ensemble resource's own rendered configuration
//!   ([`common::ensemble::LocalEnsemble`]), reached through the ensemble's `connect_string`
//!   (its client Service name) under a chroot that does not exist beforehand.
//!
//! What is rewritten for a host-local run, and nothing else:
//! - the mount paths `/config` and `/data` become per-node directories;
//! - `0.0.0.0` in `listeners` becomes the node's loopback address: all nodes share one host's
//!   ports, so each must bind only its own address (in Kubernetes each pod has its own network
//!   namespace).
//!
//! The environment the pod would get: `HOSTNAME` (the pod name) and `KAFKA_HEAP` (the
//! rendered `jvm_heap`); plus `KAFKA_HOME` (where the jars are; in the image the script uses
//! /opt/kafka) and `JAVA_TOOL_OPTIONS` for the hosts file and a quicker JIT on this small
//! machine.
//!
//! Each scenario: a topic with 3 replicas and `min.insync.replicas=2`; messages produced with
//! `acks=all` and consumed back; then a producer keeps going while one broker is killed
//! (SIGKILL); every acknowledged message must be read back. One scenario at a time
//! ([`SERIAL`]): each node is a JVM and the machine is small.

mod common;

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::ensemble::{ensemble, LocalEnsemble};
use common::{run_with_timeout, CliOutput};
use zkkafka::adapters::zookeeper::{connect, ZnodeStore};
use zkkafka::resources::kafka_cluster::render::config_map;
use zkkafka::resources::kafka_cluster::roll::active_controller_in_log;
use zkkafka::resources::kafka_cluster::{KafkaCluster, Role};
use zkkafka::tfvalue::Value;

/// How long a node may take to open its listener.
const START_TIMEOUT: Duration = Duration::from_secs(180);
/// How long one client tool run may take.
const TOOL_TIMEOUT: Duration = Duration::from_secs(180);
const TOPIC: &str = "proof";
/// Messages in the first, calm round.
const CALM_MESSAGES: u32 = 300;
/// Messages produced while a broker is lost, at [`THROUGHPUT`] per second.
const LOSS_MESSAGES: u32 = 3000;
const THROUGHPUT: u32 = 150;
const HEAP: &str = "256m";
/// When the broker dies, after the loss round's producer started.
const KILL_AFTER: Duration = Duration::from_secs(8);

/// One scenario at a time: the machine is small and every node is a JVM.
static SERIAL: Mutex<()> = Mutex::new(());

/// A fixed cluster id: the provider generates one per cluster and keeps it in state.
const CLUSTER_ID: &str = "zkKafkaRealTestId000Aw";

/// One Kafka cluster's nodes, each a real Kafka process.
struct LocalCluster {
    dir: tempfile::TempDir,
    cluster: KafkaCluster,
    kafka_home: PathBuf,
    hosts_file: PathBuf,
    net: u8,
    running: Vec<((Role, u32), Child)>,
}

impl LocalCluster {
    /// `other_hosts`: more hosts-file lines (`address name`), e.g. a ZooKeeper ensemble's.
    fn new(
        cluster: KafkaCluster,
        kafka_home: PathBuf,
        net_slot: u8,
        other_hosts: &str,
    ) -> LocalCluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let net = (std::process::id() % 40) as u8 * 5 + net_slot;
        let mut hosts = String::from("127.0.0.1 localhost\n");
        if let Ok(name) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
            hosts.push_str(&format!("127.0.0.1 {}\n", name.trim()));
        }
        for role in cluster.roles() {
            for i in 0..cluster.replicas(role) {
                hosts.push_str(&format!(
                    "{} {}\n",
                    addr(net, role, i),
                    cluster.host(role, i)
                ));
            }
        }
        hosts.push_str(other_hosts);
        let hosts_file = dir.path().join("hosts");
        std::fs::write(&hosts_file, hosts).expect("write hosts file");
        LocalCluster {
            dir,
            cluster,
            kafka_home,
            hosts_file,
            net,
            running: Vec::new(),
        }
    }

    fn node_dir(&self, role: Role, ordinal: u32) -> PathBuf {
        self.dir.path().join(format!("{}-{ordinal}", role.as_str()))
    }

    fn java_tool_options(&self) -> String {
        format!(
            "-Djdk.net.hosts.file={} -XX:TieredStopAtLevel=1",
            self.hosts_file.display()
        )
    }

    /// Writes the role's ConfigMap files, localized, and starts the rendered start script.
    fn start(&mut self, role: Role, ordinal: u32) {
        let node = self.node_dir(role, ordinal);
        let (config_dir, data_dir) = (node.join("config"), node.join("data"));
        std::fs::create_dir_all(&config_dir).expect("config dir");
        std::fs::create_dir_all(&data_dir).expect("data dir");
        let cm = config_map(&self.cluster, role).object;
        let address = addr(self.net, role, ordinal);
        for (name, content) in cm["data"].as_object().expect("ConfigMap data") {
            let text = content
                .as_str()
                .expect("text")
                .replace("/config/", &format!("{}/", config_dir.display()))
                .replace("=/data", &format!("={}", data_dir.display()))
                .replace("://0.0.0.0:", &format!("://{address}:"));
            std::fs::write(config_dir.join(name), text).expect("write ConfigMap file");
        }
        let log = std::fs::File::create(node.join("kafka.log")).expect("log file");
        let child = Command::new("bash")
            .arg(config_dir.join("start.sh"))
            .env("HOSTNAME", self.cluster.pod_name(role, ordinal))
            .env("KAFKA_HOME", &self.kafka_home)
            .env("KAFKA_HEAP", HEAP)
            .env("JAVA_TOOL_OPTIONS", self.java_tool_options())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("start node");
        self.running.push(((role, ordinal), child));
    }

    fn start_all(&mut self) {
        for role in self.cluster.roles() {
            for i in 0..self.cluster.replicas(role) {
                self.start(role, i);
            }
        }
    }

    /// The readiness probe's check: the node's first listener accepts connections.
    fn listening(&self, role: Role, ordinal: u32) -> bool {
        let port = match role {
            Role::Controller => 9093,
            Role::Broker => self.cluster.listeners[0].port,
        };
        let sa: SocketAddr = format!("{}:{port}", addr(self.net, role, ordinal))
            .parse()
            .expect("address");
        TcpStream::connect_timeout(&sa, Duration::from_millis(500)).is_ok()
    }

    fn wait_all_ready(&self) {
        let deadline = Instant::now() + START_TIMEOUT;
        for ((role, i), _) in &self.running {
            while !self.listening(*role, *i) {
                assert!(
                    Instant::now() < deadline,
                    "{} {i} did not open its listener within {START_TIMEOUT:?}; log:\n{}",
                    role.as_str(),
                    self.log_tail(*role, *i)
                );
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }

    /// Takes a running node's process out of the cluster's care (to kill it from elsewhere).
    fn take(&mut self, role: Role, ordinal: u32) -> Child {
        let pos = self
            .running
            .iter()
            .position(|(k, _)| *k == (role, ordinal))
            .expect("node running");
        self.running.remove(pos).1
    }

    fn log_tail(&self, role: Role, ordinal: u32) -> String {
        let text = std::fs::read_to_string(self.node_dir(role, ordinal).join("kafka.log"))
            .unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(25)..].join("\n")
    }

    /// The brokers' advertised addresses: what clients bootstrap from.
    fn bootstrap(&self) -> String {
        (0..self.cluster.replicas(Role::Broker))
            .map(|i| {
                format!(
                    "{}:{}",
                    self.cluster.host(Role::Broker, i),
                    self.cluster.listeners[0].port
                )
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Runs one of Kafka's Java tools with the cluster's hosts file.
    fn tool(&self, class: &str, args: &[&str], timeout: Duration) -> CliOutput {
        let mut cmd = Command::new("nice");
        cmd.args(["-n", "19", "java", "-Xmx256m", "-cp"])
            .arg(format!("{}/libs/*", self.kafka_home.display()))
            .arg(class)
            .args(args)
            .env("JAVA_TOOL_OPTIONS", self.java_tool_options());
        run_with_timeout(cmd, None, timeout)
    }

    fn create_topic(&self) {
        let bootstrap = self.bootstrap();
        let out = self.tool(
            "org.apache.kafka.tools.TopicCommand",
            &[
                "--bootstrap-server",
                &bootstrap,
                "--create",
                "--topic",
                TOPIC,
                "--partitions",
                "3",
                "--replication-factor",
                "3",
                "--config",
                "min.insync.replicas=2",
            ],
            TOOL_TIMEOUT,
        );
        assert!(out.success(), "creating the topic failed:\n{out}");
    }

    /// Produces `count` messages `<round>.<n>` with acks=all; returns the acknowledged ones.
    fn produce(&self, round: u32, count: u32) -> Vec<String> {
        self.produce_with(round, count, || {})
    }

    /// As [`Self::produce`], calling `during` (on this thread) while the producer runs.
    fn produce_with(&self, round: u32, count: u32, during: impl FnOnce()) -> Vec<String> {
        let bootstrap = self.bootstrap();
        let props = self.dir.path().join(format!("producer-{round}.properties"));
        // VerifiableProducer defaults to retries=0; retry (idempotently, so without duplicates)
        // as real producers do.
        std::fs::write(
            &props,
            "acks=all\nenable.idempotence=true\nretries=2147483647\ndelivery.timeout.ms=120000\n",
        )
        .expect("producer config");
        let mut cmd = Command::new("nice");
        let (max, throughput) = (count.to_string(), THROUGHPUT.to_string());
        cmd.args(["-n", "19", "java", "-Xmx256m", "-cp"])
            .arg(format!("{}/libs/*", self.kafka_home.display()))
            .arg("org.apache.kafka.tools.VerifiableProducer")
            .args([
                "--bootstrap-server",
                &bootstrap,
                "--topic",
                TOPIC,
                "--max-messages",
                &max,
                "--throughput",
                &throughput,
                "--acks",
                "-1",
                "--value-prefix",
                &round.to_string(),
                "--producer.config",
            ])
            .arg(&props)
            .env("JAVA_TOOL_OPTIONS", self.java_tool_options());
        let runner = std::thread::spawn(move || run_with_timeout(cmd, None, TOOL_TIMEOUT));
        during();
        let out = runner.join().expect("producer thread");
        assert!(out.success(), "the producer failed:\n{out}");
        let acked: Vec<String> = out
            .stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|j| j["name"] == "producer_send_success")
            .filter_map(|j| j["value"].as_str().map(str::to_owned))
            .collect();
        acked
    }

    /// Reads the whole topic from the beginning (at least `at_least` messages).
    fn consume_all(&self, at_least: usize) -> Vec<String> {
        let bootstrap = self.bootstrap();
        let max = at_least.to_string();
        let out = self.tool(
            "org.apache.kafka.tools.consumer.ConsoleConsumer",
            &[
                "--bootstrap-server",
                &bootstrap,
                "--topic",
                TOPIC,
                "--from-beginning",
                "--max-messages",
                &max,
                "--timeout-ms",
                "60000",
            ],
            TOOL_TIMEOUT,
        );
        let values: Vec<String> = out.stdout.lines().map(str::to_owned).collect();
        assert!(
            values.len() >= at_least,
            "read {} of {at_least} messages:\n{out}",
            values.len()
        );
        values
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        for (_, child) in &mut self.running {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() && std::env::var_os("ZKKAFKA_KEEP_FAILED").is_some() {
            let kept = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir"));
            eprintln!("kept {}", kept.keep().display());
        }
    }
}

/// Controllers at 127.78.<net>.(10 + ordinal), brokers at 127.78.<net>.(50 + ordinal).
fn addr(net: u8, role: Role, ordinal: u32) -> String {
    let base = match role {
        Role::Controller => 10,
        Role::Broker => 50,
    };
    format!("127.78.{net}.{}", base + ordinal)
}

fn cluster(mode: (&str, Value), version: &str) -> KafkaCluster {
    KafkaCluster::from_value(&Value::object([
        ("name", Value::from("events")),
        ("namespace", Value::from("data")),
        ("brokers", Value::int(3)),
        ("version", Value::from(version)),
        ("cluster_id", Value::from(CLUSTER_ID)),
        ("jvm_heap", Value::from(HEAP)),
        mode,
    ]))
    .expect("valid model")
}

/// The scenario both modes run once their nodes are up.
fn no_acknowledged_message_is_lost(local: &mut LocalCluster) {
    local.wait_all_ready();
    local.create_topic();

    let calm = local.produce(1, CALM_MESSAGES);
    assert_eq!(
        calm.len(),
        CALM_MESSAGES as usize,
        "every calm message is acknowledged"
    );
    let read = local.consume_all(calm.len());
    let read: BTreeSet<&String> = read.iter().collect();
    assert!(
        calm.iter().all(|v| read.contains(v)),
        "calm messages read back"
    );

    // Keep producing while broker 1 dies (SIGKILL, a few seconds in): acks=all with 3
    // replicas and min.insync.replicas=2 goes on with the other two.
    let victim = 1;
    let mut victim_process = local.take(Role::Broker, victim);
    let lossy = local.produce_with(2, LOSS_MESSAGES, || {
        std::thread::sleep(KILL_AFTER);
        let _ = victim_process.kill();
        let _ = victim_process.wait();
    });
    assert!(
        !local.listening(Role::Broker, victim),
        "broker {victim} is down"
    );
    assert!(
        lossy.len() as f64 >= f64::from(LOSS_MESSAGES) * 0.9,
        "producing went on with a broker down: {} of {LOSS_MESSAGES} acknowledged",
        lossy.len()
    );
    let total = calm.len() + lossy.len();
    let read = local.consume_all(total);
    let read: BTreeSet<&String> = read.iter().collect();
    let lost: Vec<&String> = calm
        .iter()
        .chain(lossy.iter())
        .filter(|v| !read.contains(v))
        .collect();
    assert!(lost.is_empty(), "acknowledged messages lost: {lost:?}");
    eprintln!(
        "{} acknowledged ({} calm, {} with broker {victim} killed after {KILL_AFTER:?}), all read back",
        total,
        calm.len(),
        lossy.len()
    );
}

#[test]
fn kraft_on_kafka_4_three_controllers_three_brokers() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let home = common::kafka_home("kafka4");
    let version = std::fs::read_to_string(home.join("VERSION")).expect("VERSION");
    let c = cluster(
        ("kraft", Value::object([("controllers", Value::int(3))])),
        version.trim(),
    );
    assert_eq!(c.roles(), [Role::Controller, Role::Broker]);
    let mut local = LocalCluster::new(c, home, 0, "");
    local.start_all();
    no_acknowledged_message_is_lost(&mut local);
    the_active_controller_is_found_in_the_logs(&mut local);
}

/// The controllers whose log says they are the active controller, read the way the provider
/// reads `pods/log` before a roll ([`active_controller_in_log`]).
fn active_controllers(local: &LocalCluster, among: &[u32]) -> Vec<u32> {
    among
        .iter()
        .copied()
        .filter(|o| {
            let log =
                std::fs::read_to_string(local.node_dir(Role::Controller, *o).join("kafka.log"))
                    .unwrap_or_default();
            active_controller_in_log(&log) == Some(true)
        })
        .collect()
}

/// Exactly one controller's log names it active; when it dies, exactly one of the others
/// takes over and its log says so, while the dead one's last word is still "Leader" (which
/// is why the provider only asks pods that are ready).
fn the_active_controller_is_found_in_the_logs(local: &mut LocalCluster) {
    let all: Vec<u32> = (0..local.cluster.replicas(Role::Controller)).collect();
    let first = active_controllers(local, &all);
    assert_eq!(
        first.len(),
        1,
        "one active controller by the logs: {first:?}"
    );
    let victim = first[0];
    let mut process = local.take(Role::Controller, victim);
    let _ = process.kill();
    let _ = process.wait();
    let rest: Vec<u32> = all.iter().copied().filter(|o| *o != victim).collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = active_controllers(local, &rest);
        if now.len() == 1 {
            eprintln!(
                "controller {victim} was active; after it died, controller {} took over",
                now[0]
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no single new active controller among {rest:?} within 60 s: {now:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The chroot the ZooKeeper-mode cluster asks for; neither it nor its parent exists before the
/// brokers start.
const CHROOT: &str = "/kafka/events";

/// The children of the znode at `path`; `None` when it does not exist.
async fn children(zk: &dyn ZnodeStore, path: &str) -> Option<BTreeSet<String>> {
    zk.children(path)
        .await
        .unwrap_or_else(|e| panic!("listing {path}: {e}"))
        .map(|c| c.into_iter().collect())
}

#[test]
fn zookeeper_mode_on_kafka_3_on_a_rendered_ensemble_under_a_new_chroot() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");

    // The ensemble: 3 members from the zookeeper_ensemble resource's rendered configuration.
    let e = ensemble(3);
    let mut zk = LocalEnsemble::new(3);
    for id in 1..=3 {
        zk.start(&e, id);
    }
    rt.block_on(zk.wait_quorum());
    let store = rt
        .block_on(connect(&zk.super_connection(1..=3)))
        .expect("ZooKeeper session");
    let root_before = rt.block_on(children(&*store, "/")).expect("root");
    assert_eq!(
        root_before,
        BTreeSet::from(["zookeeper".to_string()]),
        "a fresh ensemble holds only /zookeeper"
    );

    // The cluster points at the ensemble's connect_string, the client Service's DNS name;
    // the hosts file maps it (and the members' pod names) onto the members' addresses.
    let home = common::kafka_home("kafka");
    let version = std::fs::read_to_string(home.join("VERSION")).expect("VERSION");
    let version = version.trim();
    assert!(
        version.starts_with("3."),
        "ZooKeeper mode needs Kafka 3.x, not {version}"
    );
    let c = cluster(
        (
            "zookeeper",
            Value::object([
                ("connect_string", Value::from(e.connect_string())),
                ("chroot", Value::from(CHROOT)),
            ]),
        ),
        version,
    );
    assert_eq!(c.roles(), [Role::Broker]);
    let properties = config_map(&c, Role::Broker).object["data"]["server-0.properties"]
        .as_str()
        .expect("server-0.properties")
        .to_owned();
    assert!(
        properties
            .contains("\nzookeeper.connect=zk-client.data.svc.cluster.local:2181/kafka/events\n"),
        "{properties}"
    );
    let mut local = LocalCluster::new(c, home, 1, &zk.client_hosts(&e, 1));
    local.start_all();
    local.wait_all_ready();

    // Every broker registered under the chroot (a broker may open its listener a moment
    // before it registers); nothing Kafka owns sits at the root.
    let ids_path = format!("{CHROOT}/brokers/ids");
    let want_ids: BTreeSet<String> = ["0", "1", "2"].map(String::from).into();
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let ids = rt
            .block_on(children(&*store, &ids_path))
            .unwrap_or_default();
        if ids == want_ids {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "brokers registered under {ids_path}: {ids:?}; broker 0 log:\n{}",
            local.log_tail(Role::Broker, 0)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let root = rt.block_on(children(&*store, "/")).expect("root");
    assert_eq!(
        root,
        BTreeSet::from(["kafka".to_string(), "zookeeper".to_string()]),
        "only the chroot's first segment is new at the root (no /brokers, /controller...)"
    );
    assert_eq!(
        rt.block_on(children(&*store, "/kafka")),
        Some(BTreeSet::from(["events".to_string()]))
    );
    let under = rt
        .block_on(children(&*store, CHROOT))
        .expect("chroot exists");
    for owned in ["brokers", "cluster", "config", "controller_epoch"] {
        assert!(under.contains(owned), "{CHROOT}/{owned} missing: {under:?}");
    }
    eprintln!("ZooKeeper root {root:?}; under {CHROOT}: {under:?}");

    no_acknowledged_message_is_lost(&mut local);
    drop(local);
    drop(zk);
}
