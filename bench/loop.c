/*
 * loop.c - back-to-back throughput: starts a command N times in a row, each
 * one as soon as the previous one has exited, and prints one line:
 *
 *     runs=N failures=F elapsed_ns=T slowest_ns=S
 *
 * Usage: loop N COMMAND [ARG...]
 *
 * It uses posix_spawnp(3) (a vfork+exec in glibc), the cheapest way to start
 * a program, so that what it measures is the command and not the driver.
 * The command's stdout and stderr go to /dev/null; the result line goes to
 * loop's own stdout.
 * Built and run by bench/run.py; not part of the lab.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static long long now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char *argv[])
{
    posix_spawn_file_actions_t fa;
    long long start, slowest = 0;
    long runs, failures = 0;
    char *end;
    int null;

    if (argc < 3) {
        fprintf(stderr, "usage: loop N COMMAND [ARG...]\n");
        return 2;
    }
    runs = strtol(argv[1], &end, 10);
    if (*end || runs < 1) {
        fprintf(stderr, "loop: bad count: %s\n", argv[1]);
        return 2;
    }
    if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
        perror("loop: /dev/null");
        return 1;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, null, 1);
    posix_spawn_file_actions_adddup2(&fa, null, 2);
    start = now_ns();
    for (long i = 0; i < runs; i++) {
        long long t0 = now_ns();
        pid_t pid;
        int err, status;

        err = posix_spawnp(&pid, argv[2], &fa, NULL, argv + 2, environ);
        if (err) {
            fprintf(stderr, "loop: %s: %s\n", argv[2], strerror(err));
            return 1;
        }
        while (waitpid(pid, &status, 0) < 0) {
            if (errno != EINTR) {
                perror("loop: waitpid");
                return 1;
            }
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failures++;
        long long took = now_ns() - t0;
        if (took > slowest)
            slowest = took;
    }
    printf("runs=%ld failures=%ld elapsed_ns=%lld slowest_ns=%lld\n", runs, failures,
           now_ns() - start, slowest);
    return 0;
}
