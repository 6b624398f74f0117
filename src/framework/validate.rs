//! Runs each attribute's validators over a configuration, with the attribute path of every
//! value, skipping nulls and values that are not known yet.

use crate::tfvalue::{AttributePath, Diagnostics, Value};

use super::schema::{Block, Nesting};

pub(crate) fn validate_block(
    block: &Block,
    value: &Value,
    path: &AttributePath,
    diags: &mut Diagnostics,
) {
    if value.is_null() || value.is_unknown() {
        return;
    }
    for attr in &block.attributes {
        let v = value.attr(&attr.name);
        if v.is_null() || v.contains_unknown() {
            continue;
        }
        let p = path.then_attr(&attr.name);
        for validator in &attr.validators {
            validator.validate(&p, v, diags);
        }
    }
    for nested in &block.blocks {
        let v = value.attr(&nested.type_name);
        let p = path.then_attr(&nested.type_name);
        match nested.nesting {
            Nesting::Single => validate_block(&nested.block, v, &p, diags),
            Nesting::List | Nesting::Set => {
                for (i, item) in v.as_elements().unwrap_or(&[]).iter().enumerate() {
                    validate_block(&nested.block, item, &p.then_index(i), diags);
                }
            }
        }
    }
}
