//! Conversions between the generated protocol types (`pb`) and the native ones in
//! [`crate::framework::rpc`] and [`crate::tfvalue`]. Pure functions, no IO.
//!
//! [`schema`] covers the discovery RPCs (GetProviderSchema, GetMetadata, GetFunctions);
//! [`rpcs`] has one request and one response conversion per remaining RPC, named after it
//! (`read_resource_request`, `read_resource_response`, ...). The shared pieces — values,
//! diagnostics, attribute paths — are below.

pub(super) mod rpcs;
pub(super) mod schema;

use crate::tfvalue::{AttributePath, Diagnostic, Diagnostics, DynamicValue, PathStep, Severity};

use super::proto::tfplugin6 as pb;

/// A value Terraform sent. An absent message is the same as an empty one: the framework
/// reports undecodable (empty) bytes as a diagnostic, which is better than a transport error.
pub(super) fn dynamic_value(value: Option<pb::DynamicValue>) -> DynamicValue {
    value.map(dynamic_value_present).unwrap_or_default()
}

pub(super) fn dynamic_value_present(value: pb::DynamicValue) -> DynamicValue {
    DynamicValue {
        msgpack: value.msgpack,
        json: value.json,
    }
}

pub(super) fn dynamic_value_to_pb(value: DynamicValue) -> pb::DynamicValue {
    pb::DynamicValue {
        msgpack: value.msgpack,
        json: value.json,
    }
}

pub(super) fn attribute_path_to_pb(path: &AttributePath) -> pb::AttributePath {
    use pb::attribute_path::{step::Selector, Step};
    let steps = path
        .steps
        .iter()
        .map(|step| Step {
            selector: Some(match step {
                PathStep::Attribute(name) => Selector::AttributeName(name.clone()),
                PathStep::ElementKeyString(key) => Selector::ElementKeyString(key.clone()),
                PathStep::ElementKeyInt(index) => Selector::ElementKeyInt(*index),
            }),
        })
        .collect();
    pb::AttributePath { steps }
}

pub(super) fn diagnostic_to_pb(diagnostic: Diagnostic) -> pb::Diagnostic {
    use pb::diagnostic::Severity as PbSeverity;
    let severity = match diagnostic.severity {
        Severity::Error => PbSeverity::Error,
        Severity::Warning => PbSeverity::Warning,
    };
    pb::Diagnostic {
        severity: severity as i32,
        summary: diagnostic.summary,
        detail: diagnostic.detail,
        // A path with no steps means the whole block: say so by leaving it out.
        attribute: diagnostic
            .attribute
            .filter(|path| !path.is_root())
            .map(|path| attribute_path_to_pb(&path)),
    }
}

pub(super) fn diagnostics_to_pb(diagnostics: Diagnostics) -> Vec<pb::Diagnostic> {
    diagnostics.into_iter().map(diagnostic_to_pb).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pb::attribute_path::step::Selector;

    #[test]
    fn attribute_paths_keep_every_step_in_order() {
        let cases = [
            ("root", AttributePath::root(), vec![]),
            (
                "attribute",
                AttributePath::attr("replicas"),
                vec![Selector::AttributeName("replicas".into())],
            ),
            (
                "list element attribute",
                AttributePath::attr("acl")
                    .then_index(2)
                    .then_attr("permissions"),
                vec![
                    Selector::AttributeName("acl".into()),
                    Selector::ElementKeyInt(2),
                    Selector::AttributeName("permissions".into()),
                ],
            ),
            (
                "map key",
                AttributePath::attr("config").then_key("maxClientCnxns"),
                vec![
                    Selector::AttributeName("config".into()),
                    Selector::ElementKeyString("maxClientCnxns".into()),
                ],
            ),
        ];
        for (name, path, want) in cases {
            let got: Vec<_> = attribute_path_to_pb(&path)
                .steps
                .into_iter()
                .map(|step| step.selector)
                .collect();
            let want: Vec<_> = want.into_iter().map(Some).collect();
            assert_eq!(got, want, "case {name}");
        }
    }

    #[test]
    fn diagnostics_keep_severity_text_and_path() {
        let cases = [
            (
                "error at attribute",
                Diagnostic::error("Invalid replicas", "Use an odd number.")
                    .at(AttributePath::attr("replicas")),
                pb::diagnostic::Severity::Error,
                Some(1),
            ),
            (
                "warning without path",
                Diagnostic::warning("Deprecated", "Use storage instead."),
                pb::diagnostic::Severity::Warning,
                None,
            ),
            (
                "root path is left out",
                Diagnostic::error("Invalid configuration", "").at(AttributePath::root()),
                pb::diagnostic::Severity::Error,
                None,
            ),
        ];
        for (name, diagnostic, severity, steps) in cases {
            let got = diagnostic_to_pb(diagnostic.clone());
            assert_eq!(got.severity, severity as i32, "case {name}");
            assert_eq!(got.summary, diagnostic.summary, "case {name}");
            assert_eq!(got.detail, diagnostic.detail, "case {name}");
            assert_eq!(
                got.attribute.map(|path| path.steps.len()),
                steps,
                "case {name}"
            );
        }
    }

    #[test]
    fn dynamic_values_pass_through_and_absent_is_empty() {
        let value = pb::DynamicValue {
            msgpack: vec![0xc0],
            json: vec![],
        };
        assert_eq!(dynamic_value(Some(value)).msgpack, vec![0xc0]);
        let absent = dynamic_value(None);
        assert!(absent.msgpack.is_empty() && absent.json.is_empty());
        let back = dynamic_value_to_pb(DynamicValue {
            msgpack: vec![],
            json: b"{}".to_vec(),
        });
        assert_eq!(back.json, b"{}".to_vec());
    }
}
