/*
 * cgroup.c - one control group per container, on cgroup v1 or v2.
 *
 * A cgroup is a directory in a special filesystem: mkdir creates a group, the
 * kernel fills it with control files, writing a pid to cgroup.procs moves a
 * process in, and rmdir removes the group once no process is left in it.
 *
 * Each container gets <root>/lab/<name>. The two versions differ in where the
 * controller is and which files hold the limit:
 *
 *   v1 (and hybrid): <root> = /sys/fs/cgroup/cpu    cpu.cfs_period_us, cpu.cfs_quota_us
 *   v2:              <root> = /sys/fs/cgroup        cpu.max ("quota period" or "max period"),
 *                    and "+cpu" in each parent's cgroup.subtree_control
 *
 * On v1 each controller may have a hierarchy of its own (cpu, memory and
 * pids do), so a group limited in several is a directory in each; on v2 it
 * is one directory, with every controller enabled for it.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lab.h"

#define CG_MOUNT "/sys/fs/cgroup"

const char *cg_version_name(enum cg_version v)
{
    return v == CG_V2 ? "cgroup v2" : v == CG_V1 ? "cgroup v1" : "no cgroup";
}

/* Whether the comma- or space-separated list holds word exactly. */
static bool has_word(const char *list, const char *word)
{
    size_t n = strlen(word);

    for (const char *p = list; (p = strstr(p, word)); p += n) {
        bool starts = p == list || p[-1] == ',' || p[-1] == ' ';
        bool ends = p[n] == '\0' || p[n] == ',' || p[n] == ' ' || p[n] == '\n';

        if (starts && ends)
            return true;
    }
    return false;
}

static bool v2_has_controller(const char *root, const char *controller)
{
    char path[PATH_MAX], list[512];

    if (path_join(path, sizeof(path), root, "cgroup.controllers") < 0 ||
        file_read(path, list, sizeof(list)) < 0)
        return false;
    return has_word(list, controller);
}

static int set_layout(struct cg_layout *l, enum cg_version v, const char *controller,
                      const char *root)
{
    l->version = v;
    if (path_printf(l->controller, sizeof(l->controller), "%s", controller) < 0 ||
        path_printf(l->root, sizeof(l->root), "%s", root) < 0)
        return -ENAMETOOLONG;
    return 0;
}

/* A v1 hierarchy, and the options that mount it again: its super options
 * without rw/ro ("cpu,cpuacct", "name=systemd"). */
static int set_v1_layout(struct cg_layout *l, const char *controller, const char *root,
                         const char *superopts)
{
    char *o, *save, opts[sizeof(l->options)];
    size_t n = 0;
    int err;

    if ((err = set_layout(l, CG_V1, controller, root)) < 0)
        return err;
    if (path_printf(opts, sizeof(opts), "%s", superopts) < 0)
        return -ENAMETOOLONG;
    l->options[0] = '\0';
    for (o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save))
        if (strcmp(o, "rw") != 0 && strcmp(o, "ro") != 0)
            n += (size_t)snprintf(l->options + n, sizeof(l->options) - n, "%s%s", n ? "," : "", o);
    return n < sizeof(l->options) ? 0 : -ENAMETOOLONG;
}

/* mountinfo(5): "... mount-point options [optional fields] - fstype source superopts" */
static bool parse_mount_line(char *line, char **mnt, char **fstype, char **superopts)
{
    char *sep = strstr(line, " - ");
    char *field, *save;
    int i = 0;

    *mnt = *fstype = *superopts = NULL;
    if (!sep)
        return false;
    *sep = '\0';
    for (field = strtok_r(line, " ", &save); field; field = strtok_r(NULL, " ", &save))
        if (++i == 5)
            *mnt = field;
    *fstype = strtok_r(sep + 3, " ", &save);
    (void)strtok_r(NULL, " ", &save); /* the source */
    *superopts = strtok_r(NULL, " \n", &save);
    return *mnt && *fstype && *superopts;
}

