/*
 * infra.c - the part of a pod (step 16) that is not a lesson: finding the
 * pod, making its infra container, and the fork a pod's container needs
 * once it is in the pod's namespaces. Like container.c, it narrates with
 * say() and ends the program with die().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lab.h"

/* A container joining a pod takes the pod's settings: options that say
 * otherwise are refused. */
static void check_agrees(const struct container *c, const struct lab_pod *p)
{
    const char *pod = c->opts.pod;

    if (c->opts.net)
        die_msg("--network bridge: the pod %s has its network already (its first container's): its "
                "containers share it", pod);
    if (c->opts.hostname[0] && strcmp(c->opts.hostname, p->hostname) != 0)
        die_msg("--hostname %s: the pod %s is named %s, and its containers share its name",
                c->opts.hostname, pod, p->hostname);
    if (c->opts.share_pid != p->share_pid)
        die_msg("--share-pid: the pod %s was made %s it: every container of a pod agrees", pod,
                p->share_pid ? "with" : "without");
    if (c->opts.uidmap[0].outside != p->uid || c->opts.gidmap[0].outside != p->gid)
        die_msg("--uidmap/--gidmap: the pod %s's root is %u:%u on the host; its containers "
                "share its user namespace", pod, p->uid, p->gid);
}

/* The pod's settings, from this, its first container's, options. */
static void plan_pod(struct container *c)
{
    char pause[PATH_MAX];
    struct lab_pod *p = &c->pod;
    const char *why;
    int err;


    /* Named after the pod, as Kubernetes does, unless --hostname says. */
    if (!c->opts.hostname[0] && parse_hostname(c->opts.pod, &why) == 0)
        strcpy(c->hostname, c->opts.pod);
    strcpy(p->hostname, c->hostname);
    p->net = c->opts.net;
    p->lease = c->lease;
    p->share_pid = c->opts.share_pid;
    p->uid = c->opts.uidmap[0].outside;
    p->gid = c->opts.gidmap[0].outside;
    p->gids = c->opts.gidmap[0].count;
    if ((err = sync_open(&p->sync)) < 0)
        die_errno(err, "pipe");
    /* Opened here, as root of the host: the infra, root of the pod only,
     * may not be able to reach the rootfs (a checkout in /root). */
    if (path_join(pause, sizeof(pause), c->opts.rootfs, "bin/pause") < 0)
        die_errno(-ENAMETOOLONG, "the rootfs's /bin/pause");
    if ((p->pause_fd = open(pause, O_PATH | O_CLOEXEC)) < 0)
        die("%s: the pod's infra runs it (make rootfs)", pause);
    if ((p->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
        die("open /dev/null");
}

static _Noreturn void die_damaged(const char *what, const char *pod)
{
    char path[PATH_MAX];

    if (pod_path(pod, path, sizeof(path)) < 0)
        path[0] = '\0';
    die_msg("%s %s: its record %s is damaged (not written by the lab): remove it by hand", what,
            pod, path);
}

bool lab_pod_find(struct container *c)
{
    struct lab_pod *p = &c->pod;
    int lock = record_lock(), err;

    if (lock < 0)
        die_errno(lock, "lock the records in %s", LAB_RUN_DIR);
    if ((err = pod_read(c->opts.pod, p)) == -ENOENT || err == -ESRCH) {
        if (err == -ESRCH) /* its infra was killed: what is left of the pod goes */
            (void)pod_teardown(c->opts.pod, p);
        memset(p, 0, sizeof(*p));
        p->lock_fd = lock; /* until the new pod is recorded */
        p->pidfd = -1;
        plan_pod(c);
        return false;
    }
    p->lock_fd = -1;
    close(lock);
    if (err == -EBADMSG)
        die_damaged("--pod", c->opts.pod);
    if (err < 0)
        die_errno(err, "read the record of the pod %s", c->opts.pod);
    check_agrees(c, p);
    if ((p->pidfd = (int)syscall(SYS_pidfd_open, p->infra, 0)) < 0 ||
        !record_alive(p->infra, p->start))
        die_msg("--pod %s: its infra (pid %d) has ended", c->opts.pod, (int)p->infra);
    /* The pod's name and address are the container's (its /etc/hosts). */
    strcpy(c->hostname, p->hostname);
    c->opts.net = p->net;
    c->lease.container = p->lease.container;
    say("pod %s: its infra is pid %d", c->opts.pod, (int)p->infra);
    return true;
}

static void make_infra_veth(struct container *c)
{
    struct lab_pod *p = &c->pod;
    char veth[IF_NAMESIZE];
    struct nl_sock nl;
    int err;

    snprintf(veth, sizeof(veth), "lab%d", (int)p->infra);
    if ((err = nl_open(&nl)) < 0 || (err = nl_veth_create(&nl, veth, "eth0", p->infra)) < 0 ||
        (err = nl_addr_add(&nl, veth, p->lease.host, p->lease.prefix)) < 0 ||
        (err = nl_link_up(&nl, veth)) < 0)
        die_errno(err, "the pod's veth %s", veth);
    nl_close(&nl);
}

/* The pod's group, lab/pod-NAME, in each hierarchy a container's group is
 * in: the infra in lab/pod-NAME/<infra pid>, each container beside it, as
 * the kubelet puts a pod's containers under kubepods/[QoS class/]pod<UID>/. */
static void make_infra_group(struct container *c)
{
    static const char *const controllers[] = { "cpu", "memory", "pids" };
    struct cg_group g = { .dir_fd = -1 };
    struct cg_layout l;
    char path[PATH_MAX];
    int err = 0;

    if (path_printf(path, sizeof(path), "%s/%d", c->cg.parent, (int)c->pod.infra) < 0)
        die_msg("--pod %s: its group's name is too long", c->opts.pod);
    for (size_t i = 0; i < sizeof(controllers) / sizeof(controllers[0]) && err == 0; i++)
        if ((err = cg_detect(&l, controllers[i])) == 0)
            err = i == 0 ? cg_create_at(&g, &l, path) : cg_add_controller(&g, &l);
    if (err == 0)
        err = cg_add_pid(&g, c->pod.infra);
    if (g.dir_fd >= 0)
        close(g.dir_fd);
    if (err < 0)
        die_errno(err, "the group of the pod's infra: %s", g.what);
}

static bool infra_runs_pause(pid_t infra)
{
    char path[64], comm[32];

    snprintf(path, sizeof(path), "/proc/%d/comm", (int)infra);
    return file_read(path, comm, sizeof(comm)) == 0 && strcmp(comm, "pause\n") == 0;
}

void lab_pod_start_infra(struct container *c)
{
    struct lab_pod *p = &c->pod;
    char how[64];
    int err;

    p->made = true;
    sync_started(&p->sync);
    /* Recorded at once, not ready: if we are killed from now on, the next
     * lab process finds it, and ends it. */
    p->start = record_start_time(p->infra);
    if ((err = pod_write(c->opts.pod, p)) < 0)
        die_errno(err, "record the pod %s", c->opts.pod);
    if ((err = userns_write_maps(p->infra, &c->opts, how, sizeof(how))) < 0)
        die_errno(err, "the id maps of the pod's infra");
    if (p->net)
        make_infra_veth(c);
    if (lab_wants_cgroup(c))
        make_infra_group(c);
    if ((err = sync_release(&p->sync)) < 0)
        die_errno(err, "release the infra");
    (void)sync_wait_ready(&p->sync); /* end-of-file: it runs pause, or it is ending */
    if (!infra_runs_pause(p->infra))
        die_msg("--pod %s: its infra ended as it started", c->opts.pod);
    p->ready = true;
    if ((err = pod_write(c->opts.pod, p)) < 0)
        die_errno(err, "record the pod %s", c->opts.pod);
    p->recorded = true;
    if ((p->pidfd = (int)syscall(SYS_pidfd_open, p->infra, 0)) < 0)
        die("pidfd_open the infra");
    close(p->lock_fd);
    p->lock_fd = -1;
    close(p->pause_fd);
    close(p->null_fd);
    sync_close(&p->sync);
    say("pod %s: its infra is pid %d, running pause", c->opts.pod, (int)p->infra);
}

static void pod_usage(FILE *out, int step)
{
    fprintf(out, "Usage: step-%02d pod rm NAME\n"
                 "Ends the pod NAME: kills its containers (SIGKILL), then its infra.\n", step);
}

int lab_pod_command_step(int step, int argc, char *argv[])
{
    const char *name = argc == 3 ? argv[2] : "";
    struct lab_pod p;
    const char *why;
    int lock, killed, err;

    lab_init(step);
    /* ./step-16 -q pod rm NAME: opt_subcommand put the -q after "pod". */
    while (argc > 1 && (strcmp(argv[1], "-q") == 0 || strcmp(argv[1], "--quiet") == 0)) {
        lab_set_quiet(true);
        argc--;
        argv++;
    }
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        pod_usage(stdout, step);
        return 0;
    }
    if (argc != 3 || strcmp(argv[1], "rm") != 0)
        die_msg("pod: usage: pod rm NAME");
    if (record_check_name(name, &why) < 0)
        die_msg("pod rm '%s': %s", name, why);
    if ((err = pod_read(name, &p)) == -ENOENT)
        die_msg("pod rm %s: no such pod", name);
    if (err == -EBADMSG)
        die_damaged("pod rm", name);
    /* Its containers first: their lab processes clean up after them, and
     * the last one ends the pod. */
    killed = record_pod_signal(name, SIGKILL);
    (void)record_pod_wait(name, 10000);
    if ((lock = record_lock()) < 0)
        die_errno(lock, "lock the records");
    if (pod_read(name, &p) != -ENOENT)
        (void)pod_teardown(name, &p);
    close(lock);
    record_tidy();
    say("pod %s removed: %d container(s) killed, and its infra", name, killed);
    return 0;
}

/* ---- the pod's containers ---------------------------------------------- */

/* What the shim waits for: its child's end, and the signals the lab
 * process passes on (sig_forward_begin). */
static void shim_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGCHLD);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGHUP);
}

