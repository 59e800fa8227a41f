"""Step 15: an init for PID 1 (--init), names (--name), and exec.

--init: PID 1 is a tiny init and the command its child, in a process group
of its own. Orphans are reaped (under a PID 1 that never waits, they pile up
as zombies); SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH
sent to PID 1 reach the command; the step ends with the command's status,
128+N for a signal.

exec NAME COMMAND joins the running container NAME. Inside, the command has
the container's namespaces (the same /proc/self/ns inodes), so its
hostname, processes, files, network and IPC objects; from the host it is in
the container's groups, as the container's root, with its capabilities,
filter and variables. Its status passes through. An exec into a container
that is missing or gone, or that ends as the exec starts, says so in one
line with 125, and leaves nothing behind.
"""

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

import labtest
from labtest import Running, exec_in, run, unique_name, wait_recorded

# ---- --init -------------------------------------------------------------------------

# Three orphans that end at once, reparented to PID 1; once each has said it
# runs (a file of its own) and all have ended, the zombies are counted. PID 1
# is then `cat`, which never waits (until its stdin closes) -- or, with
# --init, the init, which does (it is given two seconds to). (Counting before
# every orphan has run would count too few: one still being forked is
# neither running nor a zombie.)
ORPHANS = ("(for i in 1 2 3; do (sh -c \"echo > /tmp/orphan$i\" &); done; n=0; "
           "while [ $(ls /tmp/orphan* 2>/dev/null | wc -l) -lt 3 ] && [ $n -lt 200 ]; do "
           "sleep 0.05; n=$((n+1)); done; "
           "while ps -o stat,args | grep -q '^[^Z] *sh -c echo' && [ $n -lt 400 ]; do "
           "sleep 0.05; n=$((n+1)); done; m=0; "
           "while [ $(ps -o stat | grep -c '^Z') -gt 0 ] && [ $m -lt 40 ]; do sleep 0.05; m=$((m+1)); done; "
           "echo zombies=$(ps -o stat | grep -c '^Z'); echo ready) & exec cat")


def count_zombies(step, *opts):
    c = Running(step, *opts, "sh", "-c", ORPHANS)
    out = c.wait_for("ready")
    c.finish(stdin="")
    return int(out.split("zombies=")[1].split()[0]), out


@pytest.mark.given
def test_without_init_orphans_become_zombies(step):
    """The problem --init solves: a PID 1 that never calls wait(2) keeps
    every orphan of the namespace as a zombie."""
    zombies, out = count_zombies(step)
    assert zombies == 3, f"expected the 3 orphans as zombies under a PID 1 that never waits: {out!r}"


def test_init_reaps_orphans(step):
    zombies, out = count_zombies(step, "--init")
    assert zombies == 0, f"with --init, PID 1 should reap the orphans; ps counted {zombies} zombies: {out!r}"


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"])
def test_init_passes_signals_on_to_the_command(step, sig):
    """Sent to the container's PID 1 from the host (docker kill -s): without
    --init the kernel drops it (test_00 shows it), with --init it reaches
    the command, which dies of it."""
    c = Running(step, "--init", "sh", "-c", "echo ready; exec sleep 1000")
    c.wait_for("ready")
    pid1 = c.child_pid()
    # Wait for the exec: the shell before it may ignore the signal (SIGQUIT).
    assert labtest.wait_until(lambda: _comms(_children_of(pid1)) == ["sleep"]), "the command never started"
    os.kill(pid1, getattr(signal, sig))
    try:
        r = c.wait(timeout=5)
    finally:
        c.kill()
    assert r.rc == 128 + getattr(signal, sig), (
        f"{sig} to PID 1 (the init) should end the command, and the step with 128+{int(getattr(signal, sig))}\n"
        + r.describe())


def test_init_passes_a_signal_on_after_it_reaped_an_orphan(step):
    """An init that, woken by an orphan's end, then blocks in waitpid(2) for
    the command misses every signal until the command ends by itself: this
    one must stay awake, reap, and pass SIGTERM on at once."""
    c = Running(step, "--init", "sh", "-c", "(sleep 0 &); echo ready; exec sleep 1000")
    c.wait_for("ready")
    pid1 = c.child_pid()
    assert labtest.wait_until(lambda: _comms(_children_of(pid1)) == ["sleep"]), "the command never started"
    time.sleep(0.2)  # the orphan's end, and its reaping, come first
    os.kill(pid1, signal.SIGTERM)
    try:
        r = c.wait(timeout=5)
    finally:
        c.kill()
    assert r.rc == 143, "SIGTERM after an orphan was reaped should end the command (143)\n" + r.describe()


