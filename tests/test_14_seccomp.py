"""Step 14: seccomp, a classic BPF filter.

Inside: /proc/self/status says Seccomp 2 (a filter); each call Docker's
default profile refuses fails with EPERM, tried one at a time by the
rootfs's `syscalls` helper with arguments that change nothing (and never a
clock); the calls a shell needs still work; on x86-64 an x32 call is killed
(SIGSYS), and so is a 32-bit one where the kernel can make it at all.
--security-opt seccomp=unconfined: no filter, and the same calls get the
kernel's own answers. As Docker's, the filter lets a
call through where the container has its capability (--cap-add SYS_ADMIN:
mount).
"""

import platform

import pytest

import labtest
from labtest import run

DENIED = ["reboot", "mount", "umount2", "pivot_root", "keyctl", "add_key", "request_key",
          "perf_event_open", "unshare", "setns", "clock_settime", "settimeofday", "bpf",
          "init_module", "finit_module", "delete_module", "kexec_load", "swapon", "swapoff", "acct",
          "open_by_handle_at", "userfaultfd", "kcmp", "pidfd_getfd", "process_madvise",
          "get_mempolicy", "set_mempolicy", "mbind", "move_pages", "io_uring_setup"]


def results(out):
    return dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)


def test_a_filter_is_loaded(step):
    r = run(step, "sh", "-c", "grep -E '^Seccomp' /proc/self/status")
    assert "Seccomp:\t2" in r.out, "inside, /proc/self/status should say Seccomp: 2 (filter)\n" + r.describe()


# Calls whose own errors come before any capability check: without the
# filter they cannot answer EPERM, so their EPERM is the filter's.
SHOWN = ["keyctl", "add_key", "request_key", "setns", "clock_settime", "settimeofday", "kcmp",
         "pidfd_getfd", "process_madvise", "get_mempolicy", "set_mempolicy", "mbind", "move_pages"]


def test_docker_default_denials_fail_with_eperm(step):
    r = run(step, "syscalls", *DENIED)
    got = results(r.out)
    wrong = {name: got.get(name) for name in DENIED if got.get(name) != "EPERM"}
    assert not wrong, f"these calls should fail with EPERM under the filter: {wrong}\n" + r.describe()


def test_unconfined_gives_the_kernels_own_answers(step):
    """The same calls, with and without the filter: those the kernel checks
    before any capability get its own answer (EFAULT, EBADF...) unconfined,
    and EPERM, the filter's, confined."""
    script = "grep '^Seccomp:' /proc/self/status; syscalls " + " ".join(SHOWN)
    confined = run(step, "sh", "-c", script)
    r = run(step, "--security-opt", "seccomp=unconfined", "sh", "-c", script)
    got, filtered = results(r.out), results(confined.out)
    assert "Seccomp:\t0" in r.out, r.describe()
    eperm = [name for name in SHOWN if got.get(name) in (None, "EPERM")]
    assert not eperm, f"without the filter these still answered EPERM: {eperm}\n" + r.describe()
    passed = [name for name in SHOWN if filtered.get(name) != "EPERM"]
    assert not passed, f"with the filter these should answer EPERM: {passed}\n" + confined.describe()


def test_a_capability_given_lets_its_calls_through(step):
    r = run(step, "--cap-add", "SYS_ADMIN", "sh", "-c", "mount -t tmpfs x /mnt && echo mounted; "
            "syscalls mount keyctl")
    got = results(r.out)
    assert "mounted" in r.out and got.get("mount") == "EFAULT" and got.get("keyctl") == "EPERM", (
        "with SYS_ADMIN the filter lets mount through (EFAULT is the kernel's answer to its NULL "
        "arguments), and still refuses keyctl\n" + r.describe())


@pytest.mark.parametrize("cap, calls", [("SYS_PTRACE", ["kcmp", "pidfd_getfd", "process_madvise"]),
                                        ("SYS_NICE", ["get_mempolicy", "set_mempolicy", "mbind"])])
def test_docker_lets_these_through_with_their_capability(step, cap, calls):
    """seccomp/default.json of moby/profiles (vendored by moby) allows another process's
    memory and descriptors with CAP_SYS_PTRACE, the NUMA policies with
    CAP_SYS_NICE; move_pages and io_uring never."""
    r = run(step, "--cap-add", cap, "syscalls", *calls, "move_pages", "io_uring_setup")
    got = results(r.out)
    wrong = {name: got.get(name) for name in calls if got.get(name) in (None, "EPERM")}
    assert not wrong and got.get("move_pages") == got.get("io_uring_setup") == "EPERM", (
        f"with --cap-add {cap}, {calls} reach the kernel; move_pages and io_uring_setup do not\n"
        + r.describe())


