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
