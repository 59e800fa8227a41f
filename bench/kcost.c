/*
 * kcost.c - what the kernel operations behind a container start cost on this
 * machine, each on its own, so that the benchmark report can say which part
 * of a step's time is the kernel's. Prints one JSON object on stdout:
 *
 *     { "rcu_grace_period": {"n": 20, "median_us": ..., "min_us": ..., "max_us": ...},
 *       "umount_detach": {...}, ..., "errors": {"name": "why", ...} }
 *
 * Usage: kcost MOUNTDIR CGROUPDIR|- CGROUPVERSION
 *
 *   MOUNTDIR   an empty directory to mount a tmpfs on, in a private mount
 *              namespace of a child (the host never sees it)
 *   CGROUPDIR  the cpu controller's hierarchy; kcost makes one group below it
 *              and removes it again ("-": no cgroup measurements)
 *
 * Everything runs in children with their own namespaces or is undone before
 * kcost exits: no mount, cgroup or network link is left on the host.
 * Built and run by bench/run.py; not part of the lab.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/membarrier.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define N 20
#define MAXN 64

static const char *mountdir, *cgroupdir;
static int cgroup_version;
static char errors[4096];
static int first = 1;

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static void report(const char *name, double *v, int n)
{
    if (n <= 0)
        return;
    qsort(v, (size_t)n, sizeof(*v), cmp);
    double med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    printf("%s\n  \"%s\": {\"n\": %d, \"median_us\": %.1f, \"min_us\": %.1f, \"max_us\": %.1f}",
           first ? "" : ",", name, n, med, v[0], v[n - 1]);
    first = 0;
    fflush(stdout);
}

static void fail(const char *name, const char *what, int err)
{
    size_t len = strlen(errors);

    snprintf(errors + len, sizeof(errors) - len, "%s\"%s\": \"%s: %s\"", len ? ", " : "", name,
             what, strerror(err));
}

/* ---- in a child: the result travels back through a pipe ------------------ */

typedef int (*probe_fn)(double *out, int n);

/* Runs fn in a child made by unshare(flags), so that its mounts and
 * namespaces die with it. */
static int in_child(int flags, probe_fn fn, double *out, int n, int *err)
{
    int fds[2];
    pid_t pid;
    int status;

    if (pipe(fds) < 0)
        return *err = errno, -1;
    if ((pid = fork()) < 0)
        return *err = errno, -1;
    if (pid == 0) {
        int e = 0, got = -1;

        close(fds[0]);
        if (flags && unshare(flags) < 0)
            e = errno;
        else if ((got = fn(out, n)) < 0)
            e = -got;
        if (write(fds[1], &e, sizeof(e)) < 0 ||
            (!e && write(fds[1], out, sizeof(*out) * (size_t)n) < 0))
            _exit(1);
        _exit(0);
    }
    close(fds[1]);
    int e = EIO;
    ssize_t r = read(fds[0], &e, sizeof(e));
    if (r == sizeof(e) && !e) {
        size_t want = sizeof(*out) * (size_t)n, have = 0;
        while (have < want && (r = read(fds[0], (char *)out + have, want - have)) > 0)
            have += (size_t)r;
        if (have < want)
            e = EIO;
    }
    close(fds[0]);
    waitpid(pid, &status, 0);
    if (e)
        return *err = e, -1;
    return 0;
}

/* ---- a veth pair, in a network namespace of a child ---------------------- */

struct req {
    struct nlmsghdr h;
    struct ifinfomsg i;
    char attrs[256];
};

static void put_attr(struct req *r, unsigned short type, const void *data, size_t len)
{
    struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->h.nlmsg_len));

    a->rta_type = type;
    a->rta_len = (unsigned short)RTA_LENGTH(len);
    memcpy(RTA_DATA(a), data, len);
    r->h.nlmsg_len = NLMSG_ALIGN(r->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/* Sends r and returns the kernel's answer: 0 or -errno. */
static int talk(int fd, struct req *r)
{
    struct {
        struct nlmsghdr h;
        struct nlmsgerr e;
        char more[512];
    } ack;

    r->h.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    if (send(fd, r, r->h.nlmsg_len, 0) < 0 || recv(fd, &ack, sizeof(ack), 0) < 0)
        return -errno;
    return ack.h.nlmsg_type == NLMSG_ERROR ? ack.e.error : -EPROTO;
}

static int veth_add(int fd)
{
    struct req r = { .h = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
                            .nlmsg_type = RTM_NEWLINK,
                            .nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL } };
    /* IFLA_LINKINFO { IFLA_INFO_KIND "veth", IFLA_INFO_DATA { VETH_INFO_PEER
     * { ifinfomsg, IFLA_IFNAME "kb" } } }, written out by hand. */
    struct {
        struct rtattr kind;
        char kind_s[8];
        struct rtattr data, peer;
        struct ifinfomsg pi;
        struct rtattr pname;
        char pname_s[4];
    } info = {
        .kind = { RTA_LENGTH(5), IFLA_INFO_KIND }, .kind_s = "veth",
        .data = { sizeof(info) - offsetof(typeof(info), data), IFLA_INFO_DATA },
        .peer = { sizeof(info) - offsetof(typeof(info), peer), VETH_INFO_PEER },
        .pname = { RTA_LENGTH(3), IFLA_IFNAME }, .pname_s = "kb",
    };

    put_attr(&r, IFLA_IFNAME, "ka", 3);
    put_attr(&r, IFLA_LINKINFO, &info, sizeof(info));
    return talk(fd, &r);
}

