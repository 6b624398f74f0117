//! Discovery RPCs: GetProviderSchema, GetMetadata and GetFunctions. Schemas go to the wire
//! with their nested blocks, nesting modes and item limits; descriptions are plain text; cty
//! types travel as their JSON spelling. Framework-only parts (validators, plan modifiers,
//! defaults) stay behind.

use std::collections::{BTreeMap, HashMap};

use crate::framework::rpc::{GetMetadataResponse, GetProviderSchemaResponse, ServerCapabilities};
use crate::framework::schema::FunctionParameter;
use crate::framework::schema::FunctionSignature;
use crate::framework::{Attribute, Block, NestedBlock, Nesting, Schema};
use crate::tfvalue::Diagnostics;

use super::{diagnostics_to_pb, pb};

/// Descriptions are plain text: Terraform shows them as they are.
const DESCRIPTION_KIND: pb::StringKind = pb::StringKind::Plain;

pub(in crate::plugin) fn get_provider_schema_response(
    response: GetProviderSchemaResponse,
) -> pb::get_provider_schema::Response {
    pb::get_provider_schema::Response {
        provider: Some(schema_to_pb(&response.provider)),
        resource_schemas: schemas_to_pb(&response.resources),
        data_source_schemas: schemas_to_pb(&response.data_sources),
        diagnostics: diagnostics_to_pb(response.diagnostics),
        provider_meta: response.provider_meta.as_ref().map(schema_to_pb),
        server_capabilities: Some(capabilities_to_pb(&response.capabilities)),
        functions: functions_to_pb(&response.functions),
        ephemeral_resource_schemas: HashMap::new(),
    }
}

pub(in crate::plugin) fn get_metadata_response(
    response: GetMetadataResponse,
) -> pb::get_metadata::Response {
    use pb::get_metadata::{DataSourceMetadata, FunctionMetadata, ResourceMetadata};
    pb::get_metadata::Response {
        server_capabilities: Some(capabilities_to_pb(&response.capabilities)),
        diagnostics: diagnostics_to_pb(response.diagnostics),
        data_sources: response
            .data_sources
            .into_iter()
            .map(|type_name| DataSourceMetadata { type_name })
            .collect(),
        resources: response
            .resources
            .into_iter()
            .map(|type_name| ResourceMetadata { type_name })
            .collect(),
        functions: response
            .functions
            .into_iter()
            .map(|name| FunctionMetadata { name })
            .collect(),
        ephemeral_resources: Vec::new(),
    }
}

/// GetFunctions answers from the same function table as GetProviderSchema.
pub(in crate::plugin) fn get_functions_response(
    functions: &BTreeMap<String, FunctionSignature>,
    diagnostics: Diagnostics,
) -> pb::get_functions::Response {
    pb::get_functions::Response {
        functions: functions_to_pb(functions),
        diagnostics: diagnostics_to_pb(diagnostics),
    }
}

/// Capabilities are the provider's fixed protocol choices, not the framework's to pick:
/// every resource expects PlanResourceChange for destroys (so it can refuse unsafe ones), and
/// the schema is the same in every process of one binary, so a client that already holds it
/// (Terraform and OpenTofu keep it for the whole command) need not ask each new process again.
pub(super) fn capabilities_to_pb(capabilities: &ServerCapabilities) -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        plan_destroy: true,
        get_provider_schema_optional: true,
        move_resource_state: capabilities.move_resource_state,
    }
}

fn schemas_to_pb(schemas: &BTreeMap<String, Schema>) -> HashMap<String, pb::Schema> {
    schemas
        .iter()
        .map(|(name, schema)| (name.clone(), schema_to_pb(schema)))
        .collect()
}

pub(super) fn schema_to_pb(schema: &Schema) -> pb::Schema {
    pb::Schema {
        version: schema.version,
        block: Some(block_to_pb(&schema.block)),
    }
}

fn block_to_pb(block: &Block) -> pb::schema::Block {
    pb::schema::Block {
        version: 0,
        attributes: block.attributes.iter().map(attribute_to_pb).collect(),
        block_types: block.blocks.iter().map(nested_block_to_pb).collect(),
        description: block.description.clone(),
        description_kind: DESCRIPTION_KIND as i32,
        deprecated: block.deprecated,
    }
}

