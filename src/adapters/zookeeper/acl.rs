//! ZooKeeper ACL entries and their permission bitmask.
//!
//! [`Perms`] parses the letters users write in HCL (`"rwcda"` in any order) and prints them in
//! one canonical order, `cdrwa`, the order ZooKeeper's own CLI (`getAcl`) prints them in, so the
//! value read back from the server compares equal to what the user wrote once normalised.

use std::fmt;
use std::str::FromStr;

use zookeeper_client as zk;

/// A ZooKeeper permission bitmask: read 1, write 2, create 4, delete 8, admin 16.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Perms(u8);

/// The letters in canonical display order (`cdrwa`, as ZooKeeper's CLI prints them), each with
/// its bit and the word used in error messages.
const LETTERS: [(char, Perms, &str); 5] = [
    ('c', Perms::CREATE, "create"),
    ('d', Perms::DELETE, "delete"),
    ('r', Perms::READ, "read"),
    ('w', Perms::WRITE, "write"),
    ('a', Perms::ADMIN, "admin"),
];

impl Perms {
    /// No permission at all.
    pub const NONE: Perms = Perms(0);
    /// Read the data and list the children (`r`).
    pub const READ: Perms = Perms(1);
    /// Set the data (`w`).
    pub const WRITE: Perms = Perms(2);
    /// Create children (`c`).
    pub const CREATE: Perms = Perms(4);
    /// Delete children (`d`).
    pub const DELETE: Perms = Perms(8);
    /// Set the ACL (`a`).
    pub const ADMIN: Perms = Perms(16);
    /// All five (`cdrwa`).
    pub const ALL: Perms = Perms(31);

    /// The raw bitmask, as ZooKeeper stores it.
    pub fn bits(self) -> i32 {
        i32::from(self.0)
    }

    /// Builds from a raw bitmask; bits above admin (16) are not permissions and are dropped.
    pub fn from_bits_truncate(bits: i32) -> Perms {
        // Masked to the five defined bits, so the value always fits in a u8.
        Perms((bits & Perms::ALL.bits()) as u8)
    }

    /// Whether every permission in `other` is also in `self`.
    pub fn contains(self, other: Perms) -> bool {
        self.0 & other.0 == other.0
    }

    /// The permission words, for messages: `"create, read"`.
    pub fn describe(self) -> String {
        if self == Perms::NONE {
            return "no permission".to_string();
        }
        LETTERS
            .iter()
            .filter(|(_, bit, _)| self.contains(*bit))
            .map(|(_, _, word)| *word)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl std::ops::BitOr for Perms {
    type Output = Perms;

    fn bitor(self, rhs: Perms) -> Perms {
        Perms(self.0 | rhs.0)
    }
}

/// Prints the letters in canonical order `cdrwa`; [`Perms::NONE`] prints as the empty string.
impl fmt::Display for Perms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (letter, bit, _) in LETTERS {
            if self.contains(bit) {
                write!(f, "{letter}")?;
            }
        }
        Ok(())
    }
}

/// Why a permission string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PermsParseError {
    /// The string was empty: an ACL entry must grant something.
    #[error("permissions are empty: use one or more of the letters c, d, r, w, a (for example \"cdrwa\" or \"r\")")]
    Empty,
    /// A letter other than c, d, r, w, a.
    #[error("unknown permission letter '{letter}' in \"{input}\": use only c (create), d (delete), r (read), w (write), a (admin)")]
    UnknownLetter { letter: char, input: String },
    /// The same letter twice.
    #[error("permission letter '{letter}' appears more than once in \"{input}\"")]
    DuplicateLetter { letter: char, input: String },
}

/// Parses letters from `rwcda` in any order; rejects empty strings, unknown letters and
/// duplicates, because each of those is most likely a typo in the configuration.
impl FromStr for Perms {
    type Err = PermsParseError;

    fn from_str(input: &str) -> Result<Perms, PermsParseError> {
        if input.is_empty() {
            return Err(PermsParseError::Empty);
        }
        let mut perms = Perms::NONE;
        for letter in input.chars() {
            let Some((_, bit, _)) = LETTERS.iter().find(|(l, _, _)| *l == letter) else {
                return Err(PermsParseError::UnknownLetter {
                    letter,
                    input: input.to_string(),
                });
            };
            if perms.contains(*bit) {
                return Err(PermsParseError::DuplicateLetter {
                    letter,
                    input: input.to_string(),
                });
            }
            perms = perms | *bit;
        }
        Ok(perms)
    }
}

impl From<Perms> for zk::Permission {
    fn from(perms: Perms) -> zk::Permission {
        [
            (Perms::READ, zk::Permission::READ),
            (Perms::WRITE, zk::Permission::WRITE),
            (Perms::CREATE, zk::Permission::CREATE),
            (Perms::DELETE, zk::Permission::DELETE),
            (Perms::ADMIN, zk::Permission::ADMIN),
        ]
        .into_iter()
        .filter(|(ours, _)| perms.contains(*ours))
        .fold(zk::Permission::NONE, |acc, (_, theirs)| acc | theirs)
    }
}

