"""What the benchmark runs: each built step with the options that exercise its
mechanism, and the commands it is compared with.

Edit STEPS when a step changes what it needs on the command line or which
reference is its fair equivalent. A step that is not listed (09 and later)
gets the options and the reference of the highest step listed below it, and
the report says so.
"""

import shlex
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# step -> options, the reference it must beat (the regression guard compares
# with it), and other rows shown beside it for context.
STEPS = {
    1: dict(opts=[], ref="unshare-pid"),
    2: dict(opts=[], ref="unshare-pid-mnt"),
    3: dict(opts=[], ref="unshare-chroot", also=["unshare-root"]),
    # pivot_root(8) cannot be done by unshare(1) alone; the reference
    # for 01-05 is "the same namespaces, plus chroot".
    4: dict(opts=[], ref="unshare-chroot", also=["unshare-root"]),
    5: dict(opts=[], ref="unshare-uts"),
    6: dict(opts=["--net"], ref="shell-net", also=["unshare-n", "shell-net-leave"]),
    # As issue 9 asks: 07 with its CPU cap, 08 with its volume (and the cap:
    # then it does what the runc bundle does, which has both and no veth).
    7: dict(opts=["--cpus", "0.5"], ref="shell-cg", also=["unshare-n", "shell-net-cg"]),
    8: dict(opts=["--cpus", "0.5", "-v", "{vol}:/data"], ref="shell-cg-vol",
           also=["unshare-n", "shell-net-cg-vol"]),
}

# The targets of issue 9.
TARGET_RATIO = 0.8      # steps 01-05: at most this times unshare's median
GUARD_RATIO = 1.0       # every step: the regression guard fails above this
TARGET_RATIO_STEPS = range(1, 6)
RUNC_FACTOR = 5.0       # step 08: at least this many times faster than runc


@dataclass
class Cmd:
    id: str
    kind: str                 # floor | step | ref | info | tool
    label: str
    argv: list
    note: str = ""
    step: int = None
    wrap: list = None         # a prefix for the runner (hyperfine, loop), not the command
    display: str = ""         # the command as the table shows it
    needs: list = field(default_factory=list)   # programs that must be installed


def step_config(n):
    """(config, inherited_from): the entry of STEPS for step n."""
    if n in STEPS:
        return STEPS[n], None
    lower = [s for s in STEPS if s < n]
    if not lower:
        return dict(opts=[], ref="unshare-pid"), 1
    return STEPS[max(lower)], max(lower)


class Context:
    """The paths every command is built from."""

    def __init__(self, rootfs, vol, fifo_dir, bundle_dir, cgroup_dir, cgroup_version,
                 hide_v2=False, run_id="0"):
        self.rootfs = str(rootfs)
        self.vol = str(vol)
        self.fifo_dir = str(fifo_dir)
        self.bundle_dir = Path(bundle_dir)
        self.cgroup_dir = cgroup_dir
        self.cgroup_version = cgroup_version
        self.hide_v2 = hide_v2
        self.run_id = run_id

    def show(self, argv):
        """A command line as the table shows it: paths relative to the repo."""
        s = shlex.join(str(a) for a in argv)
        s = s.replace(self.vol, "$VOL")
        s = s.replace(self.fifo_dir, "$FIFOS")
        s = s.replace(str(self.bundle_dir), "$BUNDLES")
        if self.cgroup_dir:
            s = s.replace(self.cgroup_dir, "$CPU_CGROUP")
        s = s.replace(str(REPO) + "/", "")
        return s


def step_cmd(n, binary, ctx):
    cfg, inherited = step_config(n)
    opts = [o.format(vol=ctx.vol) for o in cfg["opts"]]
    argv = [str(binary), "-q", *opts, "/bin/true"]
    note = f"options and reference of step {inherited:02d}" if inherited else ""
    return Cmd(id=f"step-{n:02d}", kind="step", label=f"step-{n:02d}", argv=argv, step=n,
               note=note, display=ctx.show(["./" + binary.name, *argv[1:]]))


