"""Step 17: an OCI runtime, driven as runc is.

An OCI bundle is a directory with config.json and a rootfs. `create ID`
builds the whole container and leaves its process waiting, before the
program, on the FIFO root/ID/exec.fifo; the runtime exits. `start ID`, a
new process later, releases it. `state ID` prints the runtime-spec's state
(created, running, stopped), `kill ID SIGNAL` signals it, `delete ID`
removes what create made; `run` is all of it in one process. From the
host: create returns with the process alive and not yet running its
program; the pid file holds its pid; start makes it run; delete leaves no
state, group or process. Every refusal is runc's: exit 1 and its message.
config.json is honoured field by field (hostname, env, cwd, user, rlimits,
capabilities, mounts, masked and read-only paths, namespaces by path,
sysctl, cgroupsPath and limits, seccomp), and a field the lab does not
implement is refused by name.
"""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

import labtest
from labtest import unique_name

OCI_ROOT = labtest.RUN_DIR / "oci"


def base_config(args):
    """runc spec's config, for the lab's busybox rootfs."""
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {s: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
                             for s in ("bounding", "effective", "permitted")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "oci",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
        ],
        "linux": {
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
            "maskedPaths": ["/proc/kcore", "/proc/keys", "/sys/firmware"],
            "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger"],
        },
    }


class Bundle:
    """A bundle in a test's directory, and the runtime's commands on it."""

    def __init__(self, step, tmp_path, rootfs_copy, args=("true",), edit=None):
        self.step = step
        self.dir = tmp_path / "bundle"
        self.dir.mkdir()
        os.rename(rootfs_copy, self.dir / "rootfs")
        self.id = unique_name("oci")
        self.config = base_config(list(args))
        if edit:
            edit(self.config)
        self.write()

    def write(self):
        (self.dir / "config.json").write_text(json.dumps(self.config, indent=1))

    def cmd(self, *args, timeout=10, stdin=None):
        return labtest.run(self.step, *args, timeout=timeout, stdin=stdin, raw_args=True)

    def create(self, *opts):
        """create: the container's process keeps create's stdout and stderr,
        so they are files here, read once create has exited (as
        runtime-tools does; conmon and containerd's shim pass pipes they
        keep reading)."""
        out, err = self.dir / "create.out", self.dir / "create.err"
        argv = [str(labtest.step_bin(self.step)), "create", "--bundle", str(self.dir),
                *map(str, opts), self.id]
        with open(out, "w") as o, open(err, "w") as e:
            t0 = time.monotonic()
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=o, stderr=e,
                               env=labtest.step_env(), timeout=labtest.scaled(10))
        return labtest.Result(self.step, argv, p.returncode, out.read_text(), err.read_text(),
                              time.monotonic() - t0, 0)

    def state(self):
        r = self.cmd("state", self.id)
        assert r.rc == 0, r.describe()
        return json.loads(r.out)

    def status(self):
        return self.state()["status"]

    def wait_status(self, wanted, timeout=5):
        assert labtest.wait_until(lambda: self.status() == wanted, timeout=labtest.scaled(timeout)), \
            f"state of {self.id} is {self.status()}, never {wanted}"

    def cleanup(self):
        self.cmd("delete", "--force", self.id)


@pytest.fixture
def bundle(step, tmp_path, rootfs_copy):
    made = []

    def make(args=("true",), edit=None):
        b = Bundle(step, tmp_path, rootfs_copy, args, edit)
        made.append(b)
        return b

    yield make
    for b in made:
        b.cleanup()


def refused(r, message):
    assert r.rc == 1, f"runc's exit status for a refusal is 1\n{r.describe()}"
    assert message in r.err, f"runc's message {message!r} expected\n{r.describe()}"
    assert len(r.err_lines) == 1, f"one line on stderr\n{r.describe()}"


# ---- run: the whole life in one command ----------------------------------------


def test_run_passes_the_program_and_its_exit_status(step, bundle):
    b = bundle(["sh", "-c", "echo hello from $(hostname); exit 3"])
    r = b.cmd("run", "--bundle", b.dir, b.id)
    assert r.rc == 3, r.describe()
    assert r.out == "hello from oci\n", r.describe()
    assert r.err == "", f"an OCI runtime prints no narration\n{r.describe()}"
    assert not (OCI_ROOT / b.id).exists(), "run deletes the container at the end"


