#!/usr/bin/python3
"""Carries your own solutions forward: make carry [FROM=NN] [FORCE=1].

Every step file holds the blocks of its own step and of the steps before
it, between /* LAB:BEGIN name */ and /* LAB:END */. You solve a block once,
in the file of the step that introduces it; this copies your solution into
each later step file that holds the block:

- where the later file still has the block's TODO, or the copy make carry
  put there last time (you fixed a bug at the source: the fix goes along);
- not where the later copy was edited by hand: then nothing is written at
  all, and each such block is named, with what to do (FORCE=1 takes the
  source's copy anyway).

FROM=NN takes step NN's file as the source of every block it holds: fix an
earlier block there, then carry it on from there.

What make carry wrote last is remembered in .carry.json (hashes), so that a
later run can tell a carried copy from one edited by hand.
"""

import argparse
import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import handout  # noqa: E402

REPO = handout.REPO
STATE = ".carry.json"


def contents(path, catalog):
    """{block: the lines between its markers} of a step file."""
    lines = Path(path).read_text().splitlines(keepends=True)
    return {name: "".join(lines[first:last - 1]) for name, first, last in handout.blocks(path, catalog)}


def untouched(text):
    """Only the TODO comment (and the handout's (void) lines): not solved."""
    code = []
    in_comment = False
    for line in text.splitlines():
        s = line.strip()
        if in_comment or s.startswith("/*"):
            in_comment = not s.endswith("*/")
            continue
        if s and not (s.startswith("(void)") and handout.UNUSED_NOTE in s):
            code.append(s)
    return not code


def digest(text):
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def replace_block(path, name, new, catalog):
    lines = Path(path).read_text().splitlines(keepends=True)
    for b, first, last in handout.blocks(path, catalog):
        if b == name:
            lines[first:last - 1] = [new]
            break
    Path(path).write_text("".join(lines))


def plan(root, catalog, source_step, force, state):
    """[(file, block, text, from_step)] to write, [conflict messages]."""
    files = {handout.step_of(p): p for p in handout.step_files(root)}
    blocks = {n: contents(p, catalog) for n, p in files.items()}
    writes, conflicts = [], []
    for name, entry in catalog.items():
        src_step = source_step if source_step and name in blocks.get(source_step, {}) else entry["step"]
        src = blocks.get(src_step, {}).get(name)
        if src is None or untouched(src):
            continue  # not solved at its source yet
        for step, path in files.items():
            cur = blocks[step].get(name)
            if step <= src_step or cur is None or cur == src:
                continue
            rel = str(path.relative_to(root))
            carried_last = state.get(rel, {}).get(name) == digest(cur)
            if untouched(cur) or carried_last or force:
                writes.append((path, rel, name, src, src_step))
            else:
                conflicts.append(f"{rel}: block {name} was edited here, and differs from your "
                                 f"step-{src_step:02d}'s: make them agree by hand, run make carry "
                                 f"FROM={step:02d} to carry this one on instead, or FORCE=1 to take "
                                 f"step-{src_step:02d}'s")
    return writes, conflicts


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--from", dest="source", type=int, help="take this step's file as the source")
    ap.add_argument("--force", action="store_true", help="replace copies edited by hand too")
    ap.add_argument("--root", default=str(REPO), help=argparse.SUPPRESS)
    args = ap.parse_args()
    root = Path(args.root)
    catalog = handout.load_catalog(root)
    steps = [handout.step_of(p) for p in handout.step_files(root)]
    if args.source is not None and args.source not in steps:
        sys.exit(f"make carry: FROM={args.source:02d}: there is no such step")
    state_path = root / STATE
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    try:
        writes, conflicts = plan(root, catalog, args.source, args.force, state)
    except handout.MarkerError as e:
        sys.exit(f"make carry: {e} (the markers must stay: your code goes between them)")
    if conflicts:
        print("make carry: nothing carried; first:", file=sys.stderr)
        for c in conflicts:
            print(f"  {c}", file=sys.stderr)
        return 1
    for path, rel, name, text, src_step in writes:
        replace_block(path, name, text, catalog)
        state.setdefault(rel, {})[name] = digest(text)
        print(f"carried {name} from step-{src_step:02d} into {rel}")
    state_path.write_text(json.dumps(state, indent=1, sort_keys=True) + "\n")
    if not writes:
        print("make carry: every later copy is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
