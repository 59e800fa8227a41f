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
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "lab.h"

/* Beside the records: LAB_RUN_DIR/pods. */
static const char *pod_dir(char *buf, size_t len)
{
    record_dir(buf, len);
    *strrchr(buf, '/') = '\0';
    strncat(buf, "/pods", len - strlen(buf) - 1);
    return buf;
}

static int pod_path(const char *name, char *buf, size_t len)
{
    char dir[PATH_MAX];

    return path_join(buf, len, pod_dir(dir, sizeof(dir)), name);
}

static void set_field(struct lab_pod *p, const char *key, const char *value)
{
    if (strcmp(key, "infra") == 0)
        p->infra = (pid_t)atoi(value);
    else if (strcmp(key, "start") == 0)
        p->start = strtoull(value, NULL, 10);
    else if (strcmp(key, "hostname") == 0)
        snprintf(p->hostname, sizeof(p->hostname), "%s", value);
    else if (strcmp(key, "net") == 0)
        p->net = atoi(value);
    else if (strcmp(key, "addr") == 0)
        inet_pton(AF_INET, value, &p->lease.container);
    else if (strcmp(key, "sharepid") == 0)
        p->share_pid = atoi(value);
    else if (strcmp(key, "uid") == 0)
        p->uid = (unsigned)strtoul(value, NULL, 10);
    else if (strcmp(key, "gid") == 0)
        p->gid = (unsigned)strtoul(value, NULL, 10);
    else if (strcmp(key, "ready") == 0)
        p->ready = atoi(value);
}

int pod_read(const char *name, struct lab_pod *p)
{
    char path[PATH_MAX], text[2048], *save = NULL;
    int err;

    memset(p, 0, sizeof(*p));
    p->pidfd = -1;
    if (pod_path(name, path, sizeof(path)) < 0)
        return -ENAMETOOLONG;
    if ((err = file_read(path, text, sizeof(text))) < 0)
        return err;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(line, '=');

        if (eq) {
            *eq = '\0';
            set_field(p, line, eq + 1);
        }
    }
    /* Not ready, seen under the lock its maker held until it was: its
     * maker was killed half-way. */
    return record_alive(p->infra, p->start) && p->ready ? 0 : -ESRCH;
}

int pod_write(const char *name, const struct lab_pod *p)
{
    char dir[PATH_MAX], path[PATH_MAX], addr[INET_ADDRSTRLEN] = "";
    int err;

    if (mkdir(pod_dir(dir, sizeof(dir)), 0755) < 0 && errno != EEXIST)
        return -errno;
    if (pod_path(name, path, sizeof(path)) < 0)
        return -ENAMETOOLONG;
    if (p->net)
        inet_ntop(AF_INET, &p->lease.container, addr, sizeof(addr));
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    err = dprintf(fd, "infra=%d\nstart=%llu\nready=%d\nhostname=%s\nnet=%d\naddr=%s\nsharepid=%d\n"
                  "uid=%u\ngid=%u\n", (int)p->infra, p->start, p->ready, p->hostname, p->net, addr,
                  p->share_pid, p->uid, p->gid) < 0 ? -EIO : 0;
    close(fd);
    return err;
}

/* The infra's veth, group and record go; the infra itself first. Under the
 * records' lock. */
int pod_teardown(const char *name, const struct lab_pod *p)
{
    static const char *const controllers[] = { "cpu", "memory", "pids" };
    char path[PATH_MAX], dir[PATH_MAX], id[16], veth[IF_NAMESIZE];
    struct nl_sock nl;
    struct cg_layout l;

    if (p->infra > 0 && record_alive(p->infra, p->start)) {
        (void)kill(p->infra, SIGKILL);
        for (int i = 0; i < 200 && record_alive(p->infra, p->start); i++)
            nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
    }
    snprintf(id, sizeof(id), "%d", (int)p->infra);
    for (size_t i = 0; i < sizeof(controllers) / sizeof(controllers[0]); i++)
        if (cg_detect(&l, controllers[i]) == 0)
            (void)cg_remove_named(&l, id);
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
    int lock;

    *removed = 0;
    if (!(d = opendir(pod_dir(dir, sizeof(dir)))))
        return errno == ENOENT ? 0 : -errno;
    if ((lock = record_lock()) < 0) {
        closedir(d);
        return lock;
    }
    /* A pod whose infra is gone, or whose containers all are. */
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' &&
            (pod_read(e->d_name, &p) == -ESRCH || record_pod_members(e->d_name) == 0)) {
            (void)pod_teardown(e->d_name, &p);
            (*removed)++;
        }
    closedir(d);
    close(lock);
    record_tidy();
    return 0;
}
