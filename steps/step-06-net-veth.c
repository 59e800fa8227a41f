/*
 * step-06: a network namespace, and a veth pair to the host.
 *
 * New here: CLONE_NEWNET, lo brought up; with --network bridge a veth pair
 * made over rtnetlink, eth0 inside with an address and a route to the
 * host's end.
 * Read: docs/step-06-net-veth.md; network_namespaces(7), veth(4), rtnetlink(7)
 * Demo: --network bridge sh -c 'ip -o -4 addr; ping -c1 -W2 $(ip route | awk "/def/{print \$3}")'
 */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lab.h"

/* The namespaces without which the child would change the host itself. */
#define MUST_BE_NEW (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWNET)

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
    /* LAB:BEGIN uts-namespace */
    /* CLONE_NEWUTS: the child gets its own copy of the hostname. */
    flags |= CLONE_NEWUTS;
    /* LAB:END */
    /* LAB:BEGIN net-namespace */
    /* CLONE_NEWNET: its own links, addresses, routes and ports. */
    flags |= CLONE_NEWNET;
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

/* A new network namespace holds only a loopback, and it is down. With
 * --network bridge the parent has put eth0 here: give it its address, and a
 * route out through the host's end. */
static void bring_up_network(struct container *c)
{
    /* LAB:BEGIN net-up */
    struct nl_sock nl;
    int err;

    if ((err = nl_open(&nl)) < 0 || (err = nl_link_up(&nl, "lo")) < 0)
        die_errno(err, "bring lo up");
    if (c->opts.net) {
        if ((err = nl_addr_add(&nl, "eth0", c->lease.container, c->lease.prefix)) < 0)
            die_errno(err, "add %s to eth0", ipam_fmt(c->lease.container, c->lease.prefix));
        if ((err = nl_link_up(&nl, "eth0")) < 0)
            die_errno(err, "bring eth0 up");
        if ((err = nl_route_add_default(&nl, "eth0", c->lease.host)) < 0)
            die_errno(err, "add the default route via %s", ipam_fmt(c->lease.host, -1));
        say("lo up; eth0 %s up; default via %s", ipam_fmt(c->lease.container, c->lease.prefix),
            ipam_fmt(c->lease.host, -1));
    } else {
        say("lo up: the only link here (--network none)");
    }
    nl_close(&nl);
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

/* In the new UTS namespace: the container's name. */
static void set_hostname(const struct container *c)
{
    /* LAB:BEGIN hostname */
    /* In its own UTS namespace the container may name itself: the host's
     * hostname is another copy, untouched. */
    if (sethostname(c->hostname, strlen(c->hostname)) < 0)
        die("sethostname(\"%s\")", c->hostname);
    say("sethostname(\"%s\"): the host keeps its own", c->hostname);
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
    set_hostname(c);
    bring_up_network(c);
    lab_child_env(c); /* docker run's environment, not the host's */
    lab_child_exec(c);
}

/* With --network bridge, the host's end of the network: a veth pair, the host's end
 * with its address, up. */
static void make_veth(struct container *c)
{
    /* LAB:BEGIN veth */
    /* One RTM_NEWLINK creates both ends: lab<pid> here, and its peer eth0
     * born inside the child's network namespace (IFLA_NET_NS_PID). */
    struct nl_sock nl;
    int err;

    if (!c->opts.net)
        return;
    if ((err = nl_open(&nl)) < 0)
        die_errno(err, "open an rtnetlink socket");
    if ((err = nl_veth_create(&nl, c->veth, "eth0", c->pid)) < 0)
        die_errno(err, "create veth %s", c->veth);
    c->veth_created = true;
    if ((err = nl_addr_add(&nl, c->veth, c->lease.host, c->lease.prefix)) < 0)
        die_errno(err, "add %s to %s", ipam_fmt(c->lease.host, c->lease.prefix), c->veth);
    if ((err = nl_link_up(&nl, c->veth)) < 0)
        die_errno(err, "bring %s up", c->veth);
    nl_close(&nl);
    say("veth %s (%s) <-> eth0 (%s) in the container", c->veth,
        ipam_fmt(c->lease.host, c->lease.prefix), ipam_fmt(c->lease.container, c->lease.prefix));
    /* LAB:END */
}

int main(int argc, char *argv[])
{
    struct container c;
    void *stack;

    /* Options, --help and the root check, before anything is created. */
    lab_start(&c, argc, argv);
    /* SIGCHLD: the signal the kernel sends us when the child ends. */
    int flags = SIGCHLD | namespaces();
    /* With --network bridge the addresses are chosen before clone, so that
     * the child's copy of the container holds them too. */
    lab_net_claim(&c);
    if (!(stack = proc_stack_top()))
        die("mmap a stack for the child");
    c.pid = clone(child_main, stack, flags, &c);
    if (c.pid < 0)
        die("clone");
    lab_started(&c, flags);
    make_veth(&c);

    /* Sync point GO: the child may run the command. */
    lab_release(&c);
    /* Wait for it, clean up, and end as it ended. */
    lab_wait(&c);
    return lab_end(&c);
}
