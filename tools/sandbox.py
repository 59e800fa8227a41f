#!/usr/bin/python3
"""Runs a command (the test harness) in a sandbox of its own, so that the
code it tests, a student's or a broken one, cannot change the machine:

    sandbox.py [--time-limit S] [--pids N] [--memory BYTES] [--tmp-size SIZE] -- COMMAND...

The command runs as root, but in new PID, mount, network, UTS, IPC and
cgroup namespaces, and in a cgroup of its own with a pids and a memory
limit. Inside it sees:

  - a root mount that is shared, as systemd makes it on most machines, so
    that a step which mounts before making its mounts private leaks the
    mount, visibly, into the sandbox (and nowhere else: the sandbox's
    mounts are cut off from the machine's first);
  - a fresh /proc, /sys (this network namespace's links), /dev/mqueue;
    tmpfs on /tmp, /run and /dev/shm, of a bounded size (the current
    directory, or each --keep, stays visible at its path even there);
  - its own cgroup as the root of each cgroup hierarchy the lab uses (cpu,
    memory, pids, and v1's freezer), so that the lab's groups are made
    inside it and go with it;
  - a loopback, and whatever links the tests make.

What it cannot do, then: kill(-1) or reboot(2) reach only the sandbox's
PID namespace (reboot kills its init); a fork bomb stops at the pids limit;
a mount over / or a hostname stays in the sandbox; veths die with its
network namespace; a full /tmp is the sandbox's tmpfs. Files outside /tmp,
/run and /dev/shm are the machine's own (the tests need the repository).

The exit status is the command's, or 124 if it outlived --time-limit (the
whole sandbox is killed then), or 125 if the sandbox could not be made, or
128+N if its init died of signal N (kill(-1) from inside, reboot(2)). On
the way out, every process left in the sandbox's cgroups is killed and the
groups are removed.
"""

import argparse
import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS = 0x00020000, 0x02000000, 0x04000000
CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = 0x08000000, 0x20000000, 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC = 0x2, 0x4, 0x8, 0x1000, 0x4000
MS_PRIVATE, MS_SHARED = 1 << 18, 1 << 20
MNT_DETACH = 2
CONTROLLERS = ("cpu", "memory", "pids", "freezer")  # freezer: v1's, for step 17's pause

libc = ctypes.CDLL(None, use_errno=True)


def fail(msg):
    print(f"sandbox: {msg}", file=sys.stderr, flush=True)
    os._exit(125)


def check(rc, what):
    if rc != 0:
        e = ctypes.get_errno()
        fail(f"{what}: {os.strerror(e)}")


def mount(src, target, fstype, flags=0, data=None):
    check(libc.mount(src and src.encode(), target.encode(), fstype and fstype.encode(),
                     ctypes.c_ulong(flags), data and data.encode()), f"mount {fstype or src} on {target}")


def mountinfo():
    """[(mount point, fstype, super options)] of the caller's mount table,
    the mount on top where several share a mount point."""
    rows = {}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, right = line.split(" - ", 1)
        fstype, _, superopts = right.split()[:3]
        rows.pop(left.split()[4], None)
        rows[left.split()[4]] = (left.split()[4], fstype, superopts)
    return list(rows.values())


def replace_mount(target, fstype, flags=0, data=None):
    """A fresh mount at target, the old one (and all below it) detached."""
    if os.path.ismount(target):
        check(libc.umount2(target.encode(), MNT_DETACH), f"detach {target}")
    mount(fstype, target, fstype, flags, data)


# ---- the sandbox's cgroups, made from outside ---------------------------------------

