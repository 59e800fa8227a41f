/*
 * step-01: a PID namespace.
 *
 * A container is an ordinary process whose view of the system has been
 * changed. This first step changes one thing: the process numbers it sees.
 * clone(2) with CLONE_NEWPID starts the child as the first process, PID 1, of
 * a new PID namespace; inside, it and its descendants are numbered from 1,
 * while the host still sees them under ordinary pids.
 *
 * New in this step: clone(2) with CLONE_NEWPID.
 * Still the host's: files (/proc too, so ps shows every process), hostname,
 * network, limits. The next steps change those one at a time.
 *
 * Read: clone(2), pid_namespaces(7), namespaces(7)
 *
 * Try:
 *   $ sudo ./step-01 sh -c 'echo $$'
 *   step-01 [parent]: clone(CLONE_NEWPID): the child is pid 48213 on the host
 *   step-01 [child]: I am pid 1 in my new PID namespace
 *   1
 *
 * Demo: sh -c 'echo "inside, my pid is $$"'
 */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include "lab.h"

/* What the child needs from the parent; clone(2) hands it over as arg. */
struct container {
    const struct lab_opts *opts;
    struct sync_pipe sync;  /* the parent says "go" once it is ready */
};

/* Runs in the child, in the new namespaces: finish the container's view of
 * the system, then become the command. Does not return. */
static int child_main(void *arg)
{
    struct container *c = arg;
    int err;

    lab_enter_child();
    if ((err = sig_reset()) < 0)
        die_errno(err, "reset signal dispositions");
    /* Sync point GO: wait until the parent has done its part. */
    if (sync_wait(&c->sync) < 0)
        _exit(LAB_EXIT_FAILED); /* the parent is gone; nobody to report to */

    say("I am pid %d in my new PID namespace", (int)getpid());
    proc_exec(c->opts->argv);
}

/* Removes what the container made on the host; also runs when die() ends
 * the parent half-way. Nothing yet in this step. */
static void cleanup(void *arg)
{
    (void)arg;
}

int main(int argc, char *argv[])
{
    struct lab_opts opts;
    struct container c = { .opts = &opts };
    int flags = SIGCHLD; /* the signal the kernel sends us when the child ends */
    int err, wstatus;
    void *stack;

    /* Options, --help, and the root check: before anything is created. */
    lab_start(&opts, 1, argc, argv);
    if ((err = sync_open(&c.sync)) < 0)
        die_errno(err, "pipe");
    lab_set_cleanup(cleanup, &c);

    /* While the container runs, Ctrl-C is for it, SIGTERM is passed on. */
    if ((err = sig_forward_begin()) < 0)
        die_errno(err, "sigaction");

    /* Start the child in its own namespaces. */
    /* LAB:BEGIN pid-namespace */
    /* CLONE_NEWPID: the child is PID 1 of a new PID namespace. It sees only
     * its own descendants; the host sees it under an ordinary pid. */
    flags |= CLONE_NEWPID;
    /* LAB:END */
    if (!(stack = proc_stack_top()))
        die("mmap a stack for the child");
    pid_t pid = clone(child_main, stack, flags, &c);
    if (pid < 0)
        die("clone");
    sig_forward_to(pid);
    say("clone(%s): the child is pid %d on the host", proc_clone_flags_name(flags), (int)pid);

    /* Sync point GO: the child may run the command. */
    if ((err = sync_release(&c.sync)) < 0)
        die_errno(err, "release the child");

    /* Wait for it, clean up, and end as it ended. */
    if ((err = proc_wait(pid, &wstatus)) < 0)
        die_errno(err, "wait for the child");
    cleanup(&c);
    return proc_exit_status(wstatus);
}
