/*
 * userns.c - a user namespace's id maps, and the idmapped mounts that give
 * its root the image layers.
 *
 * A user namespace maps ranges of ids: "0 100000 65536" in uid_map says
 * that uids 0..65535 inside are 100000..165535 outside. Root inside is then
 * an ordinary uid of the host: what it may touch on the host is what uid
 * 100000 may. Each map file takes one write, of up to 340 lines, once; the
 * parent writes them while the child waits (sync point GO).
 *
 * Root may map any range. An ordinary user (a rootless container) may map
 * only its own uid and gid, one line each, unless /etc/subuid and
 * /etc/subgid give it ranges; then the setuid helpers newuidmap(1) and
 * newgidmap(1) write the maps for it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lab.h"

#define DEFAULT_FIRST 100000u /* as Docker's userns-remap and /etc/subuid start */
#define DEFAULT_COUNT 65536u  /* 0..65535: every id a distribution uses */

static int refuse(const char **why, const char *reason, int err)
{
    *why = reason;
    return err;
}

/* "0:100000:65536" -> {0, 100000, 65536}. */
int parse_idmap(const char *s, struct lab_idmap *out, const char **why)
{
    unsigned long long v[3];
    const char *p = s;
    char *end;

    for (int i = 0; i < 3; i++) {
        if (*p < '0' || *p > '9')
            return refuse(why, "is not CONTAINER:HOST:SIZE (three whole numbers)", -EINVAL);
        errno = 0;
        v[i] = strtoull(p, &end, 10);
        if (errno || v[i] > 0xffffffffULL)
            return refuse(why, "has a number beyond 4294967295", -EINVAL);
        if (*end != (i < 2 ? ':' : '\0'))
            return refuse(why, "is not CONTAINER:HOST:SIZE (three whole numbers)", -EINVAL);
        p = end + 1;
    }
    if (v[2] == 0)
        return refuse(why, "maps no id (SIZE 0)", -EINVAL);
    if (v[0] + v[2] - 1 > 0xfffffffeULL || v[1] + v[2] - 1 > 0xfffffffeULL)
        return refuse(why, "goes beyond the largest id, 4294967294", -EINVAL);
    *out = (struct lab_idmap){ (unsigned)v[0], (unsigned)v[1], (unsigned)v[2] };
    return 0;
}

static bool overlap(unsigned a, unsigned n, unsigned b, unsigned m)
{
    return a < b + m && b < a + n;
}

int userns_check_maps(const struct lab_idmap *m, int n, const char **why)
{
    bool root = false;

    for (int i = 0; i < n; i++) {
        root |= m[i].inside == 0;
        for (int j = 0; j < i; j++) {
            if (overlap(m[i].inside, m[i].count, m[j].inside, m[j].count))
                return refuse(why, "maps an id inside twice (the ranges overlap)", -EINVAL);
            if (overlap(m[i].outside, m[i].count, m[j].outside, m[j].count))
                return refuse(why, "maps two ids inside to one outside (the ranges overlap)",
                              -EINVAL);
        }
    }
    if (!root)
        return refuse(why, "does not map the container's root, id 0", -EINVAL);
    return 0;
}

/* The first range of /etc/subuid or /etc/subgid ("alice:100000:65536")
 * for this user, by name or by number. */
int userns_subid_range(const char *file, const char *user, unsigned id, struct lab_idmap *out)
{
    char line[512], number[16];
    FILE *f = fopen(file, "re");
    int err = -ENOENT;

    if (!f)
        return -errno;
    snprintf(number, sizeof(number), "%u", id);
    while (err == -ENOENT && fgets(line, sizeof(line), f)) {
        char *name = strtok(line, ":"), *start = strtok(NULL, ":"), *count = strtok(NULL, ":\n");

        if (name && start && count && (strcmp(name, user) == 0 || strcmp(name, number) == 0)) {
            *out = (struct lab_idmap){ 1, (unsigned)strtoul(start, NULL, 10),
                                       (unsigned)strtoul(count, NULL, 10) };
            err = out->count ? 0 : -ENOENT;
        }
    }
    fclose(f);
    return err;
}

/* The user's name, from /etc/passwd (not getpwnam: the steps are linked
 * statically, and glibc's NSS would want its shared libraries back). */
