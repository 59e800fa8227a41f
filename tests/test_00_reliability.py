"""What every step keeps, whatever it is given: bad input refused in one
line with the documented status, faults that leave nothing behind, and many
containers at once. (The host check after every test, in conftest.py, makes
"nothing behind" part of every row.)

The bad-input matrix is a table: each row names the step that introduces the
option, the arguments, the exit status, and words the one error line must
hold. A row runs against that step and every later one; an option of a later
step must be refused as "not known yet".
"""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

import labtest
from labtest import REPO, Running, run

# What every step keeps is given code (common/): reported, no points.
pytestmark = pytest.mark.given

LONG = "x" * 5000                       # longer than PATH_MAX and every field
NPROC = os.cpu_count()

# (since, args, status, words in the error line)
MATRIX = [
    # any step
    (1, ["--no-such-option"], 125, ["--no-such-option", "unknown option"]),
    (1, ["-Z"], 125, ["-Z", "unknown option"]),
    (1, ["--quiet=yes"], 125, ["takes no value"]),
    (1, ["--" + LONG[:100]], 125, ["unknown option"]),
    # Docker's command line takes no abbreviation of a long option; getopt's does
    (1, ["--qui"], 125, ["--qui", "unknown option"]),
    (1, ["--host", "x"], 125, ["--host", "unknown option"]),
    (1, ["--host=x"], 125, ["--host", "unknown option"]),
    (1, ["--priv"], 125, ["--priv", "unknown option"]),
    (1, ["--pid", "host"], 125, ["--pid", "unknown option"]),
    (1, ["--cap-a", "SYS_ADMIN"], 125, ["--cap-a", "unknown option"]),
    (1, ["/no/such/command"], 127, ["/no/such/command", "No such file"]),
    (1, ["/etc/passwd"], 126, ["/etc/passwd", "Permission denied"]),
    (1, ["/"], 126, ["exec /", "Permission denied"]),
    (1, [LONG], 127, ["exec", "name too long"]),
    # step 03: --rootfs and -e
    (3, ["--rootfs"], 125, ["--rootfs", "needs a value"]),
    (3, ["--rootfs", ""], 125, ["--rootfs", "empty"]),
    (3, ["--rootfs", "/no/such/rootfs"], 125, ["/no/such/rootfs", "No such file"]),
    (3, ["--rootfs", "/etc/passwd"], 125, ["/etc/passwd", "Not a directory"]),
    (3, ["--rootfs", "/"], 125, ["host's own root"]),
    (3, ["--rootfs", "../../../../../../../no-such-dir"], 125, ["No such file"]),
    (3, ["--rootfs", "/" + LONG], 125, ["File name too long"]),
    (3, ["-e", ""], 125, ["-e", "empty name"]),
    (3, ["-e", "=value"], 125, ["-e", "empty name"]),
    (3, ["-e"], 125, ["needs a value"]),
    # step 05: --hostname
    (5, ["--hostname", ""], 125, ["--hostname", "empty"]),
    (5, ["--hostname", "a" * 65], 125, ["--hostname", "64 bytes"]),
    (5, ["--hostname", LONG], 125, ["--hostname", "64 bytes"]),
    (5, ["--hostname", "under_score"], 125, ["--hostname", "letters, digits"]),
    (5, ["--hostname", "-lead"], 125, ["--hostname", "starts with '-'"]),
    (5, ["--hostname", "a..b"], 125, ["--hostname", "empty label"]),
    # step 06: --network (and docker's other spelling, --net), --ip
    (6, ["--net=1"], 125, ["--net 1", "unknown network", "--network bridge"]),
    (6, ["--net"], 125, ["--net true", "unknown network", "--network bridge"]),
    (6, ["--network", "bogus"], 125, ["--network bogus", "unknown network: none, bridge"]),
    (6, ["--network", "none", "--ip", "10.200.0.2/30"], 125, ["--ip", "--network none"]),
    (6, ["--ip", ""], 125, ["--ip", "empty"]),
    (6, ["--ip", "not-an-address/24"], 125, ["--ip", "not an IPv4 address"]),
    (6, ["--ip", "10.200.0.2"], 125, ["--ip", "needs a prefix"]),
    (6, ["--ip", "10.200.0.2/99"], 125, ["--ip", "prefix"]),
    (6, ["--ip", "10.200.0.2/8"], 125, ["--ip", "/16../30"]),
    (6, ["--ip", "10.200.0.4/30"], 125, ["--ip", "network address"]),
    (6, ["--ip", "10.200.0.7/30"], 125, ["--ip", "broadcast address"]),
    (6, ["--ip", "127.0.0.2/24"], 125, ["--ip", "unicast"]),
    (6, ["--ip", LONG], 125, ["--ip"]),
    # step 07: --cpus, --cpu-period, --cpu-quota
    (7, ["--cpus", ""], 125, ["--cpus", "not a number"]),
    (7, ["--cpus", "-0.5"], 125, ["--cpus", "not a number"]),
    (7, ["--cpus", "half"], 125, ["--cpus", "not a number"]),
    (7, ["--cpus", "1e3"], 125, ["--cpus", "not a number"]),
    (7, ["--cpus", "nan"], 125, ["--cpus", "not a number"]),
    (7, ["--cpus", "0.005"], 125, ["--cpus", "0.01"]),
    (7, ["--cpus", str(NPROC + 1)], 125, ["--cpus", "CPUs"]),
    (7, ["--cpus", "9" * 40], 125, ["--cpus", "CPUs"]),
    (7, ["--cpu-period", "999"], 125, ["--cpu-period", "1000..1000000"]),
    (7, ["--cpu-period", "1000001"], 125, ["--cpu-period", "1000..1000000"]),
    (7, ["--cpu-period", "-1000"], 125, ["--cpu-period", "whole number"]),
    (7, ["--cpu-period", "1.5"], 125, ["--cpu-period", "whole number"]),
    (7, ["--cpu-quota", "999"], 125, ["--cpu-quota", "1000 us"]),
    (7, ["--cpu-quota", "9" * 30], 125, ["--cpu-quota", "out of range"]),
    (7, ["--cpu-quota", ""], 125, ["--cpu-quota", "whole number"]),
    (7, ["--cpus", "1", "--cpu-period", "50000"], 125, ["cannot be combined"]),
    # step 08: -v
    (8, ["-v", ""], 125, ["-v", "HOST:CONTAINER"]),
    (8, ["-v", "tmp:/mnt"], 125, ["-v", "absolute host path"]),
    (8, ["-v", "/tmp:mnt"], 125, ["-v", "absolute container path"]),
    (8, ["-v", "/tmp:/../etc"], 125, ["-v", "'..'"]),
    (8, ["-v", "/tmp:/mnt:rw:ro"], 125, ["-v", "three parts"]),
    (8, ["-v", "/tmp:/mnt:noexec"], 125, ["-v", "unknown mode"]),
    (8, ["-v", "/no/such/dir:/mnt"], 125, ["-v", "No such file"]),
    (8, ["-v", ":/mnt"], 125, ["-v", "empty part"]),
    (8, ["-v", "/" + LONG + ":/mnt"], 125, ["-v", "too long"]),
    (8, ["-v", "/tmp:/" + LONG], 125, ["-v", "too long"]),
    # step 09: --shm-size
    (9, ["--shm-size", "1q"], 125, ["--shm-size", "unknown unit"]),
    (9, ["--shm-size", "-1m"], 125, ["--shm-size"]),
    # step 10: --memory, --memory-swap, --pids-limit
    (10, ["-m"], 125, ["-m/--memory", "needs a value"]),
    (10, ["-m", "1q"], 125, ["--memory", "unknown unit"]),
    (10, ["-m", "1kb"], 125, ["--memory", "unknown unit"]),
    (10, ["-m", "9" * 30], 125, ["--memory", "too large"]),
    (10, ["-m", "1m"], 125, ["--memory", "below 6m"]),
    (10, ["--memory-swap", "-1"], 125, ["--memory-swap needs --memory"]),
    (10, ["-m", "8m", "--memory-swap", "7m"], 125, ["smaller than --memory"]),
    (10, ["--pids-limit", "+5"], 125, ["--pids-limit", "whole number"]),
    (10, ["--pids-limit", LONG], 125, ["--pids-limit"]),
    # step 11: --layer, --upper, --commit
    (11, ["--layer"], 125, ["--layer", "needs a value"]),
    (11, ["--layer", ""], 125, ["--layer", "empty"]),
    (11, ["--layer", "/no/such/layer"], 125, ["--layer", "No such file"]),
    (11, ["--layer", "/etc/passwd"], 125, ["--layer", "Not a directory"]),
    (11, ["--layer", "/" + LONG], 125, ["--layer", "too long"]),
    (11, ["--upper", ""], 125, ["--upper", "empty"]),
    (11, ["--upper", "/no/such/dir/upper"], 125, ["--upper", "No such file"]),
    (11, ["--commit", "/"], 125, ["--commit", "not an empty directory"]),
    # step 12: --uidmap, --gidmap
    (12, ["--uidmap"], 125, ["--uidmap", "needs a value"]),
    (12, ["--uidmap", ""], 125, ["--uidmap", "CONTAINER:HOST:SIZE"]),
    (12, ["--uidmap", "0:1:2:3"], 125, ["--uidmap", "CONTAINER:HOST:SIZE"]),
    (12, ["--uidmap", "-1:0:1"], 125, ["--uidmap", "CONTAINER:HOST:SIZE"]),
    (12, ["--uidmap", "0:99999999999:1"], 125, ["--uidmap", "beyond"]),
    (12, ["--gidmap", "5:5:5"], 125, ["--gidmap", "root, id 0"]),
    # step 13: --cap-add, --cap-drop, --privileged
    (13, ["--cap-add"], 125, ["--cap-add", "needs a value"]),
    (13, ["--cap-add", "NET_ADMINN"], 125, ["--cap-add", "no such capability"]),
    (13, ["--cap-drop", LONG], 125, ["--cap-drop", "no such capability"]),
    (13, ["--privileged=1"], 125, ["--privileged", "takes no value"]),
    # step 14: --security-opt
    (14, ["--security-opt"], 125, ["--security-opt", "needs a value"]),
    (14, ["--security-opt", "seccomp=unconfinedd"], 125, ["--security-opt", "unknown here"]),
    (14, ["--security-opt", LONG], 125, ["--security-opt", "unknown here"]),
    # step 15: --init, --name
    (15, ["--init=1"], 125, ["--init", "takes no value"]),
    (15, ["--name"], 125, ["--name", "needs a value"]),
    (15, ["--name", ""], 125, ["--name", "empty"]),
    (15, ["--name", "a/b"], 125, ["--name", "letters, digits"]),
    (15, ["--name", ".."], 125, ["--name", "must start with a letter"]),
    (15, ["--name", "-x"], 125, ["--name", "must start with a letter"]),
    (15, ["--name", "n" * 65], 125, ["--name", "longer than 64"]),
    (15, ["--name", LONG], 125, ["--name", "longer than 64"]),
]

