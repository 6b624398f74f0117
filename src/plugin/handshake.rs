//! The go-plugin handshake: the checks a plugin process makes before serving, and the one
//! line it prints on stdout so the client knows where and how to connect.
//!
//! Terraform and OpenTofu start the provider with a magic cookie, the protocol versions they
//! speak and their client certificate in the environment; the provider answers
//! `1|6|unix|/tmp/pluginPID-N|grpc|CERT`. Like go-plugin's own servers it listens on a Unix
//! socket (in `PLUGIN_UNIX_SOCKET_DIR`, else the temporary directory, group-owned by
//! `PLUGIN_UNIX_SOCKET_GROUP` when set), and falls back to TCP on 127.0.0.1 (within
//! `PLUGIN_MIN_PORT`..`PLUGIN_MAX_PORT`) where it cannot. Debug mode skips all of this, serves
//! on TCP and prints a `TF_REATTACH_PROVIDERS` value for a person to paste instead.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::ops::RangeInclusive;
#[cfg(unix)]
use std::os::unix::net::UnixListener;
use std::path::PathBuf;

use base64::Engine as _;

/// Environment variable carrying the magic cookie.
pub(super) const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
/// The value Terraform and OpenTofu set: not a secret, only proof that the process was started
/// by a plugin client and not by a person, so it can talk protocol instead of prose.
pub(super) const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// go-plugin's own wire version, the first field of the handshake line; always 1.
const CORE_PROTOCOL_VERSION: u32 = 1;
/// The Terraform plugin protocol major version we speak (tfplugin6).
pub(super) const PLUGIN_PROTOCOL_VERSION: u32 = 6;
/// Provider addresses a debug-mode provider answers for: Terraform's and OpenTofu's default
/// registries resolve `zkkafka/zkkafka` to these.
const PROVIDER_ADDRESSES: [&str; 2] = [
    "registry.terraform.io/zkkafka/zkkafka",
    "registry.opentofu.org/zkkafka/zkkafka",
];

#[derive(Debug, thiserror::Error)]
pub(super) enum HandshakeError {
    #[error(
        "This program is a plugin for Terraform and OpenTofu: terraform or tofu start it \
         themselves when a configuration uses the zkkafka provider, so there is no need to run \
         it by hand.\nTo debug the provider, run it with --debug and follow the instructions \
         it prints."
    )]
    NotStartedByPluginClient,
    #[error(
        "This provider speaks plugin protocol {PLUGIN_PROTOCOL_VERSION}, but the caller offered \
         only protocol versions {offered:?}. Use Terraform 1.0 or later, or any OpenTofu release."
    )]
    UnsupportedProtocol { offered: String },
    #[error(
        "PLUGIN_CLIENT_CERT is not set: the caller did not send the certificate it connects \
         with. Terraform and OpenTofu always send it; start the provider through them."
    )]
    MissingClientCertificate,
    #[error("could not listen on 127.0.0.1")]
    Listen(#[source] std::io::Error),
}

/// Where the provider listens, as the handshake line and `TF_REATTACH_PROVIDERS` name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PluginAddr {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

impl PluginAddr {
    /// The network name go-plugin dials with.
    fn network(&self) -> &'static str {
        match self {
            Self::Tcp(_) => "tcp",
            Self::Unix(_) => "unix",
        }
    }
}

impl fmt::Display for PluginAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp(addr) => addr.fmt(f),
            Self::Unix(path) => path.display().fmt(f),
        }
    }
}

/// A bound listening socket, before the runtime takes it over.
pub(super) enum Listener {
    Tcp(TcpListener),
    #[cfg(unix)]
    Unix(UnixListener, SocketFile),
}

/// The path of a listening Unix socket; removed when this is dropped, as the process ends.
#[derive(Debug)]
pub(super) struct SocketFile(PathBuf);