# ---- create, then start ---------------------------------------------------------


def test_create_leaves_the_process_waiting_until_start(step, bundle, tmp_path):
    out = tmp_path / "out"
    b = bundle(["sh", "-c", "echo started > /out/mark; exec sleep 30"], edit=lambda c: c["mounts"].append(
        {"destination": "/out", "type": "bind", "source": str(out), "options": ["rbind", "rw"]}))
    out.mkdir()
    pid_file = tmp_path / "pid"
    r = b.create("--pid-file", pid_file)
    assert r.rc == 0, r.describe()
    st = b.state()
    assert st["status"] == "created" and st["id"] == b.id, st
    assert st["bundle"] == str(b.dir) and st["ociVersion"].startswith("1."), st
    assert pid_file.read_text() == str(st["pid"]), "the pid file holds the pid, no newline"
    assert labtest.process_alive(st["pid"]), "the process outlives create"
    assert (OCI_ROOT / b.id / "exec.fifo").exists(), "it waits on root/ID/exec.fifo"
    time.sleep(0.3)
    assert not (out / "mark").exists(), "the program must not run before start"
    r = b.cmd("start", b.id)
    assert r.rc == 0, r.describe()
    assert labtest.wait_until(lambda: (out / "mark").exists()), "start runs the program"
    assert b.status() == "running"
    assert not (OCI_ROOT / b.id / "exec.fifo").exists()
    r = b.cmd("kill", b.id, "KILL")
    assert r.rc == 0, r.describe()
    b.wait_status("stopped")
    assert b.state()["pid"] == 0, "a stopped container has pid 0"
    r = b.cmd("delete", b.id)
    assert r.rc == 0, r.describe()
    assert not (OCI_ROOT / b.id).exists(), "delete removes the state"


def test_the_container_is_in_its_cgroup_with_its_limits(step, bundle):
    path = f"lab-test-{unique_name('cg')}/{unique_name('c')}"

    def edit(c):
        c["linux"]["cgroupsPath"] = "/" + path
        c["linux"]["resources"] = {"memory": {"limit": 64 << 20}, "pids": {"limit": 20}}
    b = bundle(["sleep", "30"], edit)
    assert b.create().rc == 0
    pid = b.state()["pid"]
    groups = Path(f"/proc/{pid}/cgroup").read_text()
    assert path in groups, f"the process is in cgroupsPath\n{groups}"
    version, mem = labtest.layout("memory")
    limit_file = "memory.max" if version == "v2" else "memory.limit_in_bytes"
    assert Path(mem, path, limit_file).read_text().strip() == str(64 << 20)
    _, pids = labtest.layout("pids")
    assert Path(pids, path, "pids.max").read_text().strip() == "20"
    r = b.cmd("delete", b.id)
    assert r.rc == 0, r.describe()
    assert not Path(mem, path).exists(), "delete removes the group"
    assert not Path(mem, path).parent.exists(), "and the parent it made"


def test_update_changes_the_limits_of_a_running_container(step, bundle):
    """runc update, as podman update and containerd's shim (go-runc's
    Update: update --resources -, the JSON on stdin) call it: new memory,
    CPU and pids limits in the container's groups, a value not given kept;
    what the lab does not set refused by name; a stopped container
    refused as runc refuses it."""
    b = bundle(["sleep", "30"])
    assert b.create().rc == 0

    def group(controller):  # cgroupsPath none: lab-oci/ID
        return Path(labtest.layout(controller)[1], "lab-oci", b.id)

    def limits():
        version, _ = labtest.layout("memory")
        memory = (group("memory") / ("memory.max" if version == "v2" else "memory.limit_in_bytes"))
        pids = (group("pids") / "pids.max").read_text().strip()
        return int(memory.read_text()), pids, labtest.cpu_limit(group("cpu"))
    r = b.cmd("update", "--memory", "64m", "--pids-limit", "20", "--cpu-quota", "50000", b.id)
    assert r.rc == 0, r.describe()
    assert limits() == (64 << 20, "20", (50000, 100000)), "the quota, the period kept"
    r = b.cmd("update", "--resources", "-", b.id, stdin=json.dumps(
        {"memory": {"limit": 32 << 20}, "cpu": {"period": 200000, "shares": 1024},
         "pids": {"limit": 0}}))
    assert r.rc == 0, r.describe()
    assert limits() == (32 << 20, "max", (50000, 200000)), "the period, the quota kept"
    refused(b.cmd("update", "--cpu-share", "512", b.id), "update: --cpu-share: not supported")
    refused(b.cmd("update", "--cpu-period", "10", b.id), "invalid value for cpu-period")
    refused(b.cmd("update", "--pids-limit", "many", b.id), "invalid value for pids-limit")
    refused(b.cmd("update", "-r", "-", b.id, stdin='{"cpu": {"cpus": "0"}}'),
            "resources: cpu.cpus: not supported")
    assert b.cmd("kill", b.id, "KILL").rc == 0
    b.wait_status("stopped")
    refused(b.cmd("update", "--memory", "64m", b.id), "container not running")