static int probe_veth_delete(double *out, int n)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

    if (fd < 0)
        return -errno;
    for (int i = 0; i < n; i++) {
        int err = veth_add(fd);
        if (err < 0)
            return close(fd), err;
        struct req r = { .h = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
                                .nlmsg_type = RTM_DELLINK },
                         .i = { .ifi_index = (int)if_nametoindex("ka") } };
        double t0 = now_us();
        if ((err = talk(fd, &r)) < 0)
            return close(fd), err;
        out[i] = now_us() - t0;
    }
    close(fd);
    return 0;
}

static int probe_rprivate(double *out, int n)
{
    for (int i = 0; i < n; i++) {
        double t0 = now_us();
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
            return -errno;
        out[i] = now_us() - t0;
    }
    return 0;
}

static int probe_mount_tmpfs(double *out, int n)
{
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return -errno;
    for (int i = 0; i < n; i++) {
        double t0 = now_us();
        if (mount("kcost", mountdir, "tmpfs", 0, "size=4k") < 0)
            return -errno;
        out[i] = now_us() - t0;
        if (umount2(mountdir, 0) < 0)
            return -errno;
    }
    return 0;
}

static int probe_umount(double *out, int n, int flags)
{
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return -errno;
    for (int i = 0; i < n; i++) {
        if (mount("kcost", mountdir, "tmpfs", 0, "size=4k") < 0)
            return -errno;
        double t0 = now_us();
        if (umount2(mountdir, flags) < 0)
            return -errno;
        out[i] = now_us() - t0;
    }
    return 0;
}

static int probe_umount_detach(double *out, int n)
{
    return probe_umount(out, n, MNT_DETACH);
}

static int probe_umount_sync(double *out, int n)
{
    return probe_umount(out, n, 0);
}

/* pivot_root into a tmpfs and detach the old root: step 04's core. */
static int probe_pivot_root(double *out, int n)
{
    (void)n;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return -errno;
    if (mount("kcost", mountdir, "tmpfs", 0, "size=64k") < 0)
        return -errno;
    char old[4096];
    snprintf(old, sizeof(old), "%s/old", mountdir);
    if (mkdir(old, 0700) < 0)
        return -errno;
    double t0 = now_us();
    if (syscall(SYS_pivot_root, mountdir, old) < 0)
        return -errno;
    out[0] = now_us() - t0;
    if (chdir("/") < 0)
        return -errno;
    t0 = now_us();
    if (umount2("/old", MNT_DETACH) < 0)
        return -errno;
    out[1] = now_us() - t0;
    return 0;
}

static int probe_unshare(double *out, int n, int flags)
{
    /* One sample per child: a namespace can be unshared once per process
     * that is going to use it; the caller loops. */
    (void)n;
    double t0 = now_us();
    if (unshare(flags) < 0)
        return -errno;
    out[0] = now_us() - t0;
    return 0;
}

static int probe_unshare_net(double *out, int n)
{
    return probe_unshare(out, n, CLONE_NEWNET);
}

static int probe_unshare_ns(double *out, int n)
{
    return probe_unshare(out, n, CLONE_NEWNS);
}

/* ---- measurements --------------------------------------------------------- */

static void measure_in_child(const char *name, int flags, probe_fn fn, int per_child)
{
    double v[MAXN];
    int err = 0, got = 0;

    if (per_child >= N) {
        if (in_child(flags, fn, v, N, &err) < 0)
            return fail(name, "probe", err);
        got = N;
    } else {
        for (int i = 0; i < N; i++) {
            double one[2];
            if (in_child(flags, fn, one, 1, &err) < 0)
                return fail(name, "probe", err);
            v[got++] = one[0];
        }
    }
    report(name, v, got);
}

static void measure_rcu(void)
{
    double v[N];

    for (int i = 0; i < N; i++) {
        double t0 = now_us();
        if (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) < 0)
            return fail("rcu_grace_period", "membarrier(MEMBARRIER_CMD_GLOBAL)", errno);
        v[i] = now_us() - t0;
    }
    report("rcu_grace_period", v, N);
}

static int child_exit(void *arg)
{
    (void)arg;
    _exit(0);
}

/* clone(flags) + the child's immediate exit + waitpid: creating and tearing
 * down the namespaces, seen from the parent. */
static void measure_clone(const char *name, int flags)
{
    static char stack[64 * 1024] __attribute__((aligned(16)));
    double v[N];

    for (int i = 0; i < N; i++) {
        double t0 = now_us();
        pid_t pid = clone(child_exit, stack + sizeof(stack), flags | SIGCHLD, NULL);
        if (pid < 0)
            return fail(name, "clone", errno);
        waitpid(pid, NULL, 0);
        v[i] = now_us() - t0;
    }
    report(name, v, N);
}

