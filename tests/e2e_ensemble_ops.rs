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
//! provider depends on them (tests/common/played.rs, shared with tests/e2e_kafka_ops.rs), and
//! say so: [`StatefulSetController`] writes StatefulSet status; [`BoundClaims`] creates the
//! claims the StatefulSet controller would, bound to volumes as the persistent-volume
//! controller would bind them.

mod common;

use std::path::Path;

use serde_json::{json, Value as Json};

use common::kube_ops::{
    existing_objects, json_diagnostic, kubectl_name, run_interrupted, set_of, unique, workdir,
    DenyPolicy, DENY_MESSAGE, HANG_GUARD,
};
use common::played::{
    claims, expandable_class, BoundClaims, StatefulSetController, EXPANDABLE_CLASS,
};
use common::{kube, tools, Cli, KubeControlPlane, Workdir};

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

/// The keys of `kubernetes_objects` in state.
fn state_objects(wd: &Workdir) -> std::collections::BTreeSet<String> {
    common::kube_ops::state_objects(wd, ADDR)
}

fn tainted(wd: &Workdir) -> bool {
    common::kube_ops::tainted(wd, ADDR)
}

fn exists(kube: &KubeControlPlane, ns: &str, key: &str) -> bool {
    common::kube_ops::exists(kube, ns, key)
}

