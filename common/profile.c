/*
 * profile.c - Docker's default seccomp profile, as data (step 14).
 *
 * moby's seccomp/default.json, of the moby/profiles module it vendors
 * (vendor/github.com/moby/profiles/seccomp/default.json, module version
 * v0.2.3 of May 2026), one entry for each entry of its "syscalls", in its
 * order, each with its names in its order: hold the two side by side. The
 * profile is an allow list: "defaultAction": "SCMP_ACT_ERRNO" with
 * "defaultErrnoRet": 1 refuses every call no entry allows, with EPERM.
 * Step 14's block writes the BPF program from this table; the numbers of
 * the names on this machine's architecture come from libseccomp's table of
 * every architecture's calls (sc_resolve), which Docker uses for the same.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <seccomp.h>
#include <string.h>

#include "lab.h"

#define CAP(name) (1ULL << CAP_##name)

const struct sc_rule sc_docker_default[] = {
    { .names = "accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir "
               "chmod chown chown32 clock_adjtime clock_adjtime64 clock_getres "
               "clock_getres_time64 clock_gettime clock_gettime64 clock_nanosleep "
               "clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2 "
               "dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 "
               "epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit exit_group "
               "faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir "
               "fchmod fchmodat fchmodat2 fchown fchown32 fchownat fcntl fcntl64 fdatasync "
               "fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat fstat64 fstatat64 "
               "fstatfs fstatfs64 fsync ftruncate ftruncate64 futex futex_requeue futex_time64 "
               "futex_wait futex_waitv futex_wake futimesat getcpu getcwd getdents getdents64 "
               "getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32 "
               "getitimer getpeername getpgid getpgrp getpid getppid getpriority getrandom "
               "getresgid getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage "
               "getsid getsockname getsockopt get_thread_area gettid gettimeofday getuid "
               "getuid32 getxattr getxattrat inotify_add_watch inotify_init inotify_init1 "
               "inotify_rm_watch io_cancel ioctl io_destroy io_getevents io_pgetevents "
               "io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit ipc kill "
               "landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown lchown32 "
               "lgetxattr link linkat listen listmount listxattr listxattrat llistxattr _llseek "
               "lremovexattr lseek lsetxattr lstat lstat64 madvise map_shadow_stack membarrier "
               "memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2 "
               "mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open mq_timedreceive "
               "mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink mremap mseal "
               "msgctl msgget msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at "
               "nanosleep newfstatat _newselect open openat openat2 pause pidfd_open "
               "pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll "
               "ppoll_time64 prctl pread64 preadv preadv2 prlimit64 process_mrelease pselect6 "
               "pselect6_time64 pwrite64 pwritev pwritev2 read readahead readlink readlinkat "
               "readv recv recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages "
               "removexattr removexattrat rename renameat renameat2 restart_syscall "
               "riscv_hwprobe rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask "
               "rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait "
               "rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity sched_getattr "
               "sched_getparam sched_get_priority_max sched_get_priority_min sched_getscheduler "
               "sched_rr_get_interval sched_rr_get_interval_time64 sched_setaffinity "
               "sched_setattr sched_setparam sched_setscheduler sched_yield seccomp select "
               "semctl semget semop semtimedop semtimedop_time64 send sendfile sendfile64 "
               "sendmmsg sendmsg sendto setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32 "
               "setgroups setgroups32 setitimer setpgid setpriority setregid setregid32 "
               "setresgid setresgid32 setresuid setresuid32 setreuid setreuid32 setrlimit "
               "set_robust_list setsid setsockopt set_thread_area set_tid_address setuid "
               "setuid32 setxattr setxattrat shmat shmctl shmdt shmget shutdown sigaltstack "
               "signalfd signalfd4 sigprocmask sigreturn socketcall socketpair splice stat "
               "stat64 statfs statfs64 statmount statx symlink symlinkat sync sync_file_range "
               "syncfs sysinfo tee tgkill time timer_create timer_delete timer_getoverrun "
               "timer_gettime timer_gettime64 timer_settime timer_settime64 timerfd_create "
               "timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill "
               "truncate truncate64 ugetrlimit umask uname unlink unlinkat uretprobe utime "
               "utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write "
               "writev" },
    /* "minKernel": "4.8" (a tracer can no longer change a call past the
     * filter): the lab needs 5.11 anyway. */
    { .names = "process_vm_readv process_vm_writev ptrace" },
    /* Every socket family but AF_ALG (38, the kernel's crypto) and AF_VSOCK
     * (40, to the hypervisor): moby/profiles v0.2.1, 2026. */
    { .names = "socket", .op = SC_LT, .value = 38 },
    { .names = "socket", .op = SC_EQ, .value = 39 },
    { .names = "socket", .op = SC_GT, .value = 40 },
    /* The personas of Linux and its compatibility flags, and the query. */
    { .names = "personality", .op = SC_EQ, .value = 0 },
    { .names = "personality", .op = SC_EQ, .value = 8 },
    { .names = "personality", .op = SC_EQ, .value = 0x20000 },
    { .names = "personality", .op = SC_EQ, .value = 0x20008 },
    { .names = "personality", .op = SC_EQ, .value = 0xffffffff },
    { .names = "sync_file_range2 swapcontext", .arches = "ppc64le" },
    { .names = "arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush "
               "set_tls", .arches = "arm arm64" },
    { .names = "arch_prctl", .arches = "amd64 x32" },
    { .names = "modify_ldt", .arches = "amd64 x32 x86" },
    { .names = "s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr",
      .arches = "s390 s390x" },
    { .names = "riscv_flush_icache", .arches = "riscv64" },
    { .names = "open_by_handle_at", .with = CAP(DAC_READ_SEARCH) },
    { .names = "bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie "
               "lsm_get_self_attr lsm_list_modules lsm_set_self_attr mount mount_setattr "
               "move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname "
               "sethostname setns syslog umount umount2 unshare",
      .with = CAP(SYS_ADMIN) },
    /* clone without a namespace flag (CLONE_NEWNS and those of 0x7e000000). */
    { .names = "clone", .without = CAP(SYS_ADMIN), .not_arches = "s390 s390x",
      .op = SC_MASKED_EQ, .value = 0x7e020000 },
    { .names = "clone", .without = CAP(SYS_ADMIN), .arches = "s390 s390x", .arg = 1,
      .op = SC_MASKED_EQ, .value = 0x7e020000 },
    /* Its flags are in memory a filter cannot read: ENOSYS, so that the C
     * library falls back to clone, whose flags it can. */
    { .names = "clone3", .without = CAP(SYS_ADMIN), .errno_ret = ENOSYS },
    { .names = "reboot", .with = CAP(SYS_BOOT) },
    { .names = "chroot", .with = CAP(SYS_CHROOT) },
    { .names = "delete_module init_module finit_module", .with = CAP(SYS_MODULE) },
    { .names = "acct", .with = CAP(SYS_PACCT) },
    { .names = "kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace",
      .with = CAP(SYS_PTRACE) },
    { .names = "iopl ioperm", .with = CAP(SYS_RAWIO) },
    { .names = "settimeofday stime clock_settime clock_settime64", .with = CAP(SYS_TIME) },
    { .names = "vhangup", .with = CAP(SYS_TTY_CONFIG) },
    { .names = "get_mempolicy mbind set_mempolicy set_mempolicy_home_node", .with = CAP(SYS_NICE) },
    { .names = "syslog", .with = CAP(SYSLOG) },
    { .names = "bpf", .with = CAP(BPF) },
    { .names = "perf_event_open", .with = CAP(PERFMON) },
};
const size_t sc_docker_default_len = sizeof(sc_docker_default) / sizeof(sc_docker_default[0]);