impl SocketFile {
    pub(super) fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The socket settings a plugin client passes in the environment.
#[derive(Debug, Default)]
pub(super) struct ListenOptions {
    /// `PLUGIN_UNIX_SOCKET_DIR`: where the socket goes instead of the temporary directory.
    pub(super) unix_socket_dir: Option<PathBuf>,
    /// `PLUGIN_UNIX_SOCKET_GROUP`: a group name or id that gets read-write access.
    pub(super) unix_socket_group: Option<String>,
    /// `PLUGIN_MIN_PORT` and `PLUGIN_MAX_PORT`, for the TCP fallback.
    pub(super) ports: Option<RangeInclusive<u16>>,
}

/// Listens where go-plugin's own servers do: a fresh Unix socket, which costs both sides less
/// per call than loopback TCP. Where that fails (a directory that is not writable, a path too
/// long for a socket address), it says why in the log and listens on TCP instead.
pub(super) fn listen_for_plugin_client(
    options: &ListenOptions,
) -> Result<Listener, HandshakeError> {
    #[cfg(unix)]
    match listen_unix(options) {
        Ok((listener, file)) => return Ok(Listener::Unix(listener, file)),
        Err(error) => {
            tracing::warn!(error = %error, "cannot listen on a Unix socket; using TCP on 127.0.0.1")
        }
    }
    listen(options.ports.clone()).map(Listener::Tcp)
}

/// Binds `pluginPID-N` in the socket directory, at the first N not taken.
#[cfg(unix)]
fn listen_unix(options: &ListenOptions) -> std::io::Result<(UnixListener, SocketFile)> {
    let dir = options
        .unix_socket_dir
        .clone()
        .unwrap_or_else(std::env::temp_dir);
    let pid = std::process::id();
    let mut attempt = 0;
    let (listener, file) = loop {
        let path = dir.join(format!("plugin{pid}-{attempt}"));
        match UnixListener::bind(&path) {
            Ok(listener) => break (listener, SocketFile(path)),
            // A file left by an earlier process with the same id, killed before it could
            // remove its socket: take the next name.
            Err(error) if error.kind() == std::io::ErrorKind::AddrInUse && attempt < 100 => {
                attempt += 1;
            }
            Err(error) => return Err(error),
        }
    };
    if let Some(group) = &options.unix_socket_group {
        share_with_group(file.path(), group)?;
    }
    Ok((listener, file))
}

/// Gives `group` (a name from /etc/group, or a numeric id) read-write access to the socket,
/// as go-plugin does for `PLUGIN_UNIX_SOCKET_GROUP`.
#[cfg(unix)]
fn share_with_group(path: &std::path::Path, group: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let gid = match group.parse::<u32>() {
        Ok(gid) => gid,
        Err(_) => std::fs::read_to_string("/etc/group")
            .ok()
            .and_then(|groups| group_id(&groups, group))
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("PLUGIN_UNIX_SOCKET_GROUP names no group: {group:?}"),
                )
            })?,
    };
    std::os::unix::fs::chown(path, None, Some(gid))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
}

/// The id of group `name` in the text of /etc/group (`name:password:gid:members`).
#[cfg(unix)]
fn group_id(groups: &str, name: &str) -> Option<u32> {
    groups.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next()? == name).then_some(())?;
        fields.nth(1)?.parse().ok()
    })
}

/// The process must have been started by a plugin client.
pub(super) fn check_magic_cookie(cookie: Option<&str>) -> Result<(), HandshakeError> {
    match cookie {
        Some(value) if value == MAGIC_COOKIE_VALUE => Ok(()),
        _ => Err(HandshakeError::NotStartedByPluginClient),
    }
}

/// Picks protocol 6 from `PLUGIN_PROTOCOL_VERSIONS` (a comma-separated list). When the
/// variable is absent, go-plugin clients expect the plugin's own version, as go-plugin does.
pub(super) fn negotiate_protocol(offered: Option<&str>) -> Result<u32, HandshakeError> {
    let Some(offered) = offered else {
        return Ok(PLUGIN_PROTOCOL_VERSION);
    };
    let speaks_ours = offered
        .split(',')
        .any(|version| version.trim().parse::<u32>() == Ok(PLUGIN_PROTOCOL_VERSION));
    if speaks_ours {
        Ok(PLUGIN_PROTOCOL_VERSION)
    } else {
        Err(HandshakeError::UnsupportedProtocol {
            offered: offered.to_owned(),
        })
    }
}

