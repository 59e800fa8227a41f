/*
 * container.c - the start and the end of a container, the same in every
 * step: the part of each step file that is not a lesson.
 *
 * The parent: options and the root check, the sync pipe, a snapshot of the
 * host's namespaces, signals passed on; after clone, the child's pid for
 * the signals; at sync point GO the child may go on; at the end, the wait
 * and the removal of whatever the container made on the host.
 *
 * The child: the same code runs on both sides of clone(2), so it first says
 * that from now on it speaks as the child; it waits at sync point GO, and
 * checks that it is not in the host's namespaces before it changes
 * anything; last, it becomes the command.
 *
 * Like a step, this file narrates with say() and ends the program with
 * die() on a failure (die() in the parent runs cleanup() first).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lab.h"

/* The first step whose container an ordinary user may start (the user
 * namespace); before it, creating namespaces and mounts needs root. */
#define LAB_ROOTLESS_FROM 12
/* The steps whose volumes' mount points are made in the image itself: from
 * step 11 on, the container's own layer holds them. */
#define LAB_VOLUMES_FROM 8
#define LAB_LAYERS_FROM 11

static void cleanup(void *arg);

static void parse_options(struct container *c, int step, int argc, char *argv[])
{
    char err[1024];

    switch (opt_parse(&c->opts, step, argc, argv, err, sizeof(err))) {
    case OPT_HELP:
        opt_usage(stdout, step);
        exit(0);
    case OPT_VERSION:
        printf("%s (container lab) %s\n", lab_name(), LAB_VERSION);
        exit(0);
    case OPT_ERROR:
        die_msg("%s", err);
    case OPT_RUN:
        break;
    }
    lab_set_quiet(c->opts.quiet);
    lab_set_timings(c->opts.timings || (getenv("LAB_TIMINGS") && *getenv("LAB_TIMINGS")));
    /* Namespaces, mounts, cgroups and veths all need CAP_SYS_ADMIN or
     * CAP_NET_ADMIN in the host's namespaces; say so plainly up front,
     * before looking for a rootfs the user may not even be able to read. */
    if (step < LAB_ROOTLESS_FROM && geteuid() != 0)
        die_msg("needs root (creating namespaces and mounts takes CAP_SYS_ADMIN): "
                "run it as root (with sudo if you use it)");
    if (opt_defaults(&c->opts, step, err, sizeof(err)) < 0)
        die_msg("%s", err);
}

/* --name: taken now, before anything is made, so that a second container
 * of that name stops here. Without one, the records of killed lab
 * processes are removed all the same, as their cgroups are (15+). */
static void claim_name(struct container *c, int step)
{
    int err, removed = 0;

    /* A pod's containers all have a record: it says which pod they are of.
     * Unnamed, one is named after its pod and its lab process. */
    if (c->opts.pod[0] && !c->opts.name[0])
        snprintf(c->opts.name, sizeof(c->opts.name), "%.50s-%d", c->opts.pod, (int)getpid());
    if (step >= 16 && pod_sweep(&removed) == 0 && removed)
        say("removed %d pod(s) whose infra or containers were all gone", removed);
    if (!c->opts.name[0]) {
        if (step >= 15 && record_sweep(&removed) == 0 && removed)
            say("removed %d record(s) left by killed lab processes", removed);
        return;
    }
    if ((err = record_claim(c->opts.name, c->opts.pod, &removed)) == -EEXIST)
        die_msg("--name %s: in use by a running container (see exec)", c->opts.name);
    if (err < 0)
        die_errno(err, "--name %s: record it", c->opts.name);
    c->recorded = true;
    if (removed)
        say("removed %d record(s) left by killed lab processes", removed);
}

/* What the volumes will make in the rootfs, planned and recorded before
 * the child makes it, so that it goes when the container does (points.c). */
static void plan_mount_points(struct container *c, int step)
{
    int err, removed = 0;

    if (step < LAB_VOLUMES_FROM)
        return;
    if (points_sweep(&removed) == 0 && removed)
        say("removed the mount points left by %d killed lab process(es)", removed);
    if (step < LAB_LAYERS_FROM && (err = points_plan(&c->points, c->root, &c->opts)) < 0)
        die_errno(err, "record the volumes' mount points");
}

