/*
 * step-09: an IPC namespace.
 *
 * New here: CLONE_NEWIPC: System V shared memory, semaphores and message
 * queues of its own, a fresh mqueue on /dev/mqueue for POSIX queues, and
 * the rest of Docker's /dev: a tmpfs on /dev/shm (--shm-size), a devpts.
 * Read: docs/step-09-ipc-namespace.md; ipc_namespaces(7), mq_overview(7)
 * Demo: sh -c 'ipcmk -M 4096; cat /proc/sysvipc/shm; ls /dev/mqueue'
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lab.h"

/* The namespaces without which the child would change the host itself. */
#define MUST_BE_NEW (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWIPC)

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
    /* LAB:BEGIN ipc-namespace */
    /* CLONE_NEWIPC: its own System V shared memory, semaphores and message
     * queues, and its own POSIX message queues. */
    flags |= CLONE_NEWIPC;
    /* LAB:END */
    return flags;
}

/* Each -v HOST:CONTAINER, bound into the rootfs before the root switch,
 * while the host's paths can still be named; afterwards only the rootfs is
 * left, with the volumes inside it. */
static void mount_volumes(struct container *c)
{
    /* LAB:BEGIN volumes */
    /* The mount point is resolved beneath the rootfs (and created if
     * missing), so that neither ".." nor a symlink can make it land outside.
     * The mount goes through /proc/self/fd/N: onto the very directory that
     * was checked, not onto a path that could be swapped in the meantime. */
    int rootfs_fd = open(c->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfs_fd < 0)
        die("open %s", c->root);
    for (int i = 0; i < c->opts.nvolumes; i++) {
        const struct lab_volume *v = &c->opts.volumes[i];
        char target[64];
        struct stat st;
        int fd;

        if (stat(v->host, &st) < 0)
            die("-v %s", v->host);
        fd = path_open_beneath(rootfs_fd, v->container, S_ISDIR(st.st_mode));
        if (fd == -EXDEV)
            die_msg("-v %s:%s: the mount point leads out of the rootfs", v->host, v->container);
        if (fd < 0)
            die_errno(fd, "-v %s: mount point %s in the rootfs", v->host, v->container);
        snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
        if (mount(v->host, target, NULL, MS_BIND | MS_REC, NULL) < 0)
            die("bind-mount %s on %s", v->host, v->container);
        close(fd);
        /* A bind mount ignores MS_RDONLY: read-only takes a second call, on
         * the new mount itself (open the path again: it now leads into the
         * volume). A remount sets all the mount's flags at once: keep those
         * it has (nosuid, nodev...), which a user namespace may not clear. */
        if (v->readonly) {
            unsigned long keep;

            fd = path_open_beneath(rootfs_fd, v->container, S_ISDIR(st.st_mode));
            if (fd < 0)
                die_errno(fd, "-v %s: reopen %s", v->host, v->container);
            snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
            if (path_mount_flags(target, &keep) < 0 ||
                mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, NULL) < 0)
                die("remount %s read-only", v->container);
            close(fd);
        }
        say("-v %s:%s%s", v->host, v->container, v->readonly ? " (read-only)" : "");
    }
    close(rootfs_fd);
    /* LAB:END */
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

/* The rest of Docker's /dev, after /dev/mqueue: a tmpfs for shared memory
 * and a devpts for terminals, each the container's own. */
static void mount_shm_and_pts(const struct container *c)
{
    /* LAB:BEGIN dev-shm-pts */
    /* POSIX shared memory (shm_open) is not in the IPC namespace: it is
     * files in /dev/shm, a tmpfs. Without one of its own, the container's
     * /dev/shm is a directory of the image, the same for every container.
     * A terminal is a pair of files in a devpts: one of our own, so that
     * the host's terminals are not listed and /dev/ptmx (a link to
     * pts/ptmx) makes ours. Docker's options (moby daemon/pkg/oci/defaults.go),
     * and its size, --shm-size (64 MiB unless given). */
    char shm[64];

    snprintf(shm, sizeof(shm), "mode=1777,size=%lld", c->opts.shm_bytes);
    if (mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, shm) < 0)
        die("mount a tmpfs on /dev/shm");
    if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
              "newinstance,ptmxmode=0666,mode=0620") < 0)
        die("mount a devpts on /dev/pts");
    say("mounted a tmpfs of %s on /dev/shm and a devpts of our own on /dev/pts",
        lab_bytes(c->opts.shm_bytes));
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

