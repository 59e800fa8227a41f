#!/usr/bin/python3
"""Writes the student version of the lab: every solution block replaced by a
TODO that says what to do and which man pages to read.

    handout.py [--out DIR] [--tar FILE] [--give NN]
    handout.py --check-markers         only check the markers, write nothing
    handout.py --leaks TARBALL         fail if the tarball holds solution code

A solution block in a step file is

    /* LAB:BEGIN <name> */
    ... code ...
    /* LAB:END */

where <name> is a table of steps/blocks.toml. Every step file carries the
blocks of its own step and of the steps before it (the student brings their
earlier solutions along), so the handout holds no solution anywhere.
--give NN keeps the blocks of steps up to NN (for a workshop that starts at
step NN+1). Everything else is copied as it is; the docs' generated diffs are
made again from the handout's step files, so that they show no solution
either.
"""

import argparse
import io
import os
import re
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BEGIN = re.compile(r"^(\s*)/\* LAB:BEGIN ([a-z0-9-]+) \*/\s*$")
END = re.compile(r"^\s*/\* LAB:END \*/\s*$")
ANY_MARKER = re.compile(r"LAB:(BEGIN|END)")


class MarkerError(Exception):
    pass


def load_catalog(root=REPO):
    with open(root / "steps" / "blocks.toml", "rb") as f:
        return tomllib.load(f)


def step_of(path):
    return int(Path(path).name[5:7])


def blocks(path, catalog):
    """[(name, first_line, last_line)] of a step file, 1-based and inclusive.
    Raises MarkerError naming the file and line of any malformed marker."""
    found, open_block = [], None
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        b, e = BEGIN.match(line), END.match(line)
        where = f"{path}:{n}"
        if not b and not e and ANY_MARKER.search(line):
            raise MarkerError(f"{where}: malformed marker (want '/* LAB:BEGIN name */' or '/* LAB:END */')")
        if b:
            if open_block:
                raise MarkerError(f"{where}: LAB:BEGIN {b.group(2)} inside block "
                                  f"{open_block[0]} (opened at line {open_block[1]}): blocks do not nest")
            name = b.group(2)
            if name not in catalog:
                raise MarkerError(f"{where}: unknown block name {name!r} (not in steps/blocks.toml)")
            if catalog[name]["step"] > step_of(path):
                raise MarkerError(f"{where}: block {name} belongs to step {catalog[name]['step']:02d}, "
                                  f"after this one")
            open_block = (name, n)
        elif e:
            if not open_block:
                raise MarkerError(f"{where}: LAB:END without LAB:BEGIN")
            found.append((open_block[0], open_block[1], n))
            open_block = None
    if open_block:
        raise MarkerError(f"{path}:{open_block[1]}: LAB:BEGIN {open_block[0]} has no LAB:END")
    return found


def todo_comment(indent, name, entry, file_step, width=80):
    """The comment that replaces a block, wrapped to fit the code."""
    first = entry["step"]
    head = f"TODO(step {first:02d}, {name})"
    if first < file_step:
        head += f" - your step-{first:02d}'s: `make carry` copies it here"
    words = (head + ": " + " ".join(entry["todo"].split())).split()
    words += ["Read:"] + ", ".join(entry["man"]).split() + []
    lines, cur = [], ""
    for w in words:
        if cur and len(indent) + 3 + len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}" if cur else w
    lines.append(cur + " */")
    out = [f"{indent}/* {lines[0]}"] + [f"{indent} * {l}" for l in lines[1:]]
    return "\n".join(out) + "\n"


PARAM = re.compile(r"(\w+)\s*[,)]")
UNUSED_NOTE = "/* unused until the TODO above is done */"


FALLBACK = re.compile(r"^\s*return (false|true|0|-1|NULL|\"\w+\"|\w+);\s*$")
STATIC_FUNCTION = re.compile(r"^static\b[^(=;]*?\b(\w+)\(")


