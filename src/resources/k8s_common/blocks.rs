//! Schema blocks both Kubernetes-backed resources take, written once so that they describe and
//! check them alike.

use crate::framework::{Attribute, Block, NestedBlock};
use crate::tfvalue::Type;

use super::validate;

/// `resources { requests = {...} limits = {...} }`: the container's requests and limits.
pub fn resources_block(description: &str) -> NestedBlock {
    NestedBlock::single(
        "resources",
        Block::new(description)
            .attr(
                Attribute::optional("requests", Type::map(Type::String))
                    .describe("What the scheduler reserves for the container, by resource name, as Kubernetes quantities, e.g. { cpu = \"500m\", memory = \"1Gi\" }.")
                    .validate(validate::resource_quantities),
            )
            .attr(
                Attribute::optional("limits", Type::map(Type::String))
                    .describe("The most the container may use, by resource name, as Kubernetes quantities, e.g. { memory = \"2Gi\" }.")
                    .validate(validate::resource_quantities),
            ),
    )
}

/// `tolerations { ... }`: Kubernetes tolerations, field by field as in a pod spec.
pub fn tolerations_block() -> NestedBlock {
    NestedBlock::list(
        "tolerations",
        Block::new("Kubernetes tolerations for the pods.")
            .attr(
                Attribute::optional("key", Type::String)
                    .describe("The taint key the toleration matches; empty with operator \"Exists\" matches every taint."),
            )
            .attr(
                Attribute::optional("operator", Type::String)
                    .describe("\"Equal\" (default) or \"Exists\".")
                    .validate(validate::toleration_operator),
            )
            .attr(
                Attribute::optional("value", Type::String)
                    .describe("The taint value to match with operator \"Equal\"; leave it empty with \"Exists\"."),
            )
            .attr(
                Attribute::optional("effect", Type::String)
                    .describe("NoSchedule, PreferNoSchedule or NoExecute; empty matches all.")
                    .validate(validate::toleration_effect),
            )
            .attr(
                Attribute::optional("toleration_seconds", Type::Number)
                    .describe("With effect NoExecute, how many seconds a pod stays on a node after the taint appears (default: forever)."),
            ),
    )
}
