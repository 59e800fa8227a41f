#!/usr/bin/python3
"""Grades the steps in this tree: builds each one, runs the harness on it, and
reports a score table, Gradescope's results.json and JUnit XML.

    grade.py [--step NN] [--results results.json] [--junit report.xml]

Each step is graded on its own: it is built from whatever code is in the tree
(a step that does not compile scores 0, with the compiler's first error), then
every test that applies to it runs against it (its own mechanism's tests and
those of the steps before it, which it must keep). A step's points, from
tests/points.toml, are shared equally among its tests. A test that cannot run
on this machine (skipped, with its reason) counts neither way. A hang is cut
off by the per-test time limit and fails. One step's crash does not stop the
others. Values the tests use are random but seeded: the seed is printed, and
LAB_SEED=<seed> replays a run exactly.
"""

import argparse
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
WORK = REPO / "build" / "grade"
PYTEST = ["/usr/bin/python3", "-m", "pytest"]


def step_numbers():
    return sorted(int(p.name[5:7]) for p in (REPO / "steps").glob("step-[0-9][0-9]-*.c"))


def points_table():
    with open(REPO / "tests" / "points.toml", "rb") as f:
        table = tomllib.load(f)
    return table.get("points", {}), table.get("default", 10)


def build(step, bindir):
    """Compiles one step into bindir; returns None, or the first error."""
    target = bindir / f"step-{step:02d}"
    target.unlink(missing_ok=True)
    r = subprocess.run(["make", "-s", "--no-print-directory", f"OUT={bindir}", f"BUILD={WORK}/obj",
                        str(target)], cwd=REPO, capture_output=True, text=True)
    if r.returncode == 0 and target.exists():
        return None
    lines = (r.stderr + r.stdout).splitlines()
    errors = [l for l in lines if re.search(r"\berror\b", l)] or lines or ["make failed"]
    return errors[0].strip()


def one_line(text, limit=220):
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _unrepr(text):
    """The value of a repr()'d string as the harness prints it, if it is one."""
    try:
        value = ast.literal_eval(text)
        return value if isinstance(value, str) else text
    except (ValueError, SyntaxError):
        return text


def explain(failure_text):
    """One line for a student: what was expected, then what was observed."""
    lines = [l.rstrip() for l in failure_text.splitlines()]
    # Expected: the test's own message, else the assertion that failed.
    message = ""
    for l in lines:
        m = re.match(r"^E\s+(?:AssertionError: |Failed: )?(.*)", l)
        if m and m.group(1).strip():
            message = m.group(1).strip()
            break
    if not message or message.startswith(("command:", "assert ")):
        source = [l for l in lines if re.match(r"^>\s+assert ", l)]
        if source:
            message = "expected " + re.sub(r"^>\s+assert\s+", "", source[0]).split(", r.describe()")[0]
    message = message or next((l for l in lines if l.strip()), "failed")
    # Observed: the exit status, the output, and the last line of stderr
    # that is not narration (the error, if there was one).
    observed = {}
    for l in lines:
        m = re.match(r"^E?\s*(exit status|stdout|stderr): (.*)", l)
        if m and m.group(1) not in observed:
            observed[m.group(1)] = _unrepr(m.group(2).strip())
    parts = [f"exit {observed['exit status']}"] if "exit status" in observed else []
    if observed.get("stdout"):
        parts.append(f"stdout {one_line(observed['stdout'], 60)!r}")
    errors = [l for l in observed.get("stderr", "").splitlines() if l and not re.match(r"^step-\d\d \[", l)]
    if errors:
        parts.append(f"stderr {one_line(errors[-1], 100)!r}")
    return one_line(message + (f" — observed: {', '.join(parts)}" if parts else ""), 300)


def run_tests(step, bindir, seed):
    """Runs the harness on one step; returns [(name, status, detail)]."""
    xml_path = WORK / f"step-{step:02d}.xml"
    xml_path.unlink(missing_ok=True)
    env = dict(os.environ, LAB_SEED=str(seed))
    subprocess.run(PYTEST + ["-q", "-p", "no:cacheprovider", f"--step={step}", f"--bin-dir={bindir}",
                             f"--junitxml={xml_path}", "-o", "junit_family=xunit1"],
                   cwd=REPO / "tests", env=env, capture_output=True, text=True)
    if not xml_path.exists():
        return [("harness", "failed", "the test harness did not run (is pytest installed? run make deps)")]
    results = []
    for case in ET.parse(xml_path).getroot().iter("testcase"):
        name = case.get("name")
        failed = case.find("failure") if case.find("failure") is not None else case.find("error")
        skipped = case.find("skipped")
        if failed is not None:
            results.append((name, "failed", explain((failed.get("message") or "") + "\n" + (failed.text or ""))))
        elif skipped is not None:
            results.append((name, "skipped", one_line(skipped.get("message") or "skipped")))
        else:
            results.append((name, "passed", ""))
    return results