def used_only_in(lines, spans, catalog, give):
    """The step's static functions that only the blocks handed out blank
    call (a helper with a block of its own, called by another block): each
    with the first such block, so that the handout says it is "used" there
    and still compiles with -Werror."""
    blank = [(f, l) for name, f, l in spans if catalog[name]["step"] > give]
    in_blank = {k for f, l in blank for k in range(f - 1, l)}
    names = {m.group(1) for line in lines if (m := STATIC_FUNCTION.match(line))}
    found = {}
    for name in sorted(names):
        word = re.compile(rf"\b{name}\b")
        outside = [k for k, line in enumerate(lines) if k not in in_blank and word.search(line)
                   and not STATIC_FUNCTION.match(line)]
        inside = [f for f, l in blank if any(word.search(lines[k]) for k in range(f, l - 1))]
        if not outside and inside:
            found.setdefault(min(inside), []).append(name)
    return found


def unused_parameters(lines, first, last, spans):
    """When blocks are the whole body of a function (one block, or several
    with nothing but blank lines between, and at most a fallback `return
    CONSTANT;` after them), the names of the function's parameters, which
    nothing uses once they are gone: asked at the last block of the body
    (first..last, 1-based, its markers included)."""
    close = last + 1 if last < len(lines) - 1 and FALLBACK.match(lines[last]) else last
    # (a fallback: the return the function ends on when the block is empty)
    if close >= len(lines) or lines[close].rstrip() != "}":
        return []
    open_at = next((k for k in range(first - 2, -1, -1) if lines[k].rstrip() == "{"), None)
    if not open_at:
        return []
    in_blocks = {k for _, f, l in spans for k in range(f - 1, l)}
    if any(lines[k].strip() and k not in in_blocks for k in range(open_at + 1, last)):
        return []
    head = lines[open_at - 1]
    if "(void)" in head or "(" not in head:
        return []
    return PARAM.findall(head[head.index("("):])


def strip_file(path, catalog, give=0):
    """The step file's text with its blocks replaced (except given ones).
    A function whose whole body was a block keeps its parameters "used", so
    that the handout still compiles with -Werror."""
    lines = Path(path).read_text().splitlines(keepends=True)
    spans = blocks(path, catalog)
    helpers = used_only_in(lines, spans, catalog, give)
    out, i = [], 0
    for name, first, last in spans:
        out.extend(lines[i:first - 1])
        if catalog[name]["step"] <= give:
            out.extend(lines[first - 1:last])
        else:
            # The markers stay: the student's code goes between them, where
            # make carry finds it.
            indent = BEGIN.match(lines[first - 1]).group(1)
            out.append(lines[first - 1])
            out.append(todo_comment(indent, name, catalog[name], step_of(path)))
            for param in unused_parameters(lines, first, last, spans) + helpers.get(first, []):
                out.append(f"{indent}(void){param}; {UNUSED_NOTE}\n")
            out.append(lines[last - 1])
        i = last
    out.extend(lines[i:])
    return "".join(out)



def step_files(root=REPO):
    return sorted((root / "steps").glob("step-[0-9][0-9]-*.c"))


def tree_files(root=REPO):
    """The files of the lab as its author has them: tracked and new ones,
    without build outputs (git's ignore rules say which)."""
    if (root / ".git").exists():
        out = subprocess.run(["git", "-C", str(root), "ls-files", "-co", "--exclude-standard", "-z"],
                             check=True, capture_output=True).stdout.decode()
        return sorted(p for p in out.split("\0") if p and (root / p).is_file())
    skip = {"build", "handout", ".git", "__pycache__", ".pytest_cache"}
    files = []
    for dirpath, dirnames, names in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in skip and not (d == "busybox" and dirpath.endswith("rootfs"))]
        files += [os.path.relpath(os.path.join(dirpath, n), root) for n in names]
    return sorted(f for f in files if not re.fullmatch(r"step-\d\d", f))


# Code handed to students as it is: a line found there is no secret.
GIVEN_DIRS = ("common", "rootfs", "tests")
# Instructor material, left out of the handout: the benchmarks run the
# solution and hold code of their own that does what the steps do; the
# mutants are edits of the solution, and the proof that uses them needs it.
NOT_HANDED_OUT = ("bench/", "mk/bench.mk", "mk/proof.mk", "tests/mutants.toml", "tools/check-handout.py",
                  "tests/hostile/", "tests/test_grader.py", "mk/course.mk", "tools/grade-all.py",
                  "tools/gradescope", "tests/test_course.py")


