"""Helpers for the step harness: run a step, watch it from the host, and
compare the host's state before and after.

Tests treat every step as a black box: they run ./step-NN with options and a
command, read what the command printed inside the container, and look at the
same container from the host (/proc/PID/status, /proc/PID/mountinfo, the
cgroup tree, the network links).
"""

import glob
import os
import re
import resource
import select
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _default_timeout_scale():
    """10 on a CPU that QEMU emulates in software (the course VM without
    KVM runs many times slower), else 1. LAB_TIMEOUT_SCALE overrides it."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return 1.0
    return 10.0 if "QEMU Virtual CPU" in cpuinfo or "QEMU TCG CPU" in cpuinfo else 1.0


TIMEOUT_SCALE = float(os.environ.get("LAB_TIMEOUT_SCALE") or _default_timeout_scale())


def scaled(seconds):
    """Every time limit goes through here, so slow machines can stretch them."""
    return seconds * TIMEOUT_SCALE


def step_sources():
    """{5: Path('steps/step-05-uts-hostname.c'), ...} for the steps that exist."""
    found = {}
    for path in sorted((REPO / "steps").glob("step-[0-9][0-9]-*.c")):
        found[int(path.name[5:7])] = path
    return found


def bin_dir():
    return Path(os.environ.get("LAB_BIN_DIR") or REPO)


def step_bin(step):
    return bin_dir() / f"step-{step:02d}"


def default_rootfs():
    return Path(os.environ.get("LAB_TEST_ROOTFS") or REPO / "rootfs" / "busybox")


def kernel_cannot_make_32bit_calls():
    """Why a 32-bit call (int $0x80 on x86-64) cannot be made on this kernel
    at all, filter or none, or "" when it can. Asked of the kernel from the
    host, with the rootfs's own helper and no container around it, so that
    nothing a step does can change the answer: a kernel built without
    IA32_EMULATION, or booted with ia32_emulation=0, ends such a call in
    SIGSEGV; there a seccomp filter's architecture check never sees one."""
    if os.uname().machine != "x86_64":
        return "only x86-64 has a 32-bit entry to try"
    global _IA32_ANSWER
    if _IA32_ANSWER is None:
        helper = default_rootfs() / "bin" / "syscalls"
        try:
            out = subprocess.run([str(helper), "--i386"], capture_output=True, text=True,
                                 timeout=10).stdout.strip()
        except OSError as e:
            out = f"cannot run {helper}: {e}"
        _IA32_ANSWER = "" if out == "i386: ok" else (
            f"this kernel cannot make 32-bit calls at all ({out!r} with no filter: "
            "IA32 emulation is off, see ia32_emulation= in the kernel's parameters)")
    return _IA32_ANSWER


_IA32_ANSWER = None


ROOT_ON_THE_HOST = 100000  # step 12's default map: 0 inside is 100000 outside


def container_root(step):
    """The host's uid of the container's root: 0 until step 12."""
    return ROOT_ON_THE_HOST if step >= 12 else 0


def give_to_container(path, step):
    """A host directory the container's root may write in (a volume): from
    step 12 on, root inside is an ordinary uid of the host."""
    os.chown(path, container_root(step), container_root(step))
    return path


def container_mounts(step):
    """The mount points every container of the step has, from the host's
    side: its root, its /proc, and what later steps add."""
    points = ["/", "/proc"]
    if step >= 12:  # a proc before pivot_root, and the host's device nodes
        points += ["/proc"] + [f"/dev/{d}" for d in ("null", "zero", "full", "random", "urandom", "tty")]
    if step >= 13:  # a read-only /sys, and the masked and read-only paths that exist here
        points.append("/sys")
        points += glob.glob("/sys/devices/system/cpu/cpu*/thermal_throttle")
        points += [p for p in ("/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore",
                               "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                               "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
                               "/sys/devices/virtual/powercap", "/proc/bus", "/proc/fs",
                               "/proc/irq", "/proc/sys", "/proc/sysrq-trigger") if Path(p).exists()]
    if step >= 9:  # the IPC namespace's mqueue, and the rest of Docker's /dev
        points += ["/dev/mqueue", "/dev/shm", "/dev/pts"]
    if step >= 10:
        points.append("/sys/fs/cgroup")
        version, _ = layout("cpu")
        if version == "v1":  # a tmpfs, and a hierarchy per controller below it
            points += [f"/sys/fs/cgroup/{Path(layout(c)[1]).name}" for c in ("cpu", "memory", "pids")]
    return sorted(points)