def grade(steps, seed):
    bindir = WORK / "bin"
    bindir.mkdir(parents=True, exist_ok=True)
    points, default = points_table()
    r = subprocess.run(["make", "-s", "--no-print-directory", "rootfs", "build/segv"], cwd=REPO,
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"make grade: the rootfs or the test helpers do not build: {one_line(r.stderr)}")
    report = []
    for step in steps:
        worth = float(points.get(f"{step:02d}", default))
        error = build(step, bindir)
        if error:
            report.append({"step": step, "points": worth, "compile_error": error, "tests": []})
            continue
        report.append({"step": step, "points": worth, "compile_error": None,
                       "tests": run_tests(step, bindir, seed)})
    return report


def scored(entry):
    counted = [t for t in entry["tests"] if t[1] != "skipped"]
    passed = sum(1 for t in counted if t[1] == "passed")
    each = entry["points"] / len(counted) if counted else 0.0
    return counted, passed, each


def print_table(report, seed, elapsed):
    print(f"{'step':<6}{'tests':>12}{'points':>16}")
    total = got = 0.0
    for e in report:
        if e["compile_error"]:
            print(f"{e['step']:02d}    {'-':>12}{0:>10.1f} / {e['points']:<5g}")
            print(f"   does not compile: {e['compile_error']}")
            total += e["points"]
            continue
        counted, passed, each = scored(e)
        print(f"{e['step']:02d}    {passed:>5} / {len(counted):<4}{passed * each:>10.1f} / {e['points']:<5g}")
        for name, status, detail in e["tests"]:
            if status == "failed":
                print(f"   FAIL {name}: {detail}")
            elif status == "skipped":
                print(f"   skip {name}: {detail}")
        total += e["points"]
        got += passed * each
    print(f"total {got:.1f} / {total:g}   ({elapsed:.0f} s; seed {seed}: LAB_SEED={seed} replays it)")
    return got, total


def results_json(report, seed, elapsed, got):
    """Gradescope's autograder format, usable as /autograder/results/results.json."""
    tests = []
    for e in report:
        if e["compile_error"]:
            tests.append({"name": f"step {e['step']:02d}: compiles", "number": f"{e['step']}.0",
                          "score": 0.0, "max_score": e["points"], "status": "failed",
                          "output": f"does not compile: {e['compile_error']}", "output_format": "text",
                          "visibility": "visible"})
            continue
        counted, _, each = scored(e)
        for i, (name, status, detail) in enumerate(e["tests"], 1):
            if status == "skipped":
                continue
            tests.append({"name": f"step {e['step']:02d}: {name}", "number": f"{e['step']}.{i}",
                          "score": round(each if status == "passed" else 0.0, 4),
                          "max_score": round(each, 4), "status": status,
                          "output": detail or "passed", "output_format": "text", "visibility": "visible"})
    graded = ", ".join(f"{e['step']:02d}" for e in report)
    return {"score": round(got, 2), "execution_time": round(elapsed, 1),
            "output": f"Graded steps {graded}; seed {seed} (LAB_SEED={seed} replays it).",
            "output_format": "text", "visibility": "visible", "stdout_visibility": "visible",
            "tests": tests}


def junit_xml(report, elapsed):
    """JUnit XML, one suite per step, for GitHub Classroom, GitLab, Jenkins."""
    suites = ET.Element("testsuites", time=f"{elapsed:.1f}")
    for e in report:
        suite = ET.SubElement(suites, "testsuite", name=f"step-{e['step']:02d}")
        cases = e["tests"] or [("compiles", "failed", f"does not compile: {e['compile_error']}")]
        for name, status, detail in cases:
            case = ET.SubElement(suite, "testcase", classname=f"step-{e['step']:02d}", name=name)
            if status == "failed":
                ET.SubElement(case, "failure", message=detail).text = detail
            elif status == "skipped":
                ET.SubElement(case, "skipped", message=detail)
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(sum(1 for c in cases if c[1] == "failed")))
        suite.set("skipped", str(sum(1 for c in cases if c[1] == "skipped")))
    return ET.ElementTree(suites)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--step", type=int, help="grade this step only")
    ap.add_argument("--results", default=str(REPO / "results.json"))
    ap.add_argument("--junit", default=str(REPO / "report.xml"))
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("make grade: the harness runs containers and needs root: sudo make grade")
    steps = step_numbers()
    if args.step is not None:
        if args.step not in steps:
            sys.exit(f"make grade: there is no step {args.step:02d} (steps: {', '.join(f'{s:02d}' for s in steps)})")
        steps = [args.step]
    seed = int(os.environ.get("LAB_SEED") or random.SystemRandom().randrange(1, 2**31))
    t0 = time.monotonic()
    report = grade(steps, seed)
    elapsed = time.monotonic() - t0
    got, total = print_table(report, seed, elapsed)
    Path(args.results).write_text(json.dumps(results_json(report, seed, elapsed, got), indent=2) + "\n")
    junit_xml(report, elapsed).write(args.junit, encoding="unicode", xml_declaration=True)
    print(f"wrote {os.path.relpath(args.results)} (Gradescope) and {os.path.relpath(args.junit)} (JUnit)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