/* moby's names for the architectures (Go's, and x32, x86). */
#if defined(__x86_64__)
#define OUR_ARCH "amd64"
#elif defined(__aarch64__)
#define OUR_ARCH "arm64"
#endif

static bool names_our_arch(const char *list)
{
    char word[16];

    for (const char *at = list; sc_next_name(&at, word, sizeof(word));)
        if (strcmp(word, OUR_ARCH) == 0)
            return true;
    return false;
}

bool sc_rule_applies(const struct sc_rule *r, uint64_t caps)
{
    if (r->with && !(caps & r->with))
        return false;
    if (r->without && (caps & r->without))
        return false;
    if (r->arches && !names_our_arch(r->arches))
        return false;
    return !(r->not_arches && names_our_arch(r->not_arches));
}

bool sc_next_name(const char **cursor, char *name, size_t len)
{
    const char *at = *cursor + strspn(*cursor, " ");
    size_t n = strcspn(at, " ");

    if (n == 0 || n >= len)
        return false;
    memcpy(name, at, n);
    name[n] = '\0';
    *cursor = at + n;
    return true;
}

/* Calls newer than the libseccomp of Debian 12 (2.5.4), which does not
 * know their names: since Linux 5.1 (424) a new call has the same number
 * on every architecture (uretprobe is x86-64's alone). From the kernel's
 * table, as libseccomp's src/syscalls.csv lists them. */
static const struct {
    const char *name;
    int nr;
} newer[] = {
    { "cachestat", 451 },        { "fchmodat2", 452 },         { "map_shadow_stack", 453 },
    { "futex_wake", 454 },       { "futex_wait", 455 },        { "futex_requeue", 456 },
    { "statmount", 457 },        { "listmount", 458 },         { "lsm_get_self_attr", 459 },
    { "lsm_set_self_attr", 460 }, { "lsm_list_modules", 461 }, { "mseal", 462 },
    { "setxattrat", 463 },       { "getxattrat", 464 },        { "listxattrat", 465 },
    { "removexattrat", 466 },
#if defined(__x86_64__)
    { "uretprobe", 335 },
#endif
};

int sc_resolve(const char *name)
{
    int nr = seccomp_syscall_resolve_name(name);

    /* A negative number is libseccomp's for a call this architecture has
     * not (socketcall on x86-64): no rule for it. */
    if (nr >= 0)
        return nr;
    for (size_t i = 0; i < sizeof(newer) / sizeof(newer[0]); i++)
        if (strcmp(name, newer[i].name) == 0)
            return newer[i].nr;
    return -1;
}

unsigned sc_max_instructions(void)
{
    unsigned names = 0;
    char name[64];

    for (size_t i = 0; i < sc_docker_default_len; i++)
        for (const char *at = sc_docker_default[i].names; sc_next_name(&at, name, sizeof(name));)
            names++;
    /* The architecture checks (6), each name's rule (7 at most), the
     * default verdict. */
    return 6 + SC_MAX_RULE * names + 1;
}