/* --network container:NAME: NAME's PID 1, pinned by a pidfd; the child joins
 * its user and network namespaces (moby's daemon/oci_linux.go joins both:
 * "to share a net namespace, the containers must also share a user
 * namespace"), so it takes NAME's id map, and its hostname (moby's
 * initializeNetworking, daemon/container_operations.go). */
static void find_network_peer(struct container *c)
{
    const char *name = c->opts.net_container;
    struct lab_target *t = &c->target;
    char path[64], hostname[LAB_HOSTNAME_MAX + 2];
    const char *why;
    int err;

    if ((err = record_read(name, &t->record)) == -EAGAIN)
        err = record_wait_ready(name, &t->record, 5000);
    if (err == -ENOENT)
        die_msg("--network container:%s: no running container %s", name, name);
    if (err < 0)
        die_msg("--network container:%s: %s", name, lab_exec_why(err));
    t->pid = t->record.pid;
    if ((t->pidfd = (int)syscall(SYS_pidfd_open, t->pid, 0)) < 0 ||
        record_start_time(t->pid) != t->record.start)
        die_msg("--network container:%s: it has ended", name);
    if (t->record.userns_host != c->opts.userns_host)
        die_msg(c->opts.userns_host ? "--network container:%s: not with --userns host: %s has a "
                "user namespace, and containers that share a network share a user namespace" :
                "--network container:%s: %s has --userns host: add it here too, as containers "
                "that share a network share a user namespace", name, name);
    c->opts.uidmap[0].outside = t->record.uid;
    c->opts.gidmap[0].outside = t->record.gid;
    snprintf(path, sizeof(path), "/proc/%d/root/etc/hostname", (int)t->pid);
    if (file_read(path, hostname, sizeof(hostname)) == 0) {
        hostname[strcspn(hostname, "\n")] = '\0';
        if (parse_hostname(hostname, &why) == 0)
            strcpy(c->hostname, hostname);
    }
    say("--network container:%s: its PID 1 is pid %d on the host, pinned by a pidfd", name,
        (int)t->pid);
}

void lab_start_step(struct container *c, int step, int argc, char *argv[])
{
    int err;

    memset(c, 0, sizeof(*c));
    lab_init(step);
    proc_close_inherited(); /* the shell's descriptors are not the container's */
    parse_options(c, step, argc, argv);
    c->root = c->opts.rootfs;
    c->lease.lock_fd = -1;
    c->pod.lock_fd = c->pod.pidfd = c->pod.pause_fd = c->pod.null_fd = -1;
    for (int i = 0; i < LAB_MAX_LAYERS; i++)
        c->idmapped[i] = -1;
    c->cg.dir_fd = -1;
    if (c->opts.pod[0]) /* one group for the pod, its infra and containers below it */
        snprintf(c->cg.parent, sizeof(c->cg.parent), "%s/pod-%s", CG_PARENT, c->opts.pod);
    c->host_sysfs = -1;
    /* --network host: the child binds the host's /sys, but a user namespace
     * cannot take it without the mounts below it (the host's cgroups...):
     * as root, the parent clones it alone for the child to attach. */
    if (c->opts.host_network && geteuid() == 0 && (c->host_sysfs = userns_clone_mount("/sys")) < 0)
        die_errno(c->host_sysfs, "--network host: clone the mount of the host's /sys");
    snprintf(c->id, sizeof(c->id), "%d", (int)getpid());
    snprintf(c->veth, sizeof(c->veth), "lab%d", (int)getpid());
    /* The container's name: --hostname (checked by opt_parse), or lab<pid>. */
    if (c->opts.hostname[0])
        strcpy(c->hostname, c->opts.hostname);
    else
        snprintf(c->hostname, sizeof(c->hostname), "lab%d", (int)getpid());
    c->target.pidfd = c->target.cgroup_ns = -1;
    if (c->opts.net_container[0])
        find_network_peer(c);
    if ((err = sync_open(&c->sync)) < 0)
        die_errno(err, "pipe");
    if ((err = ns_snapshot(&c->host_ns)) < 0)
        die_errno(err, "read /proc/self/ns");
    lab_set_cleanup(cleanup, c);
    claim_name(c, step);
    plan_mount_points(c, step);
    /* While the container runs, Ctrl-C is for it, SIGTERM is passed on. */
    if ((err = sig_forward_begin()) < 0)
        die_errno(err, "sigaction");
}

