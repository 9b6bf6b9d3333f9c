#!/usr/bin/env python3
"""ABI checks of the C API (capi/loci.h) and the shared library built from it.

  exports   the library's dynamic exports equal tests/abi/exports.txt, every
            LOCI_API function in loci.h is exported, every export is declared
            there, and nothing outside loci_* is exported
  abidiff   no change against the abidw baseline other than added functions
  soname    SONAME is libloci.so.<LOCI_ABI_VERSION> and the symlinks exist
  pins      layout_pins.c pins every struct, field, function and #define
  selftest  the abidiff policy fails removals, reorders and signature changes
            of a small library, and passes additions
  update    rewrites exports.txt and libloci.abi from a build

Exit 77 means a tool is missing (ctest reports the test as skipped).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77

# abidiff exit status bits (libabigail's abidiff_status).
ABIDIFF_ERROR = 1
ABIDIFF_USAGE_ERROR = 2
ABIDIFF_ABI_CHANGE = 4
ABIDIFF_ABI_INCOMPATIBLE_CHANGE = 8

# Only what exported functions reach counts, and types the public header does
# not define (the handles' C++ insides in capi/shim.h) become opaque
# declarations; without these the shims' C++ internals fill the file. The
# dump leaves out what differs between machines and checkouts: paths, source
# lines, DT_NEEDED and parameter names. Type ids are content hashes, so one
# added type does not renumber the rest.
ABIDW_OPTIONS = ["--drop-private-types", "--exported-interfaces-only", "--no-corpus-path", "--no-comp-dir-path",
                 "--no-show-locs", "--no-elf-needed", "--no-parameter-names", "--drop-undefined-syms",
                 "--type-id-style", "hash"]


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def strip_comments(text):
    return re.sub(r"/\*.*?\*/|//[^\n]*", " ", text, flags=re.S)


def code_lines(header_text):
    """The header without comments and preprocessor lines."""
    lines = strip_comments(header_text).splitlines()
    return "\n".join(l for l in lines if not l.lstrip().startswith("#"))


def declared_functions(header_text):
    """Names of the functions declared with LOCI_API."""
    code = code_lines(header_text)
    decls = re.findall(r"\bLOCI_API\b([^;]*?)\(", code)
    names = []
    for d in decls:
        m = re.search(r"(\w+)\s*$", d)
        if not m:
            raise SystemExit(f"FAIL: cannot read a function name from 'LOCI_API{d}('")
        names.append(m.group(1))
    if len(names) != len(set(names)):
        raise SystemExit("FAIL: a function is declared twice in loci.h")
    return sorted(names)


def defined_structs(header_text):
    """{struct name: [field names]} for every struct loci.h defines."""
    code = code_lines(header_text)
    structs = {}
    for m in re.finditer(r"typedef\s+struct\s+(\w+)\s*\{(.*?)\}\s*(\w+)\s*;", code, re.S):
        fields = []
        for decl in m.group(2).split(";"):
            decl = decl.strip()
            if not decl:
                continue
            fp = re.search(r"\(\s*\*\s*(\w+)\s*\)", decl)  # a function-pointer member
            fields.append(fp.group(1) if fp else re.search(r"(\w+)\s*$", decl).group(1))
        structs[m.group(3)] = fields
    return structs


def function_typedefs(header_text):
    return sorted(set(re.findall(r"typedef[^;()]*\(\s*\*\s*(\w+)\s*\)", code_lines(header_text))))


def defines(header_text):
    """Every object-like #define except the include guard and LOCI_API."""
    names = re.findall(r"^\s*#\s*define\s+(\w+)(?![\w(])", header_text, re.M)
    return sorted(n for n in set(names) if n not in ("LOCI_API", "LOCI_H_"))


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def read_list(path):
    return [l.strip() for l in read(path).splitlines() if l.strip() and not l.startswith("#")]


def exported_symbols(nm, lib):
    out = run([nm, "-D", "--defined-only", lib])
    if out.returncode != 0:
        raise SystemExit(f"FAIL: {nm} -D --defined-only {lib}:\n{out.stdout}")
    syms = set()
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            syms.add(parts[2])  # keeps any @VERSION: a symbol version is part of the ABI too
    return sorted(syms)


def report(title, items):
    if items:
        print(f"FAIL: {title}:")
        for i in items:
            print(f"  {i}")
    return bool(items)


# ---- exports ----------------------------------------------------------------

