#!/usr/bin/python3
"""The proof that every test can fail (make check-handout).

1. The handout holds no solution code (and the leak check itself finds the
   solution when it is there).
2. The handout builds, and every step of it fails its tests: its score is
   below full marks and at least one test of its own mechanism fails.
3. The solution gets full marks.
4. No test passes without the mechanism it is named for: each step's own
   tests, run against the previous step's solution binary (step 05's tests
   against step 04), all fail.
"""

import os
import shutil
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "build" / "check-handout"
sys.path.insert(0, str(REPO / "tools"))
import handout  # noqa: E402

failures = []


def check(ok, what):
    print(f"  {'ok  ' if ok else 'FAIL'} {what}")
    if not ok:
        failures.append(what)


def grade(tree):
    """Runs the grader in tree; returns its results.json."""
    import json
    out = WORK / f"results-{tree.name}.json"
    r = subprocess.run(["/usr/bin/python3", str(tree / "tools" / "grade.py"), f"--results={out}",
                        f"--junit={WORK / ('junit-' + tree.name + '.xml')}"],
                       cwd=tree, capture_output=True, text=True)
    if r.returncode != 0 or not out.exists():
        print(r.stdout[-3000:], r.stderr[-3000:])
        check(False, f"grading {tree} ran")
        return None, ""
    return json.loads(out.read_text()), r.stdout


def step_results(results, step):
    prefix = f"step {step:02d}: "
    return [t for t in results["tests"] if t["name"].startswith(prefix)]


def leaks_are_caught(catalog):
    """The leak check must find the solution in a tarball of the solution."""
    tar_path = WORK / "solution-steps.tar.gz"
    with tarfile.open(tar_path, "w:gz") as tar:
        for f in handout.step_files():
            tar.add(f, arcname=f"lab/steps/{f.name}")
    found, _ = handout.leaks(tar_path)
    return len(found) > 0


def prove_handout():
    print("handout:")
    tree, tar = WORK / "handout", WORK / "handout.tar.gz"
    handout.write_handout(tree, tar, give=0)
    found, n = handout.leaks(tar)
    check(not found, f"no solution code in the tarball ({n} solution lines looked for)"
          + "".join(f"\n         {m}: {l}" for m, l in found[:10]))
    check(leaks_are_caught(handout.load_catalog()), "the leak check finds the solution when it is there")
    r = subprocess.run(["make", "-s", "--no-print-directory", "all"], cwd=tree, capture_output=True, text=True)
    check(r.returncode == 0, "the handout builds with make" + (f": {r.stderr[-500:]}" if r.returncode else ""))
    results, table = grade(tree)
    if not results:
        return
    points, default = handout_points(tree)
    for step in sorted({int(t["name"][5:7]) for t in results["tests"]}):
        tests = step_results(results, step)
        score = sum(t["score"] for t in tests)
        own = [t for t in tests if own_test(tree, step, t)]
        own_failed = [t for t in own if t["status"] == "failed"]
        worth = sum(t["max_score"] for t in tests)
        check(score < worth - 0.01 and own_failed,
              f"handout step {step:02d} fails: {score:.1f} of {worth:.0f} points, "
              f"{len(own_failed)} of {len(own)} of its own tests fail")


def handout_points(tree):
    import tomllib
    with open(tree / "tests" / "points.toml", "rb") as f:
        t = tomllib.load(f)
    return t.get("points", {}), t.get("default", 10)


_own_names = {}


def own_test(tree, step, test):
    """Whether a graded test is one of the step's own (from its test file)."""
    if step not in _own_names:
        names = set()
        for f in (tree / "tests").glob(f"test_{step:02d}_*.py"):
            for line in f.read_text().splitlines():
                if line.startswith("def test_"):
                    names.add(line[4:line.index("(")])
        _own_names[step] = names
    base = test["name"].split(": ", 1)[1].split("[")[0]
    return base in _own_names[step]


def prove_solution():
    print("solution:")
    results, table = grade(REPO)
    if not results:
        return
    lost = [t["name"] for t in results["tests"] if t["status"] != "passed"]
    total = sum(t["max_score"] for t in results["tests"])
    check(not lost and abs(results["score"] - total) < 0.01,
          f"the solution gets full marks: {results['score']:.1f} of {total:.0f}"
          + "".join(f"\n         lost: {n}" for n in lost[:20]))


def prove_previous_binaries():
    print("each step's own tests against the previous step's binary:")
    solution_bins = REPO / "build" / "grade" / "bin"
    steps = sorted(int(p.name[5:7]) for p in (REPO / "steps").glob("step-[0-9][0-9]-*.c"))
    for step in steps[1:]:
        prev = solution_bins / f"step-{step - 1:02d}"
        bindir = WORK / f"prev-{step:02d}"
        shutil.rmtree(bindir, ignore_errors=True)
        bindir.mkdir(parents=True)
        shutil.copy2(prev, bindir / f"step-{step:02d}")
        xml_path = WORK / f"prev-{step:02d}.xml"
        subprocess.run(["/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        f"--step={step}", "--mechanism-only", f"--bin-dir={bindir}",
                        f"--junitxml={xml_path}"], cwd=REPO / "tests", capture_output=True, text=True)
        cases = list(ET.parse(xml_path).getroot().iter("testcase"))
        passed = [c.get("name") for c in cases
                  if c.find("failure") is None and c.find("error") is None and c.find("skipped") is None]
        check(cases and not passed,
              f"step {step:02d}: {len(cases)} tests, none passes with step {step - 1:02d}'s binary"
              + "".join(f"\n         passes anyway: {n}" for n in passed))


def main():
    if os.geteuid() != 0:
        sys.exit("make check-handout: the harness needs root: sudo make check-handout")
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    prove_handout()
    prove_solution()
    prove_previous_binaries()
    if failures:
        print(f"make check-handout: {len(failures)} check(s) failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
