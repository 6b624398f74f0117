//! The end-to-end test bench: real OpenTofu / Terraform CLIs and real ZooKeeper servers,
//! installed by `scripts/install-tools.sh` (cached) and driven from integration tests.
//!
//! Use from a test file with `mod common;`:
//!
//! ```ignore
//! mod common;
//! use common::{Cli, Workdir};
//!
//! #[test]
//! fn znode_round_trip() {
//!     let zk = common::zookeeper();
//!     let wd = Workdir::new(Cli::Tofu, &common::provider_binary());
//!     wd.write("main.tf", &format!(r#"provider "zkkafka" {{ ... "{}" ... }}"#, zk.connect_string));
//!     wd.apply();
//!     wd.assert_plan_empty();
//!     wd.destroy();
//! }
//! ```
//!
//! Environment knobs:
//! - `ZKKAFKA_TOFU`, `ZKKAFKA_ZK_HOME`, `ZKKAFKA_KAFKA_HOME`, `ZKKAFKA_KAFKA4_HOME`: use these
//!   instead of running install-tools.sh
//!   (scripts/env.sh exports them).
//! - `ZKKAFKA_TERRAFORM`: terraform binary (default: `terraform` on PATH, if any);
//!   `ZKKAFKA_NO_TERRAFORM=1` ignores terraform.
//! - `ZKKAFKA_PROVIDER_BINARY`: the provider binary under test (default: this crate's).
//! - `ZKKAFKA_CLI_TIMEOUT`: seconds one tofu/terraform command may take (default 300).
//! - `TF_LOG`, `TF_LOG_PATH`, `TF_LOG_PROVIDER`: passed through to the CLI when set.
//! - `ZKKAFKA_KEEP_WORKDIRS=1`: keep workdirs (and say where) for debugging;
//!   `ZKKAFKA_KEEP_FAILED=1`: keep those of failing tests only.
#![allow(dead_code)]
#![allow(unreachable_pub)]
#![allow(clippy::unwrap_used)]

pub mod ensemble;
pub mod kube_ops;
pub mod played;

#[allow(unused_imports)]
pub use played::StatefulSetController;

use std::ffi::OsStr;
use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The fixed super user of test ZooKeeper servers (see scripts/zookeeper.sh): `addauth digest`
/// with this makes a session a ZooKeeper superuser.
pub const SUPER_AUTH: &str = "super:zkkafka-test";

/// The repository root (where Cargo.toml and scripts/ are).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn scripts_dir() -> PathBuf {
    repo_root().join("scripts")
}

// ---------------------------------------------------------------------------------------------
// Tools

/// Where the installed tools are.
#[derive(Debug, Clone)]
pub struct Tools {
    /// The OpenTofu binary, built from its Go module.
    pub tofu: PathBuf,
    /// The ZooKeeper home: `lib/*.jar` is the classpath, `conf/logback.xml` the log config.
    pub zookeeper_home: PathBuf,
    /// terraform, if one is on PATH (or named by ZKKAFKA_TERRAFORM).
    pub terraform: Option<PathBuf>,
}

impl Tools {
    pub fn cli_binary(&self, cli: Cli) -> &Path {
        match cli {
            Cli::Tofu => &self.tofu,
            Cli::Terraform => self
                .terraform
                .as_deref()
                .expect("terraform is not on PATH; check Tools::terraform or use Cli::available()"),
        }
    }

    /// `java -cp` value for ZooKeeper.
    pub fn zookeeper_classpath(&self) -> String {
        format!("{}/lib/*", self.zookeeper_home.display())
    }
}