int cg_detect_from(struct cg_layout *l, const char *controller, FILE *mountinfo)
{
    char line[4096], v2root[PATH_MAX] = "";

    while (fgets(line, sizeof(line), mountinfo)) {
        char *mnt, *fstype, *superopts;

        if (!parse_mount_line(line, &mnt, &fstype, &superopts))
            continue;
        if (strcmp(fstype, "cgroup") == 0 && has_word(superopts, controller))
            return set_v1_layout(l, controller, mnt, superopts);
        if (strcmp(fstype, "cgroup2") == 0 && !v2root[0] && v2_has_controller(mnt, controller))
            snprintf(v2root, sizeof(v2root), "%s", mnt);
    }
    if (v2root[0])
        return set_layout(l, CG_V2, controller, v2root);
    return -ENOENT;
}

/* The caller's own cgroup v2 directory: CG_MOUNT + the "0::" line of
 * /proc/self/cgroup. */
static int own_v2_dir(char *buf, size_t len)
{
    char text[4096], *line;

    if (file_read("/proc/self/cgroup", text, sizeof(text)) < 0)
        return -errno;
    for (line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        if (strncmp(line, "0::", 3) == 0)
            return path_printf(buf, len, "%s%s", CG_MOUNT, line + 3);
    return -ENOENT;
}

bool cg_delegated(void)
{
    struct statfs sfs;
    struct stat st;
    char dir[PATH_MAX];

    if (statfs(CG_MOUNT, &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC ||
        own_v2_dir(dir, sizeof(dir)) < 0 || stat(dir, &st) < 0)
        return false;
    return st.st_uid == geteuid() && access(dir, W_OK) == 0;
}

/* Rootless, in a delegated subtree: the container's groups go below the
 * caller's own group, which must then hold no process (cgroup v2 hands
 * controllers only to the children of a group without processes): the
 * caller moves into a leaf of its own, supervisor/, first. */
static int delegated_root(struct cg_layout *l)
{
    char dir[PATH_MAX], leaf[PATH_MAX], pid[16];
    char *base;
    int err;

    if ((err = own_v2_dir(dir, sizeof(dir))) < 0)
        return err;
    /* Detected once per controller: the second time, the caller is in its leaf already. */
    base = strrchr(dir, '/');
    if (base && strcmp(base + 1, "supervisor") == 0) {
        *base = '\0';
        return path_printf(l->root, sizeof(l->root), "%s", dir);
    }
    if ((err = path_join(leaf, sizeof(leaf), dir, "supervisor")) < 0)
        return err;
    if (mkdir(leaf, 0755) < 0 && errno != EEXIST)
        return -errno;
    if (path_join(leaf + strlen(leaf), sizeof(leaf) - strlen(leaf), "", "cgroup.procs") < 0)
        return -ENAMETOOLONG;
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    if ((err = file_write(leaf, pid)) < 0)
        return err;
    return path_printf(l->root, sizeof(l->root), "%s", dir);
}

int cg_detect(struct cg_layout *l, const char *controller)
{
    struct statfs sfs;
    FILE *mi;
    int err;

    if (statfs(CG_MOUNT, &sfs) < 0)
        return -errno;
    if (sfs.f_type == CGROUP2_SUPER_MAGIC) {
        if (!v2_has_controller(CG_MOUNT, controller))
            return -ENOENT;
        if ((err = set_layout(l, CG_V2, controller, CG_MOUNT)) < 0)
            return err;
        return geteuid() == 0 || !cg_delegated() ? 0 : delegated_root(l);
    }
    /* A tmpfs there: cgroup v1, or hybrid with v2 beside it at unified/. */
    mi = fopen("/proc/self/mountinfo", "re");
    if (!mi)
        return -errno;
    err = cg_detect_from(l, controller, mi);
    fclose(mi);
    return err;
}

/* Writes a value to dir/file, recording what was tried for the error. */
static int write_value(struct cg_group *g, const char *dir, const char *file, const char *fmt,
                       ...) LAB_PRINTF(4, 5);
static int write_value(struct cg_group *g, const char *dir, const char *file, const char *fmt,
                       ...)
{
    char path[PATH_MAX], value[64];
    va_list ap;

    if (path_join(path, sizeof(path), dir, file) < 0)
        return -ENAMETOOLONG;
    va_start(ap, fmt);
    vsnprintf(value, sizeof(value), fmt, ap);
    va_end(ap);
    snprintf(g->what, sizeof(g->what), "write %s", path);
    return file_write(path, value);
}

/* cgroup v2 hands a controller to a child group only if the parent lists it
 * in cgroup.subtree_control. Written only when missing. */
static int v2_enable(struct cg_group *g, const char *dir, const char *controller)
{
    char path[PATH_MAX], list[512];
    int err;

    if (path_join(path, sizeof(path), dir, "cgroup.subtree_control") < 0)
        return -ENAMETOOLONG;
    snprintf(g->what, sizeof(g->what), "read %s", path);
    if ((err = file_read(path, list, sizeof(list))) < 0)
        return err;
    if (has_word(list, controller))
        return 0;
    return write_value(g, dir, "cgroup.subtree_control", "+%s", controller);
}

static int make_dir(struct cg_group *g, const char *path, bool may_exist)
{
    snprintf(g->what, sizeof(g->what), "mkdir %s", path);
    if (mkdir(path, 0755) < 0 && !(may_exist && errno == EEXIST))
        return -errno;
    return 0;
}

/* The parent, one level at a time below the hierarchy's root (an OCI
 * cgroupsPath may have several), each handing the controller down on v2. */
static int make_parents(struct cg_group *g, const struct cg_layout *l, const char *parent)
{
    char path[PATH_MAX];
    size_t root = strlen(l->root);
    int err;

    snprintf(path, sizeof(path), "%s", parent);
    for (size_t i = root + 1; i <= strlen(parent); i++) {
        if (parent[i] != '/' && parent[i] != '\0')
            continue;
        path[i] = '\0';
        if ((err = make_dir(g, path, true)) < 0)
            return err;
        if (l->version == CG_V2 && (err = v2_enable(g, path, l->controller)) < 0)
            return err;
        path[i] = parent[i];
    }
    return 0;
}

/* lab/ and lab/<name>. Another container may remove an empty lab/ between
 * the two mkdirs; then the second fails with ENOENT and we go round again. */
static int make_dirs(struct cg_group *g, struct cg_dir *d, const char *parent)
{
    int err = -ENOENT;

    for (int tries = 0; tries < 50 && err == -ENOENT; tries++) {
        if ((err = make_parents(g, &d->layout, parent)) < 0)
            continue;
        err = make_dir(g, d->path, false);
    }
    return err;
}

/* The group's directory in the hierarchy of l, made. */
static int create_dir(struct cg_group *g, const struct cg_layout *l)
{
    struct cg_dir *d = &g->dirs[g->ndirs];
    char parent[PATH_MAX];
    int err, removed = 0;

    if (g->ndirs == CG_MAX_DIRS)
        return -E2BIG;
    memset(d, 0, sizeof(*d));
    d->layout = *l;
    snprintf(d->controllers, sizeof(d->controllers), "%s", l->controller);
    if (path_join(parent, sizeof(parent), l->root, g->parent) < 0 ||
        path_join(d->path, sizeof(d->path), parent, g->name) < 0)
        return -ENAMETOOLONG;
    /* Only the lab's own are named after pids: lab/<pid>, lab/pod-NAME/<pid>. */
    if (strcmp(g->parent, CG_PARENT) == 0 || strncmp(g->parent, CG_PARENT "/pod-", 8) == 0)
        (void)cg_remove_stale_in(l, g->parent, g->name, &removed);
    g->stale_removed += removed;
    if (l->version == CG_V2 && (err = v2_enable(g, l->root, l->controller)) < 0)
        return err;
    err = make_dirs(g, d, parent);
    /* Our name is taken only if a killed run with our (reused) pid left its
     * group behind: an empty group, which rmdir removes. */
    if (err == -EEXIST && rmdir(d->path) == 0)
        err = make_dirs(g, d, parent);
    if (err < 0)
        return err;
    d->created = true;
    g->ndirs++;
    return 0;
}

static int create_first(struct cg_group *g, const struct cg_layout *l)
{
    int err;

    if ((err = create_dir(g, l)) < 0)
        return err;
    strcpy(g->path, g->dirs[0].path); /* both PATH_MAX */
    snprintf(g->what, sizeof(g->what), "open %s", g->path);
    g->dir_fd = open(g->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (g->dir_fd < 0) {
        err = -errno;
        cg_remove(g);
        return err;
    }
    return 0;
}

int cg_create(struct cg_group *g, const struct cg_layout *l, const char *name)
{
    char parent[sizeof(g->parent)];

    /* A pod's container: under its pod's group, which lab_start named. */
    snprintf(parent, sizeof(parent), "%s", g->parent[0] ? g->parent : CG_PARENT);
    memset(g, 0, sizeof(*g));
    g->dir_fd = -1;
    strcpy(g->parent, parent);
    if (path_printf(g->name, sizeof(g->name), "%s", name) < 0)
        return -ENAMETOOLONG;
    return create_first(g, l);
}

int cg_create_at(struct cg_group *g, const struct cg_layout *l, const char *path)
{
    const char *slash;

    memset(g, 0, sizeof(*g));
    g->dir_fd = -1;
    while (*path == '/')
        path++;
    slash = strrchr(path, '/');
    if (!path[0] || (slash && !slash[1]) || strstr(path, ".."))
        return -EINVAL;
    if (path_printf(g->name, sizeof(g->name), "%s", slash ? slash + 1 : path) < 0 ||
        path_printf(g->parent, sizeof(g->parent), "%.*s", slash ? (int)(slash - path) : 0,
                    path) < 0)
        return -ENAMETOOLONG;
    return create_first(g, l);
}

int cg_add_controller(struct cg_group *g, const struct cg_layout *l)
{
    for (int i = 0; i < g->ndirs; i++) {
        struct cg_dir *d = &g->dirs[i];

        if (strcmp(d->layout.root, l->root) != 0)
            continue;
        /* The same hierarchy: on v2, enable the controller down to lab/
         * (lab/<name> has no children and needs nothing). */
        if (l->version == CG_V2) {
            char parent[PATH_MAX];
            int err;

            if (path_join(parent, sizeof(parent), l->root, g->parent) < 0)
                return -ENAMETOOLONG;
            if ((err = v2_enable(g, l->root, l->controller)) < 0 ||
                (err = make_parents(g, l, parent)) < 0)
                return err;
        }
        if (!has_word(d->controllers, l->controller)) {
            size_t n = strlen(d->controllers);
            snprintf(d->controllers + n, sizeof(d->controllers) - n, " %s", l->controller);
        }
        return 0;
    }
    return create_dir(g, l);
}

/* The directory whose hierarchy holds the controller. */
static struct cg_dir *dir_of(struct cg_group *g, const char *controller)
{
    for (int i = 0; i < g->ndirs; i++)
        if (has_word(g->dirs[i].controllers, controller))
            return &g->dirs[i];
    snprintf(g->what, sizeof(g->what), "find the %s controller of %s", controller, g->path);
    return NULL;
}

int cg_open_dirs(struct cg_group *g, const char *const *dirs, int n)
{
    static const char *const controllers[] = { "cpu", "memory", "pids" };

    memset(g, 0, sizeof(*g));
    g->dir_fd = -1;
    for (size_t k = 0; k < sizeof(controllers) / sizeof(controllers[0]); k++) {
        struct cg_layout l;
        size_t len;
        int i, err;

        if ((err = cg_detect(&l, controllers[k])) < 0)
            return err;
        len = strlen(l.root);
        for (i = 0; i < n; i++)
            if (strncmp(dirs[i], l.root, len) == 0 && dirs[i][len] == '/')
                break;
        if (i == n)
            continue; /* not limited by it: no group there */
        for (int j = 0; j <= g->ndirs; j++) {
            struct cg_dir *d = &g->dirs[j];

            if (j == g->ndirs && g->ndirs == CG_MAX_DIRS)
                return -E2BIG;
            if (j == g->ndirs) {
                memset(d, 0, sizeof(*d));
                d->layout = l;
                snprintf(d->path, sizeof(d->path), "%s", dirs[i]);
                snprintf(d->controllers, sizeof(d->controllers), "%s", controllers[k]);
                g->ndirs++;
                break;
            }
            if (strcmp(d->path, dirs[i]) == 0) {
                size_t m = strlen(d->controllers);
                snprintf(d->controllers + m, sizeof(d->controllers) - m, " %s", controllers[k]);
                break;
            }
        }
    }
    if (g->ndirs)
        snprintf(g->path, sizeof(g->path), "%s", g->dirs[0].path);
    return g->ndirs ? 0 : -ENOENT;
}

/* One number of a control file: the n-th word (v2's cpu.max is "QUOTA
 * PERIOD"); 0 for "max" or -1 (no quota). */
static long cpu_value(const struct cg_dir *d, const char *file, int word)
{
    char path[PATH_MAX], text[64], *at = text;
    long v;

    if (path_join(path, sizeof(path), d->path, file) < 0 || file_read(path, text, sizeof(text)) < 0)
        return -1;
    text[strcspn(text, "\n")] = '\0';
    for (int i = 0; i < word && at; i++)
        if ((at = strchr(at, ' ')))
            at++;
    if (!at || strncmp(at, "max", 3) == 0 || strncmp(at, "-1", 2) == 0)
        return 0;
    *strchrnul(at, ' ') = '\0';
    return parse_number(at, "", 1000000000, &v) < 0 ? -1 : v;
}

int cg_cpu_limit_now(struct cg_group *g, long *quota_us, long *period_us)
{
    struct cg_dir *d = dir_of(g, "cpu");
    bool v2;

    if (!d)
        return -ENOENT;
    v2 = d->layout.version == CG_V2;
    *quota_us = cpu_value(d, v2 ? "cpu.max" : "cpu.cfs_quota_us", 0);
    *period_us = cpu_value(d, v2 ? "cpu.max" : "cpu.cfs_period_us", v2 ? 1 : 0);
    return *quota_us < 0 || *period_us <= 0 ? -EIO : 0;
}

int cg_set_cpu_limit(struct cg_group *g, long quota_us, long period_us)
{
    struct cg_dir *d = dir_of(g, "cpu");
    int err;

    if (!d)
        return -ENOENT;
    if (d->layout.version == CG_V2) {
        if (quota_us > 0)
            return write_value(g, d->path, "cpu.max", "%ld %ld", quota_us, period_us);
        return write_value(g, d->path, "cpu.max", "max %ld", period_us);
    }
    /* v1 checks the quota against the period: set the period first. */
    if ((err = write_value(g, d->path, "cpu.cfs_period_us", "%ld", period_us)) < 0)
        return err;
    return write_value(g, d->path, "cpu.cfs_quota_us", "%ld", quota_us > 0 ? quota_us : -1L);
}

/* A control file of the group that may be missing (a kernel without swap
 * accounting has no memory.swap.max): whether it is there. */
static bool has_file(const struct cg_dir *d, const char *file)
{
    char path[PATH_MAX];

    return path_join(path, sizeof(path), d->path, file) == 0 && access(path, F_OK) == 0;
}

static int swap_unsupported(struct cg_group *g, const struct cg_dir *d, const char *file)
{
    snprintf(g->what, sizeof(g->what), "--memory-swap: the memory controller here does not limit "
             "swap (%s has no %s)", d->path, file);
    return -EOPNOTSUPP;
}

int cg_set_memory_limit(struct cg_group *g, long long memory_bytes, long long swap_total)
{
    struct cg_dir *d;
    int err;

    if (memory_bytes <= 0)
        return 0;
    if (!(d = dir_of(g, "memory")))
        return -ENOENT;
    if (d->layout.version == CG_V2) {
        if ((err = write_value(g, d->path, "memory.max", "%lld", memory_bytes)) < 0)
            return err;
        if (!has_file(d, "memory.swap.max"))
            return swap_total ? swap_unsupported(g, d, "memory.swap.max") : 0;
        if (swap_total == LAB_UNLIMITED)
            return write_value(g, d->path, "memory.swap.max", "max");
        return write_value(g, d->path, "memory.swap.max", "%lld",
                           swap_total ? swap_total - memory_bytes : memory_bytes);
    }
    /* v1 checks memsw against the memory limit: the memory limit first. */
    if ((err = write_value(g, d->path, "memory.limit_in_bytes", "%lld", memory_bytes)) < 0)
        return err;
    if (!has_file(d, "memory.memsw.limit_in_bytes"))
        return swap_total ? swap_unsupported(g, d, "memory.memsw.limit_in_bytes") : 0;
    return write_value(g, d->path, "memory.memsw.limit_in_bytes", "%lld",
                       swap_total == LAB_UNLIMITED ? -1
                       : swap_total                ? swap_total
                                                   : 2 * memory_bytes);
}

int cg_set_pids_limit(struct cg_group *g, long n)
{
    struct cg_dir *d;

    if (n == 0)
        return 0;
    if (!(d = dir_of(g, "pids")))
        return -ENOENT;
    if (n == LAB_UNLIMITED)
        return write_value(g, d->path, "pids.max", "max");
    return write_value(g, d->path, "pids.max", "%ld", n);
}

int cg_oom_kills(struct cg_group *g)
{
    struct cg_dir *d = dir_of(g, "memory");
    char path[PATH_MAX], text[1024];
    const char *line;
    long kills;
    int err;

    if (!d)
        return -ENOENT;
    if (path_join(path, sizeof(path), d->path,
                  d->layout.version == CG_V2 ? "memory.events" : "memory.oom_control") < 0)
        return -ENAMETOOLONG;
    snprintf(g->what, sizeof(g->what), "read %s", path);
    if ((err = file_read(path, text, sizeof(text))) < 0)
        return err;
    for (line = text; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, "oom_kill ", 9) == 0)
            return parse_number(line + 9, "\n", INT_MAX, &kills) == 0 ? (int)kills : -EINVAL;
    return 0;
}

int cg_add_pid(struct cg_group *g, pid_t pid)
{
    for (int i = 0; i < g->ndirs; i++) {
        int err = write_value(g, g->dirs[i].path, "cgroup.procs", "%d", (int)pid);

        if (err < 0)
            return err;
    }
    return 0;
}

/* Kills every task of the group and waits for each to end, on pidfds:
 * rmdir(2) refuses a group that still has one. Tasks may fork while we
 * kill: a few rounds, each reading cgroup.procs again. */
static void end_tasks(const char *group, int timeout_ms)
{
    char path[PATH_MAX], text[4096];
    long long deadline = proc_now_ms() + timeout_ms;

    if (path_join(path, sizeof(path), group, "cgroup.procs") < 0)
        return;
    for (int round = 0; round < 8 && proc_now_ms() < deadline; round++) {
        int fds[256], n = 0;

        if (file_read(path, text, sizeof(text)) < 0 || !text[0])
            return;
        for (char *p = strtok(text, "\n"); p && n < 256; p = strtok(NULL, "\n")) {
            unsigned long long pid;
            int fd;

            if (kv_number(p, 10, INT_MAX, &pid) < 0 ||
                (fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0)) < 0)
                continue; /* ended already */
            if (syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0) == 0)
                fds[n++] = fd;
            else
                close(fd);
        }
        (void)proc_wait_pidfds(fds, n, (int)(deadline - proc_now_ms()));
        for (int i = 0; i < n; i++)
            close(fds[i]);
    }
}

