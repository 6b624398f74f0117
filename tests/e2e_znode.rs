//! End to end: the real OpenTofu (and terraform, when on PATH) drives the provider binary
//! against a real ZooKeeper, for every znode example: apply, empty plan, a change made by hand
//! with ZooKeeper's own CLI, the plan shows it, apply restores it, import into a fresh state
//! plans empty, destroy removes it.

mod common;

use std::path::PathBuf;

use common::{tools, zookeeper, Cli, Workdir, ZkServer};

fn provider() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-zkkafka"))
}

fn example(rel: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn workdir(cli: Cli, zk: &ZkServer, main_tf: &str) -> Workdir {
    let wd = Workdir::new(cli, &provider());
    wd.write("main.tf", main_tf);
    wd.write(
        "terraform.tfvars",
        &format!("zookeeper_connect = \"{}\"\n", zk.connect_string),
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

fn get(zk: &ZkServer, path: &str) -> String {
    let out = zk.cli(Some(&zk.super_auth), &format!("get {path}"));
    out.stdout
}

fn exists(zk: &ZkServer, path: &str) -> bool {
    let out = zk.cli(Some(&zk.super_auth), &format!("stat {path}"));
    !format!("{}{}", out.stdout, out.stderr).contains("Node does not exist")
}

fn get_acl(zk: &ZkServer, path: &str) -> String {
    zk.cli(Some(&zk.super_auth), &format!("getAcl {path}"))
        .stdout
}

#[test]
fn znode_example_full_loop() {
    each_cli(|cli| {
        let zk = zookeeper();
        let wd = workdir(cli, &zk, &example("resources/zkkafka_znode/resource.tf"));
        wd.apply();
        wd.assert_plan_empty();
        assert!(
            get(&zk, "/app/config").contains("feature_x"),
            "config data written"
        );
        assert!(exists(&zk, "/app/blobs/logo"), "binary znode created");
        let acl = get_acl(&zk, "/app/config");
        assert!(acl.contains("'digest,'app:"), "digest ACL set: {acl}");

        // Data changed by hand: the plan shows it, apply restores it.
        zk.cli(Some(&zk.super_auth), "set /app/config tampered");
        let plan = wd.assert_plan_changes();
        assert!(
            plan.contains("tampered"),
            "plan names the drifted value:\n{plan}"
        );
        wd.apply();
        assert!(
            get(&zk, "/app/config").contains("feature_x"),
            "apply restored the data"
        );
        wd.assert_plan_empty();

        // ACL changed by hand.
        zk.cli(
            Some(&zk.super_auth),
            "setAcl /app/config world:anyone:cdrwa",
        );
        let plan = wd.assert_plan_changes();
        assert!(
            plan.contains("acl") && plan.contains(r#""world" -> "digest""#),
            "plan shows the ACL drift, with the scheme found:\n{plan}"
        );
        wd.apply();
        assert!(
            get_acl(&zk, "/app/config").contains("'digest,'app:"),
            "ACL restored"
        );
        wd.assert_plan_empty();

        // Deleted by hand: the plan proposes to create it again.
        zk.cli(Some(&zk.super_auth), "delete /app/blobs/logo");
        let plan = wd.assert_plan_changes();
        assert!(
            plan.contains("will be created"),
            "plan recreates the deleted znode:\n{plan}"
        );
        wd.apply();
        assert!(exists(&zk, "/app/blobs/logo"));

        // Import into a fresh state: the plan is empty.
        wd.reset_state();
        wd.import("zkkafka_znode.app", "/app");
        wd.import("zkkafka_znode.config", "/app/config");
        wd.import("zkkafka_znode.blobs", "/app/blobs");
        wd.import("zkkafka_znode.blob", "/app/blobs/logo");
        wd.assert_plan_empty();

        wd.destroy();
        assert!(!exists(&zk, "/app"), "destroy removed the subtree");
    });
}

#[test]
fn znode_acl_example_full_loop() {
    each_cli(|cli| {
        let zk = zookeeper();
        zk.cli(None, "create /events");
        let before = get_acl(&zk, "/events");
        assert!(
            before.contains("world") && before.contains("cdrwa"),
            "{before}"
        );

        let wd = workdir(
            cli,
            &zk,
            &example("resources/zkkafka_znode_acl/resource.tf"),
        );
        wd.apply();
        wd.assert_plan_empty();
        let acl = get_acl(&zk, "/events");
        assert!(acl.contains("'digest,'kafka:"), "ACL set: {acl}");

        zk.cli(Some(&zk.super_auth), "setAcl /events world:anyone:cdrwa");
        let plan = wd.assert_plan_changes();
        assert!(
            plan.contains(r#""world" -> "digest""#),
            "plan shows the setAcl made by hand, with the scheme found:\n{plan}"
        );
        wd.apply();
        assert!(
            get_acl(&zk, "/events").contains("'digest,'kafka:"),
            "ACL restored"
        );
        wd.assert_plan_empty();

        // Destroy puts back the ACL found before Terraform took over.
        wd.destroy();
        let after = get_acl(&zk, "/events");
        assert!(!after.contains("digest"), "original ACL restored: {after}");
        assert!(exists(&zk, "/events"), "the znode itself is never deleted");

        // Take it over again, then import into a fresh state: the plan is empty.
        wd.apply();
        wd.reset_state();
        wd.import("zkkafka_znode_acl.events_root", "/events");
        wd.assert_plan_empty();
        wd.destroy();
    });
}

#[test]
fn quickstart_and_function_examples() {
    each_cli(|cli| {
        let zk = zookeeper();
        let wd = workdir(cli, &zk, &example("quickstart/main.tf"));
        wd.apply();
        wd.assert_plan_empty();
        zk.cli(Some(&zk.super_auth), "set /quickstart changed-by-hand");
        wd.assert_plan_changes();
        wd.apply();
        wd.assert_plan_empty();
        wd.reset_state();
        wd.import("zkkafka_znode.app", "/quickstart");
        wd.import("zkkafka_znode.settings", "/quickstart/settings");
        wd.assert_plan_empty();
        wd.destroy();
        assert!(!exists(&zk, "/quickstart"));

        // The provider block example (kubernetes {} and zookeeper {}) validates.
        let wd = Workdir::new(cli, &provider());
        wd.write("main.tf", &example("provider/provider.tf"));
        let out = wd.run(&["validate", "-no-color"]);
        assert!(out.success(), "provider example: {}", out.stderr);

        let wd = Workdir::new(cli, &provider());
        wd.write("main.tf", &example("functions/digest_id/function.tf"));
        wd.apply();
        let state = wd.state_json();
        let value = state["values"]["outputs"]["kafka_digest_id"]["value"]
            .as_str()
            .map(str::to_owned);
        // Independent computation: base64(sha1("kafka:secret")).
        assert_eq!(value.as_deref(), Some("kafka:cHI0nVZW0ogIqS6kVPfrpKU0GoU="));
    });
}

/// Rewrites the state of every instance of `type_name` as `old_version` of its schema wrote
/// it: the `id` that versions before the current one kept (a copy of `path`) and `extra`
/// attributes. Returns how many instances it rewrote.
fn downgrade_state(
    wd: &Workdir,
    type_name: &str,
    current: i64,
    old_version: i64,
    extra: &[(&str, i64)],
) -> usize {
    let path = wd.path().join("terraform.tfstate");
    let text = std::fs::read_to_string(&path).expect("read state");
    let mut state: serde_json::Value = serde_json::from_str(&text).expect("state is JSON");
    let serial = state["serial"].as_i64().expect("serial");
    state["serial"] = (serial + 1).into();
    let mut downgraded = 0;
    for resource in state["resources"].as_array_mut().expect("resources") {
        if resource["type"] != type_name {
            continue;
        }
        for instance in resource["instances"].as_array_mut().expect("instances") {
            assert_eq!(
                instance["schema_version"], current,
                "written by the current schema"
            );
            instance["schema_version"] = old_version.into();
            let attributes = instance["attributes"].as_object_mut().expect("attributes");
            assert!(attributes.get("id").is_none(), "no id since this version");
            let znode_path = attributes["path"].clone();
            attributes.insert("id".into(), znode_path);
            for (name, value) in extra {
                attributes.insert((*name).into(), (*value).into());
            }
            downgraded += 1;
        }
    }
    std::fs::write(&path, serde_json::to_string_pretty(&state).expect("encode"))
        .expect("write state");
    downgraded
}

/// Asserts every instance of `type_name` in the state is at `version` without an `id`.
fn assert_state_upgraded(wd: &Workdir, type_name: &str, version: i64) {
    let text = std::fs::read_to_string(wd.path().join("terraform.tfstate")).expect("read state");
    let state: serde_json::Value = serde_json::from_str(&text).expect("state is JSON");
    let mut seen = 0;
    for resource in state["resources"].as_array().expect("resources") {
        if resource["type"] != type_name {
            continue;
        }
        for instance in resource["instances"].as_array().expect("instances") {
            assert_eq!(instance["schema_version"], version, "upgraded: {instance}");
            let attributes = &instance["attributes"];
            assert!(attributes.get("id").is_none(), "{instance}");
            assert!(attributes.get("ctime").is_none(), "{instance}");
            assert!(attributes["path"].is_string(), "{instance}");
            seen += 1;
        }
    }
    assert!(seen > 0, "no {type_name} in the state");
}

/// States written by older schema versions of `zkkafka_znode` upgrade in place: version 0
/// also kept `data_length`, `czxid`, `mzxid`, `ctime` and `mtime`, versions 0 and 1 a computed
/// `id` (a copy of `path`). The plan is empty, and the next apply stores version 2 without them.
#[test]
fn znode_state_from_older_schema_versions_upgrades() {
    each_cli(|cli| {
        let zk = zookeeper();
        let wd = workdir(cli, &zk, &example("quickstart/main.tf"));
        wd.apply();
        let version_0_stat = [
            ("data_length", 12),
            ("czxid", 4_294_967_298_i64),
            ("mzxid", 4_294_967_298),
            ("ctime", 1_764_000_000_000),
            ("mtime", 1_764_000_000_000),
        ];
        for (old, extra) in [(0, &version_0_stat[..]), (1, &[][..])] {
            let n = downgrade_state(&wd, "zkkafka_znode", 2, old, extra);
            assert!(n >= 2, "the quickstart has znodes: {n}");
            wd.assert_plan_empty();
            wd.apply();
            assert_state_upgraded(&wd, "zkkafka_znode", 2);
        }
        wd.destroy();
    });
}

/// A `zkkafka_znode_acl` state of schema version 0, which kept a computed `id`, upgrades to
/// version 1 in place with an empty plan.
#[test]
fn znode_acl_state_from_schema_version_0_upgrades() {
    each_cli(|cli| {
        let zk = zookeeper();
        zk.cli(None, "create /events");
        let wd = workdir(
            cli,
            &zk,
            &example("resources/zkkafka_znode_acl/resource.tf"),
        );
        wd.apply();
        assert_eq!(downgrade_state(&wd, "zkkafka_znode_acl", 1, 0, &[]), 1);
        wd.assert_plan_empty();
        wd.apply();
        assert_state_upgraded(&wd, "zkkafka_znode_acl", 1);
        wd.destroy();
    });
}

/// The README's other way to use a locally built provider: a filesystem mirror, which (unlike
/// dev_overrides) goes through `init` as a released provider would: init installs it from the
/// mirror and writes the lock file, then the quickstart applies, plans empty and destroys.
#[test]
fn quickstart_through_init_from_a_filesystem_mirror() {
    each_cli(|cli| {
        let zk = zookeeper();
        let wd = Workdir::with_overrides(cli, &[]);
        let mirror = wd.path().join("mirror");
        // tofu resolves zkkafka/zkkafka on registry.opentofu.org, terraform on
        // registry.terraform.io.
        for host in ["registry.opentofu.org", "registry.terraform.io"] {
            let dir = mirror.join(format!(
                "{host}/zkkafka/zkkafka/{}/linux_amd64",
                env!("CARGO_PKG_VERSION")
            ));
            std::fs::create_dir_all(&dir).expect("mirror directory");
            std::fs::copy(provider(), dir.join("terraform-provider-zkkafka"))
                .expect("copying the provider into the mirror");
        }
        wd.write(
            ".cli.tfrc",
            &format!(
                "provider_installation {{\n  filesystem_mirror {{\n    path    = {}\n    include = [\"registry.opentofu.org/zkkafka/zkkafka\", \"registry.terraform.io/zkkafka/zkkafka\"]\n  }}\n}}\ndisable_checkpoint = true\n",
                common::hcl_string(&mirror.to_string_lossy())
            ),
        );
        wd.write("main.tf", &example("quickstart/main.tf"));
        wd.write(
            "terraform.tfvars",
            &format!("zookeeper_connect = \"{}\"\n", zk.connect_string),
        );
        let init = wd.run(&["init", "-input=false", "-no-color"]);
        assert!(init.success(), "init: {}{}", init.stdout, init.stderr);
        assert!(
            init.stdout.contains(&format!(
                "Installed zkkafka/zkkafka v{}",
                env!("CARGO_PKG_VERSION")
            )),
            "init installs the provider from the mirror:\n{}",
            init.stdout
        );
        let lock = std::fs::read_to_string(wd.path().join(".terraform.lock.hcl"))
            .expect("init writes the lock file");
        assert!(lock.contains("zkkafka/zkkafka"), "{lock}");
        wd.apply();
        wd.assert_plan_empty();
        wd.destroy();
        assert!(!exists(&zk, "/quickstart"));
    });
}