def base_args(step):
    """Options every run gets: the rootfs, where the binary may not find it
    by itself (a build outside the repository, such as a sanitizer build)."""
    if step >= 3 and bin_dir() != REPO:
        return ["--rootfs", str(default_rootfs())]
    return []


@dataclass
class Result:
    step: int
    argv: list
    rc: int
    out: str
    err: str
    wall: float
    cpu: float  # user+sys seconds of the step and everything it waited for
    pid: int = 0  # the step process's pid (the container's name is lab<pid>)

    def describe(self):
        """What a student needs to see when a check fails."""
        command = " ".join(self.argv)
        return (
            f"command: {command if len(command) < 300 else command[:300] + '...'}\n"
            f"exit status: {self.rc}\n"
            f"stdout: {self.out[-2000:]!r}\n"
            f"stderr: {self.err[-2000:]!r}"
        )

    @property
    def err_lines(self):
        """stderr without the narration lines."""
        return [l for l in self.err.splitlines() if not re.match(r"^step-\d\d \[", l)]


def _children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(step, *args, timeout=10, stdin=None, env=None, cwd=None, preexec=None, raw_args=False,
        pass_fds=()):
    """Runs ./step-NN [base args] ARGS to the end and returns a Result. A run
    that outlives its time limit is killed with its whole process group.
    pass_fds: descriptors the step starts with, as a shell's `exec 7</`."""
    argv = [str(step_bin(step))] + ([] if raw_args else base_args(step)) + [str(a) for a in args]
    return _run(step, argv, timeout, stdin, env, cwd, preexec, pass_fds)


def run_binary(step, binary, *args, timeout=10, preexec=None):
    """The same, with the step's binary at another place (a copy)."""
    return _run(step, [str(binary), *map(str, args)], timeout, None, None, None, preexec)


# What the harness puts in its own environment (pytest's, the seed, the
# matrix, the binaries' place, the time scale): a step must not be able to
# tell a test from a user's shell, so none of it reaches a step.
HARNESS_ENV = re.compile(r"^(PYTEST_|PYTHON|LAB_(SEED|MATRIX|BIN_DIR|TIMEOUT_SCALE|TEST_ROOTFS)$)")


def step_env(env=None):
    """The environment a step runs with: the shell's, without the harness's."""
    clean = {k: v for k, v in os.environ.items() if not HARNESS_ENV.match(k)}
    return dict(clean, **(env or {}))


def _run(step, argv, timeout, stdin, env, cwd, preexec, pass_fds=()):
    full_env = step_env(env)
    cpu0, t0 = _children_cpu(), time.monotonic()
    p = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=full_env,
        cwd=cwd,
        start_new_session=True,
        preexec_fn=preexec,
        pass_fds=pass_fds,
    )
    try:
        out, err = p.communicate(stdin.encode() if stdin is not None else None, timeout=scaled(timeout))
    except subprocess.TimeoutExpired:
        kill_group(p)
        out, err = p.communicate()
        raise AssertionError(
            f"step-{step:02d} did not finish within {scaled(timeout):.0f} s: {' '.join(argv)}\n"
            f"stdout so far: {out.decode(errors='replace')[-1000:]!r}\n"
            f"stderr so far: {err.decode(errors='replace')[-1000:]!r}"
        )
    return Result(step, argv, p.returncode, out.decode(errors="replace"),
                  err.decode(errors="replace"), time.monotonic() - t0, _children_cpu() - cpu0, p.pid)


