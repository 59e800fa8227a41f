/*
 * record.c - the record of a running container with a name (--name, step
 * 15): what `exec NAME` needs to join it.
 *
 * One small text file per container, LAB_RUN_DIR/containers/NAME (rootless:
 * the user's own run dir), one KEY=VALUE per line. It is made with O_EXCL
 * when the lab starts, so that two containers can never hold one name, and
 * filled in once the container is set up. It says which process is the
 * container (its pid and start time: a pid alone can be reused), which lab
 * process runs it, and what a process joining it must take on too, as the
 * container's command did: its groups, capabilities, filter and variables.
 *
 * A record whose lab process is gone (killed, with no chance to clean up)
 * is stale: the next container to claim a name removes every stale record,
 * and exec removes the one it finds stale. A lock on the directory keeps
 * two lab processes from removing each other's records.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lab.h"

static int refuse(const char **why, const char *reason)
{
    *why = reason;
    return -EINVAL;
}

int record_check_name(const char *name, const char **why)
{
    size_t n = strlen(name);

    if (n == 0)
        return refuse(why, "is empty");
    if (n > LAB_NAME_MAX)
        return refuse(why, "is longer than 64 characters");
    if (!isalnum((unsigned char)name[0]))
        return refuse(why, "must start with a letter or a digit");
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && !strchr("_.-", name[i]))
            return refuse(why, "may hold only letters, digits, '_', '.' and '-' (as docker's names)");
    return 0;
}

/* The start time of a process, in clock ticks since boot (field 22 of
 * /proc/PID/stat), and its state (field 3): 0 when there is no such
 * process. */
static unsigned long long stat_of(pid_t pid, char *state)
{
    char path[64], text[1024], *p;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (pid <= 0 || file_read(path, text, sizeof(text)) < 0 || !(p = strrchr(text, ')')))
        return 0;
    *state = p[1] == ' ' ? p[2] : '?';
    for (int field = 2; p && field < 22; field++)
        p = strchr(p + 1, ' ');
    return p ? strtoull(p + 1, NULL, 10) : 0;
}

/* With the pid, it names one process for good. */
unsigned long long record_start_time(pid_t pid)
{
    char state;

    return stat_of(pid, &state);
}

/* The process that started then is still running: not a zombie either (a
 * killed lab process's parent may not have reaped it yet). */
bool record_alive(pid_t pid, unsigned long long start)
{
    char state = '?';

    return pid > 0 && start && stat_of(pid, &state) == start && state != 'Z' && state != 'X';
}

const char *record_dir(char *buf, size_t len)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");

    if (geteuid() == 0)
        snprintf(buf, len, "%s/containers", LAB_RUN_DIR);
    else if (xdg && xdg[0] == '/')
        snprintf(buf, len, "%s/lab/containers", xdg);
    else
        snprintf(buf, len, "/tmp/lab-%u/containers", (unsigned)geteuid());
    return buf;
}

/* The directory for records, made if missing: an ordinary user's must be
 * the user's own (in /tmp, another user could have made it first). */
static int make_dirs(const char *dir)
{
    char parent[PATH_MAX];
    struct stat st;

    snprintf(parent, sizeof(parent), "%s", dir);
    *strrchr(parent, '/') = '\0';
    if ((mkdir(parent, 0755) < 0 && errno != EEXIST) || (mkdir(dir, 0755) < 0 && errno != EEXIST))
        return -errno;
    if (lstat(parent, &st) < 0)
        return -errno;
    return S_ISDIR(st.st_mode) && st.st_uid == geteuid() ? 0 : -EPERM;
}

int record_lock(void)
{
    char dir[PATH_MAX];
    struct stat st;

    record_dir(dir, sizeof(dir));
    /* A directory removed (record_tidy) while we waited for its lock is
     * no place for a record: again, with a new one. */
    for (int tries = 0; tries < 100; tries++) {
        int err = make_dirs(dir), fd;

        if (err < 0)
            return err;
        if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
            return -errno;
        if (flock(fd, LOCK_EX) < 0 || fstat(fd, &st) < 0) {
            err = -errno;
            close(fd);
            return err;
        }
        if (st.st_nlink > 0)
            return fd;
        close(fd);
    }
    return -EAGAIN;
}

/* A value on one line: a backslash and a newline are escaped. */
static size_t put_value(char *out, size_t len, const char *key, const char *value)
{
    size_t n = (size_t)snprintf(out, len, "%s=", key);

    for (; *value && n + 3 < len; value++) {
        if (*value == '\\' || *value == '\n')
            out[n++] = '\\';
        out[n++] = *value == '\n' ? 'n' : *value;
    }
    if (n + 1 < len)
        out[n++] = '\n';
    out[n < len ? n : len - 1] = '\0';
    return n;
}

static void unescape(char *s)
{
    char *out = s;

    for (; *s; s++)
        *out++ = s[0] == '\\' && s[1] ? (*++s == 'n' ? '\n' : *s) : *s;
    *out = '\0';
}

