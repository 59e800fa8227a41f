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
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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
            return refuse(why,
                          "may hold only letters, digits, '_', '.' and '-' (as docker's names)");
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

static int format(const struct lab_record *r, char *text, size_t len, struct kv_out *o)
{
    kv_init(o, text, len);
    kv_put(o, "pid", "%d", (int)r->pid);
    kv_put(o, "start", "%llu", r->start);
    kv_put(o, "lab", "%d", (int)r->lab);
    kv_put(o, "labstart", "%llu", r->lab_start);
    kv_put(o, "privileged", "%d", r->privileged);
    kv_put(o, "capadd", "%llx", (unsigned long long)r->cap_add);
    kv_put(o, "capdrop", "%llx", (unsigned long long)r->cap_drop);
    kv_put(o, "capaddall", "%d", r->cap_add_all);
    kv_put(o, "capdropall", "%d", r->cap_drop_all);
    kv_put(o, "unconfined", "%d", r->seccomp_unconfined);
    kv_put(o, "uid", "%u", r->uid);
    kv_put(o, "gid", "%u", r->gid);
    kv_put(o, "usernshost", "%d", r->userns_host);
    kv_put(o, "pod", "%s", r->pod);
    for (int i = 0; i < r->ncgroups; i++)
        kv_put(o, "cgroup", "%s", r->cgroups[i]);
    for (int i = 0; i < r->nenv; i++)
        kv_put(o, "env", "%s", r->env[i]);
    return o->overflow ? -EOVERFLOW : 0;
}

static int set_int(pid_t *to, unsigned long long v)
{
    *to = (pid_t)v;
    return v > 0 && v <= INT_MAX ? 0 : -EBADMSG; /* never a pid of 0 */
}

static int set_id(unsigned *to, unsigned long long v)
{
    *to = (unsigned)v;
    return v <= UINT_MAX ? 0 : -EBADMSG;
}

static int set_flag(bool *to, unsigned long long v)
{
    *to = v;
    return v <= 1 ? 0 : -EBADMSG;
}

/* A number of a record, by key; -EBADMSG for a bad number or key. */
static int set_number(struct lab_record *r, const char *key, const char *value)
{
    unsigned long long v;
    bool hex = strcmp(key, "capadd") == 0 || strcmp(key, "capdrop") == 0;

    if (kv_number(value, hex ? 16 : 10, ULLONG_MAX, &v) < 0)
        return -EBADMSG;
    if (strcmp(key, "pid") == 0)
        return set_int(&r->pid, v);
    if (strcmp(key, "lab") == 0)
        return set_int(&r->lab, v);
    if (strcmp(key, "uid") == 0)
        return set_id(&r->uid, v);
    if (strcmp(key, "gid") == 0)
        return set_id(&r->gid, v);
    if (strcmp(key, "privileged") == 0)
        return set_flag(&r->privileged, v);
    if (strcmp(key, "capaddall") == 0)
        return set_flag(&r->cap_add_all, v);
    if (strcmp(key, "capdropall") == 0)
        return set_flag(&r->cap_drop_all, v);
    if (strcmp(key, "unconfined") == 0)
        return set_flag(&r->seccomp_unconfined, v);
    if (strcmp(key, "usernshost") == 0)
        return set_flag(&r->userns_host, v);
    if (strcmp(key, "start") == 0)
        r->start = v;
    else if (strcmp(key, "labstart") == 0)
        r->lab_start = v;
    else if (strcmp(key, "capadd") == 0)
        r->cap_add = v;
    else if (strcmp(key, "capdrop") == 0)
        r->cap_drop = v;
    else
        return -EBADMSG; /* no such key */
    return 0;
}

static int set_field(struct lab_record *r, const char *key, char *value)
{
    if (strcmp(key, "pod") == 0)
        return path_printf(r->pod, sizeof(r->pod), "%s", value) < 0 ? -EBADMSG : 0;
    if (strcmp(key, "cgroup") == 0) {
        if (r->ncgroups == CG_MAX_DIRS)
            return -EBADMSG;
        return path_printf(r->cgroups[r->ncgroups++], PATH_MAX, "%s", value) < 0 ? -EBADMSG : 0;
    }
    if (strcmp(key, "env") == 0) {
        if (r->nenv == LAB_MAX_ENV)
            return -EBADMSG;
        r->env[r->nenv++] = value; /* in r->text */
        return 0;
    }
    return set_number(r, key, value);
}

/* Parses r->text in place: -EBADMSG if it is damaged. */
static int parse(struct lab_record *r)
{
    char *cursor = r->text, *key, *value;
    int more;

    while ((more = kv_next(&cursor, &key, &value)) > 0)
        if (set_field(r, key, value) < 0)
            return -EBADMSG;
    if (more == 0 && (r->lab <= 0 || r->lab_start == 0))
        return -EBADMSG; /* even a claim says whose it is */
    return more;
}

/* -ENODATA: an empty file, a claim whose writer has not written it yet. */
static int read_at(int dir_fd, const char *name, struct lab_record *r)
{
    int err;

    memset(r, 0, sizeof(*r));
    if ((err = kv_read(dir_fd, name, r->text, sizeof(r->text))) < 0)
        return err;
    return r->text[0] ? parse(r) : -ENODATA;
}

/* A record is stale once its lab process is gone. */
static bool stale(const struct lab_record *r)
{
    return !record_alive(r->lab, r->lab_start);
}