void lab_net_claim(struct container *c)
{
    char clash[128];
    struct nl_sock nl;
    int err, removed = 0;

    if (!c->opts.net)
        return;
    if (nl_open(&nl) == 0) {
        (void)nl_remove_stale_veths(&nl, &removed); /* best effort */
        nl_close(&nl);
    }
    if (removed)
        say("removed %d veth(s) left by killed lab processes", removed);
    const struct lab_ipv4 *req = c->opts.ip_set ? &c->opts.ip : NULL;
    if ((err = ipam_claim(req, (unsigned)getpid(), &c->lease, clash, sizeof(clash))) < 0)
        die_errno(err, "--ip %s: %s", req ? ipam_fmt(req->addr, req->prefix) : "(any)", clash);
}

void lab_started(struct container *c, int flags)
{
    sync_started(&c->sync);
    sig_forward_to(c->pid);
    if (c->cg.stale_removed)
        say("removed %d cgroup(s) left by killed lab processes", c->cg.stale_removed);
    if (c->layers.stale_removed)
        say("removed %d layer dir(s) left by killed lab processes", c->layers.stale_removed);
    say("clone(%s): the child is pid %d on the host", ns_flag_names(flags), (int)c->pid);
}

bool lab_wants_cgroup(const struct container *c)
{
    return !c->opts.rootless || cg_delegated();
}

/* The container's PID 1: the child, or in a pod the child's child (the
 * child stays outside, see lab_child_fork). */
static pid_t pid1(const struct container *c)
{
    char path[64], text[64];
    pid_t pid;

    if (!c->opts.pod[0])
        return c->pid;
    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)c->pid, (int)c->pid);
    if (file_read(path, text, sizeof(text)) < 0 || (pid = parse_pid(text, " \n")) < 0)
        return 0;
    return pid;
}

/* A named container's record, whole, once the child is set up: exec finds
 * a container's namespaces only when they are all there. */
static void record_container(struct container *c)
{
    struct lab_record r = { .lab = getpid() };
    int err;

    if ((err = sync_wait_ready(&c->sync)) < 0)
        die_errno(err, "wait for the child to be set up");
    r.pid = pid1(c);
    snprintf(r.pod, sizeof(r.pod), "%s", c->opts.pod);
    r.start = record_start_time(r.pid);
    r.lab_start = record_start_time(r.lab);
    record_set_options(&r, &c->opts);
    for (int i = 0; i < c->cg.ndirs; i++)
        if (c->cg.dirs[i].created)
            snprintf(r.cgroups[r.ncgroups++], PATH_MAX, "%s", c->cg.dirs[i].path);
    if ((err = record_write(c->opts.name, &r)) < 0)
        die_errno(err, "record %s", c->opts.name);
    say("recorded as %s: ./%s exec %s COMMAND joins it", c->opts.name, lab_name(), c->opts.name);
}

void lab_release(struct container *c)
{
    int err;

    ipam_unlock(&c->lease);
    if ((err = sync_release(&c->sync)) < 0)
        die_errno(err, "release the child");
    if (c->recorded)
        record_container(c);
}

void lab_wait(struct container *c)
{
    int err;

    if ((err = proc_wait(c->pid, &c->wstatus)) < 0)
        die_errno(err, "wait for the child");
    c->pid = 0;
}

int lab_end(struct container *c)
{
    cleanup(c);
    opt_free(&c->opts);
    return proc_exit_status(c->wstatus);
}

/* The last container of a pod to end ends the pod: its infra, veth, group
 * and record. So does one that made the infra and failed to record it. */
static void leave_pod(struct container *c)
{
    struct lab_pod found;
    int lock, err;

    if (!c->opts.pod[0] || (lock = c->pod.lock_fd >= 0 ? c->pod.lock_fd : record_lock()) < 0)
        return;
    if (c->pod.made && !c->pod.recorded)
        (void)pod_teardown(c->opts.pod, &c->pod);
    else if (record_pod_members(c->opts.pod) == 0 &&
             (err = pod_read(c->opts.pod, &found)) != -ENOENT &&
             err != -EBADMSG) { /* a damaged record is left as it is, to be seen */
        say("the last container of pod %s: its infra (pid %d) ends", c->opts.pod, (int)found.infra);
        (void)pod_teardown(c->opts.pod, &found);
    }
    close(lock);
    record_tidy();
    c->pod.lock_fd = -1;
    c->opts.pod[0] = '\0';
}