def as_user(user):
    """A preexec_fn: the child runs as the user (a pwd entry), no groups."""
    def become():
        os.setgroups([])
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)
    return become


def run_as(user, binary, *args, timeout=10):
    """run_binary, as the user."""
    return run_binary(12, binary, *args, preexec=as_user(user), timeout=timeout)


def kill_group(p):
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class Running:
    """A step left running while the test looks at it from the host.

    The container's command should print a line the test waits for (by
    convention "ready") and then block reading stdin; finish() releases it.
    """

    def __init__(self, step, *args, env=None, cwd=None, raw_args=False, pass_fds=()):
        self.step = step
        self.argv = [str(step_bin(step))] + ([] if raw_args else base_args(step)) + [str(a) for a in args]
        self.p = subprocess.Popen(
            self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=step_env(env), cwd=cwd, start_new_session=True, pass_fds=pass_fds,
        )
        self.out = b""
        self.result = None
        self.cpu0 = _children_cpu()

    @property
    def pid(self):
        return self.p.pid

    def wait_for(self, marker="ready", timeout=10):
        """Reads stdout until a line equal to marker arrives."""
        deadline = time.monotonic() + scaled(timeout)
        while (marker + "\n").encode() not in self.out:
            left = deadline - time.monotonic()
            chunk = None
            if left > 0 and select.select([self.p.stdout], [], [], min(left, 0.2))[0]:
                chunk = os.read(self.p.stdout.fileno(), 65536)
                self.out += chunk
            if left <= 0 or chunk == b"":  # out of time, or the step ended
                err = self._drain_err()
                self.kill()
                raise AssertionError(
                    f"the container should have printed {marker!r} and then waited; it did not\n"
                    f"command: {' '.join(self.argv)}\n"
                    f"exit status: {self.p.returncode}\nstdout: {self.out.decode(errors='replace')!r}\n"
                    f"stderr: {err!r}")
        return self.out.decode(errors="replace")

    def _drain_err(self):
        try:
            self.p.wait(timeout=1)
            return self.p.stderr.read().decode(errors="replace")
        except subprocess.TimeoutExpired:
            return "(still running)"

    def child_pid(self):
        """The container's PID 1, as the host numbers it."""
        deadline = time.monotonic() + scaled(5)
        while time.monotonic() < deadline:
            try:
                kids = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
            except FileNotFoundError:
                kids = []
            if kids:
                return int(kids[0])
            time.sleep(0.01)
        raise AssertionError(f"step-{self.step:02d} (pid {self.pid}) has no child process")

    def descendant(self, comm):
        """The first process named comm (its /proc comm) below the step's
        process: the process that runs the user's command, found from the
        host, whatever init (or pod infra) a step puts beside or above it."""
        self.child_pid()  # the container has started
        todo = [int(k) for k in Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()]
        while todo:
            pid = todo.pop(0)
            try:
                if Path(f"/proc/{pid}/comm").read_text().strip() == comm:
                    return pid
                todo += [int(k) for k in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
            except FileNotFoundError:
                continue
        raise AssertionError(f"step-{self.step:02d}: no process {comm!r} in the container")

    def finish(self, stdin="\n", timeout=10):
        """Lets the command go on, waits for the end; returns a Result."""
        t0 = time.monotonic()
        # A step that ended early (wait_for killed it and said why): nothing
        # to send, and no second error in a `finally` to hide the first.
        send = stdin.encode() if self.p.poll() is None and not self.p._communication_started else None
        try:
            out, err = self.p.communicate(send, timeout=scaled(timeout))
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"step-{self.step:02d} did not finish: {' '.join(self.argv)}")
        self.result = Result(self.step, self.argv, self.p.returncode,
                             (self.out + out).decode(errors="replace"),
                             err.decode(errors="replace"), time.monotonic() - t0,
                             _children_cpu() - self.cpu0, self.p.pid)
        return self.result

    def wait(self, timeout=10):
        return self.finish(stdin="", timeout=timeout)

    def kill(self):
        kill_group(self.p)
        try:
            self.p.communicate(timeout=scaled(5))
        except (subprocess.TimeoutExpired, ValueError):
            pass


