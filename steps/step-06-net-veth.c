/*
 * step-06: a network namespace, and a veth pair to the host.
 *
 * A network namespace has its own links, addresses, routes and ports, and
 * starts with only a loopback, which is down. Without --net that is all the
 * container gets (like docker run --network none): lo, brought up.
 *
 * With --net the container is wired to the host by a veth pair: two virtual
 * links joined like the two ends of a cable, so that what goes in at one
 * end comes out at the other. The parent creates the pair over rtnetlink
 * (the socket interface `ip` uses) in one RTM_NEWLINK request: its own end
 * lab<pid> on the host, and the peer born directly inside the child's
 * network namespace as eth0, so it never has to be moved there. Each end
 * gets an address of one /30 (host .1, container .2), and the container a
 * default route through the host end. The host never forwards: the
 * container can reach the host end, and nothing beyond it.
 *
 * New in this step: CLONE_NEWNET; a veth pair over rtnetlink; --net, --ip.
 *
 * Read: network_namespaces(7), veth(4), rtnetlink(7), netlink(7),
 * ip-link(8) ("ip link add ... type veth peer ... netns ...")
 *
 * Try:
 *   $ sudo ./step-06 --net sh -c 'ip addr; ping -c1 10.200.x.1'
 *   step-06 [parent]: veth lab48700 (10.200.x.1/30) <-> eth0 (10.200.x.2/30) in the container
 *   step-06 [child]: lo up; eth0 10.200.x.2/30 up; default via 10.200.x.1
 *   ...
 *   (the narration names the addresses; 10.200.0.0/16 holds 16384 such pairs)
 *
 * Demo: --net sh -c 'ip -o -4 addr; ping -c1 -W2 $(ip route | awk "/default/ {print \$3}")'
 */
#define _GNU_SOURCE
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lab.h"

/* The namespaces without which this step would change the host itself. */
#define MUST_BE_NEW (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWNET)

/* What the child needs from the parent; clone(2) hands it over as arg. */
struct container {
    const struct lab_opts *opts;
    struct sync_pipe sync;  /* the parent says "go" once it is ready */
    struct ns_ids host_ns;  /* the parent's namespaces, taken before clone */
    char hostname[LAB_HOSTNAME_MAX + 1];
    struct ipam_lease lease; /* with --net: the addresses of both ends */
    char veth[IF_NAMESIZE];  /* the host's end: lab<pid> */
    bool veth_created;
};

/* Runs in the child, in the new namespaces: finish the container's view of
 * the system, then become the command. Does not return. */
static int child_main(void *arg)
{
    struct container *c = arg;
    int err;

    lab_enter_child();
    ipam_unlock(&c->lease); /* our copy of the parent's address lock */
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

    /* LAB:BEGIN net-up */
    /* A new network namespace holds only a loopback, and it is down. With
     * --net the parent has put eth0 here; give it its address and a route
     * out through the host's end. */
    struct nl_sock nl;
    if ((err = nl_open(&nl)) < 0 || (err = nl_link_up(&nl, "lo")) < 0)
        die_errno(err, "bring lo up");
    if (c->opts->net) {
        if ((err = nl_addr_add(&nl, "eth0", c->lease.container, c->lease.prefix)) < 0)
            die_errno(err, "add %s to eth0", ipam_fmt(c->lease.container, c->lease.prefix));
        if ((err = nl_link_up(&nl, "eth0")) < 0)
            die_errno(err, "bring eth0 up");
        if ((err = nl_route_add_default(&nl, "eth0", c->lease.host)) < 0)
            die_errno(err, "add the default route via %s", ipam_fmt(c->lease.host, -1));
        say("lo up; eth0 %s up; default via %s", ipam_fmt(c->lease.container, c->lease.prefix),
            ipam_fmt(c->lease.host, -1));
    } else {
        say("lo up: the only link here (no --net)");
    }
    nl_close(&nl);
    /* LAB:END */

    say("I am pid %d in my new PID namespace", (int)getpid());
    /* docker run's environment, not the host's. */
    if ((err = env_reset(c->opts->env, c->opts->nenv)) < 0)
        die_errno(err, "set the environment");
    proc_exec(c->opts->argv);
}