impl From<zk::Permission> for Perms {
    fn from(permission: zk::Permission) -> Perms {
        [
            (Perms::READ, zk::Permission::READ),
            (Perms::WRITE, zk::Permission::WRITE),
            (Perms::CREATE, zk::Permission::CREATE),
            (Perms::DELETE, zk::Permission::DELETE),
            (Perms::ADMIN, zk::Permission::ADMIN),
        ]
        .into_iter()
        .filter(|(_, theirs)| permission.has(*theirs))
        .fold(Perms::NONE, |acc, (ours, _)| acc | ours)
    }
}

/// One ACL entry: who (`scheme` + `id`) may do what (`perms`).
///
/// Schemes: `world` (id `anyone`), `auth` (id empty: whoever is authenticated on the creating
/// session), `digest` (id `user:base64(sha1(user:password))`, see
/// [`digest_id`](super::digest_id)), `ip`, `sasl`, `x509`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Acl {
    pub perms: Perms,
    pub scheme: String,
    pub id: String,
}

impl Acl {
    /// `world:anyone` with the given permissions.
    pub fn world(perms: Perms) -> Acl {
        Acl {
            perms,
            scheme: "world".to_string(),
            id: "anyone".to_string(),
        }
    }
}

impl From<&Acl> for zk::Acl {
    fn from(acl: &Acl) -> zk::Acl {
        zk::Acl::new(acl.perms.into(), zk::AuthId::new(&acl.scheme, &acl.id))
    }
}

impl From<&zk::Acl> for Acl {
    fn from(acl: &zk::Acl) -> Acl {
        Acl {
            perms: acl.permission().into(),
            scheme: acl.scheme().to_string(),
            id: acl.id().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_letters_in_any_order() {
        let cases: &[(&str, &str, Perms)] = &[
            ("read only", "r", Perms::READ),
            ("all, user order", "rwcda", Perms::ALL),
            ("all, canonical order", "cdrwa", Perms::ALL),
            ("all, shuffled", "awdrc", Perms::ALL),
            ("write+admin", "aw", Perms::WRITE | Perms::ADMIN),
            ("create+delete", "dc", Perms::CREATE | Perms::DELETE),
        ];
        for (name, input, want) in cases {
            assert_eq!(input.parse::<Perms>().as_ref(), Ok(want), "case {name}");
        }
    }

    #[test]
    fn parse_rejects_typos() {
        let cases: &[(&str, &str, PermsParseError)] = &[
            ("empty", "", PermsParseError::Empty),
            (
                "unknown letter",
                "rwx",
                PermsParseError::UnknownLetter {
                    letter: 'x',
                    input: "rwx".into(),
                },
            ),
            (
                "upper case is not accepted",
                "R",
                PermsParseError::UnknownLetter {
                    letter: 'R',
                    input: "R".into(),
                },
            ),
            (
                "space",
                "r w",
                PermsParseError::UnknownLetter {
                    letter: ' ',
                    input: "r w".into(),
                },
            ),
            (
                "duplicate",
                "rwr",
                PermsParseError::DuplicateLetter {
                    letter: 'r',
                    input: "rwr".into(),
                },
            ),
        ];
        for (name, input, want) in cases {
            assert_eq!(input.parse::<Perms>().as_ref(), Err(want), "case {name}");
        }
    }

    #[test]
    fn display_is_canonical_cdrwa() {
        let cases: &[(&str, Perms, &str)] = &[
            ("none", Perms::NONE, ""),
            ("all", Perms::ALL, "cdrwa"),
            ("read", Perms::READ, "r"),
            ("read write", Perms::WRITE | Perms::READ, "rw"),
            ("admin create", Perms::ADMIN | Perms::CREATE, "ca"),
        ];
        for (name, perms, want) in cases {
            assert_eq!(perms.to_string(), *want, "case {name}");
        }
    }

    #[test]
    fn display_then_parse_round_trips() {
        for bits in 1..=31 {
            let perms = Perms::from_bits_truncate(bits);
            assert_eq!(perms.to_string().parse::<Perms>(), Ok(perms), "bits {bits}");
            assert_eq!(perms.bits(), bits);
        }
    }

    #[test]
    fn bits_match_zookeeper() {
        let cases: &[(&str, Perms, i32)] = &[
            ("r", Perms::READ, 1),
            ("w", Perms::WRITE, 2),
            ("c", Perms::CREATE, 4),
            ("d", Perms::DELETE, 8),
            ("a", Perms::ADMIN, 16),
            ("all", Perms::ALL, 31),
            ("truncated", Perms::from_bits_truncate(32 | 1), 1),
        ];
        for (name, perms, want) in cases {
            assert_eq!(perms.bits(), *want, "case {name}");
        }
    }

    #[test]
    fn converts_to_and_from_the_client_library() {
        for bits in 0..=31 {
            let perms = Perms::from_bits_truncate(bits);
            let theirs: zk::Permission = perms.into();
            assert_eq!(Perms::from(theirs), perms, "bits {bits}");
        }
        assert_eq!(zk::Permission::from(Perms::ALL), zk::Permission::ALL);
    }

    #[test]
    fn describe_names_the_permissions() {
        assert_eq!(Perms::READ.describe(), "read");
        assert_eq!((Perms::CREATE | Perms::ADMIN).describe(), "create, admin");
        assert_eq!(Perms::NONE.describe(), "no permission");
    }
}
