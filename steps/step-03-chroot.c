/*
 * step-03: chroot into a root filesystem.
 *
 * New here: chroot(2) into --rootfs, and docker run's clean environment;
 * and the way back out of a chroot (/bin/chroot-escape).
 * Read: docs/step-03-chroot.md; chroot(2), path_resolution(7)
 * Demo: sh -c 'ls /; echo "PATH=$PATH"'
 */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include "lab.h"

/* The namespaces without which the child would change the host itself. */
#define MUST_BE_NEW CLONE_NEWNS

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
    /* LAB:BEGIN mount-namespace */
    /* CLONE_NEWNS: the child gets its own copy of the mount table, so what it
     * mounts (a proc, later a whole root) changes its view, not the host's. */
    flags |= CLONE_NEWNS;
    /* LAB:END */
    return flags;
}


/* Before the child mounts anything: its mounts must stay its own. */
static void make_mounts_private(void)
{
    /* LAB:BEGIN private-mounts */
    /* The new mount namespace starts as a copy of the host's mount table, and
     * on most systems (systemd) its mounts are "shared": a mount made here
     * would appear on the host too. Make every mount private, recursively,
     * before mounting anything. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        die("make / private (mount --make-rprivate /)");
    say("mount --make-rprivate /: our mounts no longer reach the host");
    /* LAB:END */
}

/* After the switch: a /proc of the container's own. */
static void mount_proc(void)
{
    /* LAB:BEGIN mount-proc */
    /* A proc filesystem shows the PID namespace of whoever mounts it: ours. */
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        die("mount proc on /proc");
    say("mounted a new proc on /proc: it shows this PID namespace");
    /* LAB:END */
}

/* Runs in the child, in the new namespaces: finish the container's view of
 * the system, then become the command. Does not return. */
static int child_main(void *arg)
{
    struct container *c = arg;

    /* Sync point GO, then the safety net: not in the host's MUST_BE_NEW. */
    lab_child_begin(c, MUST_BE_NEW);
    make_mounts_private();
    /* LAB:BEGIN chroot */
    /* chroot(2) changes what "/" means for this process's path lookups. It
     * does not move the current directory, so go to the new "/" as well. */
    if (chroot(c->root) < 0)
        die("chroot %s", c->root);
    if (chdir("/") < 0)
        die("chdir / in the new root");
    say("chroot %s: / is now the rootfs", c->root);
    /* LAB:END */
    mount_proc();
    lab_child_env(c); /* docker run's environment, not the host's */
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
