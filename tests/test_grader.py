"""The grader against hostile and broken submissions (make check-grader).

Each file of tests/hostile/ replaces step 01 in a copy of the lab, and the
grader runs on it as an instructor would run it on a student's tree. It must
finish within its limits, write results.json with step 01 at 0 and a
one-line reason, and leave the machine as it was (the host check after
every test covers mounts, cgroups, links and the hostname).

The grader sandboxes every step it tests. These tests do not rely on that
alone: each runs the whole grader inside a sandbox of its own (PID, mount
and network namespaces, a cgroup with a pids limit), so that a mistake in
the grader's sandbox cannot reach the machine that runs the tests either.

Run on their own: make check-grader. (make test leaves them out: they take
about a minute, and they are about the grader, not the steps.)
"""

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import labtest
from labtest import REPO

sys.path.insert(0, str(REPO / "tools"))
import handout  # noqa: E402

HOSTILE = REPO / "tests" / "hostile"
LIMIT = 240  # seconds for one grading, before the time scale


@pytest.fixture(scope="module")
def lab_copy():
    """A copy of the lab with its rootfs and test helpers built. (Not in
    /tmp: each sandbox has a /tmp of its own.)"""
    tree = Path(tempfile.mkdtemp(prefix="graded-", dir=REPO / "build")) / "lab"
    handout.write_handout(tree, None, give=handout.last_step())
    subprocess.run(["make", "-s", "rootfs", "test-helpers"], cwd=tree, check=True, capture_output=True)
    yield tree
    shutil.rmtree(tree.parent)


def grade_hostile(tree, name):
    step = next((tree / "steps").glob("step-01-*.c"))
    step.write_text((HOSTILE / f"{name}.c").read_text())
    results = tree / "results.json"
    results.unlink(missing_ok=True)
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, str(REPO / "tools" / "sandbox.py"), "--pids=2048", f"--keep={REPO}",
                        f"--time-limit={labtest.scaled(LIMIT):g}", "--",
                        sys.executable, str(tree / "tools" / "grade.py"), "--step=1",
                        f"--results={results}", f"--junit={tree / 'report.xml'}"],
                       cwd=tree, capture_output=True, text=True)
    return r, results, time.monotonic() - t0


def grade_cheat(lab_copy, number, cheat):
    """Grades step NUMBER of lab_copy with its solution replaced by cheat
    (then put back), as an instructor would: the cheat must build, or this
    proves nothing, and must score at most 5% of the step."""
    step = next((lab_copy / "steps").glob(f"step-{number:02d}-*.c"))
    solution = step.read_text()
    step.write_text(cheat)
    written = time.time()
    try:
        r = subprocess.run([sys.executable, str(REPO / "tools" / "sandbox.py"), "--pids=2048",
                            f"--keep={REPO}", f"--time-limit={labtest.scaled(LIMIT):g}", "--",
                            sys.executable, str(lab_copy / "tools" / "grade.py"), f"--step={number}",
                            f"--results={lab_copy / 'results.json'}", f"--junit={lab_copy / 'report.xml'}"],
                           cwd=lab_copy, capture_output=True, text=True)
    finally:
        step.write_text(solution)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    binary = lab_copy / "build" / "grade" / "bin" / f"step-{number:02d}"
    assert binary.exists() and binary.stat().st_mtime >= written - 1, (
        "the cheat must build, or this proves nothing\n" + r.stdout[-2000:])
    score = json.loads((lab_copy / "results.json").read_text())["score"]
    assert score <= 0.05 * 10, f"the cheat scored {score} of 10 on step {number:02d}\n{r.stdout[-2000:]}"


@pytest.mark.parametrize("name, reason", [
    ("fork-bomb", "hangs"),
    ("loop-before-clone", "hangs"),
    ("kill-all", "killed"),
    ("mount-over-root", "changed the host"),
    ("reboot", "killed"),
    ("fill-tmp", "No space left on device"),
])
@pytest.mark.timeout(LIMIT + 60)
def test_a_hostile_step_scores_0_with_a_reason(lab_copy, name, reason):
    r, results, seconds = grade_hostile(lab_copy, name)
    assert r.returncode == 0, f"the grader failed on {name} (exit {r.returncode}):\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
    assert results.exists(), f"no results.json after grading {name}"
    data = json.loads(results.read_text())
    assert data["score"] == 0, f"{name} scored {data['score']}"
    failed = [t for t in data["tests"] if t["tags"] == ["step-01"] and t["status"] == "failed"]
    stopped = [t["output"] for t in failed if t["name"].endswith(": stopped")]
    assert all("\n" not in s for s in stopped), f"a stop reason is one line: {stopped}"
    said = stopped or [t["output"] for t in failed]
    assert any(reason in s for s in said), f"no entry of {name} says {reason!r}: {said}"
    assert seconds < labtest.scaled(LIMIT), f"grading {name} took {seconds:.0f} s"


