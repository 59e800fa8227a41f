"""Step 09: an IPC namespace, a fresh mqueue on /dev/mqueue, and the rest of Docker's /dev.

System V shared memory, semaphores and message queues, and POSIX message
queues, made on the host are not listed inside; those made inside are not
listed on the host, nor in another container, and go with the container.
The host side makes and removes its objects itself (with the C library's
calls; the rootfs's busybox has no ipcs, so the container reads
/proc/sysvipc, which is what ipcs shows). Objects are found by random keys
and names. /dev/shm (POSIX shared memory) and /dev/pts (terminals) are a
tmpfs and a devpts of the container's own, read from the host too.
"""

import ctypes
import os
import subprocess
from pathlib import Path

import pytest

import labtest
from labtest import Running, run

IPC_CREAT, IPC_EXCL, IPC_RMID = 0o1000, 0o2000, 0
O_RDWR, O_CREAT = 0o2, 0o100
libc = ctypes.CDLL(None, use_errno=True)
SHOW = "cat /proc/sysvipc/shm /proc/sysvipc/sem /proc/sysvipc/msg; ls /dev/mqueue"


def keys_in(text):
    """The keys (first column, decimal) of /proc/sysvipc/* lines."""
    return {int(line.split()[0]) for line in text.splitlines()
            if line.split() and line.split()[0].lstrip("-").isdigit()}


@pytest.fixture
def host_objects(rng):
    """One of each kind of IPC object, made on the host with random keys."""
    key = rng.randrange(0x10000, 0x7fffffff)
    name = f"/lab-host-{rng.randrange(16**8):08x}"
    ids = {"shm": libc.shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0o600),
           "sem": libc.semget(key + 1, 1, IPC_CREAT | IPC_EXCL | 0o600),
           "msg": libc.msgget(key + 2, IPC_CREAT | IPC_EXCL | 0o600)}
    mq = libc.mq_open(name.encode(), O_RDWR | O_CREAT, 0o600, None)
    assert min(ids.values()) >= 0 and mq >= 0, f"could not make IPC objects on the host: {os.strerror(ctypes.get_errno())}"
    libc.mq_close(mq)
    yield key, name
    libc.shmctl(ids["shm"], IPC_RMID, None)
    libc.semctl(ids["sem"], 0, IPC_RMID)
    libc.msgctl(ids["msg"], IPC_RMID, None)
    libc.mq_unlink(name.encode())


def host_keys():
    return keys_in("".join(Path(f"/proc/sysvipc/{k}").read_text() for k in ("shm", "sem", "msg")))


def host_has_queue(name):
    q = libc.mq_open(name.encode(), O_RDWR, 0, None)
    if q >= 0:
        libc.mq_close(q)
    return q >= 0


def make_inside(key, name):
    return (f"ipcmk -M 4096 -k {key} && ipcmk -S 1 -k {key + 1} && ipcmk -Q -k {key + 2} && "
            f"ipcmk -P {name} && ")


def test_the_hosts_objects_are_not_listed_inside(step, host_objects):
    key, name = host_objects
    assert {key, key + 1, key + 2} <= host_keys(), "the test's own objects are not on the host"
    r = run(step, "sh", "-c", SHOW)
    assert r.rc == 0, r.describe()
    seen = keys_in(r.out) & {key, key + 1, key + 2}
    assert not seen, f"the host's IPC objects with keys {sorted(seen)} are listed inside\n" + r.describe()
    assert name[1:] not in r.out.split(), f"the host's POSIX queue {name} is in /dev/mqueue inside\n" + r.describe()


def test_objects_made_inside_stay_inside(step, rng):
    key = rng.randrange(0x10000, 0x7fffffff)
    name = f"/lab-inside-{rng.randrange(16**8):08x}"
    c = Running(step, "sh", "-c", make_inside(key, name) + SHOW + "; echo ready; read _")
    try:
        out = c.wait_for("ready")
        theirs = subprocess.run(["nsenter", f"--target={c.child_pid()}", "--ipc", "cat", "/proc/sysvipc/shm"],
                                capture_output=True, text=True).stdout
        ours, queue_on_host = host_keys(), host_has_queue(name)
    finally:
        r = c.finish()
    assert r.rc == 0, r.describe()
    assert {key, key + 1, key + 2} <= keys_in(out) and name[1:] in out.split(), (
        "the objects made inside should be listed inside (/proc/sysvipc, /dev/mqueue)\n" + r.describe())
    assert key in keys_in(theirs), "the container's IPC namespace, entered from the host, lacks its segment"
    assert not {key, key + 1, key + 2} & ours, "objects made inside are listed on the host"
    assert not queue_on_host, f"the container's POSIX queue {name} opens on the host"