def solution_lines(catalog, give=0, root=REPO):
    """The code lines that only solution blocks hold: each significant line
    (not a comment, not trivial) of a block that appears nowhere in the code
    students are given (outside the blocks, common/, rootfs/, tests/)."""
    inside, outside = set(), set()
    for d in GIVEN_DIRS:
        for f in (root / d).rglob("*"):
            if f.is_file() and f.suffix in (".c", ".h", ".py", ".sh"):
                outside.update(l.strip() for l in f.read_text(errors="replace").splitlines())
    for path in step_files(root):
        lines = path.read_text().splitlines()
        in_block = set()
        for name, first, last in blocks(path, catalog):
            if catalog[name]["step"] <= give:
                continue
            in_block.update(range(first, last + 1))
        for n, line in enumerate(lines, 1):
            s = line.strip()
            (inside if n in in_block else outside).add(s)
    def significant(s):
        return len(s) >= 16 and not s.startswith(("/*", "*", "//")) and "LAB:" not in s
    return sorted(s for s in inside - outside if significant(s))


# What make and the student write in a handout tree: a new handout may
# replace these without asking.
BUILD_OUTPUTS = re.compile(r"(build|rootfs/busybox|__pycache__|tests/__pycache__)(/.*)?|step-\d\d|"
                           r"results\.json|report\.xml|unit-Results\.xml|\.carry\.json|handout\.tar\.gz")
MANIFEST = ".handout-files"
# The instructor's pages: what they describe is not in the handout.
INSTRUCTOR_DOCS = ("docs/instructor.md", "docs/benchmarks.md", "docs/benchmarks.svg")
# The handout's GitHub Classroom workflow (docs/instructor.md).
CLASSROOM_WORKFLOW = ("tools/classroom.yml", ".github/workflows/classroom.yml")


class HandoutError(Exception):
    pass


def foreign_files(out_dir):
    """Files in an existing handout directory that a handout did not write
    and a build did not make: someone's work, not to be deleted."""
    out_dir = Path(out_dir)
    if not out_dir.exists():
        return []
    manifest = out_dir / MANIFEST
    ours = set(manifest.read_text().split("\n")) if manifest.exists() else set()
    found = []
    for dirpath, dirnames, names in os.walk(out_dir):
        for n in names:
            rel = os.path.relpath(os.path.join(dirpath, n), out_dir)
            if rel != MANIFEST and rel not in ours and not BUILD_OUTPUTS.fullmatch(rel):
                found.append(rel)
    return sorted(found)


def handed_out(rel):
    return not rel.startswith(NOT_HANDED_OUT) and rel not in INSTRUCTOR_DOCS and rel != CLASSROOM_WORKFLOW[0]


def make_targets(tree):
    """The targets the tree's make knows (make -pn's database)."""
    out = subprocess.run(["make", "-pnq", "-C", str(tree), "--no-print-directory", "help"],
                         capture_output=True, text=True).stdout
    return {m.group(1) for m in re.finditer(r"^([a-z][a-z0-9-]*):", out, re.M)}


# `make grade` names the target grade (`make step-NN` names none): in code,
# inline or in a block, not in prose ("make every mount private").
MAKE_TARGET = re.compile(r"(?:^|[\s`(])make ((?:[a-z][a-z0-9]*-)*[a-z][a-z0-9]*)\b(?!-)")
CODE_SPAN = re.compile(r"`([^`\n]+)`")
INSTRUCTOR_ONLY = re.compile(r"\n?<!-- instructor -->.*?<!-- /instructor -->", re.S)


SHELL_FENCES = ("", "sh", "console", "bash", "shell")


def make_targets_named(text):
    """The make targets a page names in its commands: in inline code, in
    an indented block, or in a shell or console block (not in a diff)."""
    code, fence, last = [], None, ""
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fence = None if fence is not None else line.strip()[3:].split(" ")[0]
        elif fence is not None:
            if fence in SHELL_FENCES:
                code.append(line)
        elif line.startswith("    ") and (not last.strip() or last.startswith("    ")):
            code.append(line)
        else:
            code += CODE_SPAN.findall(line)
        last = line if fence is None else ""
    return [t for c in code for t in MAKE_TARGET.findall(c)]


def items(text):
    """The page in pieces: a list item with its indented lines, a table
    row, or one other line."""
    out = []
    for line in text.splitlines(keepends=True):
        if out and line[:1] == " " and line.strip() and out[-1].startswith("- "):
            out[-1] += line
        else:
            out.append(line)
    return out


