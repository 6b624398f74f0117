//! Logs to stderr in the JSON line shape of HashiCorp's hclog, which go-plugin parses and
//! relays into Terraform's own log (`TF_LOG`, `TF_LOG_PROVIDER`): one object per line with
//! `@level`, `@message`, `@timestamp`, `@module`, and each event field as a further key.
//!
//! Only RPC names, type names and durations are logged ([`RpcTimer`]). Requests carry
//! credentials and passwords, so no payload is logged at any level.

use std::fmt;
use std::io::Write as _;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value as Json};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};

/// The logger name Terraform shows next to our lines.
const MODULE: &str = "provider.terraform-provider-zkkafka";

/// Installs the stderr logger at the level `TF_LOG_PROVIDER` or `TF_LOG` asks for. Cheap:
/// nothing is installed at all when logging is off.
pub(super) fn init() {
    let level = level_from_env(
        std::env::var("TF_LOG_PROVIDER").ok().as_deref(),
        std::env::var("TF_LOG").ok().as_deref(),
    );
    if level == LevelFilter::OFF {
        return;
    }
    let subscriber = tracing_subscriber::registry()
        .with(targets(level))
        .with(HclogLayer);
    // Fails only when a logger is already installed (a second call); keep the first one.
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// Our own events at `level`; the libraries below us (h2, hyper, tonic, rustls) only from
/// warnings up, since at debug they log every HTTP/2 frame.
fn targets(level: LevelFilter) -> Targets {
    Targets::new()
        .with_target(env!("CARGO_CRATE_NAME"), level)
        .with_default(level.min(LevelFilter::WARN))
}

/// `TF_LOG_PROVIDER` wins over `TF_LOG`. Unset or empty means info. Like Terraform, any
/// value that is not a level name (`TF_LOG=1`, `TF_LOG=JSON`) means trace.
fn level_from_env(provider: Option<&str>, global: Option<&str>) -> LevelFilter {
    let chosen = [provider, global]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|value| !value.is_empty());
    let Some(value) = chosen else {
        return LevelFilter::INFO;
    };
    match value.to_ascii_lowercase().as_str() {
        "off" => LevelFilter::OFF,
        "error" => LevelFilter::ERROR,
        "warn" => LevelFilter::WARN,
        "info" => LevelFilter::INFO,
        "debug" => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    }
}

/// Logs one RPC when dropped: its name, the resource type or function it was about, and how
/// long it took. Never the request itself.
pub(super) struct RpcTimer {
    rpc: &'static str,
    type_name: String,
    started: Instant,
}

impl RpcTimer {
    pub(super) fn start(rpc: &'static str, type_name: &str) -> Self {
        Self {
            rpc,
            type_name: type_name.to_owned(),
            started: Instant::now(),
        }
    }
}

impl Drop for RpcTimer {
    fn drop(&mut self) {
        let elapsed = self.started.elapsed();
        tracing::debug!(
            rpc = self.rpc,
            type_name = self.type_name.as_str(),
            duration_ms = elapsed.as_secs_f64() * 1000.0,
            "served {}",
            self.rpc
        );
    }
}

struct HclogLayer;

impl<S: Subscriber> Layer<S> for HclogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut line = hclog_line(*event.metadata().level(), SystemTime::now(), |visitor| {
            event.record(visitor)
        });
        line.push('\n');
        // One write per line, so lines from concurrent RPCs do not interleave.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}

/// One hclog JSON line (without the newline). `record` feeds the event's fields.
fn hclog_line(level: Level, now: SystemTime, record: impl FnOnce(&mut FieldVisitor)) -> String {
    let mut visitor = FieldVisitor::default();
    record(&mut visitor);
    let mut object = Map::new();
    object.insert("@level".into(), Json::from(level_name(level)));
    // go-plugin insists on a string here, so an event without a message gets an empty one.
    object.insert(
        "@message".into(),
        Json::from(visitor.message.unwrap_or_default()),
    );
    object.insert("@module".into(), Json::from(MODULE));
    object.insert("@timestamp".into(), Json::from(timestamp(now)));
    for (key, value) in visitor.fields {
        // Fields cannot overwrite the four keys go-plugin reads.
        object.entry(key).or_insert(value);
    }
    Json::Object(object).to_string()
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

#[derive(Default)]
struct FieldVisitor {
    message: Option<String>,
    fields: Vec<(String, Json)>,
}

impl FieldVisitor {
    fn put(&mut self, field: &Field, value: Json) {
        if field.name() == "message" {
            self.message = Some(match value {
                Json::String(text) => text,
                other => other.to_string(),
            });
        } else {
            self.fields.push((field.name().to_owned(), value));
        }
    }
}

impl Visit for FieldVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, Json::from(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Json::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Json::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Json::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Json::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Json::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Json::from(value.to_string()));
    }
}