/// The ports `PLUGIN_MIN_PORT` and `PLUGIN_MAX_PORT` allow, when both are usable numbers.
pub(super) fn port_range(min: Option<&str>, max: Option<&str>) -> Option<RangeInclusive<u16>> {
    let min: u16 = min?.trim().parse().ok()?;
    let max: u16 = max?.trim().parse().ok()?;
    (min > 0 && min <= max).then_some(min..=max)
}

/// Listens on 127.0.0.1 at the first free port of `range`, or at any free port when there is
/// no range or every port in it is taken.
pub(super) fn listen(range: Option<RangeInclusive<u16>>) -> Result<TcpListener, HandshakeError> {
    if let Some(range) = range {
        for port in range {
            if let Ok(listener) = TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
                return Ok(listener);
            }
        }
    }
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(HandshakeError::Listen)
}

/// `1|6|unix|PATH|grpc|CERT` (or `tcp|127.0.0.1:PORT`); CERT is the server certificate's DER
/// in standard base64 without padding, which is how go-plugin reads it.
pub(super) fn handshake_line(addr: &PluginAddr, server_cert_der: &[u8]) -> String {
    let cert = base64::engine::general_purpose::STANDARD_NO_PAD.encode(server_cert_der);
    let network = addr.network();
    format!("{CORE_PROTOCOL_VERSION}|{PLUGIN_PROTOCOL_VERSION}|{network}|{addr}|grpc|{cert}")
}

