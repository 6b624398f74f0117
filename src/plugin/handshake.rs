//! The go-plugin handshake: the checks a plugin process makes before serving, and the one
//! line it prints on stdout so the client knows where and how to connect.
//!
//! Terraform and OpenTofu start the provider with a magic cookie, the protocol versions they
//! speak, a port range and their client certificate in the environment; the provider answers
//! `1|6|tcp|127.0.0.1:PORT|grpc|CERT`. Debug mode skips all of this and prints a
//! `TF_REATTACH_PROVIDERS` value for a person to paste instead.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::ops::RangeInclusive;

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

/// `1|6|tcp|127.0.0.1:PORT|grpc|CERT`; CERT is the server certificate's DER in standard
/// base64 without padding, which is how go-plugin reads it.
pub(super) fn handshake_line(addr: SocketAddr, server_cert_der: &[u8]) -> String {
    let cert = base64::engine::general_purpose::STANDARD_NO_PAD.encode(server_cert_der);
    format!("{CORE_PROTOCOL_VERSION}|{PLUGIN_PROTOCOL_VERSION}|tcp|{addr}|grpc|{cert}")
}

/// The `TF_REATTACH_PROVIDERS` value for a debug-mode provider at `addr`: one entry per
/// registry address, so the same value works for Terraform and for OpenTofu. `Test: true`
/// tells the CLI not to stop a process it did not start.
pub(super) fn reattach_providers(addr: SocketAddr, pid: u32) -> String {
    let entry = serde_json::json!({
        "Protocol": "grpc",
        "ProtocolVersion": PLUGIN_PROTOCOL_VERSION,
        "Pid": pid,
        "Test": true,
        "Addr": { "Network": "tcp", "String": addr.to_string() },
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
        let addr: SocketAddr = "127.0.0.1:12345".parse().expect("addr");
        // 4 bytes encode to 6 base64 characters plus "==" with padding.
        let line = handshake_line(addr, &[1, 2, 3, 4]);
        assert_eq!(line, "1|6|tcp|127.0.0.1:12345|grpc|AQIDBA");
    }

    #[test]
    fn reattach_value_names_both_registries() {
        let addr: SocketAddr = "127.0.0.1:4321".parse().expect("addr");
        let json: serde_json::Value =
            serde_json::from_str(&reattach_providers(addr, 77)).expect("JSON");
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
