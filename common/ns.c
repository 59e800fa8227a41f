/*
 * ns.c - which namespaces a process is in.
 *
 * Each namespace is a file under /proc/PID/ns/; two processes share a
 * namespace exactly when those files have the same device and inode.
 *
 * The steps use this as a safety net: code that mounts, sets a hostname or
 * configures a network device would change the host itself if it ran in the
 * host's namespace, for instance when a CLONE_NEW* flag has been forgotten.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <sys/stat.h>

#include "lab.h"

/* In the order the narration names them. */
static const struct {
    int flag;
    const char *file;
    const char *flag_name;
} kinds[NS_KINDS] = {
    { CLONE_NEWPID, "pid", "CLONE_NEWPID" },
    { CLONE_NEWNS, "mnt", "CLONE_NEWNS" },
    { CLONE_NEWUTS, "uts", "CLONE_NEWUTS" },
    { CLONE_NEWNET, "net", "CLONE_NEWNET" },
    { CLONE_NEWIPC, "ipc", "CLONE_NEWIPC" },
    { CLONE_NEWUSER, "user", "CLONE_NEWUSER" },
    { CLONE_NEWCGROUP, "cgroup", "CLONE_NEWCGROUP" },
};

int ns_snapshot(struct ns_ids *ids)
{
    for (int i = 0; i < NS_KINDS; i++) {
        char path[64];
        struct stat st;

        snprintf(path, sizeof(path), "/proc/self/ns/%s", kinds[i].file);
        if (stat(path, &st) < 0)
            return -errno;
        ids->dev[i] = st.st_dev;
        ids->ino[i] = st.st_ino;
    }
    return 0;
}

const char *ns_not_new(const struct ns_ids *host, int flags)
{
    struct ns_ids mine;

    if (ns_snapshot(&mine) < 0)
        return "(unknown: /proc/self/ns cannot be read)";
    for (int i = 0; i < NS_KINDS; i++)
        if ((flags & kinds[i].flag) && host->dev[i] == mine.dev[i] &&
            host->ino[i] == mine.ino[i])
            return kinds[i].flag_name;
    return NULL;
}

const char *ns_flag_names(int flags)
{
    static char buf[160];
    size_t n = 0;

    buf[0] = '\0';
    for (int i = 0; i < NS_KINDS; i++)
        if (flags & kinds[i].flag)
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", n ? "|" : "",
                                  kinds[i].flag_name);
    return n ? buf : "no new namespace";
}
