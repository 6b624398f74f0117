//! What the operations tests of the ensemble and the Kafka cluster (tests/e2e_ensemble_ops.rs,
//! tests/e2e_kafka_ops.rs) need beyond a workdir and a control plane: reading which objects
//! exist and which state records; an admission policy that makes the API server reject one
//! object; a CLI run interrupted with Ctrl-C; and, from [`super::played`], the controllers
//! this control plane does not run, played by the test, and volume claims bound to volumes.

use std::collections::BTreeSet;
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};

use super::{CliOutput, KubeControlPlane, Workdir};

/// How long one CLI command may run before a test calls it a hang and kills it. A hang
/// detector only: nothing asserts how fast anything is.
pub const HANG_GUARD: Duration = Duration::from_secs(120);

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
