"""Step 13: capabilities, no_new_privs, masked and read-only paths.

Inside: Docker's default capabilities (0xa80425fb), nothing ambient or
inheritable, NoNewPrivs 1; mount, sethostname, a new link, reboot, a module,
a block device are refused, while a shell's ordinary work goes on;
--cap-add and --cap-drop as docker run; --privileged has them all.
/proc/kcore, /proc/keys and the rest read as empty (or not at all),
/proc/sys and its kind refuse writes (EROFS), /sys is read-only. The host's
own /proc is untouched.

What the container prints can be forged by the step (a `grep` of its own
in the rootfs), so the tests read the same facts from the host too: the
capability sets and NoNewPrivs of the container's shell from
/proc/PID/status, its mounts from /proc/PID/mountinfo.
"""

import glob
from pathlib import Path

import pytest

import labtest
from labtest import run

DOCKER_DEFAULT = 0xA80425FB
# runc's lists (the spec: steps/blocks.toml says the same).
# Docker's list (moby daemon/pkg/oci/defaults.go), with a thermal_throttle
# directory for each CPU that has one.
MASKED = ("/proc/asound /proc/acpi /proc/interrupts /proc/kcore /proc/keys /proc/latency_stats "
          "/proc/timer_list /proc/timer_stats /proc/sched_debug /proc/scsi /sys/firmware "
          "/sys/devices/virtual/powercap").split() + sorted(glob.glob("/sys/devices/system/cpu/cpu*/thermal_throttle"))
READONLY = "/proc/bus /proc/fs /proc/irq /proc/sys /proc/sysrq-trigger".split()


class Status(dict):
    """/proc/PID/status's capability lines, as numbers. A line the container
    did not print is an assertion that says so, not a KeyError."""

    def __missing__(self, key):
        raise AssertionError(f"the container printed no {key} line (its status lines: "
                             f"{sorted(self) or 'none'})")


def caps(out):
    """{'CapEff': 0xa80425fb, ...} and NoNewPrivs from /proc/self/status lines."""
    found = Status()
    for line in out.splitlines():
        key, _, value = line.partition(":")
        if key.startswith("Cap"):
            found[key] = int(value.strip(), 16)
        elif key == "NoNewPrivs":
            found[key] = int(value)
    return found


STATUS = "grep -E '^(Cap|NoNewPrivs)' /proc/self/status"


def from_host(step, *options):
    """The container's shell, seen from the host while it waits: its
    capability sets and NoNewPrivs, and its mounts by mount point."""
    c = labtest.Running(step, *options, "sh", "-c", "echo ready; read x")
    try:
        c.wait_for()
        pid = c.descendant("sh")
        status = labtest.proc_status(pid)
        mounts = {line.split()[4]: line for line in Path(f"/proc/{pid}/mountinfo").read_text().splitlines()}
    finally:
        c.finish()
    return caps("\n".join(f"{k}: {v}" for k, v in status.items())), mounts


def read_only(mountinfo_line):
    return mountinfo_line.split()[5].split(",")[0] == "ro"


def test_dockers_default_capabilities_and_no_new_privs(step):
    expected = {"CapInh": 0, "CapPrm": DOCKER_DEFAULT, "CapEff": DOCKER_DEFAULT, "CapBnd": DOCKER_DEFAULT,
                "CapAmb": 0, "NoNewPrivs": 1}
    seen, _ = from_host(step)
    assert seen == expected, ("from the host, the container's shell: "
                              f"{ {k: hex(v) for k, v in seen.items()} }")
    r = run(step, "sh", "-c", STATUS)
    assert r.rc == 0, r.describe()
    got = caps(r.out)
    assert got == {"CapInh": 0, "CapPrm": DOCKER_DEFAULT, "CapEff": DOCKER_DEFAULT, "CapBnd": DOCKER_DEFAULT,
                   "CapAmb": 0, "NoNewPrivs": 1}, (
        "inside: Docker's default set a80425fb in the permitted, effective and bounding sets, "
        f"none inheritable or ambient, NoNewPrivs 1; got { {k: hex(v) for k, v in got.items()} }\n"
        + r.describe())


