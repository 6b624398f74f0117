//! Kubernetes resource quantities by value: `1000m` is `1`, `1Gi` is `1073741824`. Syntax
//! checks are in [`super::validate::quantity_problem`].

/// The value of a Kubernetes quantity in base units, or `None` if `s` is not one.
pub fn quantity_value(s: &str) -> Option<f64> {
    let s = s.trim();
    let end = s
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_digit() || *c == '.' || ((*c == '+' || *c == '-') && *i == 0)))
        .map_or(s.len(), |(i, _)| i);
    let (number, suffix) = s.split_at(end);
    let n: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exp if exp.starts_with(['e', 'E']) => 10f64.powi(exp[1..].parse().ok()?),
        _ => return None,
    };
    Some(n * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        for (s, want) in [
            ("1", Some(1.0)),
            ("500m", Some(0.5)),
            ("1Ki", Some(1024.0)),
            ("1e3", Some(1000.0)),
            ("10Gi", Some(10.0 * 1024f64.powi(3))),
            ("abc", None),
            ("1Zi", None),
        ] {
            assert_eq!(quantity_value(s), want, "{s}");
        }
    }
}