def test_two_containers_do_not_see_each_others(step, rng):
    key = rng.randrange(0x10000, 0x7fffffff)
    name = f"/lab-a-{rng.randrange(16**8):08x}"
    a = Running(step, "sh", "-c", make_inside(key, name) + "echo ready; read _")
    try:
        a.wait_for("ready")
        b = run(step, "sh", "-c", SHOW)
    finally:
        assert a.finish().rc == 0
    assert b.rc == 0, b.describe()
    assert not keys_in(b.out) & {key, key + 1, key + 2} and name[1:] not in b.out.split(), (
        "a second container lists the first one's IPC objects\n" + b.describe())


def shmem_kib():
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("Shmem:"):
            return int(line.split()[1])
    raise AssertionError("no Shmem in /proc/meminfo")


def test_memory_of_the_containers_objects_is_freed_when_it_ends(step, rng):
    """A 64 MiB segment made and filled inside holds 64 MiB of the host's
    memory while the container runs, and none once it has ended: its IPC
    namespace, and everything in it, went with it."""
    key = rng.randrange(0x10000, 0x7fffffff)
    before = shmem_kib()
    c = Running(step, "sh", "-c", f"ipcmk -M 64m -k {key} -t && echo ready; read _")
    try:
        c.wait_for("ready")
        during = shmem_kib()
    finally:
        r = c.finish()
    assert r.rc == 0, r.describe()
    assert during - before >= 48 * 1024, f"Shmem grew by {during - before} KiB while the segment lived"
    # The kernel frees a namespace's objects in a worker, soon after its end.
    labtest.wait_until(lambda: shmem_kib() - before <= 16 * 1024, timeout=5)
    after = shmem_kib()
    assert after - before <= 16 * 1024, (
        f"Shmem is still {after - before} KiB above where it was: the container's segment outlived it")


def test_dev_mqueue_is_the_containers_own(step, host_objects, rng):
    _, host_queue = host_objects
    name = f"/lab-own-{rng.randrange(16**8):08x}"
    c = Running(step, "sh", "-c", f"ipcmk -P {name} >/dev/null && ls /dev/mqueue && echo ready; read _")
    try:
        out = c.wait_for("ready")
        mounts = [line.split(" - ")[1].split()[0] for line in open(f"/proc/{c.child_pid()}/mountinfo")
                  if line.split()[4] == "/dev/mqueue"]
        assert labtest.ns_id(c.child_pid(), "ipc") != labtest.ns_id("self", "ipc"), "no new IPC namespace"
    finally:
        r = c.finish()
    assert r.rc == 0, r.describe()
    assert mounts == ["mqueue"], f"/dev/mqueue inside is {mounts or 'not a mount'}: expected an mqueue"
    listed = out.split("ready")[0].split()
    assert listed == [name[1:]], (
        f"/dev/mqueue inside lists {listed}: expected only the container's own queue {name[1:]}\n" + r.describe())


def test_a_queue_made_inside_can_be_removed_inside(step, rng):
    """/dev/mqueue is the container's, read-write: a POSIX queue it made is
    removed as a file (mq_unlink(3) is an unlink there)."""
    name = f"q{rng.randrange(10**6)}"
    r = run(step, "sh", "-c", f"ipcmk -P /{name} >/dev/null; rm /dev/mqueue/{name}; echo rm=$?; "
            "ls /dev/mqueue")
    assert r.rc == 0 and "rm=0" in r.out and name not in r.out.split(), (
        f"rm /dev/mqueue/{name} should remove the queue it made\n" + r.describe())