class Groups:
    """The sandbox's group in each hierarchy that holds cpu, memory or pids
    (one on cgroup v2; on v1 each controller may have its own)."""

    def __init__(self, name):
        self.name = name
        self.dirs = []        # [(version, hierarchy root, our group)]
        self.cgroup_mounts = [(m, t, o) for m, t, o in mountinfo() if t in ("cgroup", "cgroup2")]
        top = Path("/sys/fs/cgroup")
        self.links = [(e.name, os.readlink(e)) for e in top.iterdir() if e.is_symlink()] \
            if not any(m == str(top) for m, _, _ in self.cgroup_mounts) else []
        for m, t, o in self.cgroup_mounts:
            if t == "cgroup" and set(o.split(",")) & set(CONTROLLERS):
                self.dirs.append(("v1", m, Path(m, name)))
            elif t == "cgroup2" and self._v2_has_any(m):
                self.dirs.append(("v2", m, Path(m, name)))

    @staticmethod
    def _v2_has_any(root):
        try:
            return bool(set(Path(root, "cgroup.controllers").read_text().split()) & set(CONTROLLERS))
        except OSError:
            return False

    def create(self, pids, memory):
        if not self.dirs:
            fail("no cgroup hierarchy holds cpu, memory or pids here")
        for version, root, d in self.dirs:
            if version == "v2":
                have = Path(root, "cgroup.subtree_control").read_text().split()
                avail = Path(root, "cgroup.controllers").read_text().split()
                for c in CONTROLLERS:
                    if c in avail and c not in have:
                        Path(root, "cgroup.subtree_control").write_text(f"+{c}")
            d.mkdir()
            self._limit(d, "pids.max", str(pids))
            self._limit(d, "memory.max", str(memory))
            self._limit(d, "memory.limit_in_bytes", str(memory))
            self._limit(d, "memory.swap.max", "0")

    @staticmethod
    def _limit(d, name, value):
        if Path(d, name).exists():
            Path(d, name).write_text(value)

    def enter(self):
        """Moves the caller into every group (before it unshares its cgroup
        namespace, whose root is then the sandbox's group)."""
        for _, _, d in self.dirs:
            Path(d, "cgroup.procs").write_text(str(os.getpid()))

    def enter_leaf(self):
        """cgroup v2 lets a group hand controllers to its children only when
        it holds no process itself: on v2, the sandbox's processes live in
        runner/ and the lab's groups are made beside it."""
        for version, root, d in self.dirs:
            if version != "v2":
                continue
            leaf = d / "runner"
            leaf.mkdir()
            Path(leaf, "cgroup.procs").write_text(str(os.getpid()))
            avail = Path(d, "cgroup.controllers").read_text().split()
            Path(d, "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in CONTROLLERS if c in avail))

    def destroy(self):
        """Kills whatever is left in the groups, then removes them, deepest
        first. Returns what could not be removed."""
        left = []
        for _, _, d in self.dirs:
            if not d.exists():
                continue
            for _ in range(200):
                pids = [p for sub in [d, *d.rglob("*")] if sub.is_dir()
                        for p in self._procs(sub)]
                for p in pids:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                dirs = sorted([d, *[s for s in d.rglob("*") if s.is_dir()]], key=lambda p: -len(p.parts))
                for sub in dirs:
                    try:
                        sub.rmdir()
                    except OSError:
                        pass
                if not d.exists():
                    break
                time.sleep(0.02)
            if d.exists():
                left.append(str(d))
        return left

    @staticmethod
    def _procs(d):
        try:
            return [int(p) for p in Path(d, "cgroup.procs").read_text().split()]
        except OSError:
            return []


# ---- inside: the sandbox's own view of the system ---------------------------------------

def lab_hierarchy(fstype, superopts):
    """Whether a cgroup mount is one the lab uses: v2, or v1 with cpu,
    memory, pids or freezer."""
    return fstype == "cgroup2" or bool(set(superopts.split(",")) & set(CONTROLLERS))


def remount_cgroups(cgroup_mounts, links):
    """The cgroup hierarchies the lab uses, mounted again from inside the new
    cgroup namespace: each shows the sandbox's group as its root."""
    top = Path("/sys/fs/cgroup")
    if any(m == str(top) for m, t, _ in cgroup_mounts):   # cgroup v2 only
        mount("cgroup2", str(top), "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        return
    mount("tmpfs", str(top), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755")
    for m, t, superopts in cgroup_mounts:
        if not lab_hierarchy(t, superopts):
            continue
        Path(m).mkdir(parents=True, exist_ok=True)
        opts = ",".join(o for o in superopts.split(",") if o not in ("rw", "ro"))
        mount(t, m, t, MS_NOSUID | MS_NODEV | MS_NOEXEC, None if t == "cgroup2" else opts)
    for name, target in links:   # cpu -> cpu,cpuacct on some machines
        if not (top / name).exists():
            (top / name).symlink_to(target)


def keep_visible(keep, fresh):
    """Directories of keep that the fresh mounts would hide (a checkout in
    /tmp): each is bound again at its own path, under parents of the same
    modes. Returns [(path, fd)] to bind once the fresh mounts are there."""
    hidden = []
    for k in keep:
        k = os.path.realpath(k)
        if any(k == f or k.startswith(f + "/") for f in fresh):
            hidden.append((k, os.open(k, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC),
                           [(str(p), p.stat().st_mode & 0o7777) for p in reversed(Path(k).parents)]))
    return hidden


def bind_again(hidden):
    for path, fd, parents in hidden:
        for parent, mode in parents:
            if not os.path.isdir(parent):
                os.mkdir(parent)
                os.chmod(parent, mode)
        os.makedirs(path, exist_ok=True)
        mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        os.close(fd)


def build_view(cgroup_mounts, links, tmp_size, keep):
    # Cut every mount off from the machine's, then share them again among
    # the sandbox's own namespaces only, as systemd shares /.
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount(None, "/", None, MS_REC | MS_SHARED)
    fresh = ("/tmp", "/run", "/dev/shm")
    hidden = keep_visible(keep, fresh)
    replace_mount("/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    replace_mount("/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    remount_cgroups(cgroup_mounts, links)
    for d in fresh:
        # Over a directory that holds a kept one, the old mounts stay beneath,
        # not detached: bind_again binds from them (a nested sandbox's /tmp
        # is the outer one's tmpfs, with the checkout bound into it).
        opts = f"mode=1777,size={tmp_size}"
        if any(path.startswith(d + "/") for path, _, _ in hidden):
            mount("tmpfs", d, "tmpfs", MS_NOSUID | MS_NODEV, opts)
        else:
            replace_mount(d, "tmpfs", MS_NOSUID | MS_NODEV, opts)
    bind_again(hidden)
    if Path("/dev/mqueue").is_dir():  # never made here: /dev is the machine's
        mount("mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)


def kill_all_others():
    try:
        os.kill(-1, signal.SIGKILL)  # everyone in this PID namespace but us
    except ProcessLookupError:
        pass


def init(command):
    """PID 1 of the sandbox: starts the command, reaps every orphan, and when
    the command ends, ends everything else too."""
    signal.signal(signal.SIGTERM, lambda *_: kill_all_others() or os._exit(143))
    main = os.fork()
    if main == 0:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        try:
            os.execvp(command[0], command)
        except OSError as e:
            print(f"sandbox: {command[0]}: {e.strerror}", file=sys.stderr)
            os._exit(127)
    while True:
        pid, status = os.wait()
        if pid == main:
            kill_all_others()
            os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status)
                     else 128 + os.WTERMSIG(status))


def inside(groups, args):
    """The child: into the groups, new namespaces, then PID 1 below us."""
    groups.enter()
    check(libc.unshare(CLONE_NEWCGROUP), "unshare the cgroup namespace")
    groups.enter_leaf()
    check(libc.unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWPID),
          "unshare the namespaces")
    pid1 = os.fork()
    if pid1 == 0:
        build_view(groups.cgroup_mounts, groups.links, args.tmp_size, args.keep or [os.getcwd()])
        init(args.command)
    _, status = os.waitpid(pid1, 0)
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))


