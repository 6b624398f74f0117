//! `zkkafka_znode_acl`: the ACL of a znode that Terraform did not create (`/`, a Kafka chroot,
//! a znode an application creates).
//!
//! On create it records the ACL it found in `original_acl` and, on destroy, puts that ACL back.
//! Every update names the ACL version read at refresh, so an ACL changed elsewhere in between
//! is reported, not overwritten.

use async_trait::async_trait;

use crate::adapters::zookeeper::{validate_path, Acl, ZkError, CHROOT_NOTE};
use crate::framework::resource::unsupported_state_version;
use crate::framework::{Attribute, Block, Context, PlanModifier, PlannedChange, Resource, Schema};
use crate::tfvalue::{AttributePath, Diagnostic, Diagnostics, Type, Value};

use super::provider_config::ProviderData;

use super::zk_common::{
    acl_block, acls_from_value, acls_to_value, check_connection_at_plan, connect_string_of,
    connection_block, forget_early_blocks, import_session, refresh_session, session,
    session_digest_ids, state_version, validate_acl_entries, zk_diagnostic, CONNECTION_BLOCK,
};

pub struct ZnodeAclResource;

fn acl_object_type() -> Type {
    Type::object([
        ("scheme", Type::String),
        ("id", Type::String),
        ("permissions", Type::String),
    ])
}

fn validate_acl_path(path: &AttributePath, v: &Value, diags: &mut Diagnostics) {
    if let Some(p) = v.as_str() {
        if let Err(e) = validate_path(p) {
            diags.error_at(path.clone(), "Invalid znode path", format!("{p:?}: {e}."));
        }
    }
}

/// The chroot of the connect string a resource's calls go to (`/app` of `zk:2181/app`), or
/// `None` without one or while the connect string is unknown.
fn chroot_of(ctx: &Context, state: &Value) -> Option<String> {
    let connect = connect_string_of(ctx, state)?;
    let chroot = connect[connect.find('/')?..].trim_end_matches('/');
    (!chroot.is_empty()).then(|| chroot.to_owned())
}

/// The znode's path as the server knows it (under the connect string's chroot): two
/// connect strings may name one ensemble, so the connect string itself is not part of it.
fn server_path(ctx: &Context, state: &Value) -> Option<String> {
    let path = state.attr("path").as_str()?;
    connect_string_of(ctx, state)?;
    Some(match (chroot_of(ctx, state), path) {
        (None, path) => path.to_owned(),
        (Some(chroot), "/") => chroot,
        (Some(chroot), path) => format!("{chroot}{path}"),
    })
}

/// A path as a message should show it: `/` of a chrooted connection is the chroot.
fn shown_path(ctx: &Context, state: &Value, path: &str) -> String {
    match chroot_of(ctx, state) {
        Some(chroot) if path == "/" => format!("{chroot}{CHROOT_NOTE}"),
        _ => path.to_owned(),
    }
}

fn with(state: &Value, name: &str, value: Value) -> Value {
    let mut out = state.clone();
    if let Value::Object(m) = &mut out {
        m.insert(name.to_owned(), value);
    }
    out
}

