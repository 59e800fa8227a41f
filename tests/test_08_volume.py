"""Step 08: bind-mount volumes, -v HOST:CONTAINER[:ro|:rw].

A file written inside appears on the host and the other way round; under
:ro a write fails with "Read-only file system" even for root, and the host's
directory stays as it was. The host's mount table never shows the volumes.
"""

import os

import pytest

import labtest
from labtest import Running, run


@pytest.fixture
def host_dir(tmp_path, rng, step):
    d = tmp_path / f"vol-{rng.randrange(16**6):06x}"
    d.mkdir()
    return labtest.give_to_container(d, step)


def test_written_inside_appears_on_the_host(step, host_dir, rng):
    token = f"from-inside-{rng.randrange(16**10):010x}"
    r = run(step, "-v", f"{host_dir}:/mnt", "sh", "-c", f"echo {token} > /mnt/note")
    assert r.rc == 0, r.describe()
    assert (host_dir / "note").read_text() == token + "\n", r.describe()


def test_written_on_the_host_appears_inside(step, host_dir, rng):
    token = f"from-host-{rng.randrange(16**10):010x}"
    c = Running(step, "-v", f"{host_dir}:/mnt", "sh", "-c", "echo ready; read _; cat /mnt/later")
    try:
        c.wait_for("ready")
        (host_dir / "later").write_text(token)
    finally:
        r = c.finish()
    assert r.rc == 0 and token in r.out, r.describe()


def test_read_only_refuses_writes_even_for_root(step, host_dir, rng):
    token = f"ro-{rng.randrange(16**8):08x}"
    (host_dir / "keep").write_text(token)
    before = sorted(os.listdir(host_dir))
    r = run(step, "-v", f"{host_dir}:/mnt:ro", "sh", "-c",
            "id -u; cat /mnt/keep; echo; touch /mnt/new; echo x > /mnt/keep; rm /mnt/keep; true")
    assert r.rc == 0, r.describe()
    assert r.out.split()[:2] == ["0", token], "root inside should read the volume\n" + r.describe()
    assert r.err.count("Read-only file system") == 3, r.describe()
    assert sorted(os.listdir(host_dir)) == before and (host_dir / "keep").read_text() == token


def test_the_host_never_sees_the_bind_mounts(step, host_dir, host_unchanged, rng):
    token = f"seen-{rng.randrange(16**8):08x}"
    (host_dir / "t").write_text(token)
    c = Running(step, "-v", f"{host_dir}:/mnt", "sh", "-c", "cat /mnt/t; echo; echo ready; read _")
    try:
        out = c.wait_for("ready")
        assert token in out, "the volume is not visible inside"
        assert labtest.mount_table() == host_unchanged.mounts, "the host's mount table changed"
        inside = [m[0] for m in labtest.mount_table(c.child_pid()).elements()]
        assert sorted(inside) == sorted(labtest.container_mounts(step) + ["/mnt"]), inside
    finally:
        assert c.finish().rc == 0


def test_missing_mount_points_are_created_in_the_rootfs(step, host_dir, rootfs_copy, rng):
    token = f"deep-{rng.randrange(16**8):08x}"
    (host_dir / "f").write_text(token)
    r = run(step, "--rootfs", rootfs_copy, "-v", f"{host_dir}:/srv/app/data", "cat", "/srv/app/data/f",
            raw_args=True)
    assert r.rc == 0 and r.out == token, r.describe()
    # The image never changes: what the step made goes when the container
    # does (from step 11 on it is made in the container's own layer).
    assert not (rootfs_copy / "srv").exists(), "the mount point was left in the rootfs\n" + r.describe()


def test_a_file_volume(step, tmp_path, rootfs_copy, rng):
    token = f"file-{rng.randrange(16**8):08x}"
    f = tmp_path / "config"
    f.write_text(token)
    r = run(step, "--rootfs", rootfs_copy, "-v", f"{f}:/etc/app.conf:ro", "cat", "/etc/app.conf",
            raw_args=True)
    assert r.rc == 0 and r.out == token, r.describe()
    assert not (rootfs_copy / "etc" / "app.conf").exists(), "the mount point was left in the rootfs"


