/*
 * forkbomb - forks until it cannot, for the lesson of step 10 (the pids
 * limit): a container held by --pids-limit gets EAGAIN from fork(2) at the
 * limit, and the host's process table stays as it was.
 *
 *     forkbomb [MAX]    forks children that only wait, up to MAX (default
 *                       100000), stops at the first fork that fails, prints
 *                       "forked N, then fork: <the error>", ends the
 *                       children and exits 0 (1 if no fork failed)
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
    long max = argc > 1 ? strtol(argv[1], NULL, 10) : 100000, n = 0;
    int err = 0;

    setpgid(0, 0); /* a group of our own, to end the children with */

    for (; n < max; n++) {
        pid_t pid = fork();

        if (pid < 0) {
            err = errno;
            break;
        }
        if (pid == 0) {
            pause();
            _exit(0);
        }
    }
    if (err)
        printf("forked %ld, then fork: %s\n", n, strerror(err));
    else
        printf("forked %ld, and no fork failed\n", n);
    fflush(stdout);
    signal(SIGTERM, SIG_IGN);
    kill(0, SIGTERM); /* the children: our process group */
    while (wait(NULL) > 0)
        ;
    return err ? 0 : 1;
}