/// The ensemble's claims `data-zk-<i>`, labelled as its claim template labels them.
fn bound_claims(kube: &KubeControlPlane, ns: &str, size: &str) -> BoundClaims {
    let names: Vec<String> = (0..3).map(|i| format!("data-zk-{i}")).collect();
    let labels = serde_json::json!({
        "app.kubernetes.io/instance": "zk",
        "app.kubernetes.io/name": "zookeeper",
    });
    BoundClaims::create(kube, ns, &names, &labels, size)
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
// The tests

#[test]
fn scaling_steps_one_member_at_a_time_up_and_down() {
    let kube = kube();
    let ns = kube.namespace(&unique("zk-scale"));
    // The played controller notes the seed membership each time spec.replicas changes.
    let (k, namespace) = (kube.clone(), ns.name.clone());
    let controller = StatefulSetController::noting(kube, &ns.name, move |sts| {
        k.get_json(&["configmap", &format!("{sts}-config"), "-n", &namespace])
            .map(|cm| seed_members(&cm))
            .unwrap_or_default()
    });
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
        plan.flat().contains("Members go from 3 to 5 one at a time"),
        "the plan warns about the scale:\n{plan}"
    );
    wd.apply();
    wd.assert_plan_empty();

    wd.write("main.tf", &config(3));
    let plan = wd.assert_plan_changes();
    assert!(
        plan.flat().contains("Members go from 5 to 3 one at a time"),
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
    for common::played::Seen {
        replicas,
        note: seed,
        ..
    } in &seen
    {
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
    let _claims = bound_claims(kube, &ns.name, "1Gi");
    let old_uid = kube
        .get_json(&["statefulset", "zk", "-n", &ns.name])
        .unwrap()["metadata"]["uid"]
        .clone();

    // Grow.
    wd.write("main.tf", &config("2Gi", EXPANDABLE_CLASS));
    wd.apply();
    let resized = claims(kube, &ns.name);
    assert_eq!(resized.len(), 3, "{resized:?}");
    for claim in resized {
        assert_eq!(claim.size, "2Gi", "claim {} was resized", claim.name);
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
    wd.write("main.tf", &config("2Gi", "another-class"));
    let plan = wd.assert_plan_changes();
    assert!(
        plan.flat().contains("must be replaced"),
        "a replacement is planned:\n{plan}"
    );
    assert!(plan.flat().contains("forces replacement"), "{plan}");
    assert!(
        plan.flat()
            .contains("Storage class change replaces the ensemble"),
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
    let _claims = bound_claims(kube, &ns.name, "1Gi");
    wd.destroy();
    assert!(existing_objects(kube, &ns.name, &ALL_OBJECTS).is_empty());
    let kept = claims(kube, &ns.name);
    assert_eq!(kept.len(), 3, "delete_volumes = false keeps the claims");
    assert!(
        kept.iter().all(|c| !c.deleting),
        "none is being deleted: {kept:?}"
    );

    wd.write("main.tf", &config(true));
    wd.apply();
    wd.destroy();
    assert!(existing_objects(kube, &ns.name, &ALL_OBJECTS).is_empty());
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
    let policy = DenyPolicy::install(kube, &ns.name, "CREATE", "Service/zk-client", "Invalid");
    let out = wd.try_apply();
    out.assert_failure();
    assert!(
        out.flat().contains("Kubernetes rejected an object"),
        "{out}"
    );
    assert!(
        out.flat()
            .contains("The API server rejected Service/zk-client"),
        "the diagnostic names the object:\n{out}"
    );
    assert!(
        out.flat().contains(DENY_MESSAGE),
        "and the API server's reason:\n{out}"
    );
    let created = set_of(&[
        "ConfigMap/zk-config",
        "Secret/zk-super",
        "Service/zk-headless",
    ]);
    assert_eq!(
        existing_objects(kube, &ns.name, &ALL_OBJECTS),
        created,
        "none after it"
    );
    assert_eq!(state_objects(&wd), created, "state keeps what was created");
    policy.remove();

    // Terraform itself taints a create that failed (the provider has no say): the next plan
    // would replace it, i.e. recreate from scratch. `untaint` lets the next apply finish.
    assert!(tainted(&wd), "a failed create is tainted");
    let plan = wd.assert_plan_changes();
    assert!(
        plan.flat().contains("is tainted, so it must be replaced"),
        "{plan}"
    );
    wd.run(&["untaint", ADDR]).assert_success();
    let plan = wd.assert_plan_changes();
    assert!(
        plan.flat().contains("will be updated in-place"),
        "finishing, not recreating:\n{plan}"
    );
    for missing in [
        "Service/zk-client",
        "StatefulSet/zk",
        "PodDisruptionBudget/zk",
    ] {
        assert!(
            plan.flat().contains(&format!("{missing} will be created")),
            "{missing}:\n{plan}"
        );
    }
    assert!(!plan.flat().contains("ConfigMap/zk-config will"), "{plan}");
    wd.apply();
    assert_eq!(
        existing_objects(kube, &ns.name, &ALL_OBJECTS),
        set_of(&ALL_OBJECTS)
    );
    assert_eq!(state_objects(&wd), set_of(&ALL_OBJECTS));
    wd.assert_plan_empty();

    // Update (not tainted): a label on every object; the client Service's update is refused
    // after the Secret and the headless Service took it, before the rest. This time with a
    // 403, which is a rejection, not missing RBAC permission.
    let policy = DenyPolicy::install(kube, &ns.name, "UPDATE", "Service/zk-client", "Forbidden");
    wd.write("main.tf", &config("tier = \"blue\""));
    let out = wd.try_apply();
    out.assert_failure();
    assert!(
        out.flat()
            .contains("The API server rejected Service/zk-client"),
        "{out}"
    );
    assert!(out.flat().contains(DENY_MESSAGE), "{out}");
    assert!(
        !out.flat().contains("Kubernetes permission missing"),
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
    assert!(plan.flat().contains("will be updated in-place"), "{plan}");
    for rest in [
        "Service/zk-client",
        "StatefulSet/zk",
        "PodDisruptionBudget/zk",
        "ConfigMap/zk-config",
    ] {
        assert!(
            plan.flat().contains(&format!("{rest} will change")),
            "{rest}:\n{plan}"
        );
    }
    assert!(
        !plan.flat().contains("Secret/zk-super will change"),
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
        existing_objects(kube, &ns.name, &ALL_OBJECTS).is_empty(),
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
    assert!(out.flat().contains("Timed out"), "{out}");
    assert!(
        out.flat()
            .contains("Gave up after 5s while waiting for 3 members"),
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
    assert!(out.flat().contains("Interrupted"), "{out}");
    assert!(
        out.flat().contains("Stopped while waiting for 3 members"),
        "{out}"
    );
    assert_eq!(state_objects(&wd), set_of(&ALL_OBJECTS), "objects kept");
}