def run(args):
    groups = Groups(f"sandbox-{os.getpid()}")  # not lab*: the harness owns those
    groups.create(args.pids, args.memory)
    child = os.fork()
    if child == 0:
        try:
            inside(groups, args)
        except Exception as e:  # noqa: BLE001 - anything here must end the child
            fail(f"{type(e).__name__}: {e}")
    stop = []
    signal.signal(signal.SIGTERM, lambda sig, _: stop.append(sig))
    signal.signal(signal.SIGINT, lambda sig, _: stop.append(sig))
    deadline = time.monotonic() + args.time_limit if args.time_limit else None
    while True:
        pid, st = os.waitpid(child, os.WNOHANG)
        if pid:
            status = os.waitstatus_to_exitcode(st) if os.WIFEXITED(st) else 128 + os.WTERMSIG(st)
            break
        late = deadline and time.monotonic() > deadline
        if late or stop:
            if late:
                print(f"sandbox: {' '.join(args.command)}: killed after {args.time_limit:g} s",
                      file=sys.stderr, flush=True)
            groups.destroy()  # every process of the sandbox, its init too
            os.waitpid(child, 0)
            status = 124 if late else 128 + stop[0]
            break
        time.sleep(0.05)
    left = groups.destroy()
    if left:
        print(f"sandbox: could not remove {', '.join(left)}", file=sys.stderr)
    return status


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--time-limit", type=float, default=0, help="seconds (0: none)")
    ap.add_argument("--pids", type=int, default=4096, help="most processes at once")
    ap.add_argument("--memory", type=int, default=4 << 30, help="most memory, in bytes")
    ap.add_argument("--tmp-size", default="2g", help="size of /tmp, /run and /dev/shm each")
    ap.add_argument("--keep", action="append", metavar="DIR",
                    help="a directory that stays visible at its path, though it is in /tmp "
                         "(repeatable; default: the current directory)")
    ap.add_argument("command", nargs="+")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("sandbox: needs root (it makes namespaces and cgroups)", file=sys.stderr)
        return 125
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