/// Installs (or finds, cached) the tools once per test binary.
pub fn tools() -> &'static Tools {
    static TOOLS: OnceLock<Tools> = OnceLock::new();
    TOOLS.get_or_init(|| {
        let from_env = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let (tofu, zookeeper_home) = match (from_env("ZKKAFKA_TOFU"), from_env("ZKKAFKA_ZK_HOME")) {
            (Some(t), Some(z)) => (t, z),
            (t, z) => {
                let mut want = Vec::new();
                if t.is_none() {
                    want.push("tofu");
                }
                if z.is_none() {
                    want.push("zookeeper");
                }
                let out = Command::new(scripts_dir().join("install-tools.sh"))
                    .args(&want)
                    .stdin(Stdio::null())
                    .stderr(Stdio::inherit())
                    .output()
                    .expect("running scripts/install-tools.sh");
                assert!(
                    out.status.success(),
                    "scripts/install-tools.sh {} failed ({}); its progress is above",
                    want.join(" "),
                    out.status
                );
                let text = String::from_utf8_lossy(&out.stdout);
                let mut lines = text.lines().map(PathBuf::from);
                let t =
                    t.unwrap_or_else(|| lines.next().expect("install-tools printed no tofu path"));
                let z = z.unwrap_or_else(|| {
                    lines
                        .next()
                        .expect("install-tools printed no zookeeper path")
                });
                (t, z)
            }
        };
        assert!(tofu.is_file(), "tofu binary missing at {}", tofu.display());
        assert!(
            zookeeper_home.join("lib").is_dir(),
            "ZooKeeper missing at {}",
            zookeeper_home.display()
        );
        let terraform = if std::env::var_os("ZKKAFKA_NO_TERRAFORM").is_some_and(|v| v == "1") {
            None
        } else {
            from_env("ZKKAFKA_TERRAFORM").or_else(|| find_on_path("terraform"))
        };
        Tools {
            tofu,
            zookeeper_home,
            terraform,
        }
    })
}

/// A Kafka home (`libs/*.jar`, `VERSION`) from scripts/install-tools.sh, cached: `"kafka"` is
/// the 3.x line (ZooKeeper mode and KRaft), `"kafka4"` the 4.x line. `ZKKAFKA_KAFKA_HOME` and
/// `ZKKAFKA_KAFKA4_HOME` name one instead (scripts/env.sh exports them when asked for).
pub fn kafka_home(tool: &str) -> PathBuf {
    let var = format!("ZKKAFKA_{}_HOME", tool.to_ascii_uppercase());
    let home = match std::env::var_os(&var).filter(|v| !v.is_empty()) {
        Some(h) => PathBuf::from(h),
        None => {
            let out = Command::new(scripts_dir().join("install-tools.sh"))
                .arg(tool)
                .stdin(Stdio::null())
                .stderr(Stdio::inherit())
                .output()
                .expect("running scripts/install-tools.sh");
            assert!(
                out.status.success(),
                "scripts/install-tools.sh {tool} failed ({}); its progress is above",
                out.status
            );
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
        }
    };
    assert!(
        home.join("libs").is_dir(),
        "Kafka missing at {}",
        home.display()
    );
    home
}

/// The first executable called `name` on PATH.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// The provider binary under test: ZKKAFKA_PROVIDER_BINARY if set, else the binary Cargo
/// built for this test run (`CARGO_BIN_EXE_terraform-provider-zkkafka`, which Cargo sets when
/// compiling integration tests, and this module is only compiled into those).
pub fn provider_binary() -> PathBuf {
    match std::env::var_os("ZKKAFKA_PROVIDER_BINARY").filter(|v| !v.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-zkkafka")),
    }
}

// ---------------------------------------------------------------------------------------------
// Running commands

/// What a command printed and how it ended.
#[derive(Debug, Clone)]
pub struct CliOutput {
    /// The command line, for messages.
    pub command: String,
    pub stdout: String,
    pub stderr: String,
    /// Exit code; -1 when killed by a signal.
    pub code: i32,
    /// True when the run was killed for taking longer than its timeout.
    pub timed_out: bool,
}

impl CliOutput {
    pub fn success(&self) -> bool {
        self.code == 0 && !self.timed_out
    }

    /// Panics, showing everything, unless the command succeeded.
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        assert!(self.success(), "command failed:\n{self}");
        self
    }

    /// Panics, showing everything, unless the command failed (without timing out).
    #[track_caller]
    pub fn assert_failure(&self) -> &Self {
        assert!(
            self.code != 0 && !self.timed_out,
            "command should have failed:\n{self}"
        );
        self
    }

    /// stdout and stderr together (for "the output mentions X" checks).
    pub fn combined(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Whether stdout or stderr contains `needle`.
    pub fn contains(&self, needle: &str) -> bool {
        self.stdout.contains(needle) || self.stderr.contains(needle)
    }

    /// stdout and stderr together with the line wrapping undone (diagnostics wrap at 80
    /// columns): every run of whitespace becomes one space.
    pub fn flat(&self) -> String {
        self.combined()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl fmt::Display for CliOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "$ {}", self.command)?;
        if self.timed_out {
            writeln!(f, "(killed: timed out)")?;
        }
        writeln!(f, "(exit code {})", self.code)?;
        writeln!(f, "--- stdout ---\n{}", self.stdout.trim_end())?;
        write!(f, "--- stderr ---\n{}", self.stderr.trim_end())
    }
}

