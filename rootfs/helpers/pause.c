/*
 * pause - the infra container of a pod (step 16), as Kubernetes' pause.
 *
 * It holds the pod's namespaces by being in them, and does nothing else:
 * it sleeps until SIGTERM, SIGINT or SIGHUP. With --share-pid it is PID 1
 * of the pod's PID namespace, and so the parent of every orphan there: it
 * reaps them, as an init must (step 15).
 *
 * Exit status: 0 on SIGTERM, SIGINT or SIGHUP.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stddef.h>
#include <sys/wait.h>

int main(void)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return 1;
    for (;;) {
        int sig = sigwaitinfo(&set, NULL);

        if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
            return 0;
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
    }
}
