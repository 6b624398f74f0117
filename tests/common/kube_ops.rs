//! What the operations tests of the ensemble and the Kafka cluster (tests/e2e_ensemble_ops.rs,
//! tests/e2e_kafka_ops.rs) need beyond a workdir and a control plane: the controllers this
//! control plane does not run, played by the test; volume claims bound to volumes; an
//! admission policy that makes the API server reject one object; a CLI run interrupted with
//! Ctrl-C; and reading which objects exist and which state records.
//!
//! Nothing acts on stored objects on the control plane of scripts/kube.sh (no kubelet, no
//! kube-controller-manager), so where the provider depends on a controller the tests play it,
//! and say so:
//! - [`StatefulSetController`] writes a StatefulSet's status once its pods "are ready";
//! - [`PodController`] creates a StatefulSet's pods from its current template, marks them
//!   ready, and recreates a deleted pod as the StatefulSet controller would, recording every
//!   pod event it sees;
//! - [`BoundClaims`] creates the claims the StatefulSet controller would, bound to volumes as
//!   the persistent-volume controller binds them.

use std::collections::BTreeSet;
use std::io::{BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};

use super::{CliOutput, KubeControlPlane, Workdir};

/// How long one CLI command may run before a test calls it a hang and kills it. A hang
/// detector only: nothing asserts how fast anything is.
pub const HANG_GUARD: Duration = Duration::from_secs(120);

/// A StorageClass that allows expansion, made by these tests (cluster-scoped, kept).
pub const EXPANDABLE_CLASS: &str = "zkkafka-e2e-expandable";

/// How long the played controllers take to "start" pods before they report them ready.
const CONTROLLER_DELAY: Duration = Duration::from_millis(300);

/// A name no other test run uses: `<prefix>-<pid>-<some nanoseconds>`.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{:x}", std::process::id(), nanos % 0xfffff)
}

/// A workdir for the provider under test with the [`HANG_GUARD`] per command.
pub fn workdir(cli: super::Cli) -> Workdir {
    let mut wd = Workdir::new(cli, &super::provider_binary());
    wd.set_timeout(HANG_GUARD);
    wd
}

pub fn set_of(keys: &[&str]) -> BTreeSet<String> {
    keys.iter().map(|k| (*k).to_owned()).collect()
}

// ---------------------------------------------------------------------------------------------
// Objects and state

