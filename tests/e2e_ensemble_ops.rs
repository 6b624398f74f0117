//! End to end, against the real control plane of scripts/kube.sh (kube-apiserver and etcd; no
//! kubelet, no kube-controller-manager), driven by the real OpenTofu (and terraform, when on
//! PATH): what `zkkafka_zookeeper_ensemble` promises about operating an ensemble.
//!
//! - Scaling 3 -> 5 -> 3 moves one member at a time, the seed membership with it.
//! - Growing `storage.size` resizes the claims and recreates the StatefulSet with no diff left;
//!   shrinking is refused at plan time; a `storage.class` change plans a replacement.
//! - Destroy keeps the claims unless `delete_volumes = true`.
//! - An object the API server rejects mid-apply (a ValidatingAdmissionPolicy) fails the apply
//!   naming it; state keeps what was created; the next apply finishes the job.
//! - A readiness wait ends at the `timeouts` limit and on Ctrl-C, keeping the objects in state.
//!
//! Nothing acts on stored objects here, so the tests play the missing controllers where the
//! provider depends on them, and say so: [`StatefulSetController`] writes StatefulSet status;
//! [`BoundClaims`] creates the claims the StatefulSet controller would, bound to volumes as the
//! persistent-volume controller would bind them.

mod common;

use std::collections::BTreeSet;
use std::io::{BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};

use common::{kube, tools, Cli, CliOutput, KubeControlPlane, Workdir};

const ADDR: &str = "zkkafka_zookeeper_ensemble.main";

/// Every object of an ensemble named `zk`, as `kubernetes_objects` names them.
const ALL_OBJECTS: [&str; 6] = [
    "ConfigMap/zk-config",
    "PodDisruptionBudget/zk",
    "Secret/zk-super",
    "Service/zk-client",
    "Service/zk-headless",
    "StatefulSet/zk",
];

/// How long one CLI command may run before the test calls it a hang and kills it. A hang
/// detector only: nothing here asserts how fast anything is.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// A StorageClass that allows expansion, made by these tests (cluster-scoped, kept).
const EXPANDABLE_CLASS: &str = "zkkafka-e2e-expandable";

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{:x}", std::process::id(), nanos % 0xfffff)
}

/// A configuration with one ensemble `zk` in `namespace`; `body` holds the rest of its
/// arguments, one per line.
fn main_tf(kubeconfig: &Path, namespace: &str, body: &str) -> String {
    format!(
        r#"terraform {{
  required_providers {{
    zkkafka = {{
      source = "zkkafka/zkkafka"
    }}
  }}
}}

provider "zkkafka" {{
  kubernetes {{
    config_path = {kubeconfig}
  }}
}}

resource "zkkafka_zookeeper_ensemble" "main" {{
  name      = "zk"
  namespace = {namespace}
{body}
}}
"#,
        kubeconfig = common::hcl_string(&kubeconfig.display().to_string()),
        namespace = common::hcl_string(namespace),
    )
}

fn workdir(cli: Cli) -> Workdir {
    let mut wd = Workdir::new(cli, &common::provider_binary());
    wd.set_timeout(HANG_GUARD);
    wd
}