@pytest.mark.given  # the removal is common/points.c's, given
def test_the_image_keeps_nothing_a_volume_made(step, host_dir, rootfs_copy):
    """Only what the step made goes, deepest first, also when the command
    was not found, and when the lab process was killed (the next run
    removes it): what the rootfs held before stays."""
    (rootfs_copy / "opt").mkdir(exist_ok=True)
    (rootfs_copy / "opt" / "keep").write_text("mine")
    before = sorted(str(p.relative_to(rootfs_copy)) for p in rootfs_copy.rglob("*"))
    failed = run(step, "--rootfs", rootfs_copy, "-v", f"{host_dir}:/opt/a/b", "-v", f"{host_dir}:/zz/sub",
                 "no-such-command", raw_args=True)
    killed = Running(step, "--rootfs", rootfs_copy, "-v", f"{host_dir}:/zz/deeper/still", "sh", "-c",
                     "echo ready; read _", raw_args=True)
    killed.wait_for("ready")
    os.kill(killed.pid, 9)
    killed.p.wait()
    after_kill = (rootfs_copy / "zz").exists()
    r = run(step, "--rootfs", rootfs_copy, "true", raw_args=True)
    after = sorted(str(p.relative_to(rootfs_copy)) for p in rootfs_copy.rglob("*"))
    assert failed.rc == 127 and r.rc == 0, failed.describe() + r.describe()
    assert after == before, f"the rootfs changed: {sorted(set(after) ^ set(before))}\n" + r.describe()
    assert after_kill == (step < 11), "the killed run's mount points, before the next run"


def test_volumes_add_up(step, tmp_path, rng):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    labtest.give_to_container(b, step)
    (a / "x").write_text("A")
    r = run(step, "-v", f"{a}:/mnt:ro", "-v", f"{b}:/tmp", "sh", "-c", "cat /mnt/x > /tmp/copy")
    assert r.rc == 0 and (b / "copy").read_text() == "A", r.describe()


def _refused(r, *words):
    assert r.rc == 125, r.describe()
    assert len(r.err_lines) == 1, r.describe()
    for w in words:
        assert w in r.err_lines[0], f"the error should say {w!r}\n" + r.describe()


@pytest.mark.parametrize("spec, reason", [
    ("relative/dir:/mnt", "absolute host path"),
    ("{host}:mnt", "absolute container path"),
    ("{host}/no-such-dir:/mnt", "No such file"),
    ("{host}:/../etc", "'..'"),
    ("{host}:/mnt/../../etc", "'..'"),
    ("{host}:/mnt:rx", "unknown mode"),
    ("{host}::ro", "empty part"),
    (":/mnt", "empty part"),
    ("{host}:/mnt:", "empty part"),
    ("{host}", "HOST:CONTAINER"),
    ("{host}:/", "root"),
])
@pytest.mark.given
def test_bad_volume_specs_are_refused(step, host_dir, spec, reason):
    _refused(run(step, "-v", spec.format(host=host_dir), "true"), reason)


def test_symlinks_leading_out_of_the_rootfs_are_refused(step, host_dir, rootfs_copy, rng):
    name = f"escaped-{rng.randrange(16**8):08x}"
    (rootfs_copy / "up").symlink_to("../../../..")
    (rootfs_copy / "abs").symlink_to("/tmp")
    for target in [f"/up/{name}", f"/abs/{name}"]:
        r = run(step, "--rootfs", rootfs_copy, "-v", f"{host_dir}:{target}", "true", raw_args=True)
        _refused(r, "leads out of the rootfs")
    assert not (rootfs_copy / "../../../.." / name).exists() and not os.path.exists(f"/tmp/{name}")