/// RFC 3339 in UTC with exactly six fractional digits: go-plugin parses `@timestamp` with
/// the layout `2006-01-02T15:04:05.000000Z07:00` and drops the line's level on any other
/// shape.
fn timestamp(now: SystemTime) -> String {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let seconds = since_epoch.as_secs();
    let (year, month, day) = civil_date((seconds / 86_400) as i64);
    let of_day = seconds % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60,
        since_epoch.subsec_micros()
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_date(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_follows_terraform_variables() {
        let cases = [
            ("nothing set", None, None, LevelFilter::INFO),
            ("empty values", Some(""), Some(" "), LevelFilter::INFO),
            ("TF_LOG only", None, Some("DEBUG"), LevelFilter::DEBUG),
            (
                "provider wins",
                Some("error"),
                Some("TRACE"),
                LevelFilter::ERROR,
            ),
            (
                "empty provider falls back",
                Some(""),
                Some("warn"),
                LevelFilter::WARN,
            ),
            ("off", Some("OFF"), None, LevelFilter::OFF),
            ("json means trace", None, Some("JSON"), LevelFilter::TRACE),
            ("unknown means trace", None, Some("1"), LevelFilter::TRACE),
        ];
        for (name, provider, global, want) in cases {
            assert_eq!(level_from_env(provider, global), want, "case {name}");
        }
    }

    #[test]
    fn libraries_log_only_warnings_and_errors() {
        let ours = "zkkafka::plugin::provider";
        let cases = [
            (
                "our debug at debug",
                LevelFilter::DEBUG,
                ours,
                Level::DEBUG,
                true,
            ),
            (
                "our trace at debug",
                LevelFilter::DEBUG,
                ours,
                Level::TRACE,
                false,
            ),
            (
                "h2 debug at trace",
                LevelFilter::TRACE,
                "h2::codec",
                Level::DEBUG,
                false,
            ),
            (
                "h2 warning at trace",
                LevelFilter::TRACE,
                "h2::codec",
                Level::WARN,
                true,
            ),
            (
                "rustls warning at error",
                LevelFilter::ERROR,
                "rustls",
                Level::WARN,
                false,
            ),
        ];
        for (name, level, target, event, want) in cases {
            assert_eq!(
                targets(level).would_enable(target, &event),
                want,
                "case {name}"
            );
        }
    }

    #[test]
    fn timestamps_have_six_fractional_digits() {
        let cases = [
            ("epoch", 0, 0, "1970-01-01T00:00:00.000000Z"),
            (
                "leap day 2000",
                951_782_400,
                0,
                "2000-02-29T00:00:00.000000Z",
            ),
            (
                "leap day 2024",
                1_709_210_096,
                123_456_789,
                "2024-02-29T12:34:56.123456Z",
            ),
            (
                "after February",
                1_740_787_200,
                500_000_000,
                "2025-03-01T00:00:00.500000Z",
            ),
            (
                "end of century",
                4_102_444_799,
                999_999_000,
                "2099-12-31T23:59:59.999999Z",
            ),
        ];
        for (name, seconds, nanos, want) in cases {
            let at = UNIX_EPOCH + Duration::new(seconds, nanos);
            assert_eq!(timestamp(at), want, "case {name}");
        }
    }

    #[test]
    fn lines_have_the_hclog_keys_and_fields() {
        // Drive a real event through the layer's formatting with a scoped subscriber.
        use std::sync::{Arc, Mutex};
        struct Capture(Arc<Mutex<Vec<String>>>);
        impl<S: Subscriber> Layer<S> for Capture {
            fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
                let line = hclog_line(*event.metadata().level(), UNIX_EPOCH, |v| event.record(v));
                if let Ok(mut lines) = self.0.lock() {
                    lines.push(line);
                }
            }
        }
        let lines = Arc::new(Mutex::new(Vec::new()));
        let subscriber = tracing_subscriber::registry().with(Capture(lines.clone()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(
                rpc = "ReadResource",
                attempts = 3_u64,
                ok = false,
                "slow answer"
            );
        });
        let lines = lines.lock().expect("lines").clone();
        assert_eq!(lines.len(), 1);
        let json: Json = serde_json::from_str(&lines[0]).expect("valid JSON");
        assert_eq!(json["@level"], "warn");
        assert_eq!(json["@message"], "slow answer");
        assert_eq!(json["@module"], MODULE);
        assert_eq!(json["@timestamp"], "1970-01-01T00:00:00.000000Z");
        assert_eq!(json["rpc"], "ReadResource");
        assert_eq!(json["attempts"], 3);
        assert_eq!(json["ok"], false);
        assert!(!lines[0].contains('\n'));
    }
}
