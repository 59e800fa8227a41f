/* test_proc.c - exit statuses, clone flag names, exec failures, signals. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

/* The wait status the kernel reports for exit(code) and for death by sig. */
#define EXITED(code) (((code) & 0xff) << 8)
#define KILLED(sig) ((sig) & 0x7f)

static void exit_status_follows_docker_run(void)
{
    CU_ASSERT_EQUAL(proc_exit_status(EXITED(0)), 0);
    CU_ASSERT_EQUAL(proc_exit_status(EXITED(3)), 3);
    CU_ASSERT_EQUAL(proc_exit_status(EXITED(255)), 255);
    CU_ASSERT_EQUAL(proc_exit_status(KILLED(SIGKILL)), 137);
    CU_ASSERT_EQUAL(proc_exit_status(KILLED(SIGTERM)), 143);
    CU_ASSERT_EQUAL(proc_exit_status(KILLED(SIGSEGV)), 139);
    CU_ASSERT_EQUAL(proc_exit_status(KILLED(SIGSEGV) | 0x80), 139); /* with a core dump */
    CU_ASSERT_EQUAL(proc_exit_status(0x137f), 125); /* stopped: not an end */
}

static void real_children_map_the_same_way(void)
{
    int ws;
    pid_t pid = fork();

    if (pid == 0)
        _exit(42);
    CU_ASSERT_EQUAL(proc_wait(pid, &ws), 0);
    CU_ASSERT_EQUAL(proc_exit_status(ws), 42);
    pid = fork();
    if (pid == 0) {
        signal(SIGUSR1, SIG_DFL);
        raise(SIGUSR1);
        _exit(0);
    }
    CU_ASSERT_EQUAL(proc_wait(pid, &ws), 0);
    CU_ASSERT_EQUAL(proc_exit_status(ws), 128 + SIGUSR1);
    CU_ASSERT_EQUAL(proc_wait(pid, &ws), -ECHILD);
}

/* proc_exec returns only on failure, with the reason the caller turns into
 * 127 (not found) or 126 (cannot run). */
static void exec_failures_return_the_reason(void)
{
    char *missing[] = { "/no/such/command", NULL };
    char *not_a_program[] = { "/etc/passwd", NULL };
    char *directory[] = { "/", NULL };

    CU_ASSERT_EQUAL(proc_exec(missing), -ENOENT);
    CU_ASSERT_EQUAL(proc_exec(not_a_program), -EACCES);
    CU_ASSERT_EQUAL(proc_exec(directory), -EACCES);
}

static void stack_is_usable(void)
{
    char *top = proc_stack_top();

    CU_ASSERT_PTR_NOT_NULL_FATAL(top);
    top[-1] = 1; /* the byte just below the top belongs to the stack */
    top[-LAB_STACK_SIZE] = 1;
}

static void signals_are_ignored_forwarded_and_reset(void)
{
    struct sigaction sa;
    int ws;
    pid_t pid;

    CU_ASSERT_EQUAL(sig_forward_begin(), 0);
    sigaction(SIGINT, NULL, &sa);
    CU_ASSERT_PTR_EQUAL(sa.sa_handler, SIG_IGN);
    sigaction(SIGQUIT, NULL, &sa);
    CU_ASSERT_PTR_EQUAL(sa.sa_handler, SIG_IGN);
    /* A SIGTERM to us reaches the child, which dies of it. */
    pid = fork();
    if (pid == 0) {
        sig_reset();
        pause();
        _exit(0);
    }
    sig_forward_to(pid);
    usleep(20000);
    raise(SIGTERM);
    CU_ASSERT_EQUAL(proc_wait(pid, &ws), 0);
    CU_ASSERT_EQUAL(proc_exit_status(ws), 128 + SIGTERM);
    sig_forward_to(0);
    CU_ASSERT_EQUAL(sig_reset(), 0);
    sigaction(SIGINT, NULL, &sa);
    CU_ASSERT_PTR_EQUAL(sa.sa_handler, SIG_DFL);
    sigaction(SIGTERM, NULL, &sa);
    CU_ASSERT_PTR_EQUAL(sa.sa_handler, SIG_DFL);
}

static void dying_with_the_parent(void)
{
    int sig = -1;

    CU_ASSERT_EQUAL(proc_die_with_parent(), 0);
    CU_ASSERT_EQUAL(prctl(PR_GET_PDEATHSIG, &sig), 0);
    CU_ASSERT_EQUAL(sig, SIGKILL);
    prctl(PR_SET_PDEATHSIG, 0); /* not for the rest of this test process */
}

/* Waiting for a process's end on a pidfd, with no polling of /proc. */
static void killed_and_waited_for_on_a_pidfd(void)
{
    int status, probe = (int)syscall(SYS_pidfd_open, getpid(), 0);
    pid_t pid;

    if (probe < 0 && errno == ENOSYS)
        return; /* valgrind 3.19 (Debian 12) does not know pidfd_open: nothing to test there */
    if (probe >= 0)
        close(probe);
    pid = fork();

    if (pid == 0) {
        pause();
        _exit(0);
    }
    CU_ASSERT_EQUAL(proc_kill_wait(pid, 5000), 0);
    CU_ASSERT_EQUAL(waitpid(pid, &status, WNOHANG), pid); /* a zombie already */
    CU_ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    CU_ASSERT_EQUAL(proc_kill_wait(pid, 100), -ESRCH);
}

static const struct unit_test tests[] = {
    { "exit status follows docker run", exit_status_follows_docker_run },
    { "real children map the same way", real_children_map_the_same_way },
    { "exec failures return the reason", exec_failures_return_the_reason },
    { "the child's stack is usable", stack_is_usable },
    { "signals: ignored, forwarded, reset", signals_are_ignored_forwarded_and_reset },
    { "dying with the parent", dying_with_the_parent },
    { "killed and waited for on a pidfd", killed_and_waited_for_on_a_pidfd },
    { NULL, NULL },
};
UNIT_SUITE("proc", tests)
