/*
 * path.c - paths built from input, and paths resolved inside a rootfs.
 *
 * Every path made from user input goes through a length check: a cut path
 * names a different file, which is worse than a refusal.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lab.h"

int path_printf(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    if ((size_t)n >= len)
        return -ENAMETOOLONG;
    return 0;
}

int path_join(char *buf, size_t len, const char *dir, const char *name)
{
    size_t dl = strlen(dir);

    while (dl > 0 && dir[dl - 1] == '/')
        dl--;
    while (*name == '/')
        name++;
    return path_printf(buf, len, "%.*s/%s", (int)dl, dir, name);
}

int path_exe_dir(char *buf, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", buf, len);
    char *slash;

    if (n < 0)
        return -errno;
    if ((size_t)n >= len)
        return -ENAMETOOLONG;
    buf[n] = '\0';
    slash = strrchr(buf, '/');
    if (!slash)
        return -EINVAL;
    *(slash == buf ? slash + 1 : slash) = '\0';
    return 0;
}

/* openat2(2) with RESOLVE_BENEATH: the kernel refuses, with EXDEV, any path
 * that would leave dirfd, whether through ".." or through a symlink. */
static int open_beneath(int dirfd, const char *path, int flags)
{
    struct open_how how = {
        .flags = (uint64_t)flags | O_CLOEXEC,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));

    return fd < 0 ? -errno : (int)fd;
}

/* Creates the last component of prefix (a directory, or an empty file). */
static int create_component(int root_fd, const char *prefix, bool as_dir)
{
    const char *name = strrchr(prefix, '/');
    int pfd, err = 0;

    if (!name) {
        pfd = fcntl(root_fd, F_DUPFD_CLOEXEC, 0);
        if (pfd < 0)
            return -errno;
        name = prefix;
    } else {
        char parent[PATH_MAX];

        memcpy(parent, prefix, name - prefix);
        parent[name - prefix] = '\0';
        pfd = open_beneath(root_fd, parent, O_PATH | O_DIRECTORY);
        name++;
    }
    if (pfd < 0)
        return pfd;
    if (as_dir) {
        if (mkdirat(pfd, name, 0755) < 0 && errno != EEXIST)
            err = -errno;
    } else {
        int fd = openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);

        if (fd < 0 && errno != EEXIST)
            err = -errno;
        if (fd >= 0)
            close(fd);
    }
    close(pfd);
    return err;
}

int path_open_beneath(int root_fd, const char *rel, bool as_dir)
{
    char prefix[PATH_MAX];
    size_t len;

    while (*rel == '/')
        rel++;
    len = strlen(rel);
    if (len == 0 || len >= sizeof(prefix))
        return -EINVAL;
    /* Walk down one component at a time, creating what is missing, so that
     * every step of the way is resolved beneath the root again. */
    for (size_t i = 0; i <= len; i++) {
        if (rel[i] != '/' && rel[i] != '\0')
            continue;
        memcpy(prefix, rel, i);
        prefix[i] = '\0';
        bool last = rel[i] == '\0';
        int fd = open_beneath(root_fd, prefix, O_PATH);

        if (fd == -ENOENT) {
            int err = create_component(root_fd, prefix, as_dir || !last);

            if (err < 0)
                return err;
            fd = open_beneath(root_fd, prefix, O_PATH);
        }
        if (fd < 0 || last)
            return fd;
        close(fd);
    }
    return -EINVAL;
}

/* statvfs(3)'s ST_* flags of the mount at path, as mount(2)'s MS_* flags. */
int path_mount_flags(const char *path, unsigned long *flags)
{
    static const struct {
        unsigned long st, ms;
    } map[] = {
        { ST_NOSUID, MS_NOSUID },     { ST_NODEV, MS_NODEV },
        { ST_NOEXEC, MS_NOEXEC },     { ST_NOATIME, MS_NOATIME },
        { ST_NODIRATIME, MS_NODIRATIME }, { ST_RELATIME, MS_RELATIME },
    };
    struct statvfs sv;

    if (statvfs(path, &sv) < 0)
        return -errno;
    *flags = 0;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (sv.f_flag & map[i].st)
            *flags |= map[i].ms;
    return 0;
}