static size_t format(const struct lab_record *r, char *text, size_t len)
{
    size_t n = (size_t)snprintf(text, len,
                                "pid=%d\nstart=%llu\nlab=%d\nlabstart=%llu\nprivileged=%d\n"
                                "capadd=%llx\ncapdrop=%llx\ncapaddall=%d\ncapdropall=%d\n"
                                "unconfined=%d\nuid=%u\ngid=%u\npod=%s\n",
                                (int)r->pid, r->start, (int)r->lab, r->lab_start, r->privileged,
                                (unsigned long long)r->cap_add, (unsigned long long)r->cap_drop,
                                r->cap_add_all, r->cap_drop_all, r->seccomp_unconfined, r->uid,
                                r->gid, r->pod);
    for (int i = 0; i < r->ncgroups && n < len; i++)
        n += put_value(text + n, len - n, "cgroup", r->cgroups[i]);
    for (int i = 0; i < r->nenv && n < len; i++)
        n += put_value(text + n, len - n, "env", r->env[i]);
    return n < len ? n : len;
}

static void set_field(struct lab_record *r, const char *key, char *value)
{
    unsigned long long v = strtoull(value, NULL, strncmp(key, "cap", 3) == 0 ? 16 : 10);

    if (strcmp(key, "pid") == 0)
        r->pid = (pid_t)v;
    else if (strcmp(key, "start") == 0)
        r->start = v;
    else if (strcmp(key, "lab") == 0)
        r->lab = (pid_t)v;
    else if (strcmp(key, "labstart") == 0)
        r->lab_start = v;
    else if (strcmp(key, "privileged") == 0)
        r->privileged = v;
    else if (strcmp(key, "capadd") == 0)
        r->cap_add = v;
    else if (strcmp(key, "capdrop") == 0)
        r->cap_drop = v;
    else if (strcmp(key, "capaddall") == 0)
        r->cap_add_all = v;
    else if (strcmp(key, "capdropall") == 0)
        r->cap_drop_all = v;
    else if (strcmp(key, "unconfined") == 0)
        r->seccomp_unconfined = v;
    else if (strcmp(key, "uid") == 0)
        r->uid = (unsigned)v;
    else if (strcmp(key, "gid") == 0)
        r->gid = (unsigned)v;
    else if (strcmp(key, "pod") == 0)
        snprintf(r->pod, sizeof(r->pod), "%s", value);
    else if (strcmp(key, "cgroup") == 0 && r->ncgroups < CG_MAX_DIRS)
        snprintf(r->cgroups[r->ncgroups++], PATH_MAX, "%s", value);
    else if (strcmp(key, "env") == 0 && r->nenv < LAB_MAX_ENV)
        r->env[r->nenv++] = value; /* in r->text */
}

/* Parses r->text in place. */
static void parse(struct lab_record *r)
{
    char *save = NULL;

    for (char *line = strtok_r(r->text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(line, '=');

        if (eq) {
            *eq = '\0';
            unescape(eq + 1);
            set_field(r, line, eq + 1);
        }
    }
}

static int read_at(int dir_fd, const char *name, struct lab_record *r)
{
    int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    memset(r, 0, sizeof(*r));
    if (fd < 0)
        return -errno;
    n = read(fd, r->text, sizeof(r->text) - 1);
    close(fd);
    if (n < 0)
        return -errno;
    r->text[n] = '\0';
    parse(r);
    return 0;
}

/* A record is stale once its lab process is gone. */
static bool stale(const struct lab_record *r)
{
    return !record_alive(r->lab, r->lab_start);
}

static int remove_stale_locked(int dir_fd, int *removed)
{
    struct lab_record r;
    struct dirent *e;
    DIR *d = fdopendir(dup(dir_fd));

    if (!d)
        return -errno;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && read_at(dir_fd, e->d_name, &r) == 0 && stale(&r) &&
            unlinkat(dir_fd, e->d_name, 0) == 0)
            (*removed)++;
    closedir(d);
    return 0;
}

/* The directories too, once no container has a name (rmdir(2) leaves a
 * directory that is not empty). */
void record_tidy(void)
{
    char dir[PATH_MAX];
    int lock;

    if (access(record_dir(dir, sizeof(dir)), F_OK) < 0 || (lock = record_lock()) < 0)
        return;
    if (rmdir(dir) == 0) {
        *strrchr(dir, '/') = '\0';
        (void)rmdir(dir);
    }
    close(lock);
}

int record_sweep(int *removed)
{
    char dir[PATH_MAX];
    int dir_fd;

    *removed = 0;
    if (access(record_dir(dir, sizeof(dir)), F_OK) < 0)
        return 0; /* no records: nothing to sweep */
    if ((dir_fd = record_lock()) < 0)
        return dir_fd;
    (void)remove_stale_locked(dir_fd, removed);
    close(dir_fd);
    record_tidy();
    return 0;
}

