#!/usr/bin/env python3
"""Turn callgrind and perf profiles of the provider into link/hot-text.ld (bench/hot_text.sh).

    hot_text.py BINARY LINK_MAP PROFILE_DIR > link/hot-text.ld

PROFILE_DIR holds callgrind.<workload>.<pid> files (callgrind, uncompressed names) and
perf.<workload>.<pid>.syms files (`perf script -F ip,sym`: an address and a symbol per sample),
a workload being one tofu command on one configuration. A function counts once per workload it
ran in; the script lists functions by that count (most first), then by name, one
input-section description each, found in LINK_MAP (the binary's lld map, which also resolves
aliases: two instances LLVM merged share one section, named after one of them), with crate
disambiguators, v0 back-references and ThinLTO suffixes wildcarded. Only the binary's own
functions are in the map (libc and the other shared objects are laid out by their own builds).
"""

import collections
import datetime
import os
import re
import textwrap
import sys

# `Cs<base-62>_`: the disambiguator of a crate root in a v0 name; it hashes the crate's
# metadata (version, features, compiler), so it changes with any of them.
CRATE_DISAMBIGUATOR = re.compile(r"Cs[0-9A-Za-z]{1,16}_(?=[0-9])")
# `B<base-62>_`: a back-reference, a byte offset into the name itself, which moves when a
# disambiguator before it gets longer or shorter.
BACKREF = re.compile(r"B[0-9A-Za-z]{0,3}_")
# ThinLTO renames a function it promotes out of its module: `name.llvm.<number>`.
LLVM_SUFFIX = re.compile(r"\.llvm\.[0-9]+$")
# aws-lc prefixes its C symbols with its version: aws_lc_0_47_0_EVP_..., also after a prefix
# of its own (AWS_LC_TRAMPOLINE_aws_lc_0_47_0_SHA256_Final).
AWS_LC_PREFIX = re.compile(r"aws_lc_[0-9]+_[0-9]+_[0-9]+_")
# A line of an lld map: VMA, LMA, size, alignment, then the indented name.
MAP_LINE = re.compile(r"^\s*[0-9a-f]+\s+[0-9a-f]+\s+[0-9a-f]+\s+[0-9]+ (?P<name>.*?)\n?$")


def input_sections(link_map):
    """Symbol -> (file, input section name), from an lld map (-Map, --no-demangle).

    The name is indented by 0 (an output section), 8 (an input section: `file:(section)`) or
    16 (a symbol in it) characters.
    """
    where = {}
    current = None
    with open(link_map, errors="replace") as lines:
        for line in lines:
            columns = MAP_LINE.match(line)
            if columns is None:
                continue
            name = columns["name"]
            indent = len(name) - len(name.lstrip(" "))
            name = name.strip()
            if indent == 8 and name.endswith(")") and ":(" in name:
                file, _, section = name[:-1].rpartition(":(")
                current = (file, section) if section.startswith(".text") else None
            elif indent == 16 and current is not None:
                where.setdefault(name, current)
            elif indent == 0:
                current = None
    return where


def callgrind_functions(path, binary_name):
    """Functions of the binary that ran, from one callgrind file."""
    found = set()
    in_binary = False
    with open(path, errors="replace") as lines:
        for line in lines:
            if line.startswith("ob="):
                # Valgrind names no object ("???") for code it maps in a segment that does not
                # begin with .text, as in a binary already laid out by the script; the names of
                # those functions still resolve, and main() keeps only the binary's own.
                ob = line[3:].strip()
                in_binary = ob == "???" or os.path.basename(ob) == binary_name
            elif line.startswith("fn=") and in_binary:
                found.add(line[3:].strip())
    return found


def perf_functions(path):
    """Symbols sampled by perf, from `perf script -F ip,sym` lines (`<address> <symbol>`)."""
    found = set()
    with open(path, errors="replace") as lines:
        for line in lines:
            fields = line.split(maxsplit=1)
            if len(fields) == 2 and fields[1].strip() != "[unknown]":
                found.add(fields[1].strip())
    return found


