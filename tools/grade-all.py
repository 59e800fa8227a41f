#!/usr/bin/python3
"""Grades a class: make grade-all SUBMISSIONS=DIR [OUT=DIR] [STEPS=01,02].

SUBMISSIONS holds one entry per student, named after the student: a
directory (a clone of the student's repository, or just their step files,
at any depth), or a .tar.gz of one. Each is graded alone:

- a fresh copy of the handout (made once from this tree), with the
  student's step files put in its steps/: only files named like the
  handout's step files count; their Makefile, tests and tools are never
  used, so a submission cannot change how it is graded;
- tools/grade.py in that copy, which builds the steps and runs the tests in
  a sandbox of its own (namespaces, a cgroup with a pids and a memory
  limit, a time limit per test), under a time limit per student;
- the host checked after each student (mounts, lab cgroups, links, the
  hostname, /run/lab): anything left is removed and noted, so the next
  student starts on a clean machine.

OUT (default build/grade-all) gets grades.csv, one row per student (points
per step, total, status, notes), and OUT/<student>/ with the student's
results.json (Gradescope's format), report.xml (JUnit), summary.json and
the grader's log.
"""

import argparse
import csv
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import handout  # noqa: E402
import labtest  # noqa: E402

REPO = handout.REPO
STEP_FILE = re.compile(r"step-\d\d-[a-z0-9-]+\.c")
# Scratch trees hold a rootfs with device nodes, so they live beside the
# lab's own build, not in /tmp, which may be mounted nodev.
SCRATCH = REPO / "build"


def unpack_plain_files(tar, root):
    """Only regular files and directories, only inside root: a submission's
    links, devices and ../ paths are dropped (Debian 12's Python has no
    extraction filters)."""
    for member in tar.getmembers():
        target = (root / member.name).resolve()
        if not (member.isfile() or member.isdir()) or not target.is_relative_to(root.resolve()):
            continue
        if member.isdir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)


def student_files(entry, scratch):
    """The student's step files: {name: path}, and what was left out."""
    root = entry
    if entry.is_file() and entry.name.endswith((".tar.gz", ".tgz")):
        root = scratch / "unpacked"
        root.mkdir()
        with tarfile.open(entry) as tar:
            unpack_plain_files(tar, root)
    found, ignored = {}, []
    for path in sorted(p for p in root.rglob("*.c") if p.is_file() and not p.is_symlink()):
        if STEP_FILE.fullmatch(path.name) and path.name not in found:
            found[path.name] = path
        else:
            ignored.append(path.name)
    return found, ignored


def grade_one(lab, steps, limit, log):
    """Runs the copy's grader; {"05": {"got": cents, "worth": cents, ...}}."""
    summary = lab / "build" / "summary.json"
    results = {}
    for step in steps or [None]:
        cmd = [sys.executable, "tools/grade.py", "--scoring-only", f"--summary={summary}"]
        cmd += [f"--step={step}"] if step else []
        summary.unlink(missing_ok=True)
        try:
            r = subprocess.run(["timeout", "-s", "KILL", str(limit)] + cmd, cwd=lab, capture_output=True,
                               text=True)
        except OSError as e:
            log.write(f"{e}\n")
            return results, "error"
        log.write(r.stdout + r.stderr)
        if r.returncode == 137:
            return results, "timeout"
        if summary.exists():
            results.update(json.loads(summary.read_text()))
    return results, "ok" if results else "error"


def clean_host(before):
    """What a student's run left on the host, removed: its description."""
    diff = before.diff(labtest.HostState.now())
    if diff:
        labtest.restore(before)
    return "; ".join(diff)


def grade_student(entry, template, out, steps, limit):
    name = entry.name.removesuffix(".tar.gz").removesuffix(".tgz")
    report = out / name
    report.mkdir(parents=True, exist_ok=True)
    row = {"student": name, "status": "ok", "notes": ""}
    with (tempfile.TemporaryDirectory(prefix="grade-", dir=SCRATCH) as scratch,
          open(report / "grade.log", "w") as log):
        scratch = Path(scratch)
        files, ignored = student_files(entry, scratch)
        known = {p.name for p in handout.step_files(template)}
        lab = scratch / "lab"
        # cp -a: the rootfs holds device nodes, which copytree would open and read
        subprocess.run(["cp", "-a", str(template), str(lab)], check=True)
        for fname, path in files.items():
            if fname in known:
                shutil.copyfile(path, lab / "steps" / fname)
        row["notes"] = "; ".join(filter(None, [
            f"no step files" if not files else "",
            f"ignored: {', '.join(sorted(set(ignored) | (set(files) - known)))}" if ignored or set(files) - known
            else ""]))
        before = labtest.HostState.now()
        t0 = time.monotonic()
        results, row["status"] = grade_one(lab, steps, limit, log)
        row["seconds"] = f"{time.monotonic() - t0:.0f}"
        left = clean_host(before)
        if left:
            row["notes"] = "; ".join(filter(None, [row["notes"], f"left on the host, removed: {left}"]))
        for f in ("results.json", "report.xml"):
            if (lab / f).exists():
                shutil.copyfile(lab / f, report / f)
        (report / "summary.json").write_text(json.dumps(results, indent=1) + "\n")
    for step, e in results.items():
        row[step] = f"{e['got'] / 100:.2f}"
    row["total"] = f"{sum(e['got'] for e in results.values()) / 100:.2f}"
    row["max"] = f"{sum(e['worth'] for e in results.values()) / 100:.2f}"
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("submissions", type=Path)
    ap.add_argument("--out", type=Path, default=REPO / "build" / "grade-all")
    ap.add_argument("--steps", help="grade only these steps: 01,02")
    ap.add_argument("--time-limit", type=int, default=3600, help="seconds per student")
    args = ap.parse_args()
    if not args.submissions or not args.submissions.is_dir():
        sys.exit("make grade-all: SUBMISSIONS=DIR: a directory with one entry per student")
    entries = sorted(p for p in args.submissions.iterdir() if not p.name.startswith("."))
    steps = [int(s) for s in args.steps.split(",")] if args.steps else None
    args.out.mkdir(parents=True, exist_ok=True)
    SCRATCH.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="grade-all-", dir=SCRATCH) as work:
        template = handout.write_handout(Path(work) / "handout", None, 0)
        subprocess.run(["make", "-s", "rootfs"], cwd=template, check=True)
        rows = []
        for entry in entries:
            print(f"grading {entry.name} ...", flush=True)
            rows.append(grade_student(entry, template, args.out, steps, args.time_limit))
            print(f"  {rows[-1]['total']} of {rows[-1]['max']} ({rows[-1]['status']}"
                  f"{'; ' + rows[-1]['notes'] if rows[-1]['notes'] else ''})", flush=True)
    step_cols = sorted({k for r in rows for k in r if re.fullmatch(r"\d\d", k)})
    with open(args.out / "grades.csv", "w", newline="") as f:
        w = csv.DictWriter(f, ["student", *step_cols, "total", "max", "status", "seconds", "notes"])
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {args.out / 'grades.csv'} and a report per student in {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
