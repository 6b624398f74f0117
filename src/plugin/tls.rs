//! Mutual TLS for the plugin connection.
//!
//! The server side is ours: a fresh self-signed certificate per process (ECDSA P-256, SAN
//! `localhost`), announced in the handshake line so the client can pin it. The client side is
//! Terraform's: a self-signed ECDSA P-521 CA certificate passed in `PLUGIN_CLIENT_CERT`.
//! webpki would reject a CA certificate used as an end entity, and ring cannot verify P-521,
//! so [`PinnedClientCert`] accepts exactly that certificate and checks the handshake
//! signatures with aws-lc-rs. Client authentication is mandatory.
//!
//! [`incoming`] does the TLS accepts itself (tonic's TLS support is not compiled in) and
//! hands finished connections to tonic; a failed handshake drops only that connection. Each
//! connection counts itself in [`OpenConnections`] until tonic drops it, so the serve loop
//! knows when the client has hung up.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{aws_lc_rs, CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
#[cfg(unix)]
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;

/// A client that opens a TCP connection and never finishes the TLS handshake is dropped
/// after this long, so it cannot hold resources forever.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Finished TLS connections waiting for tonic to pick them up.
const ACCEPTED_QUEUE: usize = 16;

#[derive(Debug, thiserror::Error)]
pub(super) enum TlsError {
    #[error("could not generate the server certificate")]
    GenerateCertificate(#[source] rcgen::Error),
    #[error("PLUGIN_CLIENT_CERT does not hold a PEM certificate")]
    ClientCertificatePem(#[source] rustls::pki_types::pem::Error),
    #[error("could not build the TLS configuration")]
    Config(#[source] rustls::Error),
}

/// This process's server certificate and key.
pub(super) struct ServerIdentity {
    pub(super) cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
}

/// A fresh self-signed certificate for `localhost` (the name the client verifies), valid for
/// server authentication only.
pub(super) fn generate_server_identity() -> Result<ServerIdentity, TlsError> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .map_err(TlsError::GenerateCertificate)?;
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .map_err(TlsError::GenerateCertificate)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    params.distinguished_name.push(
        rcgen::DnType::OrganizationName,
        "terraform-provider-zkkafka",
    );
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params
        .self_signed(&key)
        .map_err(TlsError::GenerateCertificate)?;
    Ok(ServerIdentity {
        cert: cert.der().clone(),
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    })
}

/// The client certificate from `PLUGIN_CLIENT_CERT` (the first PEM certificate in it).
pub(super) fn parse_client_cert(pem: &str) -> Result<CertificateDer<'static>, TlsError> {
    CertificateDer::from_pem_slice(pem.as_bytes()).map_err(TlsError::ClientCertificatePem)
}

/// TLS 1.2 and 1.3 with aws-lc-rs, our certificate, the pinned client certificate, and ALPN
/// `h2` (gRPC clients in Go refuse a TLS connection that did not negotiate it).
pub(super) fn server_config(
    identity: ServerIdentity,
    client_cert: CertificateDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(aws_lc_rs::default_provider());
    let verifier = PinnedClientCert::new(client_cert, &provider);
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(TlsError::Config)?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(vec![identity.cert], identity.key)
        .map_err(TlsError::Config)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// Accepts exactly one client certificate, byte for byte, and verifies that the peer holds
/// its private key by checking the handshake signature.
#[derive(Debug)]
pub(super) struct PinnedClientCert {
    pinned: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinnedClientCert {
    pub(super) fn new(pinned: CertificateDer<'static>, provider: &CryptoProvider) -> Self {
        Self {
            pinned,
            algorithms: provider.signature_verification_algorithms,
        }
    }
}

impl ClientCertVerifier for PinnedClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    /// No hints: the client has exactly one certificate to offer.
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.pinned.as_ref() {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// A listening socket TLS connections arrive on: loopback TCP or a Unix socket.
pub(super) enum PluginListener {
    Tcp(TcpListener),
    #[cfg(unix)]
    Unix(UnixListener),
}

impl PluginListener {
    /// The next connection, and who it is from (for the log).
    async fn accept(&self) -> io::Result<(PluginStream, String)> {
        match self {
            Self::Tcp(listener) => {
                let (tcp, peer) = listener.accept().await?;
                // gRPC writes small frames and waits for their answers.
                let _ = tcp.set_nodelay(true);
                Ok((PluginStream::Tcp(tcp), peer.to_string()))
            }
            #[cfg(unix)]
            Self::Unix(listener) => {
                let (stream, _) = listener.accept().await?;
                // A Unix socket's client has no address of its own; its process id says who.
                let peer = match stream.peer_cred().ok().and_then(|cred| cred.pid()) {
                    Some(pid) => format!("pid {pid}"),
                    None => "a local process".to_owned(),
                };
                Ok((PluginStream::Unix(stream), peer))
            }
        }
    }
}

/// A connection from either kind of listener. One type rather than a type parameter, so the
/// TLS and HTTP/2 server code is compiled once: a second copy would sit in the binary and, at
/// its boundaries, in resident memory.
pub(super) enum PluginStream {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
}

/// Calls the same method on whichever stream it is.
macro_rules! on_stream {
    ($stream:expr, $inner:ident => $call:expr) => {
        match $stream.get_mut() {
            PluginStream::Tcp($inner) => $call,
            #[cfg(unix)]
            PluginStream::Unix($inner) => $call,
        }
    };
}

impl AsyncRead for PluginStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        on_stream!(self, s => Pin::new(s).poll_read(cx, buf))
    }
}

impl AsyncWrite for PluginStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        on_stream!(self, s => Pin::new(s).poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        on_stream!(self, s => Pin::new(s).poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Tcp(s) => s.is_write_vectored(),
            #[cfg(unix)]
            Self::Unix(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        on_stream!(self, s => Pin::new(s).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        on_stream!(self, s => Pin::new(s).poll_shutdown(cx))
    }
}

/// Plaintext held back for one TLS record, at most this much; larger writes go straight through.
const COALESCE_LIMIT: usize = 64 * 1024;

/// A TLS connection that finished its handshake, as tonic consumes it.
///
/// Writes are gathered until a flush, and a flush first yields to the runtime once, behind
/// the tasks already waiting. HTTP/2 answers a client's PING (grpc-go sends one with most
/// calls, to size its windows) the moment it reads it, and the call's answer comes a moment
/// later from the call's own task, which is spawned as the same read finishes; written as they
/// come, that is two TLS records and two wake-ups of the client per call. Gathered, an answer
/// that is ready at once leaves in the same record as the acknowledgement.
pub(super) struct TlsConnection<S> {
    stream: tokio_rustls::server::TlsStream<S>,
    /// Written by HTTP/2, not yet handed to TLS.
    pending: Vec<u8>,
    /// The yield of the flush under way, until it is over.
    yielding: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    /// This flush has already yielded.
    flush_yielded: bool,
    _open: ConnectionGuard,
}

impl<S> tonic::transport::server::Connected for TlsConnection<S> {
    type ConnectInfo = ();

    fn connect_info(&self) {}
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsConnection<S> {
    fn new(stream: tokio_rustls::server::TlsStream<S>, open: ConnectionGuard) -> Self {
        Self {
            stream,
            pending: Vec::new(),
            yielding: None,
            flush_yielded: false,
            _open: open,
        }
    }

    /// Hands everything pending to TLS.
    fn poll_write_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pending.is_empty() {
            let written = ready!(Pin::new(&mut self.stream).poll_write(cx, &self.pending))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.pending.drain(..written);
        }
        Poll::Ready(Ok(()))
    }

    /// Makes room for `len` more bytes; false when they should bypass the buffer.
    fn poll_reserve(&mut self, cx: &mut Context<'_>, len: usize) -> Poll<io::Result<bool>> {
        if self.pending.len() + len > COALESCE_LIMIT {
            ready!(self.poll_write_pending(cx))?;
        }
        Poll::Ready(Ok(len <= COALESCE_LIMIT))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for TlsConnection<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for TlsConnection<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if !ready!(self.poll_reserve(cx, buf.len()))? {
            return Pin::new(&mut self.stream).poll_write(cx, buf);
        }
        self.pending.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let len = bufs.iter().map(|buf| buf.len()).sum();
        if !ready!(self.poll_reserve(cx, len))? {
            return Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        }
        for buf in bufs {
            self.pending.extend_from_slice(buf);
        }
        Poll::Ready(Ok(len))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.pending.is_empty() && !self.flush_yielded {
            // Behind the other waiting tasks (not a plain self-wake, which would come first):
            // what they are about to write joins this record.
            let yielding = self
                .yielding
                .get_or_insert_with(|| Box::pin(tokio::task::yield_now()));
            ready!(yielding.as_mut().poll(cx));
            self.yielding = None;
            self.flush_yielded = true;
        }
        ready!(self.poll_write_pending(cx))?;
        self.flush_yielded = false;
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_write_pending(cx))?;
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The number of TLS connections tonic holds. After Shutdown, go-plugin closes its connection
/// as soon as it has the answer; waiting for that (rather than for a fixed time) lets the
/// process exit the moment the client is done with it.
#[derive(Clone)]
pub(super) struct OpenConnections(Arc<watch::Sender<usize>>);

impl OpenConnections {
    pub(super) fn new() -> Self {
        Self(Arc::new(watch::Sender::new(0)))
    }

    fn open(&self) -> ConnectionGuard {
        self.0.send_modify(|open| *open += 1);
        ConnectionGuard(self.0.clone())
    }

    /// Returns once no connection is open (at once if none is).
    pub(super) async fn all_closed(&self) {
        let mut open = self.0.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = open.wait_for(|open| *open == 0).await;
    }
}

/// Held by a connection; uncounts it when tonic drops the connection.
struct ConnectionGuard(Arc<watch::Sender<usize>>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.send_modify(|open| *open = open.saturating_sub(1));
    }
}

/// Accepts connections and runs each TLS handshake in its own task, so a slow or failing
/// client neither blocks nor stops the others. Only finished connections come out, each
/// counted in `open` while it lives.
pub(super) fn incoming(
    listener: PluginListener,
    config: Arc<ServerConfig>,
    open: OpenConnections,
) -> ReceiverStream<io::Result<TlsConnection<PluginStream>>> {
    let (accepted, stream) = mpsc::channel(ACCEPTED_QUEUE);
    let acceptor = TlsAcceptor::from(config);
    tokio::spawn(async move {
        loop {
            let (socket, peer) = match listener.accept().await {
                Ok(connection) => connection,
                Err(error) => {
                    // Usually out of file descriptors: back off instead of spinning.
                    tracing::warn!(error = %error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            if accepted.is_closed() {
                return;
            }
            let acceptor = acceptor.clone();
            let accepted = accepted.clone();
            let open = open.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(socket)).await {
                    Ok(Ok(stream)) => {
                        let connection = TlsConnection::new(stream, open.open());
                        let _ = accepted.send(Ok(connection)).await;
                    }
                    Ok(Err(error)) => {
                        tracing::warn!(peer = %peer, error = %error, "TLS handshake refused");
                    }
                    Err(_) => {
                        tracing::warn!(peer = %peer, "TLS handshake timed out");
                    }
                }
            });
        }
    });
    ReceiverStream::new(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p521_ca() -> (rcgen::Certificate, rcgen::KeyPair) {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).expect("key");
        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        (params.self_signed(&key).expect("cert"), key)
    }

    #[test]
    fn only_the_pinned_certificate_is_accepted() {
        let (pinned, _) = p521_ca();
        let (other, _) = p521_ca();
        let provider = aws_lc_rs::default_provider();
        let verifier = PinnedClientCert::new(pinned.der().clone(), &provider);
        let cases = [
            ("pinned", pinned.der(), true),
            ("another CA", other.der(), false),
        ];
        for (name, cert, ok) in cases {
            let got = verifier.verify_client_cert(cert, &[], UnixTime::now());
            assert_eq!(got.is_ok(), ok, "case {name}");
        }
        assert!(verifier.client_auth_mandatory());
        assert!(verifier
            .supported_verify_schemes()
            .contains(&SignatureScheme::ECDSA_NISTP521_SHA512));
    }

    #[test]
    fn client_certificate_is_read_from_pem() {
        let (cert, _) = p521_ca();
        let got = parse_client_cert(&cert.pem()).expect("parsed");
        assert_eq!(got.as_ref(), cert.der().as_ref());
        assert!(parse_client_cert("not a certificate").is_err());
    }

    #[test]
    fn server_identity_builds_a_config_with_h2() {
        let (client, _) = p521_ca();
        let identity = generate_server_identity().expect("identity");
        assert!(!identity.cert.is_empty());
        let config = server_config(identity, client.der().clone()).expect("config");
        assert_eq!(config.alpn_protocols, vec![b"h2".to_vec()]);
    }

    /// The server's end of an in-memory connection, counting the writes that reach it.
    struct CountingIo {
        inner: tokio::io::DuplexStream,
        writes: Arc<std::sync::atomic::AtomicUsize>,
    }

    impl AsyncRead for CountingIo {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Pin::new(&mut self.inner).poll_read(cx, buf)
        }
    }

    impl AsyncWrite for CountingIo {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.writes
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Pin::new(&mut self.inner).poll_write(cx, buf)
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.inner).poll_flush(cx)
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.inner).poll_shutdown(cx)
        }
    }