def test_the_solution_still_scores_in_a_copy(lab_copy):
    """The same copy, with the real step 01: the hostile runs left nothing
    that stops a good step from getting its points."""
    step = next((lab_copy / "steps").glob("step-01-*.c"))
    step.write_text(next((REPO / "steps").glob("step-01-*.c")).read_text())
    r = subprocess.run([sys.executable, str(lab_copy / "tools" / "grade.py"), "--step=1",
                        f"--results={lab_copy / 'results.json'}", f"--junit={lab_copy / 'report.xml'}"],
                       cwd=lab_copy, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads((lab_copy / "results.json").read_text())["score"] == 10, r.stdout


@pytest.mark.timeout(LIMIT + 60)
def test_a_step_that_behaves_only_under_the_grader_scores_nothing(lab_copy):
    """A step 13 that keeps every capability unless the harness's variables
    are in its environment (PYTEST_CURRENT_TEST, the grader's LAB_SEED):
    no step sees them, so it is graded as a user would run it."""
    solution = next((lab_copy / "steps").glob("step-13-*.c")).read_text()
    start = "    lab_start(&c, argc, argv);\n"
    assert start in solution
    cheat = solution.replace(start, start + (
        '    if (!getenv("PYTEST_CURRENT_TEST") && !getenv("LAB_SEED"))\n'
        "        c.opts.privileged = true; /* a cheat: confined only when watched */\n"), 1)
    grade_cheat(lab_copy, 13, cheat.replace("#include <sched.h>\n", "#include <sched.h>\n#include <stdlib.h>\n", 1))


# The forged probe: every answer the seccomp tests look for, printed by a
# script where the rootfs's `syscalls` was (and an `unshare` that fails).
FORGED_PROBE = r'''#!/bin/sh
for a; do case $a in
--x32) echo "x32: killed by SIGSYS";; --i386) echo "i386: killed by SIGSYS";;
getpid|ptrace|adjtimex|personality) echo "$a: ok";; mount|umount2) echo "$a: EFAULT";;
*) echo "$a: EPERM";; esac; done
'''


@pytest.mark.timeout(LIMIT + 60)
def test_a_filter_that_allows_everything_behind_a_forged_probe_scores_nothing(lab_copy):
    """A step 14 that loads a one-instruction filter (ALLOW: /proc says
    Seccomp 2) and writes a script over the rootfs's /bin/syscalls and
    /bin/unshare in its own layer, which prints what the tests expect. The
    tests judge the filter from the host too, where nothing the container
    holds is read."""
    solution = next((lab_copy / "steps").glob("step-14-*.c")).read_text()
    begin, end = "    /* LAB:BEGIN seccomp */\n", "    /* LAB:END */\n"
    first = solution.index(begin) + len(begin)
    last = solution.index(end, first)
    script = FORGED_PROBE.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    cheat = (
        "    struct sock_filter allow[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };\n"
        "    struct sock_fprog everything = { .len = 1, .filter = allow };\n"
        "    (void)emit_rule;\n"
        "    (void)caps_of;\n"
        "    if (c->opts.seccomp_unconfined || c->opts.privileged)\n"
        "        return;\n"
        f'    const char *probe = "{script}";\n'
        '    const char *fail = "#!/bin/sh\\necho unshare: Operation not permitted >&2\\nexit 1\\n";\n'
        '    for (int i = 0; i < 2; i++) {\n'
        '        int fd = open(i ? "/bin/unshare" : "/bin/syscalls", O_WRONLY | O_CREAT | O_TRUNC, 0755);\n'
        "        if (fd >= 0 && write(fd, i ? fail : probe, strlen(i ? fail : probe)) < 0)\n"
        "            die(\"forge\");\n"
        "        if (fd >= 0)\n"
        "            close(fd);\n"
        "    }\n"
        "    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &everything) < 0)\n"
        "        die(\"load\");\n")
    forged = solution[:first] + cheat + solution[last:]
    if "#include <fcntl.h>" not in forged:
        forged = forged.replace("#include <sched.h>\n", "#include <fcntl.h>\n#include <sched.h>\n", 1)
    grade_cheat(lab_copy, 14, forged)

