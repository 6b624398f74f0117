//! One request conversion (wire -> native) and one response conversion (native -> wire) per
//! RPC, named after it. Requests never fail to convert: absent values become empty ones, which
//! the framework reports as diagnostics.

use crate::framework::rpc::*;
use crate::tfvalue::Diagnostics;

use super::{
    attribute_path_to_pb, diagnostics_to_pb, dynamic_value, dynamic_value_present,
    dynamic_value_to_pb, pb,
};

pub(in crate::plugin) fn validate_provider_config_request(
    request: pb::validate_provider_config::Request,
) -> ValidateConfigRequest {
    ValidateConfigRequest {
        type_name: String::new(),
        config: dynamic_value(request.config),
    }
}

pub(in crate::plugin) fn validate_provider_config_response(
    diagnostics: Diagnostics,
) -> pb::validate_provider_config::Response {
    pb::validate_provider_config::Response {
        diagnostics: diagnostics_to_pb(diagnostics),
    }
}

pub(in crate::plugin) fn validate_resource_config_request(
    request: pb::validate_resource_config::Request,
) -> ValidateConfigRequest {
    ValidateConfigRequest {
        type_name: request.type_name,
        config: dynamic_value(request.config),
    }
}

pub(in crate::plugin) fn validate_resource_config_response(
    diagnostics: Diagnostics,
) -> pb::validate_resource_config::Response {
    pb::validate_resource_config::Response {
        diagnostics: diagnostics_to_pb(diagnostics),
    }
}

pub(in crate::plugin) fn validate_data_resource_config_request(
    request: pb::validate_data_resource_config::Request,
) -> ValidateConfigRequest {
    ValidateConfigRequest {
        type_name: request.type_name,
        config: dynamic_value(request.config),
    }
}

pub(in crate::plugin) fn validate_data_resource_config_response(
    diagnostics: Diagnostics,
) -> pb::validate_data_resource_config::Response {
    pb::validate_data_resource_config::Response {
        diagnostics: diagnostics_to_pb(diagnostics),
    }
}

pub(in crate::plugin) fn configure_provider_request(
    request: pb::configure_provider::Request,
) -> ConfigureProviderRequest {
    ConfigureProviderRequest {
        terraform_version: request.terraform_version,
        config: dynamic_value(request.config),
    }
}

pub(in crate::plugin) fn configure_provider_response(
    diagnostics: Diagnostics,
) -> pb::configure_provider::Response {
    pb::configure_provider::Response {
        diagnostics: diagnostics_to_pb(diagnostics),
    }
}

/// Only the JSON form of a stored state is passed on: protocol 6 clients never send flatmap
/// for states written by a protocol 6 provider.
pub(in crate::plugin) fn upgrade_resource_state_request(
    request: pb::upgrade_resource_state::Request,
) -> UpgradeResourceStateRequest {
    UpgradeResourceStateRequest {
        type_name: request.type_name,
        version: request.version,
        raw_state_json: request
            .raw_state
            .map(|raw| raw.json)
            .filter(|json| !json.is_empty()),
    }
}

pub(in crate::plugin) fn upgrade_resource_state_response(
    response: UpgradeResourceStateResponse,
) -> pb::upgrade_resource_state::Response {
    pb::upgrade_resource_state::Response {
        upgraded_state: Some(dynamic_value_to_pb(response.upgraded_state)),
        diagnostics: diagnostics_to_pb(response.diagnostics),
    }
}

pub(in crate::plugin) fn read_resource_request(
    request: pb::read_resource::Request,
) -> ReadResourceRequest {
    ReadResourceRequest {
        type_name: request.type_name,
        current_state: dynamic_value(request.current_state),
        private: request.private,
        provider_meta: request.provider_meta.map(dynamic_value_present),
    }
}

pub(in crate::plugin) fn read_resource_response(
    response: ReadResourceResponse,
) -> pb::read_resource::Response {
    pb::read_resource::Response {
        new_state: Some(dynamic_value_to_pb(response.new_state)),
        diagnostics: diagnostics_to_pb(response.diagnostics),
        private: response.private,
        deferred: None,
        new_identity: None,
    }
}

