"""Step 16: a pod, and --network host.

--pod NAME: the pod's first container makes its infra ("pause") process,
which holds the pod's user, network, IPC and UTS namespaces; every
container of the pod joins them, and keeps a mount and PID namespace of its
own (one PID namespace for the pod with --share-pid). Inside: two
containers of a pod talk over localhost, have the pod's name, see each
other's IPC objects, and have the same /proc/self/ns inodes for those
namespaces; containers of two pods do not. From the host: killing one
container leaves the others and the pod's address alone; the pod ends with
its last container (no infra, veth, group or record left: the host check
after every test), or with ./step-16 pod rm NAME. The pod has one cgroup,
lab/pod-NAME, with the infra's and each container's below it. 20 containers in 5 pods
at once, and SIGKILL of a step or of an infra at any point, leave nothing
behind either.

--network host: no network namespace; the host's links, and its /sys,
read-only. --network container:NAME: NAME's network (and user) namespace,
its address and name, and nothing else of it.
"""

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

import labtest
from labtest import Running, exec_in, run, unique_name, wait_recorded

NS = "echo ns=$(for n in ipc net user uts; do readlink /proc/self/ns/$n; done | tr '\\n' ' '); "
OWN = "echo own=$(for n in mnt pid; do readlink /proc/self/ns/$n; done | tr '\\n' ' '); "


def field(out, key):
    return next((l.split("=", 1)[1] for l in out.splitlines() if l.startswith(key + "=")), None)


class Member:
    """A container of a pod, running `script`, then waiting on stdin."""

    def __init__(self, step, pod, script, *opts):
        self.name = unique_name("m")
        self.c = Running(step, "--pod", pod, "--name", self.name, *opts, "sh", "-c",
                         script + "echo ready; read _")
        self.out = self.c.wait_for("ready")
        self.pid = wait_recorded(self.name)

    def finish(self):
        return self.c.finish()


def pod_record(pod):
    path = labtest.RUN_DIR / "pods" / pod
    try:
        return dict(l.split("=", 1) for l in path.read_text().splitlines() if "=" in l)
    except FileNotFoundError:
        return {}


def test_containers_of_a_pod_share_its_network_name_and_ipc(step):
    pod = unique_name("p")
    first = Member(step, pod, NS + OWN + "hostname; ipcmk -Q -k 4343 >/dev/null; "
                   "mkdir /www; echo hello from the first >/www/index.html; httpd -p 8080 -h /www; ", "--network", "bridge")
    try:
        r = run(step, "--pod", pod, "sh", "-c", NS + OWN + "hostname; ip -o -4 addr show eth0; "
                "cat /proc/sysvipc/msg; wget -qO- http://127.0.0.1:8080/")
    finally:
        first.finish()
    assert r.rc == 0, r.describe()
    assert field(r.out, "ns") == field(first.out, "ns"), (
        "a pod's containers share its IPC, network, user and UTS namespaces\n"
        f"first: {field(first.out, 'ns')}\n" + r.describe())
    assert set(field(r.out, "own").split()).isdisjoint(field(first.out, "own").split()), (
        "each keeps a mount and PID namespace of its own\n" + r.describe())
    assert "hello from the first" in r.out, "over localhost, to the first container's httpd (listening before it said ready)\n" + r.describe()
    assert pod in r.out.split() and pod in first.out.split(), "the pod's name is each one's hostname"
    assert any(l.split()[:1] == ["4343"] for l in r.out.splitlines()), "the first one's queue\n" + r.describe()
    assert "inet 10.200." in r.out or "inet " in r.out, "the pod's eth0\n" + r.describe()


def test_containers_of_two_pods_are_apart(step):
    a, b = unique_name("p"), unique_name("p")
    first = Member(step, a, NS + "ipcmk -Q -k 4444 >/dev/null; ")
    try:
        r = run(step, "--pod", b, "sh", "-c", NS + "hostname; cat /proc/sysvipc/msg")
    finally:
        first.finish()
    theirs, mine = field(first.out, "ns").split(), field(r.out, "ns").split()
    assert r.rc == 0 and set(theirs).isdisjoint(mine), (
        "two pods share no namespace\n" f"pod {a}: {theirs}\n" + r.describe())
    assert b in r.out.split() and "4444" not in r.out, r.describe()


