//! The plugin over a real socket: the real binary is started the way Terraform and OpenTofu
//! start it (magic cookie, protocol versions, port range, a P-521 client CA certificate), its
//! handshake line is parsed, and generated gRPC clients talk to it over mutual TLS on its Unix
//! socket (or the TCP fallback), or over plaintext TCP in `--debug` mode.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio::net::{TcpStream, UnixStream};
use tonic::transport::{Channel, Endpoint};

#[allow(unreachable_pub, dead_code, rust_2018_idioms, clippy::all)]
mod pb {
    pub mod tfplugin6 {
        include!(concat!(env!("OUT_DIR"), "/tfplugin6.rs"));
    }
    pub mod go_plugin {
        include!(concat!(env!("OUT_DIR"), "/plugin.rs"));
    }
}

use pb::go_plugin::grpc_controller_client::GrpcControllerClient;
use pb::tfplugin6::provider_client::ProviderClient;

const BINARY: &str = env!("CARGO_BIN_EXE_terraform-provider-zkkafka");
const MAGIC_COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// Guards against hangs only; nothing here is expected to take more than a fraction of it.
const GUARD: Duration = Duration::from_secs(10);

type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// A client certificate shaped like the one go-plugin generates: self-signed ECDSA P-521,
/// marked as a CA.
struct ClientIdentity {
    cert: CertificateDer<'static>,
    pem: String,
    key: PrivatePkcs8KeyDer<'static>,
}

fn client_identity() -> ClientIdentity {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).expect("P-521 key");
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("certificate params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::KeyEncipherment,
        rcgen::KeyUsagePurpose::KeyCertSign,
    ];
    params.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
    ];
    let cert = params.self_signed(&key).expect("self-signed certificate");
    ClientIdentity {
        cert: cert.der().clone(),
        pem: cert.pem(),
        key: PrivatePkcs8KeyDer::from(key.serialize_der()),
    }
}

/// The plugin process; killed when dropped so a failing test leaves nothing behind.
struct Plugin {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Plugin {
    fn start(args: &[&str], env: &[(&str, &str)]) -> Plugin {
        let mut command = Command::new(BINARY);
        command.args(args);
        Plugin::launch(command, env)
    }

