/*
 * step-03: chroot into a root filesystem.
 *
 * A container should not see the host's files. A root filesystem (rootfs)
 * is just a directory holding the files of an operating system, without a
 * kernel: here a static busybox and its applets (rootfs/busybox, built by
 * make rootfs). chroot(2) makes that directory the process's "/", so the
 * command sees the rootfs and none of the host's files. /proc is now the
 * rootfs's own /proc directory, and the fresh proc is mounted there. The
 * command also starts with a clean environment, as docker run gives it,
 * rather than the host's.
 *
 * But chroot only changes how paths are resolved for one process; the host's
 * root is still mounted in this mount namespace, and a root process inside
 * can climb back out: run /bin/chroot-escape to see it. Step 04 closes that.
 *
 * New in this step: chroot(2) to --rootfs; the clean environment (-e adds).
 * Still the host's: hostname, network; and the way out of the chroot.
 *
 * Read: chroot(2), path_resolution(7), mount_namespaces(7)
 *
 * Try:
 *   $ sudo ./step-03 ls /
 *   step-03 [parent]: clone(CLONE_NEWPID|CLONE_NEWNS): the child is pid 48412 on the host
 *   step-03 [child]: mount --make-rprivate /: our mounts no longer reach the host
 *   step-03 [child]: chroot /home/me/lab/rootfs/busybox: / is now the rootfs
 *   step-03 [child]: mounted a new proc on /proc: it shows this PID namespace
 *   step-03 [child]: I am pid 1 in my new PID namespace
 *   bin   dev   etc   proc  root  sbin  sys   tmp   usr
 *   $ echo secret > /tmp/host-secret; sudo ./step-03 -q chroot-escape /tmp/host-secret
 *   secret
 *   chroot-escape: read /tmp/host-secret from the real root: escaped
 *
 * Demo: sh -c 'ls /; echo "PATH=$PATH"'
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

    /* LAB:BEGIN chroot */
    /* chroot(2) changes what "/" means for this process's path lookups. It
     * does not move the current directory, so go to the new "/" as well. */
    if (chroot(c->opts->rootfs) < 0)
        die("chroot %s", c->opts->rootfs);
    if (chdir("/") < 0)
        die("chdir / in the new root");
    say("chroot %s: / is now the rootfs", c->opts->rootfs);
    /* LAB:END */

    /* LAB:BEGIN mount-proc */
    /* A proc filesystem shows the PID namespace of whoever mounts it: ours. */
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        die("mount proc on /proc");
    say("mounted a new proc on /proc: it shows this PID namespace");
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
    lab_start(&opts, 3, argc, argv);
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
