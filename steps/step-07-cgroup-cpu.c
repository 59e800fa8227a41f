/*
 * step-07: a control group caps the container's CPU.
 *
 * Namespaces change what a container sees; control groups (cgroups) limit
 * what it may use. A cgroup is a directory in a special filesystem: mkdir
 * makes a group, the kernel fills it with control files, a pid written to
 * cgroup.procs moves that process (and its future children) in, and the
 * limits written to the files hold for all of them together.
 *
 * Each container gets its own group, lab/<pid>. With --cpus 0.2 (or
 * --cpu-quota 20000 --cpu-period 100000) the group may run 20 ms of every
 * 100 ms: 20% of one CPU, enforced by the scheduler's CFS bandwidth control.
 * The files differ between the two cgroup versions, and common/cgroup.c
 * hides that:
 *   cgroup v1 (and hybrid): /sys/fs/cgroup/cpu/lab/<pid>/cpu.cfs_quota_us, cpu.cfs_period_us
 *   cgroup v2:              /sys/fs/cgroup/lab/<pid>/cpu.max ("20000 100000")
 *
 * The child must be in its group before the command runs a single
 * instruction. On cgroup v2 (Linux 5.7+) clone3(CLONE_INTO_CGROUP) starts it
 * there; otherwise the parent writes its pid to cgroup.procs while it waits
 * on the sync pipe. When the container ends, the group is removed.
 *
 * New in this step: a cgroup per container; --cpus, --cpu-period, --cpu-quota.
 *
 * Read: cgroups(7), clone3(2) (CLONE_INTO_CGROUP), the kernel's
 * Documentation/scheduler/sched-bwc.rst and admin-guide/cgroup-v2.rst
 *
 * Try:
 *   $ sudo ./step-07 --cpus 0.2 sh -c 'timeout 2 sh -c "while :; do :; done"; cat /proc/$$/stat'
 *   step-07 [parent]: cgroup v1: /sys/fs/cgroup/cpu/lab/48800, 20000 us per 100000 us (0.20 CPU)
 *   ...
 *   (top on the host shows the loop at 20%)
 *
 * Demo: --cpus 0.2 sh -c 'time timeout 1 sh -c "while :; do :; done"; true'
 */
#define _GNU_SOURCE
#include <errno.h>
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
    struct cg_group cg;      /* lab/<pid> */
    bool in_cgroup;          /* started inside it (clone3) */
    pid_t pid;               /* the child, until it has been waited for */
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
    int err, wstatus;

    /* A start that failed half-way: the child must be gone before its
     * cgroup can be removed. */
    if (c->pid > 0 && kill(c->pid, SIGKILL) == 0)
        (void)proc_wait(c->pid, &wstatus);
    c->pid = 0;
    /* rmdir of the group; the kernel refuses while it holds tasks, so this
     * retries briefly (see cg_remove). */
    if ((err = cg_remove(&c->cg)) < 0)
        warn_errno(err, "%s", c->cg.what);
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

    /* Options, --help, and the root check: before anything is created. */
    lab_start(&opts, 7, argc, argv);
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
    /* LAB:BEGIN cgroup */
    /* The container's own group, lab/<pid>, with the CPU cap written into
     * it before any process is in it. Groups left by killed lab processes
     * go first. */
    struct cg_layout layout;
    char name[16];
    int removed = 0;

    if ((err = cg_detect(&layout, "cpu")) < 0)
        die_errno(err, "find the cgroup cpu controller");
    snprintf(name, sizeof(name), "%d", (int)getpid());
    (void)cg_remove_stale(&layout, name, &removed);
    if (removed)
        say("removed %d cgroup(s) left by killed lab processes", removed);
    if ((err = cg_create(&c.cg, &layout, name)) < 0)
        die_errno(err, "%s", c.cg.what);
    if (opts.cpu_quota_us > 0 &&
        (err = cg_set_cpu_limit(&c.cg, opts.cpu_quota_us, opts.cpu_period_us)) < 0)
        die_errno(err, "%s", c.cg.what);
    if (opts.cpu_quota_us > 0)
        say("%s: %s, %ld us per %ld us (%.2f CPU)", cg_version_name(layout.version), c.cg.path,
            opts.cpu_quota_us, opts.cpu_period_us, (double)opts.cpu_quota_us / opts.cpu_period_us);
    else
        say("%s: %s, no CPU cap", cg_version_name(layout.version), c.cg.path);
    /* LAB:END */

    pid_t pid = -1;
    /* LAB:BEGIN cgroup-clone */
    /* cgroup v2, Linux 5.7+: clone3(CLONE_INTO_CGROUP) starts the child
     * inside its group, so no instruction of it ever runs outside, and no
     * cgroup.procs write is needed. Where the kernel cannot, fall back. */
    pid = cg_clone_into(&c.cg, child_main, &c, flags);
    if (pid >= 0)
        c.in_cgroup = true;
    else if (pid != -EOPNOTSUPP && pid != -ENOSYS && pid != -EINVAL && pid != -E2BIG)
        die_errno(pid, "clone3 into %s", c.cg.path);
    /* LAB:END */
    if (pid < 0) {
        void *stack = proc_stack_top();

        if (!stack)
            die("mmap a stack for the child");
        pid = clone(child_main, stack, flags, &c);
        if (pid < 0)
            die("clone");
    }
    c.pid = pid; /* from now on cleanup() kills and reaps it on a failure */
    sig_forward_to(c.pid);
    say("clone(%s): the child is pid %d on the host", proc_clone_flags_name(flags), (int)pid);

    /* LAB:BEGIN cgroup-join */
    /* Not started inside (cgroup v1, or an older kernel): move the child in
     * now, while it still waits on the sync pipe. */
    if (!c.in_cgroup && (err = cg_add_pid(&c.cg, pid)) < 0)
        die_errno(err, "%s", c.cg.what);
    say("the child is in %s%s", c.cg.path, c.in_cgroup ? " from birth (CLONE_INTO_CGROUP)" : "");
    /* LAB:END */

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
    c.pid = 0;
    cleanup(&c);
    return proc_exit_status(wstatus);
}
