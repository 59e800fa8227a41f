"""Step 01: the container's command is PID 1 of a new PID namespace.

Also the rules every step keeps from the start: the exit status as docker
run gives it, one-line errors with exit 125, the root check, --help,
--version, -q, and signals while the parent waits.
"""

import os
import shutil
import signal
import subprocess

import pytest

import labtest
from labtest import Running, run


def test_command_is_pid_1_inside(step):
    r = run(step, "sh", "-c", "echo $$")
    assert r.rc == 0, r.describe()
    assert r.out.strip() == "1", "inside, the shell's own pid ($$) should be 1\n" + r.describe()


def test_host_sees_an_ordinary_pid(step):
    c = Running(step, "sh", "-c", "echo ready; read _")
    try:
        c.wait_for("ready")
        child = c.child_pid()
        levels = labtest.nspid(child)
        assert levels[-1] == 1 and len(levels) >= 2, (
            f"/proc/{child}/status on the host says NSpid {levels}: expected the host's "
            "pid first and 1 last (pid 1 of a nested PID namespace)")
        assert levels[0] == child != 1
        assert labtest.ns_id(child, "pid") != labtest.ns_id("self", "pid")
    finally:
        r = c.finish()
    assert r.rc == 0, r.describe()
    assert f"pid {child} on the host" in r.err, (
        "the narration should say which pid the host sees\n" + r.describe())


def test_host_pids_mean_nothing_inside(step):
    """The host's pids are not in the container's namespace: its own parent,
    the step, cannot even be named from inside."""
    r = run(step, "sh", "-c", f"kill -0 {os.getpid()} 2>/dev/null; echo status=$?; "
                              "sleep 0 & echo child=$!; wait")
    assert r.rc == 0, r.describe()
    assert "status=1" in r.out, (
        f"kill -0 {os.getpid()} (a pid of the host) worked inside: the container sees the host's pids\n"
        + r.describe())
    assert "child=2" in r.out, "the first child of PID 1 should be PID 2 inside\n" + r.describe()


@pytest.mark.given
def test_exit_status_is_passed_through(step, rng):
    status = rng.randrange(1, 120)
    r = run(step, "sh", "-c", f"exit {status}")
    assert r.rc == status, r.describe()


@pytest.mark.given
def test_death_by_signal_gives_128_plus_n(step):
    c = Running(step, "sh", "-c", "echo ready; read _")
    c.wait_for("ready")
    # Only SIGKILL from outside is forced on a namespace's PID 1.
    os.kill(c.child_pid(), signal.SIGKILL)
    r = c.wait()
    assert r.rc == 128 + signal.SIGKILL, r.describe()


@pytest.mark.given
def test_missing_command_gives_127(step, rng):
    name = f"/no-such-command-{rng.randrange(16**8):08x}"
    r = run(step, name)
    assert r.rc == 127, r.describe()
    assert len(r.err_lines) == 1 and name in r.err_lines[0], r.describe()


@pytest.mark.given
def test_command_that_cannot_run_gives_126(step):
    r = run(step, "/etc/passwd")  # exists, not executable, on the host and in the rootfs
    assert r.rc == 126, r.describe()
    assert len(r.err_lines) == 1 and "/etc/passwd" in r.err_lines[0], r.describe()


@pytest.mark.given
def test_unknown_option_gives_125_and_one_line(step, rng):
    opt = f"--no-such-option-{rng.randrange(1000)}"
    r = run(step, opt, "true")
    assert r.rc == 125, r.describe()
    assert r.err.count("\n") == 1 and opt in r.err and r.err.startswith(f"step-{step:02d}: "), r.describe()


@pytest.mark.given
@pytest.mark.steps(*range(1, 12))  # step 12 on: an ordinary user gets a rootless container
def test_non_root_is_refused_with_125(step, public_dir):
    """Run by nobody, from a copy nobody can reach: the checkout itself may
    be in a directory only root can enter (/root/lab, a mktemp -d)."""
    binary = public_dir / labtest.step_bin(step).name
    shutil.copy2(labtest.step_bin(step), binary)
    r = labtest.run_binary(step, binary, "true", preexec=_become_nobody)
    assert r.rc == 125, r.describe()
    assert "root" in r.err and r.err.count("\n") == 1, r.describe()


def _become_nobody():
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)


@pytest.mark.given
def test_help_and_version(step):
    h = run(step, "--help")
    assert h.rc == 0 and "Usage" in h.out and "--quiet" in h.out, h.describe()
    v = run(step, "--version")
    assert v.rc == 0 and f"step-{step:02d}" in v.out, v.describe()


@pytest.mark.given
def test_narration_on_stderr_and_quiet_silences_it(step):
    loud = run(step, "sh", "-c", "echo out")
    assert loud.out == "out\n" and f"step-{step:02d} [parent]: clone(" in loud.err, loud.describe()
    quiet = run(step, "-q", "sh", "-c", "echo out")
    assert quiet.out == "out\n" and quiet.err == "", quiet.describe()


@pytest.mark.given
def test_sigterm_is_passed_to_the_container(step, rng):
    status = rng.randrange(1, 100)
    c = Running(step, "sh", "-c", f"trap 'exit {status}' TERM; echo ready; while :; do sleep 0.05; done")
    c.wait_for("ready")
    os.kill(c.pid, signal.SIGTERM)  # to the step process, not the container
    r = c.wait()
    assert r.rc == status, "SIGTERM to the step should reach the container's trap\n" + r.describe()


@pytest.mark.given
def test_sigint_does_not_stop_the_parent(step):
    c = Running(step, "sh", "-c", "echo ready; read _; echo done")
    c.wait_for("ready")
    os.kill(c.pid, signal.SIGINT)  # only the step: the terminal's Ctrl-C is for the container
    r = c.finish()
    assert r.rc == 0 and "done" in r.out, r.describe()