static bool populated(const char *events_path)
{
    char text[256];

    return file_read(events_path, text, sizeof(text)) == 0 && strstr(text, "populated 1");
}

/* On v2 the kernel says when the group has no task left: "populated 0"
 * in cgroup.events, whose changes inotify reports. */
static void wait_unpopulated(const char *group, int timeout_ms)
{
    char path[PATH_MAX];
    long long deadline = proc_now_ms() + timeout_ms;
    int fd;

    if (path_join(path, sizeof(path), group, "cgroup.events") < 0 ||
        (fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) < 0)
        return;
    if (inotify_add_watch(fd, path, IN_MODIFY) >= 0)
        while (populated(path) && proc_now_ms() < deadline) {
            struct pollfd pfd = { .fd = fd, .events = POLLIN };
            char events[512];

            if (poll(&pfd, 1, (int)(deadline - proc_now_ms())) < 0 && errno != EINTR)
                break;
            while (read(fd, events, sizeof(events)) > 0)
                ; /* drained: look at cgroup.events again */
        }
    close(fd);
}

/* What is left of a container ends with its group: its tasks first. */
static int remove_group(const char *group, int timeout_ms)
{
    end_tasks(group, timeout_ms);
    if (rmdir(group) == 0 || errno == ENOENT)
        return 0;
    if (errno != EBUSY)
        return -errno;
    wait_unpopulated(group, timeout_ms);
    return rmdir(group) == 0 || errno == ENOENT ? 0 : -errno;
}