def check_exports(a):
    exported = exported_symbols(a.nm, a.lib)
    listed = read_list(a.list)
    declared = declared_functions(read(a.header))
    bad = False
    if listed != sorted(set(listed)):
        bad |= report(f"{a.list} must be sorted (LC_ALL=C) and free of duplicates",
                      ["regenerate it with update-baseline.sh"])
    bad |= report("symbols outside loci_* are exported", [s for s in exported if not s.startswith("loci_")])
    missing = sorted(set(listed) - set(exported))
    extra = sorted(set(exported) - set(listed))
    bad |= report("listed in tests/abi/exports.txt but missing from the library (an ABI break: "
                  "published functions never go away)", ["-" + s for s in missing])
    bad |= report("exported but not in tests/abi/exports.txt (add it in the same commit: "
                  "tests/abi/update-baseline.sh BUILD_DIR)", ["+" + s for s in extra])
    bad |= report("declared with LOCI_API in loci.h but not exported", sorted(set(declared) - set(exported)))
    bad |= report("exported but not declared in loci.h", sorted(set(exported) - set(declared)))
    if not declared:
        bad |= report("no LOCI_API declarations found in", [a.header])
    if bad:
        return 1
    print(f"ok: {len(exported)} exports, all loci_*, equal to exports.txt and to loci.h's "
          f"{len(declared)} LOCI_API functions")
    return 0


# ---- abidiff ----------------------------------------------------------------

def abidw(tool, header, lib, out, source_root=None):
    """Dumps `lib`'s ABI as `header` publishes it. Both sides of a comparison
    are dumped this way, so abidiff itself needs no header filter (which would
    also hide changes in types from system headers, such as int32_t)."""
    header = os.path.realpath(header)  # matched textually against DWARF's file names
    r = run([tool, "--header-file", header, *ABIDW_OPTIONS, "--out-file", out, lib])
    if r.returncode != 0:
        raise SystemExit(f"FAIL: abidw {lib}:\n{r.stdout}")
    # A header path that DWARF does not name makes every type private: a
    # silently hollow dump. Every struct the header defines must be there.
    dump = read(out)
    hollow = [s for s in defined_structs(read(header)) if f"<class-decl name='{s}' size-in-bits=" not in dump]
    if hollow:
        raise SystemExit(f"FAIL: abidw's dump of {lib} lacks {', '.join(hollow)}: does its DWARF name {header}?")
    if source_root:
        # Translation units are named by absolute path; keep them checkout-relative.
        for root in {os.path.abspath(source_root), os.path.realpath(source_root)}:
            dump = dump.replace(f"path='{root}/", "path='")
        with open(out, "w", encoding="utf-8") as f:
            f.write(dump)


def has_debug_info(readelf, lib):
    out = run([readelf, "-S", "-W", lib])
    return ".debug_info" in out.stdout


def abidiff_verdict(abidiff, baseline, current):
    """(ok, report). Added functions pass (--no-added-syms keeps them out of
    the exit status); any other change fails, whether abidiff calls it
    incompatible (bit 8: removals) or just a change (bit 4: layouts,
    signatures, appended fields; a reviewer must accept those by
    regenerating the baseline)."""
    out = run([abidiff, "--no-added-syms", baseline, current])
    return out.returncode == 0, out.returncode, out.stdout


def explain_status(code):
    bits = []
    for bit, what in ((ABIDIFF_ERROR, "error"), (ABIDIFF_USAGE_ERROR, "usage error"),
                      (ABIDIFF_ABI_CHANGE, "ABI change"), (ABIDIFF_ABI_INCOMPATIBLE_CHANGE, "incompatible change")):
        if code & bit:
            bits.append(what)
    return f"exit {code} ({', '.join(bits) or 'none'})"


def check_abidiff(a):
    for tool in (a.abidw, a.abidiff, a.readelf):
        if not shutil.which(tool):
            print(f"SKIP: {tool} not found (Debian: abigail-tools, binutils; .ci/install-deps installs them)")
            return SKIP
    if not has_debug_info(a.readelf, a.lib):
        print(f"FAIL: {a.lib} has no DWARF; tests/abi/CMakeLists.txt compiles capi/*.cpp with -g for this test")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        current = os.path.join(tmp, "current.abi")
        abidw(a.abidw, a.header, a.lib, current)
        ok, code, text = abidiff_verdict(a.abidiff, a.baseline, current)
        print(text.rstrip())
        if not ok:
            print(f"FAIL: abidiff {explain_status(code)} against {a.baseline}.\n"
                  "  A removed function or a changed signature or struct layout breaks programs built\n"
                  "  against the published header: restore it (a replacement gets a _v2 name).\n"
                  "  Appending a field to a struct_size struct is allowed by loci's rules: once reviewed,\n"
                  "  record it with tests/abi/update-baseline.sh BUILD_DIR in the same commit.")
            return 1
        added = run([a.abidiff, a.baseline, current]).stdout
        n = re.search(r"Functions changes summary:.* (\d+) Added", added)
        if n and int(n.group(1)):
            print(f"note: {n.group(1)} function(s) added since the baseline (compatible); "
                  "record them with tests/abi/update-baseline.sh")
    print("ok: no ABI change against the baseline except additions")
    return 0