# ---- the states and their refusals -------------------------------------------------


def test_each_command_checks_the_state(step, bundle):
    b = bundle(["sleep", "30"])
    refused(b.cmd("state", b.id), "container does not exist")
    refused(b.cmd("kill", b.id, "KILL"), "container does not exist")
    refused(b.cmd("delete", b.id), "container does not exist")
    assert b.cmd("delete", "--force", b.id).rc == 0, "delete --force of nothing succeeds"
    assert b.create().rc == 0
    refused(b.create(), "container with given ID already exists")
    assert b.cmd("start", b.id).rc == 0
    refused(b.cmd("start", b.id), "cannot start an already running container")
    refused(b.cmd("delete", b.id), "cannot delete container")
    assert b.status() == "running", "a refused delete leaves it running"
    assert b.cmd("kill", b.id, "SIGKILL").rc == 0
    b.wait_status("stopped")
    refused(b.cmd("kill", b.id, "KILL"), "container not running")
    refused(b.cmd("start", b.id), "cannot start a container that has stopped")
    assert b.cmd("delete", b.id).rc == 0


def test_delete_ends_a_created_or_running_container(step, bundle):
    b = bundle(["sleep", "30"])
    assert b.create().rc == 0
    pid = b.state()["pid"]
    r = b.cmd("delete", b.id)
    assert r.rc == 0, f"runc deletes a created container without --force\n{r.describe()}"
    assert labtest.wait_until(lambda: not labtest.process_alive(pid))
    assert b.create().rc == 0, "the id is free again"
    assert b.cmd("start", b.id).rc == 0
    pid = b.state()["pid"]
    assert b.cmd("delete", "--force", b.id).rc == 0
    assert labtest.wait_until(lambda: not labtest.process_alive(pid))
    assert not (OCI_ROOT / b.id).exists()


def test_kill_all_reaches_every_process_of_the_container(step, bundle, tmp_path):
    """kill --all: every process of the container's group. A container with
    no PID namespace of its own needs it: its other processes do not end
    with its first (runc's kill --all, signalAllProcesses)."""
    out = tmp_path / "out"
    out.mkdir()

    def edit(c):
        c["linux"]["namespaces"] = [{"type": t} for t in ("network", "ipc", "uts", "mount")]
        c["mounts"].append({"destination": "/out", "type": "bind", "source": str(out),
                            "options": ["rbind"]})
    b = bundle(["sh", "-c", "sleep 1000 & echo $! > /out/child; exec sleep 1000"], edit=edit)
    assert b.create().rc == 0 and b.cmd("start", b.id).rc == 0
    assert labtest.wait_until(lambda: (out / "child").exists() and (out / "child").read_text().strip())
    child, first = int((out / "child").read_text()), b.state()["pid"]
    r = b.cmd("kill", "--all", b.id, "KILL")
    assert r.rc == 0, r.describe()
    assert labtest.wait_until(lambda: not labtest.process_alive(child) and not labtest.process_alive(first)), (
        f"kill --all KILL: the container's first process ({first}) and its other one ({child}) end")


