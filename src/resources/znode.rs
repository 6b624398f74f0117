//! `zkkafka_znode`: a persistent znode with its data and, optionally, its ACL.
//!
//! Data updates carry the version read at refresh, ACL updates the ACL version, so a change
//! someone made in between is reported, never overwritten. Delete refuses a znode with
//! children unless `delete_children = true`. Without `acl` blocks the znode is created with
//! `world:anyone:cdrwa` and its ACL is left unmanaged.

use async_trait::async_trait;
use base64::Engine as _;

use crate::adapters::zookeeper::{validate_path, ZkError};
use crate::framework::resource::unsupported_state_version;
use crate::framework::{Attribute, Block, Context, PlanModifier, PlannedChange, Resource, Schema};
use crate::tfvalue::{AttributePath, Diagnostics, Type, Value};

use super::zk_common::{
    acl_block, acls_from_value, acls_to_value, connection_block, open_acl, refresh_session,
    session, session_digest_ids, set_stat, stat_attributes, state_version, validate_acl_entries,
    zk_diagnostic, DROPPED_STAT_ATTRIBUTES, STAT_ATTRIBUTES,
};

/// ZooKeeper's default `jute.maxbuffer` (0xfffff bytes) bounds a whole request: the server
/// drops the connection on a longer one. The data shares it with the path and the ACL.
pub const MAX_REQUEST_BYTES: usize = 0xfffff;

