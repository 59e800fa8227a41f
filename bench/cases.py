"""What the benchmark runs: each step with the options that exercise its
mechanism, the command it must not be slower than (its reference), and the
other runtimes.

Adding a step is one entry in STEPS: its options, its reference (one of the
Refs below, or a new one written in the entry) and, optionally, rows shown
beside it for context; e.g. for step 09 (with an --ipc option in container.sh):

    9: Step("--cpus 0.5 -v {vol}:/data",
            Ref("shell-ipc", "unshare -n -i + cgroup + bind mount (shell)",
                "sh {container_sh} --netns --ipc " + CG + " --volume {vol} {fifos} {rootfs}",
                "step 08's reference, in an IPC namespace too"),
            also=(CGROUP_VOL,)),

A step without an entry gets the entry of the highest step below it, and the
report says so. Commands are templates, split like a shell line and then
filled in: {rootfs}, {vol} (step 08's volume), {fifos} (container.sh's named
pipes), {container_sh}, {cgroup} and {cgroup_version} (the cpu controller's
hierarchy), {bundles} (the OCI bundles), {run_id}.
"""

import shlex
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Ref:
    id: str
    label: str
    cmd: str
    note: str = ""
    kind: str = "ref"   # floor | ref | info (context only) | tool
    wrap: str = ""      # a prefix for the runner (hyperfine, loop), not the command


@dataclass(frozen=True)
class Step:
    opts: str = ""      # between `./step-NN -q` and `/bin/true`
    ref: Ref = None     # the regression guard compares with it
    also: tuple = ()    # rows shown beside it for context


PID = Ref("unshare-pid", "unshare: PID ns", "unshare --pid --fork /bin/true",
          "same work as step 01")
PID_MNT = Ref("unshare-pid-mnt", "unshare: PID+mount ns, fresh /proc",
              "unshare --pid --fork --mount-proc /bin/true",
              "same work as step 02 (unshare makes / rprivate too)")
CHROOT = Ref("unshare-chroot", "unshare + chroot",
             "unshare --pid --fork --mount-proc={rootfs}/proc chroot {rootfs} /bin/true",
             "same namespaces plus chroot(8): the issue's reference for 03-04")
ROOT = Ref("unshare-root", "unshare --root (one exec fewer)",
           "unshare --pid --fork --mount-proc --root={rootfs} /bin/true",
           "unshare's own chroot, without exec'ing chroot(8): for context only", kind="info")
UTS = Ref("unshare-uts", "unshare + UTS ns + chroot",
          "unshare --pid --fork --mount-proc={rootfs}/proc --uts chroot {rootfs} /bin/true",
          "same work as step 05 (without sethostname, a few µs)")
NETNS = Ref("unshare-n", "unshare -n (netns, no veth)",
            "unshare --pid --fork --mount-proc={rootfs}/proc --uts --net chroot {rootfs} /bin/true",
            "an empty network namespace: the netns step is also compared with it", kind="info")
# bench/ref/container.sh does the rest of a step's work as a shell script would.
NET = Ref("shell-net", "unshare + ip veth (shell)", "sh {container_sh} --net {fifos} {rootfs}",
          "bench/ref/container.sh: unshare -n, then `ip -batch` for the veth, addresses, routes "
          "on both sides; `ip link del` of the host end after the container exits (a step "
          "deletes it too)")
NET_LEAVE = Ref("shell-net-leave", "unshare + ip veth, removal left to the kernel (shell)",
                "sh {container_sh} --net --leave-veth {fifos} {rootfs}",
                "as above, but returns without deleting the veth pair: the kernel removes it "
                "with the network namespace, after the script has returned")
CG = "--cgroup {cgroup} --cgroup-version {cgroup_version}"
CGROUP = Ref("shell-cg", "unshare -n + cgroup write (shell)",
             "sh {container_sh} --netns " + CG + " {fifos} {rootfs}",
             "container.sh: unshare -n (lo up), mkdir + cpu quota + cgroup.procs write + rmdir: "
             "step 07's work without --net")
CGROUP_VOL = Ref("shell-cg-vol", "unshare -n + cgroup + bind mount (shell)",
                 "sh {container_sh} --netns " + CG + " --volume {vol} {fifos} {rootfs}",
                 "as above, plus mount --bind $VOL rootfs/busybox/data: step 08's work "
                 "without --net")
NET_CGROUP = Ref("shell-net-cg", "unshare + ip veth + cgroup write (shell)",
                 "sh {container_sh} --net " + CG + " {fifos} {rootfs}",
                 "as above, plus mkdir + cpu quota + cgroup.procs write + rmdir")
NET_CGROUP_VOL = Ref("shell-net-cg-vol", "unshare + ip veth + cgroup + bind mount (shell)",
                     "sh {container_sh} --net " + CG + " --volume {vol} {fifos} {rootfs}",
                     "as above, plus mount --bind $VOL rootfs/busybox/data")

STEPS = {
    1: Step(ref=PID),
    2: Step(ref=PID_MNT),
    3: Step(ref=CHROOT, also=(ROOT,)),
    # pivot_root(8) cannot be done by unshare(1) alone; the reference
    # for 01-05 is "the same namespaces, plus chroot".
    4: Step(ref=CHROOT, also=(ROOT,)),
    5: Step(ref=UTS),
    6: Step("--net", NET, also=(NETNS, NET_LEAVE)),
    # As issue 9 asks: 07 with its CPU cap, 08 with its volume (and the cap:
    # then it does what the runc bundle does, which has both and no veth).
    7: Step("--cpus 0.5", CGROUP, also=(NETNS, NET_CGROUP)),
    8: Step("--cpus 0.5 -v {vol}:/data", CGROUP_VOL, also=(NETNS, NET_CGROUP_VOL)),
}

