"""Step 12: a user namespace; root inside is nobody outside, and rootless.

Run by root: the container's ids 0..65535 are 100000.. on the host (or what
--uidmap/--gidmap say); inside, id says 0 and /proc/self/uid_map shows the
map; from the host the processes run as 100000; a file it makes in a volume
belongs to 100000, and a root-owned file of the host cannot be written
through a volume, root inside or not. The image layers still work: they are
idmapped, root's files are root's inside and can be changed in the
container's layer.

Run by an ordinary user, created for the test (with, and without, an
/etc/subuid range): a rootless container, its root the user; no veth; no
cgroup limits where none is delegated; a root-owned rootfs read-only inside.

--userns host (root only): no user namespace, the host's ids, as Docker's.
"""

import os
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

import labtest
from labtest import REPO, Running, run

ROOT = labtest.ROOT_ON_THE_HOST


def status_ids(pid):
    """(real uid, real gid) of a process, as the host sees them."""
    lines = dict(l.split(":", 1) for l in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in l)
    return int(lines["Uid"].split()[0]), int(lines["Gid"].split()[0])


def test_root_inside_is_an_ordinary_uid_outside(step):
    c = Running(step, "sh", "-c", "id -u; id -g; cat /proc/self/uid_map /proc/self/setgroups; echo ready; read _")
    try:
        out = c.wait_for("ready")
        ids = status_ids(c.child_pid())
    finally:
        r = c.finish()
    assert r.rc == 0, r.describe()
    lines = out.split("ready")[0].split("\n")
    assert lines[:2] == ["0", "0"], "inside, id should say 0\n" + r.describe()
    assert lines[2].split() == ["0", str(ROOT), "65536"], "uid_map inside: 0 100000 65536\n" + r.describe()
    assert lines[3] == "deny", "setgroups should say deny: the maps were written in order\n" + r.describe()
    assert ids == (ROOT, ROOT), f"from the host, the container's PID 1 runs as {ids}, not {ROOT}"


def test_maps_as_given(step):
    c = Running(step, "--uidmap", "0:200000:1000", "--gidmap", "0:300000:2000", "sh", "-c",
                "cat /proc/self/uid_map /proc/self/gid_map; echo ready; read _")
    try:
        out = c.wait_for("ready")
        ids = status_ids(c.child_pid())
    finally:
        r = c.finish()
    assert out.split()[:6] == ["0", "200000", "1000", "0", "300000", "2000"], r.describe()
    assert ids == (200000, 300000), f"the container runs as {ids} on the host"


def test_what_it_makes_in_a_volume_belongs_to_the_mapped_uid(step, tmp_path):
    vol = tmp_path / "vol"
    vol.mkdir(mode=0o777)
    vol.chmod(0o777)
    r = run(step, "-v", f"{vol}:/data", "sh", "-c", "echo made > /data/f; mkdir /data/d")
    assert r.rc == 0, r.describe()
    assert (vol / "f").stat().st_uid == ROOT and (vol / "d").stat().st_gid == ROOT, (
        f"files made inside should belong to {ROOT} on the host: {(vol / 'f').stat().st_uid}")


def test_a_root_owned_host_file_cannot_be_written_through_a_volume(step, tmp_path):
    """The escape of step 08, -v /etc:/mnt, made harmless: root inside is
    uid 100000 outside, and a file of the host's root is not its to write."""
    vol = tmp_path / "etc"
    vol.mkdir(mode=0o777)
    vol.chmod(0o777)
    secret = vol / "passwd"
    secret.write_text("root:x:0:0::/root:/bin/sh\n")
    secret.chmod(0o644)
    r = run(step, "-v", f"{vol}:/mnt", "sh", "-c", "id -u; cat /mnt/passwd; echo evil >> /mnt/passwd")
    assert r.out.split("\n")[0] == "0" and "root:x:0:0" in r.out, r.describe()
    assert r.rc != 0 and "Permission denied" in r.err, r.describe()
    assert secret.read_text() == "root:x:0:0::/root:/bin/sh\n", "the host's root-owned file changed"


def test_the_image_layers_are_roots_inside_and_still_copy_on_write(step, rootfs_copy, tmp_path):
    (rootfs_copy / "srv" / "data").mkdir(parents=True)
    (rootfs_copy / "srv" / "data" / "old").write_text("from the layer")
    before = {p: p.stat().st_mtime_ns for p in (rootfs_copy / "etc").iterdir()}
    # The directory made again must hide the layer's (an opaque mark): in a
    # user namespace overlayfs can keep that mark only in user.* xattrs. The
    # upper layer goes where the tests' files go (conftest.py): a tmpfs holds
    # no user.* xattrs before Linux 6.6, and /run/lab is one.
    r = run(step, "--layer", rootfs_copy, "--upper", tmp_path / "upper", "sh", "-c",
            "ls -ln /bin/busybox /etc/passwd; echo more >> /etc/passwd; rm /bin/vi; touch /etc/new; "
            "ls -ln /etc/new; rm -r /srv/data && mkdir /srv/data && echo made-again $(ls -A /srv/data)")
    assert r.rc == 0, r.describe()
    owners = [line.split()[2:4] for line in r.out.splitlines() if line.startswith("-")]
    assert owners and all(o == ["0", "0"] for o in owners), (
        "the image's files (root's on the host) should be root's inside, and so the new one\n" + r.describe())
    assert "made-again\n" in r.out, (
        "/srv/data, removed and made again, should be empty: it hides the layer's directory\n" + r.describe())
    assert {p: p.stat().st_mtime_ns for p in (rootfs_copy / "etc").iterdir()} == before
    assert (rootfs_copy / "bin" / "vi").is_symlink()


