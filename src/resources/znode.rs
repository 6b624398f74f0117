//! `zkkafka_znode`: a persistent znode with its data and, optionally, its ACL.
//!
//! Data updates carry the version read at refresh, ACL updates the ACL version, so a change
//! someone made in between is reported, never overwritten. Delete refuses a znode with
//! children unless `delete_children = true`. Without `acl` blocks the znode is created with
//! `world:anyone:cdrwa` and its ACL is left unmanaged.

use async_trait::async_trait;
use base64::Engine as _;

use crate::adapters::zookeeper::{validate_path, Stat, ZkError, CHROOT_NOTE};
use crate::framework::resource::unsupported_state_version;
use crate::framework::{Attribute, Block, Context, PlanModifier, PlannedChange, Resource, Schema};
use crate::tfvalue::{AttributePath, Diagnostics, Type, Value};

use super::zk_common::{
    acl_block, acls_from_value, acls_to_value, check_connection_at_plan, connection_block,
    forget_early_blocks, import_session, open_acl, refresh_session, session, session_digest_ids,
    set_stat, stat_attributes, state_version, validate_acl_entries, zk_diagnostic,
    CONNECTION_BLOCK, DROPPED_STAT_ATTRIBUTES, STAT_ATTRIBUTES,
};

/// ZooKeeper's default `jute.maxbuffer` (0xfffff bytes) bounds a whole request: the server
/// drops the connection on a longer one. The data shares it with the path and the ACL.
pub const MAX_REQUEST_BYTES: usize = 0xfffff;

/// What ZooKeeper's answer to a read adds to the data: the reply header (xid, zxid, error), the
/// data's length and the stat. Clients refuse an answer of their jute.maxbuffer (the same
/// default) or more (the Java client's check is `len >= packetLen`, where the server's is
/// `len > maxBuffer`), so data the server would take but no default client could read back is
/// refused too.
const READ_ANSWER_OVERHEAD: usize = 16 + 4 + 68;

/// The longest answer a default client reads.
const MAX_ANSWER_BYTES: usize = MAX_REQUEST_BYTES - 1;

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

