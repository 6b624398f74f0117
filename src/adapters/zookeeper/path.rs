//! Znode path rules, checked before a request leaves the process so a typo in HCL becomes a
//! clear message at validate time instead of a server error at apply time.

/// Checks a znode path: it starts with `/`, has no trailing `/` (except the root `/` itself), no
/// empty, `.` or `..` segments, and no NUL or control characters. The `Err` is a sentence for
/// the practitioner.
pub fn validate_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err(
            "the path is empty; znode paths start with '/', for example \"/app/config\"".into(),
        );
    }
    if !path.starts_with('/') {
        return Err(format!(
            "\"{path}\" does not start with '/'; znode paths are absolute"
        ));
    }
    if path == "/" {
        return Ok(());
    }
    if path.ends_with('/') {
        return Err(format!(
            "\"{path}\" ends with '/'; remove the trailing slash"
        ));
    }
    if let Some(c) = path.chars().find(|c| c.is_control()) {
        return Err(format!(
            "\"{}\" contains the control character U+{:04X}; znode paths may not contain NUL or control characters",
            path.escape_debug(),
            u32::from(c)
        ));
    }
    for segment in path[1..].split('/') {
        match segment {
            "" => return Err(format!("\"{path}\" contains an empty segment ('//')")),
            "." | ".." => {
                return Err(format!(
                    "\"{path}\" contains a '{segment}' segment; ZooKeeper paths have no relative segments"
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// The parent of a valid path: `/a/b` → `/a`, `/a` → `/`, and `/` → `/` (the root has none).
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// `parent` + `/` + `child`, without doubling the slash under the root.
pub(crate) fn join(parent: &str, child: &str) -> String {
    if parent == "/" {
        format!("/{child}")
    } else {
        format!("{parent}/{child}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_paths() {
        let cases: &[(&str, &str)] = &[
            ("root", "/"),
            ("one segment", "/events"),
            ("nested", "/events/brokers/ids"),
            ("dots inside a name", "/a.b/..c/d.."),
            ("unicode", "/größe"),
            ("spaces", "/with space"),
        ];
        for (name, path) in cases {
            assert_eq!(validate_path(path), Ok(()), "case {name}");
        }
    }

    #[test]
    fn invalid_paths() {
        let cases: &[(&str, &str, &str)] = &[
            ("empty", "", "empty"),
            ("relative", "events", "does not start with '/'"),
            ("trailing slash", "/events/", "trailing slash"),
            ("double slash", "/a//b", "empty segment"),
            ("leading double slash", "//a", "empty segment"),
            ("dot", "/a/./b", "'.' segment"),
            ("dot dot", "/a/..", "'..' segment"),
            ("nul", "/a\0b", "U+0000"),
            ("newline", "/a\nb", "U+000A"),
            ("del", "/a\u{7f}", "U+007F"),
        ];
        for (name, path, want) in cases {
            let err = validate_path(path).expect_err(name);
            assert!(
                err.contains(want),
                "case {name}: {err:?} should contain {want:?}"
            );
        }
    }

    #[test]
    fn parents() {
        let cases: &[(&str, &str, &str)] = &[
            ("root", "/", "/"),
            ("top level", "/a", "/"),
            ("nested", "/a/b", "/a"),
            ("deep", "/a/b/c", "/a/b"),
        ];
        for (name, path, want) in cases {
            assert_eq!(parent(path), *want, "case {name}");
        }
    }

    #[test]
    fn joins() {
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/a", "b"), "/a/b");
    }
}