/* Removes what the container made on the host; also runs when die() ends
 * the parent half-way, so every part is safe to find missing. */
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
    /* Its record, so that the name is free again. */
    if (c->recorded && (err = record_remove(c->opts.name)) < 0)
        warn_errno(err, "remove the record of %s", c->opts.name);
    c->recorded = false;
    leave_pod(c);
    /* The container's layer (unless --upper keeps it), and its scratch dir:
     * its overlay went with its mount namespace. */
    if ((err = layer_remove(&c->layers)) < 0)
        warn_errno(err, "%s", c->layers.what);
    /* The volumes' mount points made in the image (08-10), now unused. */
    points_remove(&c->points);
    /* Deleting one end of a veth pair deletes both. (The kernel would also
     * do it when the container's network namespace goes away, but later,
     * in a worker: delete it now so that it is gone when we exit.) */
    if (c->veth_created && nl_open(&nl) == 0) {
        (void)nl_link_delete(&nl, c->veth); /* gone already is fine too */
        nl_close(&nl);
        /* ENODEV may mean that the kernel is tearing the pair down with the
         * child's namespace, in a worker: wait (a second at most) until the
         * name is gone, so that nothing of ours outlives us. */
        (void)nl_wait_link_gone(c->veth, 1000);
        c->veth_created = false;
    }
}

/* Printed into one of a few static buffers, so that a line may hold several. */
static const char *formatted(const char *fmt, ...) LAB_PRINTF(1, 2);
static const char *formatted(const char *fmt, ...)
{
    static char bufs[4][32];
    static int next;
    char *buf = bufs[next++ % 4];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(bufs[0]), fmt, ap);
    va_end(ap);
    return buf;
}

const char *lab_bytes(long long n)
{
    static const char units[] = "bkmg";
    int u = 0;

    if (n <= 0)
        return "no limit";
    while (u < 3 && n % 1024 == 0) {
        n /= 1024;
        u++;
    }
    return formatted("%lld%c", n, units[u]);
}

const char *lab_count(long n)
{
    return n <= 0 ? "no limit" : formatted("%ld", n);
}

/* ---- the child ---------------------------------------------------------- */

int lab_must_be_new(const struct container *c, int must_be_new)
{
    return c->opts.userns_host ? must_be_new & ~CLONE_NEWUSER : must_be_new;
}

void lab_child_begin(struct container *c, int must_be_new)
{
    int err;

    proc_child_stack_note();
    lab_enter_child();
    ipam_unlock(&c->lease); /* our copy of the parent's address lock */
    if ((err = sig_reset()) < 0 || (err = proc_die_with_parent()) < 0)
        die_errno(err, "reset signal dispositions");
    /* Sync point GO: wait until the parent has done its part. */
    if (sync_wait(&c->sync) < 0)
        _exit(LAB_EXIT_FAILED); /* the parent is gone; nobody to report to */
    sync_close(&c->sync);
    const char *shared = ns_not_new(&c->host_ns, lab_must_be_new(c, must_be_new));
    if (shared)
        die_msg("still in the host's namespace (is %s set?): refusing to change the host",
                shared);
}

void lab_child_env(struct container *c)
{
    int err;

    if ((err = env_reset(c->opts.env, c->opts.nenv)) < 0)
        die_errno(err, "set the environment");
}

void lab_child_ready(struct container *c)
{
    sync_ready(&c->sync);
    /* Set up: what is still open is the lab's (groups, records), and a PID
     * 1 that stays (--init) must not hold it for the command to find in
     * /proc/1/fd. */
    proc_close_inherited();
}

_Noreturn void lab_child_exec(struct container *c)
{
    char *const *argv = c->opts.argv;
    int err;

    if (c->target.pid > 0)
        say("joined %s: I am pid %d in its PID namespace", c->opts.name, (int)getpid());
    else
        say("I am pid %d in my new PID namespace", (int)getpid());
    err = proc_exec(argv);
    /* docker run's codes: 127 when there is no such command, 126 when there
     * is one that cannot be run (no permission, not an executable). */
    if (err == -ENOENT || err == -ENOTDIR || err == -ENAMETOOLONG)
        die_status(LAB_EXIT_NOTFOUND, err, "exec %s", argv[0]);
    die_status(LAB_EXIT_NOEXEC, err, "exec %s", argv[0]);
}