    /// Runs `command` (the plugin binary, or a program that starts it) with `env`, reading
    /// its stdout line by line.
    fn launch(mut command: Command, env: &[(&str, &str)]) -> Plugin {
        command
            .env_remove("TF_PLUGIN_MAGIC_COOKIE")
            .env_remove("TF_LOG")
            .env_remove("TF_LOG_PROVIDER")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start the plugin binary");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    return;
                }
            }
        });
        Plugin { child, lines }
    }

    /// Started as Terraform starts it, with `client_pem` as PLUGIN_CLIENT_CERT.
    fn start_for_terraform(client_pem: &str) -> Plugin {
        Plugin::start_for_terraform_with(client_pem, &[])
    }

    /// The same, with `extra` added to the environment.
    fn start_for_terraform_with(client_pem: &str, extra: &[(&str, &str)]) -> Plugin {
        Plugin::launch_for_terraform(Command::new(BINARY), client_pem, extra)
    }

    /// Runs `command` with the environment Terraform gives a provider.
    fn launch_for_terraform(command: Command, client_pem: &str, extra: &[(&str, &str)]) -> Plugin {
        let mut env = vec![
            ("TF_PLUGIN_MAGIC_COOKIE", MAGIC_COOKIE),
            ("PLUGIN_PROTOCOL_VERSIONS", "5,6"),
            ("PLUGIN_MIN_PORT", "10000"),
            ("PLUGIN_MAX_PORT", "25000"),
            ("PLUGIN_CLIENT_CERT", client_pem),
        ];
        env.extend_from_slice(extra);
        Plugin::launch(command, &env)
    }

    fn next_line(&self) -> String {
        self.lines
            .recv_timeout(GUARD)
            .expect("the plugin printed a line on stdout")
    }

    /// Waits for the process to end, for at most the guard time.
    fn wait_exit(&mut self) -> Option<ExitStatus> {
        let deadline = Instant::now() + GUARD;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

impl Drop for Plugin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where the handshake line says the plugin listens.
#[derive(Debug, Clone)]
enum Addr {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

impl Addr {
    fn unix_path(&self) -> &Path {
        match self {
            Addr::Unix(path) => path,
            Addr::Tcp(addr) => panic!("expected a Unix socket, the plugin listens on tcp {addr}"),
        }
    }
}

/// The parsed `1|6|unix|PATH|grpc|CERT` (or `tcp|ADDR`) line.
struct Handshake {
    addr: Addr,
    server_cert: CertificateDer<'static>,
}

fn parse_handshake(line: &str) -> Handshake {
    let fields: Vec<&str> = line.split('|').collect();
    assert_eq!(fields.len(), 6, "handshake line {line:?}");
    assert_eq!(fields[0], "1", "core protocol version");
    assert_eq!(fields[1], "6", "plugin protocol version");
    assert_eq!(fields[4], "grpc");
    let addr = match fields[2] {
        "unix" => {
            let path = PathBuf::from(fields[3]);
            assert!(path.is_absolute(), "socket path {path:?}");
            Addr::Unix(path)
        }
        "tcp" => {
            let addr: SocketAddr = fields[3].parse().expect("address");
            assert!(addr.ip().is_loopback(), "listens on 127.0.0.1: {addr}");
            assert!(
                (10000..=25000).contains(&addr.port()),
                "port {} within PLUGIN_MIN_PORT..PLUGIN_MAX_PORT",
                addr.port()
            );
            Addr::Tcp(addr)
        }
        other => panic!("network {other:?} in {line:?}"),
    };
    let cert = fields[5];
    assert!(!cert.contains('='), "certificate base64 has no padding");
    let der = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(cert)
        .expect("certificate is standard base64");
    Handshake {
        addr,
        server_cert: CertificateDer::from(der),
    }
}

/// A TLS client that trusts exactly the announced server certificate for `localhost`, and
/// presents `identity` when given.
fn tls_connector(
    server_cert: &CertificateDer<'static>,
    identity: Option<&ClientIdentity>,
) -> tokio_rustls::TlsConnector {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(server_cert.clone())
        .expect("server certificate as root");
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots);
    let mut config = match identity {
        Some(identity) => builder
            .with_client_auth_cert(
                vec![identity.cert.clone()],
                PrivateKeyDer::Pkcs8(identity.key.clone_key()),
            )
            .expect("client certificate"),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// A connection of either kind, as the channel's connector returns it.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

async fn tls_channel(addr: &Addr, connector: tokio_rustls::TlsConnector) -> TestResult<Channel> {
    let addr = addr.clone();
    let connect = tower::service_fn(move |_uri| {
        let (connector, addr) = (connector.clone(), addr.clone());
        async move {
            let name = ServerName::try_from("localhost").map_err(std::io::Error::other)?;
            let tls: Box<dyn Io> = match addr {
                Addr::Tcp(addr) => {
                    let tcp = TcpStream::connect(addr).await?;
                    Box::new(connector.connect(name, tcp).await?)
                }
                Addr::Unix(path) => {
                    let unix = UnixStream::connect(path).await?;
                    Box::new(connector.connect(name, unix).await?)
                }
            };
            Ok::<_, std::io::Error>(TokioIo::new(tls))
        }
    });
    let channel = Endpoint::from_static("http://localhost")
        .connect_timeout(GUARD)
        .connect_with_connector(connect)
        .await?;
    Ok(channel)
}

/// A channel to the announced address over mutual TLS, presenting the pinned `identity`.
async fn trusted_channel(handshake: &Handshake, identity: &ClientIdentity) -> TestResult<Channel> {
    tls_channel(
        &handshake.addr,
        tls_connector(&handshake.server_cert, Some(identity)),
    )
    .await
}

/// GetProviderSchema over `channel`, with the guard timeout.
async fn provider_schema(
    channel: Channel,
) -> TestResult<pb::tfplugin6::get_provider_schema::Response> {
    let mut client = ProviderClient::new(channel);
    let response = tokio::time::timeout(
        GUARD,
        client.get_provider_schema(pb::tfplugin6::get_provider_schema::Request {}),
    )
    .await??;
    Ok(response.into_inner())
}

fn assert_is_zkkafka_schema(schema: &pb::tfplugin6::get_provider_schema::Response) {
    assert!(schema.provider.is_some(), "provider schema present");
    assert!(
        schema.resource_schemas.contains_key("zkkafka_znode"),
        "resources: {:?}",
        schema.resource_schemas.keys().collect::<Vec<_>>()
    );
    let capabilities = schema
        .server_capabilities
        .as_ref()
        .expect("server capabilities");
    assert!(capabilities.plan_destroy);
    assert!(capabilities.get_provider_schema_optional);
}

#[test]
fn refuses_to_run_without_the_magic_cookie() {
    let output = Command::new(BINARY)
        .env_remove("TF_PLUGIN_MAGIC_COOKIE")
        .stdin(Stdio::null())
        .output()
        .expect("run the plugin binary");
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty(), "nothing on stdout");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("plugin for Terraform and OpenTofu"),
        "{stderr}"
    );
    assert!(stderr.contains("--debug"), "{stderr}");
}

#[test]
fn refuses_clients_without_protocol_six() {
    let output = Command::new(BINARY)
        .env("TF_PLUGIN_MAGIC_COOKIE", MAGIC_COOKIE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "4,5")
        .stdin(Stdio::null())
        .output()
        .expect("run the plugin binary");
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty(), "no handshake line");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("protocol 6"), "{stderr}");
}

