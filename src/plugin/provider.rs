//! The `tfplugin6.Provider` gRPC service: one thin handler per RPC that converts the request
//! ([`super::convert`]), asks [`ProviderServer`], and converts the answer back. RPCs this
//! provider does not offer (ephemeral resources, moves, identity upgrades) answer
//! `Unimplemented`, which Terraform and OpenTofu expect for features a provider never
//! advertised.

use tonic::{Request, Response, Status};

use crate::framework::ProviderServer;

use super::convert::{rpcs, schema};
use super::logging::RpcTimer;
use super::proto::tfplugin6 as pb;
use super::proto::tfplugin6::provider_server::Provider;

/// Largest message we accept or send. Terraform sends a whole state, config or plan as one
/// message, and a cluster's state with its rendered Kubernetes object digests can outgrow
/// tonic's 4 MiB default; 256 MiB matches the limit HashiCorp's own Go provider servers use,
/// so anything Terraform hands those providers reaches ours too.
pub(super) const MAX_MESSAGE_BYTES: usize = 256 << 20;

/// The generated service, with the message limits set.
pub(super) fn service(
    provider: ProviderServer,
) -> pb::provider_server::ProviderServer<ProviderService> {
    pb::provider_server::ProviderServer::new(ProviderService { provider })
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
}

pub(super) struct ProviderService {
    provider: ProviderServer,
}

type RpcResult<T> = Result<Response<T>, Status>;

fn not_offered(rpc: &str) -> Status {
    Status::unimplemented(format!(
        "{rpc} is not offered by terraform-provider-zkkafka"
    ))
}

#[tonic::async_trait]
impl Provider for ProviderService {
    async fn get_metadata(
        &self,
        _request: Request<pb::get_metadata::Request>,
    ) -> RpcResult<pb::get_metadata::Response> {
        let _timer = RpcTimer::start("GetMetadata", "");
        let response = self.provider.get_metadata();
        Ok(Response::new(schema::get_metadata_response(response)))
    }

    async fn get_provider_schema(
        &self,
        _request: Request<pb::get_provider_schema::Request>,
    ) -> RpcResult<pb::get_provider_schema::Response> {
        let _timer = RpcTimer::start("GetProviderSchema", "");
        let response = self.provider.get_provider_schema();
        Ok(Response::new(schema::get_provider_schema_response(
            response,
        )))
    }

    async fn validate_provider_config(
        &self,
        request: Request<pb::validate_provider_config::Request>,
    ) -> RpcResult<pb::validate_provider_config::Response> {
        let _timer = RpcTimer::start("ValidateProviderConfig", "");
        let request = rpcs::validate_provider_config_request(request.into_inner());
        let diagnostics = self.provider.validate_provider_config(request).await;
        Ok(Response::new(rpcs::validate_provider_config_response(
            diagnostics,
        )))
    }

    async fn validate_resource_config(
        &self,
        request: Request<pb::validate_resource_config::Request>,
    ) -> RpcResult<pb::validate_resource_config::Response> {
        let request = rpcs::validate_resource_config_request(request.into_inner());
        let _timer = RpcTimer::start("ValidateResourceConfig", &request.type_name);
        let diagnostics = self.provider.validate_resource_config(request).await;
        Ok(Response::new(rpcs::validate_resource_config_response(
            diagnostics,
        )))
    }

    async fn validate_data_resource_config(
        &self,
        request: Request<pb::validate_data_resource_config::Request>,
    ) -> RpcResult<pb::validate_data_resource_config::Response> {
        let request = rpcs::validate_data_resource_config_request(request.into_inner());
        let _timer = RpcTimer::start("ValidateDataResourceConfig", &request.type_name);
        let diagnostics = self.provider.validate_data_resource_config(request).await;
        Ok(Response::new(rpcs::validate_data_resource_config_response(
            diagnostics,
        )))
    }

    async fn upgrade_resource_state(
        &self,
        request: Request<pb::upgrade_resource_state::Request>,
    ) -> RpcResult<pb::upgrade_resource_state::Response> {
        let request = rpcs::upgrade_resource_state_request(request.into_inner());
        let _timer = RpcTimer::start("UpgradeResourceState", &request.type_name);
        let response = self.provider.upgrade_resource_state(request).await;
        Ok(Response::new(rpcs::upgrade_resource_state_response(
            response,
        )))
    }

    /// No resource has an identity yet: an empty answer, so newer Terraform versions do not
    /// log an error for every run.
    async fn get_resource_identity_schemas(
        &self,
        _request: Request<pb::get_resource_identity_schemas::Request>,
    ) -> RpcResult<pb::get_resource_identity_schemas::Response> {
        let _timer = RpcTimer::start("GetResourceIdentitySchemas", "");
        Ok(Response::new(Default::default()))
    }

    async fn upgrade_resource_identity(
        &self,
        _request: Request<pb::upgrade_resource_identity::Request>,
    ) -> RpcResult<pb::upgrade_resource_identity::Response> {
        Err(not_offered("UpgradeResourceIdentity"))
    }

    async fn configure_provider(
        &self,
        request: Request<pb::configure_provider::Request>,
    ) -> RpcResult<pb::configure_provider::Response> {
        let _timer = RpcTimer::start("ConfigureProvider", "");
        let request = rpcs::configure_provider_request(request.into_inner());
        let diagnostics = self.provider.configure_provider(request).await;
        Ok(Response::new(rpcs::configure_provider_response(
            diagnostics,
        )))
    }

