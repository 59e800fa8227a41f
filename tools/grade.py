#!/usr/bin/python3
"""Grades the steps in this tree: builds each one, runs the harness on it in
a sandbox, and reports a score table, Gradescope's results.json and JUnit XML.

    grade.py [--step NN] [--results results.json] [--junit report.xml]

The points rule. A step's points (tests/points.toml) are earned only by the
tests that fail without that step's own code: its own test file's tests,
run against it, except those marked `given`. Every other test that applies
to the step still runs and is reported (the plumbing students are given,
the earlier steps' mechanisms), but earns none of its points. The scoring
tests share the step's points equally, in hundredths, so that the points
add up exactly to the configured total. A test that cannot run on this
machine (skipped, with its reason) counts neither way.

How a step is run. It is built from whatever code is in the tree, without
-Werror: a warning costs WARNING_COST of the step's points (never below 0),
and is shown; a step that does not compile scores 0, with the compiler's
first error. Its tests run in a sandbox (tools/sandbox.py: namespaces of its
own, a shared root mount as systemd makes it, a cgroup with pids and memory
limits), so that a hostile or broken step cannot change the machine or stop
the grade being written. A step that hangs, says nothing, or changes the
host on its first run is stopped as a whole and scores 0, with the reason.
Values the tests use are random but seeded: LAB_SEED=<seed> replays a run.
"""

import argparse
import base64
import ast
import json
import os
import random
import re
import subprocess
import sys
import time
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = Path("build") / "grade"        # relative to REPO: paths with spaces stay one word for make
PYTEST = ["/usr/bin/python3", "-m", "pytest"]
WARNING_COST = 0.05                   # of the step's points, when it compiles with warnings
STEP_TIME_LIMIT = 600                 # seconds for one step's tests, before the time scale

sys.path.insert(0, str(REPO / "tests"))
import labtest  # noqa: E402


def step_numbers(repo=REPO):
    return sorted(int(p.name[5:7]) for p in (repo / "steps").glob("step-[0-9][0-9]-*.c"))


def points_table(repo=REPO):
    with open(repo / "tests" / "points.toml", "rb") as f:
        table = tomllib.load(f)
    return table.get("points", {}), table.get("default", 10)


def one_line(text, limit=220):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


# ---- building ---------------------------------------------------------------------------

def build(step):
    """Compiles one step, without -Werror, into WORK/bin. Returns (error,
    warnings): the first error or None, and the warning lines."""
    target = WORK / "bin" / f"step-{step:02d}"
    (REPO / target).unlink(missing_ok=True)
    r = subprocess.run(["make", "-s", "--no-print-directory", f"OUT={WORK}/bin", f"BUILD={WORK}/obj",
                        "WERROR=", str(target)], cwd=REPO, capture_output=True, text=True)
    lines = (r.stderr + r.stdout).splitlines()
    warnings = [l.strip() for l in lines if re.search(r"\bwarning:", l)]
    if r.returncode == 0 and (REPO / target).exists():
        return None, warnings
    errors = [l for l in lines if re.search(r"\berror\b", l)] or lines or ["make failed"]
    return errors[0].strip(), warnings


# ---- running the tests ---------------------------------------------------------------------

def run_tests(step, seed, scoring_only=False, first_failure=False):
    """The harness on one step, in a sandbox; returns its report:
    {"stopped": reason or None, "tests": [...]} (see tests/conftest.py)."""
    report = REPO / WORK / f"step-{step:02d}.json"
    report.unlink(missing_ok=True)
    limit = labtest.scaled(STEP_TIME_LIMIT)
    cmd = [sys.executable, str(REPO / "tools" / "sandbox.py"), f"--time-limit={limit:g}",
           f"--keep={REPO}", "--",
           *PYTEST, "-q", "-p", "no:cacheprovider", f"--step={step}", "--grading",
           f"--bin-dir={REPO / WORK / 'bin'}", f"--lab-report={report}"]
    if scoring_only:
        cmd.append("--scoring-only")
    if first_failure:
        cmd.append("--exitfirst")
    env = dict(os.environ, LAB_SEED=str(seed))
    r = subprocess.run(cmd, cwd=REPO / "tests", env=env, capture_output=True, text=True)
    if r.returncode == 124:
        return {"stopped": f"the tests of step {step:02d} did not finish within {limit:.0f} s: stopped",
                "tests": load(report)["tests"] if report.exists() else []}
    if not report.exists():
        return {"stopped": harness_died(step, r), "tests": []}
    found = load(report)
    if not found["tests"] and not found["stopped"]:
        found["stopped"] = harness_died(step, r)
    return found


