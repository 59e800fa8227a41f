/*
 * syscalls - makes system calls one by one and says how each ended, for the
 * lesson of step 14 (seccomp): busybox's own commands would hide what the
 * kernel (or the filter) answered.
 *
 *     syscalls NAME...      each call, with arguments that change nothing
 *                           (NULL, -1, an empty path; never a real clock,
 *                           mount or module): "NAME: EPERM", "NAME: ok"...
 *     syscalls --i386       getpid through the 32-bit entry (int $0x80)
 *     syscalls --x32        getpid as an x32 call (x86-64 only)
 *
 * The last two run in a child, since a filter kills a process for a call
 * of the wrong architecture: "i386: killed by SIGSYS", or its result.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

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
};

static const char *errno_name(int e)
{
    static const struct { int e; const char *name; } names[] = {
        { EPERM, "EPERM" }, { EINVAL, "EINVAL" }, { EFAULT, "EFAULT" }, { ENOENT, "ENOENT" },
        { EBADF, "EBADF" }, { ENOSYS, "ENOSYS" }, { EOPNOTSUPP, "EOPNOTSUPP" }, { EIO, "EIO" },
        { ESRCH, "ESRCH" }, { EACCES, "EACCES" }, { ENOTDIR, "ENOTDIR" }, { EBUSY, "EBUSY" },
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].e == e)
            return names[i].name;
    return strerror(e);
}

static long foreign_getpid(int i386)
{
#if defined(__x86_64__)
    long ret;

    if (i386) /* getpid is 20 in the 32-bit table */
        __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
    else /* x32: the 64-bit table, with bit 30 set */
        __asm__ volatile("syscall"
                         : "=a"(ret)
                         : "a"(0x40000000L | SYS_getpid)
                         : "rcx", "r11", "memory");
    return ret;
#else
    (void)i386;
    return -ENOSYS;
#endif
}

static int foreign(const char *what, int i386)
{
    int status;
    pid_t pid = fork();

    if (pid == 0) {
        long ret = foreign_getpid(i386);
        printf("%s: %s\n", what, ret < 0 ? errno_name((int)-ret) : "ok");
        _exit(0);
    }
    if (pid < 0 || waitpid(pid, &status, 0) < 0)
        return 1;
    if (WIFSIGNALED(status))
        printf("%s: killed by %s\n", what,
               WTERMSIG(status) == SIGSYS ? "SIGSYS" : strsignal(WTERMSIG(status)));
    return 0;
}

int main(int argc, char *argv[])
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 1; i < argc; i++) {
        const struct call *c = NULL;

        if (strcmp(argv[i], "--i386") == 0 || strcmp(argv[i], "--x32") == 0) {
            foreign(argv[i] + 2, argv[i][2] == 'i');
            continue;
        }
        for (size_t k = 0; k < sizeof(calls) / sizeof(calls[0]); k++)
            if (strcmp(argv[i], calls[k].name) == 0)
                c = &calls[k];
        if (!c) {
            fprintf(stderr, "syscalls: %s: not one this helper knows\n", argv[i]);
            return 2;
        }
        long ret = syscall(c->nr, c->a[0], c->a[1], c->a[2], c->a[3]);
        printf("%s: %s\n", c->name, ret < 0 ? errno_name(errno) : "ok");
    }
    return 0;
}