/// Runs `cmd` to completion with `stdin` fed to it, killing its whole process group (the CLI
/// and any provider processes it started) if it takes longer than `timeout`.
pub fn run_with_timeout(mut cmd: Command, stdin: Option<&str>, timeout: Duration) -> CliOutput {
    use std::os::unix::process::CommandExt;
    let command = describe(&cmd);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .process_group(0);
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{command}`: {e}"));
    let pid = child.id();
    if let Some(input) = stdin {
        let mut w = child.stdin.take().unwrap();
        let input = input.to_owned();
        // A writer thread so a child that doesn't read cannot block us.
        std::thread::spawn(move || {
            let _ = w.write_all(input.as_bytes());
        });
    }
    let (tx, rx) = mpsc::channel::<(bool, String)>();
    for (is_out, mut r) in [
        (
            true,
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
        ),
        (
            false,
            Box::new(child.stderr.take().unwrap()) as Box<dyn Read + Send>,
        ),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            let _ = tx.send((is_out, String::from_utf8_lossy(&buf).into_owned()));
        });
    }
    drop(tx);

    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => {
                timed_out = true;
                kill_group(pid);
                break child.wait().ok();
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("waiting for `{command}`: {e}"),
        }
    };
    // The pipes close when the process group is gone; don't wait forever on a straggler
    // that inherited them.
    let (mut stdout, mut stderr) = (String::new(), String::new());
    let grace = Instant::now() + Duration::from_secs(10);
    for _ in 0..2 {
        let left = grace.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((true, s)) => stdout = s,
            Ok((false, s)) => stderr = s,
            Err(_) => {
                kill_group(pid);
                stderr.push_str("\n(output pipes still open 10s after exit: process group killed)");
                break;
            }
        }
    }
    let code = status.and_then(|s| s.code()).unwrap_or(-1);
    CliOutput {
        command,
        stdout,
        stderr,
        code,
        timed_out,
    }
}

fn kill_group(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&shell_quote(a));
    }
    s
}

fn shell_quote(a: &OsStr) -> String {
    let a = a.to_string_lossy();
    if !a.is_empty()
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+%".contains(c))
    {
        a.into_owned()
    } else {
        format!("'{}'", a.replace('\'', r"'\''"))
    }
}

// ---------------------------------------------------------------------------------------------
// ZooKeeper

/// A standalone ZooKeeper server on 127.0.0.1 for one test; stopped (and its directory
/// removed) on drop.
pub struct ZkServer {
    /// `127.0.0.1:PORT`
    pub connect_string: String,
    /// `super:zkkafka-test`: `addauth digest` with this is a ZooKeeper superuser.
    pub super_auth: String,
    pub port: u16,
    /// Whether this server was started for this test alone (so the test may stop it); false
    /// when ZKKAFKA_TEST_ZK names a shared, already running server.
    pub dedicated: bool,
    dir: Option<tempfile::TempDir>,
}

/// Starts a fresh ZooKeeper server (about a second when the tools are cached).
///
/// With `ZKKAFKA_TEST_ZK=127.0.0.1:PORT` set, returns that already running server instead
/// (`dedicated: false`; its superDigest must be for `super:zkkafka-test`). Debugging aid only.
pub fn zookeeper() -> ZkServer {
    if let Some(connect_string) = std::env::var("ZKKAFKA_TEST_ZK")
        .ok()
        .filter(|s| !s.is_empty())
    {
        let port = connect_string
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(2181);
        return ZkServer {
            connect_string,
            super_auth: SUPER_AUTH.to_owned(),
            port,
            dedicated: false,
            dir: None,
        };
    }
    let tools = tools();
    let dir = tempfile::Builder::new()
        .prefix("zkkafka-zk-")
        .tempdir()
        .expect("creating a ZooKeeper workdir");
    let mut cmd = Command::new(scripts_dir().join("zookeeper.sh"));
    cmd.arg("start")
        .arg(dir.path())
        .args(["--watch-pid", &std::process::id().to_string()])
        .env("ZKKAFKA_ZK_HOME", &tools.zookeeper_home);
    let out = run_with_timeout(cmd, None, Duration::from_secs(120));
    assert!(out.success(), "starting ZooKeeper failed:\n{out}");
    let connect_string = out.stdout.trim().to_owned();
    let port = connect_string
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("bad connect string from zookeeper.sh: {connect_string:?}"));
    ZkServer {
        connect_string,
        super_auth: SUPER_AUTH.to_owned(),
        port,
        dedicated: true,
        dir: Some(dir),
    }
}

impl ZkServer {
    /// The server's directory (zoo.cfg, data/, zookeeper.log); panics for a shared server.
    pub fn dir(&self) -> &Path {
        self.dir
            .as_ref()
            .expect("a shared server has no directory")
            .path()
    }

    /// The server's log so far (for failure messages).
    pub fn log(&self) -> String {
        self.dir
            .as_ref()
            .and_then(|d| std::fs::read_to_string(d.path().join("zookeeper.log")).ok())
            .unwrap_or_default()
    }

    /// Runs one zkCli command line (as typed into zkCli, e.g. `create /a "some data"`), after
    /// `addauth digest <auth>` when given. stdout holds only the command's own output; the exit
    /// code is the command's (0 ok, 1 failed, 127 unknown command). See scripts/zkcli.sh.
    pub fn cli(&self, auth: Option<&str>, cmd: &str) -> CliOutput {
        self.cli_lines(auth, &[cmd])
    }

    /// Several zkCli command lines in one CLI session; the exit code is the LAST one's.
    pub fn cli_lines(&self, auth: Option<&str>, lines: &[&str]) -> CliOutput {
        let mut c = Command::new(scripts_dir().join("zkcli.sh"));
        c.arg(&self.connect_string)
            .env("ZKKAFKA_ZK_HOME", &tools().zookeeper_home);
        if let Some(a) = auth {
            c.args(["--auth", a]);
        }
        let mut input = lines.join("\n");
        input.push('\n');
        run_with_timeout(c, Some(&input), Duration::from_secs(90))
    }

    /// zkCli as the super user.
    pub fn cli_super(&self, cmd: &str) -> CliOutput {
        self.cli(Some(SUPER_AUTH), cmd)
    }

    /// `get <path>` as the super user: the znode's data (without the trailing newline), or
    /// None if it doesn't exist.
    pub fn get(&self, path: &str) -> Option<String> {
        let out = self.cli_super(&format!("get {path}"));
        if out.success() {
            Some(
                out.stdout
                    .strip_suffix('\n')
                    .unwrap_or(&out.stdout)
                    .to_owned(),
            )
        } else if out.stderr.contains("Node does not exist") {
            None
        } else {
            panic!("zkCli get {path} failed:\n{out}")
        }
    }

    /// `getAcl <path>` as the super user, parsed into (scheme, id, permissions) entries.
    pub fn get_acl(&self, path: &str) -> Vec<(String, String, String)> {
        let out = self.cli_super(&format!("getAcl {path}"));
        out.assert_success();
        parse_get_acl(&out.stdout)
    }

    /// Sends a four-letter word (`ruok`, `srvr`, `stat`, ...) and returns the answer.
    pub fn four_letter(&self, word: &str) -> String {
        use std::net::TcpStream;
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connecting to ZooKeeper");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(word.as_bytes()).unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    }

    /// Stops the server now (drop also does); for a dedicated server only.
    pub fn stop(&mut self) {
        if let Some(dir) = &self.dir {
            let mut cmd = Command::new(scripts_dir().join("zookeeper.sh"));
            cmd.arg("stop").arg(dir.path());
            let out = run_with_timeout(cmd, None, Duration::from_secs(30));
            if !out.success() {
                eprintln!("stopping ZooKeeper failed:\n{out}");
            }
        }
    }
}

impl Drop for ZkServer {
    fn drop(&mut self) {
        self.stop();
        if let Some(dir) = self.dir.take() {
            if keep_workdirs() {
                eprintln!("keeping ZooKeeper workdir {}", dir.keep().display());
            }
        }
    }
}

/// Parses zkCli `getAcl` output:
/// ```text
/// 'digest,'u:Y9Y6bWsgQ1vQf9m2pI4vO0lKhZk=
/// : cdrwa
/// ```
pub fn parse_get_acl(stdout: &str) -> Vec<(String, String, String)> {
    let mut acl = Vec::new();
    let mut lines = stdout.lines().filter(|l| !l.trim().is_empty());
    while let Some(id_line) = lines.next() {
        let perms = lines.next().unwrap_or_default();
        let id_line = id_line.trim_start_matches('\'');
        let (scheme, id) = id_line.split_once(",'").unwrap_or((id_line, ""));
        acl.push((
            scheme.to_owned(),
            id.to_owned(),
            perms.trim_start_matches(':').trim().to_owned(),
        ));
    }
    acl
}

/// A digest-scheme ACL id: `user:base64(sha1("user:password"))`.
pub fn digest_id(user: &str, password: &str) -> String {
    use base64::Engine as _;
    use sha1::Digest as _;
    let hash = sha1::Sha1::digest(format!("{user}:{password}").as_bytes());
    format!(
        "{user}:{}",
        base64::engine::general_purpose::STANDARD.encode(hash)
    )
}

// ---------------------------------------------------------------------------------------------
// Terraform / OpenTofu workdirs

/// Which CLI drives a workdir.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cli {
    Tofu,
    Terraform,
}