/* The shim between the lab process and a pod's container: it passes the
 * signals the lab process passes on, and ends as the container does. */
static _Noreturn void shim(pid_t child)
{
    sigset_t set;
    int status;

    shim_signals(&set);
    for (;;) {
        int sig = sigwaitinfo(&set, NULL);

        if (sig > 0 && sig != SIGCHLD)
            (void)kill(child, sig);
        if (waitpid(child, &status, WNOHANG) == child)
            _exit(proc_exit_status(status));
    }
}

void lab_child_fork(struct container *c, int must_be_new)
{
    sigset_t set;
    const char *shared;
    pid_t pid;

    shim_signals(&set);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 || (pid = fork()) < 0)
        die("fork into the new PID namespace");
    if (pid > 0) {
        sync_ready(&c->sync); /* its child says when the container is set up */
        shim(pid);
    }
    if (sigprocmask(SIG_UNBLOCK, &set, NULL) < 0 || proc_die_with_parent() < 0)
        die("prctl(PR_SET_PDEATHSIG)");
    if ((shared = ns_not_new(&c->host_ns, lab_must_be_new(c, must_be_new))))
        die_msg("still in the host's namespace (is %s set?): refusing to change the host", shared);
}

void lab_join_network_of(struct container *c, int must_be_new)
{
    const int join = CLONE_NEWNET | (c->opts.userns_host ? 0 : CLONE_NEWUSER);
    const int own = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;

    if (setns(c->target.pidfd, join) < 0)
        die("--network container:%s: setns(%s)", c->opts.net_container, ns_flag_names(join));
    if (unshare(own) < 0)
        die("unshare(%s)", ns_flag_names(own));
    say("in the network of %s: %s; our own %s", c->opts.net_container, ns_flag_names(join),
        ns_flag_names(own));
    lab_child_fork(c, must_be_new);
}

