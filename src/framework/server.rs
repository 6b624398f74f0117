//! [`ProviderServer`]: answers every RPC in native types. The transport in `plugin/` holds one
//! and calls these methods; nothing here knows about protobuf or gRPC.

use super::rpc::*;

/// The provider as the transport sees it. Cheap to share (`Arc` inside).
#[derive(Clone, Default)]
pub struct ProviderServer {}

impl ProviderServer {
    pub fn get_provider_schema(&self) -> GetProviderSchemaResponse {
        GetProviderSchemaResponse::default()
    }

    pub fn get_metadata(&self) -> GetMetadataResponse {
        GetMetadataResponse::default()
    }

    pub async fn validate_provider_config(
        &self,
        req: ValidateConfigRequest,
    ) -> crate::tfvalue::Diagnostics {
        let _ = req;
        Default::default()
    }

    pub async fn validate_resource_config(
        &self,
        req: ValidateConfigRequest,
    ) -> crate::tfvalue::Diagnostics {
        let _ = req;
        Default::default()
    }

    pub async fn validate_data_resource_config(
        &self,
        req: ValidateConfigRequest,
    ) -> crate::tfvalue::Diagnostics {
        let _ = req;
        Default::default()
    }

    pub async fn configure_provider(
        &self,
        req: ConfigureProviderRequest,
    ) -> crate::tfvalue::Diagnostics {
        let _ = req;
        Default::default()
    }

    pub async fn upgrade_resource_state(
        &self,
        req: UpgradeResourceStateRequest,
    ) -> UpgradeResourceStateResponse {
        let _ = req;
        Default::default()
    }

    pub async fn read_resource(&self, req: ReadResourceRequest) -> ReadResourceResponse {
        let _ = req;
        Default::default()
    }

    pub async fn plan_resource_change(
        &self,
        req: PlanResourceChangeRequest,
    ) -> PlanResourceChangeResponse {
        let _ = req;
        Default::default()
    }

    pub async fn apply_resource_change(
        &self,
        req: ApplyResourceChangeRequest,
    ) -> ApplyResourceChangeResponse {
        let _ = req;
        Default::default()
    }

    pub async fn import_resource_state(
        &self,
        req: ImportResourceStateRequest,
    ) -> ImportResourceStateResponse {
        let _ = req;
        Default::default()
    }

    pub async fn read_data_source(&self, req: ReadDataSourceRequest) -> ReadDataSourceResponse {
        let _ = req;
        Default::default()
    }

    pub async fn call_function(&self, req: CallFunctionRequest) -> CallFunctionResponse {
        let _ = req;
        Default::default()
    }

    /// StopProvider: cancel waits in progress. Returns an error text when stopping failed.
    pub async fn stop(&self) -> Option<String> {
        None
    }
}
