//! [`KubeError`]: what went wrong talking to the API server, in terms a practitioner can act
//! on. Built from kube's errors by [`KubeError::from_kube`], which knows the operation.

/// One failed Kubernetes operation.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error("{what} does not exist")]
    NotFound { what: String },

    #[error(
        "the Kubernetes user may not {verb} {resource}{}: {message}",
        namespace.as_deref().map(|n| format!(" in namespace {n}")).unwrap_or_default()
    )]
    Forbidden {
        verb: String,
        resource: String,
        namespace: Option<String>,
        message: String,
    },

    #[error("namespace {namespace} does not exist")]
    NamespaceMissing { namespace: String },

    #[error("the Kubernetes API server at {server} did not answer: {detail}")]
    Unreachable { server: String, detail: String },

    #[error("the API server rejected {what}: {message}")]
    Invalid { what: String, message: String },

    #[error("no usable Kubernetes configuration: {detail}")]
    Config { detail: String },

    #[error("the Kubernetes settings are not known yet")]
    SettingsUnknown,

    #[error("{what}: {detail}")]
    Other { what: String, detail: String },
}

/// The operation an error happened in, so it can say what was not allowed or not found.
pub(crate) struct Operation<'a> {
    pub(crate) verb: &'a str,
    /// Plural resource name with its group, e.g. `statefulsets.apps`.
    pub(crate) resource: String,
    pub(crate) namespace: Option<&'a str>,
    /// `StatefulSet/zk in namespace data`, for messages.
    pub(crate) what: String,
    pub(crate) server: &'a str,
}

impl KubeError {
    pub(crate) fn from_kube(op: &Operation<'_>, err: kube::Error) -> KubeError {
        match err {
            kube::Error::Api(status) => {
                let message = status.message.clone();
                match status.code {
                    404 => {
                        let missing_kind = status
                            .details
                            .as_ref()
                            .map(|d| d.kind.as_str())
                            .unwrap_or_default();
                        match op.namespace {
                            Some(ns)
                                if missing_kind == "namespaces"
                                    && !op.resource.starts_with("namespaces") =>
                            {
                                KubeError::NamespaceMissing {
                                    namespace: ns.to_owned(),
                                }
                            }
                            _ => KubeError::NotFound {
                                what: op.what.clone(),
                            },
                        }
                    }
                    401 => KubeError::Config {
                        detail: format!("the API server did not accept the credentials: {message}"),
                    },
                    403 if !denied_by_authorizer(&message) => KubeError::Invalid {
                        what: op.what.clone(),
                        message,
                    },
                    403 => KubeError::Forbidden {
                        verb: op.verb.to_owned(),
                        resource: op.resource.clone(),
                        namespace: op.namespace.map(str::to_owned),
                        message,
                    },
                    400 | 409 | 422 => KubeError::Invalid {
                        what: op.what.clone(),
                        message,
                    },
                    code => KubeError::Other {
                        what: format!("{} {}", op.verb, op.what),
                        detail: format!("HTTP {code}: {message}"),
                    },
                }
            }
            kube::Error::HyperError(e) => KubeError::Unreachable {
                server: op.server.to_owned(),
                detail: chain(&e),
            },
            kube::Error::Service(e) => KubeError::Unreachable {
                server: op.server.to_owned(),
                detail: chain(e.as_ref()),
            },
            other => KubeError::Other {
                what: format!("{} {}", op.verb, op.what),
                detail: chain(&other),
            },
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, KubeError::NotFound { .. })
    }
}

/// Whether a 403 comes from authorization (RBAC or another authorizer), which the API server
/// words `User "<name>" cannot <verb> ...`. Other 403s come from admission (a policy, a
/// webhook, a quota, Pod Security, a terminating namespace): they reject the object itself,
/// and no permission granted would help.
fn denied_by_authorizer(message: &str) -> bool {
    message.contains("User \"") && message.contains("\" cannot ")
}

/// An error and its sources, `a: b: c`.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::denied_by_authorizer;

    #[test]
    fn forbidden_by_authorizer_or_by_admission() {
        let cases = [
            (
                "rbac, namespaced",
                r#"services "zk-client" is forbidden: User "limited" cannot patch resource "services" in API group "" in the namespace "data""#,
                true,
            ),
            (
                "rbac, cluster scope",
                r#"storageclasses.storage.k8s.io "fast" is forbidden: User "system:serviceaccount:ci:tf" cannot get resource "storageclasses" in API group "storage.k8s.io" at the cluster scope"#,
                true,
            ),
            (
                "validating admission policy",
                r#"services "zk-client" is forbidden: ValidatingAdmissionPolicy 'deny' with binding 'deny' denied request: not here"#,
                false,
            ),
            (
                "admission webhook",
                r#"admission webhook "validation.gatekeeper.sh" denied the request: [required-labels] you must provide labels: {"owner"}"#,
                false,
            ),
            (
                "quota",
                r#"persistentvolumeclaims "data-zk-3" is forbidden: exceeded quota: storage, requested: requests.storage=10Gi, used: requests.storage=30Gi, limited: requests.storage=32Gi"#,
                false,
            ),
            (
                "terminating namespace",
                r#"configmaps "zk-config" is forbidden: unable to create new content in namespace data because it is being terminated"#,
                false,
            ),
        ];
        for (name, message, authorizer) in cases {
            assert_eq!(denied_by_authorizer(message), authorizer, "{name}");
        }
    }
}
