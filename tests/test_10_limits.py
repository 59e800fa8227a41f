"""Step 10: memory and pids limits, and a cgroup namespace.

From the host: the limits are in the container's group (memory, swap as
docker run means --memory-swap, pids); a program that needs more memory
than --memory is killed by the OOM killer, counted in the group, reported in
one narration line, and the step exits 137; a fork bomb under --pids-limit
gets EAGAIN and the host's process count stays bounded; the groups are gone
afterwards. From inside: /proc/self/cgroup says "/", the group's own limits
are on /sys/fs/cgroup, read-only, and nothing of the host's other groups.
The rootfs's memhog and forkbomb (rootfs/helpers/) do the asking.
"""

import os
import signal
from pathlib import Path

import pytest

import labtest
from labtest import Running, run

MIB = 1 << 20


def test_limits_are_in_the_containers_group(step, rng):
    memory_mib, pids = rng.randrange(24, 200), rng.randrange(20, 400)
    c = Running(step, "-m", f"{memory_mib}m", "--pids-limit", pids, "sh", "-c", "echo ready; read _")
    try:
        c.wait_for("ready")
        memory, total = labtest.memory_limits(c.pid)
        got_pids = labtest.pids_limit(c.pid)
        dirs = [labtest.group_dir(k, c.pid) for k in ("memory", "pids")]
    finally:
        r = c.finish()
    assert r.rc == 0, r.describe()
    assert memory == memory_mib * MIB, f"the group's memory limit is {memory}, not {memory_mib} MiB"
    assert total in (2 * memory_mib * MIB, "n/a"), (
        f"memory+swap is {total}: docker run's default is as much swap as memory")
    assert got_pids == pids, f"the group's pids.max is {got_pids}, not {pids}"
    assert not any(d.exists() for d in dirs), f"the groups {dirs} outlived the container"


@pytest.mark.parametrize("zero", ["0", "-1"])
def test_a_pids_limit_of_0_or_less_is_no_limit(step, zero):
    """As docker run reads --pids-limit (moby: daemon/daemon_unix.go,
    getPidsLimit): 0 and any negative number mean no limit."""
    c = Running(step, "--pids-limit", zero, "sh", "-c", "echo ready; read _")
    try:
        c.wait_for("ready")
        got = labtest.pids_limit(c.pid)
    finally:
        r = c.finish()
    assert r.rc == 0, r.describe()
    assert got is None, f"--pids-limit {zero}: pids.max should be max, not {got}"


@pytest.mark.parametrize("swap, total", [("64m", 64 * MIB), ("32m", 32 * MIB), ("-1", None)])
def test_memory_swap_means_what_it_means_to_docker(step, swap, total):
    """--memory-swap is memory and swap together: equal to --memory, no swap;
    -1, no limit on swap. A kernel whose controller cannot limit swap refuses
    it in one line, naming the option."""
    c = Running(step, "-m", "32m", "--memory-swap", swap, "sh", "-c", "echo ready; read _")
    if labtest.memory_limits_supported_swap() is False:
        r = c.wait()
        assert r.rc == 125 and len(r.err_lines) == 1 and "--memory-swap" in r.err_lines[0], r.describe()
        return
    try:
        c.wait_for("ready")
        memory, got = labtest.memory_limits(c.pid)
    finally:
        r = c.finish()
    assert r.rc == 0, r.describe()
    assert (memory, got) == (32 * MIB, total), f"memory, memory+swap: {memory}, {got}"


def test_the_container_sees_its_own_group(step):
    r = run(step, "-m", "48m", "--pids-limit", "77", "sh", "-c",
            "cat /proc/self/cgroup; echo --; ls -R /sys/fs/cgroup | grep -c /; echo --; "
            "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max "
            "/sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max 2>/dev/null; "
            "echo --; touch /sys/fs/cgroup/x")
    cgroups, dirs, limits, _ = r.out.split("--\n")
    paths = {line.split(":")[1]: line.split(":", 2)[2] for line in cgroups.splitlines()}
    version, _ = labtest.layout("memory")
    wanted = [""] if version == "v2" else ["memory", "pids"]
    assert all(paths.get(k) == "/" for k in wanted), (
        f"/proc/self/cgroup inside should say / for the container's own group: {paths}\n" + r.describe())
    assert limits.split() == [str(48 * MIB), "77"], (
        "the container's limits should be on /sys/fs/cgroup (memory.max and pids.max, or v1's "
        "memory/memory.limit_in_bytes and pids/pids.max)\n" + r.describe())
    top_dirs = 1 if version == "v2" else len({"cpu", "memory", "pids"})
    assert int(dirs) <= top_dirs + 1, (
        "ls -R /sys/fs/cgroup inside shows groups below the container's own: the host's\n" + r.describe())
    assert "Read-only file system" in r.err, "/sys/fs/cgroup inside should be read-only\n" + r.describe()
    assert r.rc != 0, r.describe()