impl Cli {
    /// Tofu always; Terraform when one is on PATH. For tests that run against both.
    pub fn available() -> Vec<Cli> {
        let mut v = vec![Cli::Tofu];
        if tools().terraform.is_some() {
            v.push(Cli::Terraform);
        }
        v
    }

    pub fn name(self) -> &'static str {
        match self {
            Cli::Tofu => "tofu",
            Cli::Terraform => "terraform",
        }
    }
}

impl fmt::Display for Cli {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A temporary Terraform working directory driven by tofu or terraform, with a CLI config that
/// points `zkkafka/zkkafka` at the provider binary under test (dev_overrides: no `init`, no
/// registry). Removed on drop unless ZKKAFKA_KEEP_WORKDIRS=1.
pub struct Workdir {
    pub cli: Cli,
    dir: Option<tempfile::TempDir>,
    binary: PathBuf,
    cli_config: PathBuf,
    timeout: Duration,
    env: Vec<(String, String)>,
}

/// Subcommands that accept `-no-color`.
const NO_COLOR_SUBCOMMANDS: &[&str] = &[
    "init",
    "validate",
    "plan",
    "apply",
    "destroy",
    "refresh",
    "import",
    "show",
    "output",
    "console",
    "providers",
    "get",
    "taint",
    "untaint",
    "test",
];

impl Workdir {
    /// A workdir whose CLI config overrides `zkkafka/zkkafka` with `provider_binary`
    /// (its directory must hold it under the name terraform-provider-zkkafka).
    pub fn new(cli: Cli, provider_binary: &Path) -> Workdir {
        let dir = provider_binary
            .parent()
            .expect("provider binary path has no directory");
        assert!(
            dir.join("terraform-provider-zkkafka").is_file(),
            "dev_overrides needs {} to exist (build the provider first)",
            dir.join("terraform-provider-zkkafka").display()
        );
        Self::with_overrides(cli, &[("zkkafka/zkkafka", dir)])
    }

