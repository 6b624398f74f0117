//! End to end: what a practitioner sees when things are wrong — bad input caught at plan time
//! with the attribute, an unreachable ZooKeeper, a missing permission, a concurrent change —
//! and that no credential reaches the logs even at TF_LOG=trace.

mod common;

use std::path::PathBuf;

use common::{zookeeper, Cli, Workdir};

fn provider() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-zkkafka"))
}

const HEADER: &str = r#"
terraform {
  required_providers {
    zkkafka = { source = "zkkafka/zkkafka" }
  }
}
"#;

fn config(connect: &str, credentials: &str, resources: &str) -> String {
    format!(
        r#"{HEADER}
provider "zkkafka" {{
  zookeeper {{
    connect_string  = "{connect}"
    connect_timeout = "3s"
    auth {{
      scheme      = "digest"
      credentials = "{credentials}"
    }}
  }}
}}
{resources}
"#
    )
}

/// The configuration line the first diagnostic quotes: after `on main.tf line N, ...`, the line
/// that starts with `N:`.
fn quoted_source_line(stderr: &str) -> Option<String> {
    let at = stderr.find("main.tf line ")? + "main.tf line ".len();
    let digits: String = stderr[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let marker = format!("{digits}:");
    stderr[at..]
        .lines()
        .skip(1)
        .map(|l| l.trim_start_matches(|c: char| c == '│' || c.is_whitespace()))
        .find(|l| l.starts_with(&marker))
        .map(str::to_owned)
}

#[test]
fn bad_input_is_refused_at_plan_time_with_the_attribute() {
    let zk = zookeeper();
    let wd = Workdir::new(Cli::Tofu, &provider());
    let cases = [
        (r#"path = "app""#, "Invalid znode path", r#"path = "app""#),
        (
            r#"path = "/app/""#,
            "Invalid znode path",
            r#"path = "/app/""#,
        ),
        (
            r#"path = "/a//b""#,
            "Invalid znode path",
            r#"path = "/a//b""#,
        ),
        (
            "path = \"/k\u{1F511}\"",
            "Invalid znode path",
            "path = \"/k\u{1F511}\"",
        ),
        (
            r#"path = "/zookeeper/mine""#,
            "Reserved path",
            r#"path = "/zookeeper/mine""#,
        ),
        (
            r#"path = "/p"
  acl {
    scheme = "world"
    id = "anyone"
    permissions = "rwx"
  }"#,
            "Invalid permissions",
            r#"permissions = "rwx""#,
        ),
        (
            r#"path = "/p"
  acl {
    scheme = "kerberos"
    id = "x"
    permissions = "r"
  }"#,
            "Unknown ACL scheme",
            r#"scheme = "kerberos""#,
        ),
        (
            r#"path = "/p"
  acl {
    scheme = "digest"
    id = "kafka:secret"
    permissions = "r"
  }"#,
            "Invalid digest id",
            r#"id = "kafka:secret""#,
        ),
        (
            r#"path = "/p"
  acl {
    scheme = "ip"
    id = "10.0.0.0/40"
    permissions = "r"
  }"#,
            "Invalid ip id",
            r#"id = "10.0.0.0/40""#,
        ),
        (
            r#"path = "/p"
  data = join("", [for i in range(1000) : format("%01100d", 0)])"#,
            "Data too large",
            "data = join(",
        ),
        (
            r#"path = "/p"
  acl {
    scheme = "world"
    id = "anyone"
    permissions = "cdrwa"
  }
  acl {
    scheme = "world"
    id = "anyone"
    permissions = "adcwr"
  }"#,
            "Duplicate ACL entry",
            r#"permissions = "adcwr""#,
        ),
        (
            r#"path = "/p"
  zookeeper {
    connect_string = "127.0.0.1:1"
    connect_timeout = "0s"
  }"#,
            "Timeout of zero",
            r#"connect_timeout = "0s""#,
        ),
        (
            r#"path = "/p"
  zookeeper {
    connect_string = join(", ", ["127.0.0.1:1", "127.0.0.1:2"])
  }"#,
            "contains spaces",
            "connect_string = join(",
        ),
    ];
    for (body, summary, attribute) in cases {
        wd.write(
            "main.tf",
            &config(
                &zk.connect_string,
                "app:pw",
                &format!("resource \"zkkafka_znode\" \"x\" {{\n  {body}\n}}\n"),
            ),
        );
        let out = wd.run(&["plan", "-input=false"]);
        assert!(!out.success(), "plan must fail for {body}");
        assert!(
            out.stderr.contains(summary),
            "{body}: expected {summary:?} in:\n{}",
            out.stderr
        );
        // The CLI quotes the line its attribute path points at: the attribute's own line, not
        // the `resource` line it would quote for a diagnostic without a path.
        let quoted = quoted_source_line(&out.stderr)
            .unwrap_or_else(|| panic!("{body}: no source location in:\n{}", out.stderr));
        assert!(
            quoted.contains(attribute),
            "{body}: the diagnostic points at {quoted:?}, not at {attribute:?}:\n{}",
            out.stderr
        );
    }
}

#[test]
fn unreachable_zookeeper_fails_within_the_connect_timeout() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let wd = Workdir::new(Cli::Tofu, &provider());
    wd.write(
        "main.tf",
        &config(
            &format!("127.0.0.1:{port}"),
            "app:pw",
            "resource \"zkkafka_znode\" \"x\" {\n  path = \"/x\"\n}\n",
        ),
    );
    let out = wd.run(&["apply", "-auto-approve", "-input=false"]);
    assert!(!out.success());
    assert!(
        out.stderr.contains("could not connect to ZooKeeper"),
        "{}",
        out.stderr
    );
}

#[test]
fn missing_permission_names_the_path_and_the_permission() {
    let zk = zookeeper();
    let wd = Workdir::new(Cli::Tofu, &provider());
    let locked = r#"
resource "zkkafka_znode" "locked" {
  path = "/locked"
  data = "v1"
  acl {
    scheme      = "digest"
    id          = provider::zkkafka::digest_id("app", "right")
    permissions = "cdrwa"
  }
}
"#;
    wd.write("main.tf", &config(&zk.connect_string, "app:right", locked));
    wd.apply();
    wd.assert_plan_empty();
    // Same znode, wrong password: refresh cannot read it.
    wd.write("main.tf", &config(&zk.connect_string, "app:wrong", locked));
    let out = wd.run(&["plan", "-input=false"]);
    assert!(!out.success());
    assert!(
        out.stderr.contains("permission denied on /locked: needs r"),
        "{}",
        out.stderr
    );
    wd.write("main.tf", &config(&zk.connect_string, "app:right", locked));
    wd.destroy();
}

#[test]
fn a_change_made_between_plan_and_apply_is_reported_not_overwritten() {
    let zk = zookeeper();
    let wd = Workdir::new(Cli::Tofu, &provider());
    let body = |data: &str| {
        format!(
            "resource \"zkkafka_znode\" \"x\" {{\n  path = \"/race\"\n  data = \"{data}\"\n}}\n"
        )
    };
    wd.write(
        "main.tf",
        &config(&zk.connect_string, "app:pw", &body("v1")),
    );
    wd.apply();
    wd.write(
        "main.tf",
        &config(&zk.connect_string, "app:pw", &body("v2")),
    );
    let planned = wd.run(&["plan", "-input=false", "-out=race.tfplan"]);
    assert!(planned.success(), "{}", planned.stderr);
    zk.cli(None, "set /race someone-else");
    let out = wd.run(&["apply", "-input=false", "race.tfplan"]);
    assert!(
        !out.success(),
        "apply must not overwrite the concurrent change"
    );
    assert!(out.stderr.contains("changed since"), "{}", out.stderr);
    assert!(zk.cli(None, "get /race").stdout.contains("someone-else"));
    // The next plan sees the change and converges.
    wd.apply();
    assert!(zk.cli(None, "get /race").stdout.contains("v2"));
    wd.destroy();
}

#[test]
fn delete_refuses_a_znode_with_children() {
    let zk = zookeeper();
    let wd = Workdir::new(Cli::Tofu, &provider());
    let res = |delete_children: bool| {
        format!("resource \"zkkafka_znode\" \"p\" {{\n  path = \"/parent\"\n  delete_children = {delete_children}\n}}\n")
    };
    wd.write(
        "main.tf",
        &config(&zk.connect_string, "app:pw", &res(false)),
    );
    wd.apply();
    zk.cli(None, "create /parent/child");
    let out = wd.run(&["destroy", "-auto-approve", "-input=false"]);
    assert!(!out.success());
    assert!(out.stderr.contains("has 1 child znode"), "{}", out.stderr);
    assert!(
        zk.cli(None, "ls /parent").stdout.contains("child"),
        "nothing deleted"
    );
    wd.write("main.tf", &config(&zk.connect_string, "app:pw", &res(true)));
    wd.apply();
    wd.destroy();
    assert!(
        zk.cli(None, "stat /parent")
            .stderr
            .contains("does not exist")
            || zk
                .cli(None, "stat /parent")
                .stdout
                .contains("does not exist")
    );
}

#[test]
fn no_credential_in_output_at_trace_level() {
    let zk = zookeeper();
    let wd = Workdir::new(Cli::Tofu, &provider());
    let secret = "s3cret-Passw0rd-never-logged";
    let main = format!(
        r#"{HEADER}
variable "pw" {{
  type      = string
  sensitive = true
}}
provider "zkkafka" {{
  zookeeper {{
    connect_string = "{}"
    auth {{
      scheme      = "digest"
      credentials = "app:${{var.pw}}"
    }}
  }}
}}
resource "zkkafka_znode" "x" {{
  path = "/secret-test"
  data = "hello"
  acl {{
    scheme      = "digest"
    id          = provider::zkkafka::digest_id("app", var.pw)
    permissions = "cdrwa"
  }}
}}
"#,
        zk.connect_string
    );
    wd.write("main.tf", &main);
    wd.write("terraform.tfvars", &format!("pw = \"{secret}\"\n"));
    let out = wd.run_with_env(
        &["apply", "-auto-approve", "-input=false"],
        &[("TF_LOG", "trace")],
    );
    assert!(out.success(), "{}", out.stderr);
    // The provider's own log lines were relayed (so the check below is meaningful): tofu's
    // lines name the plugin too, so look for events only the provider emits.
    for event in [
        "provider.terraform-provider-zkkafka: served ConfigureProvider",
        "provider.terraform-provider-zkkafka: served ApplyResourceChange",
        "provider.terraform-provider-zkkafka: ZooKeeper session established",
    ] {
        assert!(out.stderr.contains(event), "no {event:?} in the log");
    }
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(
        !all.contains(secret),
        "the password appeared in the output at TF_LOG=trace"
    );
    wd.destroy();
}

/// What the plan can only know from the connection a resource will use: that there is one,
/// that an `auth` ACL entry has identities to expand to, and that the new ACL leaves the
/// provider able to read and administer the znode (a warning). And a `moved` block across
/// resource types gets a diagnostic that says what to do.
#[test]
fn plan_time_checks_that_need_the_connection() {
    let zk = zookeeper();
    let wd = Workdir::new(Cli::Tofu, &provider());
    let acl = |scheme: &str, id: &str| {
        format!(
            "resource \"zkkafka_znode\" \"x\" {{\n  path = \"/p\"\n  acl {{\n    scheme = \"{scheme}\"\n    id = \"{id}\"\n    permissions = \"cdrwa\"\n  }}\n}}\n"
        )
    };

    wd.write(
        "main.tf",
        &format!("{HEADER}\nresource \"zkkafka_znode\" \"x\" {{\n  path = \"/p\"\n}}\n"),
    );
    let out = wd.run(&["plan", "-input=false"]);
    assert!(
        !out.success() && out.stderr.contains("No ZooKeeper connection"),
        "{out}"
    );

    let no_auth = format!(
        "{HEADER}\nprovider \"zkkafka\" {{\n  zookeeper {{\n    connect_string = \"{}\"\n  }}\n}}\n{}",
        zk.connect_string,
        acl("auth", "")
    );
    wd.write("main.tf", &no_auth);
    let out = wd.run(&["plan", "-input=false"]);
    assert!(
        !out.success() && out.stderr.contains("No identity for scheme auth"),
        "{out}"
    );
    let quoted = quoted_source_line(&out.stderr).unwrap_or_default();
    assert!(
        quoted.contains(r#"scheme = "auth""#),
        "points at the scheme: {quoted:?}\n{out}"
    );

    let locked = config(
        &zk.connect_string,
        "app:pw",
        &acl("digest", &common::digest_id("someone", "else")),
    );
    wd.write("main.tf", &locked);
    let out = wd.run(&["plan", "-input=false"]);
    out.assert_success();
    assert!(out.contains("locks itself out"), "a warning:\n{out}");
    let own = config(
        &zk.connect_string,
        "app:pw",
        &acl("digest", &common::digest_id("app", "pw")),
    );
    wd.write("main.tf", &own);
    let out = wd.run(&["plan", "-input=false"]);
    out.assert_success();
    assert!(
        !out.contains("locks itself out"),
        "no warning with its own identity:\n{out}"
    );

    wd.write(
        "main.tf",
        &config(
            &zk.connect_string,
            "app:pw",
            "resource \"zkkafka_znode\" \"x\" {\n  path = \"/moving\"\n}\n",
        ),
    );
    wd.apply();
    wd.write(
        "main.tf",
        &config(
            &zk.connect_string,
            "app:pw",
            "moved {\n  from = zkkafka_znode.x\n  to   = zkkafka_znode_acl.x\n}\nresource \"zkkafka_znode_acl\" \"x\" {\n  path = \"/moving\"\n  acl {\n    scheme = \"world\"\n    id = \"anyone\"\n    permissions = \"cdrwa\"\n  }\n}\n",
        ),
    );
    let out = wd.run(&["plan", "-input=false"]);
    assert!(!out.success(), "{out}");
    assert!(
        out.stderr
            .contains("Cannot move state across resource types"),
        "{out}"
    );
}

/// Messages that name what is really missing: an import has only the provider's connection,
/// and a chroot that does not exist is named as the chroot, not as "/".
#[test]
fn imports_and_missing_chroots_get_the_right_advice() {
    let zk = zookeeper();
    let wd = Workdir::new(Cli::Tofu, &provider());
    wd.write(
        "main.tf",
        &format!(
            "{HEADER}\nresource \"zkkafka_znode\" \"x\" {{\n  path = \"/p\"\n  zookeeper {{\n    connect_string = \"{}\"\n  }}\n}}\n",
            zk.connect_string
        ),
    );
    let out = wd.run(&["import", "-input=false", "zkkafka_znode.x", "/p"]);
    assert!(!out.success(), "{out}");
    assert!(
        out.contains("No ZooKeeper connection for the import")
            && out.contains("provider's zookeeper {} block"),
        "{out}"
    );

    let chrooted = format!(
        "{HEADER}\nprovider \"zkkafka\" {{\n  zookeeper {{\n    connect_string = \"{}/no-such-chroot\"\n  }}\n}}\nresource \"zkkafka_znode_acl\" \"r\" {{\n  path = \"/\"\n  acl {{\n    scheme = \"world\"\n    id = \"anyone\"\n    permissions = \"cdrwa\"\n  }}\n}}\n",
        zk.connect_string
    );
    wd.write("main.tf", &chrooted);
    let out = wd.run(&["apply", "-auto-approve", "-input=false"]);
    assert!(!out.success(), "{out}");
    assert!(
        out.contains("/no-such-chroot (the chroot in the connect string) does not exist"),
        "{out}"
    );
}