int cg_remove(struct cg_group *g)
{
    int failed = 0;

    if (g->dir_fd >= 0) {
        close(g->dir_fd);
        g->dir_fd = -1;
    }
    for (int i = 0; i < g->ndirs; i++) {
        struct cg_dir *d = &g->dirs[i];
        char parent[PATH_MAX];
        int err;

        if (!d->created)
            continue;
        /* What is left of the container (in a pod's shared PID namespace
         * its PID 1 is not the namespace's, and the kernel kills nothing
         * when it exits) ends with it. */
        if ((err = remove_group(d->path, 2000)) < 0) {
            if (!failed) {
                snprintf(g->what, sizeof(g->what), "rmdir %s", d->path);
                failed = err;
            }
            continue;
        }
        d->created = false;
        /* The parent goes too once the last container is gone; while others
         * still run it is busy, which is fine. */
        if (g->parent[0] && path_join(parent, sizeof(parent), d->layout.root, g->parent) == 0)
            (void)rmdir(parent);
    }
    return failed;
}

static bool process_alive(pid_t pid)
{
    return kill(pid, 0) == 0 || errno == EPERM;
}

int cg_remove_named(const struct cg_layout *l, const char *name)
{
    char path[PATH_MAX], parent[PATH_MAX];
    int err;

    if (path_join(parent, sizeof(parent), l->root, CG_PARENT) < 0 ||
        path_join(path, sizeof(path), parent, name) < 0)
        return -ENAMETOOLONG;
    if ((err = remove_group(path, 2000)) < 0)
        return err;
    (void)rmdir(parent);
    return 0;
}