def test_what_root_may_not_do_and_what_it_still_does(step):
    script = ("mount -t tmpfs x /mnt && echo MOUNTED; hostname other && echo RENAMED; "
              "ip link add lab-dummy type dummy && echo LINKED; mknod /tmp/disk b 8 0 && echo BLOCKDEV; "
              "reboot -f && echo REBOOTED; insmod /lib/modules/x.ko 2>/dev/null && echo MODULE; "
              "echo work > /tmp/f && chown 1:1 /tmp/f && mknod /tmp/pipe p && kill -0 $$ && echo ordinary-ok")
    seen, _ = from_host(step)
    assert seen["CapEff"] == DOCKER_DEFAULT, f"from the host: CapEff {seen['CapEff']:#x}"
    r = run(step, "sh", "-c", script)
    refused = [w for w in ("MOUNTED", "RENAMED", "LINKED", "BLOCKDEV", "REBOOTED", "MODULE") if w in r.out]
    assert not refused, f"root inside could still do: {refused}\n" + r.describe()
    assert "ordinary-ok" in r.out, "writing, chown, a fifo, kill should still work\n" + r.describe()
    assert "Operation not permitted" in r.err or "permission denied" in r.err, r.describe()


def test_cap_add_and_cap_drop_as_docker_run(step):
    mount = run(step, "--cap-add", "SYS_ADMIN", "sh", "-c", "mount -t tmpfs x /mnt && echo mounted")
    assert "mounted" in mount.out, "--cap-add SYS_ADMIN gives mount back\n" + mount.describe()
    chown = run(step, "--cap-drop", "chown", "sh", "-c", STATUS + "; touch /tmp/f; chown 1:1 /tmp/f")
    assert caps(chown.out)["CapEff"] == DOCKER_DEFAULT & ~1 and "Operation not permitted" in chown.err, (
        "--cap-drop chown (any case, with or without CAP_) takes CAP_CHOWN away\n" + chown.describe())
    seen = {opts: from_host(step, *opts)[0]["CapEff"] for opts in [("--cap-drop", "chown"),
            ("--cap-drop", "ALL", "--cap-add", "CAP_NET_BIND_SERVICE"), ("--cap-add", "SYS_ADMIN")]}
    assert list(seen.values()) == [DOCKER_DEFAULT & ~1, 1 << 10, DOCKER_DEFAULT | 1 << 21], (
        f"from the host, CapEff: { {' '.join(k): hex(v) for k, v in seen.items()} }")
    none = run(step, "--cap-drop", "ALL", "--cap-add", "CAP_NET_BIND_SERVICE", "sh", "-c", STATUS)
    assert caps(none.out)["CapEff"] == 1 << 10, "--cap-drop ALL --cap-add NET_BIND_SERVICE\n" + none.describe()
    every = run(step, "--cap-add", "all", "sh", "-c", STATUS)
    assert caps(every.out)["CapBnd"].bit_count() >= 40, every.describe()


def test_privileged_has_everything_and_no_masks(step):
    """--privileged undoes what the default does: every capability, no
    no_new_privs, mounts allowed, nothing masked."""
    script = (STATUS + "; mount -t tmpfs x /mnt 2>/dev/null && echo mounted; "
              "echo masks=$(grep -c ' /proc/sys ' /proc/self/mountinfo)")
    seen, mounts = from_host(step, "--userns", "host", "--privileged")
    _, default_mounts = from_host(step)
    assert seen["CapEff"].bit_count() >= 40 and seen["NoNewPrivs"] == 0 and "/proc/sys" not in mounts, (
        f"from the host, --privileged: CapEff {seen['CapEff']:#x}, NoNewPrivs {seen['NoNewPrivs']}, "
        f"/proc/sys mounted: {'/proc/sys' in mounts}")
    assert "/proc/sys" in default_mounts, "from the host: without --privileged, /proc/sys is a mount"
    default, r = run(step, "sh", "-c", script), run(step, "--userns", "host", "--privileged", "sh", "-c", script)
    got = caps(r.out)
    assert got["CapEff"].bit_count() >= 40 and got["NoNewPrivs"] == 0 and "mounted" in r.out, r.describe()
    assert "masks=0" in r.out, "--privileged masks nothing: no mount on /proc/sys\n" + r.describe()
    assert "mounted" not in default.out and "masks=0" not in default.out, (
        "without --privileged: no mount, and /proc/sys read-only\n" + default.describe())


def test_masked_paths_are_empty_or_denied(step):
    _, mounts = from_host(step)
    unmasked = [p for p in MASKED if Path(p).exists() and p not in mounts]
    assert not unmasked, f"from the host, these are not masked by a mount in the container: {unmasked}"
    # a directory lists nothing, a file reads nothing (or cannot be read)
    script = "; ".join(f"echo {p}=$(if [ -d {p} ]; then ls -A {p} | wc -l; else cat {p} 2>/dev/null | wc -c; fi)"
                       for p in MASKED)
    r = run(step, "sh", "-c", script + "; grep -E ' /(proc|sys)/' /proc/self/mountinfo | awk '{print $5}'")
    mounted = set(r.out.split())
    for p in MASKED:
        line = [l for l in r.out.splitlines() if l.startswith(p + "=")][0]
        assert line == f"{p}=0", f"{p} inside should read empty: {line}\n" + r.describe()
        if Path(p).exists():
            assert p in mounted, f"{p} exists in the kernel: it should be masked by a mount\n" + r.describe()