    #[tokio::test]
    async fn writes_until_a_flush_go_out_together_after_one_yield() {
        use std::future::Future as _;
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

        let (client_cert, client_key) = p521_ca();
        let identity = generate_server_identity().expect("identity");
        let mut roots = rustls::RootCertStore::empty();
        roots.add(identity.cert.clone()).expect("root");
        let server = server_config(identity, client_cert.der().clone()).expect("server config");
        let client =
            rustls::ClientConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("versions")
                .with_root_certificates(roots)
                .with_client_auth_cert(
                    vec![client_cert.der().clone()],
                    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(client_key.serialize_der())),
                )
                .expect("client config");

        let (client_io, server_io) = tokio::io::duplex(1 << 16);
        let writes = Arc::new(AtomicUsize::new(0));
        let server_io = CountingIo {
            inner: server_io,
            writes: writes.clone(),
        };
        let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
        let (accepted, connected) = tokio::join!(
            TlsAcceptor::from(server).accept(server_io),
            tokio_rustls::TlsConnector::from(Arc::new(client)).connect(name, client_io),
        );
        let mut connection =
            TlsConnection::new(accepted.expect("accepted"), OpenConnections::new().open());
        let mut client = connected.expect("connected");
        writes.store(0, Ordering::SeqCst);