fn attribute_to_pb(attribute: &Attribute) -> pb::schema::Attribute {
    pb::schema::Attribute {
        name: attribute.name.clone(),
        r#type: attribute.ty.to_json(),
        nested_type: None,
        description: attribute.description.clone(),
        required: attribute.required,
        optional: attribute.optional,
        computed: attribute.computed,
        sensitive: attribute.sensitive,
        description_kind: DESCRIPTION_KIND as i32,
        deprecated: attribute.deprecated,
        write_only: false,
    }
}

fn nested_block_to_pb(nested: &NestedBlock) -> pb::schema::NestedBlock {
    use pb::schema::nested_block::NestingMode;
    let nesting = match nested.nesting {
        Nesting::Single => NestingMode::Single,
        Nesting::List => NestingMode::List,
        Nesting::Set => NestingMode::Set,
    };
    pb::schema::NestedBlock {
        type_name: nested.type_name.clone(),
        block: Some(block_to_pb(&nested.block)),
        nesting: nesting as i32,
        min_items: nested.min_items,
        max_items: nested.max_items,
    }
}

fn functions_to_pb(
    functions: &BTreeMap<String, FunctionSignature>,
) -> HashMap<String, pb::Function> {
    functions
        .iter()
        .map(|(name, signature)| (name.clone(), function_to_pb(signature)))
        .collect()
}

fn function_to_pb(signature: &FunctionSignature) -> pb::Function {
    pb::Function {
        parameters: signature.parameters.iter().map(parameter_to_pb).collect(),
        variadic_parameter: None,
        r#return: Some(pb::function::Return {
            r#type: signature.return_type.to_json(),
        }),
        summary: signature.summary.clone(),
        description: signature.description.clone(),
        description_kind: DESCRIPTION_KIND as i32,
        deprecation_message: String::new(),
    }
}