int record_claim(const char *name, const char *pod, int *stale_removed)
{
    char text[256];
    int dir_fd, fd, err = 0;

    *stale_removed = 0;
    if ((dir_fd = record_lock()) < 0)
        return dir_fd;
    (void)remove_stale_locked(dir_fd, stale_removed); /* best effort */
    snprintf(text, sizeof(text), "lab=%d\nlabstart=%llu\npod=%s\n", (int)getpid(),
             record_start_time(getpid()), pod);
    if ((fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0)
        err = -errno; /* EEXIST: a running container has the name */
    else if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        err = -EIO;
    if (fd >= 0)
        close(fd);
    if (fd >= 0 && err)
        (void)unlinkat(dir_fd, name, 0);
    close(dir_fd);
    return err;
}

int record_write(const char *name, const struct lab_record *r)
{
    char dir[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX], text[sizeof(r->text)];
    size_t n = format(r, text, sizeof(text));
    int fd, err = 0;

    record_dir(dir, sizeof(dir));
    if (path_join(path, sizeof(path), dir, name) < 0 ||
        path_printf(tmp, sizeof(tmp), "%s/.%s.new", dir, name) < 0)
        return -ENAMETOOLONG;
    /* A new file renamed over the old: exec reads either, never half. */
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
        return -errno;
    if (write(fd, text, n) != (ssize_t)n)
        err = -EIO;
    close(fd);
    if (!err && rename(tmp, path) < 0)
        err = -errno;
    if (err)
        (void)unlink(tmp);
    return err;
}

int record_read(const char *name, struct lab_record *r)
{
    char dir[PATH_MAX];
    int dir_fd, err;

    if ((dir_fd = open(record_dir(dir, sizeof(dir)), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return errno == ENOENT ? -ENOENT : -errno;
    err = read_at(dir_fd, name, r);
    close(dir_fd);
    if (err < 0)
        return err;
    if (stale(r)) {
        int removed;

        (void)record_sweep(&removed);
        return -ESRCH;
    }
    if (r->pid <= 0)
        return -EAGAIN; /* claimed; the container is not set up yet */
    return record_alive(r->pid, r->start) ? 0 : -ESRCH;
}

int record_pod_members(const char *pod)
{
    char dir[PATH_MAX];
    struct lab_record r;
    struct dirent *e;
    int n = 0, dir_fd = open(record_dir(dir, sizeof(dir)), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dir_fd < 0 ? NULL : fdopendir(dir_fd);

    if (!d) {
        if (dir_fd >= 0)
            close(dir_fd);
        return 0;
    }
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && read_at(dirfd(d), e->d_name, &r) == 0 && strcmp(r.pod, pod) == 0 &&
            !stale(&r))
            n++;
    closedir(d);
    return n;
}

int record_pod_signal(const char *pod, int sig)
{
    char dir[PATH_MAX];
    struct lab_record r;
    struct dirent *e;
    int n = 0;
    DIR *d = opendir(record_dir(dir, sizeof(dir)));

    if (!d)
        return 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && read_at(dirfd(d), e->d_name, &r) == 0 && strcmp(r.pod, pod) == 0 &&
            !stale(&r) && r.pid > 0 && record_alive(r.pid, r.start) && kill(r.pid, sig) == 0)
            n++;
    closedir(d);
    return n;
}

int record_remove(const char *name)
{
    char dir[PATH_MAX], path[PATH_MAX];

    record_dir(dir, sizeof(dir));
    if (path_join(path, sizeof(path), dir, name) < 0)
        return -ENAMETOOLONG;
    if (unlink(path) < 0 && errno != ENOENT)
        return -errno;
    record_tidy();
    return 0;
}

/* -e NAME without a value takes the host's, as the container's did. */
void record_set_options(struct lab_record *r, const struct lab_opts *o)
{
    size_t used = 0;

    r->privileged = o->privileged;
    r->seccomp_unconfined = o->seccomp_unconfined;
    r->cap_add = o->cap_add;
    r->cap_drop = o->cap_drop;
    r->cap_add_all = o->cap_add_all;
    r->cap_drop_all = o->cap_drop_all;
    r->uid = o->uidmap[0].outside;
    r->gid = o->gidmap[0].outside;
    r->nenv = 0;
    for (int i = 0; i < o->nenv; i++) {
        const char *value = strchr(o->env[i], '=') ? NULL : getenv(o->env[i]);
        char *slot = r->text + used;
        int n = snprintf(slot, sizeof(r->text) - used, value ? "%s=%s" : "%s", o->env[i],
                         value ? value : "");

        if (n < 0 || (size_t)n >= sizeof(r->text) - used)
            break;
        if (value || strchr(o->env[i], '='))
            r->env[r->nenv++] = slot;
        used += (size_t)n + 1;
    }
}

void record_get_options(const struct lab_record *r, struct lab_opts *o)
{
    o->privileged = r->privileged;
    o->seccomp_unconfined = r->seccomp_unconfined;
    o->cap_add = r->cap_add;
    o->cap_drop = r->cap_drop;
    o->cap_add_all = r->cap_add_all;
    o->cap_drop_all = r->cap_drop_all;
    o->uidmap[0].outside = r->uid;
    o->gidmap[0].outside = r->gid;
    o->nuidmap = o->ngidmap = 1;
    for (int i = 0; i < r->nenv && o->nenv < LAB_MAX_ENV; i++)
        o->env[o->nenv++] = r->env[i];
}