def load(path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {"stopped": None, "tests": []}


def harness_died(step, r):
    last = [l for l in (r.stderr + r.stdout).splitlines() if l.strip()][-1:] or ["nothing"]
    if r.returncode >= 128:
        return (f"the harness was killed (signal {r.returncode - 128}) while it tested step "
                f"{step:02d}: did the step kill(-1) or reboot(2)?")
    return f"the harness stopped while it tested step {step:02d} (exit {r.returncode}): {one_line(last[0], 160)}"


def image_intact():
    """The image as it was built, for the next step: until step 11 a
    container's root is the image itself, and a step without layers (or a
    broken one) writes into it (tools/image.py)."""
    r = subprocess.run(["make", "-s", "--no-print-directory", "image-intact"], cwd=REPO,
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"make grade: the image cannot be built again: {one_line(r.stderr)}")


# ---- scoring ---------------------------------------------------------------------------------

def shares(cents, n):
    """cents split into n whole shares that differ by at most one and add up
    exactly: 1000 into 3 is 334, 333, 333."""
    base, extra = divmod(cents, n)
    return [base + (1 if i < extra else 0) for i in range(n)]


def score(step, worth, error, warnings, report):
    """The graded step: its scoring tests with their points, the rest, in cents."""
    entry = {"step": step, "worth": round(worth * 100), "error": error, "warnings": warnings,
             "stopped": None, "scoring": [], "given": [], "got": 0, "deduction": 0}
    if error:
        return entry
    entry["stopped"] = report["stopped"]
    tests = [t for t in report["tests"] if t["step"] == step]
    counted = [t for t in tests if t["scores"] and t["outcome"] != "skipped"]
    for t, share in zip(counted, shares(entry["worth"], len(counted)) if counted else []):
        t["max_cents"] = share
    entry["scoring"] = [t for t in tests if t["scores"]]
    entry["given"] = [t for t in tests if not t["scores"]]
    if entry["stopped"]:
        return entry  # 0: the step could not be tested
    entry["got"] = sum(t["max_cents"] for t in counted if t["outcome"] == "passed")
    if warnings:
        entry["deduction"] = min(entry["got"], round(entry["worth"] * WARNING_COST))
        entry["got"] -= entry["deduction"]
    return entry


def grade(steps, seed, scoring_only=False, first_failure=False):
    (REPO / WORK / "bin").mkdir(parents=True, exist_ok=True)
    points, default = points_table()
    r = subprocess.run(["make", "-s", "--no-print-directory", "image-intact", "test-helpers"], cwd=REPO,
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"make grade: the rootfs or the test helpers do not build: {one_line(r.stderr)}")
    graded = []
    for step in steps:
        worth = float(points.get(f"{step:02d}", default))
        error, warnings = build(step)
        report = None if error else run_tests(step, seed, scoring_only, first_failure)
        image_intact()
        graded.append(score(step, worth, error, warnings, report))
    return graded


# ---- what the student reads --------------------------------------------------------------

def unrepr(text):
    """The string a repr() in a failure message stands for ('a\\nb' is a,
    newline, b), or the text itself."""
    try:
        value = ast.literal_eval(text)
        return value if isinstance(value, str) else text
    except (ValueError, SyntaxError):
        return text


def explain(test):
    """One line: what the test expected and what it saw, from the failure's
    own message (values, not the test's source)."""
    lines = [l.strip() for l in (test.get("message") or "").splitlines() if l.strip()]
    if not lines:
        return test["outcome"]
    first = re.sub(r"^(AssertionError|Failed): ?", "", lines[0]) or (lines[1] if len(lines) > 1 else "")
    if first.endswith(":"):  # "the host was changed and not restored:" and its list below
        more = [l for l in lines[1:] if not re.match(r"^(exit status|stdout|stderr|command|assert)\b", l)]
        first += " " + "; ".join(more[:4])
    seen = {}
    for l in lines[1:]:
        m = re.match(r"^(exit status|stdout|stderr): (.*)", l)
        if m and m.group(1) not in seen:
            seen[m.group(1)] = unrepr(m.group(2))
    parts = [f"exit {seen['exit status']}"] if "exit status" in seen else []
    if seen.get("stdout"):
        parts.append(f"stdout {one_line(repr(seen['stdout']), 60)}")
    errors = [e for e in seen.get("stderr", "").splitlines() if e and not re.match(r"^step-\d\d \[", e)]
    # The step's own error line (step-NN: what: why) says the cause; else the last line.
    said = [e for e in errors if re.match(r"^step-\d\d: ", e)]
    if errors:
        parts.append(f"stderr {one_line(repr((said or errors)[-1]), 100)}")
    if first.startswith("command:"):
        first = "failed: " + first
    return one_line(first + (f" — observed: {', '.join(parts)}" if parts else ""), 300)


def cents(n):
    return f"{n / 100:.2f}"


def print_table(graded, seed, elapsed):
    print(f"{'step':<6}{'its tests':>11}{'points':>17}   given and earlier steps")
    total = got = 0
    for e in graded:
        total += e["worth"]
        got += e["got"]
        name = f"{e['step']:02d}"
        if e["error"]:
            print(f"{name:<6}{'-':>11}{cents(0):>10} / {cents(e['worth']):<6}")
            print(f"   does not compile: {e['error']}")
            continue
        counted = [t for t in e["scoring"] if t["outcome"] != "skipped"]
        passed = sum(1 for t in counted if t["outcome"] == "passed")
        given_failed = [t for t in e["given"] if t["outcome"] == "failed"]
        print(f"{name:<6}{passed:>5} / {len(counted):<4}{cents(e['got']):>10} / {cents(e['worth']):<6}"
              f"   {len(e['given']) - len(given_failed)} passed, {len(given_failed)} failed (no points)")
        if e["stopped"]:
            print(f"   STOPPED: {e['stopped']}")
        if e["deduction"]:
            print(f"   -{cents(e['deduction'])}: compiles with {len(e['warnings'])} warning(s): "
                  f"{one_line(e['warnings'][0], 160)}")
        elif e["warnings"]:
            print(f"   warning: {one_line(e['warnings'][0], 160)}")
        for t in e["scoring"] + given_failed:
            if t["outcome"] == "failed":
                print(f"   FAIL {t['name']}{'' if t['scores'] else ' (given)'}: {explain(t)}")
            elif t["outcome"] == "skipped":
                print(f"   skip {t['name']}: {one_line(t['message'], 160)}")
    print(f"total {cents(got)} / {cents(total)}   ({elapsed:.0f} s; seed {seed}: LAB_SEED={seed} replays it)")
    return got, total


def results_json(graded, seed, elapsed, got):
    """Gradescope's autograder format: one entry per scoring test, grouped by
    step, and one entry per step for the tests that earn nothing."""
    tests = []
    for e in graded:
        prefix = f"step {e['step']:02d}"
        if e["error"]:
            tests.append(gs_entry(f"{prefix}: compiles", 0, e["worth"], "failed",
                                  f"does not compile: {e['error']}", e["step"]))
            continue
        if e["stopped"]:
            tests.append(gs_entry(f"{prefix}: stopped", 0, 0, "failed", e["stopped"], e["step"]))
        for t in e["scoring"]:
            if t["outcome"] == "skipped":
                continue
            ok = t["outcome"] == "passed" and not e["stopped"]
            tests.append(gs_entry(f"{prefix}: {t['name'].split('[')[0][5:].replace('_', ' ')}",
                                  t["max_cents"] if ok else 0, t["max_cents"], "passed" if ok else "failed",
                                  "passed" if ok else explain(t), e["step"]))
        if e["deduction"]:
            tests.append(gs_entry(f"{prefix}: compiles without warnings", -e["deduction"], 0, "failed",
                                  "\n".join(e["warnings"][:10]), e["step"]))
        failed = [t for t in e["given"] if t["outcome"] == "failed"]
        summary = (f"{len(e['given'])} tests of the given plumbing and of earlier steps: "
                   f"{len(e['given']) - len(failed)} passed, {len(failed)} failed (they earn no points)")
        summary += "".join(f"\n{t['name']}: {explain(t)}" for t in failed[:30])
        tests.append(gs_entry(f"{prefix}: given plumbing and earlier steps", 0, 0,
                              "failed" if failed else "passed", summary, e["step"]))
    graded_steps = ", ".join(f"{e['step']:02d}" for e in graded)
    return {"score": float(cents(got)), "execution_time": round(elapsed, 1),
            "output": f"Graded steps {graded_steps}; seed {seed} (LAB_SEED={seed} replays it).",
            "output_format": "text", "visibility": "visible", "stdout_visibility": "visible",
            "tests": tests}


def gs_entry(name, score_cents, max_cents, status, output, step):
    return {"name": name, "score": float(cents(score_cents)), "max_score": float(cents(max_cents)),
            "status": status, "output": output, "output_format": "text", "visibility": "visible",
            "tags": [f"step-{step:02d}"]}


def junit_xml(graded, elapsed):
    """JUnit XML, one suite per step, every test, the points as properties."""
    suites = ET.Element("testsuites", time=f"{elapsed:.1f}")
    for e in graded:
        suite = ET.SubElement(suites, "testsuite", name=f"step-{e['step']:02d}")
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="points", value=cents(e["got"]))
        ET.SubElement(props, "property", name="max_points", value=cents(e["worth"]))
        cases = e["scoring"] + e["given"]
        if e["error"] or e["stopped"]:
            cases = [{"name": "compiles" if e["error"] else "runs", "outcome": "failed", "scores": True,
                      "message": e["error"] or e["stopped"], "max_cents": e["worth"]}] + cases
        for t in cases:
            case = ET.SubElement(suite, "testcase", classname=f"step-{e['step']:02d}", name=t["name"])
            ET.SubElement(ET.SubElement(case, "properties"), "property", name="points",
                          value=cents(t.get("max_cents", 0)) if t["scores"] else "0.00")
            if t["outcome"] == "failed":
                detail = explain(t) if "nodeid" in t else t["message"]
                ET.SubElement(case, "failure", message=detail).text = detail
            elif t["outcome"] == "skipped":
                ET.SubElement(case, "skipped", message=one_line(t["message"]))
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(sum(1 for c in cases if c["outcome"] == "failed")))
        suite.set("skipped", str(sum(1 for c in cases if c["outcome"] == "skipped")))
    return ET.ElementTree(suites)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--step", type=int, help="grade this step only")
    ap.add_argument("--results", default=str(REPO / "results.json"))
    ap.add_argument("--junit", default=str(REPO / "report.xml"))
    ap.add_argument("--summary", help="also write each step's points here (JSON, in hundredths)")
    ap.add_argument("--classroom", metavar="FILE",
                    help="also write the points as GitHub Classroom's reporter reads them (base64 JSON)")
    ap.add_argument("--scoring-only", action="store_true",
                    help="run only the tests that earn points (the points are the same)")
    ap.add_argument("--first-failure", action="store_true",
                    help="stop at the first failing test (make check-handout's mutants: that a "
                         "mistake costs points is the proof; the points are then a lower bound)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("make grade: the harness runs containers and needs root: run it as root "
                 "(sudo make grade if you use sudo)")
    steps = step_numbers()
    if args.step is not None:
        if args.step not in steps:
            sys.exit(f"make grade: there is no step {args.step:02d} (steps: {', '.join(f'{s:02d}' for s in steps)})")
        steps = [args.step]
    seed = int(os.environ.get("LAB_SEED") or random.SystemRandom().randrange(1, 2**31))
    t0 = time.monotonic()
    graded = grade(steps, seed, args.scoring_only, args.first_failure)
    elapsed = time.monotonic() - t0
    got, _ = print_table(graded, seed, elapsed)
    Path(args.results).write_text(json.dumps(results_json(graded, seed, elapsed, got), indent=2) + "\n")
    junit_xml(graded, elapsed).write(args.junit, encoding="unicode", xml_declaration=True)
    print(f"wrote {os.path.relpath(args.results)} (Gradescope) and {os.path.relpath(args.junit)} (JUnit)")
    if args.summary:
        Path(args.summary).write_text(json.dumps(summary(graded), indent=1) + "\n")
    if args.classroom:
        Path(args.classroom).parent.mkdir(parents=True, exist_ok=True)
        Path(args.classroom).write_text(classroom(graded) + "\n")
    return 0


