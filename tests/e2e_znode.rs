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

/// What every configuration written in this file starts with.
const HEADER: &str = r#"
terraform {
  required_providers {
    zkkafka = { source = "zkkafka/zkkafka" }
  }
}
variable "zookeeper_connect" { type = string }
"#;

/// [`workdir`] for a configuration given without [`HEADER`].
fn workdir_with_header(cli: Cli, zk: &ZkServer, body: &str) -> Workdir {
    workdir(cli, zk, &format!("{HEADER}{body}"))
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
/// Rewrites every `type_name` instance in the state as schema version `old_version` would
/// have stored it: `edit` gets the current attributes. Returns how many it rewrote.
fn downgrade_state(
    wd: &Workdir,
    type_name: &str,
    current: i64,
    old_version: i64,
    edit: impl Fn(&mut serde_json::Map<String, serde_json::Value>),
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
            edit(attributes);
            downgraded += 1;
        }
    }
    std::fs::write(&path, serde_json::to_string_pretty(&state).expect("encode"))
        .expect("write state");
    downgraded
}

/// Versions before 2 kept a computed `id`, a copy of `path`.
fn add_id(attributes: &mut serde_json::Map<String, serde_json::Value>) {
    let znode_path = attributes["path"].clone();
    attributes.insert("id".into(), znode_path);
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
            if attributes["data"].is_string() {
                assert!(attributes["data_base64"].is_null(), "{instance}");
            }
            seen += 1;
        }
    }
    assert!(seen > 0, "no {type_name} in the state");
}

