"""Step 07: a cgroup per container, and a CPU cap.

Each container has its group lab/<pid> from before its command starts
until it ends. --cpus 0.2 holds a busy loop to 20% of one CPU, measured from
the host (the CPU time of the group's processes over 1.5 s of the loop).
Works on cgroup v1, hybrid and v2; the layout is found at run time.
"""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

import labtest
from labtest import Running, run

LOOP = 'timeout 3 sh -c "while :; do :; done"; true'  # "; true": sh must not exec timeout as PID 1


def group_of(pid):
    version, root = labtest.cpu_layout()
    assert version, "no cpu controller on this machine"
    return Path(root, "lab", str(pid))


def group_cpu_seconds(group):
    """CPU time used so far by the processes now in the group, from the
    host: /proc/PID/schedstat (nanoseconds on a CPU) of each of them."""
    total = 0
    for pid in Path(group, "cgroup.procs").read_text().split():
        try:
            total += int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total / 1e9


def busy_share(step, *opts):
    """The container's CPU use, in CPUs, while a busy loop runs inside: two
    samples of its group's CPU time, 1.5 s apart, taken once the loop is
    going (so start-up costs do not count); and what the host saw of the
    group."""
    c = Running(step, *opts, "sh", "-c", "echo ready; " + LOOP)
    try:
        c.wait_for("ready")
        group = group_of(c.pid)
        seen = (group.is_dir(), labtest.cpu_limit(group) if group.is_dir() else None)
        time.sleep(0.5)
        cpu0, t0 = group_cpu_seconds(group), time.monotonic()
        time.sleep(1.5)
        cpu1, t1 = group_cpu_seconds(group), time.monotonic()
    finally:
        r = c.wait(timeout=20)
    assert r.rc == 0, r.describe()
    return (cpu1 - cpu0) / (t1 - t0), seen, r


@pytest.mark.slow
def test_cap_at_20_percent(step):
    share, (exists, limit), r = busy_share(step, "--cpus", "0.2")
    assert exists and limit == (20000, 100000), f"group of the container: exists={exists}, limit={limit}"
    assert abs(share - 0.20) <= 0.03, f"--cpus 0.2: the loop used {share:.3f} CPU\n" + r.describe()


@pytest.mark.slow
def test_cap_at_50_percent(step):
    share, (exists, limit), r = busy_share(step, "--cpus", "0.5")
    assert exists and limit == (50000, 100000), f"group: exists={exists}, limit={limit}"
    assert abs(share - 0.50) <= 0.05, f"--cpus 0.5: the loop used {share:.3f} CPU\n" + r.describe()


@pytest.mark.slow
def test_not_capped_without_the_option(step):
    share, (exists, limit), r = busy_share(step)
    assert exists and limit[0] is None, f"a group without a cap: exists={exists}, limit={limit}"
    assert share > 0.75, f"without --cpus the loop used only {share:.3f} CPU\n" + r.describe()


def test_period_and_quota_as_given(step):
    c = Running(step, "--cpu-period", "50000", "--cpu-quota", "10000", "sh", "-c", "echo ready; read _")
    try:
        c.wait_for("ready")
        limit = labtest.cpu_limit(group_of(c.pid))
    finally:
        r = c.finish()
    assert r.rc == 0 and limit == (10000, 50000), f"limit {limit}\n" + r.describe()


def test_cpus_0_is_no_cap(step):
    """docker run --cpus 0 sets no quota (moby: daemon/daemon_unix.go sets
    one only for NanoCPUs > 0): the group is there, without a cap."""
    c = Running(step, "--cpus", "0", "sh", "-c", "echo ready; read _")
    try:
        c.wait_for("ready")
        limit = labtest.cpu_limit(group_of(c.pid))
    finally:
        r = c.finish()
    assert r.rc == 0 and limit[0] is None, f"--cpus 0: limit {limit}\n" + r.describe()


def test_command_starts_inside_its_group(step):
    """The command's very first read of /proc/self/cgroup already shows the
    group: it never ran a single instruction outside."""
    c = Running(step, "cat", "/proc/self/cgroup")
    r = c.wait()
    assert r.rc == 0, r.describe()
    version, _ = labtest.cpu_layout()
    # From step 10 on, a cgroup namespace rooted at the group: it reads "/".
    want = f"/lab/{c.pid}" if step < 10 else "/"
    lines = [l for l in r.out.splitlines()
             if (version == "v1" and "cpu" in l.split(":")[1].split(",")) or (version == "v2" and l.startswith("0::"))]
    assert lines and lines[0].split(":", 2)[2] == want, f"expected the cpu group {want}\n" + r.describe()


def test_started_inside_by_clone3_on_cgroup_v2(step):
    version, _ = labtest.cpu_layout()
    if version != "v2":
        pytest.skip(f"the cpu controller is on cgroup {version} here: "
                    "CLONE_INTO_CGROUP needs it on v2 (the course VM runs this test)")
    r = run(step, "true")
    assert r.rc == 0 and "from birth (CLONE_INTO_CGROUP)" in r.err, r.describe()


def test_group_gone_after_exit_kill_and_failed_start(step, tmp_path):
    c = Running(step, "sh", "-c", "echo ready; read _")
    c.wait_for("ready")
    assert group_of(c.pid).is_dir()
    os.kill(c.child_pid(), signal.SIGKILL)
    assert c.wait().rc == 137
    assert not group_of(c.pid).exists(), "the group should be gone when the step exits"
    empty = tmp_path / "empty"
    empty.mkdir()
    # the child fails (no /proc to mount on) after the parent made the group
    r = run(step, "--rootfs", empty, "--cpus", "0.5", "true", raw_args=True)
    assert r.rc == 125 and "proc" in r.err_lines[0], r.describe()
    assert not group_of(r.pid).exists()


def test_stale_group_of_a_killed_run_is_removed(step):
    p = subprocess.Popen(["true"])
    p.wait()
    _, root = labtest.cpu_layout()
    Path(root, "lab").mkdir(exist_ok=True)
    stale = Path(root, "lab", str(p.pid))
    stale.mkdir()
    try:
        r = run(step, "true")
        assert r.rc == 0, r.describe()
        assert not stale.exists(), f"{stale} belongs to no running lab process: remove it"
    finally:
        if stale.exists():
            stale.rmdir()


@pytest.mark.parametrize("opts, reason", [
    (["--cpus", "-1"], "not a number"),
    (["--cpus", "abc"], "not a number"),
    (["--cpus", "0.001"], "0.01"),
    (["--cpus", str(os.cpu_count() + 1)], "CPUs"),
    (["--cpu-quota", "999"], "1000 us"),
    (["--cpu-period", "999"], "1000..1000000"),
    (["--cpu-period", "1000001"], "1000..1000000"),
    (["--cpus", "0.5", "--cpu-quota", "20000"], "cannot be combined"),
])
@pytest.mark.given
def test_bad_cpu_options_are_refused(step, opts, reason):
    r = run(step, *opts, "true")
    assert r.rc == 125 and len(r.err_lines) == 1 and reason in r.err, r.describe()
    assert r.out == ""
