#!/usr/bin/python3
"""Keeps the generated parts of the docs in step with the step files.

Each docs/step-NN-*.md holds, between two marker lines, the diff from the
previous step's file (for step 01, the whole program):

    <!-- BEGIN GENERATED: do not edit; run make docs -->
    ...
    <!-- END GENERATED -->

README.md and docs/README.md each hold a table of the steps, one row per
steps/step-NN-*.c, made from the file's name and the synopsis at its top
(the title on line 2, "New here:", "Demo:"), between

    <!-- BEGIN GENERATED: the step table; do not edit; run make docs -->
    ...
    <!-- END GENERATED -->

so that a new step file (and its page) is a new row after make docs.

    mkdocs.py           rewrite the generated parts
    mkdocs.py --check   exit 1, naming each page or table that is stale or missing
    mkdocs.py --quiet   rewrite what exists; say nothing of missing pages
"""

import difflib
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BEGIN = "<!-- BEGIN GENERATED: do not edit; run make docs -->"
END = "<!-- END GENERATED -->"
TABLE_BEGIN = "<!-- BEGIN GENERATED: the step table; do not edit; run make docs -->"


def steps():
    return sorted(REPO.glob("steps/step-[0-9][0-9]-*.c"))


def generated(prev, cur):
    if prev is None:
        body = cur.read_text()
        intro = f"The whole of `{cur.relative_to(REPO)}`:"
        fence = "c"
    else:
        body = "".join(difflib.unified_diff(
            prev.read_text().splitlines(keepends=True), cur.read_text().splitlines(keepends=True),
            fromfile=str(prev.relative_to(REPO)), tofile=str(cur.relative_to(REPO))))
        intro = (f"`diff -u {prev.relative_to(REPO)} {cur.relative_to(REPO)}`: "
                 "everything this step changes.")
        fence = "diff"
    return f"{BEGIN}\n{intro}\n\n```{fence}\n{body}```\n{END}"


def page_for(step_file):
    return REPO / "docs" / (step_file.stem + ".md")


# ---- the step tables ---------------------------------------------------------

def synopsis(step_file):
    """The header comment of a step file as {"title": ..., "New here": ...,
    "Read": ..., "Demo": ...}: line 2 is " * step-NN: title.", then fields
    "Name: text" whose text may go on over the next lines."""
    lines = step_file.read_text().splitlines()
    fields, key = {}, None
    m = re.match(r"^ \* step-\d\d: (.*?)\.?$", lines[1] if len(lines) > 1 else "")
    if not m:
        raise SystemExit(f"make docs: {step_file.relative_to(REPO)}: line 2 is not ' * step-NN: title.'")
    fields["title"] = m.group(1)
    for line in lines[2:]:
        if line.strip() == "*/":
            break
        text = re.sub(r"^ \*\s?", "", line)
        field = re.match(r"^(New here|Read|Demo): (.*)$", text)
        if field:
            key = field.group(1)
            fields[key] = field.group(2).strip()
        elif key and text.strip():
            fields[key] += " " + text.strip()
        else:
            key = None
    for key in ("New here", "Demo"):
        if key not in fields:
            raise SystemExit(f"make docs: {step_file.relative_to(REPO)}: no '{key}:' line in its header")
    return fields


# What reads as code in a synopsis: options (with their argument), calls and
# man pages, constants, paths, identifiers with an underscore, lab<pid>.
CODE = re.compile(r"""
    (?<![\w/-])--?[a-z][\w-]*(?:/--[a-z][\w-]*)?(?:\ [A-Z][A-Z:]*(?:\[[^\]\s]*\])?)?
  | \b[a-z_][a-z0-9_]*\([^()]*\)
  | \b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b
  | (?<![\w.])/[\w./-]*\w
  | \b[a-z]+_[a-z_]+\b
  | \b\w+<\w+>
""", re.X)


def code(text):
    """text as a Markdown code span that survives a table cell."""
    fence = "`" * (max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text.replace('|', chr(92) + '|')}{pad}{fence}"


def escape(text):
    """Plain text for a table cell: no column break, no HTML tag."""
    return re.sub(r"[|<>]", lambda c: {"|": "\\|", "<": "&lt;", ">": "&gt;"}[c.group(0)], text)


def cell(text):
    """Prose for a table cell: code-like words as code, the rest escaped."""
    out, at = [], 0
    for m in CODE.finditer(text):
        out += [escape(text[at:m.start()]), code(m.group(0))]
        at = m.end()
    out.append(escape(text[at:]))
    return "".join(out).rstrip(".")


def step_table(kind, files):
    """The step table of README.md (kind "readme") or docs/README.md ("docs")."""
    if kind == "readme":
        rows = ["| step | file | adds | try |", "|---|---|---|---|"]
    else:
        rows = ["| step | page | mechanism |", "|---|---|---|"]
    for f in files:
        s = synopsis(f)
        number = f.name[5:7]
        if kind == "readme":
            rel = f.relative_to(REPO)
            rows.append(f"| {number} | [{rel}]({rel}) | {cell(s['New here'])} "
                        f"| {code(f'./step-{number} ' + s['Demo'])} |")
        else:
            page = page_for(f).name
            rows.append(f"| {number} | [{page}]({page}) | {cell(s['title'])} |")
    return f"{TABLE_BEGIN}\n" + "\n".join(rows) + f"\n{END}"


def main(argv):
    check = "--check" in argv
    quiet = "--quiet" in argv
    problems = []
    files = steps()
    for i, cur in enumerate(files):
        page = page_for(cur)
        if not page.exists():
            if quiet:
                continue
            problems.append(f"{page.relative_to(REPO)}: missing (every step has a page)")
            continue
        text = page.read_text()
        pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
        if not pattern.search(text):
            problems.append(f"{page.relative_to(REPO)}: no generated section ({BEGIN})")
            continue
        new = pattern.sub(lambda _: generated(files[i - 1] if i else None, cur), text, count=1)
        if new != text:
            if check:
                problems.append(f"{page.relative_to(REPO)}: the diff is stale: run make docs")
            else:
                page.write_text(new)
    for rel, kind in (("README.md", "readme"), ("docs/README.md", "docs")):
        page = REPO / rel
        if not page.exists():
            continue
        text = page.read_text()
        pattern = re.compile(re.escape(TABLE_BEGIN) + r".*?" + re.escape(END), re.S)
        if not pattern.search(text):
            problems.append(f"{rel}: no generated step table ({TABLE_BEGIN})")
            continue
        new = pattern.sub(lambda _: step_table(kind, files), text, count=1)
        if new != text:
            if check:
                problems.append(f"{rel}: the step table is stale: run make docs")
            else:
                page.write_text(new)
    for p in problems:
        print(f"make docs: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