#[tokio::test]
async fn serves_the_provider_over_mutual_tls() -> TestResult {
    let identity = client_identity();
    let plugin = Plugin::start_for_terraform(&identity.pem);
    let handshake = parse_handshake(&plugin.next_line());
    // Like go-plugin's own servers: a Unix socket in the temporary directory.
    assert!(
        handshake.addr.unix_path().starts_with(std::env::temp_dir()),
        "{:?}",
        handshake.addr
    );

    let channel = trusted_channel(&handshake, &identity).await?;

    let schema = provider_schema(channel.clone()).await?;
    assert_is_zkkafka_schema(&schema);

    let metadata = ProviderClient::new(channel.clone())
        .get_metadata(pb::tfplugin6::get_metadata::Request {})
        .await?
        .into_inner();
    assert!(
        metadata
            .resources
            .iter()
            .any(|resource| resource.type_name == "zkkafka_znode"),
        "metadata lists zkkafka_znode"
    );

    use tonic_health::pb::health_check_response::ServingStatus;
    let health = tonic_health::pb::health_client::HealthClient::new(channel)
        .check(tonic_health::pb::HealthCheckRequest {
            service: "plugin".to_owned(),
        })
        .await?
        .into_inner();
    assert_eq!(health.status, ServingStatus::Serving as i32);
    Ok(())
}

#[tokio::test]
async fn refuses_clients_without_the_pinned_certificate_and_keeps_serving() -> TestResult {
    let identity = client_identity();
    let stranger = client_identity();
    let plugin = Plugin::start_for_terraform(&identity.pem);
    let handshake = parse_handshake(&plugin.next_line());

    let cases = [
        ("no client certificate", None),
        ("a different P-521 certificate", Some(&stranger)),
    ];
    for (name, presented) in cases {
        let connector = tls_connector(&handshake.server_cert, presented);
        let outcome = match tls_channel(&handshake.addr, connector).await {
            Ok(channel) => provider_schema(channel).await.map(|_| ()),
            Err(error) => Err(error),
        };
        assert!(outcome.is_err(), "{name}: the call must fail");
    }

    // Refused handshakes did not take the server down.
    let channel = trusted_channel(&handshake, &identity).await?;
    assert_is_zkkafka_schema(&provider_schema(channel).await?);
    Ok(())
}

#[tokio::test]
async fn shutdown_ends_the_process_and_removes_its_socket() -> TestResult {
    let identity = client_identity();
    let sockets = tempfile::tempdir()?;
    let dir = sockets.path().to_str().expect("UTF-8 temporary path");
    let mut plugin =
        Plugin::start_for_terraform_with(&identity.pem, &[("PLUGIN_UNIX_SOCKET_DIR", dir)]);
    let handshake = parse_handshake(&plugin.next_line());
    let socket = handshake.addr.unix_path().to_owned();
    assert_eq!(
        socket.parent(),
        Some(sockets.path()),
        "PLUGIN_UNIX_SOCKET_DIR is used"
    );
    assert!(socket.exists());
    let channel = trusted_channel(&handshake, &identity).await?;

    let answer = tokio::time::timeout(
        GUARD,
        GrpcControllerClient::new(channel).shutdown(pb::go_plugin::Empty {}),
    )
    .await?;
    assert!(answer.is_ok(), "Shutdown answered: {answer:?}");

    let status = tokio::task::spawn_blocking(move || plugin.wait_exit()).await?;
    let status = status.expect("the process exited after Shutdown");
    assert!(status.success(), "exit status {status}");
    assert!(!socket.exists(), "{socket:?} is removed on exit");
    Ok(())
}