/// States written by older schema versions of `zkkafka_znode` upgrade in place: version 0
/// also kept `data_length`, `czxid`, `mzxid`, `ctime` and `mtime`, versions 0 and 1 a computed
/// `id` (a copy of `path`), versions 0 to 2 a `data_base64` computed from `data`. The plan is
/// empty, and the next apply stores version 3 without them.
#[test]
fn znode_state_from_older_schema_versions_upgrades() {
    each_cli(|cli| {
        let zk = zookeeper();
        // The example has znodes with text, with binary data and with none.
        let wd = workdir(cli, &zk, &example("resources/zkkafka_znode/resource.tf"));
        wd.apply();
        // What versions 0 to 2 stored: data_base64 computed from data, "" with neither.
        let computed_base64 = |attributes: &mut serde_json::Map<String, serde_json::Value>| {
            use base64::Engine as _;
            if let Some(text) = attributes["data"].as_str() {
                let b64 = base64::engine::general_purpose::STANDARD.encode(text);
                attributes.insert("data_base64".into(), b64.into());
            } else if attributes["data_base64"].is_null() {
                attributes.insert("data_base64".into(), "".into());
            }
        };
        for old in 0..=2 {
            let n = downgrade_state(&wd, "zkkafka_znode", 3, old, |attributes| {
                computed_base64(attributes);
                if old < 2 {
                    add_id(attributes);
                }
                if old == 0 {
                    for (name, value) in [
                        ("data_length", 12),
                        ("czxid", 4_294_967_298_i64),
                        ("mzxid", 4_294_967_298),
                        ("ctime", 1_764_000_000_000),
                        ("mtime", 1_764_000_000_000),
                    ] {
                        attributes.insert(name.into(), value.into());
                    }
                }
            });
            assert!(n >= 4, "the example has znodes: {n}");
            wd.assert_plan_empty();
            wd.apply();
            assert_state_upgraded(&wd, "zkkafka_znode", 3);
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
        assert_eq!(
            downgrade_state(&wd, "zkkafka_znode_acl", 1, 0, |attributes| {
                add_id(attributes);
                // Before the first release, version 0 also held these two, always null.
                attributes.insert("timeouts".into(), serde_json::Value::Null);
                attributes.insert("connection".into(), serde_json::Value::Null);
            }),
            1
        );
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

/// A sensitive `data` stays hidden: nothing derived from it (such as a base64 copy) shows in
/// the plan, the apply or an output that is not itself marked sensitive.
#[test]
fn sensitive_data_appears_nowhere_in_plan_or_apply() {
    const SECRET: &str = "hunter2-db-password";
    // base64("hunter2-db-password"), and the start of it, which any base64 copy would show.
    const SECRET_B64: &str = "aHVudGVyMi1kYi1wYXNzd29yZA==";
    each_cli(|cli| {
        let zk = zookeeper();
        let wd = workdir_with_header(
            cli,
            &zk,
            &format!(
                r#"
variable "secret" {{
  type      = string
  sensitive = true
  default   = "{SECRET}"
}}
provider "zkkafka" {{
  zookeeper {{ connect_string = var.zookeeper_connect }}
}}
resource "zkkafka_znode" "s" {{
  path = "/secret"
  data = var.secret
}}
output "b64" {{ value = zkkafka_znode.s.data_base64 }}
"#
            ),
        );
        let plan = wd.run(&["plan"]);
        plan.assert_success();
        let apply = wd.apply();
        for (name, out) in [("plan", plan.combined()), ("apply", apply.combined())] {
            assert!(
                !out.contains(SECRET) && !out.contains(&SECRET_B64[..12]),
                "{name} shows the secret:\n{out}"
            );
        }
        assert_eq!(zk.get("/secret").as_deref(), Some(SECRET));
        wd.assert_plan_empty();
        wd.destroy();
    });
}

/// Another client writing between `plan -out` and `apply` moves the znode's counters. The
/// apply must not then fail with "Provider produced inconsistent result after apply": the
/// data version is checked for data changes only, so an ACL-only write goes through, a data
/// write goes through, and the next plan shows what the other client did.
#[test]
fn writes_by_others_between_plan_and_apply_are_no_inconsistent_result() {
    let zk = zookeeper();
    let wd = workdir_with_header(
        Cli::Tofu,
        &zk,
        r#"
variable "d" { default = "d1" }
variable "perm" { default = "cdrwa" }
provider "zkkafka" {
  zookeeper { connect_string = var.zookeeper_connect }
}
resource "zkkafka_znode" "x" {
  path = "/between"
  data = var.d
  acl {
    scheme      = "world"
    id          = "anyone"
    permissions = var.perm
  }
}
"#,
    );
    wd.apply();

    // A data change planned; meanwhile someone rewrites the ACL (same entries, new version).
    wd.run(&["plan", "-var", "d=d2", "-out=p1"])
        .assert_success();
    zk.cli_super("setAcl /between world:anyone:cdrwa")
        .assert_success();
    let out = wd.run(&["apply", "p1"]);
    out.assert_success();
    assert!(!out.contains("inconsistent result"), "{out}");
    assert_eq!(zk.get("/between").as_deref(), Some("d2"));

    // An ACL change planned; meanwhile someone writes the data.
    wd.run(&["plan", "-var", "d=d2", "-var", "perm=rwa", "-out=p2"])
        .assert_success();
    zk.cli_super("set /between oob").assert_success();
    let out = wd.run(&["apply", "p2"]);
    out.assert_success();
    assert!(!out.contains("inconsistent result"), "{out}");
    let plan = wd.run(&[
        "plan",
        "-var",
        "d=d2",
        "-var",
        "perm=rwa",
        "-detailed-exitcode",
    ]);
    assert_eq!(
        plan.code, 2,
        "the other client's data shows as drift:\n{plan}"
    );
    assert!(plan.contains(r#""oob" -> "d2""#), "{plan}");
}

/// An `auth` entry on a session with two digest identities: ZooKeeper stores one digest entry
/// per identity, and that reads back as the one `auth` entry, so the next plan is empty.
#[test]
fn an_auth_acl_on_a_session_with_two_identities_settles() {
    let zk = zookeeper();
    let wd = workdir_with_header(
        Cli::Tofu,
        &zk,
        r#"
provider "zkkafka" {
  zookeeper {
    connect_string = var.zookeeper_connect
    auth {
      scheme      = "digest"
      credentials = "alice:pw1"
    }
    auth {
      scheme      = "digest"
      credentials = "bob:pw2"
    }
  }
}
resource "zkkafka_znode" "x" {
  path = "/two-identities"
  acl {
    scheme      = "auth"
    permissions = "cdrwa"
  }
}
"#,
    );
    wd.apply();
    let acl = zk.get_acl("/two-identities");
    assert_eq!(acl.len(), 2, "one entry per identity: {acl:?}");
    wd.assert_plan_empty();
    wd.destroy();
}

/// Ctrl-C while ZooKeeper does not answer ends the apply at once, and a create whose outcome
/// is unknown stays in the state (tainted), so the next apply converges instead of failing on
/// a znode this provider made.
#[test]
fn ctrl_c_ends_a_stuck_create_and_the_next_apply_converges() {
    let zk = zookeeper();
    let pid = std::fs::read_to_string(zk.dir().join("zookeeper.pid"))
        .expect("zookeeper.pid")
        .trim()
        .to_owned();
    let marker = zk.dir().join("paused");
    let wd = workdir_with_header(
        Cli::Tofu,
        &zk,
        &format!(
            r#"
provider "zkkafka" {{
  zookeeper {{ connect_string = var.zookeeper_connect }}
}}
resource "zkkafka_znode" "first" {{
  path = "/first"
}}
# Pauses ZooKeeper after the provider's session is up, so the next create gets no answer.
resource "terraform_data" "pause" {{
  depends_on = [zkkafka_znode.first]
  provisioner "local-exec" {{
    command = "kill -STOP {pid} && touch {marker}"
  }}
}}
resource "zkkafka_znode" "second" {{
  depends_on = [terraform_data.pause]
  path       = "/second"
  data       = "two"
}}
"#,
            marker = marker.display()
        ),
    );
    let resume = || {
        let _ = std::process::Command::new("kill")
            .args(["-CONT", &pid])
            .status();
    };
    let apply = wd
        .command(&["apply", "-auto-approve"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starting apply");
    let started = std::time::Instant::now();
    while !marker.exists() && started.elapsed() < std::time::Duration::from_secs(120) {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(marker.exists(), "the pause step never ran");
    // Let the second create reach the paused server, then interrupt.
    std::thread::sleep(std::time::Duration::from_secs(2));
    let _ = std::process::Command::new("kill")
        .args(["-INT", &apply.id().to_string()])
        .status();
    let out = apply.wait_with_output().expect("apply output");
    resume();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !out.status.success(),
        "the interrupted apply failed:\n{text}"
    );
    assert!(
        text.contains("interrupted before ZooKeeper answered"),
        "the create ended on the interrupt, not on a timeout:\n{text}"
    );
    let state = wd.state_json();
    let second = state
        .pointer("/values/root_module/resources")
        .and_then(|r| r.as_array())
        .and_then(|r| {
            r.iter()
                .find(|r| r["address"] == "zkkafka_znode.second")
                .cloned()
        });
    let second =
        second.unwrap_or_else(|| panic!("the unfinished create was forgotten:\n{state:#}"));
    assert_eq!(second["tainted"], true, "{second:#}");

    wd.apply();
    assert_eq!(zk.get("/second").as_deref(), Some("two"));
    wd.assert_plan_empty();
    wd.destroy();
}

/// New credentials in a zkkafka_znode_acl's own zookeeper {} block change what its `auth`
/// entry grants: one apply sets the ACL for the new identity, and the next plan is empty.
#[test]
fn new_credentials_move_an_auth_entry_in_one_apply() {
    let zk = zookeeper();
    zk.cli_super("create /owned").assert_success();
    let wd = workdir_with_header(
        Cli::Tofu,
        &zk,
        r#"
variable "user" { default = "alice" }
resource "zkkafka_znode_acl" "owned" {
  path = "/owned"
  zookeeper {
    connect_string = var.zookeeper_connect
    auth {
      scheme      = "digest"
      credentials = "${var.user}:pw"
    }
  }
  acl {
    scheme      = "auth"
    permissions = "cdrwa"
  }
  acl {
    scheme      = "world"
    id          = "anyone"
    permissions = "ra" # so the new identity may set the ACL
  }
}
"#,
    );
    wd.apply();
    let digest = |user: &str| common::digest_id(user, "pw");
    assert!(zk
        .get_acl("/owned")
        .iter()
        .any(|(_, id, _)| *id == digest("alice")));
    wd.run(&["apply", "-auto-approve", "-var", "user=bob"])
        .assert_success();
    let acl = zk.get_acl("/owned");
    assert!(acl.iter().any(|(_, id, _)| *id == digest("bob")), "{acl:?}");
    let plan = wd.run(&["plan", "-detailed-exitcode", "-var", "user=bob"]);
    assert_eq!(plan.code, 0, "one apply was enough:\n{plan}");
}

/// A configuration with one znode under the provider's connection.
fn one_znode(path: &str, data: &str) -> String {
    format!(
        r#"
provider "zkkafka" {{
  zookeeper {{ connect_string = var.zookeeper_connect }}
}}
resource "zkkafka_znode" "x" {{
  path = "{path}"
  data = "{data}"
}}
"#
    )
}

/// The number of sessions the server keeps, from the `dump` four-letter word ("Session Sets
/// (buckets)/(sessions)").
fn live_sessions(zk: &ZkServer) -> usize {
    let dump = zk.four_letter("dump");
    let line = dump
        .lines()
        .find(|l| l.starts_with("Session Sets"))
        .unwrap_or_else(|| panic!("no session count in dump:\n{dump}"));
    line.rsplit_once("/(")
        .and_then(|(_, n)| n.trim_end_matches("):").parse().ok())
        .unwrap_or_else(|| panic!("cannot read {line:?}"))
}

/// A finished command leaves no session on the server: the provider closes it when the CLI
/// shuts the process down, instead of leaving it there until its 30 s timeout.
#[test]
fn finished_commands_leave_no_session_on_the_server() {
    let zk = zookeeper();
    if !zk.dedicated {
        eprintln!("a shared server (ZKKAFKA_TEST_ZK) has other tests' sessions: skipped");
        return;
    }
    let wd = workdir_with_header(Cli::Tofu, &zk, &one_znode("/sessions", "x"));
    wd.apply();
    wd.assert_plan_empty();
    assert_eq!(
        live_sessions(&zk),
        0,
        "sessions left behind:\n{}",
        zk.four_letter("dump")
    );
    wd.destroy();
}

/// A zkCli session kept open, so its ephemeral znodes live until it is dropped.
struct EphemeralOwner(std::process::Child);

impl EphemeralOwner {
    fn create(zk: &ZkServer, paths: &[&str]) -> EphemeralOwner {
        use std::io::Write as _;
        use std::process::{Command, Stdio};
        let mut child = Command::new("java")
            .args(["-cp", &tools().zookeeper_classpath()])
            .arg("org.apache.zookeeper.ZooKeeperMain")
            .args(["-server", &zk.connect_string])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting zkCli");
        let stdin = child.stdin.as_mut().expect("zkCli stdin");
        for path in paths {
            writeln!(stdin, "create -e {path} ephemeral").expect("writing to zkCli");
        }
        stdin.flush().expect("flushing zkCli's stdin");
        let owner = EphemeralOwner(child);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !paths.iter().all(|p| {
            zk.cli_super(&format!("stat {p}"))
                .stdout
                .lines()
                .any(|l| l.starts_with("ephemeralOwner") && !l.ends_with("0x0"))
        }) {
            assert!(
                std::time::Instant::now() < deadline,
                "zkCli made no ephemeral znodes"
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        owner
    }
}

impl Drop for EphemeralOwner {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Ephemeral znodes belong to the session that made them: import refuses one, and when
/// another client replaced this resource's znode by one, refresh warns and destroy leaves it.
#[test]
fn ephemeral_znodes_are_left_to_their_owner() {
    let zk = zookeeper();
    let wd = workdir_with_header(Cli::Tofu, &zk, &one_znode("/eph-managed", "ephemeral"));
    wd.apply();
    zk.cli_super("delete /eph-managed").assert_success();
    let _owner = EphemeralOwner::create(&zk, &["/eph-managed", "/eph-other"]);

    let plan = wd.plan();
    assert!(plan.contains("Znode is ephemeral"), "{plan}");
    let out = wd.destroy();
    assert!(out.contains("Ephemeral znode not deleted"), "{out}");
    assert!(
        exists(&zk, "/eph-managed"),
        "destroy deleted another session's znode"
    );

    let fresh = workdir_with_header(Cli::Tofu, &zk, &one_znode("/eph-other", "ephemeral"));
    let out = fresh.run(&["import", "-input=false", "zkkafka_znode.x", "/eph-other"]);
    assert!(!out.success(), "{out}");
    assert!(out.contains("Cannot import an ephemeral znode"), "{out}");
}

/// Bytes that are not UTF-8 under a znode managed with `data` show as data_base64 in the plan,
/// not as a lossy text copy (which could even compare equal to the configuration).
#[test]
fn binary_data_written_over_text_shows_in_the_plan() {
    let zk = zookeeper();
    let wd = workdir_with_header(Cli::Tofu, &zk, &one_znode("/binary-drift", "\\uFFFD"));
    wd.apply();
    // U+FFFD is what a lossy decoding of 0xFF gives: the old refresh saw no change.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let store = zkkafka::adapters::zookeeper::connect(
            &zkkafka::adapters::zookeeper::ZkConnection::new(&zk.connect_string),
        )
        .await
        .expect("connect");
        store
            .set_data("/binary-drift", &[0xff], -1)
            .await
            .expect("writing binary data");
    });
    let plan = wd.plan();
    assert_eq!(plan.code, 2, "{plan}");
    assert!(plan.contains(r#""/w==" -> null"#), "{plan}");
    wd.apply();
    wd.assert_plan_empty();
    wd.destroy();
}

/// A zkkafka_znode_acl of /cbd granting `ip` read, with `create_before_destroy`, connected
/// through the provider's block or, when given, its own connect string.
fn cbd_acl(ip: &str, own_connect: Option<&str>) -> String {
    let own = own_connect
        .map(|c| format!("  zookeeper {{ connect_string = \"{c}\" }}\n"))
        .unwrap_or_default();
    format!(
        r#"
provider "zkkafka" {{
  zookeeper {{ connect_string = var.zookeeper_connect }}
}}
resource "zkkafka_znode_acl" "x" {{
  path = "/cbd"
{own}  acl {{
    scheme      = "world"
    id          = "anyone"
    permissions = "cdrwa"
  }}
  acl {{
    scheme      = "ip"
    id          = "{ip}"
    permissions = "r"
  }}
  lifecycle {{
    create_before_destroy = true
  }}
}}
"#
    )
}

/// `create_before_destroy` on a znode ACL: the new instance takes the znode over first, so the
/// old one's destroy must not put its original ACL back over the new one.
#[test]
fn a_znode_acl_replaced_create_before_destroy_keeps_the_new_acl() {
    let zk = zookeeper();
    zk.cli_super("create /cbd").assert_success();
    zk.cli_super("setAcl /cbd world:anyone:cdrwa,ip:10.1.2.3:r")
        .assert_success();
    let wd = workdir_with_header(Cli::Tofu, &zk, &cbd_acl("10.9.9.9", None));
    wd.apply();
    let out = wd.run(&["apply", "-auto-approve", "-replace=zkkafka_znode_acl.x"]);
    out.assert_success();
    assert!(
        out.contains("left to the instance that replaced this one"),
        "{out}"
    );
    assert!(
        out.contains("ip:10.1.2.3:r"),
        "the warning names the original:\n{out}"
    );
    let acl = zk.get_acl("/cbd");
    assert!(acl.iter().any(|(_, id, _)| id == "10.9.9.9"), "{acl:?}");
    wd.assert_plan_empty();

    // Another spelling of the same server replaces the resource (a new connect string may
    // be another ensemble); the old instance's restore then finds the new instance's ACL.
    let localhost = format!("localhost:{}", zk.port);
    wd.write(
        "main.tf",
        &format!("{HEADER}{}", cbd_acl("10.9.9.8", Some(&localhost))),
    );
    let out = wd.run(&["apply", "-auto-approve"]);
    out.assert_success();
    assert!(
        out.contains("left to the instance that replaced this one"),
        "{out}"
    );
    let acl = zk.get_acl("/cbd");
    assert!(acl.iter().any(|(_, id, _)| id == "10.9.9.8"), "{acl:?}");
    wd.assert_plan_empty();
}