def test_init_passes_sigwinch_on_and_the_command_is_pid_2(step):
    c = Running(step, "--init", "sh", "-c",
                "trap 'echo got WINCH' WINCH; echo pid=$$ pgid=$(cut -d' ' -f5 /proc/self/stat); "
                "echo ready; while read -t 1 x || [ $? -gt 128 ]; do :; done")
    out = c.wait_for("ready")
    os.kill(c.child_pid(), signal.SIGWINCH)
    got = c.wait_for("got WINCH")
    r = c.finish(stdin="")
    assert "pid=2 pgid=2" in out, (
        "under --init the command is pid 2, leader of a process group of its own\n" + r.describe())
    assert "got WINCH" in got, r.describe()


def test_init_ends_with_the_commands_status(step):
    """The command's exit code, or 128+N: docker run --init's. A shell as
    PID 1 cannot even kill itself with SIGKILL (the kernel protects it
    from its own namespace); under --init it can."""
    assert run(step, "--init", "sh", "-c", "exit 7").rc == 7
    r = run(step, "--init", "sh", "-c", "kill -9 $$; exit 3")
    assert r.rc == 137, "under --init the command is an ordinary process: kill -9 $$ kills it\n" + r.describe()


def _comms(pids):
    found = []
    for pid in pids:
        try:
            found.append(Path(f"/proc/{pid}/comm").read_text().strip())
        except (FileNotFoundError, ProcessLookupError):
            pass  # it ended (and was reaped) between the listing and the read
    return found


# ---- exec ---------------------------------------------------------------------------

# What a process sees of its namespaces, and of the container.
VIEW = ("echo ns=$(for n in cgroup ipc mnt net pid user uts; do readlink /proc/self/ns/$n; done | tr '\\n' ' '); "
        "echo host=$(hostname); echo eth0=$(ip -o -4 addr show dev eth0 | awk '{print $4}'); ")


def field(out, key):
    return next((l.split("=", 1)[1] for l in out.splitlines() if l.startswith(key + "=")), None)