@pytest.mark.given
@pytest.mark.parametrize("opts, words", [
    (["--uidmap", "0:100000:65536", "--uidmap", "1000:300000:10"], ["--uidmap", "overlap"]),
    (["--uidmap", "0:100000:100", "--uidmap", "200:100050:10"], ["--uidmap", "overlap"]),
    (["--uidmap", "1:100000:100"], ["--uidmap", "root, id 0"]),
    (["--uidmap", "0:4294967290:100"], ["--uidmap", "beyond"]),
    (["--uidmap", "0:100000:0"], ["--uidmap", "SIZE 0"]),
    (["--uidmap", "0:100000"], ["--uidmap", "CONTAINER:HOST:SIZE"]),
    (["--gidmap", "x:1:1"], ["--gidmap", "CONTAINER:HOST:SIZE"]),
])
def test_bad_maps_are_refused(step, opts, words):
    r = run(step, *opts, "true")
    assert r.rc == 125 and len(r.err_lines) == 1 and all(w in r.err_lines[0] for w in words), r.describe()


# ---- --userns host ------------------------------------------------------------------

@pytest.mark.given  # the option is plumbing of common/ and of each main(): given
def test_userns_host_has_the_hosts_ids(step, tmp_path):
    """--userns host, as docker run's: no user namespace, the host's ids.
    The escape of step 08 is open again, on purpose (Docker's own default):
    a 0700 directory of the host's root is readable through a volume, and
    what the container makes there is root's."""
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    (private / "secret").write_text("the host's\n")
    c = Running(step, "--userns", "host", "-v", f"{private}:/data", "sh", "-c",
                "cat /proc/self/uid_map; cat /data/secret; echo made > /data/new; echo ready; read _")
    try:
        out = c.wait_for("ready")
        pid = c.child_pid()
        ns, ids = os.readlink(f"/proc/{pid}/ns/user"), status_ids(pid)
    finally:
        r = c.finish()
    assert r.rc == 0 and out.split()[:3] == ["0", "0", "4294967295"], (
        "inside, the host's identity map\n" + r.describe())
    assert ns == os.readlink("/proc/self/ns/user") and ids == (0, 0), (
        f"from the host: the container's PID 1 in the host's user namespace as 0:0 ({ns}, {ids})")
    assert "the host's" in out and (private / "new").stat().st_uid == 0, r.describe()


@pytest.mark.given
@pytest.mark.parametrize("opts, words", [
    (["--userns", "bogus"], ["--userns bogus", "only host"]),
    (["--userns", "host", "--uidmap", "0:100000:65536"], ["--uidmap", "not with --userns host"]),
])
def test_bad_userns_is_refused(step, opts, words):
    r = run(step, *opts, "true")
    assert r.rc == 125 and len(r.err_lines) == 1 and all(w in r.err_lines[0] for w in words), r.describe()


# ---- rootless ----------------------------------------------------------------------

@pytest.mark.parametrize("user, how", [(True, "newuidmap"), (False, "uid_map")], indirect=["user"],
                         ids=["subuid", "no-subuid"])
def test_a_rootless_container(step, user, user_lab, how):
    binary, rootfs = user_lab
    caps = ["--cap-add", "SYS_ADMIN"] if step >= 13 else []  # for hostname, from step 13 on
    r = labtest.run_as(user, binary, *caps, "--rootfs", rootfs, "sh", "-c",
               "id -u; cat /proc/self/uid_map; echo x > /made; ls -ln /made; hostname lab-rootless; "
               "hostname; echo > /dev/null && echo devnull")
    assert r.rc == 0, r.describe()
    lines = r.out.splitlines()
    assert lines[0] == "0" and lines[1].split() == ["0", str(user.pw_uid), "1"], (
        "rootless, the user is root inside: uid_map 0 UID 1\n" + r.describe())
    assert "lab-rootless" in lines and "devnull" in lines, r.describe()
    assert any(how in l for l in r.err.splitlines() if "[parent]" in l), (
        f"the narration should say the maps were written with {how}\n" + r.describe())
    assert not Path(f"/tmp/lab-{user.pw_uid}").exists(), "the rootless container's layers were left"


