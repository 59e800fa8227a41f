/* test_sync.c - the sync pipe: release, wait, and a parent that dies. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

static void release_then_wait(void)
{
    struct sync_pipe s;

    CU_ASSERT_EQUAL_FATAL(sync_open(&s), 0);
    CU_ASSERT_EQUAL(sync_release(&s), 0);
    CU_ASSERT_EQUAL(sync_wait(&s), 0); /* also closes our write end */
    CU_ASSERT_EQUAL(s.wr, -1);
    sync_close(&s);
    CU_ASSERT_EQUAL(s.rd, -1);
}

static void child_waits_for_the_parent(void)
{
    struct sync_pipe s;
    int ws;

    CU_ASSERT_EQUAL_FATAL(sync_open(&s), 0);
    pid_t pid = fork();
    if (pid == 0)
        _exit(sync_wait(&s) == 0 ? 0 : 1);
    usleep(10000);
    CU_ASSERT_EQUAL(waitpid(pid, &ws, WNOHANG), 0); /* still waiting */
    CU_ASSERT_EQUAL(sync_release(&s), 0);
    CU_ASSERT_EQUAL(waitpid(pid, &ws, 0), pid);
    CU_ASSERT_TRUE(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    sync_close(&s);
}

static void dead_parent_gives_epipe(void)
{
    struct sync_pipe s;

    CU_ASSERT_EQUAL_FATAL(sync_open(&s), 0);
    close(s.wr); /* as if the parent had died before "go" */
    s.wr = -1;
    CU_ASSERT_EQUAL(sync_wait(&s), -EPIPE);
    sync_close(&s);
}

/* The child closes its end of the ready pipe when it is set up, and the
 * parent, waiting, sees end-of-file. */
static void the_parent_waits_until_the_child_is_ready(void)
{
    struct sync_pipe s;
    int ws;

    CU_ASSERT_EQUAL_FATAL(sync_open(&s), 0);
    pid_t pid = fork();
    if (pid == 0) {
        sync_close(&s);
        usleep(20000);
        sync_ready(&s);
        pause();
        _exit(0);
    }
    sync_started(&s);
    CU_ASSERT_EQUAL(s.ready_wr, -1);
    CU_ASSERT_EQUAL(sync_wait_ready(&s), 0);
    CU_ASSERT_EQUAL(waitpid(pid, &ws, WNOHANG), 0); /* ready, and still running */
    kill(pid, SIGKILL);
    waitpid(pid, &ws, 0);
    sync_close(&s);
}

static void pipe_is_close_on_exec(void)
{
    struct sync_pipe s;

    CU_ASSERT_EQUAL_FATAL(sync_open(&s), 0);
    CU_ASSERT_TRUE(fcntl(s.rd, F_GETFD) & FD_CLOEXEC);
    CU_ASSERT_TRUE(fcntl(s.wr, F_GETFD) & FD_CLOEXEC);
    CU_ASSERT_TRUE(fcntl(s.ready_rd, F_GETFD) & FD_CLOEXEC);
    CU_ASSERT_TRUE(fcntl(s.ready_wr, F_GETFD) & FD_CLOEXEC);
    sync_close(&s);
}

static const struct unit_test tests[] = {
    { "release, then wait", release_then_wait },
    { "the child waits for the parent", child_waits_for_the_parent },
    { "a dead parent gives EPIPE", dead_parent_gives_epipe },
    { "the parent waits until the child is ready", the_parent_waits_until_the_child_is_ready },
    { "the pipe is close-on-exec", pipe_is_close_on_exec },
    { NULL, NULL },
};
UNIT_SUITE("sync", tests)