def test_needing_more_than_its_memory_ends_in_137(step, host_unchanged):
    r = run(step, "-m", "32m", "memhog", "96", timeout=30)
    assert r.rc == 137, "a command the OOM killer ends: 137, as docker run\n" + r.describe()
    assert "took 96 MiB" not in r.out, r.describe()
    assert any("OOM killer killed 1" in line for line in r.err.splitlines()), (
        "the step should say, in one line, that the OOM killer killed a process\n" + r.describe())


def test_the_oom_kill_is_counted_in_the_group_and_nowhere_else(step):
    """The kill is the group's own: its counter says 1; a container beside
    it, and the shell that ran the hog, go on."""
    other = Running(step, "-m", "64m", "sh", "-c", "echo ready; read _; echo alive")
    c = Running(step, "-m", "32m", "sh", "-c", "memhog 96; echo status=$?; echo ready; read _")
    try:
        other.wait_for("ready")
        out = c.wait_for("ready", timeout=30)
        kills, others = labtest.oom_kills(c.pid), labtest.oom_kills(other.pid)
    finally:
        r = c.finish()
        o = other.finish()
    assert "status=137" in out, r.describe()
    assert kills == 1 and others == 0, f"OOM kills counted: {kills} in the hog's group, {others} beside it"
    assert o.rc == 0 and "alive" in o.out, "the other container should go on\n" + o.describe()


def host_processes():
    return sum(1 for p in os.listdir("/proc") if p.isdigit())


def test_a_fork_bomb_is_held(step):
    before = host_processes()
    c = Running(step, "--pids-limit", "20", "sh", "-c", "forkbomb; echo ready; read _")
    try:
        out = c.wait_for("ready", timeout=30)
        current = int(Path(labtest.group_dir("pids", c.pid), "pids.current").read_text())
        during = host_processes()
    finally:
        r = c.finish()
    assert r.rc == 0, "the container should end normally after the bomb\n" + r.describe()
    forked = out.split("forked ")[1].split(",")[0] if "forked " in out else "?"
    assert "then fork: Resource temporarily unavailable" in out and int(forked) < 20, (
        f"fork(2) should fail with EAGAIN at the limit (forked {forked})\n" + r.describe())
    assert current <= 20 and during - before <= 25, (
        f"pids.current {current}, the host's processes grew by {during - before}")


def test_a_fork_bomb_can_be_ended_from_the_host(step):
    c = Running(step, "--pids-limit", "30", "sh", "-c", "echo ready; forkbomb 1000000 & sleep 1000")
    c.wait_for("ready")
    try:
        held = labtest.pids_limit(c.pid)
    finally:
        os.kill(c.child_pid(), signal.SIGKILL)
    assert held == 30, f"the bomb's group should hold it at 30 processes: pids.max {held}"
    r = c.wait(timeout=20)
    assert r.rc == 137, r.describe()
    assert not labtest.group_dir("pids", c.pid).exists()


@pytest.mark.given
def test_proc_still_shows_the_hosts_memory_and_cpus(step):
    """The seeds' complaint, documented: /proc/meminfo and /proc/cpuinfo
    inside are the host's, whatever the limits (lxcfs exists for this)."""
    r = run(step, "-m", "32m", "--cpus", "0.5", "sh", "-c", "grep MemTotal /proc/meminfo; nproc")
    host_total = [l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")][0]
    assert r.out.split("\n")[0].split() == host_total.split(), r.describe()
    assert int(r.out.split()[-1]) == os.cpu_count(), r.describe()


@pytest.mark.given
@pytest.mark.parametrize("opts, words", [
    (["-m", "32x"], ["--memory", "unknown unit"]),
    (["-m", "99999999999999999999"], ["--memory", "too large"]),
    (["-m", "9999999999g"], ["--memory", "too large"]),
    (["-m", "-5m"], ["--memory", "negative"]),
    (["-m", "0"], ["--memory", "below 6m"]),
    (["-m", "5m"], ["--memory", "below 6m"]),
    (["-m", ""], ["--memory", "not a size"]),
    (["--memory-swap", "64m"], ["--memory-swap needs --memory"]),
    (["-m", "64m", "--memory-swap", "32m"], ["--memory-swap", "smaller than --memory"]),
    (["-m", "64m", "--memory-swap", "-2"], ["--memory-swap", "negative"]),
    (["--pids-limit", "-5x"], ["--pids-limit", "whole number"]),
    (["--pids-limit", "1.5"], ["--pids-limit", "whole number"]),
    (["--pids-limit", "ten"], ["--pids-limit", "whole number"]),
    (["--pids-limit", "99999999999"], ["--pids-limit", "too large"]),
])
def test_bad_limits_are_refused(step, opts, words):
    r = run(step, *opts, "true")
    assert r.rc == 125 and len(r.err_lines) == 1, r.describe()
    assert all(w in r.err_lines[0] for w in words), r.describe()