/// A session id as ZooKeeper's own tools print it (`0x1000a2b3c4d0005`).
fn session_hex(id: i64) -> String {
    format!("{:#x}", id)
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
            // Not computed from `data`: a copy in base64 would show a sensitive `data` in every
            // plan, since the CLI only marks what the configuration itself marks.
            .attr(Attribute::optional("data_base64", Type::String).describe(
                "Data as standard base64, for binary content. Null when data is used.",
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
            version: 3,
            block: stat_attributes(block),
        }
    }

    /// Version 0 also kept `data_length`, `czxid`, `mzxid`, `ctime` and `mtime`; version 1
    /// dropped them (see [`STAT_ATTRIBUTES`]). Versions 0 and 1 had a computed `id`, a copy of
    /// `path`; version 2 drops it. Up to version 2, `data_base64` was also computed from
    /// `data`; version 3 keeps only the one the configuration uses. Early version-0 states
    /// also had a `timeouts` block and called the `zookeeper` block `connection`.
    fn upgrade_state(
        &self,
        version: i64,
        mut state: serde_json::Value,
        diags: &mut Diagnostics,
    ) -> Option<serde_json::Value> {
        let Some(attributes) = state.as_object_mut().filter(|_| matches!(version, 0..=2)) else {
            unsupported_state_version(self.type_name(), version, diags);
            return None;
        };
        if version == 0 {
            for name in DROPPED_STAT_ATTRIBUTES {
                attributes.remove(name);
            }
            forget_early_blocks(attributes);
        }
        attributes.remove("id");
        // Versions 0 to 2 computed data_base64: from data, and "" with neither set.
        let data_set = attributes.get("data").is_some_and(|d| !d.is_null());
        if data_set || attributes.get("data_base64").and_then(|b| b.as_str()) == Some("") {
            attributes.insert("data_base64".into(), serde_json::Value::Null);
        }
        Some(state)
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let (data, b64) = (config.attr("data"), config.attr("data_base64"));
        // Both set is fine when they say the same thing.
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
        let len = if data.is_null() && b64.is_null() {
            Some(0)
        } else {
            data.as_str().map(str::len).or_else(|| {
                b64.as_str()
                    .and_then(|s| B64.decode(s).ok())
                    .map(|b| b.len())
            })
        };
        if let (Some(len), Some(path)) = (len, config.attr("path").as_str()) {
            let acl = config.attr("acl").as_elements().unwrap_or(&[]);
            let request = create_request_bytes(path, len, acl);
            let answer = len + READ_ANSWER_OVERHEAD;
            if request > MAX_REQUEST_BYTES || answer > MAX_ANSWER_BYTES {
                let around = request - len;
                let (attr, detail) = if around > MAX_REQUEST_BYTES {
                    (
                        "path".to_string(),
                        format!(
                            "With its ACL, creating this path takes a request of {around} bytes before any \
                             data, and ZooKeeper refuses requests over {MAX_REQUEST_BYTES} bytes (its default \
                             jute.maxbuffer). Use a shorter path."
                        ),
                    )
                } else {
                    (
                        if data.is_null() { "data_base64" } else { "data" }.to_string(),
                        format!(
                            "The data is {len} bytes. With the path and the ACL, writing it takes a request \
                             of {request} bytes, and reading it back an answer of {answer} bytes; with the default \
                             jute.maxbuffer ({MAX_REQUEST_BYTES}), ZooKeeper's server refuses larger requests and \
                             its clients (Kafka's too) answers of that size or more, so at most {} bytes of data fit \
                             here. Store large content elsewhere and keep a reference in the znode.",
                            (MAX_REQUEST_BYTES - around).min(MAX_ANSWER_BYTES - READ_ANSWER_OVERHEAD)
                        ),
                    )
                };
                diags.error_at(AttributePath::attr(attr), "Data too large", detail);
            }
        }
        validate_acl_entries(config, diags);
    }

    async fn modify_plan(
        &self,
        ctx: &Context,
        change: &mut PlannedChange,
        diags: &mut Diagnostics,
    ) {
        let (data, b64) = (
            change.config.attr("data"),
            change.config.attr("data_base64"),
        );
        if let (Some(text), Some(encoded)) = (data.as_str(), b64.as_str()) {
            // Validation passes unknown values; once known at apply, they must still agree.
            if B64.encode(text) != encoded {
                diags.error_at(
                    AttributePath::attr("data_base64"),
                    "Conflicting data attributes",
                    "Set data (text) or data_base64 (binary), not both.",
                );
            }
        }
        check_connection_at_plan(ctx, change, diags);
        if !change.is_create() && !change.changed("path") && !change.changed(CONNECTION_BLOCK) {
            // Stat fields stay known unless this apply changes them: the data version
            // changes with the data, the ACL version with the ACL, the child count with
            // neither. A client moving them between plan and apply is no inconsistency: the
            // apply records what the plan promised, the next refresh what the server holds.
            let data_changes = data_bytes(&change.planned) != data_bytes(&change.prior)
                || change.planned.attr("data").is_unknown()
                || change.planned.attr("data_base64").is_unknown();
            // An unknown ACL (a dynamic block over values not known yet) may change.
            let planned_acl = change.planned_attr("acl");
            let acl_changes = change.changed("acl")
                && (planned_acl.is_unknown()
                    || planned_acl.as_elements().is_some_and(|a| !a.is_empty()));
            let mut keep = Vec::new();
            if !data_changes {
                keep.push("version");
            }
            if !acl_changes {
                keep.push("acl_version");
            }
            keep.push("children_count");
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
                        "{path} already exists. To manage a znode made elsewhere, import it: terraform import \
                         <address> {path}. If this resource is being replaced with create_before_destroy, the new \
                         znode cannot be created while the old one is there: remove create_before_destroy."
                    ),
                );
                None
            }
            Err(ZkError::NoNode { path: missing }) => {
                // With create_parents, only the top can be missing: the chroot, which the
                // connect string names and this provider does not create.
                let detail = if missing.ends_with(CHROOT_NOTE) {
                    format!(
                        "{missing} does not exist, so {path} cannot be created. The provider does not create \
                         the chroot (create_parents neither): create it first, for example as a zkkafka_znode \
                         on a connection without the chroot."
                    )
                } else if create_parents {
                    format!(
                        "{missing} does not exist, so {path} cannot be created: create_parents creates \
                         the znodes between it and {path}, not {missing} itself. Create it first."
                    )
                } else {
                    format!("{missing}, the parent of {path}, does not exist. Create it first, or set create_parents = true.")
                };
                diags.error_at(
                    AttributePath::attr("path"),
                    "Parent znode does not exist",
                    detail,
                );
                None
            }
            Err(e) if e.outcome_unknown() => {
                // The create may have happened: keep the znode in the state (the CLI marks it
                // tainted), so the next plan reads it back and replaces it, or, if it is not
                // there, creates it. Forgetting it would make the next apply fail on a znode
                // this provider made.
                let mut diag = zk_diagnostic(&format!("create znode {path}"), e);
                diag.detail.push_str(
                    " The znode may have been created; it stays in the state, marked tainted, and \
                     the next plan reads it back and replaces it, or creates it if it is not there.",
                );
                diags.push(diag);
                let mut state = planned.clone();
                set_stat(&mut state, &Stat::default());
                Some(state)
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
        if stat.ephemeral_owner != 0 {
            diags.warning_at(
                AttributePath::attr("path"),
                "Znode is ephemeral",
                format!(
                    "{path} is now an ephemeral znode of ZooKeeper session {}: another client deleted the \
                     znode this resource created and made its own, which disappears when that session \
                     ends. Destroy will leave it to its owner. Find that client, or stop managing the path \
                     here (terraform state rm).",
                    session_hex(stat.ephemeral_owner)
                ),
            );
        }
        let mut new = state.clone();
        if let Value::Object(m) = &mut new {
            let (text, binary) = (
                !state.attr("data").is_null(),
                !state.attr("data_base64").is_null(),
            );
            // Bytes that are not UTF-8 cannot be `data`: they show up as data_base64, so the
            // plan says the server holds binary data instead of a lossy copy of it as text.
            let utf8 = std::str::from_utf8(&data).ok();
            match (text, utf8) {
                (true, Some(s)) => {
                    m.insert("data".into(), Value::from(s));
                }
                (true, None) => {
                    m.insert("data".into(), Value::Null);
                    m.insert("data_base64".into(), Value::from(B64.encode(&data)));
                }
                _ => {}
            }
            // With neither attribute set the znode should be empty; data found there shows
            // up as data_base64, and the plan proposes to clear it.
            if binary || (!text && !data.is_empty()) {
                m.insert("data_base64".into(), Value::from(B64.encode(&data)));
            }
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
        let seen;
        let prior = if prior
            .attr(CONNECTION_BLOCK)
            .semantic_eq(planned.attr(CONNECTION_BLOCK))
        {
            prior
        } else {
            // Another connection may reach another ensemble, where the state's versions (and
            // the znode itself) mean nothing: read it there first, and create it if missing.
            let mut through_new = prior.clone();
            if let Value::Object(m) = &mut through_new {
                m.insert(
                    CONNECTION_BLOCK.into(),
                    planned.attr(CONNECTION_BLOCK).clone(),
                );
            }
            seen = self.read(ctx, &through_new, diags).await;
            match &seen {
                Some(found) => found,
                None if diags.has_errors() => return prior.clone(),
                None => {
                    return self
                        .create(ctx, planned, diags)
                        .await
                        .unwrap_or_else(|| prior.clone())
                }
            }
        };
        let mut state = planned.clone();
        // Until an operation succeeds, the znode is as it was.
        for name in STAT_ATTRIBUTES {
            if let Value::Object(m) = &mut state {
                m.insert(name.into(), prior.attr(name).clone());
            }
        }
        if data_bytes(prior) != data_bytes(planned) {
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
        if !acl.is_empty() && acl != acls_from_value(prior.attr("acl")) {
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
        // The stat the plan promised stays as promised: a client writing between plan and
        // apply moves the server's counters, and the next refresh records them.
        for name in STAT_ATTRIBUTES {
            let promised = planned.attr(name);
            if !promised.is_unknown() {
                if let Value::Object(m) = &mut state {
                    m.insert(name.into(), promised.clone());
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
        // Another client's ephemeral znode in its place lives and dies with that client's
        // session (a broker registration, a lock): not this resource's to delete.
        match store.exists(path).await {
            Ok(Some(stat)) if stat.ephemeral_owner != 0 => {
                return diags.warning_at(
                    AttributePath::attr("path"),
                    "Ephemeral znode not deleted",
                    format!(
                        "{path} is an ephemeral znode of ZooKeeper session {}, not the persistent znode this \
                         resource created; it stays until that session ends. The resource is removed from \
                         the state.",
                        session_hex(stat.ephemeral_owner)
                    ),
                );
            }
            Ok(None) => return,
            Ok(Some(_)) => {}
            Err(e) => return diags.push(zk_diagnostic(&format!("delete znode {path}"), e)),
        }
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
        if let Some(reason) = invalid.iter().next() {
            diags.error(
                "Invalid import ID",
                // The reason names the path already.
                format!(
                    "The import ID is the znode path, e.g. /app/config. {}",
                    reason.detail
                ),
            );
            return None;
        }
        let store = match import_session(ctx, id).await {
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
        if stat.ephemeral_owner != 0 {
            diags.error(
                "Cannot import an ephemeral znode",
                format!(
                    "{id} is ephemeral: it belongs to ZooKeeper session {} and goes when that session ends \
                     (a broker registration, a lock, an election). zkkafka_znode manages persistent znodes; \
                     leave this one to the client that owns it.",
                    session_hex(stat.ephemeral_owner)
                ),
            );
            return None;
        }
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
            (
                "data_base64",
                Value::from((text.is_none() && !data.is_empty()).then(|| B64.encode(&data))),
            ),
            ("data", Value::from(text)),
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
    fn data_fits_when_the_create_request_and_the_read_answer_do() {
        let at = |path: &str, len: usize| {
            summaries(&config(vec![
                ("path", Value::from(path)),
                ("data", Value::from("x".repeat(len))),
            ]))
        };
        // A short path: the answer to a read (data + 88 bytes, and less than jute.maxbuffer) is
        // the larger packet.
        let fits = MAX_REQUEST_BYTES - 1 - 88;
        assert!(at("/p", fits).is_empty(), "{fits} bytes fit");
        assert_eq!(at("/p", fits + 1), ["Data too large"]);

        // A long path: the create request is. "/" + 99 letters, world:anyone:cdrwa: 8 + 104 +
        // 4 + 27 + 4 bytes around the data.
        let long = format!("/{}", "p".repeat(99));
        let fits = MAX_REQUEST_BYTES - 147;
        assert!(at(&long, fits).is_empty(), "{fits} bytes fit under {long}");
        assert_eq!(at(&long, fits + 1), ["Data too large"]);

        // Data that fitted the old 1 MiB data-only check but not the request: refused at plan
        // time now, instead of ZooKeeper dropping the connection at apply.
        let near = config(vec![
            ("path", Value::from("/app/config")),
            ("data_base64", Value::from(B64.encode(vec![0u8; 1_048_560]))),
        ]);
        assert_eq!(summaries(&near), ["Data too large"]);

        // ACL entries count: long digest ids take room from the data.
        let entry = |user: &str| {
            config(vec![
                ("scheme", Value::from("digest")),
                (
                    "id",
                    Value::from(format!("{user}:{}", "A".repeat(27) + "=")),
                ),
                ("permissions", Value::from("cdrwa")),
            ])
        };
        let acl = Value::List(vec![entry("kafka"), entry("admin")]);
        let with_acl = config(vec![
            ("path", Value::from("/p")),
            ("data", Value::from("x".repeat(MAX_REQUEST_BYTES - 1 - 88))),
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
        assert!(both(&B64.encode("hello")).is_empty());
        assert_eq!(both(&B64.encode("other")), ["Conflicting data attributes"]);
    }

    #[test]
    fn a_path_too_long_for_any_request_is_the_path_s_fault() {
        let mut diags = Diagnostics::new();
        let long = format!("/{}", "p".repeat(MAX_REQUEST_BYTES));
        ZnodeResource.validate(
            &config(vec![("path", Value::from(long.as_str()))]),
            &mut diags,
        );
        let d = diags.iter().next().expect("refused without any data");
        assert_eq!(d.attribute, Some(AttributePath::attr("path")), "{d:?}");
        assert!(d.detail.contains("shorter path"), "{}", d.detail);

        let mut diags = Diagnostics::new();
        let with_data = config(vec![
            ("path", Value::from(long)),
            ("data", Value::from("x")),
        ]);
        ZnodeResource.validate(&with_data, &mut diags);
        let d = diags.iter().next().expect("refused with data too");
        assert_eq!(
            d.attribute,
            Some(AttributePath::attr("path")),
            "not the data: {d:?}"
        );
    }

    #[test]
    fn equal_acl_entries_are_refused_at_the_second() {
        let entry = |perms: &str| {
            config(vec![
                ("scheme", Value::from("world")),
                ("id", Value::from("anyone")),
                ("permissions", Value::from(perms)),
            ])
        };
        let mut diags = Diagnostics::new();
        let acl = Value::List(vec![entry("r"), entry("cdrwa"), entry("adcwr")]);
        ZnodeResource.validate(
            &config(vec![("path", Value::from("/p")), ("acl", acl)]),
            &mut diags,
        );
        let found: Vec<_> = diags
            .iter()
            .map(|d| (d.summary.as_str(), d.attribute.clone()))
            .collect();
        assert_eq!(
            found,
            [(
                "Duplicate ACL entry",
                Some(
                    AttributePath::attr("acl")
                        .then_index(2)
                        .then_attr("permissions")
                )
            )]
        );
    }

    #[test]
    fn version_2_states_keep_only_the_data_attribute_in_use() {
        let upgrade = |state: serde_json::Value| {
            let mut diags = Diagnostics::new();
            let out = ZnodeResource.upgrade_state(2, state, &mut diags);
            assert!(!diags.has_errors());
            out.expect("upgraded")
        };
        let text = upgrade(serde_json::json!({"path": "/a", "data": "x", "data_base64": "eA=="}));
        assert_eq!(text["data_base64"], serde_json::Value::Null);
        assert_eq!(text["data"], "x");
        let binary =
            upgrade(serde_json::json!({"path": "/a", "data": null, "data_base64": "AAE="}));
        assert_eq!(binary["data_base64"], "AAE=");
        // With neither set, version 2 computed "": no data, so nothing to keep.
        let empty = upgrade(serde_json::json!({"path": "/a", "data": null, "data_base64": ""}));
        assert_eq!(empty["data_base64"], serde_json::Value::Null);

        // Early version-0 states: a timeouts block, and the zookeeper block under its old
        // name `connection`, which the CLIs never filled in.
        let mut diags = Diagnostics::new();
        let early = serde_json::json!({
            "path": "/a", "id": "/a", "data": null, "data_base64": "",
            "timeouts": null, "connection": null,
        });
        let out = ZnodeResource
            .upgrade_state(0, early, &mut diags)
            .expect("upgraded");
        assert!(
            out.get("timeouts").is_none() && out.get("connection").is_none(),
            "{out}"
        );
        assert_eq!(out["zookeeper"], serde_json::Value::Null);
        assert_eq!(out["data_base64"], serde_json::Value::Null);
    }
}