def test_killing_one_container_leaves_the_pod(step):
    pod = unique_name("p")
    first = Member(step, pod, "ip -o -4 addr show eth0; ", "--network", "bridge")
    second = Member(step, pod, "")
    infra = int(pod_record(pod)["infra"])
    os.kill(first.pid, signal.SIGKILL)
    assert first.c.wait().rc == 137
    r = exec_in(step, second.name, "ip", "-o", "-4", "addr", "show", "eth0")
    alive = labtest.process_alive(infra)
    second.finish()
    assert alive, "the pod's infra should outlive its first container"
    assert r.rc == 0 and first.out.split("inet ")[1].split()[0] in r.out, (
        "the pod keeps its address when a container of it is killed\n" + r.describe())


def test_the_pod_ends_with_its_last_container(step):
    pod = unique_name("p")
    member = Member(step, pod, "", "--network", "bridge")
    rec = pod_record(pod)
    infra = int(rec["infra"])
    assert Path(f"/sys/class/net/lab{infra}").exists(), f"the pod's veth lab{infra}"
    member.finish()
    assert not labtest.process_alive(infra), "the infra outlived the pod's last container"
    assert not pod_record(pod) and labtest.wait_until(
        lambda: not Path(f"/sys/class/net/lab{infra}").exists(), timeout=2)


def test_a_pods_infra_and_containers_share_its_group(step):
    """One cgroup for the pod, lab/pod-NAME: its infra and each container in
    a group below it, in every controller's hierarchy (the kubelet puts a
    pod's under kubepods/[QoS class/]pod<UID>/); the pod's group goes with the pod."""
    pod = unique_name("p")
    members = [Member(step, pod, "") for _ in range(2)]
    try:
        infra = int(pod_record(pod)["infra"])
        wanted = {infra: infra, **{m.c.pid: m.c.descendant("sh") for m in members}}  # groups: lab pids
        found = {}
        for controller in ("cpu", "memory", "pids"):
            _, root = labtest.layout(controller)
            for group, pid in wanted.items():
                procs = Path(root, "lab", f"pod-{pod}", str(group), "cgroup.procs")
                found[controller, group] = procs.exists() and str(pid) in procs.read_text().split()
    finally:
        for m in members:
            m.finish()
    missing = [f"{controller}: lab/pod-{pod}/{group}" for (controller, group), ok in found.items() if not ok]
    assert not missing, f"these groups should exist and hold the pod's processes: {missing}"
    gone = labtest.wait_until(lambda: not any(Path(labtest.layout(c)[1], "lab", f"pod-{pod}").exists()
                                              for c in ("cpu", "memory", "pids")))
    assert gone, f"lab/pod-{pod} should go with the pod's last container"


def test_share_pid_gives_the_pod_one_pid_namespace(step):
    """Kubernetes' shareProcessNamespace: the infra is PID 1, and reaps."""
    pod = unique_name("p")
    first = Member(step, pod, "", "--share-pid")
    try:
        r = run(step, "--pod", pod, "--share-pid", "sh", "-c",
                "(sleep 0 &); sleep 0.3; ps -o pid,stat,args")
    finally:
        first.finish()
    lines = r.out.splitlines()
    assert r.rc == 0 and any(l.split()[:3] == ["1", "S", "pause"] for l in lines), (
        "with --share-pid the pod's PID 1 is its infra\n" + r.describe())
    assert "read _" in r.out, "the first container's shell is in sight\n" + r.describe()
    assert not any(l.split()[1:2] == ["Z"] for l in lines[1:]), "pause reaps orphans\n" + r.describe()


def test_pod_rm_ends_its_containers_and_its_infra(step):
    pod = unique_name("p")
    members = [Member(step, pod, "") for _ in range(2)]
    infra = int(pod_record(pod)["infra"])
    r = run(step, "pod", "rm", pod, raw_args=True)
    rcs = [m.c.wait().rc for m in members]
    assert r.rc == 0 and rcs == [137, 137], r.describe()
    assert labtest.wait_until(lambda: not labtest.process_alive(infra) and not pod_record(pod))


