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

#include "calls.h"

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
