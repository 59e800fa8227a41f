"""Step 11: image layers on overlayfs.

Copy-on-write: what a container writes, changes or deletes never changes a
layer (checked byte for byte, the shared busybox rootfs too); a deletion is
a whiteout in the container's layer, a directory removed and made again is
opaque, and a whiteout in a higher layer hides a lower layer's file. The
init layer names the container. --upper keeps the container's layer,
--commit writes it as a new layer that runs. Nothing of overlayfs is left on
the host: no mount, no directory under /run/lab (the host check after every
test covers both), even after the step is killed.
"""

import hashlib
import os
import stat
import subprocess
from pathlib import Path

import pytest

import labtest
from labtest import REPO, Running, run

OPAQUE = "trusted.overlay.opaque"


def snapshot(root):
    """Everything about a tree that a write could change, path by path."""
    seen = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            st = p.lstat()
            if stat.S_ISREG(st.st_mode):
                what = hashlib.sha256(p.read_bytes()).hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                what = os.readlink(p)
            else:
                what = st.st_rdev
            seen[str(p.relative_to(root))] = (st.st_mode, st.st_uid, st.st_gid, what)
    return seen


CHANGES = ("echo new > /new-file; echo changed >> /etc/passwd; rm /bin/vi; rm -r /root; "
           "mkdir -p /srv/a/b; touch /srv/a/b/c; mv /etc/group /etc/group.moved; chmod 700 /tmp")


def test_writes_never_change_a_layer(step, rootfs_copy, rootfs):
    """Byte for byte, the layer a container ran on is as it was; the shared
    rootfs that the other steps use too."""
    mine, shared = snapshot(rootfs_copy), snapshot(rootfs)
    r = run(step, "--layer", rootfs_copy, "sh", "-c", CHANGES + "; cat /new-file; ls /bin/vi")
    assert r.rc != 0 and "new" in r.out and "No such file" in r.err, (
        "the changes should be seen inside\n" + r.describe())
    assert snapshot(rootfs_copy) == mine, "the container's writes changed its --layer"
    r = run(step, "sh", "-c", CHANGES)
    assert r.rc == 0, r.describe()
    after = snapshot(rootfs)
    changed = sorted(k for k in set(after) | set(shared) if after.get(k) != shared.get(k))
    assert not changed, f"the container changed the shared rootfs: {changed[:10]}"


def test_a_deletion_is_a_whiteout_in_the_containers_layer(step, tmp_path):
    upper = tmp_path / "upper"
    r = run(step, "--upper", upper, "sh", "-c", "rm /bin/vi; echo x > /added")
    assert r.rc == 0, r.describe()
    st = (upper / "bin" / "vi").lstat()
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0, (
        f"upper/bin/vi should be a whiteout, a character device 0/0: mode {oct(st.st_mode)}, "
        f"rdev {st.st_rdev}")
    assert (upper / "added").read_text() == "x\n"


def test_a_directory_removed_and_made_again_is_opaque(step, tmp_path, rootfs_copy):
    (rootfs_copy / "srv" / "data").mkdir(parents=True)
    (rootfs_copy / "srv" / "data" / "old").write_text("from the layer")
    upper = tmp_path / "upper"
    r = run(step, "--layer", rootfs_copy, "--upper", upper, "sh", "-c",
            "rm -r /srv/data; mkdir /srv/data; echo fresh > /srv/data/new; ls /srv/data")
    assert r.rc == 0 and r.out.split() == ["new"], (
        "the new /srv/data should hold only what was made in it\n" + r.describe())
    # In a user namespace (step 12 on) overlayfs keeps its marks in user.*.
    mark = OPAQUE if step < 12 else "user.overlay.opaque"
    assert os.getxattr(upper / "srv" / "data", mark) == b"y", (
        f"upper/srv/data should be opaque ({mark}=y): it hides the layer's directory")