@pytest.mark.given  # common/container.c's check
def test_network_container_and_userns_host_must_agree(step):
    """A network namespace belongs to the user namespace that made it: a
    container with --userns host cannot join one made in a user namespace,
    nor one in a user namespace the network of a --userns host container
    (moby joins both, daemon/oci_linux.go)."""
    names = [unique_name("w"), unique_name("h")]
    runs = [Running(step, "--name", names[0], "sh", "-c", "echo ready; read _"),
            Running(step, "--name", names[1], "--userns", "host", "sh", "-c", "echo ready; read _")]
    try:
        for c, name in zip(runs, names):
            c.wait_for("ready")
            wait_recorded(name)
        into_userns = run(step, "--userns", "host", "--network", f"container:{names[0]}", "true")
        into_host = run(step, "--network", f"container:{names[1]}", "true")
        both_host = run(step, "--userns", "host", "--network", f"container:{names[1]}", "sh", "-c",
                        "readlink /proc/self/ns/net")
    finally:
        for c in runs:
            c.finish()
    assert into_userns.rc == 125 and "not with --userns host" in into_userns.err, into_userns.describe()
    assert into_host.rc == 125 and "has --userns host" in into_host.err, into_host.describe()
    assert both_host.rc == 0 and both_host.out.strip() != os.readlink("/proc/self/ns/net"), both_host.describe()


@pytest.mark.given  # common/infra.c's join, the pod-join block's mechanism (scored by the pod tests)
def test_network_container_shares_that_containers_network_alone(step):
    """--network container:NAME, as docker run's: NAME's network namespace,
    and its user namespace (moby joins both: a network namespace belongs to
    the user namespace that made it), NAME's hostname; a mount, PID, IPC
    and UTS namespace of its own. From the host: the same network and user
    namespace inodes as NAME's PID 1."""
    name = unique_name("w")
    web = Running(step, "--name", name, "--network", "bridge", "sh", "-c",
                  NS + OWN + "hostname; ip -o -4 addr show eth0; mkdir /www; echo hello from web >/www/index.html; "
                  "httpd -p 8080 -h /www; ipcmk -Q -k 4545 >/dev/null; echo ready; read _")
    out = web.wait_for("ready")
    wait_recorded(name)
    joined = Running(step, "--network", f"container:{name}", "sh", "-c",
                     NS + OWN + "hostname; ip -o -4 addr show eth0; wget -qO- http://127.0.0.1:8080/; "
                     "cat /proc/sysvipc/msg; echo ready; read _")
    try:
        mine = joined.wait_for("ready")
        theirs = {k: labtest.ns_id(web.descendant("sh"), k) for k in ("net", "user", "uts", "ipc")}
        ours = {k: labtest.ns_id(joined.descendant("sh"), k) for k in ("net", "user", "uts", "ipc")}
    finally:
        r = joined.finish()
        web.finish()
    assert r.rc == 0 and "hello from web" in mine, (
        f"over localhost, to {name}'s httpd\n" + r.describe())
    assert [ours[k] == theirs[k] for k in ("net", "user", "uts", "ipc")] == [True, True, False, False], (
        f"from the host: the network and user namespaces are {name}'s, UTS and IPC its own\n"
        f"{name}: {theirs}\njoined: {ours}")
    ipc, net, user, uts = field(mine, "ns").split()
    assert [net, user] == field(out, "ns").split()[1:3] and ipc != field(out, "ns").split()[0], r.describe()
    assert set(field(mine, "own").split()).isdisjoint(field(out, "own").split()), (
        "a mount and PID namespace of its own\n" + r.describe())
    eth0 = [line.split()[3] for line in out.splitlines() if " eth0 " in line]
    assert eth0 and eth0[0] in mine, f"{name}'s address {eth0}, on the same eth0\n" + r.describe()
    hostname = out.splitlines()[2]
    assert hostname in mine.splitlines(), f"{name}'s hostname {hostname!r}\n" + r.describe()
    assert "4545" not in mine, f"{name}'s message queue is not in sight: IPC is its own\n" + r.describe()


