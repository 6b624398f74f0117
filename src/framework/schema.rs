//! Schemas: what a provider, resource or data source accepts, with the framework-only
//! extras (validators, plan modifiers, defaults) that never go on the wire.

use std::fmt;
use std::sync::Arc;

use crate::tfvalue::{AttributePath, Diagnostics, Type, Value};

/// A schema with its version (state upgrades go from older versions to this one).
#[derive(Clone, Debug, Default)]
pub struct Schema {
    pub version: i64,
    pub block: Block,
}

#[derive(Clone, Debug, Default)]
pub struct Block {
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<NestedBlock>,
    pub description: String,
    pub deprecated: bool,
}

/// How a nested block repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nesting {
    /// At most one; null when absent.
    Single,
    List,
    Set,
}

#[derive(Clone, Debug)]
pub struct NestedBlock {
    pub type_name: String,
    pub block: Block,
    pub nesting: Nesting,
    pub min_items: i64,
    pub max_items: i64,
}

/// Checks a configured value; reports problems against `path`.
pub trait Validator: Send + Sync {
    fn validate(&self, path: &AttributePath, value: &Value, diags: &mut Diagnostics);
}

impl<F> Validator for F
where
    F: Fn(&AttributePath, &Value, &mut Diagnostics) + Send + Sync,
{
    fn validate(&self, path: &AttributePath, value: &Value, diags: &mut Diagnostics) {
        self(path, value, diags)
    }
}

/// Named plan modifiers, each a few guard clauses in [`super::plan`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanModifier {
    /// A change to this attribute replaces the resource.
    RequiresReplace,
    /// A computed attribute keeps its prior value instead of becoming unknown.
    UseStateForUnknown,
}

#[derive(Clone)]
pub struct Attribute {
    pub name: String,
    pub ty: Type,
    pub description: String,
    pub required: bool,
    pub optional: bool,
    pub computed: bool,
    pub sensitive: bool,
    pub deprecated: bool,
    pub plan_modifiers: Vec<PlanModifier>,
    pub validators: Vec<Arc<dyn Validator>>,
    /// Value used when the configuration leaves the attribute null (needs `optional` and
    /// `computed`).
    pub default: Option<Value>,
}

impl fmt::Debug for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attribute")
            .field("name", &self.name)
            .field("ty", &self.ty)
            .field("required", &self.required)
            .field("optional", &self.optional)
            .field("computed", &self.computed)
            .field("sensitive", &self.sensitive)
            .finish_non_exhaustive()
    }
}

impl Attribute {
    fn new(name: &str, ty: Type) -> Self {
        Self {
            name: name.to_owned(),
            ty,
            description: String::new(),
            required: false,
            optional: false,
            computed: false,
            sensitive: false,
            deprecated: false,
            plan_modifiers: Vec::new(),
            validators: Vec::new(),
            default: None,
        }
    }

    pub fn required(name: &str, ty: Type) -> Self {
        Self {
            required: true,
            ..Self::new(name, ty)
        }
    }

    pub fn optional(name: &str, ty: Type) -> Self {
        Self {
            optional: true,
            ..Self::new(name, ty)
        }
    }

    pub fn computed(name: &str, ty: Type) -> Self {
        Self {
            computed: true,
            ..Self::new(name, ty)
        }
    }

    pub fn optional_computed(name: &str, ty: Type) -> Self {
        Self {
            optional: true,
            computed: true,
            ..Self::new(name, ty)
        }
    }

    #[must_use]
    pub fn describe(mut self, text: &str) -> Self {
        self.description = text.to_owned();
        self
    }

    #[must_use]
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }

    #[must_use]
    pub fn modifier(mut self, m: PlanModifier) -> Self {
        self.plan_modifiers.push(m);
        self
    }

    #[must_use]
    pub fn validate(mut self, v: impl Validator + 'static) -> Self {
        self.validators.push(Arc::new(v));
        self
    }

    /// Sets a default; the attribute becomes optional + computed.
    #[must_use]
    pub fn default_value(mut self, v: Value) -> Self {
        self.default = Some(v);
        self.optional = true;
        self.computed = true;
        self.required = false;
        self
    }

    pub fn has_modifier(&self, m: PlanModifier) -> bool {
        self.plan_modifiers.contains(&m)
    }
}

impl Block {
    pub fn new(description: &str) -> Self {
        Self {
            description: description.to_owned(),
            ..Self::default()
        }
    }

    #[must_use]
    pub fn attr(mut self, a: Attribute) -> Self {
        self.attributes.push(a);
        self
    }

    #[must_use]
    pub fn block(mut self, b: NestedBlock) -> Self {
        self.blocks.push(b);
        self
    }

    /// The cty object type of values of this block.
    pub fn value_type(&self) -> Type {
        let mut attrs: std::collections::BTreeMap<String, Type> = self
            .attributes
            .iter()
            .map(|a| (a.name.clone(), a.ty.clone()))
            .collect();
        for b in &self.blocks {
            let inner = b.block.value_type();
            let ty = match b.nesting {
                Nesting::Single => inner,
                Nesting::List => Type::list(inner),
                Nesting::Set => Type::set(inner),
            };
            attrs.insert(b.type_name.clone(), ty);
        }
        Type::Object(attrs)
    }

    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    pub fn nested(&self, name: &str) -> Option<&NestedBlock> {
        self.blocks.iter().find(|b| b.type_name == name)
    }
}

impl NestedBlock {
    pub fn single(name: &str, block: Block) -> Self {
        Self {
            type_name: name.to_owned(),
            block,
            nesting: Nesting::Single,
            min_items: 0,
            max_items: 0,
        }
    }

    pub fn list(name: &str, block: Block) -> Self {
        Self {
            nesting: Nesting::List,
            ..Self::single(name, block)
        }
    }

    pub fn set(name: &str, block: Block) -> Self {
        Self {
            nesting: Nesting::Set,
            ..Self::single(name, block)
        }
    }

    #[must_use]
    pub fn items(mut self, min: i64, max: i64) -> Self {
        self.min_items = min;
        self.max_items = max;
        self
    }
}

/// A provider function's signature.
#[derive(Clone, Debug, Default)]
pub struct FunctionSignature {
    pub parameters: Vec<FunctionParameter>,
    pub return_type: Type,
    pub summary: String,
    pub description: String,
}

#[derive(Clone, Debug)]
pub struct FunctionParameter {
    pub name: String,
    pub ty: Type,
    pub description: String,
    pub allow_null: bool,
    pub allow_unknown: bool,
}