def ref_cmds(ctx):
    """Every reference and tool row, by id."""
    R = ctx.rootfs
    pf = ["unshare", "--pid", "--fork"]
    sh = ["sh", str(REPO / "bench" / "ref" / "container.sh")]
    cg = []
    if ctx.cgroup_dir:
        cg = ["--cgroup", ctx.cgroup_dir, "--cgroup-version", str(ctx.cgroup_version)]
    rows = [
        Cmd("floor", "floor", "floor: fork+exec of the rootfs's true", [f"{R}/bin/true"],
            note="rootfs/busybox/bin/true (static busybox), started directly"),
        Cmd("floor-host", "floor", "host /bin/true", ["/bin/true"],
            note="what steps 01-02 run (they have no rootfs yet)"),
        Cmd("unshare-pid", "ref", "unshare: PID ns", [*pf, "/bin/true"],
            note="same work as step 01"),
        Cmd("unshare-pid-mnt", "ref", "unshare: PID+mount ns, fresh /proc",
            [*pf, "--mount-proc", "/bin/true"],
            note="same work as step 02 (unshare makes / rprivate too)"),
        Cmd("unshare-chroot", "ref", "unshare + chroot",
            [*pf, f"--mount-proc={R}/proc", "chroot", R, "/bin/true"],
            note="same namespaces plus chroot(8): the issue's reference for 03-04"),
        Cmd("unshare-root", "info", "unshare --root (one exec fewer)",
            [*pf, "--mount-proc", f"--root={R}", "/bin/true"],
            note="unshare's own chroot, without exec'ing chroot(8): for context only"),
        Cmd("unshare-uts", "ref", "unshare + UTS ns + chroot",
            [*pf, f"--mount-proc={R}/proc", "--uts", "chroot", R, "/bin/true"],
            note="same work as step 05 (without sethostname, a few µs)"),
        Cmd("unshare-n", "info", "unshare -n (netns, no veth)",
            [*pf, f"--mount-proc={R}/proc", "--uts", "--net", "chroot", R, "/bin/true"],
            note="an empty network namespace: the netns step is also compared with it"),
        Cmd("shell-net", "ref", "unshare + ip veth (shell)",
            [*sh, "--net", ctx.fifo_dir, R],
            note="bench/ref/container.sh: unshare -n, then `ip -batch` for the veth, "
                 "addresses, routes on both sides; `ip link del` of the host end after "
                 "the container exits (a step deletes it too)"),
        Cmd("shell-net-leave", "ref", "unshare + ip veth, removal left to the kernel (shell)",
            [*sh, "--net", "--leave-veth", ctx.fifo_dir, R],
            note="as above, but returns without deleting the veth pair: the kernel removes "
                 "it with the network namespace, after the script has returned"),
        Cmd("shell-cg", "ref", "unshare -n + cgroup write (shell)",
            [*sh, "--netns", *cg, ctx.fifo_dir, R],
            note="container.sh: unshare -n (lo up), mkdir + cpu quota + "
                 "cgroup.procs write + rmdir: step 07's work without --net",
            needs=["cgroup"]),
        Cmd("shell-cg-vol", "ref", "unshare -n + cgroup + bind mount (shell)",
            [*sh, "--netns", *cg, "--volume", ctx.vol, ctx.fifo_dir, R],
            note="as above, plus mount --bind $VOL rootfs/busybox/data: step 08's work "
                 "without --net",
            needs=["cgroup"]),
        Cmd("shell-net-cg", "ref", "unshare + ip veth + cgroup write (shell)",
            [*sh, "--net", *cg, ctx.fifo_dir, R],
            note="as above, plus mkdir + cpu quota + cgroup.procs write + rmdir",
            needs=["cgroup"]),
        Cmd("shell-net-cg-vol", "ref", "unshare + ip veth + cgroup + bind mount (shell)",
            [*sh, "--net", *cg, "--volume", ctx.vol, ctx.fifo_dir, R],
            note="as above, plus mount --bind $VOL rootfs/busybox/data",
            needs=["cgroup"]),
        Cmd("bwrap", "tool", "bubblewrap --unshare-all",
            ["bwrap", "--unshare-all", "--bind", R, "/", "--proc", "/proc",
             "--bind", ctx.vol, "/data", "/bin/true"],
            note="user, ipc, pid, net, uts, cgroup namespaces; the rootfs, a fresh /proc "
                 "and the volume (bwrap has no cgroup limits and no veth)",
            needs=["bwrap"]),
        Cmd("runc", "tool", "runc run (OCI bundle)",
            ["runc", "run", "--bundle", str(ctx.bundle_dir / "runc"), f"bench-runc-{ctx.run_id}"],
            note="`runc spec` defaults (pid, net, ipc, uts, mount ns; /proc, /dev, /sys "
                 "mounts; masked paths) + CPU quota 0.5 + the volume; no veth",
            needs=["runc"]),
        Cmd("crun", "tool", "crun run (OCI bundle)",
            ["crun", "run", "--bundle", str(ctx.bundle_dir / "crun"), f"bench-crun-{ctx.run_id}"],
            note="the same bundle as runc", needs=["crun"]),
    ]
    if ctx.hide_v2:
        rows.append(Cmd(
            "crun-v1", "tool", "crun run, cgroup v2 hidden",
            ["crun", "run", "--bundle", str(ctx.bundle_dir / "crun"), f"bench-crun-{ctx.run_id}"],
            wrap=["unshare", "--mount", "--propagation", "private", "sh", "-c",
                  "mount -t tmpfs -o size=4k,mode=755 bench-hide-v2 /sys/fs/cgroup/unified "
                  "&& exec \"$@\"", "sh"],
            note="crun refuses hybrid cgroups whose v2 side holds a controller; here the "
                 "benchmark runner (not crun) runs in a private mount namespace with a tmpfs "
                 "over /sys/fs/cgroup/unified, so crun sees plain cgroup v1. The host is "
                 "untouched; crun's own time is measured as is",
            needs=["crun"]))
    for r in rows:
        r.display = ctx.show(r.argv)
    return {r.id: r for r in rows}


def oci_config(rootfs, vol, cgroups_path, args=("/bin/true",)):
    """config.json as `runc spec` (runc 1.1) writes it, for a root user, with
    the command, the rootfs, a CPU quota of 0.5 and the volume: step 08's
    container in OCI terms. Kept here rather than generated by `runc spec` so
    that runc and crun read the same file even when runc is missing."""
    caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    return {
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": list(args),
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "TERM=xterm"],
            "cwd": "/",
            "capabilities": {k: caps for k in ("bounding", "effective", "permitted", "ambient")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": str(rootfs), "readonly": True},
        "hostname": "bench",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
            {"destination": "/data", "type": "bind", "source": str(vol),
             "options": ["rbind", "rw"]},
        ],
        "linux": {
            "resources": {
                "devices": [{"allow": False, "access": "rwm"}],
                "cpu": {"quota": 50000, "period": 100000},
            },
            "cgroupsPath": cgroups_path,
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                            "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                            "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                              "/proc/sysrq-trigger"],
        },
    }
