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

A helper inside the rootfs can be replaced by the step itself, so every
test also judges the filter from the host: while the container's shell
waits, the host reads its Seccomp mode from /proc/PID/status and its filter
with ptrace (tests/helpers/seccomp-verdicts.c), and runs the filter on the
same calls there. What the container prints only adds what the kernel
answered.
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


def host_view(step, *options, calls=()):
    """A container started with options, seen from the host while its shell
    waits: its seccomp mode ("0" none, "2" a filter) and what its filter
    answers to calls ({"mount": "ERRNO EPERM", "getpid": "ALLOW", ...})."""
    c = labtest.Running(step, *options, "sh", "-c", "echo ready; read x")
    try:
        c.wait_for()
        pid = c.descendant("sh")
        mode = labtest.proc_status(pid).get("Seccomp")
        verdicts = labtest.seccomp_verdicts(pid, *calls) if calls else {}
    finally:
        c.finish()
    return mode, verdicts


def refused(verdicts, names, answer="ERRNO EPERM"):
    """Those of names whose verdict is not answer, with what it was."""
    return {n: verdicts.get(n) for n in names if verdicts.get(n) != answer}


def test_a_filter_is_loaded(step):
    mode, verdicts = host_view(step, calls=["getpid", "keyctl"])
    assert mode == "2", f"from the host, the container's shell should show Seccomp: 2 (a filter), not {mode}"
    assert verdicts == {"getpid": "ALLOW", "keyctl": "ERRNO EPERM"}, (
        f"the filter the host reads should allow getpid and refuse keyctl: {verdicts}")
    r = run(step, "sh", "-c", "grep -E '^Seccomp' /proc/self/status")
    assert "Seccomp:\t2" in r.out, "inside, /proc/self/status should say Seccomp: 2 (filter)\n" + r.describe()


# Calls whose own errors come before any capability check: without the
# filter they cannot answer EPERM, so their EPERM is the filter's.
SHOWN = ["keyctl", "add_key", "request_key", "setns", "clock_settime", "settimeofday", "kcmp",
         "pidfd_getfd", "process_madvise", "get_mempolicy", "set_mempolicy", "mbind", "move_pages"]


def test_docker_default_denials_fail_with_eperm(step):
    _, verdicts = host_view(step, calls=DENIED)
    wrong = refused(verdicts, DENIED)
    assert not wrong, f"the filter the host reads should answer these with EPERM: {wrong}"
    r = run(step, "syscalls", *DENIED)
    got = results(r.out)
    wrong = {name: got.get(name) for name in DENIED if got.get(name) != "EPERM"}
    assert not wrong, f"these calls should fail with EPERM under the filter: {wrong}\n" + r.describe()


def test_unconfined_gives_the_kernels_own_answers(step):
    """The same calls, with and without the filter: those the kernel checks
    before any capability get its own answer (EFAULT, EBADF...) unconfined,
    and EPERM, the filter's, confined."""
    mode, _ = host_view(step, "--security-opt", "seccomp=unconfined")
    assert mode == "0", f"unconfined, the host should see Seccomp: 0, not {mode}"
    _, verdicts = host_view(step, calls=SHOWN)
    assert not refused(verdicts, SHOWN), f"confined, the filter refuses: {refused(verdicts, SHOWN)}"
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
    _, verdicts = host_view(step, "--cap-add", "SYS_ADMIN", calls=["mount", "umount2", "keyctl"])
    assert verdicts == {"mount": "ALLOW", "umount2": "ALLOW", "keyctl": "ERRNO EPERM"}, (
        f"with SYS_ADMIN the filter the host reads lets mount through, not keyctl: {verdicts}")
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
    _, verdicts = host_view(step, "--cap-add", cap, calls=[*calls, "move_pages", "io_uring_setup"])
    assert not refused(verdicts, calls, "ALLOW") and not refused(verdicts, ["move_pages", "io_uring_setup"]), (
        f"with --cap-add {cap}, the filter the host reads: {verdicts}")
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
    _, every = host_view(step, "--cap-add", "ALL", calls=["pivot_root", "userfaultfd", "kexec_load", "mount"])
    _, plain = host_view(step, calls=["adjtimex"])
    assert every == {"pivot_root": "ERRNO EPERM", "userfaultfd": "ERRNO EPERM", "kexec_load": "ERRNO EPERM",
                     "mount": "ALLOW"} and plain == {"adjtimex": "ALLOW"}, (
        f"the filter the host reads, with every capability: {every}; with none: {plain}")
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
    _, verdicts = host_view(step, calls=["ptrace", "keyctl"])
    assert verdicts == {"ptrace": "ALLOW", "keyctl": "ERRNO EPERM"}, f"the filter the host reads: {verdicts}"
    r = run(step, "sh", "-c", "grep '^Seccomp:' /proc/self/status; syscalls ptrace")
    assert "Seccomp:\t2" in r.out, "the filter should be loaded\n" + r.describe()
    assert results(r.out).get("ptrace") not in (None, "EPERM"), r.describe()