@pytest.mark.parametrize("path", [p for p in READONLY if Path(p).exists()])
def test_read_only_paths_refuse_writes(step, path):
    """Each is a read-only mount inside; a file of it, written even with
    every capability, fails with EROFS."""
    _, mounts = from_host(step, "--cap-add", "ALL")
    assert path in mounts and read_only(mounts[path]), (
        f"from the host, {path} in the container: {mounts.get(path, 'not a mount')}")
    target = {"/proc/sys": "/proc/sys/kernel/hostname", "/proc/irq": "/proc/irq/default_smp_affinity",
              "/proc/sysrq-trigger": "/proc/sysrq-trigger"}.get(path)
    r = run(step, "--cap-add", "ALL", "sh", "-c",
            (f"echo 1 > {target}; " if target else "") + f"grep ' {path} ' /proc/self/mountinfo")
    assert r.out.split()[5].split(",")[0] == "ro", f"{path} should be a read-only mount\n" + r.describe()
    if target:
        assert "Read-only file system" in r.err, (
            f"writing {target} should fail with EROFS even with every capability\n" + r.describe())


def test_sys_is_the_containers_and_read_only(step):
    _, mounts = from_host(step)
    assert "/sys" in mounts and read_only(mounts["/sys"]) and " sysfs " in mounts["/sys"], (
        f"from the host, /sys in the container: {mounts.get('/sys', 'not a mount')}")
    r = run(step, "--network", "bridge", "sh", "-c", "ls /sys/class/net; echo 1 > /sys/class/net/lo/mtu; "
            "grep ' /sys ' /proc/self/mountinfo")
    assert sorted(r.out.split("\n")[0:2]) == ["eth0", "lo"], "/sys should show the container's links\n" + r.describe()
    assert "Read-only file system" in r.err and " sysfs " in r.out, r.describe()


@pytest.mark.given  # it holds without the step's code too: it guards, it earns nothing
def test_the_hosts_proc_is_untouched(step, host_unchanged):
    keys = Path("/proc/keys").exists()
    r = run(step, "true")
    assert r.rc == 0, r.describe()
    assert labtest.mount_table() == host_unchanged.mounts
    assert Path("/proc/keys").exists() == keys and Path("/proc/sys/kernel/hostname").read_text().strip()


@pytest.mark.given
@pytest.mark.parametrize("opts, words", [
    (["--cap-add", "SYS_ADMN"], ["--cap-add", "SYS_ADMN", "no such capability"]),
    (["--cap-drop", "bogus"], ["--cap-drop", "no such capability"]),
    (["--cap-add", ""], ["--cap-add", "no such capability"]),
    (["--cap-add", "CAP_"], ["--cap-add", "no such capability"]),
    (["--privileged=yes"], ["--privileged", "takes no value"]),
    # moby's rule under userns-remap (daemon/daemon_unix.go), and the lab as root is that.
    (["--privileged"], ["--privileged", "needs --userns host"]),
])
def test_bad_capabilities_are_refused(step, opts, words):
    r = run(step, *opts, "true")
    assert r.rc == 125 and len(r.err_lines) == 1 and all(w in r.err_lines[0] for w in words), r.describe()


def test_a_capability_above_31_can_be_added(step):
    """Capabilities 32 and above live in the second word of capset(2)'s
    data: --cap-add PERFMON (38) and BPF (39) show in CapEff."""
    seen, _ = from_host(step, "--cap-add", "PERFMON", "--cap-add", "BPF")
    assert seen["CapEff"] == DOCKER_DEFAULT | 3 << 38, f"from the host: CapEff {seen['CapEff']:#x}"
    r = run(step, "--cap-add", "PERFMON", "--cap-add", "BPF", "grep", "^Cap", "/proc/self/status")
    plain = run(step, "grep", "^Cap", "/proc/self/status")
    got = caps(r.out)
    assert r.rc == 0 and got["CapEff"] >> 38 & 3 == 3 and got["CapPrm"] >> 38 & 3 == 3, (
        f"CapEff should hold bits 38 and 39: {got['CapEff']:#x}\n" + r.describe())
    assert caps(plain.out)["CapEff"] == DOCKER_DEFAULT, (
        "without --cap-add, Docker's default set only\n" + plain.describe())