@pytest.mark.given  # common/runtime.c's freezer; the lesson is the lifecycle
def test_pause_freezes_the_container_and_resume_thaws_it(step, bundle, tmp_path):
    """runc's pause and resume (podman pause, ctr task pause): the
    container's group frozen, its counter still, state "paused"; thawed, it
    counts on; resume of a running one and pause of a paused one are
    refused with runc's messages; delete --force ends a paused one."""
    out = tmp_path / "out"
    out.mkdir()
    b = bundle(["sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > /out/n; sleep 0.02; done"],
               edit=lambda c: c["mounts"].append({"destination": "/out", "type": "bind",
                                                  "source": str(out), "options": ["rbind"]}))
    assert b.create().rc == 0 and b.cmd("start", b.id).rc == 0
    count = lambda: int((out / "n").read_text() or 0) if (out / "n").exists() else 0  # noqa: E731
    assert labtest.wait_until(lambda: count() > 2)
    refused(b.cmd("resume", b.id), "container not paused")
    r = b.cmd("pause", b.id)
    assert r.rc == 0 and b.status() == "paused", r.describe()
    frozen = count()
    time.sleep(0.3)
    assert count() == frozen, "paused, the container's shell counts no further"
    refused(b.cmd("pause", b.id), "container not running")
    listed = json.loads(b.cmd("list", "--format", "json").out)
    assert [c["status"] for c in listed if c["id"] == b.id] == ["paused"], listed
    r = b.cmd("resume", b.id)
    assert r.rc == 0 and b.status() == "running", r.describe()
    assert labtest.wait_until(lambda: count() > frozen + 2), "resumed, it counts on"
    pid = b.state()["pid"]
    assert b.cmd("pause", b.id).rc == 0
    refused(b.cmd("delete", b.id), "cannot delete container")
    assert b.cmd("delete", "--force", b.id).rc == 0
    assert labtest.wait_until(lambda: not labtest.process_alive(pid)), "delete --force ends a paused one"


@pytest.mark.parametrize("name", ["USR1", "SIGUSR1", "usr1", str(int(signal.SIGUSR1))])
def test_kill_sends_the_signal_by_name_or_number(step, bundle, tmp_path, name):
    out = tmp_path / "out"
    out.mkdir()
    b = bundle(["sh", "-c", "trap 'echo got > /out/sig; exit 0' USR1; echo up > /out/up; "
                "while :; do sleep 0.05; done"],
               edit=lambda c: c["mounts"].append({"destination": "/out", "type": "bind",
                                                  "source": str(out), "options": ["rbind"]}))
    assert b.create().rc == 0 and b.cmd("start", b.id).rc == 0
    assert labtest.wait_until(lambda: (out / "up").exists())
    r = b.cmd("kill", b.id, name)
    assert r.rc == 0, r.describe()
    assert labtest.wait_until(lambda: (out / "sig").exists()), f"kill {name} reached the trap"
    b.wait_status("stopped")


@pytest.mark.given
def test_ids_that_are_paths_are_refused(step, bundle):
    b = bundle()
    for bad in ("../x", "a/b", ".."):
        r = b.cmd("create", "--bundle", b.dir, bad)
        refused(r, "invalid container ID format")


# ---- config.json, field by field ---------------------------------------------------