def test_what_a_shell_needs_still_works_under_the_filter(step):
    _, verdicts = host_view(step, calls=["getpid", "uname", "reboot", "clone3"])
    assert verdicts == {"getpid": "ALLOW", "uname": "ALLOW", "reboot": "ERRNO EPERM", "clone3": "ERRNO ENOSYS"}, (
        f"the filter the host reads (clone3: ENOSYS, so that the C library falls back to clone): {verdicts}")
    r = run(step, "sh", "-c", "grep '^Seccomp:' /proc/self/status; echo hi > /tmp/f && cat /tmp/f | wc -c && "
            "ls / >/dev/null && sleep 0 & wait; id -u; date +%Y >/dev/null && echo shell-ok; syscalls getpid")
    assert "Seccomp:\t2" in r.out, "the filter should be loaded\n" + r.describe()
    assert r.rc == 0 and "shell-ok" in r.out and "getpid: ok" in r.out, r.describe()


@pytest.mark.skipif(platform.machine() != "x86_64", reason="x32 calls are x86-64's")
def test_an_x32_call_is_killed(step):
    """An x32 call is x86-64's own architecture with bit 30 of the number
    set: the filter kills it. Unconfined, the kernel answers it itself
    (ENOSYS where it has no x32 ABI, as Debian's)."""
    _, verdicts = host_view(step, calls=["x32:getpid"])
    assert verdicts == {"x32:getpid": "KILL"}, f"the filter the host reads: {verdicts}"
    filtered = run(step, "syscalls", "--x32")
    unconfined = run(step, "--security-opt", "seccomp=unconfined", "syscalls", "--x32")
    assert results(filtered.out) == {"x32": "killed by SIGSYS"}, (
        "an x32 call should be killed by the filter\n" + filtered.describe())
    assert "x32" in results(unconfined.out) and "killed" not in unconfined.out, unconfined.describe()


def test_a_32bit_call_is_killed(step):
    """int $0x80 on x86-64 (a 32-bit arm call on arm64): another
    architecture, another table, killed by the filter's architecture check.
    The host runs the filter on such a call on every kernel; inside, only
    where the kernel can make it at all (without IA32 emulation it ends in
    SIGSEGV with no filter, and the check has nothing to catch)."""
    _, verdicts = host_view(step, calls=["compat:getpid"])
    assert verdicts == {"compat:getpid": "KILL"}, (
        f"the filter the host reads should kill a 32-bit getpid: {verdicts}")
    if labtest.kernel_cannot_make_32bit_calls():
        return
    filtered = run(step, "syscalls", "--i386")
    unconfined = run(step, "--security-opt", "seccomp=unconfined", "syscalls", "--i386")
    assert results(filtered.out) == {"i386": "killed by SIGSYS"}, (
        "a 32-bit (int $0x80) call should be killed by the filter's architecture check\n"
        + filtered.describe())
    assert results(unconfined.out) == {"i386": "ok"}, unconfined.describe()


def test_privileged_has_no_filter(step):
    privileged, _ = host_view(step, "--userns", "host", "--privileged")
    confined, verdicts = host_view(step, calls=["keyctl"])
    assert (privileged, confined, verdicts) == ("0", "2", {"keyctl": "ERRNO EPERM"}), (
        f"from the host: Seccomp {privileged} with --privileged (0: none), {confined} without "
        f"(2, a filter that refuses keyctl: {verdicts})")
    default = run(step, "sh", "-c", "grep '^Seccomp:' /proc/self/status")
    r = run(step, "--userns", "host", "--privileged", "sh", "-c", "grep '^Seccomp:' /proc/self/status")
    assert "Seccomp:\t0" in r.out, r.describe()
    assert "Seccomp:\t2" in default.out, "without --privileged, the filter\n" + default.describe()


@pytest.mark.given
@pytest.mark.parametrize("value", ["seccomp=/etc/profile.json", "apparmor=unconfined", "label=disable",
                                   "no-new-privileges", ""])
def test_unknown_security_options_are_refused(step, value):
    r = run(step, "--security-opt", value, "true")
    assert r.rc == 125 and len(r.err_lines) == 1 and "--security-opt" in r.err_lines[0], r.describe()


# unshare(1)'s options, and the flag each gives unshare(2).
NS_FLAGS = {"-U": 0x10000000, "-m": 0x00020000, "-u": 0x04000000, "-i": 0x08000000, "-n": 0x40000000,
            "-p": 0x20000000}