    async fn read_resource(
        &self,
        request: Request<pb::read_resource::Request>,
    ) -> RpcResult<pb::read_resource::Response> {
        let request = rpcs::read_resource_request(request.into_inner());
        let _timer = RpcTimer::start("ReadResource", &request.type_name);
        let response = self.provider.read_resource(request).await;
        Ok(Response::new(rpcs::read_resource_response(response)))
    }

    async fn plan_resource_change(
        &self,
        request: Request<pb::plan_resource_change::Request>,
    ) -> RpcResult<pb::plan_resource_change::Response> {
        let request = rpcs::plan_resource_change_request(request.into_inner());
        let _timer = RpcTimer::start("PlanResourceChange", &request.type_name);
        let response = self.provider.plan_resource_change(request).await;
        Ok(Response::new(rpcs::plan_resource_change_response(response)))
    }

    async fn apply_resource_change(
        &self,
        request: Request<pb::apply_resource_change::Request>,
    ) -> RpcResult<pb::apply_resource_change::Response> {
        let request = rpcs::apply_resource_change_request(request.into_inner());
        let _timer = RpcTimer::start("ApplyResourceChange", &request.type_name);
        let response = self.provider.apply_resource_change(request).await;
        Ok(Response::new(rpcs::apply_resource_change_response(
            response,
        )))
    }

    async fn import_resource_state(
        &self,
        request: Request<pb::import_resource_state::Request>,
    ) -> RpcResult<pb::import_resource_state::Response> {
        let request = rpcs::import_resource_state_request(request.into_inner());
        let _timer = RpcTimer::start("ImportResourceState", &request.type_name);
        let response = self.provider.import_resource_state(request).await;
        Ok(Response::new(rpcs::import_resource_state_response(
            response,
        )))
    }

    /// The CLIs call this for a `moved` block across resource types even though the
    /// capability is not advertised; no zkkafka type can take over another type's state, so
    /// the answer is a diagnostic saying what to do instead of a bare "unimplemented".
    async fn move_resource_state(
        &self,
        request: Request<pb::move_resource_state::Request>,
    ) -> RpcResult<pb::move_resource_state::Response> {
        let request = request.into_inner();
        let diagnostic = crate::tfvalue::Diagnostic::error(
            "Cannot move state across resource types",
            format!(
                "{} cannot take over the state of {} (from {}): the two types share no state. \
                 Remove the moved block, remove the old address from the state (terraform state \
                 rm), then import the object at its new address (terraform import).",
                request.target_type_name, request.source_type_name, request.source_provider_address
            ),
        );
        Ok(Response::new(pb::move_resource_state::Response {
            diagnostics: super::convert::diagnostics_to_pb(diagnostic.into()),
            ..Default::default()
        }))
    }

    async fn read_data_source(
        &self,
        request: Request<pb::read_data_source::Request>,
    ) -> RpcResult<pb::read_data_source::Response> {
        let request = rpcs::read_data_source_request(request.into_inner());
        let _timer = RpcTimer::start("ReadDataSource", &request.type_name);
        let response = self.provider.read_data_source(request).await;
        Ok(Response::new(rpcs::read_data_source_response(response)))
    }

    async fn validate_ephemeral_resource_config(
        &self,
        _request: Request<pb::validate_ephemeral_resource_config::Request>,
    ) -> RpcResult<pb::validate_ephemeral_resource_config::Response> {
        Err(not_offered("ValidateEphemeralResourceConfig"))
    }

    async fn open_ephemeral_resource(
        &self,
        _request: Request<pb::open_ephemeral_resource::Request>,
    ) -> RpcResult<pb::open_ephemeral_resource::Response> {
        Err(not_offered("OpenEphemeralResource"))
    }

    async fn renew_ephemeral_resource(
        &self,
        _request: Request<pb::renew_ephemeral_resource::Request>,
    ) -> RpcResult<pb::renew_ephemeral_resource::Response> {
        Err(not_offered("RenewEphemeralResource"))
    }

    async fn close_ephemeral_resource(
        &self,
        _request: Request<pb::close_ephemeral_resource::Request>,
    ) -> RpcResult<pb::close_ephemeral_resource::Response> {
        Err(not_offered("CloseEphemeralResource"))
    }

    /// Functions are part of the provider schema; this is the same table on its own.
    async fn get_functions(
        &self,
        _request: Request<pb::get_functions::Request>,
    ) -> RpcResult<pb::get_functions::Response> {
        let _timer = RpcTimer::start("GetFunctions", "");
        let response = self.provider.get_provider_schema();
        Ok(Response::new(schema::get_functions_response(
            &response.functions,
            response.diagnostics,
        )))
    }

    async fn call_function(
        &self,
        request: Request<pb::call_function::Request>,
    ) -> RpcResult<pb::call_function::Response> {
        let request = rpcs::call_function_request(request.into_inner());
        let _timer = RpcTimer::start("CallFunction", &request.name);
        let response = self.provider.call_function(request).await;
        Ok(Response::new(rpcs::call_function_response(response)))
    }

    async fn stop_provider(
        &self,
        _request: Request<pb::stop_provider::Request>,
    ) -> RpcResult<pb::stop_provider::Response> {
        let _timer = RpcTimer::start("StopProvider", "");
        let error = self.provider.stop().await;
        Ok(Response::new(rpcs::stop_provider_response(error)))
    }
}
