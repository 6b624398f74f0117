//! Plan-time checks shared by the resources that render Kubernetes objects: names (RFC 1123),
//! quantities, labels, annotations, scheduling, JVM heap sizes. Each reports against the
//! attribute path it is attached to (map entries as `labels["key"]`).

use crate::tfvalue::{AttributePath, Diagnostics, Value};

use super::scheduling::AntiAffinity;

/// A DNS label.
pub const MAX_LABEL_LEN: usize = 63;

/// Label keys the provider sets on every object and uses in selectors.
pub const OWNED_LABELS: [&str; 5] = [
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/version",
];

/// Annotation prefix the provider keeps for itself.
pub const OWNED_ANNOTATION_PREFIX: &str = "zkkafka.io/";

/// Why `s` is not an RFC 1123 label (lower-case alphanumerics and '-', alphanumeric at both
/// ends, at most `max` characters), or `None` when it is one.
pub fn rfc1123_label_problem(s: &str, max: usize) -> Option<String> {
    if s.is_empty() {
        return Some("it is empty".into());
    }
    if s.len() > max {
        return Some(format!(
            "it is {} characters long; the limit is {max}",
            s.len()
        ));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Some(format!(
            "it contains {c:?}; only lower-case letters, digits and '-' are allowed"
        ));
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Some("it must start and end with a letter or digit".into());
    }
    None
}

/// RFC 1123 subdomain: dot-separated labels, at most 253 characters.
pub fn rfc1123_subdomain_problem(s: &str) -> Option<String> {
    if s.len() > 253 {
        return Some(format!(
            "it is {} characters long; the limit is 253",
            s.len()
        ));
    }
    s.split('.')
        .find_map(|label| rfc1123_label_problem(label, MAX_LABEL_LEN))
}

pub fn namespace(path: &AttributePath, v: &Value, diags: &mut Diagnostics) {
    let Some(s) = v.as_str() else { return };
    if let Some(problem) = rfc1123_label_problem(s, MAX_LABEL_LEN) {
        diags.error_at(
            path.clone(),
            "Invalid namespace",
            format!("{s:?} is not a Kubernetes namespace name: {problem}."),
        );
    }
}

pub fn image(path: &AttributePath, v: &Value, diags: &mut Diagnostics) {
    let Some(s) = v.as_str() else { return };
    if s.is_empty() || s.chars().any(char::is_whitespace) {
        diags.error_at(
            path.clone(),
            "Invalid image",
            format!("{s:?} is not a container image reference."),
        );
    }
}

pub fn jvm_heap(path: &AttributePath, v: &Value, diags: &mut Diagnostics) {
    let Some(s) = v.as_str() else { return };
    let digits = s.trim_end_matches(['k', 'K', 'm', 'M', 'g', 'G']);
    let ok = s.len() - digits.len() <= 1
        && !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
        && digits.chars().any(|c| c != '0');
    if !ok {
        diags.error_at(
            path.clone(),
            "Invalid JVM heap size",
            format!("{s:?} is not a Java heap size; write e.g. \"512m\" or \"2g\" (as for -Xmx)."),
        );
    }
}

/// Checks Kubernetes `resource.Quantity` syntax: a number (digits, optional fraction) and an
/// optional suffix — binary `Ki Mi Gi Ti Pi Ei`, decimal `m k M G T P E`, or an exponent
/// `e<n>`/`E<n>`. Signs are refused: nothing here may be negative. Returns the problem.
pub fn quantity_problem(s: &str) -> Option<&'static str> {
    let number_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(number_end);
    if s.starts_with(['+', '-']) {
        return Some("a sign is not allowed here");
    }
    let dots = number.matches('.').count();
    if number.is_empty() || number == "." || dots > 1 {
        return Some("it does not start with a number");
    }
    let suffix_ok = matches!(
        suffix,
        "" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" | "m" | "k" | "M" | "G" | "T" | "P" | "E"
    ) || suffix
        .strip_prefix(['e', 'E'])
        .map(|exp| exp.strip_prefix(['+', '-']).unwrap_or(exp))
        .is_some_and(|exp| !exp.is_empty() && exp.chars().all(|c| c.is_ascii_digit()));
    if !suffix_ok {
        return Some("its unit is not one of Ki Mi Gi Ti Pi Ei m k M G T P E");
    }
    None
}