pub(in crate::plugin) fn plan_resource_change_request(
    request: pb::plan_resource_change::Request,
) -> PlanResourceChangeRequest {
    PlanResourceChangeRequest {
        type_name: request.type_name,
        prior_state: dynamic_value(request.prior_state),
        proposed_new_state: dynamic_value(request.proposed_new_state),
        config: dynamic_value(request.config),
        prior_private: request.prior_private,
        provider_meta: request.provider_meta.map(dynamic_value_present),
    }
}

pub(in crate::plugin) fn plan_resource_change_response(
    response: PlanResourceChangeResponse,
) -> pb::plan_resource_change::Response {
    pb::plan_resource_change::Response {
        planned_state: Some(dynamic_value_to_pb(response.planned_state)),
        requires_replace: response
            .requires_replace
            .iter()
            .map(attribute_path_to_pb)
            .collect(),
        planned_private: response.planned_private,
        diagnostics: diagnostics_to_pb(response.diagnostics),
        legacy_type_system: false,
        deferred: None,
        planned_identity: None,
    }
}

pub(in crate::plugin) fn apply_resource_change_request(
    request: pb::apply_resource_change::Request,
) -> ApplyResourceChangeRequest {
    ApplyResourceChangeRequest {
        type_name: request.type_name,
        prior_state: dynamic_value(request.prior_state),
        planned_state: dynamic_value(request.planned_state),
        config: dynamic_value(request.config),
        planned_private: request.planned_private,
        provider_meta: request.provider_meta.map(dynamic_value_present),
    }
}

pub(in crate::plugin) fn apply_resource_change_response(
    response: ApplyResourceChangeResponse,
) -> pb::apply_resource_change::Response {
    pb::apply_resource_change::Response {
        new_state: Some(dynamic_value_to_pb(response.new_state)),
        private: response.private,
        diagnostics: diagnostics_to_pb(response.diagnostics),
        legacy_type_system: false,
        new_identity: None,
    }
}

pub(in crate::plugin) fn import_resource_state_request(
    request: pb::import_resource_state::Request,
) -> ImportResourceStateRequest {
    ImportResourceStateRequest {
        type_name: request.type_name,
        id: request.id,
    }
}

pub(in crate::plugin) fn import_resource_state_response(
    response: ImportResourceStateResponse,
) -> pb::import_resource_state::Response {
    pb::import_resource_state::Response {
        imported_resources: response
            .imported
            .into_iter()
            .map(|imported| pb::import_resource_state::ImportedResource {
                type_name: imported.type_name,
                state: Some(dynamic_value_to_pb(imported.state)),
                private: imported.private,
                identity: None,
            })
            .collect(),
        diagnostics: diagnostics_to_pb(response.diagnostics),
        deferred: None,
    }
}

pub(in crate::plugin) fn read_data_source_request(
    request: pb::read_data_source::Request,
) -> ReadDataSourceRequest {
    ReadDataSourceRequest {
        type_name: request.type_name,
        config: dynamic_value(request.config),
        provider_meta: request.provider_meta.map(dynamic_value_present),
    }
}

pub(in crate::plugin) fn read_data_source_response(
    response: ReadDataSourceResponse,
) -> pb::read_data_source::Response {
    pb::read_data_source::Response {
        state: Some(dynamic_value_to_pb(response.state)),
        diagnostics: diagnostics_to_pb(response.diagnostics),
        deferred: None,
    }
}

pub(in crate::plugin) fn call_function_request(
    request: pb::call_function::Request,
) -> CallFunctionRequest {
    CallFunctionRequest {
        name: request.name,
        arguments: request
            .arguments
            .into_iter()
            .map(dynamic_value_present)
            .collect(),
    }
}

pub(in crate::plugin) fn call_function_response(
    response: CallFunctionResponse,
) -> pb::call_function::Response {
    pb::call_function::Response {
        result: response.result.map(dynamic_value_to_pb),
        error: response.error.map(|error| pb::FunctionError {
            text: error.text,
            function_argument: error.function_argument,
        }),
    }
}

