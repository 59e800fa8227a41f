/*
 * step-01: a PID namespace.
 *
 * New here: clone(2) with CLONE_NEWPID: the command is PID 1 of its own PID
 * namespace, while the host sees it under an ordinary pid.
 * Read: docs/step-01-pid-namespace.md; clone(2), pid_namespaces(7)
 * Demo: sh -c 'echo "inside, my pid is $$"'
 */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>

#include "lab.h"

/* The namespaces without which the child would change the host itself. */
#define MUST_BE_NEW 0 /* none yet: a PID namespace alone changes nothing there */

/* The namespaces the child is born in: one CLONE_NEW* flag for each part of
 * the system it gets a copy of its own. */
static int namespaces(void)
{
    int flags = 0;

    /* LAB:BEGIN pid-namespace */
    /* CLONE_NEWPID: the child is PID 1 of a new PID namespace. It sees only
     * its own descendants; the host sees it under an ordinary pid. */
    flags |= CLONE_NEWPID;
    /* LAB:END */
    return flags;
}


/* Runs in the child, in the new namespaces: finish the container's view of
 * the system, then become the command. Does not return. */
static int child_main(void *arg)
{
    struct container *c = arg;

    /* Sync point GO, then the safety net: not in the host's MUST_BE_NEW. */
    lab_child_begin(c, MUST_BE_NEW);
    lab_child_exec(c);
}

int main(int argc, char *argv[])
{
    struct container c;
    void *stack;

    /* Options, --help and the root check, before anything is created. */
    lab_start(&c, argc, argv);
    /* SIGCHLD: the signal the kernel sends us when the child ends. */
    int flags = SIGCHLD | namespaces();
    if (!(stack = proc_stack_top()))
        die("mmap a stack for the child");
    c.pid = clone(child_main, stack, flags, &c);
    if (c.pid < 0)
        die("clone");
    lab_started(&c, flags);

    /* Sync point GO: the child may run the command. */
    lab_release(&c);
    /* Wait for it, clean up, and end as it ended. */
    lab_wait(&c);
    return lab_end(&c);
}
