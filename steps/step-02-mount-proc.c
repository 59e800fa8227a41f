/*
 * step-02: a mount namespace and a fresh /proc.
 *
 * New here: CLONE_NEWNS, every mount made private, and a proc of the
 * container's own on /proc, so that ps lists only the container.
 * Read: docs/step-02-mount-proc.md; mount_namespaces(7), mount(2), proc(5)
 * Demo: sh -c 'ps; ls /proc | grep -c "^[0-9]"'
 */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>

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
    mount_proc();
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