/* After the switch: the container's own POSIX message queues. */
static void mount_mqueue(void)
{
    /* LAB:BEGIN mount-mqueue */
    /* POSIX message queues are files of an mqueue filesystem, which shows
     * the IPC namespace of whoever mounts it: ours, as proc shows our pids. */
    if (mount("mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        die("mount mqueue on /dev/mqueue");
    say("mounted a new mqueue on /dev/mqueue: this IPC namespace's POSIX queues");
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
    mount_volumes(c);
    switch_root(c);
    mount_proc();
    mount_mqueue();
    mount_shm_and_pts(c);
    set_hostname(c);
    bring_up_network(c);
    lab_child_env(c); /* docker run's environment, not the host's */
    lab_child_exec(c);
}

/* The container's own group, lab/<pid>, with the CPU cap written into it
 * before any process is in it. */
static void make_cgroup(struct container *c)
{
    /* LAB:BEGIN cgroup */
    struct cg_layout cpu; /* where the cpu controller is */
    int err;

    if ((err = cg_detect(&cpu, "cpu")) < 0)
        die_errno(err, "find the cgroup cpu controller");
    if ((err = cg_create(&c->cg, &cpu, c->id)) < 0)
        die_errno(err, "%s", c->cg.what);
    if (c->opts.cpu_quota_us > 0 &&
        (err = cg_set_cpu_limit(&c->cg, c->opts.cpu_quota_us, c->opts.cpu_period_us)) < 0)
        die_errno(err, "%s", c->cg.what);
    if (c->opts.cpu_quota_us > 0)
        say("%s: %s, %ld us per %ld us (%.2f CPU)", cg_version_name(cpu.version), c->cg.path,
            c->opts.cpu_quota_us, c->opts.cpu_period_us,
            (double)c->opts.cpu_quota_us / c->opts.cpu_period_us);
    else
        say("%s: %s, no CPU cap", cg_version_name(cpu.version), c->cg.path);
    /* LAB:END */
}

/* Starts the child in its namespaces: inside its group from birth where
 * the kernel can, else with a plain clone(2). */
static void start_child(struct container *c, int flags)
{
    c->pid = -EOPNOTSUPP;
    /* LAB:BEGIN cgroup-clone */
    /* cgroup v2, Linux 5.7+: clone3(CLONE_INTO_CGROUP) starts the child
     * inside its group, so no instruction of it ever runs outside, and no
     * cgroup.procs write is needed. -EOPNOTSUPP: the kernel cannot. */
    c->pid = cg_clone_into(&c->cg, child_main, c, flags);
    if (c->pid >= 0)
        c->in_cgroup = true;
    /* LAB:END */
    if (c->pid == -EOPNOTSUPP) {
        void *stack = proc_stack_top();

        if (!stack)
            die("mmap a stack for the child");
        c->pid = clone(child_main, stack, flags, c);
        if (c->pid < 0)
            die("clone");
    } else if (c->pid < 0) {
        die_errno(c->pid, "clone3 into %s", c->cg.path);
    }
    lab_started(c, flags);
}

/* Not started inside (cgroup v1, or an older kernel): the parent moves the
 * child in, while it still waits at sync point GO. */
static void join_cgroup(struct container *c)
{
    /* LAB:BEGIN cgroup-join */
    int err;

    if (!c->in_cgroup && (err = cg_add_pid(&c->cg, c->pid)) < 0)
        die_errno(err, "%s", c->cg.what);
    say("the child is in %s%s", c->cg.path, c->in_cgroup ? " from birth (CLONE_INTO_CGROUP)" : "");
    /* LAB:END */
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

    /* Options, --help and the root check, before anything is created. */
    lab_start(&c, argc, argv);
    /* SIGCHLD: the signal the kernel sends us when the child ends. */
    int flags = SIGCHLD | namespaces();
    /* With --network bridge the addresses are chosen before clone, so that
     * the child's copy of the container holds them too. */
    lab_net_claim(&c);
    make_cgroup(&c);
    start_child(&c, flags);
    join_cgroup(&c);
    make_veth(&c);

    /* Sync point GO: the child may run the command. */
    lab_release(&c);
    /* Wait for it, clean up, and end as it ended. */
    lab_wait(&c);
    return lab_end(&c);
}