def test_what_docker_never_allows_stays_refused_with_every_capability(step):
    """pivot_root and userfaultfd are in no group of Docker's profile: with
    --cap-add ALL they still answer EPERM, the filter's (their own answers
    to these arguments are ENOENT and EINVAL). adjtimex is allowed to
    everyone: without CAP_SYS_TIME it can only read the clock."""
    r = run(step, "--cap-add", "ALL", "syscalls", "pivot_root", "userfaultfd", "adjtimex")
    got = results(r.out)
    assert got.get("pivot_root") == got.get("userfaultfd") == "EPERM", (
        "with every capability, the filter still refuses pivot_root and userfaultfd\n" + r.describe())
    plain = results(run(step, "syscalls", "adjtimex").out)
    assert plain.get("adjtimex") not in (None, "EPERM"), (
        f"adjtimex reaches the kernel (EFAULT for its bad pointer): {plain}\n" + r.describe())


def test_ptrace_is_allowed_as_docker_allows_it(step):
    """Docker's profile allows ptrace on Linux 4.8 and later, where the
    filter runs again after a tracer changes a call: strace works inside.
    (The helper's call gets the kernel's answer, not the filter's EPERM.)"""
    r = run(step, "sh", "-c", "grep '^Seccomp:' /proc/self/status; syscalls ptrace")
    assert "Seccomp:\t2" in r.out, "the filter should be loaded\n" + r.describe()
    assert results(r.out).get("ptrace") not in (None, "EPERM"), r.describe()


def test_what_a_shell_needs_still_works_under_the_filter(step):
    r = run(step, "sh", "-c", "grep '^Seccomp:' /proc/self/status; echo hi > /tmp/f && cat /tmp/f | wc -c && "
            "ls / >/dev/null && sleep 0 & wait; id -u; date +%Y >/dev/null && echo shell-ok; syscalls getpid")
    assert "Seccomp:\t2" in r.out, "the filter should be loaded\n" + r.describe()
    assert r.rc == 0 and "shell-ok" in r.out and "getpid: ok" in r.out, r.describe()


@pytest.mark.skipif(platform.machine() != "x86_64", reason="x32 calls are x86-64's")
def test_an_x32_call_is_killed(step):
    """An x32 call is x86-64's own architecture with bit 30 of the number
    set: the filter kills it. Unconfined, the kernel answers it itself
    (ENOSYS where it has no x32 ABI, as Debian's)."""
    filtered = run(step, "syscalls", "--x32")
    unconfined = run(step, "--security-opt", "seccomp=unconfined", "syscalls", "--x32")
    assert results(filtered.out) == {"x32": "killed by SIGSYS"}, (
        "an x32 call should be killed by the filter\n" + filtered.describe())
    assert "x32" in results(unconfined.out) and "killed" not in unconfined.out, unconfined.describe()


def test_a_32bit_call_is_killed(step):
    """int $0x80 on x86-64: another architecture, another table, killed by
    the filter's architecture check. Only where the kernel can make such a
    call at all: without IA32 emulation it ends in SIGSEGV with no filter,
    and the check has nothing to catch (the test says so, and skips)."""
    why = labtest.kernel_cannot_make_32bit_calls()
    if why:
        pytest.skip(why)
    filtered = run(step, "syscalls", "--i386")
    unconfined = run(step, "--security-opt", "seccomp=unconfined", "syscalls", "--i386")
    assert results(filtered.out) == {"i386": "killed by SIGSYS"}, (
        "a 32-bit (int $0x80) call should be killed by the filter's architecture check\n"
        + filtered.describe())
    assert results(unconfined.out) == {"i386": "ok"}, unconfined.describe()


def test_privileged_has_no_filter(step):
    default = run(step, "sh", "-c", "grep '^Seccomp:' /proc/self/status")
    r = run(step, "--privileged", "sh", "-c", "grep '^Seccomp:' /proc/self/status")
    assert "Seccomp:\t0" in r.out, r.describe()
    assert "Seccomp:\t2" in default.out, "without --privileged, the filter\n" + default.describe()


@pytest.mark.given
@pytest.mark.parametrize("value", ["seccomp=/etc/profile.json", "apparmor=unconfined", "label=disable",
                                   "no-new-privileges", ""])
def test_unknown_security_options_are_refused(step, value):
    r = run(step, "--security-opt", value, "true")
    assert r.rc == 125 and len(r.err_lines) == 1 and "--security-opt" in r.err_lines[0], r.describe()


@pytest.mark.parametrize("flag", ["-U", "-m", "-u", "-i", "-n", "-p"])
def test_every_namespace_flag_of_unshare_is_refused(step, flag):
    """Without CAP_SYS_ADMIN the filter refuses unshare(2) with any namespace
    flag, the user namespace's too (which needs no capability, and opens
    every other), as Docker's profile does for clone and unshare."""
    r = run(step, "sh", "-c", f"grep '^Seccomp:' /proc/self/status; unshare {flag} true; echo rc=$?")
    assert "Seccomp:\t2" in r.out and "rc=0" not in r.out and "Operation not permitted" in r.err, (
        f"unshare {flag} should fail with EPERM under the filter\n" + r.describe())
