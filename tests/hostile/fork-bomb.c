/* A child that forks without end before it would exec the command. */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include "lab.h"

static int child_main(void *arg)
{
    (void)arg;
    for (;;)
        (void)fork();
}

int main(int argc, char *argv[])
{
    struct container c;

    lab_start(&c, argc, argv);
    c.pid = clone(child_main, proc_stack_top(), SIGCHLD | CLONE_NEWPID, &c);
    lab_started(&c, SIGCHLD | CLONE_NEWPID);
    lab_release(&c);
    lab_wait(&c);
    return lab_end(&c);
}
