//! STAND-IN for the shared test harness that is being built on branch `bench`. It offers the
//! same entry point, `zookeeper()`, so `tests/zk_adapter.rs` compiles and runs before the harness
//! lands; when merging `bench`, take bench's version of this file.
//!
//! It does not install anything. It either
//! - points at an already running server: `ZKKAFKA_TEST_ZK=127.0.0.1:21810` (its superDigest
//!   must be for `super:zkkafka-test`), or
//! - starts a fresh standalone server per call from ZooKeeper jars on disk:
//!   `ZKKAFKA_TEST_ZK_CLASSPATH='/path/to/zookeeper-3.9.3/lib/*'` (needs `java` on PATH).

#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The super user's credentials, configured as ZooKeeper's superDigest.
pub const SUPER_AUTH: &str = "super:zkkafka-test";
/// `digest_id("super", "zkkafka-test")`.
const SUPER_DIGEST: &str = "super:Wiu6vFfnE08IAeLIyjO6lS5z/9A=";

/// A ZooKeeper server for one test; stopped on drop when this process started it.
pub struct ZkServer {
    pub connect_string: String,
    /// `user:password` for scheme `digest`; the server's super user.
    pub super_auth: String,
    /// Whether this server was started for this test alone (so the test may stop it).
    pub dedicated: bool,
    child: Option<Child>,
    _dir: Option<tempfile::TempDir>,
}

impl ZkServer {
    /// Stops the server now (only for a dedicated one).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for ZkServer {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn zookeeper() -> ZkServer {
    if let Ok(connect_string) = std::env::var("ZKKAFKA_TEST_ZK") {
        return ZkServer {
            connect_string,
            super_auth: SUPER_AUTH.to_string(),
            dedicated: false,
            child: None,
            _dir: None,
        };
    }
    let classpath = std::env::var("ZKKAFKA_TEST_ZK_CLASSPATH").expect(
        "set ZKKAFKA_TEST_ZK (a running server) or ZKKAFKA_TEST_ZK_CLASSPATH (ZooKeeper jars) \
         until the shared harness from branch `bench` lands",
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let cfg = dir.path().join("zoo.cfg");
    std::fs::write(
        &cfg,
        format!(
            "tickTime=500\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
             admin.enableServer=false\nminSessionTimeout=1000\nmaxSessionTimeout=60000\n\
             4lw.commands.whitelist=ruok,srvr,cons\n",
            dir.path().join("data").display()
        ),
    )
    .expect("write zoo.cfg");
    let child = Command::new("java")
        .arg(format!(
            "-Dzookeeper.DigestAuthenticationProvider.superDigest={SUPER_DIGEST}"
        ))
        .arg("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn")
        .arg("-cp")
        .arg(&classpath)
        .arg("org.apache.zookeeper.server.quorum.QuorumPeerMain")
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start java");
    let server = ZkServer {
        connect_string: format!("127.0.0.1:{port}"),
        super_auth: SUPER_AUTH.to_string(),
        dedicated: true,
        child: Some(child),
        _dir: Some(dir),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if ruok(port) {
            return server;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("ZooKeeper did not start on port {port} within 60s");
}

fn ruok(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut answer = String::new();
    stream.write_all(b"ruok").is_ok()
        && stream.read_to_string(&mut answer).is_ok()
        && answer == "imok"
}
