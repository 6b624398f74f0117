//! Native mirrors of the protocol's requests and responses, one per RPC, free of protobuf.
//!
//! `plugin/` converts the generated types to and from these; [`super::ProviderServer`]
//! answers them. Values travel undecoded ([`DynamicValue`]) because only the framework knows
//! the schema type to decode them with.

use std::collections::BTreeMap;

use crate::tfvalue::{AttributePath, Diagnostics, DynamicValue};

use super::schema::{FunctionSignature, Schema};

#[derive(Clone, Debug, Default)]
pub struct ServerCapabilities {
    pub plan_destroy: bool,
    pub get_provider_schema_optional: bool,
    pub move_resource_state: bool,
}

#[derive(Clone, Debug, Default)]
pub struct GetProviderSchemaResponse {
    pub provider: Schema,
    pub provider_meta: Option<Schema>,
    pub resources: BTreeMap<String, Schema>,
    pub data_sources: BTreeMap<String, Schema>,
    pub functions: BTreeMap<String, FunctionSignature>,
    pub capabilities: ServerCapabilities,
    pub diagnostics: Diagnostics,
}

#[derive(Clone, Debug, Default)]
pub struct GetMetadataResponse {
    pub resources: Vec<String>,
    pub data_sources: Vec<String>,
    pub functions: Vec<String>,
    pub capabilities: ServerCapabilities,
    pub diagnostics: Diagnostics,
}

#[derive(Clone, Debug, Default)]
pub struct ValidateConfigRequest {
    pub type_name: String,
    pub config: DynamicValue,
}

#[derive(Clone, Debug, Default)]
pub struct ConfigureProviderRequest {
    pub terraform_version: String,
    pub config: DynamicValue,
}

#[derive(Clone, Debug, Default)]
pub struct UpgradeResourceStateRequest {
    pub type_name: String,
    pub version: i64,
    /// `RawState.json`; `None` when Terraform sent only flatmap (never for protocol 6).
    pub raw_state_json: Option<Vec<u8>>,
}

#[derive(Clone, Debug, Default)]
pub struct UpgradeResourceStateResponse {
    pub upgraded_state: DynamicValue,
    pub diagnostics: Diagnostics,
}

#[derive(Clone, Debug, Default)]
pub struct ReadResourceRequest {
    pub type_name: String,
    pub current_state: DynamicValue,
    pub private: Vec<u8>,
    pub provider_meta: Option<DynamicValue>,
}

#[derive(Clone, Debug, Default)]
pub struct ReadResourceResponse {
    pub new_state: DynamicValue,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

#[derive(Clone, Debug, Default)]
pub struct PlanResourceChangeRequest {
    pub type_name: String,
    pub prior_state: DynamicValue,
    pub proposed_new_state: DynamicValue,
    pub config: DynamicValue,
    pub prior_private: Vec<u8>,
    pub provider_meta: Option<DynamicValue>,
}

#[derive(Clone, Debug, Default)]
pub struct PlanResourceChangeResponse {
    pub planned_state: DynamicValue,
    pub requires_replace: Vec<AttributePath>,
    pub planned_private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

#[derive(Clone, Debug, Default)]
pub struct ApplyResourceChangeRequest {
    pub type_name: String,
    pub prior_state: DynamicValue,
    pub planned_state: DynamicValue,
    pub config: DynamicValue,
    pub planned_private: Vec<u8>,
    pub provider_meta: Option<DynamicValue>,
}

#[derive(Clone, Debug, Default)]
pub struct ApplyResourceChangeResponse {
    pub new_state: DynamicValue,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

#[derive(Clone, Debug, Default)]
pub struct ImportResourceStateRequest {
    pub type_name: String,
    pub id: String,
}

#[derive(Clone, Debug, Default)]
pub struct ImportedResource {
    pub type_name: String,
    pub state: DynamicValue,
    pub private: Vec<u8>,
}

#[derive(Clone, Debug, Default)]
pub struct ImportResourceStateResponse {
    pub imported: Vec<ImportedResource>,
    pub diagnostics: Diagnostics,
}

#[derive(Clone, Debug, Default)]
pub struct ReadDataSourceRequest {
    pub type_name: String,
    pub config: DynamicValue,
    pub provider_meta: Option<DynamicValue>,
}

#[derive(Clone, Debug, Default)]
pub struct ReadDataSourceResponse {
    pub state: DynamicValue,
    pub diagnostics: Diagnostics,
}

#[derive(Clone, Debug, Default)]
pub struct CallFunctionRequest {
    pub name: String,
    pub arguments: Vec<DynamicValue>,
}

/// A function error: text, and the argument it is about when there is one.
#[derive(Clone, Debug, Default)]
pub struct FunctionError {
    pub text: String,
    pub function_argument: Option<i64>,
}

#[derive(Clone, Debug, Default)]
pub struct CallFunctionResponse {
    pub result: Option<DynamicValue>,
    pub error: Option<FunctionError>,
}
