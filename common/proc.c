/*
 * proc.c - the child process: its stack, its exec, its end, and the signals
 * the parent passes on while it waits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lab.h"

static char *child_stack; /* the last stack made for clone(2) */

/* clone(2) without CLONE_VM gives the child a copy of the parent's memory,
 * but it still needs a stack to start on; it never returns to the parent's. */
void *proc_stack_top(void)
{
    char *stack = mmap(NULL, LAB_STACK_SIZE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

    if (stack == MAP_FAILED)
        return NULL;
    child_stack = stack;
    return stack + LAB_STACK_SIZE;
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LAB_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define LAB_ASAN 1
#endif

#ifdef LAB_ASAN
#include <sanitizer/common_interface_defs.h>

/* AddressSanitizer keeps the bounds of each thread's stack; a child started
 * by clone(2) on a stack of our own must tell it, as a coroutine would. */
void proc_child_stack_note(void)
{
    char here;

    if (child_stack && &here >= child_stack && &here < child_stack + LAB_STACK_SIZE) {
        __sanitizer_start_switch_fiber(NULL, child_stack, LAB_STACK_SIZE);
        __sanitizer_finish_switch_fiber(NULL, NULL, NULL);
    }
}
#else
void proc_child_stack_note(void)
{
}
#endif

/* Every descriptor above stderr. runc closes them too before the user's
 * process runs (utils.UnsafeCloseFrom in libcontainer/standard_init_linux.go
 * and setns_init_linux.go, since CVE-2024-21626): one descriptor open on a
 * directory of the host is a way out of the new root, via /proc/self/fd/N. */
#define LAB_FIRST_FD 3

void proc_close_inherited(void)
{
    if (syscall(SYS_close_range, LAB_FIRST_FD, ~0U, 0) < 0)
        for (int fd = LAB_FIRST_FD; fd < (int)sysconf(_SC_OPEN_MAX); fd++)
            (void)close(fd);
}

int proc_close_on_exec(void)
{
    long max = sysconf(_SC_OPEN_MAX);

    if (syscall(SYS_close_range, LAB_FIRST_FD, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
        return 0;
    /* Before Linux 5.11 there is no CLOSE_RANGE_CLOEXEC: one at a time. */
    for (int fd = LAB_FIRST_FD; fd < max; fd++)
        if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 && errno != EBADF)
            return -errno;
    return 0;
}

int proc_exec(char *const argv[])
{
    int err = proc_close_on_exec();

    if (err < 0)
        return err;
    execvp(argv[0], argv);
    return -errno;
}

int proc_wait(pid_t pid, int *wstatus)
{
    while (waitpid(pid, wstatus, 0) < 0) {
        if (errno != EINTR)
            return -errno;
    }
    return 0;
}

int proc_exit_status(int wstatus)
{
    if (WIFEXITED(wstatus))
        return WEXITSTATUS(wstatus);
    if (WIFSIGNALED(wstatus))
        return 128 + WTERMSIG(wstatus);
    return LAB_EXIT_FAILED;
}

static volatile sig_atomic_t forward_pid;
static volatile sig_atomic_t pending_signal;

static void forward(int sig)
{
    int saved = errno;

    if (forward_pid > 0)
        kill(forward_pid, sig);
    else
        pending_signal = sig; /* the child does not exist yet */
    errno = saved;
}

int sig_forward_begin(void)
{
    struct sigaction ignore = { .sa_handler = SIG_IGN };
    struct sigaction pass = { .sa_handler = forward, .sa_flags = SA_RESTART };

    sigemptyset(&pass.sa_mask);
    sigemptyset(&ignore.sa_mask);
    if (sigaction(SIGINT, &ignore, NULL) < 0 || sigaction(SIGQUIT, &ignore, NULL) < 0 ||
        sigaction(SIGPIPE, &ignore, NULL) < 0 || sigaction(SIGTERM, &pass, NULL) < 0 ||
        sigaction(SIGHUP, &pass, NULL) < 0)
        return -errno;
    return 0;
}

void sig_forward_to(pid_t pid)
{
    forward_pid = pid;
    if (pending_signal)
        kill(pid, pending_signal);
}

/*
 * The child starts with the parent's dispositions, and an ignored signal
 * stays ignored across execve(2): put them back to the defaults.
 */
int sig_reset(void)
{
    const int sigs[] = { SIGINT, SIGQUIT, SIGPIPE, SIGTERM, SIGHUP };
    struct sigaction dfl = { .sa_handler = SIG_DFL };

    sigemptyset(&dfl.sa_mask);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        if (sigaction(sigs[i], &dfl, NULL) < 0)
            return -errno;
    return 0;
}

int proc_die_with_parent(void)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
        return -errno;
    return 0;
}

/* tcsetpgrp(3) from a group that is not in the foreground stops the caller
 * with SIGTTOU, unless that is blocked: blocked, for the one call. */
int proc_take_terminal(void)
{
    sigset_t ttou, old;
    int err = 0;

    if (!isatty(STDIN_FILENO))
        return 0;
    sigemptyset(&ttou);
    sigaddset(&ttou, SIGTTOU);
    if (sigprocmask(SIG_BLOCK, &ttou, &old) < 0)
        return -errno;
    if (tcsetpgrp(STDIN_FILENO, getpgrp()) < 0)
        err = -errno;
    (void)sigprocmask(SIG_SETMASK, &old, NULL);
    return err;
}

long long proc_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* A pidfd turns readable when its process ends (and it is a zombie, or
 * reaped): poll(2) on it is how to wait for a process that is not our
 * child, without polling /proc. */
int proc_wait_pidfds(const int *fds, int n, int timeout_ms)
{
    long long deadline = proc_now_ms() + timeout_ms;
    int running = 0;

    for (int i = 0; i < n; i++) {
        long long left = deadline - proc_now_ms();
        struct pollfd pfd = { .fd = fds[i], .events = POLLIN };

        if (fds[i] >= 0 && poll(&pfd, 1, left > 0 ? (int)left : 0) != 1)
            running++;
    }
    return running;
}

int proc_kill_wait(pid_t pid, int timeout_ms)
{
    int fd = (int)syscall(SYS_pidfd_open, pid, 0), err = 0;

    if (fd < 0)
        return -errno; /* ESRCH: gone already */
    if (syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0) < 0)
        err = -errno;
    else if (proc_wait_pidfds(&fd, 1, timeout_ms) > 0)
        err = -ETIMEDOUT;
    close(fd);
    return err;
}
