//! Puts the gRPC services together and serves them until the client says Shutdown, or the
//! client process is gone without saying it (or, in debug mode, until Ctrl-C).

use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tonic::transport::server::{Router, TcpIncoming};
use tonic::transport::Server;
use tonic_health::ServingStatus;

use crate::framework::ProviderServer;

use super::go_plugin::{Controller, Stdio};
use super::handshake::{Listener, PluginAddr, SocketFile};
use super::proto::go_plugin as go_pb;
use super::{provider, tls};

/// The health service name go-plugin clients check before using the plugin.
const HEALTH_SERVICE: &str = "plugin";
/// After Shutdown, the longest the process waits for the client to hang up (which tells it
/// the answer arrived) before it exits anyway. go-plugin hangs up at once, and Terraform and
/// OpenTofu wait for the process to exit on every provider start, so normally no time is
/// spent here; only a client that keeps its connection open costs this much.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(20);
/// How often the process checks that the CLI that started it is still running: a timer tick
/// and one `getppid` a second cost nothing measurable, and a second is soon enough for a
/// process nobody talks to any more.
const PARENT_CHECK_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub(super) enum ServeError {
    #[error("could not use the listening socket")]
    Socket(#[source] std::io::Error),
    #[error("the gRPC server failed")]
    Grpc(#[source] tonic::transport::Error),
}

/// How connections are secured.
pub(super) enum Transport {
    /// Normal operation under Terraform or OpenTofu: mutual TLS.
    Tls(Arc<ServerConfig>),
    /// `--debug`: plaintext, reached through `TF_REATTACH_PROVIDERS`.
    Plaintext,
}

/// Serves on `listener`. `announce` runs once everything is ready to accept connections; it
/// prints the handshake line (or the debug instructions). Returns after Shutdown, when the
/// process that started this one has ended (under Terraform or OpenTofu), or after Ctrl-C in
/// debug mode; SIGINT is otherwise ignored, because Terraform forwards the user's Ctrl-C to
/// the whole process group and asks for a graceful stop with StopProvider instead.
pub(super) async fn serve(
    listener: Listener,
    transport: Transport,
    provider: ProviderServer,
    announce: impl FnOnce(&PluginAddr),
) -> Result<(), ServeError> {
    let interrupts = Interrupts::listen();
    // A person runs debug mode and stops it with Ctrl-C; under a CLI, the CLI's end is ours.
    let orphaned = parent_exited(matches!(transport, Transport::Tls(_)));
    // `_file` is kept until serving ends: dropping it removes a Unix socket's file.
    let Bound {
        listener,
        addr,
        file: _file,
    } = Bound::new(listener).map_err(ServeError::Socket)?;
    let shutdown = Arc::new(Notify::new());
    let router = router(provider, shutdown.clone()).await;
    let stop_on_interrupt = matches!(transport, Transport::Plaintext);
    // Plaintext connections (debug mode) are not counted: there the grace time is all waited.
    let tracked = matches!(transport, Transport::Tls(_));
    let open = tls::OpenConnections::new();
    let stopped = {
        let open = open.clone();
        async move {
            tokio::select! {
                () = shutdown.notified() => {
                    let hung_up = async {
                        if tracked {
                            open.all_closed().await;
                        } else {
                            std::future::pending::<()>().await;
                        }
                    };
                    let _ = tokio::time::timeout(SHUTDOWN_GRACE, hung_up).await;
                }
                () = interrupts.wait(stop_on_interrupt) => {}
                () = orphaned => {
                    tracing::info!("the process that started the provider has ended; stopping");
                }
            }
        }
    };

    announce(&addr);
    tracing::info!(address = %addr, "serving");
    // Serving ends only with an error; `stopped` ends the process's work. Connections are
    // not drained: the client has said it is done, or a person pressed Ctrl-C.
    macro_rules! serve_until_stopped {
        ($incoming:expr) => {
            tokio::select! {
                served = router.serve_with_incoming($incoming) => served,
                () = stopped => Ok(()),
            }
        };
    }
    let served = match (listener, transport) {
        (listener, Transport::Tls(config)) => {
            serve_until_stopped!(tls::incoming(listener, config, open))
        }
        (tls::PluginListener::Tcp(listener), Transport::Plaintext) => {
            serve_until_stopped!(plaintext_incoming(listener))
        }
        #[cfg(unix)]
        (tls::PluginListener::Unix(_), Transport::Plaintext) => {
            return Err(ServeError::Socket(std::io::Error::other(
                "debug mode serves on TCP only",
            )));
        }
    };
    served.map_err(ServeError::Grpc)
}

/// Completes once the process that started this one has ended (never when `watch` is false).
/// A client killed with SIGKILL cannot say Shutdown, and its providers would otherwise serve
/// on, orphaned, forever. The kernel re-parents an orphan (to init or a subreaper), so a
/// parent id different from the one read here, at start-up, means the parent is gone.
/// `PR_SET_PDEATHSIG` would say so without polling, but it fires when the parent *thread*
/// that started us ends, and Go's runtime, which runs Terraform and OpenTofu, ends threads.
#[cfg(unix)]
fn parent_exited(watch: bool) -> impl std::future::Future<Output = ()> {
    use std::os::unix::process::parent_id;
    let parent = watch.then(parent_id);
    async move {
        let Some(parent) = parent else {
            return std::future::pending().await;
        };
        let mut ticks = tokio::time::interval(PARENT_CHECK_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while parent_id() == parent {
            ticks.tick().await;
        }
    }
}

/// Elsewhere there is no parent id to watch; Shutdown still ends the process.
#[cfg(not(unix))]
fn parent_exited(_watch: bool) -> impl std::future::Future<Output = ()> {
    std::future::pending()
}

/// Debug mode's connections. Nagle's algorithm is off, as on the TLS path: gRPC writes small
/// frames and waits for their answers, and with Nagle and delayed ACKs about half the RPCs
/// waited some 40 ms for nothing.
fn plaintext_incoming(listener: TcpListener) -> TcpIncoming {
    TcpIncoming::from(listener).with_nodelay(Some(true))
}

/// The listening socket, taken over by the runtime, where it is, and the file of a Unix
/// socket, removed when this is dropped.
struct Bound {
    listener: tls::PluginListener,
    addr: PluginAddr,
    file: Option<SocketFile>,
}

impl Bound {
    fn new(listener: Listener) -> std::io::Result<Self> {
        match listener {
            Listener::Tcp(listener) => {
                listener.set_nonblocking(true)?;
                let listener = TcpListener::from_std(listener)?;
                Ok(Self {
                    addr: PluginAddr::Tcp(listener.local_addr()?),
                    listener: tls::PluginListener::Tcp(listener),
                    file: None,
                })
            }
            #[cfg(unix)]
            Listener::Unix(listener, file) => {
                listener.set_nonblocking(true)?;
                let listener = tokio::net::UnixListener::from_std(listener)?;
                Ok(Self {
                    addr: PluginAddr::Unix(file.path().to_owned()),
                    listener: tls::PluginListener::Unix(listener),
                    file: Some(file),
                })
            }
        }
    }
}

async fn router(provider: ProviderServer, shutdown: Arc<Notify>) -> Router {
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_service_status(HEALTH_SERVICE, ServingStatus::Serving)
        .await;
    Server::builder()
        .add_service(health_service)
        .add_service(provider::service(provider.clone()))
        .add_service(go_pb::grpc_controller_server::GrpcControllerServer::new(
            Controller { shutdown, provider },
        ))
        .add_service(go_pb::grpc_stdio_server::GrpcStdioServer::new(Stdio))
}

/// SIGINT (Ctrl-C). Registered before the handshake line is printed, so from then on an
/// interrupt can no longer kill the process by default.
struct Interrupts {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Interrupts {
    fn listen() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let signal = signal(SignalKind::interrupt())
                .inspect_err(|error| tracing::warn!(error = %error, "cannot catch SIGINT"))
                .ok();
            Self { signal }
        }
        #[cfg(not(unix))]
        {
            Self {}
        }
    }

    /// Returns on the first interrupt when `stop` is set; otherwise swallows interrupts and
    /// never returns.
    async fn wait(mut self, stop: bool) {
        loop {
            if !self.next().await {
                return std::future::pending().await;
            }
            if stop {
                return;
            }
            tracing::debug!("ignoring SIGINT: Terraform stops providers through StopProvider");
        }
    }

    /// Waits for an interrupt; false when interrupts cannot be received at all.
    async fn next(&mut self) -> bool {
        #[cfg(unix)]
        {
            match self.signal.as_mut() {
                Some(signal) => signal.recv().await.is_some(),
                None => false,
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await.is_ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio_stream::StreamExt;

    use super::*;

    #[tokio::test]
    async fn plaintext_connections_have_nagle_off() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut incoming = plaintext_incoming(listener);
        let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let accepted = incoming.next().await.unwrap().unwrap();
        assert!(accepted.nodelay().unwrap());
    }
}
