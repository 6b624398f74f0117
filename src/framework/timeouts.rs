//! The `timeouts` block (`create`, `update`, `delete`, `read` as Go-style durations such as
//! "30s", "5m", "1h30m") and the duration parser the rest of the provider shares.

use std::time::Duration;

use crate::tfvalue::{AttributePath, Diagnostics, Type, Value};

use super::schema::{Attribute, Block, NestedBlock};

/// A `timeouts { ... }` block with one optional duration per operation.
pub fn timeouts_block(operations: &[&str]) -> NestedBlock {
    let mut block = Block::new("How long each operation may take before it fails.");
    for op in operations {
        block = block.attr(
            Attribute::optional(op, Type::String)
                .describe(&format!("Time limit for {op}, e.g. \"30s\" or \"10m\"."))
                .validate(validate_duration),
        );
    }
    NestedBlock::single("timeouts", block)
}

/// The time limit for `operation` from a state or plan holding a `timeouts` block.
pub fn timeout_for(value: &Value, operation: &str, default: Duration) -> Duration {
    value
        .attr("timeouts")
        .attr(operation)
        .as_str()
        .and_then(|s| parse_duration(s).ok())
        .unwrap_or(default)
}

/// Validator for duration strings.
pub fn validate_duration(path: &AttributePath, value: &Value, diags: &mut Diagnostics) {
    if let Some(s) = value.as_str() {
        if let Err(e) = parse_duration(s) {
            diags.error_at(
                path.clone(),
                "Invalid duration",
                format!("{e}. Write a duration such as \"30s\", \"5m\" or \"1h30m\"."),
            );
        }
    }
}

/// Parses Go-style durations: a sequence of number+unit pairs, with the units Go's
/// `time.ParseDuration` knows: ns, us (or µs, either micro sign), ms, s, m, h.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("{s:?} has a number without a unit"))?;
        if digits == 0 {
            return Err(format!("{s:?} is not a duration"));
        }
        let number: f64 = rest[..digits]
            .parse()
            .map_err(|_| format!("{s:?} has an invalid number"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ns" => number / 1e9,
            // U+00B5 (micro sign) and U+03BC (Greek mu), as Go accepts both.
            "us" | "\u{b5}s" | "\u{3bc}s" => number / 1e6,
            "ms" => number / 1000.0,
            "s" => number,
            "m" => number * 60.0,
            "h" => number * 3600.0,
            other => return Err(format!("{s:?} has unknown unit {other:?}")),
        };
        rest = &rest[unit_len..];
        total = Duration::try_from_secs_f64(seconds)
            .ok()
            .and_then(|part| total.checked_add(part))
            .filter(|d| *d <= MAX_DURATION)
            .ok_or_else(|| format!("{s:?} is longer than the longest duration, about 292 years"))?;
    }
    Ok(total)
}

/// The longest duration accepted, as in Go's `time.ParseDuration` (2^63 - 1 nanoseconds), which
/// Terraform uses for the same strings. Anything longer is a typo, and would overflow deadlines.
pub const MAX_DURATION: Duration = Duration::from_nanos(i64::MAX as u64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let ok = [
            ("30s", 30_000),
            ("5m", 300_000),
            ("1h30m", 5_400_000),
            ("1.5s", 1_500),
            ("250ms", 250),
        ];
        for (text, ms) in ok {
            assert_eq!(
                parse_duration(text).expect("valid duration"),
                Duration::from_millis(ms),
                "{text}"
            );
        }
        let fine = [
            ("nanoseconds", "1ns", 1),
            ("many nanoseconds", "1500ns", 1_500),
            ("microseconds", "2us", 2_000),
            ("micro sign", "3\u{b5}s", 3_000),
            ("greek mu", "4\u{3bc}s", 4_000),
            ("fraction of a microsecond", "1.5us", 1_500),
            ("mixed", "1s2ms3us4ns", 1_002_003_004),
        ];
        for (name, text, ns) in fine {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_nanos(ns)),
                "case {name}: {text}"
            );
        }
        for bad in ["", "10", "s", "5 minutes", "1d", "-1s"] {
            assert!(parse_duration(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn durations_too_long_for_a_deadline_are_errors_not_panics() {
        assert_eq!(
            parse_duration("2562047h").expect("within Go's range"),
            Duration::from_secs(2_562_047 * 3600)
        );
        for huge in [
            "2562048h",
            "100000000000000000000000000000000h",
            "9999999999999999999h9999999999999999999h",
        ] {
            let err = parse_duration(huge).expect_err(huge);
            assert!(
                err.contains("longer than the longest duration"),
                "{huge}: {err}"
            );
        }
        // A number too large for f64 parses as infinity.
        let infinite = format!("1{}s", "0".repeat(400));
        assert!(parse_duration(&infinite).is_err());
    }
}
