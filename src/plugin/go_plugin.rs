//! The services go-plugin expects beside the provider: `plugin.GRPCController` (Shutdown)
//! and `plugin.GRPCStdio` (StreamStdio).

use std::sync::Arc;

use tokio::sync::Notify;
use tonic::{Request, Response, Status};

use super::proto::go_plugin as pb;
use crate::framework::ProviderServer;

/// Shutdown: the client is done with us. Answers, then wakes the serve loop, which exits the
/// process (see `serve::serve`); the client kills the process if it is still there two
/// seconds later, and waits for that on every provider start, so exiting fast matters.
pub(super) struct Controller {
    pub(super) shutdown: Arc<Notify>,
    /// Released before the process ends, so its ZooKeeper sessions are closed, not orphaned.
    pub(super) provider: ProviderServer,
}

#[tonic::async_trait]
impl pb::grpc_controller_server::GrpcController for Controller {
    async fn shutdown(&self, _request: Request<pb::Empty>) -> Result<Response<pb::Empty>, Status> {
        tracing::debug!(rpc = "Shutdown", "shutdown requested");
        self.provider.release();
        // Let the session tasks, woken by their clients going, write closeSession before the
        // answer goes out and the client hangs up, after which the process ends.
        for _ in 0..4 {
            tokio::task::yield_now().await;
        }
        // notify_one stores a permit, so the wake-up is not lost if the serve loop is not
        // waiting yet.
        self.shutdown.notify_one();
        Ok(Response::new(pb::Empty {}))
    }
}

/// StreamStdio: the client would copy our stdout and stderr through this stream. We write
/// nothing to stdout after the handshake and our stderr is read by go-plugin directly, so the
/// stream ends at once; the client takes the end of the stream as "nothing to relay".
pub(super) struct Stdio;

#[tonic::async_trait]
impl pb::grpc_stdio_server::GrpcStdio for Stdio {
    type StreamStdioStream = futures::stream::Empty<Result<pb::StdioData, Status>>;

    async fn stream_stdio(
        &self,
        _request: Request<()>,
    ) -> Result<Response<Self::StreamStdioStream>, Status> {
        Ok(Response::new(futures::stream::empty()))
    }
}