# Options, and the step that introduces each: an earlier step refuses them.
LATER_OPTIONS = [(3, ["--rootfs", "/tmp"]), (3, ["-e", "A=1"]), (5, ["--hostname", "x"]),
                 (6, ["--network", "bridge"]), (6, ["--ip", "10.200.0.2/30"]), (7, ["--cpus", "1"]),
                 (7, ["--cpu-period", "100000"]), (7, ["--cpu-quota", "10000"]),
                 (8, ["-v", "/tmp:/mnt"]), (9, ["--shm-size", "1m"]), (10, ["-m", "64m"]), (10, ["--memory-swap", "-1"]),
                 (10, ["--pids-limit", "64"]), (11, ["--layer", "/tmp"]), (11, ["--upper", "/tmp/u"]),
                 (11, ["--commit", "/tmp/c"]), (12, ["--uidmap", "0:100000:65536"]),
                 (12, ["--gidmap", "0:100000:65536"]), (12, ["--userns", "host"]), (13, ["--cap-add", "SYS_ADMIN"]),
                 (13, ["--cap-drop", "ALL"]), (13, ["--privileged"]),
                 (14, ["--security-opt", "seccomp=unconfined"]), (15, ["--init"]),
                 (15, ["--name", "x"]), (16, ["--pod", "x"]), (16, ["--pod", "x", "--share-pid"])]

