"""What the benchmark runs: each step with the options that exercise its
mechanism, the command it must not be slower than (its reference), and the
other runtimes.

Adding a step is one entry in STEPS: its options, its reference (one of the
Refs below, or a new one written in the entry) and, optionally, rows shown
beside it for context, and a container of the step kept running while the
rows are measured (for exec, or a pod to join); e.g. a step 17 whose
reference is step 16's plus a --seal option of bench/ref/container.sh:

    17: Step(STEP_16 + " --seal",
             shell("shell-seal", "ref 16 + seal (shell)", OPTS_16 + " --seal",
                   "as step 16's reference, plus ..."),
             also=(POD_JOIN,)),

A step without an entry gets the entry of the highest step below it, and the
report says so. Commands are templates, split like a shell line and then
filled in: {rootfs}, {vol} (step 08's volume), {fifos} (container.sh's named
pipes), {container_sh}, {cgroup} and {cgroup_version} (the cpu controller's
hierarchy), {memory_cgroup} and {pids_cgroup}, {layers} (empty image layers
1, 2, ...), {seccomp} (step 14's filter, as BPF), {bin} (where the steps
are), {lab_run} (the lab's /run/lab), {bundles} (the OCI bundles),
{run_id}, and what the background containers give: {exec_pid} and
{exec_groups} (step 15's running container's PID 1 and groups).
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
    vs: tuple = ()      # rows a context row is compared with (its own references)


@dataclass(frozen=True)
class Background:
    """A container of the step kept running while the rows are measured:
    `./step-NN -q OPTS`, up once its record NAME is written. With a key,
    its PID 1 and its groups fill {KEY_pid} and {KEY_groups}; with stop,
    `./step-NN STOP` ends it (else SIGTERM does)."""
    opts: str
    name: str
    key: str = ""
    stop: str = ""


@dataclass(frozen=True)
class Step:
    opts: str = ""      # between `./step-NN -q` and `/bin/true`
    ref: Ref = None     # the regression guard compares with it
    also: tuple = ()    # rows shown beside it for context
    background: Background = None
    cmd: str = ""       # the whole command instead (step 17: an OCI runtime's run)


def shell(id, label, opts, note, kind="ref"):
    """A row of bench/ref/container.sh with these options."""
    return Ref(id, label, f"sh {{container_sh}} {opts} {{fifos}} {{rootfs}}", note, kind)


def chrooted(flags=""):
    """unshare with a PID and a mount namespace (and flags), then chroot(8)."""
    return f"unshare --pid --fork --mount-proc={{rootfs}}/proc {flags}chroot {{rootfs}} /bin/true"


PID = Ref("unshare-pid", "unshare: PID ns", "unshare --pid --fork /bin/true",
          "same work as step 01")
PID_MNT = Ref("unshare-pid-mnt", "unshare: PID+mount ns, fresh /proc",
              "unshare --pid --fork --mount-proc /bin/true",
              "same work as step 02 (unshare makes / rprivate too)")
CHROOT = Ref("unshare-chroot", "unshare + chroot", chrooted(),
             "same namespaces plus chroot(8): the issue's reference for 03-04")
ROOT = Ref("unshare-root", "unshare --root (one exec fewer)",
           "unshare --pid --fork --mount-proc --root={rootfs} /bin/true",
           "unshare's own chroot, without exec'ing chroot(8): for context only", kind="info")
UTS = Ref("unshare-uts", "unshare + UTS ns + chroot", chrooted("--uts "),
          "same work as step 05 (without sethostname, a few µs)")
NETNS = Ref("unshare-n", "unshare -n (netns, no veth)", chrooted("--uts --net "),
            "an empty network namespace: the netns step is also compared with it", kind="info")
# bench/ref/container.sh does the rest of a step's work as a shell script would.
NET = shell("shell-net", "unshare + ip veth (shell)", "--net",
            "bench/ref/container.sh: unshare -n, then `ip -batch` for the veth, addresses, routes "
            "on both sides; `ip link del` of the host end after the container exits (a step "
            "deletes it too)")
NET_LEAVE = shell("shell-net-leave", "unshare + ip veth, removal left to the kernel (shell)",
                  "--net --leave-veth",
                  "as above, but returns without deleting the veth pair: the kernel removes it "
                  "with the network namespace, after the script has returned")
CG = "--cgroup {cgroup} --cgroup-version {cgroup_version}"
CGROUP = shell("shell-cg", "unshare -n + cgroup write (shell)", "--netns " + CG,
               "container.sh: unshare -n (lo up), mkdir + cpu quota + cgroup.procs write + rmdir: "
               "step 07's work without --net")
OPTS_08 = "--netns " + CG + " --volume {vol}"
CGROUP_VOL = shell("shell-cg-vol", "unshare -n + cgroup + bind mount (shell)", OPTS_08,
                   "as above, plus a bind mount of $VOL on rootfs/busybox/mnt (the script's "
                   "fstab, one `mount --all`): step 08's work without --net")
NET_CGROUP = shell("shell-net-cg", "unshare + ip veth + cgroup write (shell)", "--net " + CG,
                   "as above, plus mkdir + cpu quota + cgroup.procs write + rmdir")
NET_CGROUP_VOL = shell("shell-net-cg-vol", "unshare + ip veth + cgroup + bind mount (shell)",
                       "--net " + CG + " --volume {vol}",
                       "as above, plus a bind mount of $VOL on rootfs/busybox/mnt")

# The steps' options: 08's volume and CPU cap, 10's limits on top; 15 and 16
# add theirs. Step 15's exec goes into EXEC_NAME, and 16 joins the pod POD:
# both kept running in the background (Step.background).
OPTS = "--cpus 0.5 -v {vol}:/mnt"
LIMITED = OPTS + " -m 64m --pids-limit 64"
EXEC_NAME = "bench-exec-{run_id}"
POD = "bench-pod-{run_id}"
SLEEP = " /bin/sleep 100000"
STEP_15 = LIMITED + " --init --name bench15-{run_id}"
STEP_16 = LIMITED + " --init --pod " + POD
MAX_LAYERS = 20

# Steps 09-16: each reference is the one before, plus the shell's way to do
# what the step adds (bench/ref/container.sh's options say how).
OPTS_09 = OPTS_08 + " --ipc"
IPC = shell("shell-ipc", "ref 08 + IPC ns, mqueue (shell)", OPTS_09,
            "step 08's reference in an IPC namespace too, with a new mqueue on /dev/mqueue "
            "(one more fstab line)")
OPTS_10 = (OPTS_09 + " --memory-cgroup {memory_cgroup} --memory 67108864 --pids-cgroup "
           "{pids_cgroup} --pids-limit 64 --cgroupns")
LIMITS = shell("shell-limits", "ref 09 + memory, pids limits, cgroup ns (shell)", OPTS_10,
               "as above, plus a group under the memory and the pids hierarchies (on cgroup v2 "
               "the one group) with 64m of memory (as much swap again) and 64 processes, joined "
               "before unshare, which makes a cgroup namespace; a read-only view of the groups "
               "on /sys/fs/cgroup (v1: a tmpfs, one cgroup mount per hierarchy, remounted "
               "read-only; v2: cgroup2)")
OPTS_11 = OPTS_10 + " --overlay"
OVERLAY = shell("shell-overlay", "ref 10 + overlay of the rootfs (shell)", OPTS_11,
                "as above, on an overlay: the rootfs as the image layer under an init layer "
                "(/etc/hostname, hosts, resolv.conf written by the script) and a fresh upper and "
                "work dir (one mkdir, one rm -rf at the end); proc mounted from the fstab, as "
                "the root exists only once the overlay is mounted")
OPTS_12 = OPTS_11 + " --userns"
USERNS = shell("shell-userns", "ref 11 + user ns 0:100000:65536 (shell)", OPTS_12,
               "as above, in a user namespace: `unshare --user --map-users=100000,0,65536 "
               "--map-groups=... --setuid 0 --setgid 0` (its newuidmap and newgidmap are "
               "bench/ref/idmap's, which write the maps without the /etc/subuid check that "
               "refuses root here; setgroups stays allowed, unshare --setgid needs it); "
               "the container's layers chowned to 100000, the overlay with userxattr, and the "
               "host's /dev/null, zero, full, random, urandom, tty bound in. Less work than the "
               "step: no idmapped layers (util-linux 2.38's mount has no X-mount.idmap), so "
               "the image's files are nobody's inside and a write into its directories fails "
               "(EOVERFLOW); the step makes a user namespace for the idmap and clones each "
               "layer's mount through it")
OPTS_13 = OPTS_12 + " --masks"
CAPS = shell("shell-caps", "ref 12 + masked paths, setpriv caps (shell)", OPTS_13 + " --caps",
             "as above, plus a read-only sysfs, runc's masked paths (/dev/null or an empty "
             "read-only tmpfs over each that exists) and read-only ones of /proc (fstab lines); "
             "`setpriv --bounding-set=-all,+chown,... --inh-caps=-all --no-new-privs` before "
             "chroot: Docker's 14 capabilities")
OPTS_14 = OPTS_13 + " --seccomp {seccomp}"
SECCOMP = shell("shell-seccomp", "ref 13 + seccomp, bwrap for setpriv (shell)", OPTS_14,
                "as above, but `bwrap --dev-bind ROOT / --cap-drop ALL --cap-add ... --seccomp "
                "5` in place of setpriv and chroot: the same 14 capabilities, no_new_privs, and "
                "step 14's filter (98 instructions, written once by bench/seccomp.c): no other "
                "shell tool loads one. bwrap does more: a mount namespace of its own, a tmpfs "
                "it pivots to, a recursive bind of the root (remounted nosuid), and a fork; it "
                "keeps the bounding set (no_new_privs caps what an exec gives)")
OPTS_15 = OPTS_14 + " --init --name bench-ref"
INIT = shell("shell-init", "ref 14 + init, record (shell)", OPTS_15,
             "as above, but the container's shell stays PID 1 and runs bwrap as its child; a "
             "record $FIFOS/bench-ref claimed with noclobber before the start, the container's "
             "pid written into it, removed at the end (with the layers, the same rm)")
OPTS_16 = OPTS_15 + " --pod {lab_run}/pods/" + POD
POD_JOIN = shell("shell-pod", "ref 15 in a pod: nsenter + unshare (shell)", OPTS_16,
                 "as above, but in the pod's user, network, IPC and UTS namespaces: "
                 "container.sh reads the infra's pid from the pod's record, then "
                 "`nsenter --target INFRA --user --net --ipc --uts unshare --pid --fork --mount "
                 "--cgroup ...`: no namespace of those four made, no id maps, no lo up")
NSENTER = Ref("nsenter", "nsenter -a (into step 15's container)",
              "nsenter --target {exec_pid} --all /bin/true",
              "into every namespace of step 15's running container (its user namespace "
              "first, then uid 0 there): no group joined, no capability dropped, no filter",
              kind="info")
NSENTER_GROUPS = Ref("nsenter-groups", "its groups, then nsenter -a (shell)",
                     "sh -c 'IFS=:; for g in $0; do echo 0 >\"$g/cgroup.procs\"; done; "
                     "exec nsenter --target \"$1\" --all /bin/true' {exec_groups} {exec_pid}",
                     "as above, after joining the container's groups as exec does (a "
                     "cgroup.procs write in each)", kind="info")
EXEC = Ref("step-15-exec", "step-15 exec", "{bin}/step-15 exec " + EXEC_NAME + " /bin/true",
           "docker exec, into a container that runs (started with step 15's options around "
           "/bin/sleep): its namespaces through a pidfd, its groups and cgroup namespace, its "
           "root, capabilities and filter", kind="info", vs=(NSENTER, NSENTER_GROUPS))



def layers(n):
    """Step 11's row with n image layers: the rootfs at the bottom, n - 1
    empty ones above it."""
    above = "".join(f" --layer {{layers}}/{i}" for i in range(1, n))
    return Ref(f"step-11-{n}-layers", f"step-11, {n} layers",
               f"{{bin}}/step-11 -q {LIMITED} --layer {{rootfs}}{above} /bin/true",
               f"step 11's row with {n} image layers: the rootfs, and {n - 1} empty "
               "directories above it", kind="info")


STEPS = {
    1: Step(ref=PID),
    2: Step(ref=PID_MNT),
    3: Step(ref=CHROOT, also=(ROOT,)),
    # pivot_root(8) cannot be done by unshare(1) alone; the reference
    # for 01-05 is "the same namespaces, plus chroot".
    4: Step(ref=CHROOT, also=(ROOT,)),
    5: Step(ref=UTS),
    6: Step("--network bridge", NET, also=(NETNS, NET_LEAVE)),
    # As issue 9 asks: 07 with its CPU cap, 08 with its volume (and the cap:
    # then it does what the runc bundle does, which has both and no veth).
    7: Step("--cpus 0.5", CGROUP, also=(NETNS, NET_CGROUP)),
    8: Step(OPTS, CGROUP_VOL, also=(NETNS, NET_CGROUP_VOL)),
    # 09-14: what each adds is always on; 10 adds its limits to the options.
    9: Step(OPTS, IPC, also=(CGROUP_VOL,)),
    10: Step(LIMITED, LIMITS, also=(IPC,)),
    11: Step(LIMITED, OVERLAY, also=(LIMITS, layers(5), layers(MAX_LAYERS))),
    12: Step(LIMITED, USERNS, also=(OVERLAY,)),
    13: Step(LIMITED, CAPS, also=(USERNS,)),
    14: Step(LIMITED, SECCOMP, also=(CAPS,)),
    15: Step(STEP_15, INIT, also=(SECCOMP, EXEC),
             background=Background(LIMITED + " --init --name " + EXEC_NAME + SLEEP, EXEC_NAME,
                                   key="exec")),
    # A container joining a pod that runs: one member waits in the background.
    16: Step(STEP_16, POD_JOIN, also=(INIT,),
             background=Background(STEP_16 + " --name " + POD + "-member" + SLEEP,
                                   POD + "-member", stop="pod rm " + POD)),
    # An OCI runtime: run on a bundle of its own, the same config.json as
    # runc's and crun's rows (bench/run.py, oci_bundle).
    17: Step(cmd="run --bundle {bundles}/step-17 bench-17-{run_id}"),
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
        "bwrap --unshare-all --bind {rootfs} / --proc /proc --bind {vol} /mnt /bin/true",
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

# Step 17 is an OCI runtime: its reference is crun (issue 31: at most 0.8x
# crun's median), crun-v1 where crun needs the v2 side hidden; runc beside.
STEPS[17] = Step(cmd=STEPS[17].cmd, ref=TOOLS[2], also=(TOOLS[1],))
OCI_TARGET_RATIO = 0.8

# The targets of issue 9.
TARGET_RATIO = 0.8      # steps 01-05: at most this times unshare's median
GUARD_RATIO = 1.0       # every step: the regression guard fails above this
TARGET_RATIO_STEPS = range(1, 6)
RUNC_FACTOR = 5.0       # HEADLINE_STEP: at least this many times faster than runc
HEADLINE_STEP = 8       # and faster than bubblewrap: issue 9's last step


def step_entry(n):
    """(Step, inherited_from): step n's entry, or that of the highest step below it."""
    m = max(s for s in STEPS if s <= n)
    return STEPS[m], (None if m == n else m)


