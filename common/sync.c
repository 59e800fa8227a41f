/*
 * sync.c - the parent/child sync pipe.
 *
 * After clone(2) the child blocks reading the pipe while the parent prepares
 * what must exist before the command runs (a cgroup, a veth). The parent then
 * writes one byte. If the parent dies first, the child reads end-of-file
 * instead and gives up: no sleeps, no guessing.
 *
 * Both ends are O_CLOEXEC, so the command the child execs never holds them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "lab.h"

#define SYNC_GO 'G'

int sync_open(struct sync_pipe *s)
{
    int fds[2];

    if (pipe2(fds, O_CLOEXEC) < 0)
        return -errno;
    s->rd = fds[0];
    s->wr = fds[1];
    return 0;
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
    if (s->wr >= 0) {
        close(s->wr);
        s->wr = -1;
    }
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
    if (s->rd >= 0)
        close(s->rd);
    if (s->wr >= 0)
        close(s->wr);
    s->rd = s->wr = -1;
}