SANITIZER_WORDS = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "UndefinedBehaviorSanitizer")


def check_refusal(r, status, words):
    assert r.rc == status, f"expected exit status {status}\n" + r.describe()
    assert len(r.err_lines) == 1, "a refusal is exactly one line on stderr\n" + r.describe()
    line = r.err_lines[0]
    assert line.startswith(f"step-{r.step:02d}: "), "the line starts with the program's name\n" + r.describe()
    for w in words:
        assert w in line, f"the error line should say {w!r}\n" + r.describe()
    assert "core dumped" not in r.err and not any(w in r.err for w in SANITIZER_WORDS), r.describe()


@pytest.mark.parametrize("since, args, status, words", MATRIX,
                         ids=[f"{' '.join(a)[:40]}" for _, a, _, _ in MATRIX])
def test_bad_input_is_refused_in_one_line(step, since, args, status, words):
    # No command after an option that lacks its value: it would become the value.
    command = [] if status != 125 or "needs a value" in words else ["true"]
    if since > step:
        return check_refusal(run(step, *args, *command), 125, ["not known yet", f"step {since:02d} adds it"])
    check_refusal(run(step, *args, *command), status, words)


@pytest.mark.parametrize("since, args", LATER_OPTIONS, ids=[a[0] for _, a in LATER_OPTIONS])
def test_options_of_later_steps_are_not_known_yet(step, since, args):
    r = run(step, *args, "true")
    if since > step:
        check_refusal(r, 125, [args[0], "not known yet", f"step {since:02d} adds it"])
    else:
        assert "not known yet" not in r.err, r.describe()


