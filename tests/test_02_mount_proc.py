"""Step 02: a mount namespace, private mounts, and a fresh /proc.

Inside, /proc shows only the container's processes; the host's mount table
is the same before, during and after the run.
"""

import os
import subprocess

import pytest

import labtest
from labtest import Running, run


def proc_pids(text):
    return sorted(int(x) for x in text.split() if x.isdigit())


def test_proc_lists_only_the_container(step):
    r = run(step, "sh", "-c", "ls /proc")
    assert r.rc == 0, r.describe()
    pids = proc_pids(r.out)
    # The shell (1) and ls (2, unless the shell execs it as itself).
    assert pids and pids[0] == 1 and len(pids) <= 2, (
        f"/proc inside lists pids {pids[:20]}: expected only the container's own\n" + r.describe())


def test_proc_1_is_the_command(step, rng):
    token = f"token-{rng.randrange(16**8):08x}"
    r = run(step, "sh", "-c", f"cat /proc/1/cmdline; : {token}")
    assert r.rc == 0, r.describe()
    assert token in r.out.replace("\0", " "), (
        "/proc/1/cmdline inside should be the container's command\n" + r.describe())


def test_host_mounts_unchanged_while_running(step, host_unchanged):
    c = Running(step, "sh", "-c", "ls /proc; echo ready; read _")
    try:
        c.wait_for("ready")
        child = c.child_pid()
        during = labtest.mount_table()
        assert during == host_unchanged.mounts, (
            "the host's mount table changed while the container ran:\n  "
            + "\n  ".join(host_unchanged.diff(labtest.HostState.now())))
        # Seen from the host: the child has its own mount table, with a proc
        # of its own (another device) that the host does not have.
        assert labtest.ns_id(child, "mnt") != labtest.ns_id("self", "mnt"), "no new mount namespace"
        theirs = {m[0]: m for m in labtest.mount_table(child)}
        proc_devs = _proc_devices(child)
        assert proc_devs - _proc_devices("self"), (
            f"the container's /proc should be a new proc filesystem; its procs: {proc_devs}")
    finally:
        r = c.finish()
    assert r.rc == 0, r.describe()
    assert proc_pids(r.out.split("ready")[0])[:1] == [1], r.describe()
    assert labtest.mount_table() == host_unchanged.mounts


def test_proc_is_mounted_nosuid_nodev_noexec(step):
    """Like docker, the container's /proc allows no set-uid programs, device
    files or programs run from it."""
    c = Running(step, "sh", "-c", "echo ready; read _")
    try:
        c.wait_for("ready")
        options = [line.split()[5].split(",") for line in open(f"/proc/{c.child_pid()}/mountinfo")
                   if " - proc " in line and line.split()[4].endswith("/proc")]
    finally:
        r = c.finish()
    assert r.rc == 0, r.describe()
    assert options, "no proc mounted inside"
    missing = {"nosuid", "nodev", "noexec"} - set(options[-1])
    assert not missing, f"the container's /proc is mounted {','.join(options[-1])}: missing {sorted(missing)}"


def _proc_devices(pid):
    devs = set()
    for line in open(f"/proc/{pid}/mountinfo"):
        left, right = line.split(" - ", 1)
        if right.startswith("proc "):
            devs.add(left.split()[2])
    return devs


@pytest.fixture
def shared_mount(tmp_path):
    """A shared mount on the host, with the rootfs bound below it: a mount
    made under it in a namespace that is not private shows up on the host."""
    top = tmp_path / "shared"
    top.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "lab-shared", str(top)], check=True)
    subprocess.run(["mount", "--make-shared", str(top)], check=True)
    (top / "rootfs").mkdir()
    subprocess.run(["mount", "--rbind", str(labtest.default_rootfs()), str(top / "rootfs")], check=True)
    yield top
    subprocess.run(["umount", "-R", "-l", str(top)], check=True)


def test_mounts_inside_do_not_reach_the_host(step, shared_mount):
    """Private propagation: the container mounts a tmpfs where, were its
    mounts still shared with the host, the host would see it."""
    rootfs = shared_mount / "rootfs"
    before = labtest.mount_table()
    # From step 13 on, mounting takes a capability the container has not by default.
    caps = ["--cap-add", "SYS_ADMIN"] if step >= 13 else []
    if step >= 3:
        args = [*caps, "--rootfs", str(rootfs), "sh", "-c", "mount -t tmpfs inner /tmp && echo mounted"]
    else:
        args = ["sh", "-c", f"mount -t tmpfs inner {rootfs}/tmp && echo mounted && ls /proc"]
    r = labtest.run(step, *args, raw_args=True)
    assert r.rc == 0 and "mounted" in r.out, r.describe()
    if step < 3:
        assert proc_pids(r.out.split("mounted")[1])[:1] == [1], "no fresh /proc inside\n" + r.describe()
    leaked = [m[0] for m in (labtest.mount_table() - before)]
    assert not leaked, f"mounts made in the container appeared on the host: {leaked}"
