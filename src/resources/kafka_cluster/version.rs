//! The Kafka releases this provider knows, and the rules that depend on the version: which
//! releases still accept ZooKeeper mode, and which version changes cross a metadata version
//! (a downgrade the older software may not read).
//!
//! The table is deliberate: a release is added once its rendered configuration has been run
//! (tests/kafka_cluster_real.rs) or its configuration surface checked against the release
//! notes. Unknown versions are refused at plan time rather than rendered on a guess.

use std::fmt;

/// A Kafka release `major.minor.patch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct KafkaVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl fmt::Display for KafkaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// Known release lines: (major, minor, newest patch known). Every patch from 0 up to the
/// newest is known. 3.7 is the first line whose KRaft mode this provider renders (and the first
/// with an official apache/kafka image); 3.9 is the last line with ZooKeeper mode.
pub const KNOWN_LINES: [(u32, u32, u32); 5] =
    [(3, 7, 2), (3, 8, 1), (3, 9, 2), (4, 0, 2), (4, 1, 2)];

/// The newest 3.x release known: the default with `zookeeper {}`.
pub const DEFAULT_ZOOKEEPER_MODE_VERSION: &str = "3.9.2";
/// The newest release known: the default with `kraft {}`.
pub const DEFAULT_KRAFT_VERSION: &str = "4.1.2";

impl KafkaVersion {
    /// Parses `X.Y.Z` (digits only).
    pub fn parse(s: &str) -> Option<KafkaVersion> {
        let mut parts = s.split('.');
        let mut next = || -> Option<u32> {
            let p = parts.next()?;
            if p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()) || p.len() > 6 {
                return None;
            }
            p.parse().ok()
        };
        let v = KafkaVersion {
            major: next()?,
            minor: next()?,
            patch: next()?,
        };
        parts.next().is_none().then_some(v)
    }

    /// Whether the release is in [`KNOWN_LINES`].
    pub fn is_known(self) -> bool {
        KNOWN_LINES
            .iter()
            .any(|(ma, mi, newest)| (*ma, *mi) == (self.major, self.minor) && self.patch <= *newest)
    }

    /// Kafka 4 removed ZooKeeper mode (KIP-833); 3.x (3.9 is the last) still has it.
    pub fn supports_zookeeper_mode(self) -> bool {
        self.major < 4
    }

    /// Kafka 4 logs through log4j 2; 3.x through log4j 1 (reload4j).
    pub fn uses_log4j2(self) -> bool {
        self.major >= 4
    }

    /// The metadata version line (`3.9`, `4.1`): KRaft's `metadata.version` and ZooKeeper
    /// mode's `inter.broker.protocol.version` move with the minor release, never with a patch.
    pub fn metadata_line(self) -> (u32, u32) {
        (self.major, self.minor)
    }
}

/// `"3.7.0–3.7.2, 3.8.0–3.8.1, ..."`, for messages.
pub fn known_versions_text() -> String {
    KNOWN_LINES
        .iter()
        .map(|(ma, mi, newest)| format!("{ma}.{mi}.0–{ma}.{mi}.{newest}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a version change means for the cluster's data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionChange {
    Same,
    /// Patch releases of one line, either way, or an upgrade: safe to roll.
    Compatible,
    /// A downgrade to an older metadata line: once the cluster has finalised the newer
    /// metadata version, the older software cannot read it.
    DowngradeAcrossMetadata,
}

pub fn classify_change(from: KafkaVersion, to: KafkaVersion) -> VersionChange {
    if from == to {
        VersionChange::Same
    } else if to.metadata_line() < from.metadata_line() {
        VersionChange::DowngradeAcrossMetadata
    } else {
        VersionChange::Compatible
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> KafkaVersion {
        KafkaVersion::parse(s).unwrap()
    }

    #[test]
    fn parsing() {
        let cases = [
            ("plain", "3.9.2", true),
            ("four", "4.0.0", true),
            ("two parts", "3.9", false),
            ("four parts", "3.9.0.1", false),
            ("suffix", "3.9.0-rc1", false),
            ("sign", "+3.9.0", false),
            ("empty part", "3..0", false),
            ("huge", "3.9.99999999999", false),
            ("word", "latest", false),
        ];
        for (case, s, ok) in cases {
            assert_eq!(KafkaVersion::parse(s).is_some(), ok, "case {case}");
        }
    }

    #[test]
    fn known_table() {
        let cases = [
            ("3.9 newest", "3.9.2", true),
            ("3.7 first", "3.7.0", true),
            ("4.1", "4.1.2", true),
            ("newer patch than known", "3.9.3", false),
            ("too old", "3.6.2", false),
            ("newer line", "4.2.0", false),
        ];
        for (case, s, known) in cases {
            assert_eq!(v(s).is_known(), known, "case {case}");
        }
        assert!(v(DEFAULT_ZOOKEEPER_MODE_VERSION).is_known());
        assert!(v(DEFAULT_ZOOKEEPER_MODE_VERSION).supports_zookeeper_mode());
        assert!(v(DEFAULT_KRAFT_VERSION).is_known());
        assert!(!v("4.0.0").supports_zookeeper_mode());
    }

    #[test]
    fn changes() {
        let cases = [
            ("same", "3.9.2", "3.9.2", VersionChange::Same),
            ("patch up", "3.9.0", "3.9.2", VersionChange::Compatible),
            ("patch down", "3.9.2", "3.9.0", VersionChange::Compatible),
            ("minor up", "3.8.1", "3.9.2", VersionChange::Compatible),
            ("major up", "3.9.2", "4.0.0", VersionChange::Compatible),
            (
                "minor down",
                "4.1.0",
                "4.0.2",
                VersionChange::DowngradeAcrossMetadata,
            ),
            (
                "major down",
                "4.0.0",
                "3.9.2",
                VersionChange::DowngradeAcrossMetadata,
            ),
        ];
        for (case, from, to, want) in cases {
            assert_eq!(classify_change(v(from), v(to)), want, "case {case}");
        }
    }
}