class Context:
    """The values the templates are filled in with, for running and for the
    table (paths shortened to the names the docs explain). work is the run's
    directory (bench/run.py's workspace), cgroups the controllers'
    hierarchies ({"cpu": (version, dir), ...})."""

    SHOWN = dict(vol="$VOL", fifos="$FIFOS", bundles="$BUNDLES", cgroup="$CPU_CGROUP",
                 memory_cgroup="$MEMORY_CGROUP", pids_cgroup="$PIDS_CGROUP", layers="$LAYERS",
                 seccomp="$FILTER", bin=".", container_sh="bench/ref/container.sh")

    def __init__(self, rootfs, work, cgroups, hide_v2, run_id, bin_dir, lab_run):
        self.hide_v2 = hide_v2
        version, cpu = cgroups.get("cpu") or (None, None)
        work = Path(work)
        values = dict(rootfs=rootfs, vol=work / "vol", fifos=work / "fifo", bundles=work / "oci",
                      layers=work / "layers", seccomp=work / "seccomp.bpf", cgroup=cpu or "-",
                      cgroup_version=version or 0, run_id=run_id, bin=bin_dir, lab_run=lab_run,
                      container_sh=REPO / "bench" / "ref" / "container.sh",
                      **{f"{c}_cgroup": (cgroups.get(c) or (None, "-"))[1]
                         for c in ("memory", "pids")})
        self.values = {k: str(v) for k, v in values.items()}
        self.shown = dict(self.values, **self.SHOWN)
        if Path(rootfs).is_relative_to(REPO):
            self.shown["rootfs"] = str(Path(rootfs).relative_to(REPO))

    def add(self, **values):
        """Values known only once the background containers run."""
        for k, v in values.items():
            self.values[k], self.shown[k] = str(v), f"${k.upper()}"

    def argv(self, template):
        return [word.format(**self.values) for word in shlex.split(template)]

    def fill(self, template):
        return template.format(**self.values)

    def row(self, ref):
        """One row of the results, as bench/run.py measures it."""
        return {"id": ref.id, "kind": ref.kind, "label": ref.label,
                "display": ref.cmd.format(**self.shown), "note": ref.note, "step": None,
                "argv": self.argv(ref.cmd), "wrap": self.argv(ref.wrap) or None,
                "needs_cgroup": "_cgroup}" in ref.cmd or "{cgroup}" in ref.cmd}

    def step_row(self, n, binary):
        entry, inherited = step_entry(n)
        opts = f" {entry.opts}" if entry.opts else ""
        cmd = f"./{Path(binary).name} -q{opts} /bin/true"
        if entry.cmd:
            cmd = f"./{Path(binary).name} {entry.cmd}"
        row = self.row(Ref(f"step-{n:02d}", f"step-{n:02d}", cmd, kind="step"))
        row["argv"][0], row["step"] = str(binary), n
        if inherited:
            row["note"] = f"options and reference of step {inherited:02d}"
        return row