def test_network_host_has_the_hosts_links(step):
    r = run(step, "--network", "host", "--userns", "host", "sh", "-c", "ls /sys/class/net; readlink /proc/self/ns/net; "
            "touch /sys/x 2>&1; true")
    links = set(os.listdir("/sys/class/net"))
    assert r.rc == 0 and links <= set(r.out.split()), "the host's links, all of them\n" + r.describe()
    assert os.readlink("/proc/self/ns/net") in r.out.split(), "the host's network namespace\n" + r.describe()
    # Read-only, not only closed to the container's root (EACCES): EROFS.
    assert "Read-only file system" in r.out, "the host's /sys, bound read-only\n" + r.describe()


def test_network_host_brings_none_of_the_hosts_cgroups(step):
    """/sys is bound alone, not with the mounts below it (the host's cgroup
    hierarchies, read-write). With SYS_ADMIN a container may unmount its own
    /sys/fs/cgroup: under it is sysfs's empty directory, never the host's
    groups (release_agent, cgroup.subtree_control)."""
    r = run(step, "--network", "host", "--userns", "host", "--cap-add", "SYS_ADMIN", "sh", "-c",
            "ls /sys/class/net; for i in 1 2 3 4; do umount -l /sys/fs/cgroup 2>/dev/null; done; "
            "echo cgroup:; ls -A /sys/fs/cgroup; awk '$5 ~ \"^/sys/fs\" {print $5}' /proc/self/mountinfo")
    listing, _, rest = r.out.partition("cgroup:\n")
    links = set(os.listdir("/sys/class/net"))
    assert r.rc == 0 and links <= set(listing.split()), "the host's /sys\n" + r.describe()
    assert rest.split() == [], (
        "with /sys/fs/cgroup unmounted, nothing of the host's should be left under /sys/fs\n" + r.describe())
    # From the host: the host's hierarchies would be there under the
    # container's own cgroup view, each mount point twice.
    c = Running(step, "--network", "host", "--userns", "host", "sh", "-c", "echo ready; read _")
    try:
        c.wait_for("ready")
        points = [l.split()[4] for l in Path(f"/proc/{c.descendant('sh')}/mountinfo").read_text().splitlines()]
    finally:
        c.finish()
    under = [p for p in points if p.startswith("/sys/")]
    assert len(under) == len(set(under)), f"mounts under /sys stacked on the host's: {sorted(under)}"


@pytest.mark.given  # the infra is made by common/infra.c, given
def test_the_infra_has_a_root_of_its_own(step, tmp_path):
    """With --share-pid the infra is PID 1 of the pod's containers: its
    mount table, which they can read, is an empty root of its own, not the
    host's; and it holds no descriptor but 0, 1, 2 (seen from the host),
    nor one the first container's lab process was started with."""
    pod = unique_name("p")
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    os.dup2(fd, 42, inheritable=True)
    os.close(fd)
    try:
        first = Running(step, "--pod", pod, "--share-pid", "sh", "-c",
                        "cat /proc/1/mountinfo; echo ready; read _", pass_fds=(42,))
    finally:
        os.close(42)
    try:
        out = first.wait_for("ready")
        infra = int(pod_record(pod)["infra"])
        held = {int(n) for n in os.listdir(f"/proc/{infra}/fd")}
    finally:
        first.finish()
    points = [line.split()[4] for line in out.splitlines() if len(line.split()) > 4]
    assert points == ["/"], "the infra's mount table: its own root, nothing of the host's\n" + out
    assert held == {0, 1, 2}, f"the infra holds {sorted(held)}"


