//! End to end: connections that are not known at plan time. The provider's zookeeper {} block
//! and a resource's own zookeeper {} block both take a connect string from another resource
//! created in the same apply: one `apply` does it all, and the next plan is empty. The two
//! point at two different ZooKeeper servers, so each znode is proven to go where its
//! connection says (a resource block the CLI swallowed would send both to the provider's).

mod common;

use std::path::PathBuf;

use common::{tools, zookeeper, Cli, Workdir};

fn provider() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-zkkafka"))
}

#[test]
fn connect_strings_from_resources_created_in_the_same_apply() {
    let mut clis = vec![Cli::Tofu];
    if tools().terraform.is_some() {
        clis.push(Cli::Terraform);
    }
    for cli in clis {
        let zk = zookeeper();
        let other = zookeeper();
        let wd = Workdir::new(cli, &provider());
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

# Stands in for an ensemble created in the same run: its output is unknown until apply, and
# again whenever it is replaced (a new `rev`).
resource "terraform_data" "ensemble" {{
  input            = "{connect}"
  triggers_replace = var.rev
}}

resource "terraform_data" "other_ensemble" {{
  input = "{other}"
}}

provider "zkkafka" {{
  zookeeper {{
    connect_string = terraform_data.ensemble.output
  }}
}}

resource "zkkafka_znode" "via_provider" {{
  path = "/via-provider"
  data = "a"
}}

resource "zkkafka_znode" "via_resource" {{
  path = "/via-resource"
  data = "b"
  zookeeper {{
    connect_string = terraform_data.other_ensemble.output
  }}
}}
"#,
                connect = zk.connect_string,
                other = other.connect_string
            ),
        );
        let plan = wd.run(&["plan", "-input=false"]);
        assert!(
            plan.success(),
            "plan with unknown connections must succeed:\n{}",
            plan.stderr
        );
        wd.apply();
        wd.assert_plan_empty();
        assert!(zk.cli(None, "get /via-provider").stdout.contains('a'));
        assert!(other.cli(None, "get /via-resource").stdout.contains('b'));
        assert_eq!(
            zk.get("/via-resource"),
            None,
            "not on the provider's server"
        );
        assert_eq!(
            other.get("/via-provider"),
            None,
            "not on the resource's server"
        );
        other.cli(None, "set /via-resource changed");
        wd.assert_plan_changes();
        wd.apply();

        // The provider's connection becomes unknown again (what it comes from is replaced):
        // refresh cannot read the znode that uses it and keeps its state, so the plan goes
        // through, proposes only the replacement, and the apply then finds nothing to change.
        wd.assert_only_replacement_with(
            "rev=2",
            "terraform_data.ensemble",
            "zkkafka_znode.via_provider",
        );
        wd.destroy();
    }
}

/// A resource's own zookeeper {} block pointed at another ensemble: one apply moves it. The
/// znode is created there (what the state said was read through the old connection), and a
/// zkkafka_znode_acl gives the old znode its original ACL back before taking over the new one.
#[test]
fn moving_a_resource_to_another_ensemble_takes_one_apply() {
    let old = zookeeper();
    let new = zookeeper();
    for zk in [&old, &new] {
        zk.cli_super("create /events").assert_success();
    }
    let wd = Workdir::new(Cli::Tofu, &provider());
    wd.write(
        "main.tf",
        r#"
terraform {
  required_providers {
    zkkafka = { source = "zkkafka/zkkafka" }
  }
}
variable "connect" { type = string }
variable "connect_timeout" { default = "10s" }
resource "zkkafka_znode" "config" {
  path = "/config"
  data = "v1"
  zookeeper { connect_string = var.connect }
}
resource "zkkafka_znode_acl" "events" {
  path = "/events"
  acl {
    scheme      = "world"
    id          = "anyone"
    permissions = "cdrwa"
  }
  acl {
    scheme      = "ip"
    id          = "127.0.0.1"
    permissions = "r"
  }
  zookeeper {
    connect_string  = var.connect
    connect_timeout = var.connect_timeout
  }
}
"#,
    );
    let on = |zk: &common::ZkServer| format!("connect={}", zk.connect_string);
    wd.run(&["apply", "-auto-approve", "-var", &on(&old)])
        .assert_success();
    assert_eq!(old.get_acl("/events").len(), 2);

    let out = wd.run(&["apply", "-auto-approve", "-var", &on(&new)]);
    out.assert_success();
    assert_eq!(new.get("/config").as_deref(), Some("v1"), "{out}");
    assert_eq!(
        new.get_acl("/events").len(),
        2,
        "taken over on the new ensemble"
    );
    assert_eq!(
        old.get_acl("/events"),
        [("world".into(), "anyone".into(), "cdrwa".into())],
        "the old znode has its original ACL back"
    );
    let plan = wd.run(&["plan", "-detailed-exitcode", "-var", &on(&new)]);
    assert_eq!(plan.code, 0, "one apply was enough:\n{plan}");
    assert_eq!(
        old.get("/config").as_deref(),
        Some("v1"),
        "the znode on the old ensemble is left as it was"
    );

    // Another timeout for the same servers is no move: the ACL stays taken over.
    let plan = wd.run(&["plan", "-var", &on(&new), "-var", "connect_timeout=5s"]);
    plan.assert_success();
    assert!(
        plan.contains("update in-place") && !plan.contains("must be replaced"),
        "{plan}"
    );
}
