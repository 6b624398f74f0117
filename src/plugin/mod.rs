//! Transport: the go-plugin handshake, mutual TLS, the gRPC services, and the conversion
//! between generated protobuf types and the native ones. The only module that names protobuf
//! types; no provider logic lives here.
//!
//! Where to start reading: [`main`] (arguments, then [`handshake`], [`tls`] and
//! [`serve`](mod@serve)); [`provider`] has one thin handler per RPC, with the conversions in
//! [`convert`]; [`go_plugin`] holds go-plugin's side services; [`logging`] writes hclog-shaped
//! JSON lines that Terraform relays into its own log.

mod convert;
mod go_plugin;
mod handshake;
mod logging;
mod proto;
mod provider;
mod serve;
mod tls;

use std::io::Write as _;
use std::process::ExitCode;

use crate::framework::ProviderServer;

use handshake::HandshakeError;
use serve::Transport;

const USAGE: &str = "\
terraform-provider-zkkafka: Terraform / OpenTofu provider for ZooKeeper ensembles, Kafka
clusters on Kubernetes, and znode ACLs.

terraform and tofu start this program themselves; it is not meant to be run by hand.

Usage:
  terraform-provider-zkkafka --debug     serve without TLS and print TF_REATTACH_PROVIDERS,
                                         for attaching a debugger
  terraform-provider-zkkafka --version   print the version
  terraform-provider-zkkafka --help      print this text
";

/// The provider every RPC is answered by. The one place that decides how it is built.
fn provider() -> ProviderServer {
    ProviderServer::new(std::sync::Arc::new(crate::resources::ZkKafkaProvider))
}

#[derive(Debug, PartialEq, Eq)]
enum Command {
    Serve,
    Debug,
    Help,
    Version,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut command = Command::Serve;
    for arg in args {
        command = match arg.as_str() {
            "--debug" | "-debug" => Command::Debug,
            "--help" | "-help" | "-h" => return Ok(Command::Help),
            "--version" | "-version" | "-v" => return Ok(Command::Version),
            other => return Err(format!("unknown argument {other:?}")),
        };
    }
    Ok(command)
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let command = match parse_args(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(problem) => {
            eprintln!("{problem}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Help => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Command::Version => {
            println!("terraform-provider-zkkafka {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::Serve => exit_code(serve_for_plugin_client()),
        Command::Debug => exit_code(serve_for_debugger()),
    }
}

fn exit_code(result: Result<(), Box<dyn std::error::Error>>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let mut text = error.to_string();
            let mut source = error.source();
            while let Some(cause) = source {
                text.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            eprintln!("{text}");
            ExitCode::FAILURE
        }
    }
}

/// Normal operation: started by terraform or tofu. Everything before the handshake line is
/// kept cheap, since Terraform starts the provider several times per command.
fn serve_for_plugin_client() -> Result<(), Box<dyn std::error::Error>> {
    let env = |key: &str| std::env::var(key).ok();
    handshake::check_magic_cookie(env(handshake::MAGIC_COOKIE_KEY).as_deref())?;
    handshake::negotiate_protocol(env("PLUGIN_PROTOCOL_VERSIONS").as_deref())?;
    let client_cert = env("PLUGIN_CLIENT_CERT").ok_or(HandshakeError::MissingClientCertificate)?;
    logging::init();

    let client_cert = tls::parse_client_cert(&client_cert)?;
    let identity = tls::generate_server_identity()?;
    let server_cert = identity.cert.clone();
    let config = tls::server_config(identity, client_cert)?;
    let listener = handshake::listen_for_plugin_client(&handshake::ListenOptions {
        unix_socket_dir: std::env::var_os("PLUGIN_UNIX_SOCKET_DIR")
            .filter(|dir| !dir.is_empty())
            .map(Into::into),
        unix_socket_group: env("PLUGIN_UNIX_SOCKET_GROUP").filter(|group| !group.is_empty()),
        ports: handshake::port_range(
            env("PLUGIN_MIN_PORT").as_deref(),
            env("PLUGIN_MAX_PORT").as_deref(),
        ),
    })?;

    run(serve::serve(
        listener,
        Transport::Tls(config),
        provider(),
        |addr| {
            announce(&handshake::handshake_line(addr, &server_cert));
        },
    ))
}

/// `--debug`: plaintext on a free port, attached to by hand through TF_REATTACH_PROVIDERS.
fn serve_for_debugger() -> Result<(), Box<dyn std::error::Error>> {
    logging::init();
    let listener = handshake::Listener::Tcp(handshake::listen(None)?);
    run(serve::serve(
        listener,
        Transport::Plaintext,
        provider(),
        |addr| {
            let reattach = handshake::reattach_providers(addr, std::process::id());
            announce(&format!(
                "Provider started in debug mode (plaintext, no handshake). To attach terraform or \
             tofu, run this in the shell you run them from (the value names both the \
             registry.terraform.io and the registry.opentofu.org address):\n\n\
             \tTF_REATTACH_PROVIDERS='{reattach}'\n\n\
             Press Ctrl-C to stop the provider."
            ));
        },
    ))
}

/// Prints to stdout and flushes: the client is waiting for this line.
fn announce(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}");
    let _ = stdout.flush();
}

fn run(
    serve: impl std::future::Future<Output = Result<(), serve::ServeError>>,
) -> Result<(), Box<dyn std::error::Error>> {
    // One thread: Terraform sends a handful of calls at a time, all waiting on the network,
    // and each provider process is one of several Terraform starts, so a single thread (one
    // allocator arena, no worker stacks) keeps start-up and resident memory low.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let served = runtime.block_on(serve);
    // Do not wait for connection tasks still open: the client is done with us.
    runtime.shutdown_background();
    Ok(served?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_pick_the_command() {
        let cases: [(&str, &[&str], Result<Command, ()>); 7] = [
            ("no arguments", &[], Ok(Command::Serve)),
            ("debug", &["--debug"], Ok(Command::Debug)),
            ("go-style debug", &["-debug"], Ok(Command::Debug)),
            ("help wins", &["--debug", "--help"], Ok(Command::Help)),
            ("version", &["--version"], Ok(Command::Version)),
            ("short help", &["-h"], Ok(Command::Help)),
            ("unknown", &["--serve"], Err(())),
        ];
        for (name, args, want) in cases {
            let got = parse_args(args.iter().map(|arg| (*arg).to_owned())).map_err(|_| ());
            assert_eq!(got, want, "case {name}");
        }
    }
}
