//! The controllers the control plane of scripts/kube.sh does not run (no kubelet, no
//! kube-controller-manager: nothing acts on stored objects), played by the operations tests
//! where the provider depends on them, so each test can say what it plays:
//! - [`StatefulSetController`] writes a StatefulSet's status once its pods "are ready";
//! - [`PodController`] creates a StatefulSet's pods from its current template, marks them
//!   ready, and recreates a deleted pod as the StatefulSet controller would, recording every
//!   pod event it sees;
//! - [`BoundClaims`] creates the claims the StatefulSet controller would, bound to volumes as
//!   the persistent-volume controller binds them.

use std::io::BufReader;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};

use super::{CliOutput, KubeControlPlane};

/// A StorageClass that allows expansion, made by these tests (cluster-scoped, kept).
pub const EXPANDABLE_CLASS: &str = "zkkafka-e2e-expandable";

/// How long the played controllers take to "start" pods before they report them ready.
const CONTROLLER_DELAY: Duration = Duration::from_millis(300);

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
        // The ServiceAccount admission plugin wants the namespace's `default` account, which
        // the serviceaccount controller (not running here) would have made.
        let out = kube.kubectl(&["create", "serviceaccount", "default", "-n", ns]);
        assert!(
            out.success() || out.stderr.contains("AlreadyExists"),
            "{out}"
        );
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