    /// A workdir with no provider overrides: only built-in providers (terraform_data) work.
    pub fn without_provider(cli: Cli) -> Workdir {
        Self::with_overrides(cli, &[])
    }

    /// A workdir overriding several providers (source address, directory holding its binary),
    /// e.g. for comparing against another provider.
    pub fn with_overrides(cli: Cli, overrides: &[(&str, &Path)]) -> Workdir {
        let tools = tools();
        let binary = tools.cli_binary(cli).to_owned();
        let dir = tempfile::Builder::new()
            .prefix(&format!("zkkafka-{}-", cli.name()))
            .tempdir()
            .expect("creating a workdir");
        let mut cfg = String::from("# Written by tests/common for this workdir.\n");
        cfg.push_str("provider_installation {\n");
        if !overrides.is_empty() {
            cfg.push_str("  dev_overrides {\n");
            for (source, path) in overrides {
                cfg.push_str(&format!(
                    "    \"{source}\" = {}\n",
                    hcl_string(&path.to_string_lossy())
                ));
            }
            cfg.push_str("  }\n");
        }
        // Nothing can be downloaded here; `direct` only matters if a test runs `init`.
        cfg.push_str("  direct {}\n}\n");
        cfg.push_str("disable_checkpoint = true\n");
        let cli_config = dir.path().join(".cli.tfrc");
        std::fs::write(&cli_config, cfg).expect("writing the CLI config");
        let timeout = std::env::var("ZKKAFKA_CLI_TIMEOUT")
            .ok()
            .and_then(|s| s.parse().ok())
            .map(Duration::from_secs)
            .unwrap_or(Duration::from_secs(300));
        Workdir {
            cli,
            dir: Some(dir),
            binary,
            cli_config,
            timeout,
            env: Vec::new(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.as_ref().unwrap().path()
    }

    /// The per-command timeout (default 300 s or ZKKAFKA_CLI_TIMEOUT).
    pub fn set_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.timeout = timeout;
        self
    }

    /// An extra environment variable for every command (e.g. TF_VAR_x, or a provider setting).
    pub fn set_env(&mut self, key: &str, value: &str) -> &mut Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Writes (or replaces) a file in the workdir.
    pub fn write(&self, name: &str, contents: &str) {
        let p = self.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, contents).unwrap_or_else(|e| panic!("writing {}: {e}", p.display()));
    }