/// The keys of `kubernetes_objects` in state.
fn state_objects(wd: &Workdir) -> BTreeSet<String> {
    let values = wd
        .resource_values(ADDR)
        .unwrap_or_else(|| panic!("{ADDR} is not in state"));
    values["kubernetes_objects"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// Whether the state marks the ensemble tainted.
fn tainted(wd: &Workdir) -> bool {
    let state = wd.state_json();
    state
        .pointer("/values/root_module/resources")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .find(|r| r["address"] == ADDR)
        .is_some_and(|r| r["tainted"] == true)
}

/// The CLI's output with its line wrapping undone (diagnostics wrap at 80 columns).
fn flat(out: &CliOutput) -> String {
    out.combined()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn set_of(keys: &[&str]) -> BTreeSet<String> {
    keys.iter().map(|k| (*k).to_owned()).collect()
}

/// `Kind/name` (as in `kubernetes_objects`) to the kubectl resource and name.
fn kubectl_name(key: &str) -> (String, &str) {
    let (kind, name) = key.split_once('/').unwrap();
    (kind.to_ascii_lowercase(), name)
}

fn exists(kube: &KubeControlPlane, ns: &str, key: &str) -> bool {
    let (kind, name) = kubectl_name(key);
    kube.get_json(&[&kind, name, "-n", ns]).is_some()
}

/// The `Kind/name` of every object of the ensemble that exists in the namespace.
fn existing_objects(kube: &KubeControlPlane, ns: &str) -> BTreeSet<String> {
    ALL_OBJECTS
        .iter()
        .filter(|k| exists(kube, ns, k))
        .map(|k| (*k).to_owned())
        .collect()
}

/// The members listed in the seed membership (`server.N=` lines of `zoo.cfg.dynamic`).
fn seed_members(config_map: &Json) -> Vec<String> {
    config_map["data"]["zoo.cfg.dynamic"]
        .as_str()
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("server."))
        .filter_map(|l| l.split_once('='))
        .map(|(id, _)| id.to_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Playing the StatefulSet controller

/// Plays the StatefulSet controller, which this control plane does not run (no pod ever
/// runs): it watches the namespace's StatefulSets (`kubectl get --watch`) and, a short while
/// after `spec.replicas` or the generation changes, writes the status the controller writes
/// once every pod is ready (`replicas`, `readyReplicas`, `currentReplicas`, `updatedReplicas`,
/// `availableReplicas`, `observedGeneration`). It records every `spec.replicas` value it sees,
/// in order, with the members of the ConfigMap's seed membership at that moment.
struct StatefulSetController {
    watch: Child,
    thread: Option<std::thread::JoinHandle<()>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

/// One `spec.replicas` value the played controller saw, with the seed membership's members
/// (ids) in the ConfigMap at that moment.
#[derive(Debug, Clone)]
struct Seen {
    replicas: i64,
    seed: Vec<String>,
}

/// How long the played controller takes to "start" pods before it reports them ready.
const CONTROLLER_DELAY: Duration = Duration::from_millis(300);

impl StatefulSetController {
    fn start(kube: &KubeControlPlane, ns: &str) -> StatefulSetController {
        let mut watch = Command::new(&kube.kubectl)
            .arg("--kubeconfig")
            .arg(&kube.admin_kubeconfig)
            .args(["get", "statefulsets", "-n", ns, "--watch", "-o", "json"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting kubectl get --watch");
        let stdout = watch.stdout.take().unwrap();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let (k, ns, record) = (kube.clone(), ns.to_owned(), seen.clone());
        let thread = std::thread::spawn(move || {
            let events = serde_json::Deserializer::from_reader(BufReader::new(stdout));
            for event in events.into_iter::<Json>() {
                let Ok(object) = event else { break };
                let items = match object["kind"].as_str() {
                    Some("List") => object["items"].as_array().cloned().unwrap_or_default(),
                    _ => vec![object],
                };
                for sts in items {
                    Self::observe(&k, &ns, &sts, &record);
                }
            }
        });
        StatefulSetController {
            watch,
            thread: Some(thread),
            seen,
        }
    }

    fn observe(kube: &KubeControlPlane, ns: &str, sts: &Json, record: &Mutex<Vec<Seen>>) {
        if sts.pointer("/metadata/deletionTimestamp").is_some() {
            return;
        }
        let Some(name) = sts.pointer("/metadata/name").and_then(Json::as_str) else {
            return;
        };
        let want = sts["spec"]["replicas"].as_i64().unwrap_or(1);
        let generation = sts["metadata"]["generation"].as_i64().unwrap_or(1);
        {
            let mut seen = record.lock().unwrap();
            if seen.last().map(|s| s.replicas) != Some(want) {
                let seed = kube
                    .get_json(&["configmap", &format!("{name}-config"), "-n", ns])
                    .map(|cm| seed_members(&cm))
                    .unwrap_or_default();
                seen.push(Seen {
                    replicas: want,
                    seed,
                });
            }
        }
        let status = &sts["status"];
        let settled = status["readyReplicas"].as_i64().unwrap_or(0) == want
            && status["replicas"].as_i64().unwrap_or(0) == want
            && status["observedGeneration"].as_i64().unwrap_or(0) == generation;
        if settled {
            return;
        }
        std::thread::sleep(CONTROLLER_DELAY);
        let patch = json!({ "status": {
            "replicas": want, "readyReplicas": want, "currentReplicas": want,
            "updatedReplicas": want, "availableReplicas": want,
            "observedGeneration": generation,
        }});
        // May fail when the StatefulSet was deleted meanwhile; nothing to report then.
        let _ = kube.kubectl(&[
            "patch",
            "statefulset",
            name,
            "-n",
            ns,
            "--subresource=status",
            "--type=merge",
            "-p",
            &patch.to_string(),
        ]);
    }

    /// Every `spec.replicas` value seen so far, in order, with the seed's members then.
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for StatefulSetController {
    fn drop(&mut self) {
        let _ = self.watch.kill();
        let _ = self.watch.wait();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Playing the StatefulSet and persistent-volume controllers for claims

/// The claims `data-zk-<i>` the StatefulSet controller would create from the claim template
/// (with its labels), each bound to a PersistentVolume made for it, as the persistent-volume
/// controller would bind them (`status.phase: Bound` through the status subresource: the API
/// server resizes only bound claims). The protection finalizers are removed, as the
/// pvc-protection and pv-protection controllers do once nothing uses a volume, so a deleted
/// claim really goes. The volumes are deleted on drop.
struct BoundClaims {
    kube: KubeControlPlane,
    volumes: Vec<String>,
}

impl BoundClaims {
    fn create(kube: &KubeControlPlane, ns: &str, count: usize, size: &str) -> BoundClaims {
        let mut items = Vec::new();
        let mut volumes = Vec::new();
        for i in 0..count {
            let claim = format!("data-zk-{i}");
            let volume = format!("{ns}-{claim}");
            items.push(json!({
                "apiVersion": "v1", "kind": "PersistentVolume",
                "metadata": { "name": volume },
                "spec": {
                    "capacity": { "storage": size },
                    "accessModes": ["ReadWriteOnce"],
                    "persistentVolumeReclaimPolicy": "Retain",
                    "storageClassName": EXPANDABLE_CLASS,
                    "hostPath": { "path": format!("/nonexistent/zkkafka-e2e/{volume}") },
                    "claimRef": { "namespace": ns, "name": claim },
                },
            }));
            items.push(json!({
                "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {
                    "name": claim, "namespace": ns,
                    "labels": {
                        "app.kubernetes.io/instance": "zk",
                        "app.kubernetes.io/name": "zookeeper",
                    },
                },
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": EXPANDABLE_CLASS,
                    "volumeName": volume,
                    "resources": { "requests": { "storage": size } },
                },
            }));
            volumes.push(volume);
        }
        let list = json!({ "apiVersion": "v1", "kind": "List", "items": items });
        kube.kubectl_stdin(&["create", "-f", "-"], Some(&list.to_string()))
            .assert_success();
        let no_finalizers = r#"{"metadata":{"finalizers":null}}"#;
        for volume in &volumes {
            kube.kubectl(&["patch", "pv", volume, "--type=merge", "-p", no_finalizers])
                .assert_success();
        }
        let bound = json!({ "status": {
            "phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": { "storage": size },
        }});
        for i in 0..count {
            let claim = format!("data-zk-{i}");
            kube.kubectl(&[
                "patch",
                "pvc",
                &claim,
                "-n",
                ns,
                "--type=merge",
                "-p",
                no_finalizers,
            ])
            .assert_success();
            kube.kubectl(&[
                "patch",
                "pvc",
                &claim,
                "-n",
                ns,
                "--subresource=status",
                "--type=merge",
                "-p",
                &bound.to_string(),
            ])
            .assert_success();
        }
        BoundClaims {
            kube: kube.clone(),
            volumes,
        }
    }
}

impl Drop for BoundClaims {
    fn drop(&mut self) {
        let mut args = vec!["delete", "pv", "--wait=false", "--ignore-not-found"];
        args.extend(self.volumes.iter().map(String::as_str));
        let _ = self.kube.kubectl(&args);
    }
}

/// The expandable StorageClass these tests use (idempotent).
fn expandable_class(kube: &KubeControlPlane) {
    let class = json!({
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": { "name": EXPANDABLE_CLASS },
        "provisioner": "zkkafka.invalid/no-provisioner",
        "allowVolumeExpansion": true,
        "reclaimPolicy": "Retain",
        "volumeBindingMode": "WaitForFirstConsumer",
    });
    kube.kubectl_stdin(
        &[
            "apply",
            "--server-side",
            "--field-manager=zkkafka-e2e",
            "-f",
            "-",
        ],
        Some(&class.to_string()),
    )
    .assert_success();
}

/// `claim name -> (requested size, deletion requested)` of the ensemble's claims.
fn claims(kube: &KubeControlPlane, ns: &str) -> Vec<(String, String, bool)> {
    let list = kube.get_json(&["pvc", "-n", ns]).unwrap();
    list["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|c| {
            (
                c["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                c["spec"]["resources"]["requests"]["storage"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                c["metadata"].get("deletionTimestamp").is_some(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Making the API server reject an object

/// A ValidatingAdmissionPolicy (built into kube-apiserver, no webhook) with its binding that
/// denies one operation (`CREATE` or `UPDATE`) on the Service `name` in one namespace, with
/// the status `reason` (`Invalid`: HTTP 422; `Forbidden`: HTTP 403, as admission webhooks such
/// as policy engines answer by default). Removed, and the removal awaited, on drop.
struct DenyService {
    kube: KubeControlPlane,
    policy: String,
    /// A server-side dry run of the denied request: tells when the policy is in force.
    probe: Vec<String>,
}

const DENY_MESSAGE: &str = "refused by the zkkafka e2e test policy";

impl DenyService {
    fn install(
        kube: &KubeControlPlane,
        ns: &str,
        operation: &str,
        name: &str,
        reason: &str,
    ) -> DenyService {
        let policy = format!("deny-{}-{ns}", operation.to_ascii_lowercase());
        let objects = json!({ "apiVersion": "v1", "kind": "List", "items": [
            {
                "apiVersion": "admissionregistration.k8s.io/v1",
                "kind": "ValidatingAdmissionPolicy",
                "metadata": { "name": policy },
                "spec": {
                    "failurePolicy": "Fail",
                    "matchConstraints": { "resourceRules": [{
                        "apiGroups": [""], "apiVersions": ["v1"],
                        "operations": [operation], "resources": ["services"],
                    }]},
                    "validations": [{
                        "expression": format!("object.metadata.name != '{name}'"),
                        "message": DENY_MESSAGE,
                        "reason": reason,
                    }],
                },
            },
            {
                "apiVersion": "admissionregistration.k8s.io/v1",
                "kind": "ValidatingAdmissionPolicyBinding",
                "metadata": { "name": policy },
                "spec": {
                    "policyName": policy,
                    "validationActions": ["Deny"],
                    "matchResources": { "namespaceSelector": {
                        "matchLabels": { "kubernetes.io/metadata.name": ns },
                    }},
                },
            },
        ]});
        kube.kubectl_stdin(&["create", "-f", "-"], Some(&objects.to_string()))
            .assert_success();
        let probe: &[&str] = match operation {
            "CREATE" => &["create", "service", "clusterip", name, "--tcp=2181:2181"],
            "UPDATE" => &["label", "service", name, "zkkafka-e2e-probe=1"],
            other => panic!("no probe for {other}"),
        };
        let mut probe: Vec<String> = probe.iter().map(|a| (*a).to_owned()).collect();
        probe.extend(["-n", ns, "--dry-run=server"].map(str::to_owned));
        let deny = DenyService {
            kube: kube.clone(),
            policy,
            probe,
        };
        deny.await_enforced(true);
        deny
    }

    /// Waits until the API server's policy informer has caught up.
    fn await_enforced(&self, enforced: bool) {
        let probe: Vec<&str> = self.probe.iter().map(String::as_str).collect();
        let started = Instant::now();
        loop {
            let out = self.kube.kubectl(&probe);
            let denied = !out.success() && flat(&out).contains(DENY_MESSAGE);
            if denied == enforced {
                return;
            }
            assert!(
                started.elapsed() < HANG_GUARD,
                "the policy is still {} after {HANG_GUARD:?}:\n{out}",
                if enforced { "not enforced" } else { "enforced" }
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn remove(self) {
        drop(self);
    }
}

impl Drop for DenyService {
    fn drop(&mut self) {
        let out = self.kube.kubectl(&[
            "delete",
            &format!("validatingadmissionpolicybinding/{}", self.policy),
            &format!("validatingadmissionpolicy/{}", self.policy),
            "--ignore-not-found",
        ]);
        if !std::thread::panicking() {
            out.assert_success();
            self.await_enforced(false);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Interrupting a running CLI

/// Runs `cmd` in its own process group; once `ready()` holds, sends SIGINT to the whole group,
/// as Ctrl-C in a terminal does: the CLI asks its providers to stop (StopProvider), and the
/// provider, which gets the SIGINT too, must ignore it. Kills the group and marks the output
/// timed out if it is still running after `guard`.
fn run_interrupted(mut cmd: Command, ready: impl Fn() -> bool, guard: Duration) -> CliOutput {
    use std::os::unix::process::CommandExt;
    let command = format!("{cmd:?}");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd.spawn().expect("starting the CLI");
    let pid = child.id().to_string();
    let (tx, rx) = mpsc::channel::<(bool, String)>();
    for (is_out, mut pipe) in [
        (
            true,
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
        ),
        (false, Box::new(child.stderr.take().unwrap())),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            let _ = tx.send((is_out, String::from_utf8_lossy(&buf).into_owned()));
        });
    }
    drop(tx);
    let deadline = Instant::now() + guard;
    let mut interrupted = false;
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for the CLI") {
            break status;
        }
        if Instant::now() >= deadline {
            timed_out = true;
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .status();
            break child.wait().expect("waiting for the killed CLI");
        }
        if !interrupted && ready() {
            Command::new("kill")
                .args(["-INT", "--", &format!("-{pid}")])
                .status()
                .expect("sending SIGINT");
            interrupted = true;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(interrupted, "the CLI ended before it could be interrupted");
    let (mut stdout, mut stderr) = (String::new(), String::new());
    for (is_out, text) in rx.iter() {
        if is_out {
            stdout = text;
        } else {
            stderr = text;
        }
    }
    CliOutput {
        command,
        stdout,
        stderr,
        code: status.code().unwrap_or(-1),
        timed_out,
    }
}

// ---------------------------------------------------------------------------------------------
// The tests

#[test]
fn scaling_steps_one_member_at_a_time_up_and_down() {
    let kube = kube();
    let ns = kube.namespace(&unique("zk-scale"));
    let controller = StatefulSetController::start(kube, &ns.name);
    let wd = workdir(Cli::Tofu);
    let config = |replicas: u8| {
        main_tf(
            &kube.admin_kubeconfig,
            &ns.name,
            &format!("  replicas       = {replicas}\n  wait_for_ready = true\n"),
        )
    };
    wd.write("main.tf", &config(3));
    wd.apply();

    wd.write("main.tf", &config(5));
    let plan = wd.assert_plan_changes();
    assert!(
        flat(&plan).contains("Members go from 3 to 5 one at a time"),
        "the plan warns about the scale:\n{plan}"
    );
    wd.apply();
    wd.assert_plan_empty();

    wd.write("main.tf", &config(3));
    let plan = wd.assert_plan_changes();
    assert!(
        flat(&plan).contains("Members go from 5 to 3 one at a time"),
        "the plan warns about the scale:\n{plan}"
    );
    wd.apply();
    wd.assert_plan_empty();

    let seen = controller.seen();
    drop(controller);
    eprintln!("spec.replicas and seed members seen by the played controller: {seen:?}");
    let sizes: Vec<i64> = seen.iter().map(|s| s.replicas).collect();
    assert_eq!(
        sizes,
        [3, 4, 5, 4, 3],
        "spec.replicas as the StatefulSet controller saw it: one member per step"
    );
    for Seen { replicas, seed } in &seen {
        let want: Vec<String> = (1..=*replicas).map(|i| i.to_string()).collect();
        assert_eq!(
            seed, &want,
            "the seed membership when spec.replicas was {replicas}"
        );
    }
    let cm = kube
        .get_json(&["configmap", "zk-config", "-n", &ns.name])
        .unwrap();
    assert_eq!(seed_members(&cm), ["1", "2", "3"], "final seed membership");
    assert!(
        !cm["data"]["zoo.cfg"]
            .as_str()
            .unwrap()
            .lines()
            .any(|l| l.starts_with("server.")),
        "zoo.cfg itself lists no member: membership is in the seed only"
    );
    let sts = kube
        .get_json(&["statefulset", "zk", "-n", &ns.name])
        .unwrap();
    assert_eq!(sts["spec"]["replicas"], 3);
}

#[test]
fn storage_grows_in_place_refuses_to_shrink_and_replaces_on_class_change() {
    let kube = kube();
    expandable_class(kube);
    let ns = kube.namespace(&unique("zk-storage"));
    let wd = workdir(Cli::Tofu);
    let config = |size: &str, class: &str| {
        main_tf(
            &kube.admin_kubeconfig,
            &ns.name,
            &format!(
                "  replicas       = 3\n  wait_for_ready = false\n  storage {{\n    size  = \"{size}\"\n    class = \"{class}\"\n  }}\n"
            ),
        )
    };
    wd.write("main.tf", &config("1Gi", EXPANDABLE_CLASS));
    wd.apply();
    let _claims = BoundClaims::create(kube, &ns.name, 3, "1Gi");
    let old_uid = kube
        .get_json(&["statefulset", "zk", "-n", &ns.name])
        .unwrap()["metadata"]["uid"]
        .clone();

    // Grow.
    wd.write("main.tf", &config("2Gi", EXPANDABLE_CLASS));
    wd.apply();
    let resized = claims(kube, &ns.name);
    assert_eq!(resized.len(), 3, "{resized:?}");
    for (name, size, _) in resized {
        assert_eq!(size, "2Gi", "claim {name} was resized");
    }
    let sts = kube
        .get_json(&["statefulset", "zk", "-n", &ns.name])
        .unwrap();
    assert_ne!(
        sts["metadata"]["uid"], old_uid,
        "the StatefulSet was recreated"
    );
    assert_eq!(
        sts.pointer("/spec/volumeClaimTemplates/0/spec/resources/requests/storage"),
        Some(&json!("2Gi")),
        "with the new claim template"
    );
    wd.assert_plan_empty();

    // Shrink: refused at plan time, at storage.size.
    wd.write("main.tf", &config("1Gi", EXPANDABLE_CLASS));
    let out = wd.run(&["plan", "-json", "-input=false"]);
    out.assert_failure();
    let diagnostic = out
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Json>(l).ok())
        .find(|m| {
            m["type"] == "diagnostic" && m["diagnostic"]["summary"] == "Storage cannot shrink"
        })
        .unwrap_or_else(|| panic!("no \"Storage cannot shrink\" diagnostic:\n{out}"));
    let code = diagnostic
        .pointer("/diagnostic/snippet/code")
        .and_then(Json::as_str)
        .unwrap_or_default();
    assert!(
        code.trim_start().starts_with("size") && code.contains("\"1Gi\""),
        "the diagnostic points at storage.size, not {code:?}:\n{diagnostic:#}"
    );

    // Class change: a replacement, with the reason.
    wd.write("main.tf", &config("2Gi", "another-class"));
    let plan = wd.assert_plan_changes();
    assert!(
        flat(&plan).contains("must be replaced"),
        "a replacement is planned:\n{plan}"
    );
    assert!(flat(&plan).contains("forces replacement"), "{plan}");
    assert!(
        flat(&plan).contains("Storage class change replaces the ensemble"),
        "the plan says why:\n{plan}"
    );
}

#[test]
fn destroy_keeps_claims_unless_delete_volumes() {
    // Cheap enough to run with terraform too when one is on PATH.
    let cli = if tools().terraform.is_some() {
        Cli::Terraform
    } else {
        Cli::Tofu
    };
    let kube = kube();
    expandable_class(kube);
    let ns = kube.namespace(&unique("zk-volumes"));
    let wd = workdir(cli);
    let config = |delete_volumes: bool| {
        main_tf(
            &kube.admin_kubeconfig,
            &ns.name,
            &format!(
                "  replicas       = 3\n  wait_for_ready = false\n  delete_volumes = {delete_volumes}\n  storage {{\n    size  = \"1Gi\"\n    class = \"{EXPANDABLE_CLASS}\"\n  }}\n"
            ),
        )
    };
    wd.write("main.tf", &config(false));
    wd.apply();
    let _claims = BoundClaims::create(kube, &ns.name, 3, "1Gi");
    wd.destroy();
    assert!(existing_objects(kube, &ns.name).is_empty());
    let kept = claims(kube, &ns.name);
    assert_eq!(kept.len(), 3, "delete_volumes = false keeps the claims");
    assert!(
        kept.iter().all(|(_, _, deleting)| !deleting),
        "none is being deleted: {kept:?}"
    );

    wd.write("main.tf", &config(true));
    wd.apply();
    wd.destroy();
    assert!(existing_objects(kube, &ns.name).is_empty());
    let left = claims(kube, &ns.name);
    assert!(
        left.is_empty(),
        "delete_volumes = true removes the claims: {left:?}"
    );
}

#[test]
fn an_object_rejected_mid_apply_fails_naming_it_and_the_next_apply_finishes() {
    let kube = kube();
    let ns = kube.namespace(&unique("zk-partial"));
    let wd = workdir(Cli::Tofu);
    let config = |labels: &str| {
        main_tf(
            &kube.admin_kubeconfig,
            &ns.name,
            &format!("  replicas       = 3\n  wait_for_ready = false\n  labels         = {{ {labels} }}\n"),
        )
    };
    wd.write("main.tf", &config(""));

    // Create: the client Service is refused; the objects applied before it stay.
    let policy = DenyService::install(kube, &ns.name, "CREATE", "zk-client", "Invalid");
    let out = wd.try_apply();
    out.assert_failure();
    assert!(
        flat(&out).contains("Kubernetes rejected an object"),
        "{out}"
    );
    assert!(
        flat(&out).contains("The API server rejected Service/zk-client"),
        "the diagnostic names the object:\n{out}"
    );
    assert!(
        flat(&out).contains(DENY_MESSAGE),
        "and the API server's reason:\n{out}"
    );
    let created = set_of(&[
        "ConfigMap/zk-config",
        "Secret/zk-super",
        "Service/zk-headless",
    ]);
    assert_eq!(existing_objects(kube, &ns.name), created, "none after it");
    assert_eq!(state_objects(&wd), created, "state keeps what was created");
    policy.remove();

    // Terraform itself taints a create that failed (the provider has no say): the next plan
    // would replace it, i.e. recreate from scratch. `untaint` lets the next apply finish.
    assert!(tainted(&wd), "a failed create is tainted");
    let plan = wd.assert_plan_changes();
    assert!(
        flat(&plan).contains("is tainted, so it must be replaced"),
        "{plan}"
    );
    wd.run(&["untaint", ADDR]).assert_success();
    let plan = wd.assert_plan_changes();
    assert!(
        flat(&plan).contains("will be updated in-place"),
        "finishing, not recreating:\n{plan}"
    );
    for missing in [
        "Service/zk-client",
        "StatefulSet/zk",
        "PodDisruptionBudget/zk",
    ] {
        assert!(
            flat(&plan).contains(&format!("{missing} will be created")),
            "{missing}:\n{plan}"
        );
    }
    assert!(!flat(&plan).contains("ConfigMap/zk-config will"), "{plan}");
    wd.apply();
    assert_eq!(existing_objects(kube, &ns.name), set_of(&ALL_OBJECTS));
    assert_eq!(state_objects(&wd), set_of(&ALL_OBJECTS));
    wd.assert_plan_empty();

    // Update (not tainted): a label on every object; the client Service's update is refused
    // after the Secret and the headless Service took it, before the rest. This time with a
    // 403, which is a rejection, not missing RBAC permission.
    let policy = DenyService::install(kube, &ns.name, "UPDATE", "zk-client", "Forbidden");
    wd.write("main.tf", &config("tier = \"blue\""));
    let out = wd.try_apply();
    out.assert_failure();
    assert!(
        flat(&out).contains("The API server rejected Service/zk-client"),
        "{out}"
    );
    assert!(flat(&out).contains(DENY_MESSAGE), "{out}");
    assert!(
        !flat(&out).contains("Kubernetes permission missing"),
        "an admission denial is no RBAC problem:\n{out}"
    );
    assert!(!tainted(&wd), "a failed update is not tainted");
    let labelled = |key: &str| {
        let (kind, name) = kubectl_name(key);
        kube.get_json(&[&kind, name, "-n", &ns.name]).unwrap()["metadata"]["labels"]["tier"]
            == "blue"
    };
    assert!(labelled("Secret/zk-super") && labelled("Service/zk-headless"));
    assert!(!labelled("Service/zk-client") && !labelled("StatefulSet/zk"));
    policy.remove();
    let plan = wd.assert_plan_changes();
    assert!(flat(&plan).contains("will be updated in-place"), "{plan}");
    for rest in [
        "Service/zk-client",
        "StatefulSet/zk",
        "PodDisruptionBudget/zk",
        "ConfigMap/zk-config",
    ] {
        assert!(
            flat(&plan).contains(&format!("{rest} will change")),
            "{rest}:\n{plan}"
        );
    }
    assert!(
        !flat(&plan).contains("Secret/zk-super will change"),
        "{plan}"
    );
    wd.apply();
    assert!(
        ALL_OBJECTS.iter().all(|k| labelled(k)),
        "every object labelled"
    );
    wd.assert_plan_empty();

    wd.destroy();
    assert!(
        existing_objects(kube, &ns.name).is_empty(),
        "destroy leaves no object"
    );
}

#[test]
fn readiness_wait_ends_at_the_timeout_and_on_interrupt_keeping_the_objects() {
    let kube = kube();
    // No one writes StatefulSet status here: the wait can only end by the timeout or Ctrl-C.
    let ns = kube.namespace(&unique("zk-timeout"));
    let wd = workdir(Cli::Tofu);
    wd.write(
        "main.tf",
        &main_tf(
            &kube.admin_kubeconfig,
            &ns.name,
            "  replicas       = 3\n  wait_for_ready = true\n  timeouts {\n    create = \"5s\"\n  }\n",
        ),
    );
    let out = wd.try_apply();
    assert!(
        !out.timed_out,
        "apply hung (killed after {HANG_GUARD:?}):\n{out}"
    );
    out.assert_failure();
    assert!(flat(&out).contains("Timed out"), "{out}");
    assert!(
        flat(&out).contains("Gave up after 5s while waiting for 3 members"),
        "{out}"
    );
    assert_eq!(state_objects(&wd), set_of(&ALL_OBJECTS), "objects kept");

    let ns = kube.namespace(&unique("zk-interrupt"));
    let wd = workdir(Cli::Tofu);
    wd.write(
        "main.tf",
        &main_tf(
            &kube.admin_kubeconfig,
            &ns.name,
            "  replicas       = 3\n  wait_for_ready = true\n  timeouts {\n    create = \"10m\"\n  }\n",
        ),
    );
    // The PodDisruptionBudget is applied last: once it exists the provider is waiting.
    let waiting = || exists(kube, &ns.name, "PodDisruptionBudget/zk");
    let out = run_interrupted(
        wd.command(&["apply", "-auto-approve", "-input=false"]),
        waiting,
        HANG_GUARD,
    );
    assert!(
        !out.timed_out,
        "apply hung after SIGINT (killed after {HANG_GUARD:?}):\n{out}"
    );
    out.assert_failure();
    assert!(flat(&out).contains("Interrupted"), "{out}");
    assert!(
        flat(&out).contains("Stopped while waiting for 3 members"),
        "{out}"
    );
    assert_eq!(state_objects(&wd), set_of(&ALL_OBJECTS), "objects kept");
}