/// The size of the largest request that writes a znode's data: a create, with its path and ACL
/// (setData carries less). Header (xid, type), then each string or buffer as a length and its
/// bytes, the ACL as a count and (perms, scheme, id) per entry, then the create flags. Without
/// `acl` blocks the znode is created with world:anyone:cdrwa.
fn create_request_bytes(path: &str, data: usize, acl: &[Value]) -> usize {
    let acl_bytes: usize = if acl.is_empty() {
        4 + 4 + "world".len() + 4 + "anyone".len()
    } else {
        acl.iter()
            .map(|e| {
                let text = |name: &str| e.attr(name).as_str().map_or(0, str::len);
                4 + 4 + text("scheme") + 4 + text("id")
            })
            .sum()
    };
    8 + (4 + path.len()) + (4 + data) + (4 + acl_bytes) + 4
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

pub struct ZnodeResource;

pub fn validate_znode_path(path: &AttributePath, v: &Value, diags: &mut Diagnostics) {
    let Some(p) = v.as_str() else { return };
    if let Err(e) = validate_path(p) {
        diags.error_at(path.clone(), "Invalid znode path", format!("{p:?}: {e}."));
    } else if p == "/" {
        diags.error_at(
            path.clone(),
            "Cannot manage the root znode",
            "\"/\" always exists and cannot be created or deleted; manage its ACL with zkkafka_znode_acl.",
        );
    } else if p == "/zookeeper" || p.starts_with("/zookeeper/") {
        diags.error_at(
            path.clone(),
            "Reserved path",
            format!("{p:?} is under /zookeeper, which ZooKeeper reserves for itself; choose another path."),
        );
    }
}

fn data_bytes(v: &Value) -> Option<Vec<u8>> {
    if let Some(s) = v.attr("data").as_str() {
        return Some(s.as_bytes().to_vec());
    }
    match v.attr("data_base64").as_str() {
        Some(s) => B64.decode(s).ok(),
        None => Some(Vec::new()),
    }
}

#[async_trait]
impl Resource for ZnodeResource {
    fn type_name(&self) -> &'static str {
        "zkkafka_znode"
    }

    fn schema(&self) -> Schema {
        let block = Block::new("A persistent ZooKeeper znode, its data and optionally its ACL.")
            .attr(
                Attribute::required("path", Type::String)
                    .describe("Absolute znode path, e.g. /app/config. Changing it replaces the znode.")
                    .modifier(PlanModifier::RequiresReplace)
                    .validate(validate_znode_path),
            )
            .attr(Attribute::optional("data", Type::String).describe("Data as UTF-8 text. Conflicts with data_base64."))
            .attr(Attribute::optional_computed("data_base64", Type::String).describe(
                "Data as base64, for binary content. Computed from data when data is set.",
            ))
            .attr(
                Attribute::optional("create_parents", Type::Bool)
                    .describe("Create missing parent znodes (empty, world:anyone:cdrwa). Default false.")
                    .default_value(Value::Bool(false)),
            )
            .attr(
                Attribute::optional("delete_children", Type::Bool)
                    .describe("On destroy, delete the znode's children too. Default false: a znode with children is not deleted.")
                    .default_value(Value::Bool(false)),
            )
            .block(acl_block(
                "An ACL entry. Without any, the znode is created with world:anyone:cdrwa and its ACL is not managed.",
            ))
            .block(connection_block());
        Schema {
            version: 2,
            block: stat_attributes(block),
        }
    }

    /// Version 0 also kept `data_length`, `czxid`, `mzxid`, `ctime` and `mtime`; version 1
    /// dropped them (see [`STAT_ATTRIBUTES`]). Versions 0 and 1 had a computed `id`, a copy of
    /// `path`; version 2 drops it. Otherwise the versions are the same.
    fn upgrade_state(
        &self,
        version: i64,
        mut state: serde_json::Value,
        diags: &mut Diagnostics,
    ) -> Option<serde_json::Value> {
        let Some(attributes) = state.as_object_mut().filter(|_| matches!(version, 0 | 1)) else {
            unsupported_state_version(self.type_name(), version, diags);
            return None;
        };
        if version == 0 {
            for name in DROPPED_STAT_ATTRIBUTES {
                attributes.remove(name);
            }
        }
        attributes.remove("id");
        Some(state)
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let (data, b64) = (config.attr("data"), config.attr("data_base64"));
        // Both set is fine when they say the same (`-generate-config-out` writes both).
        let same = match (data.as_str(), b64.as_str()) {
            (Some(text), Some(encoded)) => B64.encode(text) == encoded,
            _ => data.is_unknown() || b64.is_unknown(),
        };
        if !data.is_null() && !b64.is_null() && !same {
            diags.error_at(
                AttributePath::attr("data_base64"),
                "Conflicting data attributes",
                "Set data (text) or data_base64 (binary), not both.",
            );
        }
        if let Some(s) = b64.as_str() {
            if B64.decode(s).is_err() {
                diags.error_at(
                    AttributePath::attr("data_base64"),
                    "Invalid base64",
                    "data_base64 must be standard base64; use base64encode() or filebase64().",
                );
            }
        }
        let len = data.as_str().map(str::len).or_else(|| {
            b64.as_str()
                .and_then(|s| B64.decode(s).ok())
                .map(|b| b.len())
        });
        if let Some(len) = len {
            let path = config.attr("path").as_str().unwrap_or("");
            let acl = config.attr("acl").as_elements().unwrap_or(&[]);
            let request = create_request_bytes(path, len, acl);
            if request > MAX_REQUEST_BYTES {
                let attr = if data.is_null() {
                    "data_base64"
                } else {
                    "data"
                };
                diags.error_at(
                    AttributePath::attr(attr),
                    "Data too large",
                    format!(
                        "The data is {len} bytes; with the path and the ACL, writing it takes a request of \
                         {request} bytes, and ZooKeeper refuses requests over {MAX_REQUEST_BYTES} bytes (its \
                         default jute.maxbuffer), so at most {} bytes of data fit here. Store large content \
                         elsewhere and keep a reference in the znode.",
                        len - (request - MAX_REQUEST_BYTES)
                    ),
                );
            }
        }
        validate_acl_entries(config, diags);
    }

    async fn modify_plan(
        &self,
        _ctx: &Context,
        change: &mut PlannedChange,
        _diags: &mut Diagnostics,
    ) {
        let data = change.config.attr("data").clone();
        let b64 = if data.is_unknown() {
            Value::Unknown
        } else if let Some(s) = data.as_str() {
            Value::from(B64.encode(s))
        } else if change.config.attr("data_base64").is_null() {
            Value::from("")
        } else {
            change.config.attr("data_base64").clone()
        };
        change.set_planned("data_base64", b64);
        if !change.is_create() && !change.changed("path") {
            // Stat fields stay known unless this apply changes them: the data version
            // changes with the data, the ACL version with the ACL. children_count may change
            // under a concurrent child create, so it stays known only when the znode is not
            // touched at all.
            let data_changes = change.changed("data_base64");
            let acl_changes = change.changed("acl")
                && change
                    .planned_attr("acl")
                    .as_elements()
                    .is_some_and(|a| !a.is_empty());
            let mut keep = Vec::new();
            if !data_changes {
                keep.push("version");
            }
            if !acl_changes {
                keep.push("acl_version");
            }
            if !data_changes && !acl_changes {
                keep.push("children_count");
            }
            for name in keep {
                let prior = change.prior.attr(name).clone();
                change.set_planned(name, prior);
            }
        }
    }

    async fn create(
        &self,
        ctx: &Context,
        planned: &Value,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let path = planned.attr("path").as_str()?.to_owned();
        let store = match session(ctx, planned).await {
            Ok(s) => s,
            Err(d) => {
                diags.push(d);
                return None;
            }
        };
        let data = data_bytes(planned).unwrap_or_default();
        let managed = acls_from_value(planned.attr("acl"));
        let acl = if managed.is_empty() {
            open_acl()
        } else {
            managed
        };
        let create_parents = planned.attr("create_parents").as_bool().unwrap_or(false);
        match store
            .create(&path, &data, &acl, create_parents, &open_acl())
            .await
        {
            Ok(stat) => {
                let mut state = planned.clone();
                set_stat(&mut state, &stat);
                Some(state)
            }
            Err(ZkError::NodeExists { .. }) => {
                diags.error_at(
                    AttributePath::attr("path"),
                    "Znode already exists",
                    format!(
                        "{path} already exists. To manage it, import it: terraform import <address> {path}"
                    ),
                );
                None
            }
            Err(ZkError::NoNode { .. }) => {
                diags.error_at(
                    AttributePath::attr("path"),
                    "Parent znode does not exist",
                    format!("The parent of {path} does not exist. Create it first, or set create_parents = true."),
                );
                None
            }
            Err(e) => {
                diags.push(zk_diagnostic(&format!("create znode {path}"), e));
                None
            }
        }
    }

    async fn read(&self, ctx: &Context, state: &Value, diags: &mut Diagnostics) -> Option<Value> {
        let path = state.attr("path").as_str()?.to_owned();
        let store = match refresh_session(ctx, state).await {
            Ok(Some(s)) => s,
            Ok(None) => return Some(state.clone()),
            Err(d) => {
                diags.push(d);
                return None;
            }
        };
        let (data, stat) = match store.get(&path).await {
            Ok(Some(found)) => found,
            Ok(None) => return None,
            Err(e) => {
                diags.push(zk_diagnostic(&format!("read znode {path}"), e));
                return None;
            }
        };
        let mut new = state.clone();
        if let Value::Object(m) = &mut new {
            if !state.attr("data").is_null() {
                m.insert(
                    "data".into(),
                    Value::from(String::from_utf8_lossy(&data).into_owned()),
                );
            }
            m.insert("data_base64".into(), Value::from(B64.encode(&data)));
            if state
                .attr("acl")
                .as_elements()
                .is_some_and(|a| !a.is_empty())
            {
                match store.get_acl(&path).await {
                    Ok(Some((acl, _))) => {
                        let ids = session_digest_ids(ctx, state);
                        m.insert("acl".into(), acls_to_value(&acl, state.attr("acl"), &ids));
                    }
                    Ok(None) => return None,
                    Err(e) => {
                        diags.push(zk_diagnostic(&format!("read the ACL of {path}"), e));
                        return None;
                    }
                }
            }
        }
        set_stat(&mut new, &stat);
        Some(new)
    }

    async fn update(
        &self,
        ctx: &Context,
        prior: &Value,
        planned: &Value,
        diags: &mut Diagnostics,
    ) -> Value {
        let Some(path) = planned.attr("path").as_str().map(str::to_owned) else {
            return prior.clone();
        };
        let store = match session(ctx, planned).await {
            Ok(s) => s,
            Err(d) => {
                diags.push(d);
                return prior.clone();
            }
        };
        let mut state = planned.clone();
        // Until an operation succeeds, the znode is as it was.
        for name in STAT_ATTRIBUTES {
            if let Value::Object(m) = &mut state {
                m.insert(name.into(), prior.attr(name).clone());
            }
        }
        let data_changed = !prior
            .attr("data_base64")
            .semantic_eq(planned.attr("data_base64"));
        if data_changed {
            let data = data_bytes(planned).unwrap_or_default();
            match store
                .set_data(&path, &data, state_version(prior, "version"))
                .await
            {
                Ok(stat) => set_stat(&mut state, &stat),
                Err(e) => {
                    diags.push(zk_diagnostic(&format!("update the data of {path}"), e));
                    return prior.clone();
                }
            }
        }
        let acl = acls_from_value(planned.attr("acl"));
        if !acl.is_empty() && !prior.attr("acl").semantic_eq(planned.attr("acl")) {
            match store
                .set_acl(&path, &acl, state_version(prior, "acl_version"))
                .await
            {
                Ok(stat) => set_stat(&mut state, &stat),
                Err(e) => {
                    diags.push(zk_diagnostic(&format!("update the ACL of {path}"), e));
                    // The data change (if any) went through: keep it, with the old ACL.
                    if let Value::Object(m) = &mut state {
                        m.insert("acl".into(), prior.attr("acl").clone());
                    }
                    return state;
                }
            }
        }
        state
    }

    async fn delete(&self, ctx: &Context, prior: &Value, diags: &mut Diagnostics) {
        let Some(path) = prior.attr("path").as_str() else {
            return;
        };
        let store = match session(ctx, prior).await {
            Ok(s) => s,
            Err(d) => return diags.push(d),
        };
        let result = if prior.attr("delete_children").as_bool() == Some(true) {
            store.delete_recursive(path).await
        } else {
            store.delete(path, state_version(prior, "version")).await
        };
        match result {
            Ok(()) | Err(ZkError::NoNode { .. }) => {}
            Err(ZkError::NotEmpty { children, .. }) => diags.error_at(
                AttributePath::attr("delete_children"),
                "Znode has children",
                format!(
                    "{path} has {} child znode(s) ({}), so it was not deleted. Delete them first, or set \
                     delete_children = true (apply that change, then destroy) to delete the whole subtree.",
                    children.len(),
                    children.join(", ")
                ),
            ),
            Err(e) => diags.push(zk_diagnostic(&format!("delete znode {path}"), e)),
        }
    }

    async fn import(&self, ctx: &Context, id: &str, diags: &mut Diagnostics) -> Option<Value> {
        let mut invalid = Diagnostics::new();
        validate_znode_path(&AttributePath::attr("path"), &Value::from(id), &mut invalid);
        if invalid.has_errors() {
            diags.error(
                "Invalid import ID",
                format!("The import ID is the znode path, e.g. /app/config; got {id:?}."),
            );
            return None;
        }
        let probe = Value::object([("path", Value::from(id))]);
        let store = match session(ctx, &probe).await {
            Ok(s) => s,
            Err(d) => {
                diags.push(d);
                return None;
            }
        };
        let (data, stat) = match store.get(id).await {
            Ok(Some(found)) => found,
            Ok(None) => {
                diags.error(
                    "Cannot import a missing znode",
                    format!("{id} does not exist."),
                );
                return None;
            }
            Err(e) => {
                diags.push(zk_diagnostic(&format!("read znode {id}"), e));
                return None;
            }
        };
        let acl = match store.get_acl(id).await {
            Ok(Some((acl, _))) => acl,
            Ok(None) => Vec::new(),
            Err(e) => {
                diags.push(zk_diagnostic(&format!("read the ACL of {id}"), e));
                return None;
            }
        };
        // The default ACL means "unmanaged", as for a znode created without acl blocks.
        let acl_value = if acl == open_acl() {
            Value::List(Vec::new())
        } else {
            acls_to_value(&acl, &Value::Null, &[])
        };
        // Printable text is imported as `data`; anything else, and no data at all, as
        // `data_base64` only.
        let text = String::from_utf8(data.clone()).ok().filter(|t| {
            !t.is_empty()
                && t.chars()
                    .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
        });
        let mut state = Value::object([
            ("path", Value::from(id)),
            ("data", Value::from(text)),
            ("data_base64", Value::from(B64.encode(&data))),
            ("create_parents", Value::Bool(false)),
            ("delete_children", Value::Bool(false)),
            ("acl", acl_value),
            ("zookeeper", Value::Null),
        ]);
        set_stat(&mut state, &stat);
        Some(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(entries: Vec<(&str, Value)>) -> Value {
        Value::object(entries)
    }

    fn summaries(config: &Value) -> Vec<String> {
        let mut diags = Diagnostics::new();
        ZnodeResource.validate(config, &mut diags);
        diags.iter().map(|d| d.summary.clone()).collect()
    }

    #[test]
    fn data_fits_when_the_whole_create_request_does() {
        // "/p", world:anyone:cdrwa: 8 + 6 + 4 + 27 + 4 bytes around the data.
        let fits = MAX_REQUEST_BYTES - 49;
        let at = |len: usize| {
            summaries(&config(vec![
                ("path", Value::from("/p")),
                ("data", Value::from("x".repeat(len))),
            ]))
        };
        assert!(at(fits).is_empty(), "{fits} bytes fit");
        assert_eq!(at(fits + 1), ["Data too large"]);

        // Data that fitted the old 1 MiB data-only check but not the request: refused at plan
        // time now, instead of ZooKeeper dropping the connection at apply.
        let near = config(vec![
            ("path", Value::from("/app/config")),
            ("data_base64", Value::from(B64.encode(vec![0u8; 1_048_560]))),
        ]);
        assert_eq!(summaries(&near), ["Data too large"]);

        // ACL entries count: a long digest id takes room from the data.
        let acl = Value::List(vec![config(vec![
            ("scheme", Value::from("digest")),
            ("id", Value::from(format!("kafka:{}", "A".repeat(27) + "="))),
            ("permissions", Value::from("cdrwa")),
        ])]);
        let with_acl = config(vec![
            ("path", Value::from("/p")),
            ("data", Value::from("x".repeat(fits))),
            ("acl", acl),
        ]);
        assert_eq!(summaries(&with_acl), ["Data too large"]);
    }

    #[test]
    fn data_and_data_base64_together_only_when_they_agree() {
        let both = |b64: &str| {
            summaries(&config(vec![
                ("path", Value::from("/p")),
                ("data", Value::from("hello")),
                ("data_base64", Value::from(b64)),
            ]))
        };
        // As `tofu plan -generate-config-out` writes an imported znode.
        assert!(both(&B64.encode("hello")).is_empty());
        assert_eq!(both(&B64.encode("other")), ["Conflicting data attributes"]);
    }
}