    /// Removes a file from the workdir (ignores a missing one).
    pub fn remove(&self, name: &str) {
        let _ = std::fs::remove_file(self.path().join(name));
    }

    /// The command for `args` with the bench's environment, not yet run.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.binary);
        let mut args: Vec<&str> = args.to_vec();
        if let Some(sub) = args.first() {
            if NO_COLOR_SUBCOMMANDS.contains(sub) && !args.contains(&"-no-color") {
                args.insert(1, "-no-color");
            }
        }
        cmd.args(&args).current_dir(self.path());
        // Nothing from the surroundings that changes what the CLI does...
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy();
            let keep = matches!(
                k.as_ref(),
                "TF_LOG" | "TF_LOG_PATH" | "TF_LOG_PROVIDER" | "TF_LOG_CORE"
            );
            if (k.starts_with("TF_") || k.starts_with("TOFU_")) && !keep {
                cmd.env_remove(k.as_ref());
            }
        }
        // ...and what makes it non-interactive and offline.
        cmd.env("TF_CLI_CONFIG_FILE", &self.cli_config)
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("CHECKPOINT_DISABLE", "1")
            .env("NO_COLOR", "1");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs the CLI with `args` (e.g. `["plan", "-out=x"]`), with a timeout; never panics on a
    /// failing command (check `.success()` or use the asserting helpers).
    pub fn run(&self, args: &[&str]) -> CliOutput {
        run_with_timeout(self.command(args), None, self.timeout)
    }