class Named:
    """A container started with --name (and opts), running `script` and
    then waiting on stdin; recorded before the test goes on."""

    def __init__(self, step, script, *opts):
        self.name = unique_name()
        self.c = Running(step, "--name", self.name, *opts, "sh", "-c", script + "echo ready; read _")
        self.out = self.c.wait_for("ready")
        self.pid = wait_recorded(self.name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.result = self.c.finish()


def test_exec_joins_every_namespace_of_the_container(step):
    with Named(step, VIEW + "echo secret > /tmp/mark; ipcmk -Q -k 4242 >/dev/null; ", "--network", "bridge",
               "--hostname", "joined") as n:
        r = exec_in(step, n.name, "sh", "-c", VIEW + "cat /tmp/mark; cat /proc/sysvipc/msg; ps -o args")
    assert r.rc == 0, r.describe()
    assert field(r.out, "ns") == field(n.out, "ns"), (
        "exec's command should be in each namespace of the container (/proc/self/ns)\n"
        f"container: {field(n.out, 'ns')}\n" + r.describe())
    assert field(r.out, "host") == "joined" and field(r.out, "eth0") == field(n.out, "eth0"), r.describe()
    assert "secret" in r.out, "the container's files (/tmp/mark)\n" + r.describe()
    assert any(l.split()[:1] == ["4242"] for l in r.out.splitlines()), (
        "its IPC objects (the message queue of key 4242)\n" + r.describe())
    assert "read _" in r.out, "its processes (ps)\n" + r.describe()


def test_exec_into_a_container_without_a_user_namespace(step):
    """--userns host: the container's user namespace is the host's, ours:
    exec joins its other namespaces (setns refuses to join the user
    namespace one is in, EINVAL), and runs as the host's root, as it does."""
    with Named(step, VIEW + "echo secret > /tmp/mark; ", "--userns", "host", "--hostname", "hostids") as n:
        r = exec_in(step, n.name, "sh", "-c", VIEW + "cat /tmp/mark; cat /proc/self/uid_map")
    assert r.rc == 0 and field(r.out, "ns") == field(n.out, "ns"), (
        "exec's command should be in each namespace of the --userns host container\n"
        f"container: {field(n.out, 'ns')}\n" + r.describe())
    assert field(r.out, "host") == "hostids" and "secret" in r.out, r.describe()
    assert r.out.split()[-3:] == ["0", "0", "4294967295"], "the host's ids, as the container's\n" + r.describe()


def test_exec_runs_in_the_containers_groups(step):
    """From the host: the exec'd process is listed in each of the
    container's groups (cpu, memory, pids), and runs as the container's
    root; inside, its cgroup namespace makes the groups "/"."""
    with Named(step, "", "--pids-limit", "32") as n:
        p = subprocess.Popen([str(labtest.step_bin(step)), "exec", "-q", n.name, "sh", "-c",
                              "grep -E ':(pids|memory|cpu[^:]*)?:' /proc/self/cgroup; echo ready; read _"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True, env=labtest.step_env())
        try:
            lines = []
            while not lines or lines[-1] != "ready":
                lines.append(p.stdout.readline().decode().strip())
            assert labtest.wait_until(lambda: _children_of(p.pid)), "exec has no child"
            joined = _children_of(p.pid)[0]
            groups = labtest.record(n.name)["cgroup"]
            missing = [g for g in groups if str(joined) not in Path(g, "cgroup.procs").read_text().split()]
            uid = Path(f"/proc/{joined}/status").read_text().split("Uid:")[1].split()[:2]
            out, err = p.communicate(b"\n", timeout=labtest.scaled(10))
        finally:
            labtest.kill_group(p)
    assert groups and not missing, f"the exec'd process (pid {joined}) is not in {missing}"
    root = str(labtest.ROOT_ON_THE_HOST)
    assert uid == [root, root], f"from the host, the exec'd process runs as {uid}, not the container's root {root}"
    assert all(l.endswith(":/") for l in lines[:-1]), f"inside, its groups should read / (cgroup namespace): {lines}"


def test_exec_takes_on_the_containers_privileges_and_variables(step):
    status = "grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status; id -u; "
    with Named(step, status + "echo FOO=$FOO; ", "--cap-drop", "NET_RAW", "--cap-add", "SYS_TIME",
               "-e", "FOO=bar") as n:
        r = exec_in(step, n.name, "sh", "-c", status + "echo FOO=$FOO BAZ=$BAZ", options=["-e", "BAZ=1"])
    mine = [l for l in r.out.splitlines() if not l.startswith("FOO")]
    theirs = [l for l in n.out.splitlines() if l and not l.startswith(("FOO", "ready"))]
    assert r.rc == 0 and mine == theirs, (
        "exec's command should have the container's capabilities, no_new_privs, filter and uid\n"
        f"container: {theirs}\n" + r.describe())
    assert "FOO=bar BAZ=1" in r.out, "the container's -e, and exec's own -e\n" + r.describe()


def test_exec_passes_status_and_stdin_through(step):
    with Named(step, "") as n:
        assert exec_in(step, n.name, "sh", "-c", "exit 3").rc == 3
        assert exec_in(step, n.name, "sh", "-c", "kill -9 $$").rc == 137
        assert exec_in(step, n.name, "/no/such").rc == 127
        assert exec_in(step, n.name, "/etc").rc == 126
        r = exec_in(step, n.name, "cat", stdin="through stdin\n")
    assert r.rc == 0 and r.out == "through stdin\n", r.describe()


@pytest.mark.given
def test_quiet_before_exec_is_quiet_not_a_command(step):
    """-q before exec, as before any other command: ./step-NN -q exec NAME
    runs in the container, with no narration (not a command named exec)."""
    with Named(step, "") as n:
        r = run(step, "-q", "exec", n.name, "hostname", raw_args=True)
    assert r.rc == 0 and r.out.strip() and not r.err, r.describe()


def test_exec_into_a_container_with_init(step):
    with Named(step, "", "--init") as n:
        r = exec_in(step, n.name, "sh", "-c", "ps -o pid,args")
    assert r.rc == 0 and "read _" in r.out, r.describe()


def test_exec_under_heavy_load(step):
    """The container's CPU is capped and busy; exec still gets in, and the
    command runs under the same cap."""
    burn = "for i in 1 2 3 4; do (while :; do :; done) & done; "
    with Named(step, burn, "--cpus", "0.5", "--hostname", "busy") as n:
        results = [exec_in(step, n.name, "hostname", timeout=20) for _ in range(5)]
    bad = [r.describe() for r in results if r.rc != 0 or r.out != "busy\n"]
    assert not bad, "\n".join(bad)


def test_exec_racing_the_containers_end(step):
    """Execs fired while the container ends: each one runs, or says in one
    line that the container is gone (125), or dies with it (137); never a
    hang, never a trace left (the host check after the test)."""
    name = unique_name()
    c = Running(step, "--name", name, "--hostname", "racing", "sh", "-c", "echo ready; sleep 1")
    c.wait_for("ready")
    wait_recorded(name)
    results, stop = [], time.monotonic() + labtest.scaled(3)

    def fire():
        while time.monotonic() < stop:
            results.append(exec_in(step, name, "hostname"))

    threads = [threading.Thread(target=fire) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    c.wait()
    odd = [r.describe() for r in results
           if not (r.rc == 0 and r.out == "racing\n") and r.rc != 137
           and not (r.rc == 125 and len(r.err_lines) == 1)]
    assert not odd, "\n".join(odd[:3])
    assert any(r.rc == 0 for r in results), "no exec got in while the container ran"


def test_exec_as_an_ordinary_user(step, user, user_lab):
    binary, rootfs = user_lab
    name = unique_name()
    c = subprocess.Popen([str(binary), "--rootfs", str(rootfs), "--name", name, "--hostname", "mine",
                          "sh", "-c", "echo ready; read _"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, preexec_fn=labtest.as_user(user), start_new_session=True,
                         env=labtest.step_env())
    try:
        assert c.stdout.readline() == b"ready\n"
        r = labtest.run_as(user, binary, "exec", name, "sh", "-c", "id -u; hostname")
    finally:
        try:
            c.communicate(b"\n", timeout=labtest.scaled(10))  # read _ returns: it ends and cleans up
        except subprocess.TimeoutExpired:
            labtest.kill_group(c)
            c.communicate()
    assert r.rc == 0 and r.out.split() == ["0", "mine"], r.describe()


def _children_of(pid):
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


# ---- names and records: given -------------------------------------------------------

@pytest.mark.given
def test_a_name_is_recorded_while_the_container_runs(step):
    with Named(step, "") as n:
        rec = labtest.record(n.name)
        assert int(rec["pid"]) == n.c.child_pid() and int(rec["lab"]) == n.c.pid, rec
    assert labtest.wait_until(lambda: not (labtest.RECORDS / n.name).exists()), "the record outlived it"


@pytest.mark.given
def test_a_name_in_use_is_refused(step):
    with Named(step, "") as n:
        r = run(step, "--name", n.name, "true")
        assert r.rc == 125 and len(r.err_lines) == 1 and "in use" in r.err_lines[0], r.describe()
        assert labtest.record(n.name).get("pid") == str(n.pid), "the refusal must leave the first one's record"
    assert run(step, "--name", n.name, "true").rc == 0, "the name is free again once the container ended"


@pytest.mark.given
def test_a_killed_steps_record_is_stale_and_goes(step):
    """SIGKILL leaves no chance to clean up: the record stays, but names a
    lab process that is gone. exec says the container has ended and removes
    it; the name can be used again."""
    name = unique_name()
    c = Running(step, "--name", name, "sh", "-c", "echo ready; read _")
    c.wait_for("ready")
    wait_recorded(name)
    os.kill(c.pid, signal.SIGKILL)
    c.kill()
    r = exec_in(step, name, "true")
    assert r.rc == 125 and len(r.err_lines) == 1 and "ended" in r.err_lines[0], r.describe()
    assert not (labtest.RECORDS / name).exists(), "exec should remove the stale record"
    assert run(step, "--name", name, "true").rc == 0


@pytest.mark.given
@pytest.mark.parametrize("args, words", [
    (["exec"], ["which container"]),
    (["exec", "x"], ["which command"]),
    (["exec", "--bogus", "x", "true"], ["--bogus", "unknown option"]),
    (["exec", "-e", "", "x", "true"], ["-e", "empty name"]),
    (["exec", "a/b", "true"], ["a/b", "letters, digits"]),
    (["exec", "..", "true"], ["must start with a letter"]),
    (["exec", "n" * 65, "true"], ["longer than 64"]),
    (["exec", "no-such-container", "true"], ["no-such-container", "no such container"]),
], ids=["none", "no-command", "bogus", "empty-env", "slash", "dots", "long", "missing"])
def test_exec_bad_input_is_refused_in_one_line(step, args, words):
    r = run(step, *args, raw_args=True)
    assert r.rc == 125 and len(r.err_lines) == 1, r.describe()
    assert all(w in r.err_lines[0] for w in words), r.describe()


@pytest.mark.given
def test_exec_help(step):
    r = run(step, "exec", "--help", raw_args=True)
    assert r.rc == 0 and "exec [OPTIONS] NAME" in r.out, r.describe()