int cg_remove_pod(const struct cg_layout *l, const char *pod, pid_t infra)
{
    char lab[PATH_MAX], group[PATH_MAX];
    int err;

    if (path_join(lab, sizeof(lab), l->root, CG_PARENT) < 0 ||
        path_printf(group, sizeof(group), "%s/pod-%s/%d", lab, pod, (int)infra) < 0)
        return -ENAMETOOLONG;
    if ((err = cg_remove_path(group)) < 0) /* and the pod's group, once empty */
        return err;
    (void)rmdir(lab);
    return 0;
}

int cg_remove_path(const char *path)
{
    char parent[PATH_MAX], *slash;
    int err;

    if ((err = remove_group(path, 2000)) < 0)
        return err;
    snprintf(parent, sizeof(parent), "%s", path);
    /* The parent goes too once empty (EBUSY for a hierarchy's root). */
    if ((slash = strrchr(parent, '/')) && slash != parent) {
        *slash = '\0';
        (void)rmdir(parent);
    }
    return 0;
}

int cg_remove_stale(const struct cg_layout *l, const char *keep_name, int *removed)
{
    return cg_remove_stale_in(l, CG_PARENT, keep_name, removed);
}

int cg_remove_stale_in(const struct cg_layout *l, const char *under, const char *keep_name,
                       int *removed)
{
    char parent[PATH_MAX], path[PATH_MAX];
    struct dirent *e;
    DIR *d;

    *removed = 0;
    if (path_join(parent, sizeof(parent), l->root, under) < 0)
        return -ENAMETOOLONG;
    if (!(d = opendir(parent)))
        return errno == ENOENT ? 0 : -errno;
    while ((e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);

        /* Groups are named after the pid of the lab process that owns them. */
        if (e->d_type != DT_DIR || *end != '\0' || pid <= 0 || end == e->d_name)
            continue;
        if (strcmp(e->d_name, keep_name) == 0 || process_alive((pid_t)pid))
            continue;
        /* The killed run's container may still be on its way out, or, its
         * parent gone, still running: end it, then remove its group. */
        if (path_join(path, sizeof(path), parent, e->d_name) < 0)
            continue;
        if (remove_group(path, 250) == 0)
            (*removed)++;
    }
    closedir(d);
    return 0;
}