def rows(steps, ctx, guard_only=False):
    """The rows to measure, in the table's order: the floors, the steps
    ({n: binary}), their references and context rows (each followed by
    what it is compared with), the other runtimes."""
    refs = []
    for n in steps:
        entry, _ = step_entry(n)
        for ref in ((entry.ref,) if entry.ref else ()) + (() if guard_only else entry.also):
            for r in (ref,) + ref.vs:
                if r not in refs:
                    refs.append(r)
    floors = FLOORS[:1] if guard_only else FLOORS
    tools = [] if guard_only else [t for t in TOOLS if t.id != "crun-v1" or ctx.hide_v2]
    # A step compared with crun needs crun-v1 where crun refuses the cgroups.
    if guard_only and ctx.hide_v2 and any(r.id == "crun" for r in refs):
        tools = [t for t in TOOLS if t.id == "crun-v1"]
    tools = [t for t in tools if t not in refs]
    return ([ctx.row(r) for r in floors] + [ctx.step_row(n, b) for n, b in steps.items()]
            + [ctx.row(r) for r in refs + tools])


def backgrounds(steps):
    """{n: Background} of the steps' own entries (an inherited entry's
    container would be the same container again)."""
    return {n: step_entry(n)[0].background for n in steps
            if step_entry(n)[0].background and step_entry(n)[1] is None}