static const char *user_name(unsigned uid, char *buf, size_t len)
{
    char line[512];
    FILE *f = fopen("/etc/passwd", "re");

    snprintf(buf, len, "%u", uid);
    while (f && fgets(line, sizeof(line), f)) {
        char *name = strtok(line, ":"), *x = strtok(NULL, ":"), *id = strtok(NULL, ":");

        if (name && x && id && (unsigned)strtoul(id, NULL, 10) == uid) {
            snprintf(buf, len, "%s", name);
            break;
        }
    }
    if (f)
        fclose(f);
    return buf;
}

static bool have_helpers(void)
{
    return access("/usr/bin/newuidmap", X_OK) == 0 && access("/usr/bin/newgidmap", X_OK) == 0;
}

/* The maps when none is given. Root: 0..65535 onto 100000.., or root's
 * range in /etc/subuid. An ordinary user: itself as root inside, and its
 * /etc/subuid range, where newuidmap can write it, as the rest. */
static int default_maps(struct lab_idmap *m, const char *file, unsigned own)
{
    char user[64];
    struct lab_idmap sub;
    bool found = userns_subid_range(file, user_name(geteuid(), user, sizeof(user)), geteuid(),
                                    &sub) == 0;

    if (geteuid() == 0) {
        m[0] = (struct lab_idmap){ 0, found ? sub.outside : DEFAULT_FIRST, DEFAULT_COUNT };
        if (found && sub.count < DEFAULT_COUNT)
            m[0].count = sub.count;
        return 1;
    }
    m[0] = (struct lab_idmap){ 0, own, 1 };
    if (!found || !have_helpers())
        return 1;
    m[1] = (struct lab_idmap){1, sub.outside,
                              sub.count < DEFAULT_COUNT ? sub.count : DEFAULT_COUNT - 1};
    return 2;
}

/* Rootless: every host id must be the user's own or in its subid range. */
static int check_allowed(const struct lab_idmap *m, int n, const char *file, unsigned own,
                         const char **why)
{
    char user[64];
    struct lab_idmap sub = { 0, 0, 0 };
    bool helpers = have_helpers() &&
                   userns_subid_range(file, user_name(geteuid(), user, sizeof(user)), geteuid(),
                                      &sub) == 0;

    for (int i = 0; i < n; i++) {
        bool own_id = m[i].outside == own && m[i].count == 1;
        bool in_sub = helpers && m[i].outside >= sub.outside &&
                      (unsigned long long)m[i].outside + m[i].count <=
                          (unsigned long long)sub.outside + sub.count;

        if (!own_id && !in_sub)
            return refuse(why, helpers ? "maps host ids beyond your own and your /etc/subuid range"
                                       : "maps host ids other than your own (no /etc/subuid "
                                         "range, or no newuidmap)", -EPERM);
    }
    return 0;
}

int userns_defaults(struct lab_opts *o, const char **why)
{
    int err;

    o->rootless = geteuid() != 0;
    /* As podman: --uidmap alone maps the gids the same way. */
    if (o->nuidmap && !o->ngidmap) {
        memcpy(o->gidmap, o->uidmap, sizeof(o->gidmap));
        o->ngidmap = o->nuidmap;
    }
    if (o->nuidmap == 0)
        o->nuidmap = default_maps(o->uidmap, "/etc/subuid", geteuid());
    if (o->ngidmap == 0)
        o->ngidmap = default_maps(o->gidmap, "/etc/subgid", getegid());
    if ((err = userns_check_maps(o->uidmap, o->nuidmap, why)) < 0 ||
        (err = userns_check_maps(o->gidmap, o->ngidmap, why)) < 0)
        return err;
    if (o->rootless &&
        ((err = check_allowed(o->uidmap, o->nuidmap, "/etc/subuid", geteuid(), why)) < 0 ||
         (err = check_allowed(o->gidmap, o->ngidmap, "/etc/subgid", getegid(), why)) < 0))
        return err;
    return 0;
}

/* "0 100000 65536\n..." */
static void format_map(const struct lab_idmap *m, int n, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (int i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%u %u %u\n", m[i].inside, m[i].outside,
                                 m[i].count);
}

static int write_proc(pid_t pid, const char *file, const char *text)
{
    char path[64];

    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    return file_write(path, text);
}