int cg_mount_view(struct cg_group *g, const char *dir)
{
    const unsigned long ro = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
    char where[PATH_MAX];

    if (g->ndirs == 0)
        return 0;
    snprintf(g->what, sizeof(g->what), "mount cgroup2 on %s", dir);
    if (g->dirs[0].layout.version == CG_V2)
        return mount("cgroup2", dir, "cgroup2", ro, NULL) < 0 ? -errno : 0;
    snprintf(g->what, sizeof(g->what), "mount a tmpfs on %s", dir);
    if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") < 0)
        return -errno;
    for (int i = 0; i < g->ndirs; i++) {
        const struct cg_layout *l = &g->dirs[i].layout;
        const char *name = strrchr(l->root, '/') + 1;

        if (path_join(where, sizeof(where), dir, name) < 0)
            return -ENAMETOOLONG;
        snprintf(g->what, sizeof(g->what), "mount cgroup -o %s on %s", l->options, where);
        if (mkdir(where, 0755) < 0 || mount("cgroup", where, "cgroup", ro, l->options) < 0)
            return -errno;
    }
    snprintf(g->what, sizeof(g->what), "remount %s read-only", dir);
    return mount(NULL, dir, NULL, MS_REMOUNT | ro, NULL) < 0 ? -errno : 0;
}

pid_t cg_clone_into(struct cg_group *g, int (*fn)(void *), void *arg, int flags)
{
    struct clone_args args = {
        .flags = (uint64_t)(flags & ~0xff) | CLONE_INTO_CGROUP,
        .exit_signal = (uint64_t)(flags & 0xff),
        .cgroup = (uint64_t)g->dir_fd,
    };
    long pid;

    /* One directory, on v2: one fd names the whole group. */
    if (g->ndirs != 1 || g->dirs[0].layout.version != CG_V2 || g->dir_fd < 0)
        return -EOPNOTSUPP;
    /* Without a stack clone3 behaves like fork(2): the child returns here,
     * on its own copy of this stack. */
    pid = syscall(SYS_clone3, &args, sizeof(args));
    if (pid < 0) {
        /* The kernel cannot (older than 5.7: ENOSYS; a flag or the struct
         * size it does not know: EINVAL, E2BIG): the caller falls back. */
        if (errno == ENOSYS || errno == EINVAL || errno == E2BIG || errno == EOPNOTSUPP)
            return -EOPNOTSUPP;
        return -errno;
    }
    if (pid == 0)
        _exit(fn(arg));
    return (pid_t)pid;
}