/// The `TF_REATTACH_PROVIDERS` value for a debug-mode provider at `addr`: one entry per
/// registry address, so the same value works for Terraform and for OpenTofu. `Test: true`
/// tells the CLI not to stop a process it did not start.
pub(super) fn reattach_providers(addr: &PluginAddr, pid: u32) -> String {
    let entry = serde_json::json!({
        "Protocol": "grpc",
        "ProtocolVersion": PLUGIN_PROTOCOL_VERSION,
        "Pid": pid,
        "Test": true,
        "Addr": { "Network": addr.network(), "String": addr.to_string() },
    });
    let providers: serde_json::Map<String, serde_json::Value> = PROVIDER_ADDRESSES
        .iter()
        .map(|address| ((*address).to_owned(), entry.clone()))
        .collect();
    serde_json::Value::Object(providers).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_cookie_must_match_exactly() {
        let cases = [
            ("right value", Some(MAGIC_COOKIE_VALUE), true),
            ("absent", None, false),
            ("empty", Some(""), false),
            ("wrong", Some("d602bf8f"), false),
        ];
        for (name, cookie, ok) in cases {
            assert_eq!(check_magic_cookie(cookie).is_ok(), ok, "case {name}");
        }
    }

    #[test]
    fn protocol_six_is_picked_from_the_offer() {
        let cases = [
            ("only six", Some("6"), true),
            ("five and six", Some("5,6"), true),
            ("with spaces", Some("5, 6"), true),
            ("absent means ours", None, true),
            ("only five", Some("5"), false),
            ("sixty is not six", Some("60"), false),
            ("empty", Some(""), false),
        ];
        for (name, offered, ok) in cases {
            let got = negotiate_protocol(offered);
            assert_eq!(got.is_ok(), ok, "case {name}");
            if ok {
                assert_eq!(got.ok(), Some(6), "case {name}");
            }
        }
    }

    #[test]
    fn port_range_needs_two_ordered_ports() {
        let cases = [
            ("usual", Some("10000"), Some("25000"), Some(10000..=25000)),
            ("single port", Some("4000"), Some("4000"), Some(4000..=4000)),
            ("reversed", Some("25000"), Some("10000"), None),
            ("zero", Some("0"), Some("0"), None),
            ("missing max", Some("10000"), None, None),
            ("not a number", Some("x"), Some("2"), None),
            ("too big", Some("10000"), Some("70000"), None),
        ];
        for (name, min, max, want) in cases {
            assert_eq!(port_range(min, max), want, "case {name}");
        }
    }

    #[test]
    fn listen_uses_the_range_and_falls_back_to_any_port() {
        let first = listen(None).expect("any port");
        let taken = first.local_addr().expect("addr").port();
        // The only port in the range is taken: fall back to another free port.
        let second = listen(Some(taken..=taken)).expect("fallback");
        let port = second.local_addr().expect("addr").port();
        assert_ne!(port, taken);
        assert!(second.local_addr().expect("addr").ip().is_loopback());
    }

    #[test]
    fn handshake_line_has_six_fields_and_unpadded_certificate() {
        let tcp = PluginAddr::Tcp("127.0.0.1:12345".parse().expect("addr"));
        // 4 bytes encode to 6 base64 characters plus "==" with padding.
        let line = handshake_line(&tcp, &[1, 2, 3, 4]);
        assert_eq!(line, "1|6|tcp|127.0.0.1:12345|grpc|AQIDBA");
        let unix = PluginAddr::Unix(PathBuf::from("/tmp/plugin42-0"));
        assert_eq!(
            handshake_line(&unix, &[1, 2, 3, 4]),
            "1|6|unix|/tmp/plugin42-0|grpc|AQIDBA"
        );
    }

    #[cfg(unix)]
    #[test]
    fn unix_socket_is_fresh_and_removed_with_its_file() {
        let dir = tempfile::tempdir().expect("dir");
        let options = ListenOptions {
            unix_socket_dir: Some(dir.path().to_owned()),
            ..ListenOptions::default()
        };
        let Listener::Unix(first, first_file) = listen_for_plugin_client(&options).expect("first")
        else {
            panic!("expected a Unix socket");
        };
        let Listener::Unix(_second, second_file) =
            listen_for_plugin_client(&options).expect("second")
        else {
            panic!("expected a Unix socket");
        };
        assert_ne!(first_file.path(), second_file.path());
        assert!(first_file.path().starts_with(dir.path()));
        let path = first_file.path().to_owned();
        assert!(std::os::unix::net::UnixStream::connect(&path).is_ok());
        drop((first, first_file));
        assert!(!path.exists(), "{path:?} was left behind");
    }

    #[cfg(unix)]
    #[test]
    fn unusable_socket_directory_falls_back_to_loopback_tcp() {
        let options = ListenOptions {
            unix_socket_dir: Some(PathBuf::from("/nonexistent/zkkafka-test")),
            ..ListenOptions::default()
        };
        let listener = listen_for_plugin_client(&options).expect("listener");
        let Listener::Tcp(tcp) = listener else {
            panic!("expected TCP");
        };
        assert!(tcp.local_addr().expect("addr").ip().is_loopback());
    }

    #[cfg(unix)]
    #[test]
    fn socket_group_is_looked_up_by_name() {
        let groups = "root:x:0:\ndaemon:x:1:\n# not a group\nplugins:x:1234:alice,bob\n";
        assert_eq!(group_id(groups, "plugins"), Some(1234));
        assert_eq!(group_id(groups, "root"), Some(0));
        assert_eq!(group_id(groups, "plug"), None);
        assert_eq!(group_id(groups, "nobody"), None);
    }

    #[test]
    fn reattach_value_names_both_registries() {
        let addr = PluginAddr::Tcp("127.0.0.1:4321".parse().expect("addr"));
        let json: serde_json::Value =
            serde_json::from_str(&reattach_providers(&addr, 77)).expect("JSON");
        for address in PROVIDER_ADDRESSES {
            let entry = &json[address];
            assert_eq!(entry["Protocol"], "grpc", "{address}");
            assert_eq!(entry["ProtocolVersion"], 6, "{address}");
            assert_eq!(entry["Pid"], 77, "{address}");
            assert_eq!(entry["Test"], true, "{address}");
            assert_eq!(entry["Addr"]["Network"], "tcp", "{address}");
            assert_eq!(entry["Addr"]["String"], "127.0.0.1:4321", "{address}");
        }
    }
}
