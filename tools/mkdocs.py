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

docs/zh-CN/ is the Chinese edition: one page per English step page, of the
same name, and a README. Its generated parts are written from the same step
files; --check also fails when a Chinese page is missing, or differs from
its English page in its headings (their number, order and levels) or in
any code block (commands, transcripts, the diff: byte for byte), or when
its README does not link every step's page.

--check also fails when a page names, as code, a function (`name()`), a
file of the repository (`common/x.c`) or a block (`name` block) that is not
there: a page that describes code as it was before a change.

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


ZH = REPO / "docs" / "zh-CN"


def generated(prev, cur, lang="en"):
    if prev is None:
        body = cur.read_text()
        intro = {"en": f"The whole of `{cur.relative_to(REPO)}`:",
                 "zh": f"`{cur.relative_to(REPO)}` 的全部内容："}[lang]
        fence = "c"
    else:
        body = "".join(difflib.unified_diff(
            prev.read_text().splitlines(keepends=True), cur.read_text().splitlines(keepends=True),
            fromfile=str(prev.relative_to(REPO)), tofile=str(cur.relative_to(REPO))))
        diff = f"`diff -u {prev.relative_to(REPO)} {cur.relative_to(REPO)}`"
        intro = {"en": f"{diff}: everything this step changes.",
                 "zh": f"{diff}：这一步改动的全部内容。"}[lang]
        fence = "diff"
    return f"{BEGIN}\n{intro}\n\n```{fence}\n{body}```\n{END}"


def page_for(step_file):
    return REPO / "docs" / (step_file.stem + ".md")


# ---- the Chinese edition -------------------------------------------------------

CODE_BLOCK = re.compile(r"^[ \t]*```.*?^[ \t]*```[ \t]*$", re.M | re.S)
HEADING = re.compile(r"^(#{1,6}) ", re.M)


def outside_code(text):
    return CODE_BLOCK.sub("", text)


def differences(english, chinese):
    """How the Chinese page's shape differs from the English page's: its
    headings' levels, and its code blocks, which must be the same."""
    found = []
    en_levels = [len(h) for h in HEADING.findall(outside_code(english))]
    zh_levels = [len(h) for h in HEADING.findall(outside_code(chinese))]
    if en_levels != zh_levels:
        found.append(f"its headings ({len(zh_levels)}) are not the English page's ({len(en_levels)})"
                     " in number, order and level")
    en_blocks, zh_blocks = CODE_BLOCK.findall(english), CODE_BLOCK.findall(chinese)
    if len(en_blocks) != len(zh_blocks):
        found.append(f"it has {len(zh_blocks)} code blocks, the English page {len(en_blocks)}")
    for n, (a, b) in enumerate(zip(en_blocks, zh_blocks), 1):
        if a != b:
            first = a.splitlines()[0].strip()
            found.append(f"its code block {n} ({first}) differs from the English page's")
            break
    return found


# Named by the pages but not the lab's: the kernel's own functions.
NOT_THE_LABS = {"synchronize_rcu"}
BUILT = ("rootfs/busybox",)  # made by make rootfs, not in the repository


def defined_names():
    sources = [*REPO.glob("steps/*.c"), *REPO.glob("common/*.[ch]"), *REPO.glob("rootfs/helpers/*.c")]
    text = "\n".join(p.read_text() for p in sources)
    names = set(re.findall(r"^(?:static\s+)?(?:_Noreturn\s+)?(?:const\s+)?[\w\s*]+?\b(\w+)\(", text, re.M))
    return names | set(re.findall(r"#define\s+(\w+)\(", text)) | NOT_THE_LABS


def block_names():
    toml = REPO / "steps" / "blocks.toml"
    return set(re.findall(r"^\[([\w-]+)\]", toml.read_text(), re.M)) if toml.exists() else set()


def stale_names(pages, problems):
    """Functions, files and blocks a page names that the code does not have."""
    functions, blocks = defined_names(), block_names()
    for page in pages:
        text = CODE_BLOCK.sub("", page.read_text())
        rel = page.relative_to(REPO)
        problems += [f"{rel}: names `{m}()`, which no step or common/ defines"
                     for m in sorted(set(re.findall(r"`([A-Za-z_]\w*)\(\)`", text))) if m not in functions]
        problems += [f"{rel}: names `{m}`, which is not in the repository"
                     for m in sorted(set(re.findall(r"`((?:common|steps|tests|tools|rootfs|bench|vm|mk)/[\w./-]+)`",
                                                    text)))
                     if not m.startswith(BUILT) and not (REPO / m).exists()]
        problems += [f"{rel}: names the `{m}` block, which steps/blocks.toml does not have"
                     for m in sorted(set(re.findall(r"`([a-z0-9-]+)` block", text))) if blocks and m not in blocks]


def check_chinese(files, problems):
    if not ZH.is_dir():
        return
    for cur in files:
        english, chinese = page_for(cur), ZH / page_for(cur).name
        rel = chinese.relative_to(REPO)
        if not chinese.exists():
            problems.append(f"{rel}: missing (every step page has a Chinese edition)")
        elif english.exists():
            problems += [f"{rel}: {d}" for d in differences(english.read_text(), chinese.read_text())]
    readme = ZH / "README.md"
    if not readme.exists():
        problems.append(f"{readme.relative_to(REPO)}: missing")
        return
    text = readme.read_text()
    problems += [f"{readme.relative_to(REPO)}: no row links {page_for(f).name}"
                 for f in files if f"]({page_for(f).name})" not in text]


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
        chinese = ZH / page.name
        if chinese.exists():
            text = chinese.read_text()
            new = pattern.sub(lambda _: generated(files[i - 1] if i else None, cur, "zh"), text,
                              count=1)
            if new != text:
                if check:
                    problems.append(f"{chinese.relative_to(REPO)}: the diff is stale: run make docs")
                else:
                    chinese.write_text(new)
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
    if check:
        check_chinese(files, problems)
    if check and (REPO / "common").is_dir():  # (a copy of the docs alone has no code to hold them to)
        stale_names([REPO / "README.md", *sorted(REPO.glob("docs/*.md")), *sorted(ZH.glob("*.md"))],
                    problems)
    for p in problems:
        print(f"make docs: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
