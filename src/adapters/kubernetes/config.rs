//! The client configuration from the provider's `kubernetes {}` block: a kubeconfig file
//! (`config_path`, `config_context`), or `host` with a token and/or client certificate, or,
//! with neither, what kubectl would use (KUBECONFIG, ~/.kube/config, the in-cluster service
//! account). Every configuration gets the connect and request timeouts of this module's parent.

use base64::Engine as _;
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::json;

use super::{KubeError, CONNECT_TIMEOUT, REQUEST_TIMEOUT};
use crate::resources::provider_config::{Configured, KubernetesSettings};

/// `~/x` to `$HOME/x`.
fn expand_home(path: &str) -> String {
    match (path.strip_prefix("~/"), std::env::var("HOME")) {
        (Some(rest), Ok(home)) => format!("{home}/{rest}"),
        _ => path.to_owned(),
    }
}

fn config_error(e: impl std::fmt::Display) -> KubeError {
    KubeError::Config {
        detail: e.to_string(),
    }
}

/// An in-memory kubeconfig for `host` with inline credentials, so kube parses the PEM blocks
/// exactly as it does for a file.
fn inline_kubeconfig(s: &KubernetesSettings, host: &str) -> Result<Kubeconfig, KubeError> {
    let b64 = |t: &str| base64::engine::general_purpose::STANDARD.encode(t);
    let mut cluster = json!({ "server": host });
    if let Some(ca) = &s.cluster_ca_certificate {
        cluster["certificate-authority-data"] = json!(b64(ca));
    }
    let mut user = json!({});
    if let Some(token) = &s.token {
        user["token"] = json!(token);
    }
    if let Some(cert) = &s.client_certificate {
        user["client-certificate-data"] = json!(b64(cert));
    }
    if let Some(key) = &s.client_key {
        user["client-key-data"] = json!(b64(key));
    }
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{ "name": "zkkafka", "cluster": cluster }],
        "users": [{ "name": "zkkafka", "user": user }],
        "contexts": [{ "name": "zkkafka", "context": { "cluster": "zkkafka", "user": "zkkafka" } }],
        "current-context": "zkkafka",
    }))
    .map_err(config_error)
}

/// The kube client configuration for the provider's settings.
pub async fn client_config(
    settings: &Configured<KubernetesSettings>,
) -> Result<kube::Config, KubeError> {
    let mut config = match settings {
        Configured::Unknown => return Err(KubeError::SettingsUnknown),
        Configured::Absent => kube::Config::infer().await.map_err(config_error)?,
        Configured::Known(s) => {
            let options = KubeConfigOptions {
                context: s.config_context.clone(),
                ..KubeConfigOptions::default()
            };
            match (&s.config_path, &s.host) {
                (Some(path), _) => {
                    let path = expand_home(path);
                    let kc = Kubeconfig::read_from(&path)
                        .map_err(|e| config_error(format!("reading kubeconfig {path}: {e}")))?;
                    kube::Config::from_custom_kubeconfig(kc, &options)
                        .await
                        .map_err(|e| config_error(format!("kubeconfig {path}: {e}")))?
                }
                (None, Some(host)) => {
                    kube::Config::from_custom_kubeconfig(inline_kubeconfig(s, host)?, &options)
                        .await
                        .map_err(config_error)?
                }
                (None, None) if s.config_context.is_some() => {
                    kube::Config::from_kubeconfig(&options)
                        .await
                        .map_err(config_error)?
                }
                (None, None) => kube::Config::infer().await.map_err(config_error)?,
            }
        }
    };
    config.connect_timeout = Some(CONNECT_TIMEOUT);
    config.read_timeout = Some(REQUEST_TIMEOUT);
    config.write_timeout = Some(REQUEST_TIMEOUT);
    config.reset_reader_on_write = true;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn host_with_token_builds_a_config_with_timeouts() {
        let settings = Configured::Known(KubernetesSettings {
            host: Some("https://127.0.0.1:6443".into()),
            token: Some("abc".into()),
            ..KubernetesSettings::default()
        });
        let cfg = client_config(&settings).await.unwrap();
        assert_eq!(cfg.cluster_url.to_string(), "https://127.0.0.1:6443/");
        assert_eq!(cfg.connect_timeout, Some(CONNECT_TIMEOUT));
        assert_eq!(cfg.read_timeout, Some(REQUEST_TIMEOUT));
    }

    #[tokio::test]
    async fn unknown_settings_and_missing_files_are_errors() {
        assert!(matches!(
            client_config(&Configured::Unknown).await,
            Err(KubeError::SettingsUnknown)
        ));
        let settings = Configured::Known(KubernetesSettings {
            config_path: Some("/nonexistent/kubeconfig".into()),
            ..KubernetesSettings::default()
        });
        let err = client_config(&settings).await.unwrap_err().to_string();
        assert!(err.contains("/nonexistent/kubeconfig"), "{err}");
    }
}
