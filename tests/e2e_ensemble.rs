//! End to end: the real OpenTofu (and terraform, when on PATH) drives the provider against a
//! real kube-apiserver from scripts/kube.sh, with examples/resources/zkkafka_zookeeper_ensemble:
//! apply, empty plan, drift made by hand with kubectl (replicas, ConfigMap, image, a deleted
//! Service) shown by plan and restored by apply, import into a fresh state plans empty, destroy
//! leaves no object. Then the failures a practitioner meets: RBAC forbidden, a missing
//! namespace, an API server that does not answer.
//!
//! The control plane has no kubelet and no kube-controller-manager: StatefulSets are stored but
//! no pod ever runs. Where the provider waits for ready members, the test plays the StatefulSet
//! controller (see [`Controller`]) by writing `status.readyReplicas` itself. For the same
//! reason no PersistentVolumeClaim is ever created here; tests/e2e_ensemble_ops.rs creates
//! them itself for storage growth and `delete_volumes`.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{kube, tools, Cli, KubeControlPlane, StatefulSetController as Controller, Workdir};

const ADDR: &str = "zkkafka_zookeeper_ensemble.main";

fn example() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/resources/zkkafka_zookeeper_ensemble/resource.tf");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{:x}", std::process::id(), nanos % 0xfffff)
}

