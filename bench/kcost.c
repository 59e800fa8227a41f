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
 * Built by bench/run.py with the lab's common/ (the veth messages are the
 * steps' own, from netlink.c); not part of the lab.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/membarrier.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lab.h"

#define N 20

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

/* ---- probes: each runs in a child and fills out[0..n-1], or returns -errno */

typedef int (*probe_fn)(double *out, int n, int arg);

/* Where the children put their samples: memory shared with them. */
static double *samples;

/* Runs fn(out, n, arg) in a child made by unshare(flags), so that its mounts
 * and namespaces die with it. The child's exit status is the errno. */
static int in_child(int flags, probe_fn fn, int arg, double *out, int n)
{
    int status;
    pid_t pid = fork();

    if (pid < 0)
        return -errno;
    if (pid == 0)
        _exit(flags && unshare(flags) < 0 ? errno : -fn(out, n, arg));
    if (waitpid(pid, &status, 0) < 0)
        return -errno;
    return WIFEXITED(status) ? -WEXITSTATUS(status) : -EIO;
}

/* Creates a veth pair with the lab's own message (both ends in the child's
 * network namespace) and times deleting it. */
static int probe_veth_delete(double *out, int n, int arg)
{
    struct nl_sock s;
    struct nl_msg m;
    int err = nl_open(&s);

    (void)arg;
    for (int i = 0; i < n && !err; i++) {
        if ((err = nl_veth_create(&s, "ka", "kb", getpid())) < 0)
            break;
        nl_build_link_delete(&m, (int)if_nametoindex("ka"));
        double t0 = now_us();
        err = nl_talk(&s, &m);
        out[i] = now_us() - t0;
    }
    nl_close(&s);
    return err;
}

static int probe_rprivate(double *out, int n, int arg)
{
    (void)arg;
    for (int i = 0; i < n; i++) {
        double t0 = now_us();
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
            return -errno;
        out[i] = now_us() - t0;
    }
    return 0;
}

/* Mounts a tmpfs and unmounts it with umount2(umount_flags), n times; times
 * the mount when umount_flags < 0, else the umount2. */
static int probe_tmpfs(double *out, int n, int umount_flags)
{
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return -errno;
    for (int i = 0; i < n; i++) {
        double t0 = now_us();
        if (mount("kcost", mountdir, "tmpfs", 0, "size=4k") < 0)
            return -errno;
        double t1 = now_us();
        if (umount2(mountdir, umount_flags < 0 ? 0 : umount_flags) < 0)
            return -errno;
        out[i] = umount_flags < 0 ? t1 - t0 : now_us() - t1;
    }
    return 0;
}

/* pivot_root into a tmpfs and detach the old root: step 04's core. One
 * sample of each: out[0] the pivot_root, out[detach] the umount2 of the old
 * root. */
static int probe_pivot_root(double *out, int n, int detach)
{
    char old[4096];

    (void)n;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("kcost", mountdir, "tmpfs", 0, "size=64k") < 0)
        return -errno;
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
    out[detach] = now_us() - t0;
    return 0;
}

/* One sample per child: a process unshares a namespace once. */
static int probe_unshare(double *out, int n, int flags)
{
    (void)n;
    double t0 = now_us();
    if (unshare(flags) < 0)
        return -errno;
    out[0] = now_us() - t0;
    return 0;
}

/* ---- measurements --------------------------------------------------------- */