def dev_mounts(pid):
    """The container's mounts on /dev/shm and /dev/pts, as the host reads
    them: {"/dev/shm": ("tmpfs", "rw,nosuid,nodev,noexec,...", "rw,size=65536k"), ...}."""
    found = {}
    for line in Path(f"/proc/{pid}/mountinfo").read_text().splitlines():
        left, right = line.split(" - ", 1)
        point = left.split()[4]
        if point in ("/dev/shm", "/dev/pts"):
            found[point] = (right.split()[0], left.split()[5], right.split()[2])
    return found


def test_dev_shm_is_a_tmpfs_of_the_containers_own(step, rng):
    """POSIX shared memory is files in /dev/shm: a tmpfs of the container's
    own, 64 MiB and sticky, as Docker's; what one container puts there the
    image and another container never see."""
    name = f"lab-shm-{rng.randrange(16**8):08x}"
    c = Running(step, "sh", "-c", f"echo data > /dev/shm/{name} && stat -c %a /dev/shm && ls /dev/shm && "
                "echo ready; read _")
    try:
        out = c.wait_for("ready")
        mounts = dev_mounts(c.descendant("sh"))
        other = run(step, "ls", "/dev/shm")
    finally:
        r = c.finish()
    kind, flags, options = mounts.get("/dev/shm", (None, "", ""))
    assert kind == "tmpfs" and {"nosuid", "nodev", "noexec"} <= set(flags.split(",")) and \
        "size=65536k" in options.split(","), (
            f"from the host, /dev/shm in the container should be a tmpfs, nosuid, nodev, noexec, of "
            f"65536k: {mounts.get('/dev/shm', 'not a mount')}\n" + r.describe())
    assert out.split()[:2] == ["1777", name], f"inside: mode 1777, holding {name}\n" + r.describe()
    assert name not in other.out and not (labtest.default_rootfs() / "dev" / "shm" / name).exists(), (
        f"{name} should be only in the first container's /dev/shm\n" + other.describe())


@pytest.mark.parametrize("size, kib", [("1m", 1024), ("300k", 300), ("0", 65536)])
def test_shm_size_as_docker_run(step, size, kib):
    """--shm-size, as docker run's (0: the default, 64 MiB)."""
    c = Running(step, "--shm-size", size, "sh", "-c", "echo ready; read _")
    try:
        c.wait_for("ready")
        mounts = dev_mounts(c.descendant("sh"))
    finally:
        r = c.finish()
    assert f"size={kib}k" in mounts.get("/dev/shm", ("", "", ""))[2].split(","), (
        f"from the host, /dev/shm with --shm-size {size}: {mounts.get('/dev/shm')}\n" + r.describe())


def test_dev_pts_is_a_devpts_of_the_containers_own(step):
    """Terminals of its own: a new devpts on /dev/pts (nothing of the host's
    is listed), where opening /dev/ptmx makes pts 0."""
    c = Running(step, "sh", "-c", "ls /dev/pts; exec 3<>/dev/ptmx; ls /dev/pts; echo ready; read _")
    try:
        out = c.wait_for("ready")
        mounts = dev_mounts(c.descendant("sh"))
    finally:
        r = c.finish()
    kind, flags, options = mounts.get("/dev/pts", (None, "", ""))
    assert kind == "devpts" and "ptmxmode=666" in options.split(",") and "nosuid" in flags.split(","), (
        f"from the host, /dev/pts in the container should be a devpts with ptmxmode=666: "
        f"{mounts.get('/dev/pts', 'not a mount')}\n" + r.describe())
    assert out.split() == ["ptmx", "0", "ptmx", "ready"], (
        "inside, /dev/pts should list ptmx alone, then pts 0 once /dev/ptmx is opened\n" + r.describe())


@pytest.mark.given  # the image's links: they hold without the step's code
def test_dev_has_dockers_links(step):
    r = run(step, "sh", "-c", "for l in fd stdin stdout stderr ptmx; do echo $l=$(readlink /dev/$l); done; "
            "echo piped | cat /dev/stdin")
    assert r.out.split() == ["fd=/proc/self/fd", "stdin=/proc/self/fd/0", "stdout=/proc/self/fd/1",
                             "stderr=/proc/self/fd/2", "ptmx=pts/ptmx", "piped"], r.describe()
