/* test_proc.c - exit statuses, clone flag names, exec failures, signals. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
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

static void exec_failures_give_126_and_127(void)
{
    int ws;
    pid_t pid = fork();

    if (pid == 0) {
        char *argv[] = { "/no/such/command", NULL };
        lab_enter_child();
        lab_set_quiet(true);
        (void)!freopen("/dev/null", "w", stderr);
        proc_exec(argv);
    }
    CU_ASSERT_EQUAL(proc_wait(pid, &ws), 0);
    CU_ASSERT_EQUAL(proc_exit_status(ws), 127);
    pid = fork();
    if (pid == 0) {
        char *argv[] = { "/etc/passwd", NULL };
        lab_enter_child();
        (void)!freopen("/dev/null", "w", stderr);
        proc_exec(argv);
    }
    CU_ASSERT_EQUAL(proc_wait(pid, &ws), 0);
    CU_ASSERT_EQUAL(proc_exit_status(ws), 126);
}

static void clone_flags_have_names(void)
{
    CU_ASSERT_STRING_EQUAL(proc_clone_flags_name(SIGCHLD), "no new namespace");
    CU_ASSERT_STRING_EQUAL(proc_clone_flags_name(CLONE_NEWPID | SIGCHLD), "CLONE_NEWPID");
    CU_ASSERT_STRING_EQUAL(proc_clone_flags_name(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS |
                                                 CLONE_NEWNET),
                           "CLONE_NEWPID|CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWNET");
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
    prctl(PR_SET_PDEATHSIG, 0); /* sig_reset set it for this test process */
}

void add_proc_tests(void)
{
    static const struct unit_test tests[] = {
        { "exit status follows docker run", exit_status_follows_docker_run },
        { "real children map the same way", real_children_map_the_same_way },
        { "exec failures give 126 and 127", exec_failures_give_126_and_127 },
        { "clone flags have names", clone_flags_have_names },
        { "the child's stack is usable", stack_is_usable },
        { "signals: ignored, forwarded, reset", signals_are_ignored_forwarded_and_reset },
        { NULL, NULL },
    };
    unit_suite("proc", tests);
}