def test_config_json_is_honoured(step, bundle, tmp_path):
    def edit(c):
        p = c["process"]
        p["env"].append("GREETING=hi there")
        p["cwd"] = "/tmp"
        p["user"] = {"uid": 1000, "gid": 1001, "additionalGids": [1002]}
        p["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 77, "soft": 66}]
        c["hostname"] = "fieldtest"
        c["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                            "options": ["size=1m", "mode=1777"]})
        c["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
        c["linux"]["maskedPaths"].append("/proc/interrupts")
    script = ("echo host=$(hostname); echo env=$GREETING; echo cwd=$(pwd); echo id=$(id -u):$(id -g):"
              "$(id -G | tr ' ' ,); echo nofile=$(ulimit -n); echo fwd=$(cat /proc/sys/net/ipv4/ip_forward); "
              "echo masked=$(wc -c < /proc/interrupts); echo root=$(touch /x 2>/dev/null && echo rw || echo ro); "
              "echo sysrq=$(echo 1 2>/dev/null > /proc/sysrq-trigger && echo w || echo ro); "
              "echo caps=$(grep CapEff /proc/self/status | cut -f2)")
    b = bundle(["sh", "-c", script], edit)
    r = b.cmd("run", "--bundle", b.dir, b.id)
    assert r.rc == 0, r.describe()
    got = dict(l.split("=", 1) for l in r.out.splitlines())
    assert got["host"] == "fieldtest", r.out
    assert got["env"] == "hi there", r.out
    assert got["cwd"] == "/tmp", r.out
    assert got["id"] == "1000:1001:1001,1002", r.out
    assert got["nofile"] == "66", r.out
    assert got["fwd"] == "1", "linux.sysctl, in the container's network namespace"
    assert got["masked"] == "0", "maskedPaths: /proc/interrupts reads empty"
    assert got["sysrq"] == "ro", "readonlyPaths"
    assert got["caps"] == "0000000000000000", "a uid other than 0 keeps no effective capability"
    assert got["root"] == "ro", "root.readonly"


def test_the_capability_sets_are_config_jsons(step, bundle):
    def edit(c):
        c["process"]["capabilities"] = {
            "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"],
            "effective": ["CAP_CHOWN", "CAP_KILL"],
            "permitted": ["CAP_CHOWN", "CAP_KILL"],
            "inheritable": ["CAP_KILL"],
            "ambient": ["CAP_KILL"],
        }
    b = bundle(["grep", "^Cap", "/proc/self/status"], edit)
    r = b.cmd("run", "--bundle", b.dir, b.id)
    assert r.rc == 0, r.describe()
    caps = {l.split(":")[0]: int(l.split()[1], 16) for l in r.out.splitlines()}
    chown, kill, raw = 1 << 0, 1 << 5, 1 << 13
    assert caps["CapBnd"] == chown | kill | raw, r.out
    assert caps["CapInh"] == kill and caps["CapAmb"] == kill, r.out
    # After execve(2): the ambient set joins permitted and effective.
    assert caps["CapPrm"] == chown | kill and caps["CapEff"] == chown | kill, r.out


def test_a_namespace_path_is_joined(step, bundle):
    """podman makes the network namespace and passes its path: the
    container joins it."""
    holder = subprocess.Popen(["unshare", "--net", "sh", "-c",
                               "ip link add lab-oci-x type veth peer name lab-oci-y && echo up; exec sleep 30"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "up\n"

        def edit(c):
            c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"]
            c["linux"]["namespaces"].append({"type": "network", "path": f"/proc/{holder.pid}/ns/net"})
        b = bundle(["sh", "-c", "ls /sys/class/net; readlink /proc/self/ns/net"], edit)
        r = b.cmd("run", "--bundle", b.dir, b.id)
        assert r.rc == 0, r.describe()
        assert "lab-oci-x" in r.out, r.describe()
        assert os.readlink(f"/proc/{holder.pid}/ns/net") in r.out
    finally:
        holder.kill()
        holder.wait()


def test_a_seccomp_profile_is_compiled_and_loaded(step, bundle):
    def edit(c):
        c["linux"]["seccomp"] = {
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32",
                              "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
            "syscalls": [
                {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
                {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
                 "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
            ],
        }
    b = bundle(["sh", "-c", "mkdir /dev/shm/x; echo rc=$?; touch /dev/shm/y && echo touched"], edit)
    r = b.cmd("run", "--bundle", b.dir, b.id)
    assert r.rc == 0, r.describe()
    assert "Permission denied" in r.out + r.err and "rc=1" in r.out, \
        f"mkdir gets errnoRet 13 (EACCES)\n{r.describe()}"
    assert "touched" in r.out, "other calls pass"


# ---- what is refused, and how --------------------------------------------------------


@pytest.mark.given
@pytest.mark.parametrize("edit,message", [
    (lambda c: c["linux"].update(intelRdt={"closID": "x"}), "linux.intelRdt: not supported"),
    (lambda c: c.update(ociVersion="2.0.0"), "ociVersion"),
    (lambda c: c["process"].update(args="sh"), "process.args: must be"),
    (lambda c: c["root"].update(path="nothere"), "root.path"),
    (lambda c: c["linux"].update(sysctl={"kernel.panic": "1"}), "not in a separate kernel namespace"),
    (lambda c: c["linux"].update(namespaces=[{"type": "pid"}]), "no mount namespace"),
], ids=["intelRdt", "ociVersion", "args-type", "rootfs", "host-sysctl", "no-mountns"])
def test_what_the_lab_cannot_do_is_refused_by_name(step, bundle, edit, message):
    b = bundle(["true"], edit)
    r = b.create()
    refused(r, message)
    assert not (OCI_ROOT / b.id).exists(), "a refused create leaves no state"


@pytest.mark.given
def test_malformed_json_is_refused(step, bundle):
    b = bundle()
    (b.dir / "config.json").write_text('{"ociVersion": "1.0.2", "process": ')
    refused(b.create(), "config.json")


@pytest.mark.given
def test_errors_go_to_the_log_as_json(step, bundle, tmp_path):
    log = tmp_path / "log.json"
    b = bundle()
    r = b.cmd("--log", log, "--log-format", "json", "state", b.id)
    assert r.rc == 1, r.describe()
    lines = log.read_text().splitlines()
    assert len(lines) == 1, lines
    entry = json.loads(lines[0])
    assert entry["level"] == "error" and "container does not exist" in entry["msg"], entry
    assert time.strptime(entry["time"], "%Y-%m-%dT%H:%M:%SZ"), "RFC 3339, as containerd reads it"


@pytest.mark.given  # the plan of the groups and its removal are common/runtime.c's
def test_sigkill_of_create_leaves_nothing_after_delete_force(step, bundle, rng):
    b = bundle(["sleep", "30"])
    p = subprocess.Popen([str(labtest.step_bin(step)), "create", "--bundle", str(b.dir), b.id],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=labtest.step_env(), start_new_session=True)
    time.sleep(rng.uniform(0, 0.01))
    p.kill()
    p.wait()
    r = b.cmd("delete", "--force", b.id)
    assert r.rc == 0, r.describe()
    # The host check after the test finds any group, state or mount left.


# ---- list, ps, spec, features ------------------------------------------------------------


def test_list_ps_spec_and_features(step, bundle, tmp_path):
    b = bundle(["sleep", "30"])
    assert b.create().rc == 0
    r = b.cmd("list", "--format", "json")
    assert r.rc == 0, r.describe()
    mine = [c for c in json.loads(r.out) if c["id"] == b.id]
    assert mine and mine[0]["status"] == "created", r.out
    assert b.id in b.cmd("list", "-q").out.split()
    r = b.cmd("ps", "--format", "json", b.id)
    assert json.loads(r.out) == [b.state()["pid"]], r.describe()
    spec_dir = tmp_path / "spec"
    spec_dir.mkdir()
    r = b.cmd("spec", "--bundle", spec_dir)
    assert r.rc == 0, r.describe()
    spec = json.loads((spec_dir / "config.json").read_text())
    assert spec["root"]["path"] == "rootfs" and spec["process"]["args"] == ["sh"], spec
    refused(b.cmd("spec", "--bundle", spec_dir), "exists")
    features = json.loads(b.cmd("features").out)
    assert "CAP_SYS_ADMIN" in features["linux"]["capabilities"], features


def test_a_terminal_goes_to_the_console_socket(step, bundle, tmp_path):
    """process.terminal: the container's stdio is a pty of its own devpts,
    whose master create sends over --console-socket (what conmon and
    containerd's shim listen on): one SCM_RIGHTS descriptor, the pty's
    name as the message."""
    import array
    import socket

    def edit(c):
        c["process"]["terminal"] = True
    b = bundle(["sh", "-c", "tty; ls -l /dev/console | cut -c1; exit 7"], edit)
    refused(b.create(), "cannot allocate tty if runc will detach without setting console socket")
    path = tmp_path / "console.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    server.settimeout(labtest.scaled(10))
    create = subprocess.Popen([str(labtest.step_bin(step)), "create", "--bundle", str(b.dir),
                               "--console-socket", str(path), b.id], env=labtest.step_env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        conn, _ = server.accept()
        fds = array.array("i")
        name, ancillary, _, _ = conn.recvmsg(4096, socket.CMSG_SPACE(fds.itemsize))
        for level, kind, data in ancillary:
            assert (level, kind) == (socket.SOL_SOCKET, socket.SCM_RIGHTS)
            fds.frombytes(data[:fds.itemsize])
        assert len(fds) == 1 and name.startswith(b"/dev/pts/"), (name, list(fds))
        assert create.wait(timeout=labtest.scaled(10)) == 0, create.stderr.read()
        assert b.cmd("start", b.id).rc == 0
        out = b""
        while True:
            try:
                data = os.read(fds[0], 1024)
            except OSError:  # EIO: the last holder of the pty's other end is gone
                break
            if not data:
                break
            out += data
        os.close(fds[0])
        assert out.decode().splitlines() == [name.decode(), "c"], out
    finally:
        create.kill()
        create.wait()
        server.close()
    b.wait_status("stopped")


def test_hooks_run_with_the_state_on_stdin(step, bundle, tmp_path):
    """Each hook of the spec, in its place, given the state JSON on stdin:
    prestart and createRuntime by create, in the runtime's namespaces,
    before pivot_root (runc's status: creating); createContainer after
    them, in the container's mount namespace, its path the host's;
    startContainer at start, inside the container (its path the
    container's), before the program; poststart after start, poststop at
    delete. A failing create hook fails create; a hung one is killed at
    its timeout."""
    log, inside = tmp_path / "hooks.log", tmp_path / "inside"
    inside.mkdir()
    hook = {"path": "/bin/sh", "args": ["sh", "-c", f"cat >> {log}; echo >> {log}"]}
    mnt = {"path": "/bin/sh", "args": ["sh", "-c", f"cat >> {log}; echo >> {log}; "
                                       f"readlink /proc/self/ns/mnt > {tmp_path}/create-mnt"]}
    start = {"path": "/bin/sh", "args": ["sh", "-c", "cat > /hooks/start.json; hostname > /hooks/host; "
                                         "test -e /hooks/program-ran || echo before > /hooks/order"]}

    def edit(c):
        c["hooks"] = {k: [hook] for k in ("prestart", "createRuntime", "poststart", "poststop")}
        c["hooks"]["createContainer"] = [mnt]
        c["hooks"]["startContainer"] = [start]
        c["mounts"].append({"destination": "/hooks", "type": "bind", "source": str(inside),
                            "options": ["rbind", "rw"]})
    b = bundle(["sh", "-c", "touch /hooks/program-ran; sleep 30"], edit)
    assert b.create().rc == 0
    states = [json.loads(l) for l in log.read_text().splitlines()]
    pid = b.state()["pid"]
    assert [s["status"] for s in states] == ["creating"] * 3, states
    assert all(s["id"] == b.id and s["pid"] == pid for s in states), states
    assert (tmp_path / "create-mnt").read_text() == os.readlink(f"/proc/{pid}/ns/mnt") + "\n", (
        "createContainer runs in the container's mount namespace")
    assert not (inside / "start.json").exists(), "startContainer waits for start"
    assert b.cmd("start", b.id).rc == 0
    assert labtest.wait_until(lambda: (inside / "program-ran").exists())
    started = json.loads((inside / "start.json").read_text())
    assert (started["status"], started["id"], started["pid"]) == ("created", b.id, pid), started
    assert (inside / "host").read_text() == "oci\n" and (inside / "order").read_text() == "before\n", (
        "startContainer runs inside the container (its hostname), before the program")
    assert json.loads(log.read_text().splitlines()[3])["status"] == "running"
    assert b.cmd("kill", b.id, "KILL").rc == 0
    b.wait_status("stopped")
    assert b.cmd("delete", b.id).rc == 0
    assert json.loads(log.read_text().splitlines()[4])["status"] == "stopped"

    b.config["hooks"] = {"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", "exit 3"]}]}
    b.write()
    refused(b.create(), "createRuntime hook /bin/sh: exit status 3")
    assert not (OCI_ROOT / b.id).exists(), "a failed hook undoes create"
    b.config["hooks"] = {"createContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "exit 4"]}]}
    b.write()
    refused(b.create(), "createContainer hook /bin/sh: exit status 4")
    assert not (OCI_ROOT / b.id).exists(), "a failed hook in the container undoes create"
    b.config["hooks"] = {"prestart": [{"path": "/bin/sleep", "args": ["sleep", "60"],
                                       "timeout": 1}]}
    b.write()
    refused(b.create(), "timed out after 1 s")
