/*
 * pod.c - a pod (step 16): the record of its infra container, the infra
 * itself, and its end.
 *
 * The infra is a process that does nothing (rootfs/helpers/pause.c) in the
 * pod's user, network, IPC and UTS namespaces (and PID namespace, with
 * --share-pid). It holds them while the pod's containers come and go: the
 * first container makes it, each container joins it, the last one to end
 * (or ./step-16 pod rm) kills it. Its record, LAB_RUN_DIR/pods/NAME, says
 * where it is, and what its containers must agree with: its hostname, its
 * network, its id maps.
 *
 * Every change to pods and their members happens under the records' lock
 * (record_lock), so that a container joining and the last one leaving
 * cannot miss each other.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "lab.h"

/* Beside the records: LAB_RUN_DIR/pods. */
static const char *pod_dir(char *buf, size_t len)
{
    char records[PATH_MAX];

    record_dir(records, sizeof(records));
    *strrchr(records, '/') = '\0';
    if (path_printf(buf, len, "%s/pods", records) < 0)
        buf[0] = '\0'; /* no such directory: every use of it fails */
    return buf;
}

int pod_path(const char *name, char *buf, size_t len)
{
    char dir[PATH_MAX];

    return path_join(buf, len, pod_dir(dir, sizeof(dir)), name);
}

static int set_number(struct lab_pod *p, const char *key, const char *value)
{
    unsigned long long v;

    if (kv_number(value, 10, UINT_MAX, &v) < 0)
        return -EBADMSG;
    if (strcmp(key, "infra") == 0 && v > 0 && v <= INT_MAX)
        p->infra = (pid_t)v; /* never a pid of 0 */
    else if (strcmp(key, "uid") == 0)
        p->uid = (unsigned)v;
    else if (strcmp(key, "gid") == 0)
        p->gid = (unsigned)v;
    else if (strcmp(key, "gids") == 0)
        p->gids = (unsigned)v;
    else if (v > 1)
        return -EBADMSG; /* the rest are flags */
    else if (strcmp(key, "ready") == 0)
        p->ready = v;
    else if (strcmp(key, "net") == 0)
        p->net = v;
    else if (strcmp(key, "sharepid") == 0)
        p->share_pid = v;
    else
        return -EBADMSG;
    return 0;
}

static int set_field(struct lab_pod *p, const char *key, const char *value)
{
    unsigned long long start;

    if (strcmp(key, "start") == 0) {
        if (kv_number(value, 10, ULLONG_MAX, &start) < 0 || start == 0)
            return -EBADMSG;
        p->start = start;
        return 0;
    }
    if (strcmp(key, "hostname") == 0)
        return path_printf(p->hostname, sizeof(p->hostname), "%s", value) < 0 ? -EBADMSG : 0;
    if (strcmp(key, "addr") == 0)
        return !*value || inet_pton(AF_INET, value, &p->lease.container) == 1 ? 0 : -EBADMSG;
    return set_number(p, key, value);
}

int pod_read(const char *name, struct lab_pod *p)
{
    char path[PATH_MAX], text[2048], *cursor = text, *key, *value;
    int more;

    memset(p, 0, sizeof(*p));
    p->pidfd = -1;
    if (pod_path(name, path, sizeof(path)) < 0)
        return -ENAMETOOLONG;
    if ((more = kv_read(AT_FDCWD, path, text, sizeof(text))) < 0)
        return more;
    while ((more = kv_next(&cursor, &key, &value)) > 0)
        if (set_field(p, key, value) < 0)
            return -EBADMSG;
    if (more < 0 || p->infra == 0 || p->start == 0)
        return -EBADMSG;
    /* Not ready, seen under the lock its maker held until it was: its
     * maker was killed half-way. */
    return record_alive(p->infra, p->start) && p->ready ? 0 : -ESRCH;
}

int pod_write(const char *name, const struct lab_pod *p)
{
    char dir[PATH_MAX], path[PATH_MAX], addr[INET_ADDRSTRLEN] = "", text[2048];
    struct kv_out o;

    if (mkdir(pod_dir(dir, sizeof(dir)), 0755) < 0 && errno != EEXIST)
        return -errno;
    if (pod_path(name, path, sizeof(path)) < 0)
        return -ENAMETOOLONG;
    if (p->net)
        inet_ntop(AF_INET, &p->lease.container, addr, sizeof(addr));
    kv_init(&o, text, sizeof(text));
    kv_put(&o, "infra", "%d", (int)p->infra);
    kv_put(&o, "start", "%llu", p->start);
    kv_put(&o, "ready", "%d", p->ready);
    kv_put(&o, "hostname", "%s", p->hostname);
    kv_put(&o, "net", "%d", p->net);
    kv_put(&o, "addr", "%s", addr);
    kv_put(&o, "sharepid", "%d", p->share_pid);
    kv_put(&o, "uid", "%u", p->uid);
    kv_put(&o, "gid", "%u", p->gid);
    kv_put(&o, "gids", "%u", p->gids);
    return kv_write(path, &o);
}

/* The infra's veth, group and record go; the infra itself first. Under the
 * records' lock. */
int pod_teardown(const char *name, const struct lab_pod *p)
{
    static const char *const controllers[] = { "cpu", "memory", "pids" };
    char path[PATH_MAX], dir[PATH_MAX], veth[IF_NAMESIZE];
    struct nl_sock nl;
    struct cg_layout l;

    if (p->infra > 0 && record_alive(p->infra, p->start))
        (void)proc_kill_wait(p->infra, 2000);
    for (size_t i = 0; i < sizeof(controllers) / sizeof(controllers[0]); i++)
        if (cg_detect(&l, controllers[i]) == 0)
            (void)cg_remove_pod(&l, name, p->infra);
    snprintf(veth, sizeof(veth), "lab%d", (int)p->infra);
    if (p->net && nl_open(&nl) == 0) {
        (void)nl_link_delete(&nl, veth); /* gone with its namespace already is fine */
        nl_close(&nl);
    }
    if (pod_path(name, path, sizeof(path)) == 0)
        (void)unlink(path);
    (void)rmdir(pod_dir(dir, sizeof(dir)));
    return 0;
}

int pod_sweep(int *removed)
{
    char dir[PATH_MAX];
    struct lab_pod p;
    struct dirent *e;
    DIR *d;
    int lock, err;

    *removed = 0;
    if (!(d = opendir(pod_dir(dir, sizeof(dir)))))
        return errno == ENOENT ? 0 : -errno;
    if ((lock = record_lock()) < 0) {
        closedir(d);
        return lock;
    }
    /* A pod whose infra is gone, or whose containers all are; and the new
     * copy of a record whose writer was killed (a writer holds the lock). */
    while ((e = readdir(d)))
        if (e->d_name[0] == '.' && strlen(e->d_name) > 5 &&
            strcmp(e->d_name + strlen(e->d_name) - 4, ".new") == 0)
            (void)unlinkat(dirfd(d), e->d_name, 0);
        else if (e->d_name[0] != '.' && (err = pod_read(e->d_name, &p)) != -EBADMSG &&
                 (err == -ESRCH || record_pod_members(e->d_name) == 0)) {
            (void)pod_teardown(e->d_name, &p);
            (*removed)++;
        }
    closedir(d);
    close(lock);
    record_tidy();
    return 0;
}
