//! The test bench itself works: the CLIs run, ZooKeeper serves and zkCli talks to it, and a
//! workdir applies, plans empty and destroys. Uses only built-in resources, so it holds
//! whatever state the provider is in.

mod common;

use common::{Cli, Workdir};

#[test]
fn clis_report_versions() {
    let tools = common::tools();
    for cli in Cli::available() {
        let wd = Workdir::without_provider(cli);
        let out = wd.run(&["version", "-json"]);
        out.assert_success();
        let v: serde_json::Value = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("{cli} version -json is not JSON ({e}):\n{out}"));
        let version = v["terraform_version"].as_str().unwrap_or_default();
        assert!(!version.is_empty(), "{cli} printed no version:\n{out}");
        eprintln!("{cli} {version} at {}", tools.cli_binary(cli).display());
    }
    if tools.terraform.is_none() {
        eprintln!("terraform is not on PATH: Terraform runs are skipped");
    }
}

#[test]
fn zookeeper_serves_and_zkcli_round_trips() {
    let zk = common::zookeeper();
    assert_eq!(zk.four_letter("ruok"), "imok");
    assert!(zk.four_letter("srvr").contains("Mode: standalone"));

    // Plain command, data with a space (quoted for the CLI by the harness's caller).
    zk.cli(None, r#"create /bench "hello world""#)
        .assert_success();
    let got = zk.cli(None, "get /bench");
    got.assert_success();
    assert_eq!(
        got.stdout, "hello world\n",
        "zkCli output not clean:\n{got}"
    );
    assert_eq!(zk.get("/bench").as_deref(), Some("hello world"));
    assert_eq!(zk.get("/bench-missing"), None);

    // A missing znode fails with ZooKeeper's message.
    let missing = zk.cli(None, "get /bench-missing");
    missing.assert_failure();
    assert!(missing.stderr.contains("Node does not exist"), "{missing}");

    // A znode only a digest user may read: denied without auth, readable as that user and as
    // the super user.
    let id = common::digest_id("alice", "secret");
    zk.cli(None, &format!("create /private p digest:{id}:cdrwa"))
        .assert_success();
    let denied = zk.cli(None, "get /private");
    denied.assert_failure();
    assert!(
        denied.stderr.contains("Insufficient permission"),
        "{denied}"
    );
    let as_alice = zk.cli(Some("alice:secret"), "get /private");
    as_alice.assert_success();
    assert_eq!(as_alice.stdout, "p\n");
    assert_eq!(zk.get("/private").as_deref(), Some("p"));
    assert_eq!(
        zk.get_acl("/private"),
        vec![("digest".to_owned(), id, "cdrwa".to_owned())]
    );
    assert_eq!(
        zk.get_acl("/bench"),
        vec![("world".to_owned(), "anyone".to_owned(), "cdrwa".to_owned())]
    );
}

#[test]
fn zookeeper_servers_are_independent() {
    let a = common::zookeeper();
    let b = common::zookeeper();
    assert_ne!(a.port, b.port);
    a.cli(None, "create /only-a x").assert_success();
    assert_eq!(b.get("/only-a"), None);
    let dir = a.dir().to_owned();
    drop(a);
    assert!(
        !dir.exists(),
        "the server's directory should be gone after drop"
    );
}

const TERRAFORM_DATA: &str = r#"
resource "terraform_data" "bench" {
  input = "hello"
}

output "echo" {
  value = terraform_data.bench.output
}
"#;

fn apply_plan_destroy(wd: &Workdir) {
    wd.write("main.tf", TERRAFORM_DATA);
    assert_eq!(wd.plan_exit_code(), 2);
    wd.apply();
    wd.assert_plan_empty();

    let state = wd.state_json();
    let values = wd
        .resource_values("terraform_data.bench")
        .unwrap_or_else(|| panic!("terraform_data.bench not in state: {state:#}"));
    assert_eq!(values["output"], "hello");

    // A config change shows up as a change.
    wd.write("main.tf", &TERRAFORM_DATA.replace("hello", "changed"));
    wd.assert_plan_changes();
    wd.write("main.tf", TERRAFORM_DATA);

    wd.destroy();
    wd.assert_plan_changes();
    wd.reset_state();
    assert!(!wd.path().join("terraform.tfstate").exists());
}

/// With the dev override for our provider in place (whatever the provider can do today), a
/// configuration that doesn't use it works.
#[test]
fn terraform_data_with_provider_override() {
    let binary = common::provider_binary();
    for cli in Cli::available() {
        eprintln!("--- {cli}");
        let wd = Workdir::new(cli, &binary);
        apply_plan_destroy(&wd);
    }
}

#[test]
fn terraform_data_without_override() {
    let wd = Workdir::without_provider(Cli::Tofu);
    apply_plan_destroy(&wd);
}

#[test]
fn a_hanging_command_is_killed() {
    let mut cmd = std::process::Command::new("sleep");
    cmd.arg("30");
    let started = std::time::Instant::now();
    let out = common::run_with_timeout(cmd, None, std::time::Duration::from_millis(300));
    assert!(out.timed_out && !out.success());
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn hcl_strings_are_escaped() {
    assert_eq!(common::hcl_string(r#"a"b\c"#), r#""a\"b\\c""#);
    assert_eq!(common::hcl_string("${x} %{y} $z"), r#""$${x} %%{y} $z""#);
}
