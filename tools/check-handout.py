#!/usr/bin/python3
"""The proof that a grade means what it says (make check-handout).

1. The handout holds no solution code, the leak check finds solution code
   where it is, and the handout builds with make.
2. The points rule, in numbers, for every step NN:
     - the untouched handout scores at most 5% on NN (0 is the aim);
     - the handout with steps 01..NN-1 given (make handout GIVE=NN-1) scores
       at most 5% on NN, while its steps 01..NN-1 are the solution's files;
     - the solution scores exactly the configured points, every scoring test
       passing (that the others pass is make check-matrix's proof).
   The table is printed, and written to build/check-handout/table.md.
3. Every mutant of tests/mutants.toml (a typical mistake, as a small edit of
   one solution block) loses points of its own step.
"""

import concurrent.futures
import json
import os
import platform
import queue
import shutil
import subprocess
import sys
import tarfile
import threading
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "build" / "check-handout"
ALLOWED = 0.05  # of a step's points, for the handout and for GIVE=NN-1
sys.path.insert(0, str(REPO / "tools"))
import handout  # noqa: E402

sys.path.insert(0, str(REPO / "tests"))
import labtest  # noqa: E402

failures = []


def check(ok, what):
    print(f"  {'ok  ' if ok else 'FAIL'} {what}", flush=True)
    if not ok:
        failures.append(what)
    return ok


def grade(tree, steps=None, scoring_only=True, first_failure=False):
    """Runs the tree's own grader; returns {"05": {"got": cents, ...}}."""
    out = WORK / f"summary-{tree.name}.json"
    cmd = ["/usr/bin/python3", str(tree / "tools" / "grade.py"), f"--summary={out}",
           f"--results={WORK / f'results-{tree.name}.json'}", f"--junit={WORK / f'junit-{tree.name}.xml'}"]
    if scoring_only:
        cmd.append("--scoring-only")
    if first_failure:
        cmd.append("--first-failure")
    results = {}
    for step in steps or [None]:
        out.unlink(missing_ok=True)
        r = subprocess.run(cmd + ([f"--step={step}"] if step else []), cwd=tree,
                           capture_output=True, text=True)
        if r.returncode != 0 or not out.exists():
            print(r.stdout[-3000:], r.stderr[-3000:])
            check(False, f"grading {tree.name}{f' step {step:02d}' if step else ''} ran")
            continue
        results.update(json.loads(out.read_text()))
    return results


# ---- gradings side by side ---------------------------------------------------------------------
#
# Each grading runs in a sandbox of its own (tools/sandbox.py: its own
# mount, network, PID namespaces, cgroup root, /tmp and /run), so two of them
# cannot see each other's mounts, links, groups or hostname, and the host
# check after every test holds for each. They run side by side, one per CPU
# (at most four), each in a handout tree of its own, since a grading builds in
# its tree. What is left shared is CPU time: a step whose scoring tests
# measure it (step 07's quotas), or race timers against a second grading's
# load (step 18's kubelet: back-off, grace periods, a stop that must end
# within 3 s; once, side by side, it left a group behind), is graded alone
# where its solution's code is there, so that a load, not the code, never
# decides whether points are lost.

WORKERS = max(1, min(4, os.cpu_count() or 1))
ALONE = {7, 18}


@dataclass
class Job:
    """One grading of one step: in a tree with the solutions of steps
    01..give, and the step's file mutated (mutant) or not."""
    step: int
    give: int
    mutant: dict = None
    first_failure: bool = False

    def alone(self):
        return self.step in ALONE and self.give >= self.step


class Trees:
    """The handout trees the gradings run in, taken one per grading, or
    all of them for a grading that must run alone."""

    def __init__(self, n):
        self.n, self.free, self.taking = n, queue.Queue(), threading.Lock()
        for i in range(n):
            tree = WORK / f"tree-{i}"
            handout.write_handout(tree, None, give=0)
            self.free.put(tree)

    def run(self, job):
        with self.taking:   # one taker at a time: a grading alone is not starved
            taken = [self.free.get() for _ in range(self.n if job.alone() else 1)]
        try:
            return run_job(taken[0], job)
        finally:
            for tree in taken:
                self.free.put(tree)


def run_job(tree, job):
    """(result of job.step or None, whether steps 01..give are the solution's files)."""
    give_tree(tree, job.give)
    same = all((tree / "steps" / f.name).read_text() == f.read_text()
               for f in handout.step_files() if int(f.name[5:7]) <= job.give)
    if job.mutant:
        src = next(f for f in handout.step_files() if int(f.name[5:7]) == job.step)
        (tree / "steps" / src.name).write_text(mutate(src.read_text(), src, job.mutant, handout.load_catalog()))
    result = grade(tree, [job.step], first_failure=job.first_failure).get(f"{job.step:02d}")
    return result, same