def nspid(pid):
    """The NSpid line of /proc/PID/status: the pid in each PID namespace,
    from the host's outwards in."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("NSpid:"):
            return [int(x) for x in line.split()[1:]]
    raise AssertionError(f"no NSpid in /proc/{pid}/status")


def proc_status(pid):
    """/proc/PID/status as the host reads it: {"CapEff": "...", "Seccomp": "2", ...}."""
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


def seccomp_verdicts(pid, *calls):
    """What the seccomp filters of process pid answer to each call (names and
    arguments of rootfs/helpers/calls.h): {"mount": "ERRNO EPERM", "getpid":
    "ALLOW", ...}, read from the host with ptrace and run there
    (tests/helpers/seccomp-verdicts.c), so that nothing the container holds
    can forge them; {} when the process has no filter. Skips the test where
    the kernel cannot hand a filter out (no CONFIG_CHECKPOINT_RESTORE)."""
    import pytest  # only the tests skip; the tools that use this module do not

    r = subprocess.run([str(REPO / "build" / "seccomp-verdicts"), str(pid), *calls],
                       capture_output=True, text=True, timeout=scaled(10))
    if r.returncode == 2 and "PTRACE_SECCOMP_GET_FILTER" in r.stderr:
        pytest.skip(f"this kernel cannot show a filter to the host: {r.stderr.strip()}")
    assert r.returncode in (0, 3), f"seccomp-verdicts {pid}: {r.stderr.strip()}"
    return {} if r.returncode == 3 else dict(l.split(": ", 1) for l in r.stdout.splitlines()[1:])


def ns_id(pid, kind):
    return os.readlink(f"/proc/{pid}/ns/{kind}")


# ---- the host's state -----------------------------------------------------------

def mount_table(pid="self"):
    """The mounts as a multiset of comparable tuples. Peer-group numbers are
    dropped (they change when nothing meaningful did); the tags stay."""
    table = Counter()
    for line in Path(f"/proc/{pid}/mountinfo").read_text().splitlines():
        left, right = line.split(" - ", 1)
        f = left.split()
        tags = tuple(sorted(t.split(":")[0] for t in f[6:]))
        table[(f[4], f[3], f[5], tags, right)] += 1
    return table


def cgroup_roots():
    """The mount points of every cgroup hierarchy."""
    roots = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, right = line.split(" - ", 1)
        if right.split()[0] in ("cgroup", "cgroup2"):
            roots.append(left.split()[4])
    return roots


def lab_cgroups():
    """Every directory named lab* at the top of a cgroup hierarchy, and
    everything below it."""
    found = set()
    for root in cgroup_roots():
        try:
            tops = [e for e in os.scandir(root) if e.is_dir() and e.name.startswith("lab")]
        except OSError:
            continue
        for top in tops:
            for dirpath, _, _ in os.walk(top.path):
                found.add(dirpath)
    return found


def links():
    return set(os.listdir("/sys/class/net"))


RUN_DIR = Path("/run/lab")


def lab_state():
    """What the lab keeps under /run/lab: the containers' layers (11+)."""
    if not RUN_DIR.is_dir():
        return set()
    return {str(p) for p in RUN_DIR.rglob("*") if len(p.relative_to(RUN_DIR).parts) <= 2}