        connection.write_all(b"ping ack;").await.expect("write");
        connection.write_all(b"answer").await.expect("write");
        assert_eq!(
            writes.load(Ordering::SeqCst),
            0,
            "nothing is sent before a flush"
        );

        let mut flushing = std::pin::pin!(connection.flush());
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(
            flushing.as_mut().poll(&mut cx).is_pending(),
            "a flush yields once"
        );
        assert_eq!(writes.load(Ordering::SeqCst), 0);
        assert!(flushing.as_mut().poll(&mut cx).is_ready(), "then it writes");
        assert_eq!(writes.load(Ordering::SeqCst), 1, "one write, one record");

        let mut got = [0; 15];
        client.read_exact(&mut got).await.expect("read");
        assert_eq!(&got, b"ping ack;answer");

        // Nothing pending: a flush does not yield.
        let mut idle = std::pin::pin!(connection.flush());
        assert!(idle.as_mut().poll(&mut cx).is_ready());
    }

    #[test]
    fn open_connections_are_closed_only_when_every_guard_is_gone() {
        use std::future::Future as _;
        use std::task::Waker;

        let open = OpenConnections::new();
        let mut cx = Context::from_waker(Waker::noop());
        let poll = |open: &OpenConnections, cx: &mut Context<'_>| {
            let waiting = open.all_closed();
            std::pin::pin!(waiting).poll(cx).is_ready()
        };
        assert!(poll(&open, &mut cx), "nothing open yet");
        let first = open.open();
        let second = open.open();
        assert!(!poll(&open, &mut cx), "two open");
        drop(first);
        assert!(!poll(&open, &mut cx), "one still open");
        drop(second);
        assert!(poll(&open, &mut cx), "all closed");
    }
}
