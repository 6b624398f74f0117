//! The provider binary's code layout: the functions `link/hot-text.ld` names (the ones a znode
//! workload runs, found by `bench/hot_text.sh`) must land in the `.text.hot` section at the
//! front of the code. The layout only saves memory (see bench/README.md); this test is what
//! notices a script gone stale after the code or its dependencies changed, and says to
//! regenerate it.

use std::path::Path;

const BINARY: &str = env!("CARGO_BIN_EXE_terraform-provider-zkkafka");
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/link/hot-text.ld");
/// Below this share of the script's names found in `.text.hot`, the script is stale.
const MIN_SHARE: f64 = 0.8;
const SHF_EXECINSTR: u64 = 0x4;
const STT_FUNC: u8 = 2;

struct Section {
    name: String,
    kind: u32,
    flags: u64,
    addr: u64,
    offset: u64,
    size: u64,
    link: u32,
}

struct Elf {
    bytes: Vec<u8>,
    sections: Vec<Section>,
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(bytes[at..at + 2].try_into().unwrap())
}
fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}
fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}
fn c_string(bytes: &[u8], at: usize) -> String {
    let end = bytes[at..]
        .iter()
        .position(|b| *b == 0)
        .map_or(bytes.len(), |n| at + n);
    String::from_utf8_lossy(&bytes[at..end]).into_owned()
}

impl Elf {
    /// A 64-bit little-endian ELF file's section headers (all this test needs).
    fn read(path: &Path) -> Elf {
        let bytes = std::fs::read(path).expect("read the provider binary");
        assert_eq!(&bytes[..4], b"\x7fELF", "not an ELF file");
        assert_eq!(
            (bytes[4], bytes[5]),
            (2, 1),
            "not a 64-bit little-endian ELF file"
        );
        let shoff = u64_at(&bytes, 0x28) as usize;
        let shentsize = u16_at(&bytes, 0x3a) as usize;
        let shnum = u16_at(&bytes, 0x3c) as usize;
        let shstrndx = u16_at(&bytes, 0x3e) as usize;
        let header = |i: usize| shoff + i * shentsize;
        let names_at = u64_at(&bytes, header(shstrndx) + 0x18) as usize;
        let sections = (0..shnum)
            .map(|i| {
                let h = header(i);
                Section {
                    name: c_string(&bytes, names_at + u32_at(&bytes, h) as usize),
                    kind: u32_at(&bytes, h + 4),
                    flags: u64_at(&bytes, h + 8),
                    addr: u64_at(&bytes, h + 0x10),
                    offset: u64_at(&bytes, h + 0x18),
                    size: u64_at(&bytes, h + 0x20),
                    link: u32_at(&bytes, h + 0x28),
                }
            })
            .collect();
        Elf { bytes, sections }
    }

    fn section(&self, name: &str) -> Option<(usize, &Section)> {
        self.sections
            .iter()
            .enumerate()
            .find(|(_, s)| s.name == name)
    }

    /// (name, section index) of every function in the static symbol table.
    fn functions(&self) -> Vec<(String, usize)> {
        const SHT_SYMTAB: u32 = 2;
        let Some(symtab) = self.sections.iter().find(|s| s.kind == SHT_SYMTAB) else {
            return Vec::new();
        };
        let strtab = &self.sections[symtab.link as usize];
        (0..symtab.size as usize / 24)
            .map(|i| symtab.offset as usize + i * 24)
            .filter(|at| self.bytes[at + 4] & 0xf == STT_FUNC)
            .map(|at| {
                let name = c_string(
                    &self.bytes,
                    strtab.offset as usize + u32_at(&self.bytes, at) as usize,
                );
                (name, u16_at(&self.bytes, at + 6) as usize)
            })
            .collect()
    }
}

/// The function names the script's function-section descriptions ask for, as globs: a
/// function section is named `.text.<symbol>` (or `.text.unlikely.<symbol>` when cold), so
/// `*(.text.unlikely._RNv...)` asks for `_RNv...`. Assembly objects (`lib-*.rlib:*x.o(.text)`)
/// are named by file, not function, and left out.
fn script_functions() -> Vec<String> {
    let script = std::fs::read_to_string(SCRIPT).expect("read link/hot-text.ld");
    script
        .lines()
        .filter_map(|line| line.trim().strip_prefix("*(.text."))
        .filter_map(|rest| rest.strip_suffix(')'))
        .map(|name| name.strip_prefix("unlikely.").unwrap_or(name).to_owned())
        .collect()
}

