//! cty numbers: arbitrary precision on the wire, kept here without losing a digit.
//!
//! Terraform sends a number in the first of three forms that holds it exactly: an integer
//! (when it fits i64), a float64 (when a float64 holds it exactly), or a decimal string
//! (anything else, such as `0.1` or `18446744073709551615`). [`Number`] keeps exactly the same
//! three cases, and every value has one canonical form, so equality is numeric and the msgpack
//! encoder picks the wire form by looking at the case.

use std::fmt;
use std::str::FromStr;

/// A cty number: any decimal value of any size, or an infinity (never NaN).
#[derive(Clone, PartialEq)]
pub struct Number(Repr);

/// Exactly one representation per value (the canonical form), so derived equality is numeric.
#[derive(Clone, Debug, PartialEq)]
enum Repr {
    /// Every integer that fits i64, and nothing else.
    Int(i64),
    /// A value a float64 holds exactly that is not an i64 integer (a binary fraction, a huge
    /// integer, or an infinity). Never NaN, never zero.
    Float(f64),
    /// Every other finite value.
    Decimal(Decimal),
}

/// `digits × 10^exponent`, with `digits` non-empty ASCII without leading or trailing zeros.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Decimal {
    negative: bool,
    digits: String,
    exponent: i64,
}

/// Largest decimal exponent a literal may carry. cty itself stores numbers as 512-bit floats
/// with a 32-bit binary exponent; anything beyond this is hostile input, not a value.
const MAX_LITERAL_EXPONENT: i64 = 1_000_000_000;

/// Beyond this many padding zeros, [`fmt::Display`] switches to `1.5e400` notation so that a
/// short literal such as `1e999999` cannot turn into a megabyte of zeros.
const MAX_PLAIN_PADDING: i64 = 1_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseNumberError {
    #[error("{0:?} is not a decimal number")]
    Syntax(String),
    #[error("the exponent of {0:?} is out of range")]
    ExponentOutOfRange(String),
}

impl Number {
    /// The number as an i64, when it is an integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        match self.0 {
            Repr::Int(i) => Some(i),
            _ => None,
        }
    }

    /// The nearest f64 (correctly rounded; huge values become infinities).
    pub fn as_f64(&self) -> f64 {
        match &self.0 {
            Repr::Int(i) => *i as f64,
            Repr::Float(f) => *f,
            Repr::Decimal(d) => d.to_f64(),
        }
    }

    /// The f64 that holds this number exactly, if there is one.
    pub fn as_exact_f64(&self) -> Option<f64> {
        match &self.0 {
            Repr::Int(i) => {
                let f = *i as f64;
                // Exact when the round trip through f64 gives the same integer back (2^63
                // rounds up, and saturates back to i64::MAX, which differs from it).
                ((f as i64) == *i && f != 9_223_372_036_854_775_808.0).then_some(f)
            }
            Repr::Float(f) => Some(*f),
            Repr::Decimal(_) => None,
        }
    }

    /// The number from an f64; `None` for NaN, which cty cannot hold.
    pub fn from_f64(f: f64) -> Option<Number> {
        if f.is_nan() {
            return None;
        }
        // -2^63 <= f < 2^63 are exactly the f64 integers that fit i64.
        if f.fract() == 0.0
            && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f)
        {
            return Some(Number(Repr::Int(f as i64)));
        }
        Some(Number(Repr::Float(f)))
    }

    pub fn is_infinite(&self) -> bool {
        matches!(self.0, Repr::Float(f) if f.is_infinite())
    }

    /// Canonical form of `±digits × 10^exponent` (digits are ASCII decimal digits).
    fn canonical(negative: bool, digits: &str, exponent: i64) -> Number {
        let digits = digits.trim_start_matches('0');
        let significant = digits.trim_end_matches('0');
        if significant.is_empty() {
            return Number(Repr::Int(0));
        }
        // Trailing zeros are at most the input length, so this cannot overflow.
        let exponent = exponent + (digits.len() - significant.len()) as i64;
        if let Some(i) = small_integer(negative, significant, exponent) {
            return Number(Repr::Int(i));
        }
        if let Some(f) = exact_f64(significant, exponent) {
            return Number(Repr::Float(if negative { -f } else { f }));
        }
        Number(Repr::Decimal(Decimal {
            negative,
            digits: significant.to_owned(),
            exponent,
        }))
    }
}