/* Removes what the container made on the host; also runs when die() ends
 * the parent half-way. */
static void cleanup(void *arg)
{
    struct container *c = arg;
    struct nl_sock nl;

    ipam_unlock(&c->lease);
    /* Deleting one end of a veth pair deletes both. (The kernel would also
     * do it when the container's network namespace goes away, but later,
     * in a worker: delete it now so that it is gone when we exit.) */
    if (c->veth_created && nl_open(&nl) == 0) {
        (void)nl_link_delete(&nl, c->veth); /* gone already is fine too */
        nl_close(&nl);
        c->veth_created = false;
    }
}

int main(int argc, char *argv[])
{
    struct lab_opts opts;
    struct container c = { .opts = &opts };
    int flags = SIGCHLD; /* the signal the kernel sends us when the child ends */
    int err, wstatus;
    void *stack;

    /* Options, --help, and the root check: before anything is created. */
    lab_start(&opts, 6, argc, argv);
    if ((err = sync_open(&c.sync)) < 0)
        die_errno(err, "pipe");
    if ((err = ns_snapshot(&c.host_ns)) < 0)
        die_errno(err, "read /proc/self/ns");
    c.lease.lock_fd = -1;
    snprintf(c.veth, sizeof(c.veth), "lab%d", (int)getpid());
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
    /* LAB:BEGIN net-namespace */
    /* CLONE_NEWNET: its own links, addresses, routes and ports. */
    flags |= CLONE_NEWNET;
    /* LAB:END */
    /* With --net, choose the addresses now, so that the child's copy of
     * our memory holds them too. The choice stays locked until the host's
     * end carries its address. */
    if (opts.net) {
        char clash[128];
        struct nl_sock nl;
        int removed = 0;

        if (nl_open(&nl) == 0) {
            (void)nl_remove_stale_veths(&nl, &removed); /* best effort */
            nl_close(&nl);
        }
        if (removed)
            say("removed %d veth(s) left by killed lab processes", removed);
        if ((err = ipam_claim(opts.ip_set ? &opts.ip : NULL, (unsigned)getpid(), &c.lease,
                              clash, sizeof(clash))) < 0)
            die_errno(err, "--ip %s: %s", opts.ip_set ? ipam_fmt(opts.ip.addr, opts.ip.prefix)
                                                       : "(any)", clash);
    }
    if (!(stack = proc_stack_top()))
        die("mmap a stack for the child");
    pid_t pid = clone(child_main, stack, flags, &c);
    if (pid < 0)
        die("clone");
    sig_forward_to(pid);
    say("clone(%s): the child is pid %d on the host", proc_clone_flags_name(flags), (int)pid);

    /* The host's end of the network. */
    /* LAB:BEGIN veth */
    /* One RTM_NEWLINK creates both ends: lab<pid> here, and its peer eth0
     * born inside the child's network namespace (IFLA_NET_NS_PID). */
    if (opts.net) {
        struct nl_sock nl;

        if ((err = nl_open(&nl)) < 0)
            die_errno(err, "open an rtnetlink socket");
        if ((err = nl_veth_create(&nl, c.veth, "eth0", pid)) < 0)
            die_errno(err, "create veth %s", c.veth);
        c.veth_created = true;
        if ((err = nl_addr_add(&nl, c.veth, c.lease.host, c.lease.prefix)) < 0)
            die_errno(err, "add %s to %s", ipam_fmt(c.lease.host, c.lease.prefix), c.veth);
        if ((err = nl_link_up(&nl, c.veth)) < 0)
            die_errno(err, "bring %s up", c.veth);
        nl_close(&nl);
        say("veth %s (%s) <-> eth0 (%s) in the container", c.veth,
            ipam_fmt(c.lease.host, c.lease.prefix), ipam_fmt(c.lease.container, c.lease.prefix));
    }
    /* LAB:END */
    ipam_unlock(&c.lease);

    /* Sync point GO: the child may run the command. */
    if ((err = sync_release(&c.sync)) < 0)
        die_errno(err, "release the child");

    /* Wait for it, clean up, and end as it ended. */
    if ((err = proc_wait(pid, &wstatus)) < 0)
        die_errno(err, "wait for the child");
    cleanup(&c);
    return proc_exit_status(wstatus);
}