@dataclass
class HostState:
    mounts: Counter = field(default_factory=Counter)
    cgroups: set = field(default_factory=set)
    links: set = field(default_factory=set)
    hostname: str = ""
    state: set = field(default_factory=set)

    @classmethod
    def now(cls):
        return cls(mount_table(), lab_cgroups(), links(), os.uname().nodename, lab_state())

    def diff(self, later):
        """What changed, one line per difference, for the failure message."""
        lines = []
        for m in sorted((later.mounts - self.mounts).elements()):
            lines.append(f"new mount: {m[0]} ({m[4]})")
        for m in sorted((self.mounts - later.mounts).elements()):
            lines.append(f"mount gone or changed: {m[0]} ({m[4]})")
        lines += [f"new cgroup: {c}" for c in sorted(later.cgroups - self.cgroups)]
        lines += [f"cgroup gone: {c}" for c in sorted(self.cgroups - later.cgroups)]
        lines += [f"new network link: {l}" for l in sorted(later.links - self.links)]
        lines += [f"network link gone: {l}" for l in sorted(self.links - later.links)]
        if self.hostname != later.hostname:
            lines.append(f"hostname changed: {self.hostname!r} -> {later.hostname!r}")
        lines += [f"left under {RUN_DIR}: {p}" for p in sorted(later.state - self.state)]
        return lines


def restore(before):
    """Removes what a failed step left on the host, so that the next test
    starts clean: new mounts, lab cgroups, new links; the hostname back."""
    now = HostState.now()
    for name in sorted(now.links - before.links):
        subprocess.run(["ip", "link", "del", name], capture_output=True)
    for path in sorted(now.cgroups - before.cgroups, key=len, reverse=True):
        _remove_cgroup(path)
    new_mounts = {m[0] for m in (now.mounts - before.mounts)}
    for mnt in sorted(new_mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", mnt], capture_output=True)
    if now.hostname != before.hostname:
        subprocess.run(["hostname", before.hostname], capture_output=True)
    for path in sorted(now.state - before.state, key=len, reverse=True):
        subprocess.run(["rm", "-rf", "--one-file-system", path], capture_output=True)


def _remove_cgroup(path):
    for _ in range(100):
        try:
            for pid in Path(path, "cgroup.procs").read_text().split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)


def wait_until(predicate, timeout=5, interval=0.01):
    deadline = time.monotonic() + scaled(timeout)
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


# ---- network ----------------------------------------------------------------------

BUSYBOX = REPO / "rootfs" / "busybox" / "bin" / "busybox"

# Prints the container's eth0 address and its gateway (the host's end).
SHOW_NET = ("echo addr=$(ip -o -4 addr show dev eth0 | awk '{print $4}'); "
            "echo gw=$(ip route | awk '/default/ {print $3}'); ")


def parse_net(out):
    """{'addr': '10.200.1.2/30', 'gw': '10.200.1.1'} from SHOW_NET's lines."""
    found = {}
    for line in out.splitlines():
        for key in ("addr", "gw"):
            if line.startswith(key + "="):
                found[key] = line.split("=", 1)[1].strip()
    return found


def ping_from_host(address, timeout=2):
    """One ping from the host to an address of a veth pair the test made."""
    r = subprocess.run([str(BUSYBOX), "ping", "-c1", f"-W{int(scaled(timeout))}", address],
                       capture_output=True, text=True)
    return r.returncode == 0


def host_addresses(link):
    r = subprocess.run(["ip", "-o", "-4", "addr", "show", "dev", link], capture_output=True, text=True)
    return [line.split()[3] for line in r.stdout.splitlines()]


# ---- cgroups ----------------------------------------------------------------------

def layout(controller):
    """('v1', '/sys/fs/cgroup/cpu') or ('v2', '/sys/fs/cgroup'): where this
    machine's controller is, found the way the lab finds it."""
    v2 = None
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, right = line.split(" - ", 1)
        fstype, _, superopts = right.split()[:3]
        mnt = left.split()[4]
        if fstype == "cgroup" and controller in superopts.split(","):
            return "v1", mnt
        if fstype == "cgroup2" and v2 is None:
            try:
                if controller in Path(mnt, "cgroup.controllers").read_text().split():
                    v2 = mnt
            except OSError:
                pass
    return ("v2", v2) if v2 else (None, None)


def cpu_layout():
    return layout("cpu")