def classroom(graded):
    """The result of one runner of GitHub Classroom's autograding-grading-
    reporter: base64 of {"version", "status", "max_score", "tests"}, each
    step a test with its score. The reporter adds the scores up."""
    tests = [{"name": f"step {e['step']:02d}", "status": "pass" if e["got"] == e["worth"] else "fail",
              "score": e["got"] / 100, "message": f"{e['got'] / 100:.2f} of {e['worth'] / 100:.2f} points"}
             for e in graded]
    result = {"version": 1, "status": "pass" if all(t["status"] == "pass" for t in tests) else "fail",
              "max_score": sum(e["worth"] for e in graded) / 100, "tests": tests}
    return base64.b64encode(json.dumps(result).encode()).decode()


def summary(graded):
    """Each step's points, for tools: {"05": {"got": 1000, "worth": 1000, ...}}."""
    return {f"{e['step']:02d}": {"got": e["got"], "worth": e["worth"], "error": e["error"],
                                 "stopped": e["stopped"], "warnings": len(e["warnings"]),
                                 "scoring": len([t for t in e["scoring"] if t["outcome"] != "skipped"]),
                                 "passed": len([t for t in e["scoring"] if t["outcome"] == "passed"]),
                                 "failed_given": len([t for t in e["given"] if t["outcome"] == "failed"]),
                                 "first_failed": next((t["name"] for t in e["scoring"]
                                                       if t["outcome"] == "failed"), None),
                                 "failures": [f"{t['name']}: {one_line(t['message'])}" for t in e["scoring"]
                                              if t["outcome"] == "failed"]}
            for e in graded}


if __name__ == "__main__":
    sys.exit(main())
