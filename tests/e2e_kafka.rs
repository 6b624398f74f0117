//! End to end for `zkkafka_kafka_cluster`: the real OpenTofu (and terraform, when on PATH)
//! drives the provider against a real kube-apiserver from scripts/kube.sh.
//!
//! - KRaft, examples/resources/zkkafka_kafka_cluster: apply, empty plan, drift made by hand
//!   with kubectl (broker replicas, a broker's server.properties, a deleted Service) shown by
//!   plan with the changed fields and restored by apply, the plan of a scale-up and of a
//!   config change (which pods roll, in which order), refusals at plan time (broker removal,
//!   storage shrink, a controller count change), import into a fresh state plans empty and
//!   keeps the cluster id, destroy leaves no object.
//! - ZooKeeper mode, examples/zookeeper-stack: ensemble, chroot znode with its ACL and a Kafka
//!   3.9 cluster on the ensemble's connect_string plan and apply in one run. The chroot znode
//!   is managed through a real ZooKeeper server (scripts/zookeeper.sh) given as the example's
//!   `zookeeper_address`, standing in for a port-forward to the ensemble, whose pods never run
//!   here.
//!
//! No kubelet and no controllers run: where the provider waits for ready pods the test plays
//! the StatefulSet controller ([`StatefulSetController`]) by writing status itself.

mod common;

use std::path::{Path, PathBuf};

use common::{kube, tools, Cli, KubeControlPlane, StatefulSetController, Workdir};

const ADDR: &str = "zkkafka_kafka_cluster.events";

fn read_example(rel: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{:x}", std::process::id(), nanos % 0xfffff)
}

fn workdir(cli: Cli, main_tf: &str, vars: &[(&str, &str)]) -> Workdir {
    let wd = Workdir::new(cli, &common::provider_binary());
    wd.write("main.tf", main_tf);
    let tfvars: String = vars
        .iter()
        .map(|(k, v)| format!("{k} = {}\n", common::hcl_string(v)))
        .collect();
    wd.write("terraform.tfvars", &tfvars);
    wd
}

fn kraft_workdir(cli: Cli, kubeconfig: &Path, namespace: &str) -> Workdir {
    workdir(
        cli,
        &read_example("examples/resources/zkkafka_kafka_cluster/resource.tf"),
        &[
            ("kubeconfig", &kubeconfig.display().to_string()),
            ("namespace", namespace),
        ],
    )
}

/// Runs `f` with tofu, and with terraform when one is on PATH.
fn each_cli(f: impl Fn(Cli)) {
    f(Cli::Tofu);
    if tools().terraform.is_some() {
        f(Cli::Terraform);
    } else {
        eprintln!("terraform not on PATH: ran with tofu only");
    }
}

fn exists(kube: &KubeControlPlane, ns: &str, kind: &str, name: &str) -> bool {
    kube.get_json(&[kind, name, "-n", ns]).is_some()
}

const KRAFT_OBJECTS: [(&str, &str); 8] = [
    ("configmap", "events-controller-config"),
    ("configmap", "events-broker-config"),
    ("service", "events-headless"),
    ("service", "events-bootstrap"),
    ("statefulset", "events-controller"),
    ("statefulset", "events-broker"),
    ("poddisruptionbudget", "events-controller"),
    ("poddisruptionbudget", "events-broker"),
];