pub fn check_quantity(path: &AttributePath, s: &str, what: &str, diags: &mut Diagnostics) {
    if let Some(problem) = quantity_problem(s) {
        diags.error_at(
            path.clone(),
            "Invalid quantity",
            format!(
                "{what} {s:?} is not a Kubernetes quantity: {problem}. Write e.g. \"10Gi\", \
                 \"500m\" or \"2\"."
            ),
        );
    }
}

pub fn storage_size(path: &AttributePath, v: &Value, diags: &mut Diagnostics) {
    if let Some(s) = v.as_str() {
        check_quantity(path, s, "The storage size", diags);
        if quantity_problem(s).is_none() && !s.chars().any(|c| ('1'..='9').contains(&c)) {
            diags.error_at(
                path.clone(),
                "Invalid quantity",
                "The storage size must be more than zero.",
            );
        }
    }
}

pub fn storage_class(path: &AttributePath, v: &Value, diags: &mut Diagnostics) {
    let Some(s) = v.as_str() else { return };
    if let Some(problem) = rfc1123_subdomain_problem(s) {
        diags.error_at(
            path.clone(),
            "Invalid StorageClass name",
            format!("{s:?} is not a StorageClass name: {problem}."),
        );
    }
}

pub fn resource_quantities(path: &AttributePath, v: &Value, diags: &mut Diagnostics) {
    for (key, value) in v.as_entries().into_iter().flatten() {
        let p = path.then_key(key);
        if let Some(problem) = qualified_name_problem(key) {
            diags.error_at(
                p.clone(),
                "Invalid resource name",
                format!("{key:?} is not a resource name such as cpu or memory: {problem}."),
            );
        }
        if let Some(s) = value.as_str() {
            check_quantity(&p, s, &format!("The {key} amount"), diags);
        }
    }
}

/// Why `key` is not a Kubernetes qualified name (`[prefix/]name`), or `None`.
pub fn qualified_name_problem(key: &str) -> Option<String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(problem) = prefix.and_then(rfc1123_subdomain_problem) {
        return Some(format!("its prefix is not a DNS subdomain: {problem}"));
    }
    label_value_problem(name).or_else(|| name.is_empty().then(|| "its name is empty".into()))
}

/// Label values: at most 63 of `[A-Za-z0-9_.-]`, alphanumeric at both ends; may be empty.
pub fn label_value_problem(s: &str) -> Option<String> {
    if s.len() > MAX_LABEL_LEN {
        return Some(format!("{s:?} is longer than {MAX_LABEL_LEN} characters"));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Some(format!("{s:?} contains {c:?}"));
    }
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let ends_ok = alnum(s.chars().next()) && alnum(s.chars().last());
    if !s.is_empty() && !ends_ok {
        return Some(format!("{s:?} must start and end with a letter or digit"));
    }
    None
}

pub fn labels(path: &AttributePath, v: &Value, diags: &mut Diagnostics) {
    for (key, value) in v.as_entries().into_iter().flatten() {
        let p = path.then_key(key);
        if OWNED_LABELS.contains(&key.as_str()) {
            diags.error_at(
                p.clone(),
                "Label owned by the provider",
                format!("{key} is set by the provider on every object (and used in selectors); remove it."),
            );
        }
        let problem = qualified_name_problem(key)
            .map(|p| format!("the key {key:?} is invalid: {p}"))
            .or_else(|| {
                value
                    .as_str()
                    .and_then(label_value_problem)
                    .map(|p| format!("the value {p}"))
            });
        if let Some(problem) = problem {
            diags.error_at(p, "Invalid label", format!("{problem}."));
        }
    }
}