def test_a_rootfs_without_proc_or_sh(step, tmp_path, rootfs_copy):
    if step < 3:
        return
    empty = tmp_path / "empty"
    empty.mkdir()
    check_refusal(run(step, "--rootfs", empty, "true", raw_args=True), 125, ["proc"])
    (rootfs_copy / "bin" / "sh").unlink()
    check_refusal(run(step, "--rootfs", rootfs_copy, raw_args=True), 127, ["/bin/sh"])


def test_options_given_twice(step, rng, tmp_path):
    """As docker run: the last value wins; -e and -v add up."""
    if step >= 3:
        r = run(step, "-e", "A=1", "-e", "A=2", "-e", "B=3", "sh", "-c", "echo $A$B")
        assert r.out == "23\n", r.describe()
    if step >= 5:
        one, two = f"first{rng.randrange(1000)}", f"second{rng.randrange(1000)}"
        r = run(step, "--hostname", one, "--hostname", two, "hostname")
        assert r.out.strip() == two, r.describe()
    if step >= 7:
        c = Running(step, "--cpus", "0.2", "--cpus", "0.5", "sh", "-c", "echo ready; read _")
        try:
            c.wait_for("ready")
            _, root = labtest.cpu_layout()
            assert labtest.cpu_limit(Path(root, "lab", str(c.pid)))[0] == 50000
        finally:
            c.finish()
    if step >= 8:
        a, b = tmp_path / "a", tmp_path / "b"
        a.mkdir()
        b.mkdir()
        labtest.give_to_container(a, step)
        labtest.give_to_container(b, step)
        r = run(step, "-v", f"{a}:/mnt", "-v", f"{b}:/tmp", "sh", "-c", "touch /mnt/x /tmp/y")
        assert r.rc == 0 and (a / "x").exists() and (b / "y").exists(), r.describe()