static void measure_pivot_root(void)
{
    double piv[N], det[N];
    int err;

    for (int i = 0; i < N; i++) {
        double two[2];
        if (in_child(CLONE_NEWNS, probe_pivot_root, two, 2, &err) < 0)
            return fail("pivot_root", "probe", err);
        piv[i] = two[0];
        det[i] = two[1];
    }
    report("pivot_root", piv, N);
    report("umount_old_root_detach", det, N);
}

static int write_str(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t w = write(fd, s, strlen(s));
    int e = w < 0 ? -errno : 0;
    close(fd);
    return e;
}

/* As a step's parent does: a group, a quota, a waiting child written into
 * cgroup.procs, then rmdir once it has exited. Spaced out (each write after
 * a pause, as a single container start sees it) and back to back. */
static void measure_cgroup(int pause_ms, const char *suffix)
{
    double mk[N], quota[N], procs[N], rm[N];
    char grp[4096], file[4200], name[64], pidbuf[32];
    int n = 0;

    snprintf(grp, sizeof(grp), "%s/bench-kcost-%d", cgroupdir, (int)getpid());
    for (int i = 0; i < N; i++) {
        int fds[2], e;
        pid_t pid;
        struct timespec pause = { pause_ms / 1000, (pause_ms % 1000) * 1000000L };

        if (pause_ms)
            nanosleep(&pause, NULL);
        if (pipe(fds) < 0)
            return fail("cgroup", "pipe", errno);
        if ((pid = fork()) == 0) {
            char c;
            close(fds[1]);
            _exit(read(fds[0], &c, 1) < 0);
        }
        close(fds[0]);
        double t0 = now_us();
        if (mkdir(grp, 0755) < 0) {
            e = errno;
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            close(fds[1]);
            return fail("cgroup", grp, e);
        }
        mk[n] = now_us() - t0;
        if (cgroup_version == 2) {
            snprintf(file, sizeof(file), "%s/cpu.max", grp);
            t0 = now_us();
            e = write_str(file, "50000 100000");
        } else {
            snprintf(file, sizeof(file), "%s/cpu.cfs_quota_us", grp);
            t0 = now_us();
            e = write_str(file, "50000");
        }
        quota[n] = now_us() - t0;
        snprintf(file, sizeof(file), "%s/cgroup.procs", grp);
        snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid);
        double t1 = now_us();
        int e2 = e ? e : write_str(file, pidbuf);
        procs[n] = now_us() - t1;
        close(fds[1]); /* the child goes */
        waitpid(pid, NULL, 0);
        t0 = now_us();
        int tries = 0;
        while (rmdir(grp) < 0 && errno == EBUSY && tries++ < 10000)
            ;
        rm[n] = now_us() - t0;
        if (e2)
            return fail("cgroup", e ? "write quota" : "write cgroup.procs", -e2);
        n++;
    }
    snprintf(name, sizeof(name), "cgroup_mkdir%s", suffix);
    report(name, mk, n);
    snprintf(name, sizeof(name), "cgroup_quota_write%s", suffix);
    report(name, quota, n);
    snprintf(name, sizeof(name), "cgroup_procs_write%s", suffix);
    report(name, procs, n);
    snprintf(name, sizeof(name), "cgroup_rmdir%s", suffix);
    report(name, rm, n);
}

int main(int argc, char *argv[])
{
    if (argc != 4) {
        fprintf(stderr, "usage: kcost MOUNTDIR CGROUPDIR|- CGROUPVERSION\n");
        return 2;
    }
    mountdir = argv[1];
    cgroupdir = strcmp(argv[2], "-") ? argv[2] : NULL;
    cgroup_version = atoi(argv[3]);

    printf("{");
    measure_rcu();
    measure_clone("fork_exit_wait", 0);
    measure_clone("clone_newpid", CLONE_NEWPID);
    measure_clone("clone_newns", CLONE_NEWNS);
    measure_clone("clone_newuts", CLONE_NEWUTS);
    measure_clone("clone_newnet", CLONE_NEWNET);
    measure_in_child("unshare_newns", 0, probe_unshare_ns, 1);
    measure_in_child("unshare_newnet", 0, probe_unshare_net, 1);
    measure_in_child("make_rprivate", CLONE_NEWNS, probe_rprivate, N);
    measure_in_child("mount_tmpfs", CLONE_NEWNS, probe_mount_tmpfs, N);
    measure_in_child("umount_sync", CLONE_NEWNS, probe_umount_sync, N);
    measure_in_child("umount_detach", CLONE_NEWNS, probe_umount_detach, N);
    measure_pivot_root();
    measure_in_child("veth_delete", CLONE_NEWNET, probe_veth_delete, N);
    if (cgroupdir) {
        measure_cgroup(100, "_spaced");
        measure_cgroup(0, "_back_to_back");
    }
    printf("%s  \"errors\": {%s}\n}\n", first ? "\n" : ",\n", errors);
    return 0;
}