@pytest.mark.parametrize("flag", list(NS_FLAGS))
def test_every_namespace_flag_of_unshare_and_clone_is_refused(step, flag):
    """Without CAP_SYS_ADMIN, Docker's profile has no rule for unshare(2) at
    all (it is in the CAP_SYS_ADMIN group: even unshare(0) is refused), and
    allows clone(2) only without a namespace flag (its SCMP_CMP_MASKED_EQ
    rule on 0x7e020000): the user namespace's too, which needs no
    capability and opens every other."""
    bit = NS_FLAGS[flag]
    calls = [f"unshare={bit:#x}", "unshare=0", f"clone={bit | 17:#x}", "clone=0x11"]
    _, verdicts = host_view(step, calls=calls)
    assert verdicts == dict(zip(calls, ["ERRNO EPERM", "ERRNO EPERM", "ERRNO EPERM", "ALLOW"])), (
        f"the filter the host reads should refuse unshare, and clone with {flag}'s flag: {verdicts}")
    r = run(step, "sh", "-c", f"grep '^Seccomp:' /proc/self/status; unshare {flag} true; echo rc=$?")
    assert "Seccomp:\t2" in r.out and "rc=0" not in r.out and "Operation not permitted" in r.err, (
        f"unshare {flag} should fail with EPERM under the filter\n" + r.describe())


# Docker's verdicts, from moby's profile (vendor/github.com/moby/profiles/
# seccomp/default.json), for calls where a deny list and the allow list part:
# (options, call, verdict). A number alone is a call newer than the list.
DOCKERS = [
    ((), "ptrace", "ALLOW"), ((), "adjtimex", "ALLOW"), ((), "clock_adjtime", "ALLOW"),
    ((), "chroot", "ALLOW"), ((), "kcmp", "ERRNO EPERM"), ((), "unshare=0", "ERRNO EPERM"),
    ((), "get_mempolicy", "ERRNO EPERM"), ((), "set_mempolicy", "ERRNO EPERM"),
    ((), "move_pages", "ERRNO EPERM"), ((), "pidfd_getfd", "ERRNO EPERM"),
    ((), "process_madvise", "ERRNO EPERM"), ((), "personality=0x1234", "ERRNO EPERM"),
    ((), "personality=0", "ALLOW"), ((), "personality=8", "ALLOW"), ((), "personality=0x20008", "ALLOW"),
    ((), "personality=0xffffffff", "ALLOW"), ((), "personality=0x100000000", "ERRNO EPERM"),
    ((), "socket=40", "ERRNO EPERM"), ((), "socket=38", "ERRNO EPERM"), ((), "socket=39", "ALLOW"),
    ((), "socket=2", "ALLOW"), ((), "socket=41", "ALLOW"), ((), "clone3", "ERRNO ENOSYS"),
    ((), "io_uring_setup", "ERRNO EPERM"), ((), "keyctl", "ERRNO EPERM"), ((), "sethostname", "ERRNO EPERM"),
    ((), "#462", "ALLOW"),          # mseal (Linux 6.10), in the list
    ((), "#467", "ERRNO EPERM"),    # open_tree_attr (Linux 6.15), not (yet) in the list
    (("--cap-add", "SYS_ADMIN"), "unshare=0", "ALLOW"), (("--cap-add", "SYS_ADMIN"), "clone3", "ALLOW"),
    (("--cap-add", "SYS_ADMIN"), "clone=0x20011", "ALLOW"), (("--cap-add", "SYS_ADMIN"), "sethostname", "ALLOW"),
    (("--cap-add", "SYS_PTRACE"), "kcmp", "ALLOW"), (("--cap-add", "SYS_PTRACE"), "pidfd_getfd", "ALLOW"),
    (("--cap-drop", "SYS_CHROOT"), "chroot", "ERRNO EPERM"), (("--cap-add", "BPF"), "bpf", "ALLOW"),
]


def test_the_filter_answers_as_dockers_profile(step):
    """Call by call, the verdicts of the filter the host reads against
    Docker's (DOCKERS); inside, the calls that can be made harmlessly get
    past the filter or not as Docker's would let them."""
    wrong = {}
    for options in sorted({o for o, _, _ in DOCKERS}):
        calls = [c for o, c, _ in DOCKERS if o == options]
        _, verdicts = host_view(step, *options, calls=calls)
        wrong.update({(" ".join(options), c): (verdicts.get(c), v) for o, c, v in DOCKERS
                      if o == options and verdicts.get(c) != v})
    assert not wrong, f"(options, call): (the filter's verdict, Docker's): {wrong}"
    made = ["ptrace", "adjtimex", "kcmp", "get_mempolicy", "move_pages", "pidfd_getfd", "personality", "socket"]
    got = results(run(step, "syscalls", *made).out)
    refused_inside = sorted(n for n in made if got.get(n) == "EPERM")
    assert refused_inside == ["get_mempolicy", "kcmp", "move_pages", "pidfd_getfd", "socket"], (
        f"inside, the calls refused with EPERM (socket: AF_VSOCK; personality: the query): {got}")