# ---- faults ----------------------------------------------------------------------

def segv_command(step, rootfs_copy):
    """The segv helper, where the step's command can reach it."""
    helper = REPO / "build" / "segv"
    assert helper.exists(), "build/segv is missing: make pytest builds it"
    if step < 3:
        return [], [str(helper)]
    shutil.copy2(helper, rootfs_copy / "bin" / "segv")
    return ["--rootfs", str(rootfs_copy)], ["/bin/segv"]


def test_command_dying_of_sigsegv_gives_139(step, rootfs_copy):
    opts, cmd = segv_command(step, rootfs_copy)
    r = run(step, *opts, *cmd, raw_args=bool(opts))
    assert r.rc == 128 + signal.SIGSEGV, r.describe()


def test_command_killed_by_sigkill_gives_137(step):
    c = Running(step, "sh", "-c", "echo ready; read _")
    c.wait_for("ready")
    os.kill(c.child_pid(), signal.SIGKILL)
    assert c.wait().rc == 128 + signal.SIGKILL


def test_sigterm_to_pid_1_without_a_handler_is_ignored(step):
    """The kernel's rule for a PID namespace's init: a signal it has no
    handler for does not reach it, except SIGKILL and SIGSTOP from outside.
    So SIGTERM, to it or to the step (which passes it on), leaves it running;
    docker stop has the same problem and ends with SIGKILL too."""
    c = Running(step, "sh", "-c", "echo ready; exec sleep 1000")
    c.wait_for("ready")
    child = c.child_pid()
    os.kill(child, signal.SIGTERM)
    os.kill(c.pid, signal.SIGTERM)
    time.sleep(labtest.scaled(0.2))
    assert c.p.poll() is None and Path(f"/proc/{child}").exists(), "PID 1 died of an unhandled SIGTERM"
    os.kill(child, signal.SIGKILL)
    assert c.wait().rc == 137


def test_a_child_killed_by_sigterm_gives_143(step):
    """A process below PID 1 dies of SIGTERM like anywhere else; the shell
    as PID 1 reports it as 128+15, and the step passes that on."""
    c = Running(step, "sh", "-c", "echo ready; sleep 1000 & wait $!")
    c.wait_for("ready")
    pid1 = c.child_pid()
    # Wait until the shell's child has become sleep: before its exec it is
    # still a copy of the shell, mid-fork.
    assert labtest.wait_until(lambda: [p for p in _children(pid1) if _comm(p) == "sleep"], timeout=5)
    sleeper = [p for p in _children(pid1) if _comm(p) == "sleep"][0]
    os.kill(sleeper, signal.SIGTERM)
    assert c.wait().rc == 128 + signal.SIGTERM


