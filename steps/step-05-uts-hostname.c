/*
 * step-05: a UTS namespace and the container's own hostname.
 *
 * The hostname (and the NIS domain name) live in the UTS namespace, named
 * after the "UNIX Time-sharing System" struct utsname that uname(2) returns.
 * A new UTS namespace starts as a copy of the host's; sethostname(2) inside
 * it changes only the copy. The name comes from --hostname, or defaults to
 * lab<pid>, the same name as the container's veth and cgroup in later steps.
 *
 * New in this step: CLONE_NEWUTS; sethostname(2); --hostname.
 * Still the host's: network.
 *
 * Read: uts_namespaces(7), sethostname(2), uname(2), hostname(7)
 *
 * Try:
 *   $ sudo ./step-05 --hostname lab hostname
 *   step-05 [parent]: clone(CLONE_NEWPID|CLONE_NEWNS|CLONE_NEWUTS): the child is pid 48600 on the host
 *   ...
 *   step-05 [child]: sethostname("lab"): the host keeps its own
 *   lab
 *
 * Demo: --hostname demo sh -c 'hostname; uname -n'
 */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lab.h"

/* The namespaces without which this step would change the host itself. */
#define MUST_BE_NEW (CLONE_NEWNS | CLONE_NEWUTS)

/* What the child needs from the parent; clone(2) hands it over as arg. */
struct container {
    const struct lab_opts *opts;
    struct sync_pipe sync;  /* the parent says "go" once it is ready */
    struct ns_ids host_ns;  /* the parent's namespaces, taken before clone */
    char hostname[LAB_HOSTNAME_MAX + 1];
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

    /* LAB:BEGIN bind-rootfs */
    /* pivot_root(2) swaps mounts, so the new root must be a mount point:
     * bind-mount the rootfs onto itself to make it one. */
    if (mount(c->opts->rootfs, c->opts->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
        die("bind-mount %s onto itself", c->opts->rootfs);
    say("bind-mounted %s onto itself: a mount point now", c->opts->rootfs);
    /* LAB:END */

    /* LAB:BEGIN pivot-root */
    /* With new root and old root both ".", the old root ends up stacked on
     * top of the new one, and umount2(".") takes it away. MNT_DETACH: the
     * old root is busy (it holds the host's every mount), so detach it from
     * our tree now and let the kernel drop it when it is no longer used. */
    if (chdir(c->opts->rootfs) < 0)
        die("chdir %s", c->opts->rootfs);
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        die("pivot_root to %s", c->opts->rootfs);
    if (umount2(".", MNT_DETACH) < 0)
        die("unmount the old root");
    if (chdir("/") < 0)
        die("chdir / in the new root");
    say("pivot_root(\".\", \".\") and unmounted the old root: the host's files are gone");
    /* LAB:END */

    /* LAB:BEGIN mount-proc */
    /* A proc filesystem shows the PID namespace of whoever mounts it: ours. */
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        die("mount proc on /proc");
    say("mounted a new proc on /proc: it shows this PID namespace");
    /* LAB:END */

    /* LAB:BEGIN hostname */
    /* In its own UTS namespace the container may name itself: the host's
     * hostname is another copy, untouched. */
    if (sethostname(c->hostname, strlen(c->hostname)) < 0)
        die("sethostname(\"%s\")", c->hostname);
    say("sethostname(\"%s\"): the host keeps its own", c->hostname);
    /* LAB:END */

    say("I am pid %d in my new PID namespace", (int)getpid());
    /* docker run's environment, not the host's. */
    if ((err = env_reset(c->opts->env, c->opts->nenv)) < 0)
        die_errno(err, "set the environment");
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
    lab_start(&opts, 5, argc, argv);
    if ((err = sync_open(&c.sync)) < 0)
        die_errno(err, "pipe");
    if ((err = ns_snapshot(&c.host_ns)) < 0)
        die_errno(err, "read /proc/self/ns");
    lab_set_cleanup(cleanup, &c);
    /* The container's name: --hostname, or lab<pid> (checked by lab_start). */
    if (opts.hostname[0])
        strcpy(c.hostname, opts.hostname);
    else
        snprintf(c.hostname, sizeof(c.hostname), "lab%d", (int)getpid());

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
    /* LAB:BEGIN uts-namespace */
    /* CLONE_NEWUTS: the child gets its own copy of the hostname. */
    flags |= CLONE_NEWUTS;
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