fn cluster_id(wd: &Workdir) -> String {
    wd.resource_values(ADDR).unwrap()["cluster_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn kraft_example_full_loop() {
    each_cli(|cli| {
        let kube = kube();
        let ns = kube.namespace(&unique("kafka-e2e"));
        let _controller = StatefulSetController::start(kube, &ns.name);
        let wd = kraft_workdir(cli, &kube.admin_kubeconfig, &ns.name);

        let out = wd.apply();
        assert!(out.contains("events-bootstrap"), "{out}");
        for (kind, name) in KRAFT_OBJECTS {
            assert!(exists(kube, &ns.name, kind, name), "{kind}/{name} created");
        }
        let id = cluster_id(&wd);
        assert_eq!(id.len(), 22, "a Kafka cluster id: {id}");
        // Every node's file carries the cluster id and its own identity.
        let cm = kube
            .get_json(&["configmap", "events-broker-config", "-n", &ns.name])
            .unwrap();
        let broker1 = cm["data"]["server-1.properties"].as_str().unwrap();
        assert!(broker1.contains("node.id=1\n"), "{broker1}");
        assert!(broker1.contains("min.insync.replicas=2\n"), "{broker1}");
        let start = cm["data"]["start.sh"].as_str().unwrap_or_default();
        assert!(
            start.contains(&id) || cm["data"]["cluster.id"].as_str() == Some(id.as_str()),
            "the nodes format their storage with the planned cluster id"
        );
        wd.assert_plan_empty();

        // Broker replicas changed by hand.
        kube.kubectl(&[
            "scale",
            "statefulset",
            "events-broker",
            "-n",
            &ns.name,
            "--replicas=5",
        ])
        .assert_success();
        let plan = wd.assert_plan_changes();
        assert!(plan.contains("StatefulSet/events-broker"), "{plan}");
        assert!(plan.contains("spec.replicas"), "{plan}");
        wd.apply();
        let sts = kube
            .get_json(&["statefulset", "events-broker", "-n", &ns.name])
            .unwrap();
        assert_eq!(sts["spec"]["replicas"], 3, "apply restored replicas");
        wd.assert_plan_empty();

        // A broker's server.properties edited by hand.
        kube.kubectl(&[
            "patch",
            "configmap",
            "events-broker-config",
            "-n",
            &ns.name,
            "--type=merge",
            "-p",
            r#"{"data":{"server-0.properties":"tampered=1\n"}}"#,
        ])
        .assert_success();
        let plan = wd.assert_plan_changes();
        assert!(plan.contains("ConfigMap/events-broker-config"), "{plan}");
        assert!(plan.contains("server-0.properties"), "{plan}");
        wd.apply();
        let cm = kube
            .get_json(&["configmap", "events-broker-config", "-n", &ns.name])
            .unwrap();
        assert!(cm["data"]["server-0.properties"]
            .as_str()
            .unwrap()
            .contains("node.id=0\n"));
        wd.assert_plan_empty();

        // A Service deleted by hand.
        kube.kubectl(&["delete", "service", "events-bootstrap", "-n", &ns.name])
            .assert_success();
        let plan = wd.assert_plan_changes();
        assert!(plan.contains("Service/events-bootstrap"), "{plan}");
        wd.apply();
        assert!(exists(kube, &ns.name, "service", "events-bootstrap"));
        wd.assert_plan_empty();

        // Import into a fresh state: the same arguments and the same cluster id.
        wd.reset_state();
        wd.import(ADDR, &format!("{}/events", ns.name));
        wd.assert_plan_empty();
        assert_eq!(cluster_id(&wd), id, "import keeps the cluster id");

        wd.destroy();
        for (kind, name) in KRAFT_OBJECTS {
            assert!(!exists(kube, &ns.name, kind, name), "{kind}/{name} deleted");
        }
    });
}

#[test]
fn kraft_plans_say_what_rolls_and_refuse_unsafe_changes() {
    let kube = kube();
    let ns = kube.namespace(&unique("kafka-plan"));
    let _controller = StatefulSetController::start(kube, &ns.name);
    let example = read_example("examples/resources/zkkafka_kafka_cluster/resource.tf");
    let wd = kraft_workdir(Cli::Tofu, &kube.admin_kubeconfig, &ns.name);
    wd.apply();

    // More brokers: only the broker objects change, nobody rolls.
    wd.write(
        "main.tf",
        &example.replace("brokers   = 3", "brokers   = 5"),
    );
    let plan = wd.assert_plan_changes();
    assert!(plan.contains("Brokers go from 3 to 5"), "{plan}");
    assert!(plan.contains("Pods will not roll"), "{plan}");
    assert!(
        !plan.contains("StatefulSet/events-controller will"),
        "{plan}"
    );
    wd.apply();
    let sts = kube
        .get_json(&["statefulset", "events-broker", "-n", &ns.name])
        .unwrap();
    assert_eq!(sts["spec"]["replicas"], 5);
    let cm = kube
        .get_json(&["configmap", "events-broker-config", "-n", &ns.name])
        .unwrap();
    assert!(cm["data"]["server-4.properties"]
        .as_str()
        .is_some_and(|p| p.contains("node.id=4\n")));
    wd.assert_plan_empty();

    // Back to 3 without allow_broker_removal: refused at plan time, with the reason.
    wd.write("main.tf", &example);
    let out = wd.plan();
    out.assert_failure();
    assert!(out.contains("Removing brokers is refused"), "{out}");
    assert!(out.contains("events-broker-3, events-broker-4"), "{out}");

    // A shared setting: the brokers roll, in order, the controllers do not.
    wd.write(
        "main.tf",
        &example.replace("brokers   = 3", "brokers   = 5").replace(
            "\"log.retention.hours\"        = \"72\"",
            "\"log.retention.hours\"        = \"96\"",
        ),
    );
    let plan = wd.assert_plan_changes();
    // Warnings are wrapped to the terminal width: compare with whitespace collapsed.
    let text = plan
        .combined()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        text.contains("StatefulSet/events-broker will change"),
        "{plan}"
    );
    assert!(
        text.contains("Pods will roll. Brokers roll one at a time"),
        "{plan}"
    );
    assert!(
        text.contains(
            "events-broker-0, events-broker-1, events-broker-2, events-broker-3, events-broker-4"
        ),
        "the roll order is named:\n{plan}"
    );
    assert!(
        !plan.contains("StatefulSet/events-controller will"),
        "{plan}"
    );

    // Storage cannot shrink; the controller count cannot change.
    wd.write(
        "main.tf",
        &example
            .replace("brokers   = 3", "brokers   = 5")
            .replace("size = \"20Gi\"", "size = \"10Gi\""),
    );
    let out = wd.plan();
    out.assert_failure();
    assert!(out.contains("Storage cannot shrink"), "{out}");
    wd.write(
        "main.tf",
        &example
            .replace("brokers   = 3", "brokers   = 5")
            .replace("controllers = 3", "controllers = 5"),
    );
    let out = wd.plan();
    out.assert_failure();
    assert!(out.contains("Controller count cannot change"), "{out}");

    // ZooKeeper mode with Kafka 4 is refused with the reason.
    wd.write(
        "main.tf",
        &example.replace(
            "kraft {\n    controllers = 3\n  }",
            "zookeeper {\n    connect_string = \"zk-client.data.svc.cluster.local:2181\"\n  }",
        ),
    );
    let out = wd.plan();
    out.assert_failure();
    assert!(out.contains("4.1.2"), "{out}");

    wd.write(
        "main.tf",
        &example.replace("brokers   = 3", "brokers   = 5"),
    );
    wd.destroy();
    assert!(!exists(kube, &ns.name, "statefulset", "events-broker"));

    // A namespace that does not exist: a diagnostic at apply, never a hang.
    let wd = kraft_workdir(Cli::Tofu, &kube.admin_kubeconfig, "no-such-namespace");
    let out = wd.try_apply();
    out.assert_failure();
    assert!(out.contains("Namespace does not exist"), "{out}");
    // RBAC forbidden: the limited user may do nothing outside its own namespace.
    let other = kube.namespace(&unique("kafka-forbidden"));
    let wd = kraft_workdir(Cli::Tofu, &kube.limited_kubeconfig, &other.name);
    let out = wd.try_apply();
    out.assert_failure();
    assert!(out.contains("Kubernetes permission missing"), "{out}");
}