def wildcard(name):
    """A section or symbol name with the parts that change between builds made `*`."""
    base = LLVM_SUFFIX.sub("", name)
    suffix = "*" if base != name else ""
    if "_R" in base:
        base = BACKREF.sub("B*_", CRATE_DISAMBIGUATOR.sub("Cs*_", base))
    base = AWS_LC_PREFIX.sub("aws_lc_*_", base)
    return base + suffix


# An object file inside an archive, as the map names it: `path/lib.rlib(member.o)`.
ARCHIVE_MEMBER = re.compile(r"^(?:.*/)?(?P<lib>lib[A-Za-z0-9_]+)-[0-9a-f]+\.rlib\((?:[0-9a-f]+-)?(?P<member>[^)]+)\)$")


def input_pattern(file, section):
    """The linker script's input-section description for one input section.

    Function sections (`.text.<symbol>`, `.text.unlikely.<symbol>` for cold ones) are named by
    their section, from any file. Assembly objects put all their code in one `.text`: those are
    named by archive and member (lld matches `archive:member`), hashes wildcarded.
    """
    if section != ".text":
        return f"*({wildcard(section)})"
    member = ARCHIVE_MEMBER.match(file)
    if member is None:
        return None
    return f"*{member['lib']}-*.rlib:*{member['member']}(.text)"


def sibling_members(pattern):
    """aws-lc's assembly comes in variants picked by CPU features (x25519 and x25519_alt);
    valgrind's virtual CPU picks another than the real one, so name both."""
    match = re.match(r"^(.*:\*)(.*?)(_alt)?\.o\(\.text\)$", pattern)
    if not match:
        return [pattern]
    stem = match[2]
    return [f"{match[1]}{stem}.o(.text)", f"{match[1]}{stem}_alt.o(.text)"]


def main():
    binary, link_map, profiles = sys.argv[1], sys.argv[2], sys.argv[3]
    binary_name = os.path.basename(binary)
    where = input_sections(link_map)
    per_workload = collections.defaultdict(set)
    for entry in sorted(os.listdir(profiles)):
        path = os.path.join(profiles, entry)
        if entry.startswith("callgrind."):
            per_workload[entry.split(".")[1]] |= callgrind_functions(path, binary_name)
        elif entry.startswith("perf.") and entry.endswith(".syms"):
            per_workload[entry.split(".")[1]] |= perf_functions(path)
    runs = collections.Counter()
    for functions in per_workload.values():
        runs.update(name for name in functions if name in where)
    ordered = sorted(runs, key=lambda name: (-runs[name], name))
    existing = {input_pattern(*place) for place in set(where.values())}
    patterns, seen = [], set()
    for name in ordered:
        described = input_pattern(*where[name])
        for p in sibling_members(described) if described else []:
            if p not in seen and p in existing:
                seen.add(p)
                patterns.append(p)
    today = datetime.date.today().isoformat()
    header = (
        f"Generated by bench/hot_text.sh on {today}: do not edit, run it again. "
        f"{len(ordered)} functions ran in the workloads {', '.join(sorted(per_workload))}; "
        f"they come from the {len(patterns)} input sections below, which this script gathers "
        "into .text.hot, ahead of the rest of the code (see bench/hot_text.sh for why)."
    )
    print("/* " + "\n   ".join(textwrap.wrap(header, 92, break_on_hyphens=False)) + " */")
    print("SECTIONS")
    print("{")
    print("  .text.hot : ALIGN(4096)")
    print("  {")
    for p in patterns:
        print(f"    {p}")
    print("  }")
    print("}")
    print("INSERT BEFORE .text;")
    print(
        f"hot_text: {len(ordered)} functions, {len(patterns)} input sections; "
        + ", ".join(f"{w} {len(f)}" for w, f in sorted(per_workload.items())),
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