    /// `run` with extra environment variables for this command only (e.g. `TF_LOG=trace`).
    pub fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> CliOutput {
        let mut cmd = self.command(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        run_with_timeout(cmd, None, self.timeout)
    }

    /// `init` (not needed with dev_overrides; for configs with modules).
    #[track_caller]
    pub fn init(&self) -> CliOutput {
        let out = self.run(&["init", "-input=false"]);
        out.assert_success();
        out
    }

    #[track_caller]
    pub fn validate(&self) -> CliOutput {
        let out = self.run(&["validate"]);
        out.assert_success();
        out
    }

    /// `apply -auto-approve`; panics with the output unless it succeeds.
    #[track_caller]
    pub fn apply(&self) -> CliOutput {
        let out = self.try_apply();
        out.assert_success();
        out
    }

    /// `apply -auto-approve`, which may fail.
    pub fn try_apply(&self) -> CliOutput {
        self.run(&["apply", "-auto-approve", "-input=false"])
    }

    /// `plan -detailed-exitcode -input=false`: 0 no changes, 1 error, 2 changes.
    pub fn plan(&self) -> CliOutput {
        self.run(&["plan", "-detailed-exitcode", "-input=false"])
    }

    /// The exit code of `plan -detailed-exitcode` (0 empty, 2 changes); panics on an error.
    #[track_caller]
    pub fn plan_exit_code(&self) -> i32 {
        let out = self.plan();
        assert!(
            !out.timed_out && (out.code == 0 || out.code == 2),
            "plan failed:\n{out}"
        );
        out.code
    }

    /// With `var` (`name=value`) set, the plan must succeed and propose replacing `replaced`
    /// and no change to `unchanged` (resource addresses); the apply must succeed and the plan
    /// after it be empty. For a provider setting taken from a resource the new value replaces.
    #[track_caller]
    pub fn assert_only_replacement_with(&self, var: &str, replaced: &str, unchanged: &str) {
        let plan = self.run(&["plan", "-input=false", "-no-color", "-var", var]);
        assert!(
            plan.success(),
            "plan with -var {var} must succeed:\n{}{}",
            plan.stdout,
            plan.stderr
        );
        assert!(
            plan.stdout
                .contains(&format!("{replaced} must be replaced")),
            "{}",
            plan.stdout
        );
        assert!(
            !plan.stdout.contains(&format!("# {unchanged}")),
            "{unchanged} itself does not change:\n{}",
            plan.stdout
        );
        let applied = self.run(&["apply", "-auto-approve", "-input=false", "-var", var]);
        assert!(applied.success(), "{}", applied.stderr);
        let after = self.run(&["plan", "-input=false", "-detailed-exitcode", "-var", var]);
        assert_eq!(after.code, 0, "{}{}", after.stdout, after.stderr);
    }

    /// Panics, printing the plan, unless it has no changes.
    #[track_caller]
    pub fn assert_plan_empty(&self) -> CliOutput {
        let out = self.plan();
        assert!(
            out.code == 0 && !out.timed_out,
            "expected an empty plan, got:\n{out}"
        );
        out
    }

    /// Panics, printing the plan, unless it has changes.
    #[track_caller]
    pub fn assert_plan_changes(&self) -> CliOutput {
        let out = self.plan();
        assert!(
            out.code == 2 && !out.timed_out,
            "expected a plan with changes, got:\n{out}"
        );
        out
    }

    /// `destroy -auto-approve`; panics with the output unless it succeeds.
    #[track_caller]
    pub fn destroy(&self) -> CliOutput {
        let out = self.run(&["destroy", "-auto-approve", "-input=false"]);
        out.assert_success();
        out
    }

    /// `import <addr> <id>`; panics with the output unless it succeeds.
    #[track_caller]
    pub fn import(&self, addr: &str, id: &str) -> CliOutput {
        let out = self.run(&["import", "-input=false", addr, id]);
        out.assert_success();
        out
    }

    /// The state as `show -json` prints it.
    #[track_caller]
    pub fn state_json(&self) -> serde_json::Value {
        let out = self.run(&["show", "-json"]);
        out.assert_success();
        serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("show -json printed no JSON ({e}):\n{out}"))
    }

    /// The `values` of the resource at `addr` (e.g. `zkkafka_znode.a`) in `show -json`, if any.
    pub fn resource_values(&self, addr: &str) -> Option<serde_json::Value> {
        let state = self.state_json();
        let resources = state.pointer("/values/root_module/resources")?.as_array()?;
        resources
            .iter()
            .find(|r| r.get("address").and_then(|a| a.as_str()) == Some(addr))
            .and_then(|r| r.get("values").cloned())
    }

    /// Removes the state (and its backup), as for "import into a fresh state".
    pub fn reset_state(&self) {
        for f in ["terraform.tfstate", "terraform.tfstate.backup"] {
            let _ = std::fs::remove_file(self.path().join(f));
        }
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let keep_failed =
                std::thread::panicking() && std::env::var_os("ZKKAFKA_KEEP_FAILED").is_some();
            if keep_workdirs() || keep_failed {
                eprintln!("keeping workdir {}", dir.keep().display());
            }
        }
    }
}

fn keep_workdirs() -> bool {
    std::env::var_os("ZKKAFKA_KEEP_WORKDIRS").is_some_and(|v| v == "1")
}

/// An HCL string literal.
pub fn hcl_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Template sequences: `${` and `%{` are escaped by doubling the sigil.
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// ---------------------------------------------------------------------------------------------
// Kubernetes

