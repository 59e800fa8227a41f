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
 * The command's stdout and stderr go wherever the caller points them.
 * Built and run by bench/run.py; not part of the lab.
 */
#define _GNU_SOURCE
#include <errno.h>
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
    long long start, slowest = 0;
    long runs, failures = 0;
    char *end;

    if (argc < 3) {
        fprintf(stderr, "usage: loop N COMMAND [ARG...]\n");
        return 2;
    }
    runs = strtol(argv[1], &end, 10);
    if (*end || runs < 1) {
        fprintf(stderr, "loop: bad count: %s\n", argv[1]);
        return 2;
    }
    start = now_ns();
    for (long i = 0; i < runs; i++) {
        long long t0 = now_ns();
        pid_t pid;
        int err, status;

        err = posix_spawnp(&pid, argv[2], NULL, NULL, argv + 2, environ);
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
        if (now_ns() - t0 > slowest)
            slowest = now_ns() - t0;
    }
    printf("runs=%ld failures=%ld elapsed_ns=%lld slowest_ns=%lld\n", runs, failures,
           now_ns() - start, slowest);
    return 0;
}