def graded(jobs):
    """Yields (job, result, same) in the order of jobs, as each is done."""
    trees = Trees(WORKERS)
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        for job, (result, same) in zip(jobs, pool.map(trees.run, jobs)):
            yield job, result, same


def steps_of(repo=REPO):
    return sorted(int(p.name[5:7]) for p in (repo / "steps").glob("step-[0-9][0-9]-*.c"))


# ---- 1. the handout ----------------------------------------------------------------------------

def prove_handout():
    print("the handout:")
    tree, tar = WORK / "handout", WORK / "handout.tar.gz"
    handout.write_handout(tree, tar, give=0)
    found, n = handout.leaks(tar)
    check(not found, f"no solution code in the tarball ({n} solution lines looked for)"
          + "".join(f"\n         {m}: {l}" for m, l in found[:10]))
    check(leaks_are_caught(), "the leak check finds the solution when it is there")
    r = subprocess.run(["make", "-s", "--no-print-directory", "all"], cwd=tree, capture_output=True, text=True)
    check(r.returncode == 0, "the handout builds with make" + (f": {r.stderr[-500:]}" if r.returncode else ""))
    return tree


def leaks_are_caught():
    tar_path = WORK / "solution-steps.tar.gz"
    with tarfile.open(tar_path, "w:gz") as tar:
        for f in handout.step_files():
            tar.add(f, arcname=f"lab/steps/{f.name}")
    found, _ = handout.leaks(tar_path)
    return len(found) > 0


# ---- 2. the points rule ------------------------------------------------------------------------

def give_tree(tree, give):
    """The handout tree with the solutions of steps up to give: only the step
    files differ from the untouched handout."""
    catalog = handout.load_catalog()
    for src in handout.step_files():
        (tree / "steps" / src.name).write_text(handout.strip_file(src, catalog, give))


def points_jobs(steps):
    """The untouched handout on every step, GIVE=NN-1 on step NN, the
    solution (every step given) on every step."""
    return ([Job(nn, 0) for nn in steps] + [Job(nn, nn - 1) for nn in steps[1:]]
            + [Job(nn, steps[-1]) for nn in steps])


def prove_points(steps, results):
    """Takes the points jobs' results from results, in order; returns the
    solution's."""
    blank, given, solution = {}, {}, {}
    print("the untouched handout, GIVE=NN-1 on step NN, the solution: every step, the tests that earn "
          f"its points, {WORKERS} at a time:", flush=True)
    # Scoring tests only: that every other test passes on the solution too,
    # on every step, is make check-matrix's proof (make check runs both).
    for _ in range(3 * len(steps) - 1):
        job, result, same = next(results)
        key = f"{job.step:02d}"
        if job.give == 0:
            blank[key] = result
        elif job.give == job.step - 1:
            given[key] = result
            check(same, f"GIVE={job.give:02d}: steps 01..{job.give:02d} are the solution's files")
        else:
            solution[key] = result
            if job.step == steps[-1]:
                check(same, "the solution: every step file is the solution's")
    given[f"{steps[0]:02d}"] = blank.get(f"{steps[0]:02d}")
    table(steps, blank, given, solution)
    return solution


def pct(entry):
    return entry["got"] / entry["worth"] if entry and entry["worth"] else 0.0


def table(steps, blank, given, solution):
    rows = ["| step | points | untouched handout | GIVE=NN-1, step NN | solution |",
            "|---|---|---|---|---|"]
    total = got = 0
    for nn in steps:
        key = f"{nn:02d}"
        b, g, s = blank.get(key), given.get(key), solution.get(key)
        worth = s["worth"] if s else 0
        total += worth
        got += s["got"] if s else 0
        rows.append(f"| {key} | {worth / 100:g} | {fmt(b)} | {fmt(g)} | {fmt(s)} |")
        check(b is not None and pct(b) <= ALLOWED, f"step {key}, untouched handout: {fmt(b)} (at most 5%)")
        check(g is not None and pct(g) <= ALLOWED, f"step {key}, GIVE={nn - 1:02d}: {fmt(g)} (at most 5%)")
        check(s is not None and s["got"] == s["worth"] and not s["failed_given"] and s["passed"] == s["scoring"],
              f"step {key}, solution: {fmt(s)}, every scoring test passing"
              + "".join(f"\n         {f}" for f in (s or {}).get("failures", [])))
    rows.append(f"| total | {total / 100:g} | | | {got / 100:.2f} |")
    configured = configured_total()
    check(got == total == round(configured * 100),
          f"the solution's points add up to the configured total exactly: {got / 100:.2f} of {configured:g}")
    text = "\n".join(rows) + "\n"
    (WORK / "table.md").write_text(text)
    print("\n" + text)
    return text


def fmt(entry):
    if not entry:
        return "not graded"
    why = " (does not compile)" if entry["error"] else " (stopped)" if entry["stopped"] else ""
    return f"{entry['got'] / 100:.2f} ({100 * pct(entry):.0f}%){why}"