/// Whether `name` matches `glob`, whose only wildcard is `*` (the script's names are v0
/// symbols and C identifiers: no `?` or `[`).
fn glob_matches(glob: &str, name: &str) -> bool {
    let mut parts = glob.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// How many of `globs` match at least one of `names` (sorted), looking only at the names that
/// share each glob's literal prefix.
fn matched(globs: &[String], names: &[&str]) -> usize {
    globs
        .iter()
        .filter(|glob| {
            let prefix = glob.split('*').next().unwrap_or_default();
            let start = names.partition_point(|name| *name < prefix);
            names[start..]
                .iter()
                .take_while(|name| name.starts_with(prefix))
                .any(|name| glob_matches(glob, name))
        })
        .count()
}

#[test]
fn globs_match_as_the_linker_does() {
    let cases = [
        ("exact", "abc", "abc", true),
        ("exact, longer name", "abc", "abcd", false),
        (
            "hash wildcard",
            "_RNvCs*_7zkkafka4main",
            "_RNvCs1a2B_7zkkafka4main",
            true,
        ),
        ("two wildcards", "a*_b*_c", "aXX_bYY_c", true),
        ("suffix wildcard", "f.llvm.*", "f.llvm.123", true),
        ("wrong tail", "a*c", "abd", false),
        ("overlapping tail", "ab*b", "ab", false),
    ];
    for (name, glob, symbol, want) in cases {
        assert_eq!(glob_matches(glob, symbol), want, "case {name}");
    }
}

#[test]
fn hot_functions_are_gathered_at_the_front_of_the_code() {
    if std::env::var("ZKKAFKA_HOT_TEXT").is_ok_and(|v| v == "0") {
        eprintln!("ZKKAFKA_HOT_TEXT=0: the binary was built without the hot-text layout");
        return;
    }
    let elf = Elf::read(Path::new(BINARY));
    let (hot_index, hot) = elf.section(".text.hot").expect(
        "the provider binary has no .text.hot section: build.rs links it with link/hot-text.ld",
    );
    let (_, text) = elf.section(".text").expect("a .text section");
    assert!(
        hot.flags & SHF_EXECINSTR != 0,
        ".text.hot is not executable"
    );
    assert!(hot.addr < text.addr, ".text.hot must come before .text");

    let functions = elf.functions();
    let mut in_hot: Vec<&str> = functions
        .iter()
        .filter(|(_, index)| *index == hot_index)
        .map(|(name, _)| name.as_str())
        .collect();
    in_hot.sort_unstable();
    let globs = script_functions();
    let found = matched(&globs, &in_hot);
    let share = found as f64 / globs.len() as f64;
    eprintln!(
        "{found} of the {} functions link/hot-text.ld names are in .text.hot ({share:.2}); \
         .text.hot holds {} functions in {} KiB of {} KiB of code",
        globs.len(),
        in_hot.len(),
        hot.size / 1024,
        (hot.size + text.size) / 1024
    );
    assert!(!in_hot.is_empty(), "no function landed in .text.hot");
    // A debug build has other functions (nothing is inlined), so only a release build is
    // held to the share.
    if !cfg!(debug_assertions) {
        assert!(
            share >= MIN_SHARE,
            "only {found} of the {} functions link/hot-text.ld names landed in .text.hot \
             ({share:.2} < {MIN_SHARE}): the script is stale. Regenerate it with \
             bench/hot_text.sh and commit the result.",
            globs.len()
        );
    }
}

/// build.rs links with `-z pack-relative-relocs` when the build machine's glibc is 2.36 or
/// newer: the relative relocations are then in a small `.relr.dyn`, and `.rela.dyn` keeps
/// only the few others. (Unpacked, `.rela.dyn` holds ~38,000 entries, ~900 KB, which every
/// provider process reads and keeps resident.)
#[test]
fn relative_relocations_are_packed_where_glibc_supports_it() {
    if std::env::var("ZKKAFKA_RELR").is_ok_and(|v| v == "0") {
        eprintln!("ZKKAFKA_RELR=0: the binary was built without packed relocations");
        return;
    }
    let glibc = std::process::Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_default();
    let version: Vec<u32> = glibc
        .strip_prefix("glibc ")
        .unwrap_or_default()
        .split('.')
        .filter_map(|p| p.parse().ok())
        .collect();
    if !cfg!(all(target_os = "linux", target_env = "gnu")) || version < vec![2, 36] {
        eprintln!("{glibc:?}: no DT_RELR support, the build keeps plain relocations");
        return;
    }
    const SHT_RELR: u32 = 19;
    let elf = Elf::read(Path::new(BINARY));
    let relr = elf.sections.iter().find(|s| s.kind == SHT_RELR);
    assert!(
        relr.is_some_and(|s| s.size > 0),
        "no packed relative relocations (.relr.dyn) in the provider binary built on {glibc}: \
         build.rs should link it with -z pack-relative-relocs"
    );
    let rela = elf.section(".rela.dyn").map_or(0, |(_, s)| s.size);
    eprintln!(
        ".relr.dyn {} bytes, .rela.dyn {rela} bytes",
        relr.map_or(0, |s| s.size)
    );
    assert!(
        rela < 64 * 1024,
        ".rela.dyn is {rela} bytes: the relative relocations were not packed"
    );
}