def group_dir(controller, pid):
    """The container's group in the controller's hierarchy: lab/<pid>."""
    version, root = layout(controller)
    assert version, f"no {controller} controller on this machine"
    return Path(root, "lab", str(pid))


def cpu_limit(group):
    """(quota_us or None, period_us) as the group's files say."""
    version, _ = cpu_layout()
    if version == "v2":
        quota, period = Path(group, "cpu.max").read_text().split()
        return (None if quota == "max" else int(quota)), int(period)
    quota = int(Path(group, "cpu.cfs_quota_us").read_text())
    return (None if quota < 0 else quota), int(Path(group, "cpu.cfs_period_us").read_text())


def memory_limits(pid):
    """(memory, memory+swap) of the container's group, in bytes, as docker
    run's --memory and --memory-swap mean them: None for no limit, "n/a"
    for a swap limit this kernel's controller does not have."""
    version, _ = layout("memory")
    d = group_dir("memory", pid)
    def number(name):
        text = Path(d, name).read_text().strip()
        return None if text in ("max", "-1") or int(text) >= 2**62 else int(text)
    if version == "v2":
        memory = number("memory.max")
        if not Path(d, "memory.swap.max").exists():
            return memory, "n/a"
        swap = number("memory.swap.max")
        return memory, None if swap is None or memory is None else memory + swap
    memory = number("memory.limit_in_bytes")
    if not Path(d, "memory.memsw.limit_in_bytes").exists():
        return memory, "n/a"
    return memory, number("memory.memsw.limit_in_bytes")


def pids_limit(pid):
    text = Path(group_dir("pids", pid), "pids.max").read_text().strip()
    return None if text == "max" else int(text)


def oom_kills(pid):
    version, _ = layout("memory")
    name = "memory.events" if version == "v2" else "memory.oom_control"
    for line in Path(group_dir("memory", pid), name).read_text().splitlines():
        if line.startswith("oom_kill "):
            return int(line.split()[1])
    return 0


def memory_limits_supported_swap():
    """Whether this kernel's memory controller limits swap (v1: memsw files;
    v2: memory.swap.max, on any group but the root)."""
    version, root = layout("memory")
    if version == "v1":
        return Path(root, "memory.memsw.limit_in_bytes").exists()
    candidates = [Path(root)] + [d for d in Path(root).iterdir() if d.is_dir()]
    return any(Path(d, "memory.swap.max").exists() for d in candidates)


def delegated_cgroup_possible():
    """Whether cgroup v2 holds the pids controller here, so that a group can
    be delegated to a user (systemd's user sessions; the course VM)."""
    return layout("pids")[0] == "v2"


# ---- named containers and exec (15+) -----------------------------------------------

RECORDS = RUN_DIR / "containers"
_names = iter(range(1, 1 << 30))


def unique_name(prefix="c"):
    """A container name no other test of this run uses."""
    return f"{prefix}{os.getpid()}-{next(_names)}"


def record(name):
    """The record of the container NAME as a dict ({} if there is none);
    keys that repeat (cgroup, env) map to lists."""
    try:
        text = (RECORDS / name).read_text()
    except FileNotFoundError:
        return {}
    found = {}
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key in ("cgroup", "env"):
            found.setdefault(key, []).append(value)
        else:
            found[key] = value
    return found


def wait_recorded(name, timeout=10):
    """Waits until the container NAME is set up: its record names its PID 1."""
    assert wait_until(lambda: record(name).get("pid", "0") != "0", timeout=timeout), (
        f"the container {name} was never recorded under {RECORDS}: {record(name)}")
    return int(record(name)["pid"])


def process_alive(pid):
    """Whether pid runs (a zombie does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return False


def exec_in(step, name, *command, options=(), timeout=10, stdin=None, pass_fds=()):
    """./step-NN exec [OPTIONS] NAME COMMAND... to the end (a Result)."""
    return run(step, "exec", *options, name, *command, timeout=timeout, stdin=stdin, raw_args=True,
               pass_fds=pass_fds)