def configured_total():
    with open(REPO / "tests" / "points.toml", "rb") as f:
        t = tomllib.load(f)
    points, default = t.get("points", {}), t.get("default", 10)
    return sum(float(points.get(f"{s:02d}", default)) for s in steps_of())


# ---- 3. the mutants ------------------------------------------------------------------------------

def mutate(text, path, m, catalog):
    """The step file's text with mutant m applied."""
    spans = {name: (first, last) for name, first, last in handout.blocks(path, catalog)}
    lines = text.splitlines(keepends=True)
    first, last = spans[m["block"]]
    block = "".join(lines[first - 1:last])
    if "after" in m:
        a_first, a_last = spans[m["after"]]
        assert a_last > last, f"{m['block']} must come before {m['after']} to be moved after it"
        moved = lines[:first - 1] + lines[last:a_last] + lines[first - 1:last] + lines[a_last:]
        return "".join(moved)
    assert block.count(m["find"]) == 1, f"mutant {m['why']!r}: find must occur once in {m['block']}"
    return "".join(lines[:first - 1]) + block.replace(m["find"], m.get("replace", "")) + "".join(lines[last:])


def cannot_show(m):
    """Why this kernel cannot show the mistake at all, or ""."""
    needs = m.get("needs")
    if needs is None:
        return ""
    if needs == "ia32":
        return labtest.kernel_cannot_make_32bit_calls()
    if needs == "cgroup2-cpu":
        version, _ = labtest.cpu_layout()
        return "" if version == "v2" else f"the cpu controller is on cgroup {version} here"
    if needs == "x86_64":
        return "" if platform.machine() == "x86_64" else f"x32 calls are x86-64's, not {platform.machine()}'s"
    raise ValueError(f"mutant {m['why']!r}: needs = {needs!r}: unknown (known: ia32, cgroup2-cpu, x86_64)")


def mutant_jobs(last):
    """A job per mutant this kernel can show, and the lines for the others."""
    with open(REPO / "tests" / "mutants.toml", "rb") as f:
        mutants = tomllib.load(f)["mutant"]
    jobs, skipped = [], []
    for m in mutants:
        why = cannot_show(m)
        if why:
            skipped.append(f"  skip step {m['step']:02d} {m['block']}: {m['why']}: {why}")
            continue
        # A mutant with no bound only has to lose points: its grading stops
        # at the first scoring test that fails (the longest part of the proof
        # otherwise). One with a bound is graded in full, to weigh the loss.
        jobs.append(Job(m["step"], last, m, first_failure="at_most" not in m))
    return jobs, skipped


def prove_mutants(jobs, skipped, results, solution):
    print(f"{len(jobs) + len(skipped)} mutants, each a typical mistake in one block:", flush=True)
    per_step = {}  # step: [mutants, those that lost points]
    for _ in jobs:
        job, result, _ = next(results)
        m = job.mutant
        per_step.setdefault(m["step"], [0, 0])[0] += 1
        full = solution.get(f"{m['step']:02d}", {}).get("worth", 0)
        lost = (full - result["got"]) / 100 if result else 0
        name = f"step {m['step']:02d} {m['block']}: {m['why']}"
        if result and result["error"]:
            ok = check(True, f"{name}: does not compile: loses {full / 100:g}")
        elif "at_most" in m:
            most = m["at_most"] * full / 100
            ok = check(result is not None and 0 < lost <= most,
                       f"{name}: loses {lost:.2f} of {full / 100:g}, at most {most:g}")
        else:
            caught = result and result.get("first_failed") or (result and result["stopped"])
            ok = check(result is not None and 0 < lost,
                       f"{name}: loses points" + (f" ({caught})" if caught else ""))
        per_step[m["step"]][1] += ok
    for line in skipped:
        print(line, flush=True)
    print("the mutants, per step (each must lose points):")
    for step in steps_of():
        n, lost = per_step.get(step, [0, 0])
        check(n > 0 and lost == n, f"step {step:02d}: {n} mutant(s), {lost} lost points")


def main():
    if os.geteuid() != 0:
        sys.exit("make check-handout: the harness needs root: run it as root (sudo if you use it)")
    t0 = time.monotonic()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    prove_handout()
    steps = steps_of()
    mutants, skipped = mutant_jobs(steps[-1])
    # One queue of gradings for both proofs, so that no CPU idles between them.
    results = graded(points_jobs(steps) + mutants)
    solution = prove_points(steps, results)
    t1 = time.monotonic()
    prove_mutants(mutants, skipped, results, solution)
    print(f"make check-handout: {time.monotonic() - t0:.0f} s "
          f"(the handout and the points {t1 - t0:.0f} s, then the mutants {time.monotonic() - t1:.0f} s; "
          f"{WORKERS} gradings at a time)")
    if failures:
        print(f"make check-handout: {len(failures)} check(s) failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
