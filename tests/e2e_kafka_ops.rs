//! End to end, against the real control plane of scripts/kube.sh (kube-apiserver and etcd; no
//! kubelet, no kube-controller-manager), driven by the real OpenTofu (and terraform, when on
//! PATH): what `zkkafka_kafka_cluster` promises about operating a KRaft cluster of 3
//! controllers and 3 brokers, examples/resources/zkkafka_kafka_cluster with small volumes.
//!
//! - An object the API server rejects mid-apply (a ValidatingAdmissionPolicy) fails the apply
//!   naming it; state keeps exactly what was created. Terraform taints a failed create and
//!   plans a replacement with a new cluster id; `untaint` and the next apply finish the first
//!   create with its id. A rejected update is finished in place by the next apply.
//! - Growing `storage.size` resizes the claims of both roles and recreates both StatefulSets
//!   with no diff left; shrinking is refused at plan time at `storage.size`.
//! - Destroy keeps the claims unless `delete_volumes = true`.
//! - A readiness wait ends at the `timeouts` limit and on Ctrl-C, keeping the objects.
//! - A shared broker setting restarts exactly the brokers, one at a time by ordinal, each
//!   replaced and ready before the next; an image change restarts the controllers first; with
//!   `wait_for_ready = false` a roll is still one pod at a time (it used to delete every
//!   broker at once).
//! - An API server that does not answer is a diagnostic, not a hang.
//!
//! Nothing acts on stored objects here, so the tests play the missing controllers
//! (tests/common/played.rs) where the provider depends on them, and say so:
//! [`StatefulSetController`] writes StatefulSet status; [`PodController`] makes pods from the
//! StatefulSets' templates and recreates deleted ones; [`BoundClaims`] makes the claims the
//! StatefulSet controller would, bound to volumes. Without a kubelet `pods/log` has nothing to
//! serve, so the provider does not know the active controller and rolls controllers by
//! ordinal (it logs why): the order asserted here.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{json, Value as Json};

use common::kube_ops::{
    existing_objects, json_diagnostic, live, run_interrupted, set_of, state_objects, tainted,
    unique, workdir, DenyPolicy, DENY_MESSAGE, HANG_GUARD,
};
use common::played::{
    claims, expandable_class, BoundClaims, PodController, PodEvent, StatefulSetController,
    EXPANDABLE_CLASS,
};
use common::{kube, tools, Cli, KubeControlPlane, Workdir};

const ADDR: &str = "zkkafka_kafka_cluster.events";

/// Every object of the example's cluster `events`, as `kubernetes_objects` names them.
const ALL_OBJECTS: [&str; 8] = [
    "ConfigMap/events-broker-config",
    "ConfigMap/events-controller-config",
    "PodDisruptionBudget/events-broker",
    "PodDisruptionBudget/events-controller",
    "Service/events-bootstrap",
    "Service/events-headless",
    "StatefulSet/events-broker",
    "StatefulSet/events-controller",
];

const CONTROLLERS: &str = "events-controller";
const BROKERS: &str = "events-broker";

/// The example's volumes: small, in the expandable class.
const SMALL_STORAGE: (&str, &str) = (
    "size = \"20Gi\"",
    "size  = \"1Gi\"\n    class = \"zkkafka-e2e-expandable\"",
);

/// examples/resources/zkkafka_kafka_cluster with small volumes and each `(from, to)` of
/// `edits` replaced (each `from` must be in it: an example that changes fails loudly here).
fn example(edits: &[(&str, &str)]) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/resources/zkkafka_kafka_cluster/resource.tf");
    let mut text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    for (from, to) in std::iter::once(&SMALL_STORAGE).chain(edits) {
        assert!(text.contains(from), "the example has no {from:?}");
        text = text.replace(from, to);
    }
    text
}

/// A workdir with the example (see [`example`]) for the cluster in `namespace`.
fn cluster_workdir(
    cli: Cli,
    kube: &KubeControlPlane,
    namespace: &str,
    edits: &[(&str, &str)],
) -> Workdir {
    let wd = workdir(cli);
    wd.write("main.tf", &example(edits));
    wd.write(
        "terraform.tfvars",
        &format!(
            "kubeconfig = {}\nnamespace  = {}\n",
            common::hcl_string(&kube.admin_kubeconfig.display().to_string()),
            common::hcl_string(namespace)
        ),
    );
    wd
}