/* newuidmap PID INSIDE OUTSIDE COUNT ... */
static int run_helper(const char *helper, pid_t pid, const struct lab_idmap *m, int n)
{
    char args[LAB_MAX_IDMAPS * 3 + 2][16], *argv[LAB_MAX_IDMAPS * 3 + 4];
    int argc = 0, status;
    pid_t child;

    argv[argc++] = (char *)helper;
    snprintf(args[0], sizeof(args[0]), "%d", (int)pid);
    argv[argc++] = args[0];
    for (int i = 0; i < n; i++) {
        snprintf(args[1 + 3 * i], 16, "%u", m[i].inside);
        snprintf(args[2 + 3 * i], 16, "%u", m[i].outside);
        snprintf(args[3 + 3 * i], 16, "%u", m[i].count);
        for (int k = 1; k <= 3; k++)
            argv[argc++] = args[k + 3 * i];
    }
    argv[argc] = NULL;
    if ((child = fork()) < 0)
        return -errno;
    if (child == 0) {
        execv(helper, argv);
        _exit(127);
    }
    if (proc_wait(child, &status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -EPERM;
    return 0;
}

int userns_write_maps(pid_t pid, const struct lab_opts *o, char *how, size_t len)
{
    char uids[LAB_MAX_IDMAPS * 40], gids[LAB_MAX_IDMAPS * 40];
    int err;

    format_map(o->uidmap, o->nuidmap, uids, sizeof(uids));
    format_map(o->gidmap, o->ngidmap, gids, sizeof(gids));
    if (o->rootless && (o->nuidmap > 1 || o->ngidmap > 1)) {
        snprintf(how, len, "newuidmap and newgidmap (/etc/subuid, /etc/subgid)");
        if ((err = run_helper("/usr/bin/newuidmap", pid, o->uidmap, o->nuidmap)) < 0 ||
            (err = run_helper("/usr/bin/newgidmap", pid, o->gidmap, o->ngidmap)) < 0)
            return err;
        return 0;
    }
    snprintf(how, len, "uid_map, setgroups \"deny\", gid_map");
    if ((err = write_proc(pid, "uid_map", uids)) < 0 ||
        (err = write_proc(pid, "setgroups", "deny")) < 0 ||
        (err = write_proc(pid, "gid_map", gids)) < 0)
        return err;
    return 0;
}

/* A user namespace with these maps and nothing in it, for idmapped mounts
 * made before the container's own exists: a child unshares one and waits,
 * the maps are written, its namespace kept as an fd, the child ended. */
int userns_holder(const struct lab_opts *o)
{
    char path[64];
    int ready[2], fd, err, status;
    pid_t child;

    pid_t parent = getpid();

    if (pipe2(ready, O_CLOEXEC) < 0)
        return -errno;
    if ((child = fork()) < 0)
        return -errno;
    if (child == 0) {
        /* It must not outlive us, nor hold what we hold (the network lock). */
        char c = prctl(PR_SET_PDEATHSIG, SIGKILL) == 0 && unshare(CLONE_NEWUSER) == 0 ? 'u' : 'x';

        (void)!write(ready[1], &c, 1);
        close_range(3, ~0U, 0);
        if (getppid() != parent)
            _exit(0);
        pause();
        _exit(0);
    }
    char c = 'x';
    close(ready[1]);
    err = read(ready[0], &c, 1) == 1 && c == 'u' ? 0 : -EPERM;
    close(ready[0]);
    if (!err) {
        char how[64];

        err = userns_write_maps(child, o, how, sizeof(how));
    }
    snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)child);
    fd = err ? err : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && !err)
        fd = -errno;
    kill(child, SIGKILL);
    (void)proc_wait(child, &status);
    return fd;
}

/* A detached copy of the one mount at path, with attr set on it. Private:
 * a clone of a shared mount is in its peer group, and what the container
 * mounts under it would reach the host. */
static int clone_mount(const char *path, struct mount_attr *attr)
{
    int fd = (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);

    attr->propagation = MS_PRIVATE;
    if (fd < 0)
        return -errno;
    if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, attr, sizeof(*attr)) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

int userns_idmap_tree(const char *path, int userns_fd)
{
    struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns_fd };

    return clone_mount(path, &attr);
}

int userns_attach_tree(int fd, const char *path)
{
    if (syscall(SYS_move_mount, fd, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) < 0)
        return -errno;
    return 0;
}

int userns_clone_mount(const char *path)
{
    struct mount_attr attr = { 0 };

    return clone_mount(path, &attr);
}
