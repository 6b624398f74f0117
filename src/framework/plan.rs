//! Deriving a planned state from Terraform's proposed new state and the schema.
//!
//! Terraform proposes: configuration values as written, prior state for computed attributes
//! the configuration leaves null. [`derive`] then applies, in order: defaults, unknown
//! ("known after apply") for computed attributes that will change, and the
//! [`PlanModifier::RequiresReplace`] check. Resources refine the result in `modify_plan`.

use crate::tfvalue::{AttributePath, Value};

use super::schema::{Block, Nesting, PlanModifier};

/// A planned create or update, as a resource sees it in `modify_plan`.
#[derive(Clone, Debug, Default)]
pub struct PlannedChange {
    /// Null when the resource is being created.
    pub prior: Value,
    pub config: Value,
    pub planned: Value,
    pub requires_replace: Vec<AttributePath>,
    pub private: Vec<u8>,
}

impl PlannedChange {
    pub fn is_create(&self) -> bool {
        self.prior.is_null()
    }

    /// A top-level attribute of the planned state.
    pub fn planned_attr(&self, name: &str) -> &Value {
        self.planned.attr(name)
    }

    /// Sets a top-level attribute of the planned state.
    pub fn set_planned(&mut self, name: &str, value: Value) {
        if let Value::Object(attrs) = &mut self.planned {
            attrs.insert(name.to_owned(), value);
        }
    }

    /// True when the planned value of a top-level attribute differs from the prior state.
    pub fn changed(&self, name: &str) -> bool {
        !self.prior.attr(name).semantic_eq(self.planned.attr(name))
    }

    /// Marks a top-level attribute as forcing replacement.
    pub fn require_replace(&mut self, name: &str) {
        let path = AttributePath::attr(name);
        if !self.requires_replace.contains(&path) {
            self.requires_replace.push(path);
        }
    }
}

/// Derives the plan for a create (`prior` null) or an update.
pub fn derive(block: &Block, prior: &Value, proposed: &Value, config: &Value) -> PlannedChange {
    let mut planned = proposed.clone();
    apply_defaults(block, &mut planned, config);

    let create = prior.is_null();
    let changes = create || !planned.semantic_eq(prior);
    if changes {
        mark_computed_unknown(block, &mut planned, config, prior, create);
    }

    let mut requires_replace = Vec::new();
    if !create {
        for attr in &block.attributes {
            if attr.has_modifier(PlanModifier::RequiresReplace) {
                let (before, after) = (prior.attr(&attr.name), planned.attr(&attr.name));
                if after.is_unknown() || !before.semantic_eq(after) {
                    requires_replace.push(AttributePath::attr(&attr.name));
                }
            }
        }
    }

    PlannedChange {
        prior: prior.clone(),
        config: config.clone(),
        planned,
        requires_replace,
        private: Vec::new(),
    }
}

/// Fills defaults where the configuration leaves an attribute null, in nested blocks too.
fn apply_defaults(block: &Block, planned: &mut Value, config: &Value) {
    let Value::Object(attrs) = planned else {
        return;
    };
    for attr in &block.attributes {
        if let Some(default) = &attr.default {
            if config.attr(&attr.name).is_null() {
                attrs.insert(attr.name.clone(), default.clone());
            }
        }
    }
    for nested in &block.blocks {
        let cfg = config.attr(&nested.type_name);
        let Some(value) = attrs.get_mut(&nested.type_name) else {
            continue;
        };
        match (nested.nesting, value) {
            (Nesting::Single, v @ Value::Object(_)) => apply_defaults(&nested.block, v, cfg),
            (Nesting::List | Nesting::Set, Value::List(items) | Value::Set(items)) => {
                let cfg_items = cfg.as_elements().unwrap_or(&[]);
                for (i, item) in items.iter_mut().enumerate() {
                    let c = cfg_items.get(i).unwrap_or(&Value::Null);
                    apply_defaults(&nested.block, item, c);
                }
            }
            _ => {}
        }
    }
}

/// Fills defaults into a state that has none yet (an imported one), so the first plan after
/// import does not show defaults appearing.
pub(crate) fn fill_state_defaults(block: &Block, state: &mut Value) {
    if let Value::Object(attrs) = state {
        for attr in &block.attributes {
            if let Some(default) = &attr.default {
                let slot = attrs.entry(attr.name.clone()).or_default();
                if slot.is_null() {
                    *slot = default.clone();
                }
            }
        }
    }
}