def test_rootless_processes_are_the_users(step, user, user_lab):
    binary, rootfs = user_lab
    c = subprocess.Popen([str(binary), "--rootfs", str(rootfs), "sh", "-c", "echo ready; read _"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         preexec_fn=labtest.as_user(user), start_new_session=True, env=labtest.step_env())
    try:
        assert c.stdout.readline() == b"ready\n"
        child = int(Path(f"/proc/{c.pid}/task/{c.pid}/children").read_text().split()[0])
        ids = status_ids(child)
    finally:
        c.communicate(b"\n", timeout=labtest.scaled(10))
    assert ids == (user.pw_uid, user.pw_gid), f"the rootless container runs as {ids} on the host"


def test_rootless_a_root_owned_rootfs_is_read_only_inside(step, user, user_lab, public_dir):
    """A copy of root's, where the user can reach it: the checkout itself
    may be in a directory only root can enter."""
    binary, _ = user_lab
    rootfs = public_dir / "roots"
    subprocess.run(["cp", "-a", str(labtest.default_rootfs()), str(rootfs)], check=True)
    r = labtest.run_as(user, binary, "--rootfs", rootfs, "sh", "-c",
               "cat /etc/hostname; ls -ln /etc/passwd; echo x >> /etc/passwd")
    assert r.rc != 0 and "lab" in r.out, r.describe()
    assert r.out.splitlines()[1].split()[2:4] == ["65534", "65534"], (
        "the host's root owns the rootfs, and is nobody inside\n" + r.describe())
    assert "files not yours are nobody's inside" in r.err, r.describe()


@pytest.mark.given
def test_rootless_refusals(step, user, user_lab, tmp_path):
    binary, rootfs = user_lab
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    subprocess.run(["cp", "-a", str(labtest.default_rootfs()), str(hidden / "rootfs")], check=True)
    hidden.chmod(0o700)
    cases = [(["--network", "bridge"], ["--network bridge", "slirp4netns or pasta"]),
             (["--uidmap", "0:0:1"], ["--uidmap", "your own"]),
             (["--rootfs", hidden / "rootfs"], ["rootfs", "Permission denied"]),
             (["--userns", "host"], ["--userns host", "needs root"])]
    if not labtest.delegated_cgroup_possible():
        cases.append((["--pids-limit", "10"], ["delegated"]))
    for opts, words in cases:
        r = labtest.run_as(user, binary, *([] if "--rootfs" in opts else ["--rootfs", rootfs]), *opts, "true")
        assert r.rc == 125 and len(r.err_lines) == 1 and all(str(w) in r.err_lines[0] for w in words), (
            r.describe())


def test_rootless_limits_where_cgroups_are_delegated(step, user, user_lab):
    """systemd gives each user a cgroup v2 subtree of its own; here the test
    does what systemd does (a group, given to the user), and runs the step
    in it. Where cgroup v2 has no pids controller (a v1 or hybrid host) there
    is nothing to delegate, and the limits are refused (test above)."""
    if not labtest.delegated_cgroup_possible():
        pytest.skip("no cgroup v2 pids controller here to delegate (the course VM runs this test)")
    binary, rootfs = user_lab
    _, root = labtest.layout("pids")
    deleg = Path(tempfile.mkdtemp(prefix="lab-user-", dir=root))
    try:
        Path(root, "cgroup.subtree_control").write_text("+pids")
        for f in [deleg, *deleg.glob("cgroup.*")]:
            os.chown(f, user.pw_uid, user.pw_gid)

        def enter_and_become():
            Path(deleg, "cgroup.procs").write_text(str(os.getpid()))
            labtest.as_user(user)()
        c = subprocess.Popen([str(binary), "--rootfs", str(rootfs), "--pids-limit", "17", "sh", "-c",
                              "echo ready; read _"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, preexec_fn=enter_and_become, start_new_session=True,
                             env=labtest.step_env())
        try:
            assert c.stdout.readline() == b"ready\n", c.stderr.read()
            limit = Path(deleg, "lab", str(c.pid), "pids.max").read_text().strip()
        finally:
            c.communicate(b"\n", timeout=labtest.scaled(10))
        assert c.returncode == 0 and limit == "17", f"pids.max in the delegated group: {limit}"
    finally:
        for d in sorted(deleg.rglob("*"), key=lambda p: -len(p.parts)) + [deleg]:
            if d.is_dir():
                for pid in Path(d, "cgroup.procs").read_text().split():
                    os.kill(int(pid), signal.SIGKILL)
                d.rmdir()


def test_the_devices_every_program_uses_work(step):
    """A file system mounted in a user namespace is nodev: the host's
    /dev/null, zero, full, random and urandom are bound in, and work."""
    r = run(step, "sh", "-c", "head -c 8 /dev/urandom | wc -c; head -c 8 /dev/random | wc -c; "
            "head -c 4 /dev/zero | wc -c; echo x >/dev/null && echo null-ok; "
            "echo x >/dev/full || echo full-refused")
    lines = r.out.split()
    assert r.rc == 0 and lines[:3] == ["8", "8", "4"], (
        "/dev/urandom, /dev/random and /dev/zero should be readable inside\n" + r.describe())
    assert "null-ok" in lines and "full-refused" in lines and "No space left" in r.err, (
        "/dev/null takes a write, /dev/full refuses one with ENOSPC\n" + r.describe())