/// `±digits × 10^exponent` as an i64, if it is an integer in range.
fn small_integer(negative: bool, digits: &str, exponent: i64) -> Option<i64> {
    if exponent < 0 || digits.len() as i64 + exponent > 19 {
        return None;
    }
    let mut magnitude: i128 = digits.parse().ok()?;
    for _ in 0..exponent {
        magnitude *= 10;
    }
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

/// The f64 equal to `digits × 10^exponent` (no sign, canonical digits), if one exists.
fn exact_f64(digits: &str, exponent: i64) -> Option<f64> {
    // A binary fraction always ends in 5; no f64 has more than 767 significant digits or a
    // decimal exponent outside these bounds. These cheap checks spare most decimals the
    // exact comparison below.
    let in_range = (-1074..=308).contains(&exponent) && digits.len() <= 767;
    if !in_range || (exponent < 0 && !digits.ends_with('5')) {
        return None;
    }
    // Rust's float parsing is correctly rounded for any number of digits.
    let f: f64 = format!("{digits}e{exponent}").parse().ok()?;
    if !f.is_finite() || f == 0.0 {
        return None;
    }
    let (exact_digits, exact_exponent) = exact_decimal(f);
    (exact_digits == digits && exact_exponent == exponent).then_some(f)
}

/// The exact decimal expansion of a finite, non-zero f64's magnitude, as canonical
/// `(digits, exponent)`. Every binary fraction has a finite decimal expansion:
/// `m × 2^-k = m × 5^k × 10^-k`.
fn exact_decimal(f: f64) -> (String, i64) {
    let bits = f.abs().to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i64;
    let fraction = bits & ((1 << 52) - 1);
    let (mut mantissa, mut exp2) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1 << 52), biased - 1075)
    };
    let zeros = mantissa.trailing_zeros().min(63);
    mantissa >>= zeros;
    exp2 += i64::from(zeros);

    let mut big = Base1e9::from(mantissa);
    if exp2 >= 0 {
        big.mul_pow(2, 31, exp2);
        let text = big.to_string();
        let significant = text.trim_end_matches('0');
        let exponent = (text.len() - significant.len()) as i64;
        (significant.to_owned(), exponent)
    } else {
        // 5^13 is the largest power of five below 2^32.
        big.mul_pow(5, 13, -exp2);
        (big.to_string(), exp2)
    }
}

/// A small unsigned big integer, little-endian in base 10^9, enough to expand an f64 exactly.
struct Base1e9(Vec<u32>);

const LIMB: u64 = 1_000_000_000;

impl Base1e9 {
    fn from(mut n: u64) -> Self {
        let mut limbs = Vec::new();
        while n > 0 {
            limbs.push((n % LIMB) as u32);
            n /= LIMB;
        }
        Base1e9(limbs)
    }

    fn mul_small(&mut self, factor: u32) {
        let mut carry = 0u64;
        for limb in &mut self.0 {
            // limb < 10^9 and factor < 2^32, so this stays far below u64::MAX.
            let t = u64::from(*limb) * u64::from(factor) + carry;
            *limb = (t % LIMB) as u32;
            carry = t / LIMB;
        }
        while carry > 0 {
            self.0.push((carry % LIMB) as u32);
            carry /= LIMB;
        }
    }

    /// Multiplies by `base^power`, `chunk` powers at a time (`base^chunk` must fit u32).
    fn mul_pow(&mut self, base: u32, chunk: u32, mut power: i64) {
        let step = base.pow(chunk);
        while power >= i64::from(chunk) {
            self.mul_small(step);
            power -= i64::from(chunk);
        }
        // power < chunk here, so the conversion and the pow cannot fail or overflow.
        self.mul_small(base.pow(u32::try_from(power).unwrap_or(0)));
    }
}

impl fmt::Display for Base1e9 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut limbs = self.0.iter().rev();
        match limbs.next() {
            None => f.write_str("0"),
            Some(top) => {
                write!(f, "{top}")?;
                limbs.try_for_each(|limb| write!(f, "{limb:09}"))
            }
        }
    }
}

impl Decimal {
    fn to_f64(&self) -> f64 {
        let magnitude: f64 = format!("{}e{}", self.digits, self.exponent)
            .parse()
            .unwrap_or(f64::NAN);
        if self.negative {
            -magnitude
        } else {
            magnitude
        }
    }
}

/// Writes `±digits × 10^exponent` in plain notation, or in `d.ddde±x` notation when plain
/// would need more than [`MAX_PLAIN_PADDING`] zeros. Both are valid JSON numbers and both are
/// accepted by cty's number parser.
fn write_decimal(
    f: &mut fmt::Formatter<'_>,
    negative: bool,
    digits: &str,
    exponent: i64,
) -> fmt::Result {
    if negative {
        f.write_str("-")?;
    }
    let len = digits.len() as i64;
    if (0..=MAX_PLAIN_PADDING).contains(&exponent) {
        f.write_str(digits)?;
        (0..exponent).try_for_each(|_| f.write_str("0"))
    } else if exponent < 0 && -exponent < len {
        let (int, frac) = digits.split_at((len + exponent) as usize);
        write!(f, "{int}.{frac}")
    } else if exponent < 0 && -exponent - len <= MAX_PLAIN_PADDING {
        f.write_str("0.")?;
        (0..(-exponent - len)).try_for_each(|_| f.write_str("0"))?;
        f.write_str(digits)
    } else {
        let (first, rest) = digits.split_at(1);
        f.write_str(first)?;
        if !rest.is_empty() {
            write!(f, ".{rest}")?;
        }
        write!(f, "e{}", exponent + len - 1)
    }
}

