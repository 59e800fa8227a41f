/*
 * step-02: a mount namespace and a fresh /proc.
 *
 * After step 01 the child is PID 1, yet `ps` still lists every process of
 * the host: ps reads /proc, and the /proc it sees is the host's, which shows
 * the host's PID namespace. A proc filesystem shows the PID namespace of the
 * process that mounted it; so the child mounts its own. To do that without
 * touching the host, it first gets its own copy of the mount table
 * (CLONE_NEWNS) and cuts that copy off from the host's (MS_PRIVATE).
 *
 * New in this step: CLONE_NEWNS; mount(2) with MS_REC|MS_PRIVATE on "/";
 * mount(2) of a new proc on /proc.
 * Still the host's: the files (the same root directory), hostname, network.
 *
 * Read: mount_namespaces(7), mount(2), proc(5), pid_namespaces(7) ("/proc and
 * PID namespaces")
 *
 * Try:
 *   $ sudo ./step-02 ps
 *   step-02 [parent]: clone(CLONE_NEWPID|CLONE_NEWNS): the child is pid 48300 on the host
 *   step-02 [child]: mount --make-rprivate /: our mounts no longer reach the host
 *   step-02 [child]: mounted a new proc on /proc: it shows this PID namespace
 *   step-02 [child]: I am pid 1 in my new PID namespace
 *   PID   USER     TIME  COMMAND
 *       1 root      0:00 ps
 *
 * Demo: sh -c 'ps; ls /proc | grep -c "^[0-9]"'
 */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include "lab.h"

/* The namespaces without which this step would change the host itself. */
#define MUST_BE_NEW CLONE_NEWNS

/* What the child needs from the parent; clone(2) hands it over as arg. */
struct container {
    const struct lab_opts *opts;
    struct sync_pipe sync;  /* the parent says "go" once it is ready */
    struct ns_ids host_ns;  /* the parent's namespaces, taken before clone */
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

    /* Safety net: without its new namespaces (a CLONE_NEW* flag forgotten),
     * the code below would remount and mount things on the host itself. */
    const char *shared = ns_not_new(&c->host_ns, MUST_BE_NEW);
    if (shared)
        die_msg("still in the host's namespace (is %s set?): refusing to change the host",
                shared);

    /* LAB:BEGIN private-mounts */
    /* The new mount namespace starts as a copy of the host's mount table, and
     * on most systems (systemd) its mounts are "shared": a mount made here
     * would appear on the host too. Make every mount private, recursively,
     * before mounting anything. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        die("make / private (mount --make-rprivate /)");
    say("mount --make-rprivate /: our mounts no longer reach the host");
    /* LAB:END */

    /* LAB:BEGIN mount-proc */
    /* A proc filesystem shows the PID namespace of whoever mounts it: ours. */
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        die("mount proc on /proc");
    say("mounted a new proc on /proc: it shows this PID namespace");
    /* LAB:END */

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
    lab_start(&opts, 2, argc, argv);
    if ((err = sync_open(&c.sync)) < 0)
        die_errno(err, "pipe");
    if ((err = ns_snapshot(&c.host_ns)) < 0)
        die_errno(err, "read /proc/self/ns");
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
    /* LAB:BEGIN mount-namespace */
    /* CLONE_NEWNS: the child gets its own copy of the mount table, so what it
     * mounts (a proc, later a whole root) changes its view, not the host's. */
    flags |= CLONE_NEWNS;
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