/// The keys of `kubernetes_objects` in state of the resource at `addr`.
pub fn state_objects(wd: &Workdir, addr: &str) -> BTreeSet<String> {
    let values = wd
        .resource_values(addr)
        .unwrap_or_else(|| panic!("{addr} is not in state"));
    values["kubernetes_objects"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// Whether the state marks the resource at `addr` tainted.
pub fn tainted(wd: &Workdir, addr: &str) -> bool {
    let state = wd.state_json();
    state
        .pointer("/values/root_module/resources")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .find(|r| r["address"] == addr)
        .is_some_and(|r| r["tainted"] == true)
}

/// `Kind/name` (as in `kubernetes_objects`) to the kubectl resource and name.
pub fn kubectl_name(key: &str) -> (String, &str) {
    let (kind, name) = key.split_once('/').unwrap();
    (kind.to_ascii_lowercase(), name)
}

/// The live object `Kind/name` in `ns`, if it exists.
pub fn live(kube: &KubeControlPlane, ns: &str, key: &str) -> Option<Json> {
    let (kind, name) = kubectl_name(key);
    kube.get_json(&[&kind, name, "-n", ns])
}

pub fn exists(kube: &KubeControlPlane, ns: &str, key: &str) -> bool {
    live(kube, ns, key).is_some()
}

/// The `Kind/name` of each of `keys` that exists in the namespace.
pub fn existing_objects(kube: &KubeControlPlane, ns: &str, keys: &[&str]) -> BTreeSet<String> {
    keys.iter()
        .filter(|k| exists(kube, ns, k))
        .map(|k| (*k).to_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Playing the StatefulSet controller: status

/// Plays the StatefulSet controller's status writing, which this control plane does not run
/// (no pod ever runs): it watches the namespace's StatefulSets (`kubectl get --watch`) and, a
/// short while after `spec.replicas` or the generation changes, writes the status the
/// controller writes once every pod is ready (`replicas`, `readyReplicas`, `currentReplicas`,
/// `updatedReplicas`, `availableReplicas`, `observedGeneration`). It records every
/// `spec.replicas` value each StatefulSet takes, in order, with what `note` says at that
/// moment (the ensemble's tests note the seed membership).
pub struct StatefulSetController {
    watch: Child,
    thread: Option<std::thread::JoinHandle<()>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

/// One `spec.replicas` value a StatefulSet took, as the played controller saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub statefulset: String,
    pub replicas: i64,
    /// What the `note` given to [`StatefulSetController::noting`] said then.
    pub note: Vec<String>,
}

/// Says something about a StatefulSet (by name) when its `spec.replicas` changes.
type Note = Box<dyn Fn(&str) -> Vec<String> + Send>;

impl StatefulSetController {
    pub fn start(kube: &KubeControlPlane, ns: &str) -> StatefulSetController {
        Self::noting(kube, ns, |_| Vec::new())
    }

    /// [`Self::start`], recording `note(statefulset)` with each `spec.replicas` value seen.
    pub fn noting(
        kube: &KubeControlPlane,
        ns: &str,
        note: impl Fn(&str) -> Vec<String> + Send + 'static,
    ) -> StatefulSetController {
        let (watch, events) = watch(kube, ns, "statefulsets", false);
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let (k, ns, record) = (kube.clone(), ns.to_owned(), seen.clone());
        let note: Note = Box::new(note);
        let thread = std::thread::spawn(move || {
            for sts in events {
                Self::observe(&k, &ns, &sts, &record, &note);
            }
        });
        StatefulSetController {
            watch,
            thread: Some(thread),
            seen,
        }
    }

    fn observe(
        kube: &KubeControlPlane,
        ns: &str,
        sts: &Json,
        record: &Mutex<Vec<Seen>>,
        note: &Note,
    ) {
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
            let last = seen
                .iter()
                .rev()
                .find(|s| s.statefulset == name)
                .map(|s| s.replicas);
            if last != Some(want) {
                seen.push(Seen {
                    statefulset: name.to_owned(),
                    replicas: want,
                    note: note(name),
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

    /// Every `spec.replicas` value seen so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
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

/// `kubectl get <resource> -n <ns> --watch -o json` (with `--output-watch-events` when
/// `with_types`): the process, and its stream of printed objects (each a `{type, object}`
/// event when `with_types`; a `List` printed first is split into its items).
fn watch(
    kube: &KubeControlPlane,
    ns: &str,
    resource: &str,
    with_types: bool,
) -> (Child, impl Iterator<Item = Json> + Send) {
    let mut cmd = Command::new(&kube.kubectl);
    cmd.arg("--kubeconfig")
        .arg(&kube.admin_kubeconfig)
        .args(["get", resource, "-n", ns, "--watch", "-o", "json"]);
    if with_types {
        cmd.arg("--output-watch-events");
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting kubectl get --watch");
    let stdout = child.stdout.take().unwrap();
    let events = serde_json::Deserializer::from_reader(BufReader::new(stdout))
        .into_iter::<Json>()
        .map_while(Result::ok)
        .flat_map(|object| match object["kind"].as_str() {
            Some("List") => object["items"].as_array().cloned().unwrap_or_default(),
            _ => vec![object],
        });
    (child, events)
}

// ---------------------------------------------------------------------------------------------
// Playing the StatefulSet controller and the kubelet: pods

/// Plays the StatefulSet controller's pod management and the kubelet's readiness report, for
/// one namespace: [`PodController::create`] makes a StatefulSet's pods from its CURRENT
/// template (name `<statefulset>-<ordinal>`, the template's labels and annotations, its spec
/// with the claim volumes, an owner reference) and marks them ready through the status
/// subresource; when a pod is deleted, it is created again the same way (a new uid, ready),
/// which is what the StatefulSet controller does under `updateStrategy: OnDelete`. It watches
/// the namespace's pods and records every event in the order the API server sent them.
pub struct PodController {
    watch: Child,
    thread: Option<std::thread::JoinHandle<()>>,
    events: Arc<Mutex<Vec<PodEvent>>>,
    kube: KubeControlPlane,
    ns: String,
}

/// One pod event as the watch delivered it.
#[derive(Debug, Clone)]
pub struct PodEvent {
    /// Since the controller started (for the report; nothing asserts on it).
    pub at: Duration,
    /// `ADDED`, `MODIFIED` or `DELETED`.
    pub kind: String,
    pub pod: String,
    pub uid: String,
    pub ready: bool,
    /// The pod's `zkkafka.io/config-digest` annotation.
    pub digest: Option<String>,
}

impl PodController {
    pub fn start(kube: &KubeControlPlane, ns: &str) -> PodController {
        let (watch, events) = watch(kube, ns, "pods", true);
        let record: Arc<Mutex<Vec<PodEvent>>> = Arc::default();
        let (k, namespace, log) = (kube.clone(), ns.to_owned(), record.clone());
        let started = Instant::now();
        let thread = std::thread::spawn(move || {
            for event in events {
                let pod = &event["object"];
                let name = pod["metadata"]["name"].as_str().unwrap_or_default();
                let kind = event["type"].as_str().unwrap_or_default().to_owned();
                log.lock().unwrap().push(PodEvent {
                    at: started.elapsed(),
                    kind: kind.clone(),
                    pod: name.to_owned(),
                    uid: pod["metadata"]["uid"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    ready: pod_ready(pod),
                    digest: pod
                        .pointer("/metadata/annotations/zkkafka.io~1config-digest")
                        .and_then(Json::as_str)
                        .map(str::to_owned),
                });
                if kind == "DELETED" {
                    let owner = pod
                        .pointer("/metadata/ownerReferences/0/name")
                        .and_then(Json::as_str);
                    let ordinal = name.rsplit_once('-').and_then(|(_, o)| o.parse().ok());
                    if let (Some(owner), Some(ordinal)) = (owner, ordinal) {
                        std::thread::sleep(CONTROLLER_DELAY);
                        if let Err(out) = Self::create_pods(&k, &namespace, owner, &[ordinal]) {
                            eprintln!("the played controller could not recreate {name}:\n{out}");
                        }
                    }
                }
            }
        });
        PodController {
            watch,
            thread: Some(thread),
            events: record,
            kube: kube.clone(),
            ns: ns.to_owned(),
        }
    }

    /// Creates the pods `0..replicas` of the StatefulSet `statefulset`, ready.
    pub fn create(&self, statefulset: &str, replicas: u32) {
        let ordinals: Vec<u32> = (0..replicas).collect();
        if let Err(out) = Self::create_pods(&self.kube, &self.ns, statefulset, &ordinals) {
            panic!("creating the pods of {statefulset} failed:\n{out}");
        }
    }

    fn create_pods(
        kube: &KubeControlPlane,
        ns: &str,
        statefulset: &str,
        ordinals: &[u32],
    ) -> Result<(), CliOutput> {
        // Gone meanwhile (a destroy): nothing to create.
        let Some(sts) = kube.get_json(&["statefulset", statefulset, "-n", ns]) else {
            return Ok(());
        };
        let spec = &sts["spec"];
        let items: Vec<Json> = ordinals
            .iter()
            .map(|i| {
                let name = format!("{statefulset}-{i}");
                let mut pod_spec = spec["template"]["spec"].clone();
                let claims = spec["volumeClaimTemplates"].as_array().cloned();
                let volumes = pod_spec["volumes"].as_array_mut();
                if let (Some(volumes), Some(claims)) = (volumes, claims) {
                    for c in claims {
                        let volume = c["metadata"]["name"].as_str().unwrap_or_default();
                        volumes.push(json!({
                            "name": volume,
                            "persistentVolumeClaim": { "claimName": format!("{volume}-{name}") },
                        }));
                    }
                }
                pod_spec["hostname"] = json!(name);
                pod_spec["subdomain"] = spec["serviceName"].clone();
                json!({
                    "apiVersion": "v1", "kind": "Pod",
                    "metadata": {
                        "name": name, "namespace": ns,
                        "labels": spec["template"]["metadata"]["labels"],
                        "annotations": spec["template"]["metadata"]["annotations"],
                        "ownerReferences": [{
                            "apiVersion": "apps/v1", "kind": "StatefulSet",
                            "name": statefulset, "uid": sts["metadata"]["uid"],
                            "controller": true,
                        }],
                    },
                    "spec": pod_spec,
                })
            })
            .collect();
        let list = json!({ "apiVersion": "v1", "kind": "List", "items": items });
        let out = kube.kubectl_stdin(&["create", "-f", "-"], Some(&list.to_string()));
        if !out.success() {
            return Err(out);
        }
        let ready = json!({ "status": {
            "phase": "Running",
            "conditions": [
                { "type": "ContainersReady", "status": "True" },
                { "type": "Ready", "status": "True" },
            ],
        }});
        for i in ordinals {
            let out = kube.kubectl(&[
                "patch",
                "pod",
                &format!("{statefulset}-{i}"),
                "-n",
                ns,
                "--subresource=status",
                "--type=merge",
                "-p",
                &ready.to_string(),
            ]);
            if !out.success() {
                return Err(out);
            }
        }
        Ok(())
    }

    /// Every pod event so far, in the order the API server sent them.
    pub fn events(&self) -> Vec<PodEvent> {
        self.events.lock().unwrap().clone()
    }
}

impl Drop for PodController {
    fn drop(&mut self) {
        let _ = self.watch.kill();
        let _ = self.watch.wait();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// True when a pod's `Ready` condition is `True`.
pub fn pod_ready(pod: &Json) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Json::as_array)
        .is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

// ---------------------------------------------------------------------------------------------
// Playing the StatefulSet and persistent-volume controllers for claims

/// The claims `names` the StatefulSet controller would create from a claim template (with
/// its `labels`), each bound to a PersistentVolume made for it, as the persistent-volume
/// controller would bind them (`status.phase: Bound` through the status subresource: the API
/// server resizes only bound claims). The protection finalizers are removed, as the
/// pvc-protection and pv-protection controllers do once nothing uses a volume, so a deleted
/// claim really goes. The volumes are deleted on drop.
pub struct BoundClaims {
    kube: KubeControlPlane,
    volumes: Vec<String>,
}

impl BoundClaims {
    pub fn create(
        kube: &KubeControlPlane,
        ns: &str,
        names: &[String],
        labels: &Json,
        size: &str,
    ) -> BoundClaims {
        let mut items = Vec::new();
        let mut volumes = Vec::new();
        for claim in names {
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
                "metadata": { "name": claim, "namespace": ns, "labels": labels },
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
        for claim in names {
            for (subresource, patch) in [
                (None, no_finalizers.to_owned()),
                (Some("--subresource=status"), bound.to_string()),
            ] {
                let mut args = vec![
                    "patch",
                    "pvc",
                    claim,
                    "-n",
                    ns,
                    "--type=merge",
                    "-p",
                    &patch,
                ];
                args.extend(subresource);
                kube.kubectl(&args).assert_success();
            }
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
pub fn expandable_class(kube: &KubeControlPlane) {
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

/// One volume claim as listed.
#[derive(Debug, Clone)]
pub struct Claim {
    pub name: String,
    /// `spec.resources.requests.storage`
    pub size: String,
    /// Deletion requested (`metadata.deletionTimestamp`).
    pub deleting: bool,
}

/// The volume claims in the namespace.
pub fn claims(kube: &KubeControlPlane, ns: &str) -> Vec<Claim> {
    let list = kube.get_json(&["pvc", "-n", ns]).unwrap();
    let text = |v: &Json| v.as_str().unwrap_or_default().to_owned();
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| Claim {
            name: text(&c["metadata"]["name"]),
            size: text(&c["spec"]["resources"]["requests"]["storage"]),
            deleting: c["metadata"].get("deletionTimestamp").is_some(),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Making the API server reject an object

/// The message of every denial by a [`DenyPolicy`].
pub const DENY_MESSAGE: &str = "refused by the zkkafka e2e test policy";

/// A ValidatingAdmissionPolicy (built into kube-apiserver, no webhook) with its binding that
/// denies one operation (`CREATE` or `UPDATE`) on one object (`Service/x`, `StatefulSet/x`)
/// in one namespace, with the status `reason` (`Invalid`: HTTP 422; `Forbidden`: HTTP 403, as
/// admission webhooks such as policy engines answer by default). Removed, and the removal
/// awaited, on drop.
pub struct DenyPolicy {
    kube: KubeControlPlane,
    policy: String,
    /// A server-side dry run of the denied request: tells when the policy is in force.
    probe: Vec<String>,
    probe_body: Option<String>,
}

impl DenyPolicy {
    pub fn install(
        kube: &KubeControlPlane,
        ns: &str,
        operation: &str,
        object: &str,
        reason: &str,
    ) -> DenyPolicy {
        let (kind, name) = object.split_once('/').expect("Kind/name");
        let (group, resource, minimal) = match kind {
            "Service" => (
                "",
                "services",
                json!({
                    "apiVersion": "v1", "kind": "Service",
                    "metadata": { "name": name },
                    "spec": { "ports": [{ "port": 1 }] },
                }),
            ),
            "StatefulSet" => (
                "apps",
                "statefulsets",
                json!({
                    "apiVersion": "apps/v1", "kind": "StatefulSet",
                    "metadata": { "name": name },
                    "spec": {
                        "serviceName": name,
                        "selector": { "matchLabels": { "probe": "1" } },
                        "template": {
                            "metadata": { "labels": { "probe": "1" } },
                            "spec": { "containers": [{ "name": "probe", "image": "probe" }] },
                        },
                    },
                }),
            ),
            other => panic!("DenyPolicy knows no {other}"),
        };
        let policy = format!("deny-{}-{ns}", operation.to_ascii_lowercase());
        let objects = json!({ "apiVersion": "v1", "kind": "List", "items": [
            {
                "apiVersion": "admissionregistration.k8s.io/v1",
                "kind": "ValidatingAdmissionPolicy",
                "metadata": { "name": policy },
                "spec": {
                    "failurePolicy": "Fail",
                    "matchConstraints": { "resourceRules": [{
                        "apiGroups": [group], "apiVersions": ["v1"],
                        "operations": [operation], "resources": [resource],
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
        let (probe, probe_body) = match operation {
            "CREATE" => (vec!["create", "-f", "-"], Some(minimal.to_string())),
            "UPDATE" => (vec!["label", resource, name, "zkkafka-e2e-probe=1"], None),
            other => panic!("no probe for {other}"),
        };
        let mut probe: Vec<String> = probe.iter().map(|a| (*a).to_owned()).collect();
        probe.extend(["-n", ns, "--dry-run=server"].map(str::to_owned));
        let deny = DenyPolicy {
            kube: kube.clone(),
            policy,
            probe,
            probe_body,
        };
        deny.await_enforced(true);
        deny
    }

    /// Waits until the API server's policy informer has caught up.
    fn await_enforced(&self, enforced: bool) {
        let probe: Vec<&str> = self.probe.iter().map(String::as_str).collect();
        let started = Instant::now();
        loop {
            let out = self.kube.kubectl_stdin(&probe, self.probe_body.as_deref());
            let denied = !out.success() && out.flat().contains(DENY_MESSAGE);
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

    pub fn remove(self) {
        drop(self);
    }
}

impl Drop for DenyPolicy {
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
pub fn run_interrupted(mut cmd: Command, ready: impl Fn() -> bool, guard: Duration) -> CliOutput {
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

/// The first diagnostic of `plan -json` output with `summary`, if any.
pub fn json_diagnostic(out: &CliOutput, summary: &str) -> Option<Json> {
    out.stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Json>(l).ok())
        .find(|m| m["type"] == "diagnostic" && m["diagnostic"]["summary"] == summary)
}