/// Computed attributes the configuration leaves null become unknown, unless they carry
/// [`PlanModifier::UseStateForUnknown`] and have a prior value.
fn mark_computed_unknown(
    block: &Block,
    planned: &mut Value,
    config: &Value,
    prior: &Value,
    create: bool,
) {
    let Value::Object(attrs) = planned else {
        return;
    };
    for attr in &block.attributes {
        if !attr.computed || attr.default.is_some() || !config.attr(&attr.name).is_null() {
            continue;
        }
        let keep = !create
            && attr.has_modifier(PlanModifier::UseStateForUnknown)
            && !prior.attr(&attr.name).is_null();
        if !keep {
            attrs.insert(attr.name.clone(), Value::Unknown);
        }
    }
    for nested in &block.blocks {
        let cfg = config.attr(&nested.type_name);
        let pri = prior.attr(&nested.type_name);
        if let (Nesting::Single, Some(v @ Value::Object(_))) =
            (nested.nesting, attrs.get_mut(&nested.type_name))
        {
            mark_computed_unknown(&nested.block, v, cfg, pri, create);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::schema::{Attribute, NestedBlock};
    use crate::tfvalue::Type;

    fn block() -> Block {
        Block::new("test")
            .attr(
                Attribute::computed("id", Type::String).modifier(PlanModifier::UseStateForUnknown),
            )
            .attr(Attribute::required("path", Type::String).modifier(PlanModifier::RequiresReplace))
            .attr(Attribute::optional("data", Type::String))
            .attr(Attribute::optional("flag", Type::Bool).default_value(Value::Bool(false)))
            .attr(Attribute::computed("version", Type::Number))
            .block(NestedBlock::single(
                "timeouts",
                Block::new("t").attr(Attribute::optional("create", Type::String)),
            ))
    }

    fn state(path: &str, data: &str, version: i64) -> Value {
        Value::object([
            ("id", Value::from(path)),
            ("path", Value::from(path)),
            ("data", Value::from(data)),
            ("flag", Value::Bool(false)),
            ("version", Value::int(version)),
            ("timeouts", Value::Null),
        ])
    }

    fn config(path: &str, data: &str) -> Value {
        Value::object([
            ("id", Value::Null),
            ("path", Value::from(path)),
            ("data", Value::from(data)),
            ("flag", Value::Null),
            ("version", Value::Null),
            ("timeouts", Value::Null),
        ])
    }

    /// Terraform's proposed new state: config, with prior values for null computed attributes.
    fn proposed(prior: &Value, config: &Value) -> Value {
        let mut out = config.clone();
        if let (Value::Object(o), Value::Object(p)) = (&mut out, prior) {
            for (k, v) in o.iter_mut() {
                if v.is_null() && matches!(k.as_str(), "id" | "version" | "flag") {
                    *v = p.get(k).cloned().unwrap_or_default();
                }
            }
        }
        out
    }

    #[test]
    fn create_marks_computed_unknown_and_fills_defaults() {
        let cfg = config("/a", "x");
        let change = derive(&block().clone(), &Value::Null, &cfg, &cfg);
        assert_eq!(change.planned.attr("id"), &Value::Unknown);
        assert_eq!(change.planned.attr("version"), &Value::Unknown);
        assert_eq!(change.planned.attr("flag"), &Value::Bool(false));
        assert_eq!(change.planned.attr("data"), &Value::from("x"));
        assert!(change.requires_replace.is_empty());
    }

    #[test]
    fn no_change_keeps_prior_exactly() {
        let prior = state("/a", "x", 3);
        let cfg = config("/a", "x");
        let change = derive(&block(), &prior, &proposed(&prior, &cfg), &cfg);
        assert_eq!(change.planned, prior);
        assert!(change.requires_replace.is_empty());
    }

    #[test]
    fn update_marks_changing_computed_unknown_but_keeps_use_state() {
        let prior = state("/a", "x", 3);
        let cfg = config("/a", "y");
        let change = derive(&block(), &prior, &proposed(&prior, &cfg), &cfg);
        assert_eq!(change.planned.attr("version"), &Value::Unknown);
        assert_eq!(change.planned.attr("id"), &Value::from("/a"));
        assert!(change.requires_replace.is_empty());
    }

    #[test]
    fn requires_replace_lists_the_path() {
        let prior = state("/a", "x", 3);
        let cfg = config("/b", "x");
        let change = derive(&block(), &prior, &proposed(&prior, &cfg), &cfg);
        assert_eq!(change.requires_replace, vec![AttributePath::attr("path")]);
    }
}