/// A CLI killed with SIGKILL cannot say Shutdown: its provider sees that the process that
/// started it is gone and exits, instead of serving on, orphaned, for good.
#[cfg(target_os = "linux")]
#[test]
fn exits_when_the_process_that_started_it_is_killed() {
    let identity = client_identity();
    // The shell stands in for the CLI: it starts the provider, says its pid, and waits.
    let mut sh = Command::new("sh");
    sh.args(["-c", r#""$0" & echo "pid $!"; exec sleep 60"#, BINARY]);
    let mut cli = Plugin::launch_for_terraform(sh, &identity.pem, &[]);
    let (mut pid, mut serving) = (None, false);
    while pid.is_none() || !serving {
        let line = cli.next_line();
        match line.strip_prefix("pid ") {
            Some(n) => pid = Some(n.parse::<u32>().expect("a pid")),
            None => serving |= line.contains("|grpc|"),
        }
    }
    let pid = pid.expect("the shell printed the provider's pid");
    // Past the provider's first look at its parent, so a later, periodic one has to notice.
    std::thread::sleep(Duration::from_millis(300));
    cli.child.kill().expect("SIGKILL the stand-in CLI");
    cli.child.wait().expect("reap the stand-in CLI");

    // A zombie (exited, not yet reaped by whoever adopted it) counts as ended.
    let running = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| Some(stat.rsplit_once(") ")?.1.chars().next()? != 'Z'))
            .unwrap_or(false)
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while running() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let orphaned = running();
    if orphaned {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    }
    assert!(
        !orphaned,
        "the provider (pid {pid}) outlived its parent by 5 s"
    );
}

#[tokio::test]
async fn falls_back_to_tcp_in_the_port_range_without_a_usable_socket_directory() -> TestResult {
    let identity = client_identity();
    let plugin = Plugin::start_for_terraform_with(
        &identity.pem,
        &[("PLUGIN_UNIX_SOCKET_DIR", "/nonexistent/zkkafka-sockets")],
    );
    let handshake = parse_handshake(&plugin.next_line());
    assert!(
        matches!(handshake.addr, Addr::Tcp(_)),
        "{:?}",
        handshake.addr
    );
    let channel = trusted_channel(&handshake, &identity).await?;
    assert_is_zkkafka_schema(&provider_schema(channel).await?);
    Ok(())
}

#[tokio::test]
async fn debug_mode_prints_reattach_config_and_serves_plaintext() -> TestResult {
    let plugin = Plugin::start(&["--debug"], &[]);
    let line = loop {
        let line = plugin.next_line();
        if line.contains("TF_REATTACH_PROVIDERS=") {
            break line;
        }
    };
    let json = line
        .split_once("TF_REATTACH_PROVIDERS='")
        .and_then(|(_, rest)| rest.strip_suffix('\''))
        .expect("value in single quotes");
    let reattach: serde_json::Value = serde_json::from_str(json)?;
    let entry = &reattach["registry.terraform.io/zkkafka/zkkafka"];
    assert_eq!(entry["Protocol"], "grpc");
    assert_eq!(entry["ProtocolVersion"], 6);
    assert_eq!(entry["Test"], true);
    assert_eq!(entry["Pid"], plugin.child.id());
    assert_eq!(entry["Addr"]["Network"], "tcp");
    assert_eq!(
        reattach["registry.opentofu.org/zkkafka/zkkafka"], *entry,
        "the same entry serves OpenTofu"
    );
    let addr = entry["Addr"]["String"].as_str().expect("address string");

    let channel = Endpoint::from_shared(format!("http://{addr}"))?
        .connect_timeout(GUARD)
        .connect()
        .await?;
    assert_is_zkkafka_schema(&provider_schema(channel).await?);
    Ok(())
}
