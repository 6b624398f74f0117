//! Attribute paths: where in a configuration a diagnostic points.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathStep {
    Attribute(String),
    ElementKeyString(String),
    ElementKeyInt(i64),
}

/// A path such as `acl[0].permissions`, as the protocol's `AttributePath` carries it.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AttributePath {
    pub steps: Vec<PathStep>,
}

impl AttributePath {
    pub fn root() -> Self {
        Self::default()
    }

    pub fn attr(name: impl Into<String>) -> Self {
        Self::root().then_attr(name)
    }

    #[must_use]
    pub fn then_attr(&self, name: impl Into<String>) -> Self {
        let mut steps = self.steps.clone();
        steps.push(PathStep::Attribute(name.into()));
        Self { steps }
    }

    #[must_use]
    pub fn then_index(&self, index: usize) -> Self {
        let mut steps = self.steps.clone();
        steps.push(PathStep::ElementKeyInt(index as i64));
        Self { steps }
    }

    #[must_use]
    pub fn then_key(&self, key: impl Into<String>) -> Self {
        let mut steps = self.steps.clone();
        steps.push(PathStep::ElementKeyString(key.into()));
        Self { steps }
    }

    pub fn is_root(&self) -> bool {
        self.steps.is_empty()
    }

    /// `at <path>: ` to put before a message about a place in a value, or nothing for the
    /// root, which displays as an empty path and would leave `at : unsupported attribute`.
    pub fn prefix(&self) -> impl fmt::Display + '_ {
        Prefix(self)
    }
}

struct Prefix<'a>(&'a AttributePath);

impl fmt::Display for Prefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_root() {
            Ok(())
        } else {
            write!(f, "at {}: ", self.0)
        }
    }
}

impl fmt::Display for AttributePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.steps.iter().enumerate() {
            match step {
                PathStep::Attribute(name) if i == 0 => write!(f, "{name}")?,
                PathStep::Attribute(name) => write!(f, ".{name}")?,
                PathStep::ElementKeyString(key) => write!(f, "[{key:?}]")?,
                PathStep::ElementKeyInt(idx) => write!(f, "[{idx}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_joins_steps_like_hcl() {
        let path = AttributePath::attr("acl")
            .then_index(0)
            .then_attr("permissions");
        assert_eq!(path.to_string(), "acl[0].permissions");
        let path = AttributePath::attr("config").then_key("dataDir");
        assert_eq!(path.to_string(), "config[\"dataDir\"]");
    }

    #[test]
    fn prefix_names_the_place_except_at_the_root() {
        let cases = [
            ("root", AttributePath::root(), ""),
            (
                "attribute",
                AttributePath::attr("timeouts"),
                "at timeouts: ",
            ),
            (
                "element",
                AttributePath::attr("acl").then_index(1),
                "at acl[1]: ",
            ),
        ];
        for (name, path, want) in cases {
            assert_eq!(path.prefix().to_string(), want, "case {name}");
        }
    }
}