pub fn annotations(path: &AttributePath, v: &Value, diags: &mut Diagnostics) {
    for key in v.as_entries().into_iter().flatten().map(|(k, _)| k) {
        let p = path.then_key(key);
        if key.starts_with(OWNED_ANNOTATION_PREFIX) {
            diags.error_at(
                p,
                "Annotation owned by the provider",
                format!(
                    "Annotations under {OWNED_ANNOTATION_PREFIX} are the provider's; remove {key}."
                ),
            );
        } else if let Some(problem) = qualified_name_problem(key) {
            diags.error_at(p, "Invalid annotation key", format!("{key:?}: {problem}."));
        }
    }
}

pub fn anti_affinity(path: &AttributePath, v: &Value, diags: &mut Diagnostics) {
    let Some(s) = v.as_str() else { return };
    if AntiAffinity::parse(s).is_none() {
        diags.error_at(
            path.clone(),
            "Invalid anti_affinity",
            format!("{s:?}: use one of {}.", AntiAffinity::NAMES.join(", ")),
        );
    }
}

pub fn toleration_operator(path: &AttributePath, v: &Value, diags: &mut Diagnostics) {
    if let Some(s) = v.as_str().filter(|s| !matches!(*s, "Equal" | "Exists")) {
        diags.error_at(
            path.clone(),
            "Invalid toleration operator",
            format!("{s:?}: use \"Equal\" or \"Exists\"."),
        );
    }
}

pub fn toleration_effect(path: &AttributePath, v: &Value, diags: &mut Diagnostics) {
    if let Some(s) = v
        .as_str()
        .filter(|s| !matches!(*s, "" | "NoSchedule" | "PreferNoSchedule" | "NoExecute"))
    {
        diags.error_at(
            path.clone(),
            "Invalid toleration effect",
            format!("{s:?}: use NoSchedule, PreferNoSchedule or NoExecute (or leave it empty)."),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(f: fn(&AttributePath, &Value, &mut Diagnostics), v: Value) -> Diagnostics {
        let mut d = Diagnostics::new();
        f(&AttributePath::attr("x"), &v, &mut d);
        d
    }

    fn map(pairs: &[(&str, &str)]) -> Value {
        Value::Map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Value::from(*v)))
                .collect(),
        )
    }

    #[test]
    fn quantities() {
        for ok in [
            "10Gi", "1", "500m", "1.5", "0.5Gi", "1e3", "1E+3", "100M", ".5",
        ] {
            assert_eq!(quantity_problem(ok), None, "{ok}");
        }
        for bad in [
            "", "Gi", "10GB", "10gi", "-1", "+1", "1..2", "ten", "10 Gi", "1e", ".",
        ] {
            assert!(quantity_problem(bad).is_some(), "{bad} should be rejected");
        }
        assert!(run(storage_size, Value::from("0Gi")).has_errors());
        let d = run(
            resource_quantities,
            map(&[("cpu", "500m"), ("memory", "lots")]),
        );
        assert_eq!(d.0.len(), 1);
        assert_eq!(
            d.0[0].attribute,
            Some(AttributePath::attr("x").then_key("memory"))
        );
    }

    #[test]
    fn labels_and_annotations() {
        assert!(!run(
            labels,
            map(&[("team", "data"), ("example.com/tier", "gold")])
        )
        .has_errors());
        assert!(run(labels, map(&[("app.kubernetes.io/name", "x")])).has_errors());
        assert!(run(labels, map(&[("team", "has space")])).has_errors());
        assert!(run(labels, map(&[("-bad", "x")])).has_errors());
        assert!(!run(annotations, map(&[("example.com/note", "any text at all")])).has_errors());
        assert!(run(annotations, map(&[("zkkafka.io/config-digest", "x")])).has_errors());
    }

    #[test]
    fn heap() {
        for (v, ok) in [
            ("512m", true),
            ("2g", true),
            ("1024", true),
            ("0m", false),
            ("2gb", false),
            ("m", false),
        ] {
            assert_eq!(!run(jvm_heap, Value::from(v)).has_errors(), ok, "{v}");
        }
    }
}