#[test]
fn zookeeper_stack_applies_in_one_run() {
    each_cli(|cli| {
        let kube = kube();
        let zk = common::zookeeper();
        let ns = kube.namespace(&unique("kafka-zk"));
        let _controller = StatefulSetController::start(kube, &ns.name);
        let password = "stack-admin-secret";
        let wd = workdir(
            cli,
            &read_example("examples/zookeeper-stack/main.tf"),
            &[
                ("kubeconfig", &kube.admin_kubeconfig.display().to_string()),
                ("namespace", &ns.name),
                ("zookeeper_address", &zk.connect_string),
                ("zookeeper_admin_password", password),
            ],
        );
        // The plan of the whole stack knows the cluster's zookeeper.connect before anything
        // exists: no "configure the provider first" step.
        let plan = wd.assert_plan_changes();
        assert!(
            plan.contains(&format!("zk-client.{}.svc.cluster.local:2181", ns.name)),
            "{plan}"
        );
        wd.apply();
        let cm = kube
            .get_json(&["configmap", "events-broker-config", "-n", &ns.name])
            .unwrap();
        let props = cm["data"]["server-2.properties"].as_str().unwrap();
        assert!(
            props.contains(&format!(
                "zookeeper.connect=zk-client.{}.svc.cluster.local:2181/events\n",
                ns.name
            )),
            "{props}"
        );
        assert!(props.contains("broker.id=2\n"), "{props}");
        assert!(exists(kube, &ns.name, "statefulset", "zk"));
        // The chroot and its ACL, read back by ZooKeeper's own CLI.
        assert!(zk.get("/events").is_some(), "chroot created");
        let acl = zk.get_acl("/events");
        assert!(
            acl.iter()
                .any(|(s, id, p)| s == "ip" && id == "10.0.0.0/8" && p == "cdrwa"),
            "{acl:?}"
        );
        assert!(acl.iter().any(|(s, _, _)| s == "digest"), "{acl:?}");
        wd.assert_plan_empty();

        // Import of the cluster into a fresh state plans empty for it.
        let state = std::fs::read(wd.path().join("terraform.tfstate")).unwrap();
        wd.run(&["state", "rm", ADDR]).assert_success();
        wd.import(ADDR, &format!("{}/events", ns.name));
        wd.assert_plan_empty();
        drop(state);

        wd.destroy();
        assert!(!exists(kube, &ns.name, "statefulset", "events-broker"));
        assert!(!exists(kube, &ns.name, "statefulset", "zk"));
        assert!(zk.get("/events").is_none(), "chroot removed");
    });
}