def for_students(text, targets, missing):
    """A page as the handout has it: what is marked <!-- instructor -->, and
    a table row or list item about a make target or a page the handout does
    not have, go."""
    def stale(item):
        linked = re.findall(r"\]\(([^)#]+)", item)
        return (any(t not in targets for t in make_targets_named(item))
                or any(Path(l).name in missing for l in linked))
    text = INSTRUCTOR_ONLY.sub("", text)
    return "".join(i for i in items(text) if not (i.startswith(("|", "- ")) and stale(i)))


def last_step():
    return max(step_of(p) for p in step_files())


def write_handout(out_dir, tar_path, give):
    catalog = load_catalog()
    last = last_step()
    if not 0 <= give <= last:
        raise HandoutError(f"GIVE={give}: the last step is {last:02d}: GIVE keeps the solutions of steps "
                           f"01..GIVE, so it is 00..{last:02d}")
    for path in step_files():
        blocks(path, catalog)  # refuse malformed markers before writing anything
    out_dir = Path(out_dir)
    foreign = foreign_files(out_dir)
    if foreign:
        raise HandoutError(f"{out_dir} holds files a handout did not write ({', '.join(foreign[:3])}"
                           f"{'...' if len(foreign) > 3 else ''}): move them away, or pass --out elsewhere")
    if out_dir.exists():
        subprocess.run(["rm", "-rf", str(out_dir)], check=True)
    written = []
    for rel in tree_files():
        if not handed_out(rel):
            continue
        src, dst = REPO / rel, out_dir / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if re.fullmatch(r"steps/step-\d\d-.*\.c", rel):
            dst.write_text(strip_file(src, catalog, give))
        else:
            dst.write_bytes(src.read_bytes())
        dst.chmod(src.stat().st_mode & 0o777)
        written.append(rel)
    # (A handout of a handout has the workflow where a handout puts it.)
    source = next((REPO / w for w in CLASSROOM_WORKFLOW if (REPO / w).exists()), None)
    if source and CLASSROOM_WORKFLOW[1] not in written:
        workflow = out_dir / CLASSROOM_WORKFLOW[1]
        workflow.parent.mkdir(parents=True, exist_ok=True)
        workflow.write_bytes(source.read_bytes())
        written.append(CLASSROOM_WORKFLOW[1])
    targets = make_targets(out_dir)
    missing = {Path(r).name for r in INSTRUCTOR_DOCS}
    for rel in written:
        if rel.endswith(".md"):
            (out_dir / rel).write_text(for_students((out_dir / rel).read_text(), targets, missing))
    (out_dir / MANIFEST).write_text("\n".join(written) + "\n")
    subprocess.run([sys.executable, str(out_dir / "tools" / "mkdocs.py"), "--quiet"], check=True)
    if tar_path:
        with tarfile.open(tar_path, "w:gz") as tar:
            tar.add(out_dir, arcname="lab-handout")
    return out_dir


def leaks(tar_path, give=0):
    """Solution lines found in the tarball: [(member, line)]."""
    wanted = solution_lines(load_catalog(), give)
    found = []
    with tarfile.open(tar_path) as tar:
        for m in tar.getmembers():
            if not m.isfile():
                continue
            text = tar.extractfile(m).read().decode(errors="replace")
            found += [(m.name, s) for s in wanted if s in text]
    return found, len(wanted)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(REPO / "handout"))
    ap.add_argument("--tar", default=str(REPO / "handout.tar.gz"))
    ap.add_argument("--give", type=int, default=0, help="keep the solutions of steps up to this one")
    ap.add_argument("--check-markers", action="store_true")
    ap.add_argument("--leaks", metavar="TARBALL")
    args = ap.parse_args()
    try:
        if args.check_markers:
            catalog = load_catalog()
            for path in step_files():
                blocks(path, catalog)
            return 0
        if args.leaks:
            found, n = leaks(args.leaks, args.give)
            for member, line in found:
                print(f"handout: solution code in {member}: {line}", file=sys.stderr)
            return 1 if found else 0
        out = write_handout(args.out, args.tar, args.give)
        print(f"handout: {os.path.relpath(out)}/ and {os.path.relpath(args.tar)}"
              + (f" (steps up to {args.give:02d} given)" if args.give else ""))
        return 0
    except (MarkerError, HandoutError) as e:
        print(f"make handout: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