def test_a_reader_of_the_narration_going_away_stops_nothing(step):
    """`./step-NN ... 2>&1 | head -1`: the narration's reader goes away
    early. The step must not die of SIGPIPE half-way (and leave its group,
    layers or veth behind: the host check after the test): it finishes,
    with the command's status."""
    p = subprocess.Popen([str(labtest.step_bin(step)), *labtest.base_args(step), "sh", "-c", "sleep 0.2"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=labtest.step_env())
    p.stderr.readline()
    p.stderr.close()
    assert p.wait(timeout=labtest.scaled(10)) == 0, "the step died when its stderr's reader went away"


def _comm(pid):
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except FileNotFoundError:
        return ""


def _children(pid):
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def test_pid_1_exiting_takes_its_children_along(step, rng):
    """When PID 1 of a namespace exits, the kernel kills every process left
    in it; the step returns PID 1's own status."""
    status = rng.randrange(1, 100)
    c = Running(step, "sh", "-c", f"sleep 1000 & sleep 1000 & echo ready; read _; exit {status}")
    c.wait_for("ready")
    orphans = labtest.wait_until(lambda: len(_children(c.child_pid())) == 2) and _children(c.child_pid())
    r = c.finish()
    assert r.rc == status, r.describe()
    assert labtest.wait_until(lambda: not any(Path(f"/proc/{p}").exists() for p in orphans), timeout=5), \
        f"the container's other processes {orphans} outlived its PID 1"


def options_for_everything(step, volume):
    opts = []
    if step >= 6:
        opts += ["--network", "bridge"]
    if step >= 7:
        opts += ["--cpus", "0.5"]
    if step >= 8:
        opts += ["-v", f"{volume}:/mnt"]
    if step >= 15:
        opts += ["--name", labtest.unique_name()]
    return opts


@pytest.mark.slow
def test_step_killed_during_start_up_leaves_nothing_the_next_run_keeps(step, rng, tmp_path, host_unchanged):
    """SIGKILL to the step at random points of its start-up (after clone,
    after the cgroup, after the veth...). Nothing can clean up after a
    SIGKILL; the container dies with its parent (PR_SET_PDEATHSIG), the
    kernel takes its namespaces and with them its veth pair, and the next
    start removes the cgroup left behind."""
    opts = options_for_everything(step, tmp_path)
    for _ in range(8):
        p = subprocess.Popen([str(labtest.step_bin(step)), *labtest.base_args(step), *opts,
                              "sh", "-c", "read _"], stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=labtest.step_env())
        time.sleep(rng.uniform(0, 0.01))
        p.kill()
        p.wait()
    r = run(step, *opts, "true")
    assert r.rc == 0, "a normal start after killed ones\n" + r.describe()
    assert labtest.wait_until(lambda: not host_unchanged.diff(labtest.HostState.now()), timeout=10), (
        "left behind: " + "; ".join(host_unchanged.diff(labtest.HostState.now())))


# ---- the host's descriptors ---------------------------------------------------------

LEAKED_FD = 42  # as a shell's `exec 42</dir`: open when the step starts


@pytest.fixture
def host_dir_fd(tmp_path):
    """A descriptor of a directory of the host, at LEAKED_FD."""
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    os.dup2(fd, LEAKED_FD, inheritable=True)
    os.close(fd)
    yield tmp_path
    os.close(LEAKED_FD)


def open_fds(listing):
    """The descriptors `ls /proc/PID/fd` printed."""
    return {int(w) for w in listing.split() if w.isdigit()}


def test_no_descriptor_of_the_host_reaches_the_container(step, host_dir_fd):
    """runc closes every descriptor above 2 before the user's process runs
    (CVE-2024-21626): one left open on a host directory is a way out of any
    root, through /proc/self/fd/N. Inside, ls sees its own three and the
    directory it lists (3), nothing else; nothing is made on the host."""
    r = run(step, "sh", "-c", f"ls /proc/self/fd; touch /proc/self/fd/{LEAKED_FD}/escaped; true",
            pass_fds=(LEAKED_FD,))
    assert r.rc == 0 and open_fds(r.out) == {0, 1, 2, 3}, (
        f"inside, only 0, 1, 2 (and ls's own 3): the step started with {LEAKED_FD} open\n" + r.describe())
    assert not (host_dir_fd / "escaped").exists(), "a file was made on the host through the descriptor"


@pytest.mark.steps(15, "last")
def test_no_descriptor_reaches_an_init_or_an_exec(step, host_dir_fd):
    """--init's PID 1 stays while the command runs: it holds none of the
    lab's or the shell's descriptors (seen from the host: inside, PID 1 is
    not dumpable and its fds are closed to the command anyway); a command
    started by exec NAME gets none either."""
    name = labtest.unique_name()
    c = Running(step, "--init", "--name", name, "sh", "-c", "echo ready; read _", pass_fds=(LEAKED_FD,))
    try:
        c.wait_for("ready")
        held = {int(fd) for fd in os.listdir(f"/proc/{labtest.wait_recorded(name)}/fd")}
        e = labtest.exec_in(step, name, "ls", "/proc/self/fd", pass_fds=(LEAKED_FD,))
    finally:
        c.finish()
    assert held == {0, 1, 2}, f"--init's PID 1 should hold 0, 1, 2 only: {sorted(held)}"
    assert e.rc == 0 and open_fds(e.out) == {0, 1, 2, 3}, (
        f"exec's command should hold 0, 1, 2 (and ls's 3): {LEAKED_FD} was open\n" + e.describe())


@pytest.mark.steps(5, 6, 15, "last")
def test_network_host_is_known_from_step_16(step):
    """--network is step 06's option; its mode host is step 16's."""
    r = run(step, "--network", "host", *(["--userns", "host"] if step >= 12 else []), "true")
    if step < 6:
        check_refusal(r, 125, ["--network", "not known yet", "step 06 adds it"])
    elif step < 16:
        check_refusal(r, 125, ["--network host", "not known yet", "step 16 adds it"])
    else:
        assert r.rc == 0, r.describe()


# ---- damaged records ---------------------------------------------------------------

def start_time(pid):
    """Field 22 of /proc/PID/stat, as the lab records it."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]


def write_record(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.steps(15, "last")
def test_a_damaged_record_is_refused_in_one_line(step):
    """A record that is not what the lab writes (here a pid of 0, from a
    live lab process) is refused with one line that names it: never read
    as pid 0, never half-used."""
    name = labtest.unique_name()
    path = labtest.RUN_DIR / "containers" / name
    write_record(path, f"lab={os.getpid()}\nlabstart={start_time(os.getpid())}\npid=0\n")
    try:
        r = labtest.exec_in(step, name, "true")
    finally:
        path.unlink()
        for d in (path.parent, path.parent.parent):
            try:
                d.rmdir()
            except OSError:
                pass
    check_refusal(r, 125, [f"exec {name}", "record", "damaged"])


@pytest.mark.steps(16, "last")
def test_a_damaged_pod_record_is_refused_in_one_line(step):
    pod = labtest.unique_name("p")
    path = labtest.RUN_DIR / "pods" / pod
    write_record(path, "infra=x\nstart=1\n")
    try:
        r = run(step, "--pod", pod, "true")
    finally:
        path.unlink()
        for d in (path.parent, path.parent.parent / "containers", path.parent.parent):
            try:
                d.rmdir()
            except OSError:
                pass
    check_refusal(r, 125, [f"--pod {pod}", str(path), "damaged"])


# ---- many at once ------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.steps("last")
def test_twenty_containers_at_once(step, tmp_path):
    """20 containers of the last step, with every mechanism, started at once:
    all start, each sees only itself, addresses and groups are distinct, and
    nothing is left when they end."""
    vols = []
    cs = []
    for i in range(20):
        vol = tmp_path / f"vol{i}"
        vol.mkdir()
        labtest.give_to_container(vol, step)
        vols.append(vol)
        cs.append(Running(step, *options_for_everything(step, vol), "sh", "-c",
                          (labtest.SHOW_NET if step >= 6 else "") +
                          f"echo pids=$(ls /proc | grep -c '^[0-9]'); echo {i} > /mnt/who || true; "
                          "echo ready; read _"))
    try:
        outs = [c.wait_for("ready", timeout=30) for c in cs]
        for o in outs:
            # sh, and the subshell, ls and grep counting: nobody else's
            seen = int(o.split("pids=")[1].split()[0])
            assert seen <= 4, f"a container saw {seen} processes: {o}"
        if step >= 6:
            subnets = {labtest.parse_net(o)["addr"] for o in outs}
            assert len(subnets) == 20, subnets
        if step >= 7:
            _, root = labtest.cpu_layout()
            groups = {c.pid for c in cs if Path(root, "lab", str(c.pid)).is_dir()}
            assert len(groups) == 20
        if step >= 8:
            assert [v.joinpath("who").read_text().strip() for v in vols] == [str(i) for i in range(20)]
    finally:
        results = [c.finish(timeout=30) for c in cs]
    assert all(r.rc == 0 for r in results), [r.describe() for r in results if r.rc]