/* What a killed lab process may leave, seen under the lock: its record; a
 * claim it had not written yet (empty: a claimer holds the lock until it
 * has); the new copy of a record it was writing (.NAME.new), once the
 * record is stale or gone. */
static bool left_by_the_dead(int dir_fd, const char *entry)
{
    struct lab_record r;
    char name[NAME_MAX + 1];
    size_t n = strlen(entry);
    int err;

    if (entry[0] != '.') {
        err = read_at(dir_fd, entry, &r);
        return err == -ENODATA || (err == 0 && stale(&r));
    }
    if (n < 6 || strcmp(entry + n - 4, ".new") != 0)
        return false; /* . and .. */
    snprintf(name, sizeof(name), "%.*s", (int)(n - 5), entry + 1);
    err = read_at(dir_fd, name, &r);
    return err == -ENOENT || err == -ENODATA || (err == 0 && stale(&r));
}

static int remove_stale_locked(int dir_fd, int *removed)
{
    struct dirent *e;
    DIR *d = fdopendir(dup(dir_fd));

    if (!d)
        return -errno;
    while ((e = readdir(d)))
        if (left_by_the_dead(dir_fd, e->d_name) && unlinkat(dir_fd, e->d_name, 0) == 0)
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
    struct kv_out o;
    int dir_fd, fd, err = 0;

    *stale_removed = 0;
    kv_init(&o, text, sizeof(text));
    kv_put(&o, "lab", "%d", (int)getpid());
    kv_put(&o, "labstart", "%llu", record_start_time(getpid()));
    kv_put(&o, "pod", "%s", pod);
    if (o.overflow)
        return -EOVERFLOW;
    if ((dir_fd = record_lock()) < 0)
        return dir_fd;
    (void)remove_stale_locked(dir_fd, stale_removed); /* best effort */
    if ((fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0)
        err = -errno; /* EEXIST: a running container has the name */
    else if (write(fd, o.buf, o.used) != (ssize_t)o.used)
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
    char dir[PATH_MAX], path[PATH_MAX], text[sizeof(r->text)];
    struct kv_out o;
    int err;

    if ((err = format(r, text, sizeof(text), &o)) < 0)
        return err;
    if (path_join(path, sizeof(path), record_dir(dir, sizeof(dir)), name) < 0)
        return -ENAMETOOLONG;
    return kv_write(path, &o); /* exec reads the old or the new, never half */
}

int record_read(const char *name, struct lab_record *r)
{
    char dir[PATH_MAX];
    int dir_fd, err;

    if ((dir_fd = open(record_dir(dir, sizeof(dir)), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return errno == ENOENT ? -ENOENT : -errno;
    err = read_at(dir_fd, name, r);
    close(dir_fd);
    if (err == -ENODATA)
        return -EAGAIN; /* claimed this moment */
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

/* A starting container's record is renamed into place once it is set up,
 * or removed if it fails: inotify tells us of either. No polling: the
 * watch is made before the record is read again, so no change is missed. */
int record_wait_ready(const char *name, struct lab_record *r, int timeout_ms)
{
    char dir[PATH_MAX], events[4096];
    long long deadline = proc_now_ms() + timeout_ms;
    int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK), err;

    if (fd < 0)
        return -errno;
    if (inotify_add_watch(fd, record_dir(dir, sizeof(dir)),
                          IN_MOVED_TO | IN_DELETE | IN_CLOSE_WRITE) < 0) {
        err = -errno;
        close(fd);
        return err;
    }
    while ((err = record_read(name, r)) == -EAGAIN && proc_now_ms() < deadline) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };

        if (poll(&pfd, 1, (int)(deadline - proc_now_ms())) < 0 && errno != EINTR)
            break;
        while (read(fd, events, sizeof(events)) > 0)
            ; /* whatever changed: read the record again */
    }
    close(fd);
    return err;
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
        if (e->d_name[0] != '.' && read_at(dirfd(d), e->d_name, &r) == 0 &&
            strcmp(r.pod, pod) == 0 && !stale(&r))
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
        if (e->d_name[0] != '.' && read_at(dirfd(d), e->d_name, &r) == 0 &&
            strcmp(r.pod, pod) == 0 && !stale(&r) && r.pid > 0 && record_alive(r.pid, r.start) &&
            kill(r.pid, sig) == 0)
            n++;
    closedir(d);
    return n;
}

int record_pod_wait(const char *pod, int timeout_ms)
{
    char dir[PATH_MAX];
    struct lab_record r;
    struct dirent *e;
    int fds[64], n = 0, running;
    DIR *d = opendir(record_dir(dir, sizeof(dir)));

    if (!d)
        return 0;
    /* Each member's lab process, pinned by a pidfd, then checked to be
     * the recorded one (its pid may be reused already). */
    while ((e = readdir(d)) && n < (int)(sizeof(fds) / sizeof(fds[0])))
        if (e->d_name[0] != '.' && read_at(dirfd(d), e->d_name, &r) == 0 &&
            strcmp(r.pod, pod) == 0 && (fds[n] = (int)syscall(SYS_pidfd_open, r.lab, 0)) >= 0) {
            if (stale(&r))
                close(fds[n]);
            else
                n++;
        }
    closedir(d);
    running = proc_wait_pidfds(fds, n, timeout_ms);
    for (int i = 0; i < n; i++)
        close(fds[i]);
    return running;
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
    r->userns_host = o->userns_host;
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
    o->userns_host = r->userns_host;
    for (int i = 0; i < r->nenv && o->nenv < LAB_MAX_ENV; i++)
        o->env[o->nenv++] = r->env[i];
}