@pytest.mark.slow
def test_twenty_containers_in_five_pods(step):
    pods = [unique_name("p") for _ in range(5)]
    firsts = [Member(step, pod, NS, "--network", "bridge") for pod in pods]
    others = [Running(step, "--pod", pod, "sh", "-c", NS + "hostname; echo ready; read _")
              for pod in pods for _ in range(3)]
    try:
        outs = [o.wait_for("ready", timeout=30) for o in others]
    finally:
        results = [o.finish() for o in others] + [f.finish() for f in firsts]
    by_pod = {}
    for i, out in enumerate(outs):
        by_pod.setdefault(pods[i // 3], set()).add(field(out, "ns"))
    for pod, first in zip(pods, firsts):
        assert by_pod[pod] == {field(first.out, "ns")}, f"pod {pod}: {by_pod[pod]}"
    assert len({field(f.out, "ns") for f in firsts}) == 5
    assert all(r.rc == 0 for r in results), [r.describe() for r in results if r.rc]


@pytest.mark.slow
def test_sigkill_of_a_step_or_an_infra_at_any_point(step, host_unchanged):
    """Nothing can clean up after SIGKILL; the next start sweeps what is
    left: the record, the pod whose containers are all gone, its infra,
    veth and group. A killed infra takes the pod along."""
    rng = random.Random(os.getpid())
    pod = unique_name("p")
    for i in range(8):
        p = subprocess.Popen([str(labtest.step_bin(step)), *labtest.base_args(step), "--pod", pod,
                              *(["--network", "bridge"] if i % 2 else []), "sh", "-c", "read _"],
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env=labtest.step_env())
        time.sleep(rng.uniform(0, 0.03))
        record = pod_record(pod) if i % 3 == 2 else None
        if record and "infra" in record:
            try:
                os.kill(int(record["infra"]), signal.SIGKILL)
            except ProcessLookupError:
                pass  # an infra killed earlier whose record the next start has not swept yet
        p.kill()
        p.wait()
    r = run(step, "--pod", pod, "true")
    assert r.rc == 0, "a normal start after killed ones\n" + r.describe()
    assert labtest.wait_until(lambda: not host_unchanged.diff(labtest.HostState.now()), timeout=10), (
        "left behind: " + "; ".join(host_unchanged.diff(labtest.HostState.now())))


def test_exec_into_a_pods_container(step):
    pod = unique_name("p")
    m = Member(step, pod, "echo mark > /tmp/mark; ")
    try:
        r = exec_in(step, m.name, "sh", "-c", "hostname; cat /tmp/mark; ps -o args")
    finally:
        m.finish()
    assert r.rc == 0 and r.out.split()[:2] == [pod, "mark"] and "read _" in r.out, r.describe()


# ---- refusals: given ----------------------------------------------------------------

@pytest.mark.given
def test_options_that_conflict_with_the_pod_are_refused(step):
    pod = unique_name("p")
    m = Member(step, pod, "")
    try:
        results = {what: run(step, "--pod", pod, *opts, "true") for what, opts in [
            ("--hostname", ["--hostname", "other"]), ("--network bridge", ["--network", "bridge"]),
            ("--share-pid", ["--share-pid"]), ("--uidmap", ["--uidmap", "0:200000:65536"])]}
    finally:
        m.finish()
    for what, r in results.items():
        assert r.rc == 125 and len(r.err_lines) == 1 and what in r.err_lines[0], r.describe()


@pytest.mark.given
@pytest.mark.parametrize("args, words", [
    (["--share-pid", "true"], ["--share-pid", "only with --pod"]),
    (["--network", "host", "--ip", "10.200.0.2/30", "true"], ["--network host", "--ip"]),
    (["--network", "host", "--pod", "x", "true"], ["--network host", "--pod"]),
    (["--network", "host", "true"], ["--network host", "needs --userns host"]),
    (["--userns", "host", "--pod", "x", "true"], ["--userns host", "not with --pod"]),
    (["--network", "bogus", "true"], ["--network bogus", "unknown network", "host"]),
    (["--net=container:nosuch", "true"], ["--network container:nosuch", "no running container nosuch"]),
    (["--network", "container:web", "--hostname", "h", "true"], ["conflicting options: hostname"]),
    (["--pod", "a/b", "true"], ["--pod", "letters, digits"]),
    (["--pod", "", "true"], ["--pod", "empty"]),
    (["pod", "rm", "no-such-pod"], ["pod rm no-such-pod", "no such pod"]),
    (["pod", "ls"], ["pod rm NAME"]),
    (["pod", "rm", "a/b"], ["pod rm", "letters, digits"]),
], ids=["share-pid-alone", "host-and-ip", "host-and-pod", "host-in-userns", "userns-host-pod", "bogus", "container", "container-hostname", "pod-slash", "pod-empty",
        "rm-missing", "pod-ls", "rm-slash"])
def test_pod_bad_input_is_refused_in_one_line(step, args, words):
    r = run(step, *args, raw_args=args[0] == "pod")
    assert r.rc == 125 and len(r.err_lines) == 1, r.describe()
    assert all(w in r.err_lines[0] for w in words), r.describe()
