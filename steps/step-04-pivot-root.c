/*
 * step-04: pivot_root, and the old root unmounted.
 *
 * New here: the rootfs bound onto itself, pivot_root(".", "."), the old root
 * detached: nothing of the host's files is left to escape to.
 * Read: docs/step-04-pivot-root.md; pivot_root(2), umount2(2)
 * Demo: sh -c 'chroot-escape /etc/os-release; cat /proc/self/mountinfo'
 */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
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

/* pivot_root(2): the rootfs becomes the root mount of this namespace, and
 * the old root, with every mount of the host, is detached from it. */
static void switch_root(struct container *c)
{
    /* LAB:BEGIN pivot-root */
    /* With new root and old root both ".", the old root ends up stacked on
     * top of the new one, and umount2(".") takes it away. MNT_DETACH: the
     * old root is busy (it holds the host's every mount), so detach it from
     * our tree now and let the kernel drop it when it is no longer used. */
    if (chdir(c->root) < 0)
        die("chdir %s", c->root);
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        die("pivot_root to %s", c->root);
    if (umount2(".", MNT_DETACH) < 0)
        die("unmount the old root");
    if (chdir("/") < 0)
        die("chdir / in the new root");
    say("pivot_root(\".\", \".\") and unmounted the old root: the host's files are gone");
    /* LAB:END */
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

/* pivot_root(2) needs the new root to be a mount point of its own. */
static void bind_rootfs_onto_itself(const struct container *c)
{
    /* LAB:BEGIN bind-rootfs */
    /* pivot_root(2) swaps mounts, so the new root must be a mount point:
     * bind-mount the rootfs onto itself to make it one. */
    if (mount(c->root, c->root, NULL, MS_BIND | MS_REC, NULL) < 0)
        die("bind-mount %s onto itself", c->root);
    say("bind-mounted %s onto itself: a mount point now", c->root);
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
    bind_rootfs_onto_itself(c);
    switch_root(c);
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