fn workdir(cli: Cli, kubeconfig: &std::path::Path, namespace: &str) -> Workdir {
    let wd = Workdir::new(cli, &common::provider_binary());
    wd.write("main.tf", &example());
    wd.write(
        "terraform.tfvars",
        &format!(
            "kubeconfig = {}\nnamespace = {}\n",
            common::hcl_string(&kubeconfig.display().to_string()),
            common::hcl_string(namespace)
        ),
    );
    wd
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

const OBJECTS: [(&str, &str); 6] = [
    ("configmap", "zk-config"),
    ("secret", "zk-super"),
    ("service", "zk-headless"),
    ("service", "zk-client"),
    ("statefulset", "zk"),
    ("poddisruptionbudget", "zk"),
];

#[test]
fn ensemble_example_full_loop() {
    each_cli(|cli| {
        let kube = kube();
        let ns = kube.namespace(&unique("zk-e2e"));
        let _controller = Controller::start(kube, &ns.name);
        let wd = workdir(cli, &kube.admin_kubeconfig, &ns.name);

        let out = wd.apply();
        assert!(out.contains("zk-client"), "{out}");
        for (kind, name) in OBJECTS {
            assert!(exists(kube, &ns.name, kind, name), "{kind}/{name} created");
        }
        wd.assert_plan_empty();

        // replicas changed by hand.
        kube.kubectl(&["scale", "statefulset", "zk", "-n", &ns.name, "--replicas=5"])
            .assert_success();
        let plan = wd.assert_plan_changes();
        assert!(
            plan.contains("StatefulSet/zk"),
            "plan names the StatefulSet:\n{plan}"
        );
        assert!(
            plan.contains("spec.replicas"),
            "warning names the field:\n{plan}"
        );
        wd.apply();
        let sts = kube
            .get_json(&["statefulset", "zk", "-n", &ns.name])
            .unwrap();
        assert_eq!(sts["spec"]["replicas"], 3, "apply restored replicas");
        wd.assert_plan_empty();

        // ConfigMap edited by hand.
        kube.kubectl(&[
            "patch",
            "configmap",
            "zk-config",
            "-n",
            &ns.name,
            "--type=merge",
            "-p",
            r#"{"data":{"zoo.cfg":"tampered=1\n"}}"#,
        ])
        .assert_success();
        let plan = wd.assert_plan_changes();
        assert!(plan.contains("ConfigMap/zk-config"), "{plan}");
        assert!(plan.contains("data.zoo.cfg"), "{plan}");
        wd.apply();
        let cm = kube
            .get_json(&["configmap", "zk-config", "-n", &ns.name])
            .unwrap();
        assert!(cm["data"]["zoo.cfg"]
            .as_str()
            .unwrap()
            .contains("maxClientCnxns=120"));
        wd.assert_plan_empty();

        // Image changed by hand.
        kube.kubectl(&[
            "set",
            "image",
            "statefulset/zk",
            "-n",
            &ns.name,
            "zookeeper=example.invalid/zk:evil",
        ])
        .assert_success();
        let plan = wd.assert_plan_changes();
        assert!(plan.contains("StatefulSet/zk"), "{plan}");
        assert!(plan.contains("containers[0].image"), "{plan}");
        assert!(plan.contains("Pods will roll"), "{plan}");
        wd.apply();
        let sts = kube
            .get_json(&["statefulset", "zk", "-n", &ns.name])
            .unwrap();
        assert_eq!(
            sts["spec"]["template"]["spec"]["containers"][0]["image"],
            "docker.io/library/zookeeper:3.9.3"
        );
        wd.assert_plan_empty();

        // A Service deleted by hand.
        kube.kubectl(&["delete", "service", "zk-client", "-n", &ns.name])
            .assert_success();
        let plan = wd.assert_plan_changes();
        assert!(plan.contains("Service/zk-client"), "{plan}");
        wd.apply();
        assert!(
            exists(kube, &ns.name, "service", "zk-client"),
            "Service restored"
        );
        wd.assert_plan_empty();

        // Import into a fresh state.
        wd.reset_state();
        wd.import(ADDR, &format!("{}/zk", ns.name));
        wd.assert_plan_empty();

        // Everything gone by hand: the plan proposes a create.
        let saved = std::fs::read(wd.path().join("terraform.tfstate")).unwrap();
        wd.destroy();
        for (kind, name) in OBJECTS {
            assert!(!exists(kube, &ns.name, kind, name), "{kind}/{name} deleted");
        }
        std::fs::write(wd.path().join("terraform.tfstate"), saved).unwrap();
        let plan = wd.assert_plan_changes();
        assert!(plan.contains("will be created"), "{plan}");
    });
}

#[test]
fn rbac_forbidden_namespace_missing_and_unreachable_are_diagnostics() {
    let kube = kube();
    // The limited user may do anything in its own namespace, nothing in another.
    let other = kube.namespace(&unique("zk-forbidden"));
    let wd = workdir(Cli::Tofu, &kube.limited_kubeconfig, &other.name);
    let out = wd.try_apply();
    out.assert_failure();
    assert!(out.contains("Kubernetes permission missing"), "{out}");
    assert!(out.contains(&other.name), "names the namespace:\n{out}");

    // A namespace that does not exist.
    let wd = workdir(Cli::Tofu, &kube.admin_kubeconfig, "no-such-namespace");
    let out = wd.try_apply();
    out.assert_failure();
    assert!(out.contains("Namespace does not exist"), "{out}");

    // An API server that does not answer: the admin kubeconfig pointed at a closed port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let text = std::fs::read_to_string(&kube.admin_kubeconfig).unwrap();
    let server_port = kube.server.rsplit(':').next().unwrap();
    let dead = text.replace(
        &format!("127.0.0.1:{server_port}"),
        &format!("127.0.0.1:{port}"),
    );
    let wd = workdir(
        Cli::Tofu,
        std::path::Path::new("dead.kubeconfig"),
        "default",
    );
    wd.write("dead.kubeconfig", &dead);
    let started = Instant::now();
    let out = wd.try_apply();
    out.assert_failure();
    assert!(out.contains("Kubernetes API server unreachable"), "{out}");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
}

/// The provider's kubernetes {} block takes its kubeconfig path from a resource that this run
/// replaces: the block is unknown at plan time, the ensemble cannot be read, and refresh keeps
/// its state instead of failing the plan. The apply, configured with the real path, finds
/// nothing to change.
#[test]
fn kubernetes_settings_unknown_at_plan_time_keep_the_ensemble_state() {
    each_cli(|cli| {
        let kube = kube();
        let ns = kube.namespace(&unique("zk-unknown"));
        let wd = Workdir::new(cli, &common::provider_binary());
        wd.write(
            "main.tf",
            &format!(
                r#"
terraform {{
  required_providers {{
    zkkafka = {{ source = "zkkafka/zkkafka" }}
  }}
}}

variable "rev" {{
  default = 1
}}

resource "terraform_data" "kubeconfig" {{
  input            = {kubeconfig}
  triggers_replace = var.rev
}}

provider "zkkafka" {{
  kubernetes {{
    config_path = terraform_data.kubeconfig.output
  }}
}}

resource "zkkafka_zookeeper_ensemble" "main" {{
  name           = "zk"
  namespace      = {namespace}
  replicas       = 1
  wait_for_ready = false
}}
"#,
                kubeconfig = common::hcl_string(&kube.admin_kubeconfig.display().to_string()),
                namespace = common::hcl_string(&ns.name),
            ),
        );
        wd.apply();
        wd.assert_plan_empty();

        wd.assert_only_replacement_with("rev=2", "terraform_data.kubeconfig", ADDR);
        wd.destroy();
    });
}