impl FromStr for Number {
    type Err = ParseNumberError;

    /// Parses a decimal literal: optional sign, digits with an optional decimal point, and an
    /// optional exponent (`-12.5e3`). This is the form cty writes numbers in as strings, and a
    /// superset of JSON's number grammar.
    fn from_str(text: &str) -> Result<Number, ParseNumberError> {
        let syntax = || ParseNumberError::Syntax(text.chars().take(64).collect());
        let bytes = text.as_bytes();
        let mut pos = 0;
        let negative = match bytes.first() {
            Some(b'-') => {
                pos = 1;
                true
            }
            Some(b'+') => {
                pos = 1;
                false
            }
            _ => false,
        };
        let digit_run = |from: usize| {
            bytes.get(from..).map_or(0, |rest| {
                rest.iter().take_while(|b| b.is_ascii_digit()).count()
            })
        };
        let int_len = digit_run(pos);
        let int_digits = &text[pos..pos + int_len];
        pos += int_len;
        let mut frac_digits = "";
        if bytes.get(pos) == Some(&b'.') {
            let frac_len = digit_run(pos + 1);
            frac_digits = &text[pos + 1..pos + 1 + frac_len];
            pos += 1 + frac_len;
        }
        if int_digits.is_empty() && frac_digits.is_empty() {
            return Err(syntax());
        }
        let mut exponent: i64 = 0;
        if matches!(bytes.get(pos), Some(b'e' | b'E')) {
            pos += 1;
            let exp_negative = match bytes.get(pos) {
                Some(b'-') => {
                    pos += 1;
                    true
                }
                Some(b'+') => {
                    pos += 1;
                    false
                }
                _ => false,
            };
            let exp_len = digit_run(pos);
            if exp_len == 0 {
                return Err(syntax());
            }
            for b in &bytes[pos..pos + exp_len] {
                exponent = exponent * 10 + i64::from(b - b'0');
                if exponent > MAX_LITERAL_EXPONENT {
                    return Err(ParseNumberError::ExponentOutOfRange(
                        text.chars().take(64).collect(),
                    ));
                }
            }
            if exp_negative {
                exponent = -exponent;
            }
            pos += exp_len;
        }
        if pos != bytes.len() {
            return Err(syntax());
        }
        let digits = format!("{int_digits}{frac_digits}");
        // The fraction is at most the input's length, so this cannot overflow.
        let exponent = exponent - frac_digits.len() as i64;
        Ok(Number::canonical(negative, &digits, exponent))
    }
}

impl Eq for Number {}

impl From<i64> for Number {
    fn from(i: i64) -> Self {
        Number(Repr::Int(i))
    }
}

impl From<i32> for Number {
    fn from(i: i32) -> Self {
        Number(Repr::Int(i64::from(i)))
    }
}

impl From<u64> for Number {
    fn from(u: u64) -> Self {
        match i64::try_from(u) {
            Ok(i) => Number(Repr::Int(i)),
            Err(_) => Number::canonical(false, &u.to_string(), 0),
        }
    }
}