def test_a_whiteout_in_a_higher_layer_hides_a_lower_file(step, tmp_path, rootfs_copy):
    top = tmp_path / "top"
    (top / "etc").mkdir(parents=True)
    os.mknod(top / "etc" / "group", stat.S_IFCHR | 0o600, os.makedev(0, 0))
    (top / "added").write_text("from the top layer\n")
    r = run(step, "--layer", rootfs_copy, "--layer", top, "sh", "-c",
            "cat /added; ls /etc/group; ls /etc/passwd")
    assert "from the top layer" in r.out and "/etc/passwd" in r.out, r.describe()
    assert "/etc/group: No such file" in r.err, (
        "the top layer's whiteout should hide the bottom layer's /etc/group\n" + r.describe())


def test_the_demo_image(step):
    subprocess.run(["make", "-s", "demo-image"], cwd=REPO, check=True,
                   env={k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL")})
    layer2 = REPO / "build" / "demo-image" / "layer2"
    r = run(step, "--layer", labtest.default_rootfs(), "--layer", layer2, "sh", "-c",
            "cat /hello; ls /bin/vi; ls /bin/ls")
    assert "hello from layer 2" in r.out and "/bin/ls" in r.out, r.describe()
    assert "/bin/vi: No such file" in r.err, r.describe()


def test_the_init_layer_names_the_container(step, rng, rootfs):
    name = f"box{rng.randrange(10**6)}"
    r = run(step, "--hostname", name, "--network", "bridge", "sh", "-c",
            "cat /etc/hostname; cat /etc/hosts; ip -o -4 addr show eth0")
    assert r.rc == 0, r.describe()
    addr = r.out.split("inet ")[1].split("/")[0]
    assert r.out.split("\n")[0] == name, "/etc/hostname inside should be the container's name\n" + r.describe()
    assert any(line.split() == [addr, name] for line in r.out.splitlines()), (
        f"/etc/hosts should map the container's address {addr} to {name}\n" + r.describe())
    assert (rootfs / "etc" / "hostname").read_text() == "lab\n", "the rootfs's /etc/hostname changed"


def test_a_commit_is_a_layer_that_runs(step, tmp_path, rootfs_copy):
    commit = tmp_path / "commit"
    r = run(step, "--layer", rootfs_copy, "--commit", commit, "--hostname", "committed", "sh", "-c",
            "echo saved > /greeting; rm /bin/vi; echo changed > /etc/hostname; echo x >> /etc/hosts")
    assert r.rc == 0, r.describe()
    st = (commit / "bin" / "vi").lstat()
    assert (commit / "greeting").read_text() == "saved\n", "the commit lacks what the container wrote"
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0, "the commit should keep the deletion as a whiteout"
    assert not (commit / "etc" / "hostname").exists() and not (commit / "etc" / "hosts").exists(), (
        "the init layer's files belong to the container, not to a commit")
    r = run(step, "--layer", rootfs_copy, "--layer", commit, "sh", "-c", "cat /greeting; ls /bin/vi")
    assert "saved" in r.out and "/bin/vi: No such file" in r.err, (
        "the committed layer, run with --layer, should show the first container's changes\n" + r.describe())


def test_upper_keeps_the_containers_layer_for_the_next_run(step, tmp_path, rootfs_copy):
    upper = tmp_path / "kept"
    before = snapshot(rootfs_copy)
    first = run(step, "--layer", rootfs_copy, "--upper", upper, "sh", "-c", "echo 1 > /counter")
    second = run(step, "--layer", rootfs_copy, "--upper", upper, "sh", "-c",
                 "cat /counter; echo 2 > /counter")
    assert first.rc == second.rc == 0 and second.out == "1\n", second.describe()
    assert (upper / "counter").read_text() == "2\n" and snapshot(rootfs_copy) == before
    assert not list(tmp_path.glob("kept.lab-work-*")), "the work dir beside --upper should go"


def test_the_layers_are_there_while_it_runs_and_gone_after_a_kill(step):
    c = Running(step, "sh", "-c", "echo ready; read _")
    c.wait_for("ready")
    scratch = Path("/run/lab/layers") / str(c.pid)
    mounts = [m[2] for m in labtest.mount_table(c.child_pid())]
    assert scratch.is_dir() and "overlay" in " ".join(str(x) for x in labtest.mount_table(c.child_pid())), (
        f"while it runs: {scratch} and an overlay mount inside ({mounts})")
    c.p.kill()  # the step itself, mid-run: nothing cleans up
    c.kill()
    r = run(step, "true")
    assert r.rc == 0 and not scratch.exists(), (
        f"{scratch}, left by a killed step, should be removed by the next start\n" + r.describe())


@pytest.mark.slow
def test_twenty_containers_on_the_same_layers_see_their_own_writes(step, rootfs_copy):
    cs = [Running(step, "--layer", rootfs_copy, "sh", "-c",
                  f"echo {i} > /mine-{i}; echo ready; read _; ls / | grep -c mine-") for i in range(20)]
    try:
        for c in cs:
            c.wait_for("ready", timeout=30)
    finally:
        results = [c.finish(timeout=30) for c in cs]
    assert all(r.rc == 0 and r.out.split()[-1] == "1" for r in results), (
        "each container should see one /mine-N, its own: "
        + ", ".join(r.out.split()[-1] if r.out.split() else "?" for r in results))
    assert not list(rootfs_copy.glob("mine-*"))


def test_a_volume_binds_over_the_merged_tree(step, tmp_path, rootfs_copy):
    host, upper = tmp_path / "vol", tmp_path / "upper"
    host.mkdir()
    labtest.give_to_container(host, step)
    r = run(step, "--layer", rootfs_copy, "--upper", upper, "-v", f"{host}:/data/in/here", "sh", "-c",
            "echo through > /data/in/here/f")
    assert r.rc == 0 and (host / "f").read_text() == "through\n", r.describe()
    assert (upper / "data" / "in" / "here").is_dir() and not (upper / "data" / "in" / "here" / "f").exists(), (
        "the mount point belongs in the container's layer, and the write in the volume")
    assert not (rootfs_copy / "data").exists(), "the mount point was made in an image layer"


@pytest.mark.given
def test_bad_layers_are_refused(step, tmp_path, rootfs):
    afile = tmp_path / "file"
    afile.write_text("")
    cases = [(["--layer", tmp_path / "missing"], ["--layer", "No such file"]),
             (["--layer", afile], ["--layer", "Not a directory"]),
             (["--layer", rootfs, "--upper", rootfs / "up"], ["--upper", "overlap"]),
             (["--upper", rootfs], ["--upper", "overlap"]),
             (["--commit", rootfs], ["--commit", "not an empty directory"])]
    for opts, words in cases:
        r = run(step, *opts, "true")
        assert r.rc == 125 and len(r.err_lines) == 1 and all(w in r.err_lines[0] for w in words), r.describe()


@pytest.mark.given
def test_an_upper_where_no_work_dir_can_be_made_is_refused(step, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    subprocess.run(["mount", "--bind", "-o", "ro", str(ro), str(ro)], check=True)
    try:
        r = run(step, "--upper", ro / "upper", "true")
    finally:
        subprocess.run(["umount", str(ro)], check=True)
    assert r.rc == 125 and len(r.err_lines) == 1 and "Read-only file system" in r.err_lines[0], r.describe()


@pytest.mark.given
def test_more_layers_than_one_mount_takes_are_refused(step, tmp_path, rootfs):
    layers = []
    for i in range(60):
        d = tmp_path / (f"layer-{i:02d}-" + "x" * 80)
        d.mkdir()
        layers += ["--layer", d]
    r = run(step, "--layer", rootfs, *layers, "true")
    assert r.rc == 125 and len(r.err_lines) == 1, r.describe()
    assert "more than the 4095 one mount(2) takes" in r.err_lines[0] and "layers with paths this long fit" \
        in r.err_lines[0], r.describe()


def test_the_init_layer_holds_resolv_conf(step):
    """/etc/resolv.conf is the container's, from the init layer: it says
    there is no name server (the rootfs's own, if any, is not used)."""
    r = run(step, "cat", "/etc/resolv.conf")
    assert r.rc == 0 and "no name server" in r.out, (
        "/etc/resolv.conf inside should be the init layer's\n" + r.describe())