fn cluster_id(wd: &Workdir) -> String {
    wd.resource_values(ADDR).unwrap()["cluster_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn uid(kube: &KubeControlPlane, ns: &str, key: &str) -> Json {
    live(kube, ns, key).unwrap_or_else(|| panic!("{key} exists"))["metadata"]["uid"].clone()
}

/// The claims of both roles, `data-events-<role>-<i>`, labelled as each role's claim template
/// labels them.
fn bound_claims(kube: &KubeControlPlane, ns: &str, size: &str) -> Vec<BoundClaims> {
    [CONTROLLERS, BROKERS]
        .into_iter()
        .map(|sts| {
            let names: Vec<String> = (0..3).map(|i| format!("data-{sts}-{i}")).collect();
            let labels = json!({
                "app.kubernetes.io/component": sts.trim_start_matches("events-"),
                "app.kubernetes.io/instance": "events",
                "app.kubernetes.io/name": "kafka",
            });
            BoundClaims::create(kube, ns, &names, &labels, size)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Partial failure

#[test]
fn an_object_rejected_mid_apply_fails_naming_it_and_the_next_apply_finishes() {
    let kube = kube();
    let ns = kube.namespace(&unique("kafka-partial"));
    let _controller = StatefulSetController::start(kube, &ns.name);
    let wd = cluster_workdir(Cli::Tofu, kube, &ns.name, &[]);

    // Create: the broker StatefulSet is refused; what was applied before it stays.
    let policy = DenyPolicy::install(
        kube,
        &ns.name,
        "CREATE",
        "StatefulSet/events-broker",
        "Invalid",
    );
    let out = wd.try_apply();
    out.assert_failure();
    assert!(
        out.flat().contains("Kubernetes rejected an object"),
        "{out}"
    );
    assert!(
        out.flat()
            .contains("The API server rejected StatefulSet/events-broker"),
        "the diagnostic names the object:\n{out}"
    );
    assert!(
        out.flat().contains(DENY_MESSAGE),
        "and the API server's reason:\n{out}"
    );
    let created = set_of(&[
        "ConfigMap/events-broker-config",
        "ConfigMap/events-controller-config",
        "Service/events-bootstrap",
        "Service/events-headless",
        "StatefulSet/events-controller",
    ]);
    assert_eq!(
        existing_objects(kube, &ns.name, &ALL_OBJECTS),
        created,
        "none after it"
    );
    assert_eq!(
        state_objects(&wd, ADDR),
        created,
        "state keeps what was created"
    );
    let id = cluster_id(&wd);
    assert_eq!(
        id.len(),
        22,
        "the cluster id generated by the failed create is in state: {id:?}"
    );
    policy.remove();

    // Terraform itself taints a create that failed (the provider has no say) and plans a
    // replacement: everything deleted and created again with a NEW cluster id, which nodes
    // that already formatted their (kept) volumes with the first one would refuse.
    assert!(tainted(&wd, ADDR), "a failed create is tainted");
    let plan = wd.assert_plan_changes();
    assert!(
        plan.flat().contains("is tainted, so it must be replaced"),
        "{plan}"
    );
    assert!(
        plan.stdout.lines().any(|l| l.contains("cluster_id")
            && l.contains(&id)
            && l.contains("(known after apply)")),
        "the replacement would generate another cluster id:\n{plan}"
    );
    // `untaint` lets the next apply finish the first create instead, with its cluster id.
    wd.run(&["untaint", ADDR]).assert_success();
    let plan = wd.assert_plan_changes();
    assert!(
        plan.flat().contains("will be updated in-place"),
        "finishing, not recreating:\n{plan}"
    );
    for missing in [
        "StatefulSet/events-broker",
        "PodDisruptionBudget/events-broker",
        "PodDisruptionBudget/events-controller",
    ] {
        assert!(
            plan.flat().contains(&format!("{missing} will be created")),
            "{missing}:\n{plan}"
        );
    }
    for done in &created {
        assert!(
            !plan.flat().contains(&format!("{done} will")),
            "{done}:\n{plan}"
        );
    }
    wd.apply();
    assert_eq!(
        existing_objects(kube, &ns.name, &ALL_OBJECTS),
        set_of(&ALL_OBJECTS)
    );
    assert_eq!(state_objects(&wd, ADDR), set_of(&ALL_OBJECTS));
    assert_eq!(cluster_id(&wd), id, "the first create's cluster id is kept");
    wd.assert_plan_empty();

    // Update (not tainted): another label on every object; the bootstrap Service's update is
    // refused (a 403, as policy webhooks answer) after both ConfigMaps and the headless
    // Service took it, before the rest.
    let policy = DenyPolicy::install(
        kube,
        &ns.name,
        "UPDATE",
        "Service/events-bootstrap",
        "Forbidden",
    );
    wd.write(
        "main.tf",
        &example(&[("team = \"data\"", "team = \"blue\"")]),
    );
    let out = wd.try_apply();
    out.assert_failure();
    assert!(
        out.flat()
            .contains("The API server rejected Service/events-bootstrap"),
        "{out}"
    );
    assert!(out.flat().contains(DENY_MESSAGE), "{out}");
    assert!(
        !out.flat().contains("Kubernetes permission missing"),
        "an admission denial is no RBAC problem:\n{out}"
    );
    assert!(!tainted(&wd, ADDR), "a failed update is not tainted");
    let labelled =
        |key: &str| live(kube, &ns.name, key).unwrap()["metadata"]["labels"]["team"] == "blue";
    let updated = [
        "ConfigMap/events-broker-config",
        "ConfigMap/events-controller-config",
        "Service/events-headless",
    ];
    let rest = [
        "Service/events-bootstrap",
        "StatefulSet/events-controller",
        "StatefulSet/events-broker",
        "PodDisruptionBudget/events-controller",
        "PodDisruptionBudget/events-broker",
    ];
    assert!(
        updated.iter().all(|k| labelled(k)),
        "applied before the refusal"
    );
    assert!(
        !rest.iter().any(|k| labelled(k)),
        "none from the refused one on"
    );
    policy.remove();
    let plan = wd.assert_plan_changes();
    assert!(plan.flat().contains("will be updated in-place"), "{plan}");
    for key in rest {
        assert!(
            plan.flat().contains(&format!("{key} will change")),
            "{key}:\n{plan}"
        );
    }
    for key in updated {
        assert!(
            !plan.flat().contains(&format!("{key} will change")),
            "{key}:\n{plan}"
        );
    }
    wd.apply();
    assert!(
        ALL_OBJECTS.iter().all(|k| labelled(k)),
        "every object labelled"
    );
    wd.assert_plan_empty();

    wd.destroy();
    assert!(
        existing_objects(kube, &ns.name, &ALL_OBJECTS).is_empty(),
        "destroy leaves no object"
    );
}

// ---------------------------------------------------------------------------------------------
// Storage and volumes

#[test]
fn storage_grows_for_both_roles_refuses_to_shrink_and_replaces_on_class_change() {
    let kube = kube();
    expandable_class(kube);
    let ns = kube.namespace(&unique("kafka-storage"));
    let _controller = StatefulSetController::start(kube, &ns.name);
    let wd = cluster_workdir(Cli::Tofu, kube, &ns.name, &[]);
    wd.apply();
    let _claims = bound_claims(kube, &ns.name, "1Gi");
    let sets = ["StatefulSet/events-controller", "StatefulSet/events-broker"];
    let old_uids: Vec<Json> = sets.iter().map(|k| uid(kube, &ns.name, k)).collect();

    // Grow.
    wd.write("main.tf", &example(&[("\"1Gi\"", "\"2Gi\"")]));
    wd.apply();
    let resized = claims(kube, &ns.name);
    assert_eq!(resized.len(), 6, "{resized:?}");
    for claim in &resized {
        assert_eq!(claim.size, "2Gi", "claim {} was resized", claim.name);
    }
    for (key, old) in sets.iter().zip(&old_uids) {
        let sts = live(kube, &ns.name, key).unwrap();
        assert_ne!(&sts["metadata"]["uid"], old, "{key} was recreated");
        assert_eq!(
            sts.pointer("/spec/volumeClaimTemplates/0/spec/resources/requests/storage"),
            Some(&json!("2Gi")),
            "{key} has the new claim template"
        );
    }
    wd.assert_plan_empty();

    // Shrink: refused at plan time, at storage.size.
    wd.write("main.tf", &example(&[]));
    let out = wd.run(&["plan", "-json", "-input=false"]);
    out.assert_failure();
    let diagnostic = json_diagnostic(&out, "Storage cannot shrink")
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
    wd.write(
        "main.tf",
        &example(&[("\"1Gi\"", "\"2Gi\""), (EXPANDABLE_CLASS, "another-class")]),
    );
    let plan = wd.assert_plan_changes();
    assert!(plan.flat().contains("must be replaced"), "{plan}");
    assert!(
        plan.flat()
            .contains("Storage class change replaces the cluster"),
        "{plan}"
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
    let ns = kube.namespace(&unique("kafka-volumes"));
    let _controller = StatefulSetController::start(kube, &ns.name);
    let wd = cluster_workdir(cli, kube, &ns.name, &[]);
    wd.apply();
    let _claims = bound_claims(kube, &ns.name, "1Gi");
    wd.destroy();
    assert!(existing_objects(kube, &ns.name, &ALL_OBJECTS).is_empty());
    let kept = claims(kube, &ns.name);
    assert_eq!(
        kept.len(),
        6,
        "delete_volumes = false keeps the claims: {kept:?}"
    );
    assert!(
        kept.iter().all(|c| !c.deleting),
        "none is being deleted: {kept:?}"
    );

    wd.write(
        "main.tf",
        &example(&[(
            "jvm_heap = \"1g\"",
            "jvm_heap = \"1g\"\n  delete_volumes = true",
        )]),
    );
    wd.apply();
    wd.destroy();
    assert!(existing_objects(kube, &ns.name, &ALL_OBJECTS).is_empty());
    let left = claims(kube, &ns.name);
    assert!(
        left.is_empty(),
        "delete_volumes = true removes the claims of both roles: {left:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Waits

/// The example's timeouts block.
const TIMEOUTS: &str = "timeouts {\n    create = \"15m\"\n    update = \"30m\"\n  }";

#[test]
fn readiness_wait_ends_at_the_timeout_and_on_interrupt_keeping_the_objects() {
    let kube = kube();
    // No one writes StatefulSet status here: the wait can only end by the timeout or Ctrl-C.
    let ns = kube.namespace(&unique("kafka-timeout"));
    let wd = cluster_workdir(
        Cli::Tofu,
        kube,
        &ns.name,
        &[(TIMEOUTS, "timeouts {\n    create = \"5s\"\n  }")],
    );
    let out = wd.try_apply();
    assert!(
        !out.timed_out,
        "apply hung (killed after {HANG_GUARD:?}):\n{out}"
    );
    out.assert_failure();
    assert!(out.flat().contains("Timed out"), "{out}");
    assert!(
        out.flat().contains(&format!(
            "Gave up after 5s while waiting for 3 controllers of {}/events to be ready",
            ns.name
        )),
        "{out}"
    );
    assert_eq!(
        state_objects(&wd, ADDR),
        set_of(&ALL_OBJECTS),
        "objects kept"
    );

    let ns = kube.namespace(&unique("kafka-interrupt"));
    let wd = cluster_workdir(Cli::Tofu, kube, &ns.name, &[]);
    // The brokers' PodDisruptionBudget is applied last: once it exists the provider waits.
    let waiting = || common::kube_ops::exists(kube, &ns.name, "PodDisruptionBudget/events-broker");
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
    assert!(out.flat().contains("Interrupted"), "{out}");
    assert!(
        out.flat().contains(&format!(
            "Stopped while waiting for 3 controllers of {}/events to be ready",
            ns.name
        )),
        "{out}"
    );
    assert_eq!(
        state_objects(&wd, ADDR),
        set_of(&ALL_OBJECTS),
        "objects kept"
    );
}

// ---------------------------------------------------------------------------------------------
// Rolls

/// The six pods of the cluster, controllers then brokers.
fn all_pods() -> Vec<String> {
    [CONTROLLERS, BROKERS]
        .iter()
        .flat_map(|sts| (0..3).map(move |i| format!("{sts}-{i}")))
        .collect()
}

/// Waits until all six pods exist and the played controller's watch has delivered each one's
/// current state (its uid, ready), so the events read as complete up to now.
fn caught_up(kube: &KubeControlPlane, ns: &str, pods: &PodController) -> Vec<PodEvent> {
    let started = std::time::Instant::now();
    loop {
        let live = pod_uids(kube, ns);
        let events = pods.events();
        let seen = |pod: &String| {
            live.get(pod).is_some_and(|uid| {
                events
                    .iter()
                    .any(|e| &e.pod == pod && &e.uid == uid && e.ready)
            })
        };
        if all_pods().iter().all(seen) {
            return events;
        }
        assert!(
            started.elapsed() < HANG_GUARD,
            "the pods are not all back, or the watch lags:\n{live:?}\n{events:#?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The uid of each pod now.
fn pod_uids(kube: &KubeControlPlane, ns: &str) -> BTreeMap<String, String> {
    kube.get_json(&["pods", "-n", ns]).unwrap()["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let text = |v: &Json| v.as_str().unwrap_or_default().to_owned();
            (text(&p["metadata"]["name"]), text(&p["metadata"]["uid"]))
        })
        .collect()
}

/// The pod events of a roll, for the test's output.
fn print_events(what: &str, events: &[PodEvent]) {
    eprintln!("pod events of the {what} roll (seconds since the played controller started):");
    for e in events {
        eprintln!(
            "{:>8.3}s {:<8} {} {} ready={}",
            e.at.as_secs_f64(),
            e.kind,
            e.pod,
            e.uid,
            e.ready
        );
    }
}

/// Asserts that `events` (in the API server's order) delete exactly the pods `order`, in that
/// order, and that each deleted pod is back (same name, new uid, ready, with the config digest
/// of its StatefulSet's template now) before the next deletion.
fn assert_rolled_one_at_a_time(
    kube: &KubeControlPlane,
    ns: &str,
    events: &[PodEvent],
    order: &[String],
) {
    let deletions: Vec<usize> = (0..events.len())
        .filter(|i| events[*i].kind == "DELETED")
        .collect();
    let deleted: Vec<&str> = deletions.iter().map(|i| events[*i].pod.as_str()).collect();
    assert_eq!(
        deleted, order,
        "the pods the provider deleted, in order:\n{events:#?}"
    );
    for (n, at) in deletions.iter().enumerate() {
        let gone = &events[*at];
        let next = deletions.get(n + 1).copied().unwrap_or(events.len());
        let sts = gone.pod.rsplit_once('-').unwrap().0;
        let digest = live(kube, ns, &format!("StatefulSet/{sts}")).unwrap()["spec"]["template"]
            ["metadata"]["annotations"]["zkkafka.io/config-digest"]
            .as_str()
            .map(str::to_owned);
        let back = events[at + 1..next]
            .iter()
            .find(|e| e.pod == gone.pod && e.uid != gone.uid && e.ready && e.kind != "DELETED");
        let back = back.unwrap_or_else(|| {
            panic!(
                "{} was not back and ready before the next deletion:\n{events:#?}",
                gone.pod
            )
        });
        assert_eq!(
            back.digest, digest,
            "{} runs the current template",
            gone.pod
        );
    }
}

#[test]
fn rolls_restart_one_pod_at_a_time_in_order_even_without_wait_for_ready() {
    let kube = kube();
    let ns = kube.namespace(&unique("kafka-roll"));
    let _controller = StatefulSetController::start(kube, &ns.name);
    let wd = cluster_workdir(Cli::Tofu, kube, &ns.name, &[]);
    wd.apply();
    let pods = PodController::start(kube, &ns.name);
    pods.create(CONTROLLERS, 3);
    pods.create(BROKERS, 3);
    let before = caught_up(kube, &ns.name, &pods).len();
    let uids = pod_uids(kube, &ns.name);
    assert_eq!(uids.len(), 6, "{uids:?}");
    wd.assert_plan_empty();

    // A shared broker setting: only the brokers restart.
    let retention = (
        "\"log.retention.hours\"        = \"72\"",
        "\"log.retention.hours\"        = \"96\"",
    );
    wd.write("main.tf", &example(&[retention]));
    let plan = wd.assert_plan_changes();
    assert!(
        plan.flat()
            .contains("Pods will roll. Brokers roll one at a time"),
        "{plan}"
    );
    wd.apply();
    let events = caught_up(kube, &ns.name, &pods);
    let events = &events[before..];
    print_events("shared setting", events);
    let brokers: Vec<String> = (0..3).map(|i| format!("{BROKERS}-{i}")).collect();
    assert_rolled_one_at_a_time(kube, &ns.name, events, &brokers);
    let now = pod_uids(kube, &ns.name);
    for i in 0..3 {
        let pod = format!("{CONTROLLERS}-{i}");
        assert_eq!(now[&pod], uids[&pod], "{pod} did not restart");
    }
    wd.assert_plan_empty();

    let image = (
        "version   = \"4.1.2\"",
        "version   = \"4.1.2\"\n  image     = \"registry.example/kafka:4.1.2\"",
    );
    // Another image: every pod restarts, the controllers first (by ordinal: without pods/log
    // the active controller is not known here), then the brokers.
    let before = caught_up(kube, &ns.name, &pods).len();
    wd.write("main.tf", &example(&[retention, image]));
    wd.apply();
    let events = caught_up(kube, &ns.name, &pods);
    let events = &events[before..];
    print_events("image", events);
    let mut order: Vec<String> = (0..3).map(|i| format!("{CONTROLLERS}-{i}")).collect();
    order.extend(brokers.iter().cloned());
    assert_rolled_one_at_a_time(kube, &ns.name, events, &order);
    for pod in &order {
        let image = live(kube, &ns.name, &format!("Pod/{pod}")).unwrap()["spec"]["containers"][0]
            ["image"]
            .clone();
        assert_eq!(image, "registry.example/kafka:4.1.2", "{pod}");
    }
    wd.assert_plan_empty();

    // wait_for_ready = false skips the readiness waits, never the one that makes a roll
    // safe: each restarted broker is back before the next goes.
    let before = caught_up(kube, &ns.name, &pods).len();
    wd.write(
        "main.tf",
        &example(&[
            (retention.0, "\"log.retention.hours\"        = \"120\""),
            image,
            (
                "jvm_heap = \"1g\"",
                "jvm_heap = \"1g\"\n  wait_for_ready = false",
            ),
        ]),
    );
    wd.apply();
    let events = caught_up(kube, &ns.name, &pods);
    let events = &events[before..];
    print_events("wait_for_ready = false", events);
    assert_rolled_one_at_a_time(kube, &ns.name, events, &brokers);
    wd.assert_plan_empty();
}

// ---------------------------------------------------------------------------------------------
// Unreachable

#[test]
fn an_api_server_that_does_not_answer_is_a_diagnostic() {
    let kube = kube();
    // The admin kubeconfig pointed at a port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let server_port = kube.server.rsplit(':').next().unwrap();
    let dead = std::fs::read_to_string(&kube.admin_kubeconfig)
        .unwrap()
        .replace(
            &format!("127.0.0.1:{server_port}"),
            &format!("127.0.0.1:{port}"),
        );
    let wd = workdir(Cli::Tofu);
    wd.write("main.tf", &example(&[]));
    wd.write("dead.kubeconfig", &dead);
    wd.write(
        "terraform.tfvars",
        "kubeconfig = \"dead.kubeconfig\"\nnamespace  = \"default\"\n",
    );
    let started = std::time::Instant::now();
    let out = wd.try_apply();
    eprintln!(
        "apply against a closed port ended after {:?}",
        started.elapsed()
    );
    assert!(
        !out.timed_out,
        "apply hung (killed after {HANG_GUARD:?}):\n{out}"
    );
    out.assert_failure();
    assert!(
        out.flat().contains("Kubernetes API server unreachable"),
        "{out}"
    );
    assert!(
        out.flat().contains(&format!("127.0.0.1:{port}")),
        "names the server:\n{out}"
    );
    // The refusal itself is reported, not a request timeout waited out.
    assert!(
        out.flat().to_lowercase().contains("connection refused"),
        "{out}"
    );
    assert!(!out.flat().contains("no answer within"), "{out}");
}