fn parameter_to_pb(parameter: &FunctionParameter) -> pb::function::Parameter {
    pb::function::Parameter {
        name: parameter.name.clone(),
        r#type: parameter.ty.to_json(),
        allow_null_value: parameter.allow_null,
        allow_unknown_values: parameter.allow_unknown,
        description: parameter.description.clone(),
        description_kind: DESCRIPTION_KIND as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tfvalue::Type;
    use pb::schema::nested_block::NestingMode;

    fn ensemble_schema() -> Schema {
        Schema {
            version: 2,
            block: Block::new("A ZooKeeper ensemble.")
                .attr(Attribute::required("name", Type::String).describe("Name of the ensemble."))
                .attr(Attribute::optional("config", Type::map(Type::String)))
                .attr(Attribute::computed("connect_string", Type::String))
                .attr(Attribute::optional("password", Type::String).sensitive())
                .block(NestedBlock::single("storage", Block::new("Volume per member.")).items(0, 1))
                .block(
                    NestedBlock::list(
                        "acl",
                        Block::new("").attr(Attribute::required("id", Type::String)),
                    )
                    .items(1, 10),
                )
                .block(NestedBlock::set("auth", Block::new(""))),
        }
    }

    #[test]
    fn attributes_keep_flags_types_and_descriptions() {
        let got = schema_to_pb(&ensemble_schema());
        assert_eq!(got.version, 2);
        let block = got.block.expect("block");
        assert_eq!(block.description, "A ZooKeeper ensemble.");
        assert_eq!(block.description_kind, pb::StringKind::Plain as i32);
        // (name, type JSON, required, optional, computed, sensitive)
        let cases = [
            ("name", r#""string""#, true, false, false, false),
            ("config", r#"["map","string"]"#, false, true, false, false),
            ("connect_string", r#""string""#, false, false, true, false),
            ("password", r#""string""#, false, true, false, true),
        ];
        assert_eq!(block.attributes.len(), cases.len());
        for (attribute, (name, ty, required, optional, computed, sensitive)) in
            block.attributes.iter().zip(cases)
        {
            assert_eq!(attribute.name, name);
            assert_eq!(String::from_utf8_lossy(&attribute.r#type), ty, "{name}");
            assert_eq!(attribute.required, required, "{name} required");
            assert_eq!(attribute.optional, optional, "{name} optional");
            assert_eq!(attribute.computed, computed, "{name} computed");
            assert_eq!(attribute.sensitive, sensitive, "{name} sensitive");
            assert_eq!(attribute.description_kind, pb::StringKind::Plain as i32);
        }
        assert_eq!(block.attributes[0].description, "Name of the ensemble.");
    }

    #[test]
    fn nested_blocks_keep_nesting_mode_and_item_limits() {
        let block = schema_to_pb(&ensemble_schema()).block.expect("block");
        let cases = [
            ("storage", NestingMode::Single, 0, 1, 0),
            ("acl", NestingMode::List, 1, 10, 1),
            ("auth", NestingMode::Set, 0, 0, 0),
        ];
        assert_eq!(block.block_types.len(), cases.len());
        for (nested, (name, nesting, min, max, attributes)) in block.block_types.iter().zip(cases) {
            assert_eq!(nested.type_name, name);
            assert_eq!(nested.nesting, nesting as i32, "{name}");
            assert_eq!((nested.min_items, nested.max_items), (min, max), "{name}");
            let inner = nested.block.as_ref().expect("inner block");
            assert_eq!(inner.attributes.len(), attributes, "{name}");
        }
    }

    #[test]
    fn capabilities_always_ask_for_destroy_plans_and_let_the_client_keep_the_schema() {
        let cases = [
            ("framework defaults", ServerCapabilities::default(), false),
            (
                "framework asks for the opposite",
                ServerCapabilities {
                    plan_destroy: false,
                    get_provider_schema_optional: false,
                    move_resource_state: true,
                },
                true,
            ),
        ];
        for (name, capabilities, moves) in cases {
            let got = capabilities_to_pb(&capabilities);
            assert!(got.plan_destroy, "{name}");
            assert!(got.get_provider_schema_optional, "{name}");
            assert_eq!(got.move_resource_state, moves, "{name}");
        }
    }

    #[test]
    fn functions_carry_parameters_and_return_type() {
        let mut functions = BTreeMap::new();
        functions.insert(
            "digest_id".to_owned(),
            FunctionSignature {
                parameters: vec![
                    FunctionParameter {
                        name: "user".into(),
                        ty: Type::String,
                        description: "User name.".into(),
                        allow_null: false,
                        allow_unknown: false,
                    },
                    FunctionParameter {
                        name: "password".into(),
                        ty: Type::String,
                        description: String::new(),
                        allow_null: true,
                        allow_unknown: true,
                    },
                ],
                return_type: Type::String,
                summary: "Digest ACL id".into(),
                description: "user:base64(sha1(user:password))".into(),
            },
        );
        let got = get_functions_response(&functions, Diagnostics::new());
        let function = &got.functions["digest_id"];
        assert_eq!(function.parameters.len(), 2);
        assert_eq!(function.parameters[0].name, "user");
        assert!(!function.parameters[0].allow_null_value);
        assert!(function.parameters[1].allow_null_value);
        assert!(function.parameters[1].allow_unknown_values);
        let ret = function.r#return.as_ref().expect("return");
        assert_eq!(ret.r#type, br#""string""#.to_vec());
        assert_eq!(function.summary, "Digest ACL id");
    }

    #[test]
    fn metadata_lists_type_names() {
        let got = get_metadata_response(GetMetadataResponse {
            resources: vec!["zkkafka_znode".into()],
            data_sources: vec!["zkkafka_znode".into()],
            functions: vec!["digest_id".into()],
            ..GetMetadataResponse::default()
        });
        assert_eq!(got.resources[0].type_name, "zkkafka_znode");
        assert_eq!(got.data_sources[0].type_name, "zkkafka_znode");
        assert_eq!(got.functions[0].name, "digest_id");
        assert!(got.server_capabilities.expect("capabilities").plan_destroy);
    }
}