pub(in crate::plugin) fn stop_provider_response(
    error: Option<String>,
) -> pb::stop_provider::Response {
    pb::stop_provider::Response {
        error: error.unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tfvalue::{AttributePath, Diagnostic, DynamicValue};

    fn msgpack(bytes: &[u8]) -> Option<pb::DynamicValue> {
        Some(pb::DynamicValue {
            msgpack: bytes.to_vec(),
            json: vec![],
        })
    }

    #[test]
    fn upgrade_resource_state_passes_only_json_states() {
        let cases = [
            (
                "json state",
                Some(b"{\"a\":1}".to_vec()),
                Some(b"{\"a\":1}".to_vec()),
            ),
            ("flatmap only", Some(vec![]), None),
            ("no raw state", None, None),
        ];
        for (name, json, want) in cases {
            let request = pb::upgrade_resource_state::Request {
                type_name: "zkkafka_znode".into(),
                version: 1,
                raw_state: json.map(|json| pb::RawState {
                    json,
                    flatmap: Default::default(),
                }),
            };
            let got = upgrade_resource_state_request(request);
            assert_eq!(got.raw_state_json, want, "case {name}");
            assert_eq!((got.type_name.as_str(), got.version), ("zkkafka_znode", 1));
        }
    }

    #[test]
    fn plan_resource_change_carries_every_value_and_replace_paths() {
        let request = pb::plan_resource_change::Request {
            type_name: "zkkafka_kafka_cluster".into(),
            prior_state: msgpack(&[0xc0]),
            proposed_new_state: msgpack(&[0x80]),
            config: msgpack(&[0x81]),
            prior_private: b"p".to_vec(),
            provider_meta: None,
            client_capabilities: None,
            prior_identity: None,
        };
        let got = plan_resource_change_request(request);
        assert_eq!(got.prior_state.msgpack, vec![0xc0]);
        assert_eq!(got.proposed_new_state.msgpack, vec![0x80]);
        assert_eq!(got.config.msgpack, vec![0x81]);
        assert_eq!(got.prior_private, b"p".to_vec());
        assert!(got.provider_meta.is_none());

        let response = plan_resource_change_response(PlanResourceChangeResponse {
            planned_state: DynamicValue {
                msgpack: vec![0x80],
                json: vec![],
            },
            requires_replace: vec![
                AttributePath::attr("namespace"),
                AttributePath::attr("storage").then_attr("class"),
            ],
            planned_private: b"q".to_vec(),
            diagnostics: Diagnostic::warning("Rolling restart", "Pods roll one at a time.").into(),
        });
        assert_eq!(response.requires_replace.len(), 2);
        assert_eq!(response.requires_replace[1].steps.len(), 2);
        assert_eq!(response.planned_private, b"q".to_vec());
        assert_eq!(response.diagnostics.len(), 1);
        assert!(!response.legacy_type_system);
    }

    #[test]
    fn call_function_keeps_argument_order_and_error_index() {
        let request = pb::call_function::Request {
            name: "digest_id".into(),
            arguments: [b"\xa1a", b"\xa1b"]
                .iter()
                .filter_map(|bytes| msgpack(*bytes))
                .collect(),
        };
        let got = call_function_request(request);
        assert_eq!(got.arguments[0].msgpack, b"\xa1a".to_vec());
        assert_eq!(got.arguments[1].msgpack, b"\xa1b".to_vec());

        let cases = [
            ("result", None, Some(1)),
            ("error at argument", Some(Some(1)), None),
            ("error without argument", Some(None), None),
        ];
        for (name, error, result) in cases {
            let response = call_function_response(CallFunctionResponse {
                result: result.map(|_| DynamicValue::default()),
                error: error.map(|argument| FunctionError {
                    text: "bad".into(),
                    function_argument: argument,
                }),
            });
            assert_eq!(response.result.is_some(), result.is_some(), "case {name}");
            assert_eq!(
                response.error.map(|e| e.function_argument),
                error,
                "case {name}"
            );
        }
    }

    #[test]
    fn stop_provider_error_is_empty_on_success() {
        assert_eq!(stop_provider_response(None).error, "");
        assert_eq!(stop_provider_response(Some("busy".into())).error, "busy");
    }
}
