/*
 * calls.h - the system calls of step 14's lesson, each with arguments the
 * kernel refuses before it could change anything. Shared by the rootfs's
 * `syscalls` (which makes them inside a container) and the harness's
 * `seccomp-verdicts` (which runs a container's filter on them from the
 * host, where the container cannot forge the answer).
 */
#ifndef LAB_CALLS_H
#define LAB_CALLS_H

#include <sys/syscall.h>

struct call {
    const char *name;
    long nr;
    long a[4];
};

/* Arguments each call refuses before it could change anything. */
static const struct call calls[] = {
    { "reboot", SYS_reboot, { 0, 0, 0, 0 } },               /* bad magic: EINVAL */
    { "mount", SYS_mount, { 0, 0, 0, 0 } },                 /* NULL target: EFAULT */
    { "umount2", SYS_umount2, { (long)"", 0, 0, 0 } },      /* ENOENT */
    { "pivot_root", SYS_pivot_root, { (long)"", (long)"", 0, 0 } },
    { "keyctl", SYS_keyctl, { -1, 0, 0, 0 } },              /* no such operation */
    { "add_key", SYS_add_key, { 0, 0, 0, 0 } },             /* EFAULT */
    { "request_key", SYS_request_key, { 0, 0, 0, 0 } },
    { "perf_event_open", SYS_perf_event_open, { 0, 0, -1, -1 } }, /* EFAULT */
    { "ptrace", SYS_ptrace, { -1, 0, 0, 0 } },              /* no such request */
    { "unshare", SYS_unshare, { 0x04000000, 0, 0, 0 } },    /* CLONE_NEWUTS */
    { "setns", SYS_setns, { -1, 0, 0, 0 } },                /* EBADF */
    { "clock_settime", SYS_clock_settime, { 0, 0, 0, 0 } }, /* NULL time: EFAULT */
    { "settimeofday", SYS_settimeofday, { 1, 0, 0, 0 } },   /* a bad pointer: EFAULT */
    { "adjtimex", SYS_adjtimex, { 1, 0, 0, 0 } },           /* a bad pointer: EFAULT */
    { "bpf", SYS_bpf, { -1, 0, 0, 0 } },
    { "init_module", SYS_init_module, { 0, 0, 0, 0 } },
    { "finit_module", SYS_finit_module, { -1, 0, 0, 0 } },
    { "delete_module", SYS_delete_module, { 0, 0, 0, 0 } },
    { "kexec_load", SYS_kexec_load, { 0, 0, 0, -1 } },
    { "swapon", SYS_swapon, { 0, 0, 0, 0 } },
    { "swapoff", SYS_swapoff, { 0, 0, 0, 0 } },
    { "acct", SYS_acct, { 1, 0, 0, 0 } },
    { "open_by_handle_at", SYS_open_by_handle_at, { -1, 0, 0, 0 } },
    { "userfaultfd", SYS_userfaultfd, { 0x7fffffff, 0, 0, 0 } }, /* bad flags */
    { "kcmp", SYS_kcmp, { -1, -1, 0, 0 } },                 /* no such pid: ESRCH */
    { "pidfd_getfd", SYS_pidfd_getfd, { -1, 0, 0, 0 } },    /* EBADF */
    { "process_madvise", SYS_process_madvise, { -1, 0, 0, 0 } }, /* EBADF */
    { "get_mempolicy", SYS_get_mempolicy, { 0, 0, 0, 0 } }, /* reads nothing: ok */
    { "set_mempolicy", SYS_set_mempolicy, { -1, 0, 0, 0 } }, /* no such mode: EINVAL */
    { "mbind", SYS_mbind, { 0, 0, -1, 0 } },                /* no such mode: EINVAL */
    { "move_pages", SYS_move_pages, { -1, 0, 0, 0 } },      /* no such pid: ESRCH */
    { "io_uring_setup", SYS_io_uring_setup, { 0, 0, 0, 0 } }, /* no entries: EINVAL (or EPERM) */
    { "getpid", SYS_getpid, { 0, 0, 0, 0 } },               /* allowed */
    { "uname", SYS_uname, { 0, 0, 0, 0 } },                 /* allowed: EFAULT */
    { "clone3", SYS_clone3, { 0, 0, 0, 0 } },               /* no arguments: EINVAL */
    { "personality", SYS_personality, { 0xffffffff, 0, 0, 0 } }, /* the query: changes nothing */
    { "socket", SYS_socket, { 40, 1, 0, 0 } },              /* AF_VSOCK: closed at the end */
    { "clock_adjtime", SYS_clock_adjtime, { 0, 1, 0, 0 } }, /* a bad pointer: EFAULT */
    { "sethostname", SYS_sethostname, { 0, 100000, 0, 0 } }, /* too long: EINVAL */
};

#endif