FLOORS = [
    Ref("floor", "floor: fork+exec of the rootfs's true", "{rootfs}/bin/true",
        "rootfs/busybox/bin/true (static busybox), started directly", kind="floor"),
    Ref("floor-host", "host /bin/true", "/bin/true",
        "what steps 01-02 run (they have no rootfs yet)", kind="floor"),
]

CRUN = "crun run --bundle {bundles}/crun bench-crun-{run_id}"
TOOLS = [
    Ref("bwrap", "bubblewrap --unshare-all",
        "bwrap --unshare-all --bind {rootfs} / --proc /proc --bind {vol} /data /bin/true",
        "user, ipc, pid, net, uts, cgroup namespaces; the rootfs, a fresh /proc and the volume "
        "(bwrap has no cgroup limits and no veth)", kind="tool"),
    Ref("runc", "runc run (OCI bundle)", "runc run --bundle {bundles}/runc bench-runc-{run_id}",
        "`runc spec` defaults (pid, net, ipc, uts, mount ns; /proc, /dev, /sys mounts; masked "
        "paths) + CPU quota 0.5 + the volume; no veth", kind="tool"),
    Ref("crun", "crun run (OCI bundle)", CRUN, "the same bundle as runc", kind="tool"),
    # Only where crun refuses the machine's hybrid cgroups (Context.hide_v2).
    Ref("crun-v1", "crun run, cgroup v2 hidden", CRUN,
        "crun refuses hybrid cgroups whose v2 side holds a controller; here the benchmark "
        "runner (not crun) runs in a private mount namespace with a tmpfs over "
        "/sys/fs/cgroup/unified, so crun sees plain cgroup v1. The host is untouched; crun's "
        "own time is measured as is", kind="tool",
        wrap="unshare --mount --propagation private sh -c 'mount -t tmpfs -o size=4k,mode=755 "
             "bench-hide-v2 /sys/fs/cgroup/unified && exec \"$@\"' sh"),
]

# The targets of issue 9.
TARGET_RATIO = 0.8      # steps 01-05: at most this times unshare's median
GUARD_RATIO = 1.0       # every step: the regression guard fails above this
TARGET_RATIO_STEPS = range(1, 6)
RUNC_FACTOR = 5.0       # the last step: at least this many times faster than runc


def step_entry(n):
    """(Step, inherited_from): step n's entry, or that of the highest step below it."""
    m = max(s for s in STEPS if s <= n)
    return STEPS[m], (None if m == n else m)


class Context:
    """The values the templates are filled in with, for running and for the
    table (paths shortened to the names the docs explain)."""

    def __init__(self, rootfs, vol, fifos, bundles, cgroup, cgroup_version, hide_v2, run_id):
        self.hide_v2 = hide_v2
        values = dict(rootfs=rootfs, vol=vol, fifos=fifos, bundles=bundles, cgroup=cgroup or "-",
                      cgroup_version=cgroup_version or 0, run_id=run_id,
                      container_sh=REPO / "bench" / "ref" / "container.sh")
        self.values = {k: str(v) for k, v in values.items()}
        self.shown = dict(self.values, vol="$VOL", fifos="$FIFOS", bundles="$BUNDLES",
                          cgroup="$CPU_CGROUP", container_sh="bench/ref/container.sh")
        if Path(rootfs).is_relative_to(REPO):
            self.shown["rootfs"] = str(Path(rootfs).relative_to(REPO))

    def argv(self, template):
        return [word.format(**self.values) for word in shlex.split(template)]

    def row(self, ref):
        """One row of the results, as bench/run.py measures it."""
        return {"id": ref.id, "kind": ref.kind, "label": ref.label,
                "display": ref.cmd.format(**self.shown), "note": ref.note, "step": None,
                "argv": self.argv(ref.cmd), "wrap": self.argv(ref.wrap) or None,
                "needs_cgroup": "{cgroup}" in ref.cmd}

    def step_row(self, n, binary):
        entry, inherited = step_entry(n)
        opts = f" {entry.opts}" if entry.opts else ""
        cmd = f"./{Path(binary).name} -q{opts} /bin/true"
        row = self.row(Ref(f"step-{n:02d}", f"step-{n:02d}", cmd, kind="step"))
        row["argv"][0], row["step"] = str(binary), n
        if inherited:
            row["note"] = f"options and reference of step {inherited:02d}"
        return row


def rows(steps, ctx, guard_only=False):
    """The rows to measure, in the table's order: the floors, the steps
    ({n: binary}), their references and context rows, the other runtimes."""
    refs = []
    for n in steps:
        entry, _ = step_entry(n)
        for ref in (entry.ref,) + (() if guard_only else entry.also):
            if ref not in refs:
                refs.append(ref)
    floors = FLOORS[:1] if guard_only else FLOORS
    tools = [] if guard_only else [t for t in TOOLS if t.id != "crun-v1" or ctx.hide_v2]
    return ([ctx.row(r) for r in floors] + [ctx.step_row(n, b) for n, b in steps.items()]
            + [ctx.row(r) for r in refs + tools])