/* ---- the infra, in its new namespaces ---------------------------------- */

static void configure_network(const struct container *c)
{
    struct nl_sock nl;
    int err;

    if ((err = nl_open(&nl)) < 0 || (err = nl_link_up(&nl, "lo")) < 0)
        die_errno(err, "infra: bring lo up");
    if (c->pod.net &&
        ((err = nl_addr_add(&nl, "eth0", c->pod.lease.container, c->pod.lease.prefix)) < 0 ||
         (err = nl_link_up(&nl, "eth0")) < 0 ||
         (err = nl_route_add_default(&nl, "eth0", c->pod.lease.host)) < 0))
        die_errno(err, "infra: configure eth0");
    nl_close(&nl);
}

/* The infra is a container too, with a root of its own (empty,
 * read-only), never the copy of the host's mount table its new
 * mount namespace starts with, which a container of the pod sharing its PID
 * namespace could read in /proc/1/mountinfo. pause needs no file: it is
 * started from a descriptor opened before. The tmpfs goes on /tmp (any
 * directory of the host would do) in this namespace only. */
static void infra_own_root(void)
{
    if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0555") <
            0 ||
        chdir("/tmp") < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
        umount2(".", MNT_DETACH) < 0 || chdir("/") < 0 ||
        mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              NULL) < 0)
        die("infra: a root of its own");
}

int pod_infra_main(void *arg)
{
    struct container *c = arg;
    char *const argv[] = { "pause", NULL };
    int err;

    proc_child_stack_note();
    lab_enter_child();
    if ((err = sig_reset()) < 0 || sync_wait(&c->pod.sync) < 0)
        _exit(LAB_EXIT_FAILED); /* the lab process is gone: nobody made the pod */
    sync_close(&c->pod.sync);
    /* It outlives the container that made it: no parent-death signal, and a
     * session of its own, out of reach of the terminal's Ctrl-C. */
    if (setsid() < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
        die("infra: setsid, become root");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        die("infra: make / private");
    if (sethostname(c->pod.hostname, strlen(c->pod.hostname)) < 0)
        die("infra: sethostname");
    /* As Docker does for a container: ports below 1024, and ping, for every
     * id of the pod (the gids its map holds: others would be refused). */
    if ((err = file_write("/proc/sys/net/ipv4/ip_unprivileged_port_start", "0")) < 0 ||
        (err = file_printf("/proc/sys/net/ipv4/ping_group_range", "0 %u", c->pod.gids - 1)) < 0)
        die_errno(err, "infra: the pod's network sysctls");
    configure_network(c);
    infra_own_root();
    if (dup2(c->pod.null_fd, 0) < 0 || dup2(c->pod.null_fd, 1) < 0 || dup2(c->pod.null_fd, 2) < 0 ||
        proc_close_on_exec() < 0)
        _exit(LAB_EXIT_FAILED);
    syscall(SYS_execveat, c->pod.pause_fd, "", argv, (char *[]){ NULL }, AT_EMPTY_PATH);
    _exit(LAB_EXIT_FAILED);
}
