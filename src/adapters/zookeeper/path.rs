//! Znode path rules, checked before a request leaves the process so a typo in HCL becomes a
//! clear message at validate time instead of a server error at apply time.

/// Checks a znode path the way ZooKeeper's server does (`PathUtils.validatePath`): it starts
/// with `/`, has no trailing `/` (except the root `/` itself), no empty, `.` or `..` segments,
/// and no character the server refuses (see `refused_char`). The `Err` is a clause about the
/// path that does not repeat it, because every caller already names the value it checked.
pub fn validate_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err(
            "the path is empty; znode paths start with '/', for example \"/app/config\"".into(),
        );
    }
    if !path.starts_with('/') {
        return Err("it does not start with '/'; znode paths are absolute".into());
    }
    if path == "/" {
        return Ok(());
    }
    if path.ends_with('/') {
        return Err("it ends with '/'; remove the trailing slash".into());
    }
    let refused = path
        .chars()
        .find_map(|c| refused_char(c).map(|(n, k)| (c, n, k)));
    if let Some((c, name, kind)) = refused {
        return Err(format!(
            "it contains {name} U+{:04X}; ZooKeeper refuses {kind} in znode paths",
            u32::from(c)
        ));
    }
    for segment in path[1..].split('/') {
        match segment {
            "" => return Err("it contains an empty segment ('//')".into()),
            "." | ".." => {
                return Err(format!(
                    "it contains a '{segment}' segment; ZooKeeper paths have no relative segments"
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// How to name `c` and the class it belongs to, if ZooKeeper refuses it in a path. The server
/// checks UTF-16 code units against U+0000–U+001F, U+007F–U+009F, U+D800–U+F8FF and
/// U+FFF0–U+FFFF; the surrogate range means every character outside the Basic Multilingual
/// Plane (a surrogate pair in Java) is refused, not just the private-use area after it.
fn refused_char(c: char) -> Option<(&'static str, &'static str)> {
    match u32::from(c) {
        0x00..=0x1F | 0x7F..=0x9F => Some(("the control character", "control characters")),
        0xE000..=0xF8FF => Some((
            "the private-use character",
            "private-use characters (U+E000 to U+F8FF)",
        )),
        0xFFF0..=0xFFFF => Some(("the character", "the Specials block (U+FFF0 to U+FFFF)")),
        0x10000.. => Some((
            "the character",
            "characters outside the Basic Multilingual Plane, such as emoji",
        )),
        _ => None,
    }
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
            ("last before the surrogates", "/\u{d7ff}"),
            ("first after private use", "/\u{f900}"),
            ("last before the specials", "/\u{ffef}"),
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
            ("c1 control", "/a\u{9f}", "U+009F"),
            (
                "private use",
                "/a\u{e000}",
                "U+E000; ZooKeeper refuses private-use",
            ),
            ("end of private use", "/a\u{f8ff}", "U+F8FF"),
            ("specials", "/a\u{fff0}", "U+FFF0; ZooKeeper refuses"),
            ("noncharacter", "/a\u{ffff}", "U+FFFF"),
            (
                "emoji",
                "/a/\u{1f600}",
                "U+1F600; ZooKeeper refuses characters outside the Basic",
            ),
            ("last code point", "/\u{10ffff}", "U+10FFFF"),
        ];
        for (name, path, want) in cases {
            let err = validate_path(path).expect_err(name);
            assert!(
                err.contains(want),
                "case {name}: {err:?} should contain {want:?}"
            );
            assert!(
                path.is_empty() || !err.contains(path),
                "case {name}: {err:?} repeats the path; the caller names it"
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
