#!/usr/bin/python3
"""Keeps the generated parts of the step pages in step with the step files.

Each docs/step-NN-*.md holds, between two marker lines, the diff from the
previous step's file (for step 01, the whole program):

    <!-- BEGIN GENERATED: do not edit; run make docs -->
    ...
    <!-- END GENERATED -->

    mkdocs.py           rewrite the generated parts
    mkdocs.py --check   exit 1, naming each page that is stale or missing
    mkdocs.py --quiet   rewrite what exists; say nothing of missing pages
"""

import difflib
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BEGIN = "<!-- BEGIN GENERATED: do not edit; run make docs -->"
END = "<!-- END GENERATED -->"


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
    for p in problems:
        print(f"make docs: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