# ---- soname -----------------------------------------------------------------

def header_define(text, name):
    m = re.search(rf"^\s*#\s*define\s+{name}\s+(\d+)\b", text, re.M)
    if not m:
        raise SystemExit(f"FAIL: no '#define {name} <number>' in loci.h")
    return int(m.group(1))


def check_soname(a):
    text = read(a.header)
    abi = header_define(text, "LOCI_ABI_VERSION")
    version = ".".join(str(header_define(text, f"LOCI_VERSION_{p}")) for p in ("MAJOR", "MINOR", "PATCH"))
    out = run([a.readelf, "-d", a.lib])
    m = re.search(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", out.stdout)
    soname = m.group(1) if m else None
    want = f"libloci.so.{abi}"
    bad = False
    bad |= report("SONAME", [f"is {soname}, want {want} (LOCI_ABI_VERSION {abi} in loci.h)"] if soname != want else [])
    if a.cmake_abi is not None:
        bad |= report("CMake's LOCI_ABI_VERSION differs from loci.h's",
                      [f"CMake {a.cmake_abi}, loci.h {abi}"] if str(abi) != a.cmake_abi else [])
    if a.project_version is not None:
        bad |= report("the project version differs from loci.h's LOCI_VERSION_*",
                      [f"CMake {a.project_version}, loci.h {version}"] if version != a.project_version else [])
    lib_dir = os.path.dirname(a.lib)
    real = os.path.realpath(a.lib)
    expect_real = os.path.join(lib_dir, f"libloci.so.{version}")
    bad |= report("the real file", [f"is {real}, want {expect_real}"]
                  if real != os.path.realpath(expect_real) or not os.path.isfile(real) else [])
    for link in (os.path.join(lib_dir, want), os.path.join(lib_dir, "libloci.so")):
        bad |= report("symlink", [f"{link} is missing or does not lead to {real}"]
                      if not os.path.islink(link) or os.path.realpath(link) != real else [])
    if bad:
        return 1
    print(f"ok: SONAME {soname}; libloci.so -> {want} -> libloci.so.{version}")
    return 0


# ---- pins -------------------------------------------------------------------

def check_pins(a):
    text = read(a.header)
    pins = strip_comments(read(a.pins))
    missing = []
    for s, fields in defined_structs(text).items():
        if not re.search(rf"LOCI_PIN_SIZE\(\s*{s}\s*,", pins):
            missing.append(f"LOCI_PIN_SIZE({s}, ...)")
        for f in fields:
            if not re.search(rf"LOCI_PIN_FIELD\(\s*{s}\s*,\s*{f}\s*,", pins):
                missing.append(f"LOCI_PIN_FIELD({s}, {f}, ...)")
    for fn in declared_functions(text):
        if not re.search(rf"LOCI_PIN_FN\(\s*{fn}\s*,", pins):
            missing.append(f"LOCI_PIN_FN({fn}, ...)")
    for t in function_typedefs(text):
        if not re.search(rf"LOCI_PIN_TYPE\(\s*{t}\s*,", pins):
            missing.append(f"LOCI_PIN_TYPE({t}, ...)")
    for d in defines(text):
        if not re.search(rf"\b{d}\b", pins):
            missing.append(f"a _Static_assert on {d}")
    if report(f"{os.path.basename(a.pins)} does not pin everything loci.h publishes", missing):
        return 1
    print(f"ok: {len(defined_structs(text))} structs, {len(declared_functions(text))} functions, "
          f"{len(function_typedefs(text))} callback types and {len(defines(text))} #defines pinned")
    return 0


# ---- self-test of the abidiff policy ----------------------------------------

# variant -> (compiler defines, must the check pass?)
SELFTEST_CASES = {
    "unchanged": ([], True),
    "function added": (["-DPOLICY_ADD"], True),
    "handle internals changed": (["-DPOLICY_HANDLE"], True),
    "function removed": (["-DPOLICY_REMOVE"], False),
    "fields reordered": (["-DPOLICY_REORDER"], False),
    "same-type fields swapped": (["-DPOLICY_SWAP"], False),
    "field appended": (["-DPOLICY_APPEND"], False),
    "parameter type changed": (["-DPOLICY_PARAM"], False),
    "return type changed": (["-DPOLICY_RETURN"], False),
    "handle parameter dropped": (["-DPOLICY_HANDLE_PARAM"], False),
}


def build_policy_lib(cc, out, flags):
    src = os.path.join(HERE, "policy", "policy.c")
    cmd = [cc, "-g", "-O2", "-fPIC", "-shared", "-fvisibility=hidden", "-Wl,-soname,libpolicy.so.1",
           "-I", os.path.join(HERE, "policy"), *flags, "-o", out, src]
    r = run(cmd)
    if r.returncode != 0:
        raise SystemExit(f"FAIL: {' '.join(cmd)}\n{r.stdout}")


def selftest(a):
    for tool in (a.abidw, a.abidiff):
        if not shutil.which(tool):
            print(f"SKIP: {tool} not found (Debian: abigail-tools)")
            return SKIP
    header = os.path.join(HERE, "policy", "policy.h")
    bad = False
    with tempfile.TemporaryDirectory() as tmp:
        base_lib = os.path.join(tmp, "base.so")
        build_policy_lib(a.cc, base_lib, [])
        baseline = os.path.join(tmp, "base.abi")
        abidw(a.abidw, header, base_lib, baseline)
        for i, (name, (flags, want_pass)) in enumerate(SELFTEST_CASES.items()):
            lib = os.path.join(tmp, f"v{i}.so")
            build_policy_lib(a.cc, lib, flags)
            current = os.path.join(tmp, f"v{i}.abi")
            abidw(a.abidw, header, lib, current)
            ok, code, text = abidiff_verdict(a.abidiff, baseline, current)
            verdict = "passes" if ok else "fails"
            right = ok == want_pass
            print(f"{'ok' if right else 'FAIL'}: {name}: {verdict} ({explain_status(code)})")
            if not right:
                print(text)
                bad = True
    return 1 if bad else 0


# ---- update -----------------------------------------------------------------

def update(a):
    if not has_debug_info(a.readelf, a.lib):
        raise SystemExit(f"FAIL: {a.lib} has no DWARF: build it natively with tests on "
                         "(tests/abi adds -g to capi/*.cpp)")
    exported = exported_symbols(a.nm, a.lib)
    with open(a.list, "w", encoding="utf-8") as f:
        f.write("".join(s + "\n" for s in exported))
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.dirname(os.path.dirname(os.path.abspath(a.header)))  # the checkout the header is in
        abidw(a.abidw, a.header, a.lib, a.baseline, root)
        # The same build must give the same file, or every regeneration is noise.
        again = os.path.join(tmp, "again.abi")
        abidw(a.abidw, a.header, a.lib, again, root)
        if read(again) != read(a.baseline):
            raise SystemExit("FAIL: abidw gave two different outputs for the same library")
    print(f"wrote {a.list} ({len(exported)} symbols) and {a.baseline}")
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["exports", "abidiff", "soname", "pins", "selftest", "update"])
    p.add_argument("--lib", help="the built libloci.so (the real file)")
    p.add_argument("--header", default=os.path.normpath(os.path.join(HERE, "..", "..", "capi", "loci.h")))
    p.add_argument("--list", default=os.path.join(HERE, "exports.txt"))
    p.add_argument("--baseline", default=os.path.join(HERE, "libloci.abi"))
    p.add_argument("--pins", default=os.path.join(HERE, "layout_pins.c"))
    p.add_argument("--nm", default="nm")
    p.add_argument("--readelf", default="readelf")
    p.add_argument("--abidw", default="abidw")
    p.add_argument("--abidiff", default="abidiff")
    p.add_argument("--cc", default="cc")
    p.add_argument("--cmake-abi", help="CMake's LOCI_ABI_VERSION")
    p.add_argument("--project-version", help="CMake's PROJECT_VERSION")
    a = p.parse_args()
    return {"exports": check_exports, "abidiff": check_abidiff, "soname": check_soname, "pins": check_pins,
            "selftest": selftest, "update": update}[a.mode](a)


if __name__ == "__main__":
    sys.exit(main())
