//! Read (refresh) and import: every managed object is fetched once, concurrently, and its
//! managed fields (see [`super::observe`]) become the digest in `kubernetes_objects`. A digest
//! that differs from the rendered one is drift; a missing key is a deleted object; no object
//! at all means the ensemble is gone.

use serde_json::Value as Json;

use crate::framework::Context;
use crate::resources::k8s_common::kube_io as common;
use crate::tfvalue::{Diagnostic, Diagnostics, Value};

use super::kube_io::{self, decode_import_record, IMPORT_RECORD_ANNOTATION};
use super::model::Ensemble;
use super::render;

/// Sets the attributes computed from the model (id, connect string, members).
pub fn set_computed(state: &mut Value, e: &Ensemble) {
    if let Value::Object(m) = state {
        m.insert("id".into(), Value::from(e.id()));
        m.insert("connect_string".into(), Value::from(e.connect_string()));
        m.insert("servers".into(), e.servers_value());
    }
}

pub async fn read(ctx: &Context, state: &Value, diags: &mut Diagnostics) -> Option<Value> {
    let Ok(e) = Ensemble::from_value(state) else {
        diags.push(Diagnostic::error(
            "Unreadable state",
            "The state of this ensemble lacks name, namespace or replicas; remove it from state \
             and import it again by namespace/name.",
        ));
        return Some(state.clone());
    };
    let store = match common::refresh_store(ctx).await {
        Ok(Some(s)) => s,
        Ok(None) => return Some(state.clone()),
        Err(d) => {
            diags.push(d);
            return Some(state.clone());
        }
    };
    let password = state.attr("super_password").as_str().unwrap_or_default();
    let mut objects = render::render(&e, password);
    if password.is_empty() {
        objects.retain(|o| o.kind != "Secret");
    }
    let digests =
        match common::observe_objects(ctx, store.as_ref(), &e.namespace, objects, state, &e.id())
            .await
        {
            Ok(d) => d,
            Err(d) => {
                diags.push(d);
                return Some(state.clone());
            }
        };
    if digests.is_empty() {
        tracing::info!(ensemble = %e.id(), "no managed object exists: the ensemble is gone");
        return None;
    }
    let mut out = state.clone();
    set_computed(&mut out, &e);
    if let Value::Object(m) = &mut out {
        m.insert("kubernetes_objects".into(), Value::Map(digests));
    }
    Some(out)
}

/// Import by `namespace/name`: the arguments come from the StatefulSet's import record, the
/// super user's password from the Secret; `read` then fills in the digests.
pub async fn import(ctx: &Context, id: &str, diags: &mut Diagnostics) -> Option<Value> {
    let Some((namespace, name)) = id
        .split_once('/')
        .filter(|(n, m)| !n.is_empty() && !m.is_empty())
    else {
        diags.error(
            "Invalid import ID",
            format!("Import a ZooKeeper ensemble by namespace/name, e.g. data/zk; got {id:?}."),
        );
        return None;
    };
    let store = match kube_io::store(ctx).await {
        Ok(s) => s,
        Err(d) => {
            diags.push(d);
            return None;
        }
    };
    let sts_ref = crate::adapters::kubernetes::ObjectRef::namespaced(
        "apps/v1",
        "StatefulSet",
        namespace,
        name,
    );
    let sts = match store.get(&sts_ref).await {
        Ok(s) => s,
        Err(err) if err.is_not_found() => {
            diags.error(
                "Ensemble not found",
                format!("There is no StatefulSet {name} in namespace {namespace} to import."),
            );
            return None;
        }
        Err(err) => {
            diags.push(kube_io::kube_diagnostic(&err));
            return None;
        }
    };
    let record = sts
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(IMPORT_RECORD_ANNOTATION))
        .and_then(Json::as_str)
        .and_then(decode_import_record);
    let Some(mut state) = record else {
        diags.error(
            "Not an ensemble made by this provider",
            format!(
                "StatefulSet {name} in namespace {namespace} has no {IMPORT_RECORD_ANNOTATION} \
                 annotation: only ensembles this provider created can be imported."
            ),
        );
        return None;
    };
    let Ok(e) = Ensemble::from_value(&state) else {
        diags.error(
            "Unreadable import record",
            format!("The {IMPORT_RECORD_ANNOTATION} annotation of StatefulSet {name} does not describe an ensemble."),
        );
        return None;
    };
    let secret_ref = crate::adapters::kubernetes::ObjectRef::namespaced(
        "v1",
        "Secret",
        namespace,
        &e.secret_name(),
    );
    let password = match store.get(&secret_ref).await {
        Ok(secret) => secret
            .pointer(&format!("/data/{}", render::SECRET_PASSWORD_KEY))
            .and_then(Json::as_str)
            .and_then(|b| {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.decode(b).ok()
            })
            .and_then(|b| String::from_utf8(b).ok()),
        Err(err) if err.is_not_found() => None,
        Err(err) => {
            diags.push(kube_io::kube_diagnostic(&err));
            return None;
        }
    };
    set_computed(&mut state, &e);
    if let Value::Object(m) = &mut state {
        m.insert(
            "super_password".into(),
            password.map(Value::from).unwrap_or(Value::Null),
        );
        m.insert("kubernetes_objects".into(), Value::Null);
    }
    Some(state)
}