impl fmt::Display for Number {
    /// The exact value in decimal (a float64 is written out in full: `0.5`,
    /// `0.1000000000000000055511151231257827021181583404541015625`), or `+Inf` / `-Inf`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Int(i) => write!(f, "{i}"),
            Repr::Float(x) if x.is_infinite() => {
                f.write_str(if *x > 0.0 { "+Inf" } else { "-Inf" })
            }
            Repr::Float(x) => {
                let (digits, exponent) = exact_decimal(*x);
                write_decimal(f, *x < 0.0, &digits, exponent)
            }
            Repr::Decimal(d) => write_decimal(f, d.negative, &d.digits, d.exponent),
        }
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Number({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(text: &str) -> Number {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn parses_into_the_canonical_case() {
        let cases: [(&str, &str, Repr); 12] = [
            ("zero", "0", Repr::Int(0)),
            ("negative_zero", "-0.000", Repr::Int(0)),
            ("integer_with_fraction_zeros", "42.000", Repr::Int(42)),
            ("integer_in_exponent_form", "1.5e3", Repr::Int(1500)),
            ("i64_min", "-9223372036854775808", Repr::Int(i64::MIN)),
            (
                "two_to_63_is_a_float",
                "9223372036854775808",
                Repr::Float(9_223_372_036_854_775_808.0),
            ),
            ("binary_fraction", "0.5", Repr::Float(0.5)),
            ("negative_binary_fraction", "-2.75", Repr::Float(-2.75)),
            (
                "smallest_subnormal",
                &exact_text(f64::from_bits(1)),
                Repr::Float(f64::from_bits(1)),
            ),
            ("plus_sign", "+8", Repr::Int(8)),
            ("leading_point", ".25", Repr::Float(0.25)),
            ("trailing_point", "7.", Repr::Int(7)),
        ];
        for (name, text, want) in cases {
            assert_eq!(n(text).0, want, "case {name}");
        }
    }

    fn exact_text(f: f64) -> String {
        Number(Repr::Float(f)).to_string()
    }

    #[test]
    fn keeps_decimals_exactly() {
        let cases = [
            ("one_tenth", "0.1", "0.1"),
            ("u64_max", "18446744073709551615", "18446744073709551615"),
            (
                "long_fraction",
                "123456789012345678901234567890.123",
                "123456789012345678901234567890.123",
            ),
            ("beyond_f64", "1e400", &format!("1{}", "0".repeat(400))),
            ("far_beyond_f64", "-1.25e999999", "-1.25e999999"),
            ("tiny", "1e-5000", "1e-5000"),
            ("trailing_zeros_dropped", "0.1000", "0.1"),
        ];
        for (name, text, display) in cases {
            let number = n(text);
            assert!(
                matches!(number.0, Repr::Decimal(_)),
                "case {name}: {number:?}"
            );
            assert_eq!(number.to_string(), display, "case {name}");
            assert_eq!(n(&number.to_string()), number, "case {name} re-parses");
        }
    }

    #[test]
    fn equality_is_numeric() {
        assert_eq!(n("1"), Number::from(1));
        assert_eq!(n("100e-2"), Number::from(1));
        assert_eq!(n("0.5"), Number::from_f64(0.5).expect("not NaN"));
        assert_eq!(
            n("9223372036854775808"),
            Number::from(9_223_372_036_854_775_808u64)
        );
        assert_eq!(Number::from_f64(-0.0).expect("not NaN"), Number::from(0));
        assert_ne!(
            n("0.1"),
            Number::from_f64(0.1).expect("not NaN"),
            "0.1 is not the f64 nearest it"
        );
        assert_ne!(n("0.1"), n("0.10000000000000001"));
    }

    #[test]
    fn floats_display_exactly_and_re_parse() {
        for f in [
            0.1,
            -1.5e300,
            2.0f64.powi(70),
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            1e-7,
        ] {
            let number = Number::from_f64(f).expect("not NaN");
            assert_eq!(n(&number.to_string()), number, "{f:e}");
            assert_eq!(number.as_f64(), f);
        }
        assert_eq!(
            Number::from_f64(0.1).expect("not NaN").to_string(),
            "0.1000000000000000055511151231257827021181583404541015625"
        );
    }

    #[test]
    fn conversions() {
        assert_eq!(n("12").as_i64(), Some(12));
        assert_eq!(n("12.5").as_i64(), None);
        assert_eq!(n("9223372036854775808").as_i64(), None);
        assert_eq!(n("0.1").as_f64(), 0.1);
        assert_eq!(n("1e400").as_f64(), f64::INFINITY);
        assert_eq!(
            Number::from(1i64 << 53).as_exact_f64(),
            Some(9_007_199_254_740_992.0)
        );
        assert_eq!(Number::from((1i64 << 53) + 1).as_exact_f64(), None);
        assert_eq!(Number::from(i64::MAX).as_exact_f64(), None);
        assert_eq!(
            Number::from(i64::MIN).as_exact_f64(),
            Some(-9_223_372_036_854_775_808.0)
        );
        assert!(Number::from_f64(f64::NAN).is_none());
        assert!(Number::from_f64(f64::INFINITY)
            .expect("not NaN")
            .is_infinite());
        assert_eq!(
            Number::from_f64(f64::NEG_INFINITY)
                .expect("not NaN")
                .to_string(),
            "-Inf"
        );
    }

    #[test]
    fn rejects_what_is_not_a_decimal() {
        for text in [
            "",
            "-",
            ".",
            "e5",
            "1e",
            "1e+",
            "1.2.3",
            "0x10",
            "1_000",
            " 1",
            "1 ",
            "Inf",
            "NaN",
            "--1",
            "1e1000000001",
        ] {
            assert!(text.parse::<Number>().is_err(), "{text:?} should not parse");
        }
    }
}
