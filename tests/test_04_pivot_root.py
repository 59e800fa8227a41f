"""Step 04: pivot_root into the rootfs, the old root unmounted.

The chroot escape of step 03 fails now, and nothing of the host's
filesystem is reachable any more: not by "..", not through /proc/1/root.
"""

import labtest
from labtest import Running, run


def test_chroot_escape_fails(step, marker_file):
    path, token = marker_file
    r = run(step, "chroot-escape", path)
    assert r.rc == 1 and token not in r.out, (
        "after pivot_root the escape should find no host file\n" + r.describe())
    assert "still inside" in r.err, r.describe()


def test_no_way_up_or_through_proc(step, marker_file):
    path, token = marker_file
    script = (f"cat /proc/1/root{path} /proc/1/root/..{path} /..{path}; "
              f"echo top=$(ls /) up=$(cd /../../.. && ls); chroot-escape {path}; echo escape=$?")
    r = run(step, "sh", "-c", script)
    assert token not in r.out, f"the host's {path} was reachable\n" + r.describe()
    top, up = r.out.split("top=")[1].split("\n")[0].split(" up=")
    assert top == up and "proc" in top, "'..' from / should stay at /\n" + r.describe()
    assert "escape=1" in r.out.splitlines(), "chroot-escape should fail (exit 1)\n" + r.describe()


def test_only_the_containers_mounts_remain(step):
    """Seen from the host: the container's mount table holds its root (the
    bind-mounted rootfs) and its /proc, and nothing of the host's."""
    c = Running(step, "sh", "-c", "echo ready; read _")
    try:
        c.wait_for("ready")
        points = [m[0] for m in labtest.mount_table(c.child_pid()).elements()]
    finally:
        r = c.finish()
    assert r.rc == 0, r.describe()
    want = labtest.container_mounts(step)
    assert sorted(points) == want, (
        f"mount points inside: {sorted(points)}; expected only {want}\n" + r.describe())


def test_rootfs_is_left_as_it_was(step, rootfs, marker_file):
    """pivot_root(".", ".") needs no directory for the old root: nothing is
    created in the rootfs, and the escape is still closed."""
    before = sorted(p.name for p in rootfs.iterdir())
    r = run(step, "sh", "-c", f"chroot-escape {marker_file[0]}; echo escape=$?")
    assert "escape=1" in r.out.splitlines(), r.describe()
    assert sorted(p.name for p in rootfs.iterdir()) == before