/// The local control plane of scripts/kube.sh: etcd + kube-apiserver on loopback, no kubelet
/// and no controllers (tests write a StatefulSet's status themselves where they need "ready").
#[derive(Debug, Clone)]
pub struct KubeControlPlane {
    /// The kube.sh workdir (pki/, logs, kubeconfigs).
    pub workdir: PathBuf,
    /// Admin (system:masters) kubeconfig.
    pub admin_kubeconfig: PathBuf,
    /// User "limited": all rights in `limited_namespace`, none elsewhere.
    pub limited_kubeconfig: PathBuf,
    pub limited_namespace: String,
    /// `https://127.0.0.1:PORT`
    pub server: String,
    pub kubectl: PathBuf,
}

/// Starts the control plane once per test binary (or reuses one already running in the same
/// workdir; kube.sh keeps it running between runs). The workdir is `ZKKAFKA_KUBE_WORKDIR`, else
/// `<cargo target tmp>/kube`. Building the binaries on a fresh machine takes a while (see
/// scripts/install-kube.sh); later starts take seconds.
pub fn kube() -> &'static KubeControlPlane {
    static KUBE: OnceLock<KubeControlPlane> = OnceLock::new();
    KUBE.get_or_init(|| {
        let workdir = std::env::var_os("ZKKAFKA_KUBE_WORKDIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("kube"));
        std::fs::create_dir_all(&workdir).unwrap();
        let mut cmd = Command::new(scripts_dir().join("kube.sh"));
        cmd.arg("start").arg(&workdir);
        let out = run_with_timeout(cmd, None, Duration::from_secs(3600));
        assert!(out.success(), "scripts/kube.sh start failed:\n{out}");
        let vars: std::collections::HashMap<String, String> = out
            .stdout
            .lines()
            .filter_map(|l| l.strip_prefix("export "))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.trim_matches('\'').to_owned()))
            .collect();
        let var = |k: &str| {
            vars.get(k)
                .cloned()
                .unwrap_or_else(|| panic!("kube.sh printed no {k}:\n{out}"))
        };
        KubeControlPlane {
            workdir,
            admin_kubeconfig: PathBuf::from(var("ZKKAFKA_KUBECONFIG_ADMIN")),
            limited_kubeconfig: PathBuf::from(var("ZKKAFKA_KUBECONFIG_LIMITED")),
            limited_namespace: var("ZKKAFKA_KUBE_LIMITED_NAMESPACE"),
            server: var("ZKKAFKA_KUBE_SERVER"),
            kubectl: PathBuf::from(var("ZKKAFKA_KUBECTL")),
        }
    })
}

impl KubeControlPlane {
    /// `kubectl --kubeconfig <admin> <args>`; never panics (check the output).
    pub fn kubectl(&self, args: &[&str]) -> CliOutput {
        self.kubectl_stdin(args, None)
    }

    /// `kubectl` with `stdin` fed to it (e.g. `apply -f -`).
    pub fn kubectl_stdin(&self, args: &[&str], stdin: Option<&str>) -> CliOutput {
        let mut cmd = Command::new(&self.kubectl);
        cmd.arg("--kubeconfig")
            .arg(&self.admin_kubeconfig)
            .args(args);
        run_with_timeout(cmd, stdin, Duration::from_secs(60))
    }

    /// `kubectl ... -o json` parsed; `None` when the object does not exist.
    pub fn get_json(&self, args: &[&str]) -> Option<serde_json::Value> {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-o", "json"]);
        let out = self.kubectl(&all);
        if !out.success() {
            assert!(out.stderr.contains("NotFound"), "kubectl failed:\n{out}");
            return None;
        }
        Some(serde_json::from_str(&out.stdout).unwrap())
    }

    /// Creates a namespace (deleted again when the returned guard drops).
    pub fn namespace(&self, name: &str) -> KubeNamespace {
        self.kubectl(&["create", "namespace", name])
            .assert_success();
        KubeNamespace {
            kube: self.clone(),
            name: name.to_owned(),
        }
    }
}

/// A namespace made for one test; deleted on drop (without waiting).
pub struct KubeNamespace {
    kube: KubeControlPlane,
    pub name: String,
}

impl Drop for KubeNamespace {
    fn drop(&mut self) {
        let _ = self
            .kube
            .kubectl(&["delete", "namespace", &self.name, "--wait=false"]);
    }
}