/* N samples of fn: all from one child, or (one_per_child) from N children. */
static int measure_in_child(const char *name, int flags, probe_fn fn, int arg, int one_per_child)
{
    int err = 0;

    for (int i = 0; i < N && !err; i += one_per_child ? 1 : N)
        err = in_child(flags, fn, arg, samples + i, one_per_child ? 1 : N);
    if (err < 0) {
        fail(name, "probe", -err);
        return err;
    }
    report(name, samples, N);
    return 0;
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

/* ---- cgroups ------------------------------------------------------------- */

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

/* A child that waits until *release is closed. */
static pid_t waiting_child(int *release)
{
    int fds[2];
    pid_t pid;
    char c;

    if (pipe(fds) < 0)
        return -errno;
    if ((pid = fork()) == 0) {
        close(fds[1]);
        _exit(read(fds[0], &c, 1) < 0);
    }
    if (pid < 0) {
        int e = -errno;
        close(fds[0]);
        close(fds[1]);
        return e;
    }
    close(fds[0]);
    *release = fds[1];
    return pid;
}

/* A step parent's cgroup work for one container: mkdir, the quota, a waiting
 * child written into cgroup.procs, rmdir once it has exited. t[] gets the
 * four times; returns 0 or -errno, and *what says what failed. */
static int cgroup_once(const char *grp, double t[4], const char **what)
{
    char file[4200], pidbuf[32];
    int release = -1, err;
    pid_t pid = waiting_child(&release);

    if (pid < 0)
        return *what = "fork", pid;
    double t0 = now_us();
    if (mkdir(grp, 0755) < 0) {
        err = -errno;
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close(release);
        return *what = grp, err;
    }
    t[0] = now_us() - t0;
    bool v2 = cgroup_version == 2;
    snprintf(file, sizeof(file), "%s/%s", grp, v2 ? "cpu.max" : "cpu.cfs_quota_us");
    t0 = now_us();
    err = write_str(file, v2 ? "50000 100000" : "50000");
    t[1] = now_us() - t0;
    *what = "write quota";
    snprintf(file, sizeof(file), "%s/cgroup.procs", grp);
    snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid);
    t0 = now_us();
    if (!err) {
        err = write_str(file, pidbuf);
        *what = "write cgroup.procs";
    }
    t[2] = now_us() - t0;
    close(release); /* the child goes */
    waitpid(pid, NULL, 0);
    t0 = now_us();
    for (int tries = 0; rmdir(grp) < 0 && errno == EBUSY && tries < 10000; tries++)
        ;
    t[3] = now_us() - t0;
    return err;
}

/* Spaced out (each start after a pause, as a single container start sees
 * it) or back to back. */
static void measure_cgroup(int pause_ms, const char *suffix)
{
    static const char *const names[4] = { "cgroup_mkdir", "cgroup_quota_write",
                                          "cgroup_procs_write", "cgroup_rmdir" };
    struct timespec pause = { pause_ms / 1000, (pause_ms % 1000) * 1000000L };
    double v[4][N], t[4] = { 0 };
    char grp[4096], name[64];
    const char *what;

    snprintf(grp, sizeof(grp), "%s/bench-kcost-%d", cgroupdir, (int)getpid());
    for (int i = 0; i < N; i++) {
        if (pause_ms)
            nanosleep(&pause, NULL);
        int err = cgroup_once(grp, t, &what);
        if (err < 0)
            return fail("cgroup", what, -err);
        for (int k = 0; k < 4; k++)
            v[k][i] = t[k];
    }
    for (int k = 0; k < 4; k++) {
        snprintf(name, sizeof(name), "%s%s", names[k], suffix);
        report(name, v[k], N);
    }
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
    samples = mmap(NULL, 2 * N * sizeof(*samples), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (samples == MAP_FAILED) {
        perror("kcost: mmap");
        return 1;
    }

    printf("{");
    measure_rcu();
    measure_clone("fork_exit_wait", 0);
    measure_clone("clone_newpid", CLONE_NEWPID);
    measure_clone("clone_newns", CLONE_NEWNS);
    measure_clone("clone_newuts", CLONE_NEWUTS);
    measure_clone("clone_newnet", CLONE_NEWNET);
    measure_in_child("unshare_newns", 0, probe_unshare, CLONE_NEWNS, 1);
    measure_in_child("unshare_newnet", 0, probe_unshare, CLONE_NEWNET, 1);
    measure_in_child("make_rprivate", CLONE_NEWNS, probe_rprivate, 0, 0);
    measure_in_child("mount_tmpfs", CLONE_NEWNS, probe_tmpfs, -1, 0);
    measure_in_child("umount_sync", CLONE_NEWNS, probe_tmpfs, 0, 0);
    measure_in_child("umount_detach", CLONE_NEWNS, probe_tmpfs, MNT_DETACH, 0);
    if (measure_in_child("pivot_root", CLONE_NEWNS, probe_pivot_root, N, 1) == 0)
        report("umount_old_root_detach", samples + N, N);
    measure_in_child("veth_delete", CLONE_NEWNET, probe_veth_delete, 0, 0);
    if (cgroupdir) {
        measure_cgroup(100, "_spaced");
        measure_cgroup(0, "_back_to_back");
    }
    printf("%s  \"errors\": {%s}\n}\n", first ? "\n" : ",\n", errors);
    return 0;
}