#[async_trait]
impl Resource for ZnodeAclResource {
    fn type_name(&self) -> &'static str {
        "zkkafka_znode_acl"
    }

    fn schema(&self) -> Schema {
        Schema {
            version: 1,
            block: Block::new(
                "The ACL of an existing znode. The ACL found when Terraform took it over is restored on destroy.",
            )
            .attr(
                Attribute::required("path", Type::String)
                    .describe("Absolute path of an existing znode. Changing it moves management to another znode.")
                    .modifier(PlanModifier::RequiresReplace)
                    .validate(validate_acl_path),
            )
            .attr(
                Attribute::computed("original_acl", Type::list(acl_object_type()))
                    .describe("The ACL the znode had before Terraform managed it; restored on destroy.")
                    .modifier(PlanModifier::UseStateForUnknown),
            )
            .attr(Attribute::computed("acl_version", Type::Number).describe("ACL version (stat.aversion)."))
            .block(acl_block("An ACL entry, in the order ZooKeeper keeps them.").items(1, 0))
            .block(connection_block()),
        }
    }

    /// Version 0 had a computed `id`, a copy of `path`; version 1 drops it and is otherwise
    /// the same.
    fn upgrade_state(
        &self,
        version: i64,
        mut state: serde_json::Value,
        diags: &mut Diagnostics,
    ) -> Option<serde_json::Value> {
        let Some(attributes) = state.as_object_mut().filter(|_| version == 0) else {
            unsupported_state_version(self.type_name(), version, diags);
            return None;
        };
        forget_early_blocks(attributes);
        attributes.remove("id");
        Some(state)
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        validate_acl_entries(config, diags);
    }

    async fn modify_plan(
        &self,
        ctx: &Context,
        change: &mut PlannedChange,
        diags: &mut Diagnostics,
    ) {
        check_connection_at_plan(ctx, change, diags);
        if !change.is_create() && change.changed(CONNECTION_BLOCK) {
            // original_acl was read through the old connection. Another connect string may
            // reach another ensemble: give the ACL back there, then take over the znode through
            // the new one. New credentials or timeouts for the same servers change nothing.
            let before = connect_string_of(ctx, &change.prior);
            if before.is_none() || before != connect_string_of(ctx, &change.planned) {
                change.require_replace(CONNECTION_BLOCK);
            }
        }
        if !change.is_create()
            && !change.changed("acl")
            && !change.changed("path")
            && !auth_identities_change(&change.prior, &change.planned)
        {
            let v = change.prior.attr("acl_version").clone();
            change.set_planned("acl_version", v);
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
        let (original, stat) = match store.get_acl(&path).await {
            Ok(Some(found)) => found,
            Ok(None) => {
                let shown = shown_path(ctx, planned, &path);
                diags.error_at(
                    AttributePath::attr("path"),
                    "Znode does not exist",
                    format!(
                        "{shown} does not exist. zkkafka_znode_acl manages the ACL of an existing znode; \
                         to create one, use zkkafka_znode (with acl blocks)."
                    ),
                );
                return None;
            }
            Err(e) => {
                diags.push(zk_diagnostic(&format!("read the ACL of {path}"), e));
                return None;
            }
        };
        let taken_over = with(
            planned,
            "original_acl",
            acls_to_value(&original, &Value::Null, &[]),
        );
        let state = |aversion: i32| with(&taken_over, "acl_version", Value::int(aversion.into()));
        let acl = acls_from_value(planned.attr("acl"));
        let took_over = || {
            let data = ctx.provider_data::<ProviderData>();
            if let (Some(key), Some(data)) = (server_path(ctx, planned), data) {
                if let Ok(mut taken) = data.acls_taken_over.lock() {
                    taken.insert(key);
                }
            }
        };
        match store.set_acl(&path, &acl, stat.aversion).await {
            Ok(set) => {
                took_over();
                Some(state(set.aversion))
            }
            Err(e) if e.outcome_unknown() => {
                took_over();
                // The ACL may have been set. Keep the resource, and with it the ACL to restore
                // on destroy: the CLI marks it tainted, so the next plan reads the ACL back
                // and replaces the resource (restore, then set again).
                let mut diag = zk_diagnostic(&format!("set the ACL of {path}"), e);
                diag.detail.push_str(
                    " The ACL may have been set; the resource stays in the state, marked tainted, \
                     with the ACL it found, so destroy still restores that ACL.",
                );
                diags.push(diag);
                Some(state(stat.aversion))
            }
            Err(e) => {
                diags.push(zk_diagnostic(&format!("set the ACL of {path}"), e));
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
        match store.get_acl(&path).await {
            Ok(Some((acl, stat))) => {
                let ids = session_digest_ids(ctx, state);
                let new = with(state, "acl", acls_to_value(&acl, state.attr("acl"), &ids));
                Some(with(&new, "acl_version", Value::int(stat.aversion.into())))
            }
            Ok(None) => None,
            Err(e) => {
                diags.push(zk_diagnostic(&format!("read the ACL of {path}"), e));
                None
            }
        }
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
        // Same entries (permission letters in another order are the same permissions), unless
        // an `auth` entry now expands to other identities.
        if acls_from_value(prior.attr("acl")) == acls_from_value(planned.attr("acl"))
            && !auth_identities_change(prior, planned)
        {
            return with(planned, "acl_version", prior.attr("acl_version").clone());
        }
        let store = match session(ctx, planned).await {
            Ok(s) => s,
            Err(d) => {
                diags.push(d);
                return prior.clone();
            }
        };
        let acl = acls_from_value(planned.attr("acl"));
        match store
            .set_acl(&path, &acl, state_version(prior, "acl_version"))
            .await
        {
            Ok(stat) => with(planned, "acl_version", Value::int(stat.aversion.into())),
            Err(e) => {
                diags.push(zk_diagnostic(&format!("update the ACL of {path}"), e));
                prior.clone()
            }
        }
    }

    async fn delete(&self, ctx: &Context, prior: &Value, diags: &mut Diagnostics) {
        let Some(path) = prior.attr("path").as_str() else {
            return;
        };
        let original = acls_from_value(prior.attr("original_acl"));
        if original.is_empty() {
            return;
        }
        let store = match session(ctx, prior).await {
            Ok(s) => s,
            Err(d) => return diags.push(d),
        };
        match store
            .set_acl(path, &original, state_version(prior, "acl_version"))
            .await
        {
            Ok(_) | Err(ZkError::NoNode { .. }) => {}
            // The ACL changed since this instance read it. When another instance took the
            // znode over earlier in this apply (create_before_destroy), that change is its
            // ACL, which restoring would undo.
            Err(ZkError::BadVersion { .. }) if taken_over_here(ctx, prior) => {
                diags.push(left_to_replacement(path, &original));
            }
            Err(e) => diags.push(zk_diagnostic(
                &format!("restore the original ACL of {path}"),
                e,
            )),
        }
    }

    async fn import(&self, ctx: &Context, id: &str, diags: &mut Diagnostics) -> Option<Value> {
        if let Err(e) = validate_path(id) {
            diags.error(
                "Invalid import ID",
                format!("The import ID is the znode path, e.g. /kafka; {id:?}: {e}."),
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
        match store.get_acl(id).await {
            Ok(Some((acl, stat))) => {
                // Taken over as it is: destroy will leave the ACL found at import.
                let current = acls_to_value(&acl, &Value::Null, &[]);
                Some(Value::object([
                    ("path", Value::from(id)),
                    ("acl", current.clone()),
                    ("original_acl", current),
                    ("acl_version", Value::int(stat.aversion.into())),
                    ("zookeeper", Value::Null),
                ]))
            }
            Ok(None) => {
                let shown = shown_path(ctx, &Value::Null, id);
                diags.error(
                    "Cannot import a missing znode",
                    format!("{shown} does not exist."),
                );
                None
            }
            Err(e) => {
                diags.push(zk_diagnostic(&format!("read the ACL of {id}"), e));
                None
            }
        }
    }
}

/// Whether an `auth` entry grants other identities than before: it expands to the identities
/// the connection authenticates as, which the resource's own zookeeper {} block may change.
fn auth_identities_change(prior: &Value, planned: &Value) -> bool {
    let uses_auth = planned
        .attr("acl")
        .as_elements()
        .unwrap_or(&[])
        .iter()
        .any(|e| e.attr("scheme").as_str() == Some("auth"));
    uses_auth
        && !prior
            .attr(CONNECTION_BLOCK)
            .semantic_eq(planned.attr(CONNECTION_BLOCK))
}

/// Whether a create in this process took over the znode this state names.
fn taken_over_here(ctx: &Context, state: &Value) -> bool {
    let data = ctx.provider_data::<ProviderData>();
    match (server_path(ctx, state), data) {
        (Some(key), Some(data)) => data.acls_taken_over.lock().is_ok_and(|t| t.contains(&key)),
        _ => false,
    }
}

/// The destroy of an instance whose znode another instance took over earlier in the same apply:
/// `create_before_destroy`, or a resource renamed without a `moved` block whose create ran
/// first. Restoring now would undo the new instance's ACL, so it stays; but the new instance
/// recorded this instance's ACL as the one to restore, and only this warning still knows the
/// one found before either managed the znode.
fn left_to_replacement(path: &str, original: &[Acl]) -> Diagnostic {
    let entries: Vec<String> = original
        .iter()
        .map(|a| format!("{}:{}:{}", a.scheme, a.id, a.perms))
        .collect();
    Diagnostic::warning(
        format!("ACL of {path} left to the instance that replaced this one"),
        format!(
            "Another zkkafka_znode_acl for {path} set its ACL earlier in this apply (create_before_destroy, \
             or a renamed resource without a moved block), so destroying this one keeps that ACL. The new \
             instance will restore the ACL it found, which this one had set, not the ACL found before \
             either managed the znode: {}. Set that by hand after destroying the new instance if it \
             should come back, and remove create_before_destroy from this resource: two instances \
             cannot manage one ACL at once.",
            entries.join(",")
        ),
    )
}
