"""Step 03: chroot into the rootfs, a clean environment, and the escape.

Inside, "/" is the busybox rootfs: none of the host's files, ps works, the
environment is docker run's. And because chroot alone is not a wall, the
classic escape works here: that is the lesson, so it is asserted.
"""

import os
import subprocess

import pytest

import labtest
from labtest import run


def test_root_is_the_rootfs(step, rootfs):
    r = run(step, "ls", "-a", "/")
    assert r.rc == 0, r.describe()
    inside = set(r.out.split()) - {".", ".."}
    on_host = set(os.listdir(rootfs))
    assert inside == on_host, (
        f"ls -a / inside shows {sorted(inside)}, the rootfs holds {sorted(on_host)}\n" + r.describe())


def test_the_command_starts_in_the_new_root(step, rootfs):
    """chroot(2) leaves the current directory where it was, outside the new
    root: the container must start in its "/", not in the host's directory."""
    r = run(step, "sh", "-c", "pwd; ls -a")
    assert r.rc == 0, r.describe()
    lines = r.out.split()
    assert lines[:1] == ["/"] and set(lines[1:]) - {".", ".."} == set(os.listdir(rootfs)), (
        "the command should start in the rootfs's / (pwd, then ls -a)\n" + r.describe())


def test_host_files_are_not_visible(step, marker_file):
    path, token = marker_file
    r = run(step, "sh", "-c", f"ls /bin/busybox && cat {path}; echo status=$?")
    assert r.rc == 0 and "/bin/busybox" in r.out, r.describe()
    assert token not in r.out and "status=1" in r.out, (
        f"the host's {path} should not exist inside\n" + r.describe())


def test_ps_works(step):
    r = run(step, "ps")
    assert r.rc == 0, r.describe()
    lines = r.out.strip().splitlines()
    assert lines[0].split()[:2] == ["PID", "USER"] and lines[0].split()[-1] == "COMMAND", (
        "ps inside should be the rootfs's own, busybox's (its header: PID USER ... COMMAND)\n"
        + r.describe())
    assert lines[1].split()[0] == "1" and len(lines) == 2, (
        "busybox ps inside should list only itself, as PID 1\n" + r.describe())


@pytest.mark.given
def test_environment_is_docker_runs(step, rng):
    secret = f"host-secret-{rng.randrange(16**8):08x}"
    value = f"v{rng.randrange(16**6):06x}"
    r = run(step, "-e", f"ADDED={value}", "-e", "PASSED", "env",
            env={"LAB_HOST_SECRET": secret, "PASSED": secret + "-passed", "TERM": "vt100"})
    assert r.rc == 0, r.describe()
    env = dict(line.split("=", 1) for line in r.out.splitlines() if "=" in line)
    assert env.get("PATH") == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", r.describe()
    assert env.get("HOME") == "/root" and env.get("TERM") == "vt100", r.describe()
    assert env.get("HOSTNAME"), r.describe()
    assert env.get("ADDED") == value and env.get("PASSED") == secret + "-passed", r.describe()
    assert "LAB_HOST_SECRET" not in env and secret not in r.out.replace(secret + "-passed", ""), (
        "the host's environment leaked into the container\n" + r.describe())
    assert set(env) <= {"PATH", "HOME", "HOSTNAME", "TERM", "ADDED", "PASSED", "PWD", "SHLVL"}, r.describe()


@pytest.mark.steps(3)
def test_chroot_escape_works_under_chroot(step, marker_file):
    """The lesson of step 03: chroot is not a wall. (Step 04 closes it.)"""
    path, token = marker_file
    r = run(step, "chroot-escape", path)
    assert r.rc == 0 and token in r.out, (
        "under chroot alone, chroot-escape should read the host's file\n" + r.describe())


def test_relative_rootfs_from_anywhere(step, rootfs, tmp_path):
    # /.lab-rootfs: a file that only the rootfs holds, not the host
    rel = os.path.relpath(rootfs, tmp_path)
    r = run(step, "--rootfs", rel, "ls", "/.lab-rootfs", cwd=tmp_path, raw_args=True)
    assert r.rc == 0 and r.out.strip() == "/.lab-rootfs", r.describe()
    r = run(step, "--rootfs", rootfs.name, "ls", "/.lab-rootfs", cwd=rootfs.parent, raw_args=True)
    assert r.rc == 0 and r.out.strip() == "/.lab-rootfs", r.describe()


@pytest.mark.given
def test_rootfs_from_lab_rootfs(step, rootfs_copy, rng):
    token = f"copy-{rng.randrange(16**8):08x}"
    (rootfs_copy / "etc" / "which-rootfs").write_text(token)
    r = run(step, "cat", "/etc/which-rootfs", env={"LAB_ROOTFS": str(rootfs_copy)}, raw_args=True)
    assert r.rc == 0 and r.out == token, r.describe()


def _one_line_125(r, *words):
    assert r.rc == 125, r.describe()
    assert len(r.err_lines) == 1 and r.err_lines[0].startswith(f"step-{r.step:02d}: "), r.describe()
    for w in words:
        assert w in r.err_lines[0], f"the error should mention {w!r}\n" + r.describe()


@pytest.mark.given
def test_missing_rootfs_is_refused(step, tmp_path):
    missing = tmp_path / "no-such-rootfs"
    _one_line_125(run(step, "--rootfs", missing, "true", raw_args=True), str(missing), "No such file")


@pytest.mark.given
def test_rootfs_that_is_a_file_is_refused(step, tmp_path):
    f = tmp_path / "a-file"
    f.write_text("")
    _one_line_125(run(step, "--rootfs", f, "true", raw_args=True), str(f), "Not a directory")


@pytest.mark.given
def test_empty_rootfs_is_refused(step, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run(step, "--rootfs", empty, "true", raw_args=True)
    _one_line_125(r, "proc")


def test_rootfs_without_sh_gives_127(step, rootfs_copy):
    (rootfs_copy / "bin" / "sh").unlink()
    r = run(step, "--rootfs", rootfs_copy, raw_args=True)  # the default command, /bin/sh
    assert r.rc == 127, r.describe()
    assert len(r.err_lines) == 1 and "/bin/sh" in r.err_lines[0], r.describe()
