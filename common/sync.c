/*
 * sync.c - the parent/child sync pipe.
 *
 * After clone(2) the child blocks reading the pipe while the parent prepares
 * what must exist before the command runs (a cgroup, a veth). The parent then
 * writes one byte. If the parent dies first, the child reads end-of-file
 * instead and gives up: no sleeps, no guessing.
 *
 * A second pipe runs the other way: the child closes its end once it is
 * set up (or execs: every end is O_CLOEXEC, so the command never holds
 * one), and the parent, reading, sees end-of-file. Named containers are
 * recorded for exec only then (step 15).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "lab.h"

#define SYNC_GO 'G'

int sync_open(struct sync_pipe *s)
{
    int go[2], ready[2];

    if (pipe2(go, O_CLOEXEC) < 0)
        return -errno;
    if (pipe2(ready, O_CLOEXEC) < 0) {
        int err = -errno;

        close(go[0]);
        close(go[1]);
        return err;
    }
    s->rd = go[0];
    s->wr = go[1];
    s->ready_rd = ready[0];
    s->ready_wr = ready[1];
    return 0;
}

static void close_end(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

int sync_release(struct sync_pipe *s)
{
    char go = SYNC_GO;
    ssize_t n;

    do
        n = write(s->wr, &go, 1);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return 0;
}

int sync_wait(struct sync_pipe *s)
{
    char got;
    ssize_t n;

    /* The child's copy of the write end would keep end-of-file from ever
     * coming if the parent died: close it first. */
    close_end(&s->wr);
    close_end(&s->ready_rd);
    do
        n = read(s->rd, &got, 1);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    if (n == 0 || got != SYNC_GO)
        return -EPIPE;
    return 0;
}

void sync_close(struct sync_pipe *s)
{
    close_end(&s->rd);
    close_end(&s->wr);
}

void sync_started(struct sync_pipe *s)
{
    close_end(&s->ready_wr);
}

void sync_ready(struct sync_pipe *s)
{
    close_end(&s->ready_wr);
}

int sync_wait_ready(struct sync_pipe *s)
{
    char byte;
    ssize_t n;

    do
        n = read(s->ready_rd, &byte, 1);
    while (n < 0 && errno == EINTR);
    close_end(&s->ready_rd);
    return n < 0 ? -errno : 0;
}
