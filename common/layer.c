/*
 * layer.c - image layers on overlayfs: the directories a container's
 * overlay needs, its options, and the copy --commit makes of its own layer.
 *
 * An overlay mount joins read-only "lower" directories, the image layers
 * (the leftmost of lowerdir= is the top), under one writable "upper"
 * directory, the container's own layer; a "work" directory on the same file
 * system as upper is overlayfs's scratch space. Each container gets
 *
 *     /run/lab/layers/<id>/upper    its layer (or --upper DIR)
 *     (rootless: $XDG_RUNTIME_DIR/lab/layers/..., or /tmp/lab-<uid>/layers/...)
 *                         /work     overlayfs's (beside --upper DIR, then)
 *                         /init     the init layer: /etc/hostname, hosts, ...
 *                         /merged   where the child mounts the overlay
 *
 * and the whole directory goes when the container ends (or, after a kill,
 * when the next container starts).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lab.h"

/* Root's containers keep their state in LAB_RUN_DIR; an ordinary user's
 * (rootless, step 12) in its own: $XDG_RUNTIME_DIR/lab, or /tmp/lab-<uid>. */
static const char *run_dir(void)
{
    static char dir[PATH_MAX];
    const char *xdg = getenv("XDG_RUNTIME_DIR");

    if (geteuid() == 0)
        return LAB_RUN_DIR;
    if (xdg && xdg[0] == '/' && path_printf(dir, sizeof(dir), "%s/lab", xdg) == 0)
        return dir;
    snprintf(dir, sizeof(dir), "/tmp/lab-%u", (unsigned)geteuid());
    return dir;
}

static const char *layers_dir(void)
{
    static char dir[PATH_MAX];

    snprintf(dir, sizeof(dir), "%s/layers", run_dir());
    return dir;
}
#define OPAQUE_XATTR "trusted.overlay.opaque"
#define USER_OPAQUE_XATTR "user.overlay.opaque"

static int failed(struct lab_layers *l, const char *fmt, ...) LAB_PRINTF(2, 3);
static int failed(struct lab_layers *l, const char *fmt, ...)
{
    int saved = errno;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(l->what, sizeof(l->what), fmt, ap);
    va_end(ap);
    return saved > 0 ? -saved : -EINVAL;
}

static int make_dir(struct lab_layers *l, const char *path)
{
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return failed(l, "mkdir %s", path);
    return 0;
}

/* rm -rf of what dirfd holds, never following a symlink or leaving the
 * file system; a directory we may not read (overlayfs's work/work is mode
 * 000) is opened up first, as its owner may. */
static int empty_dir(int dirfd, dev_t dev)
{
    DIR *d = fdopendir(dirfd);
    struct dirent *e;
    int err = 0;

    if (!d) {
        err = -errno;
        close(dirfd);
        return err;
    }
    while ((e = readdir(d))) {
        struct stat st;

        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev)
            continue;
        if (S_ISDIR(st.st_mode)) {
            int sub;

            (void)fchmodat(dirfd, e->d_name, 0700, 0);
            sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0 || empty_dir(sub, dev) < 0 || unlinkat(dirfd, e->d_name, AT_REMOVEDIR) < 0)
                err = -errno;
        } else if (unlinkat(dirfd, e->d_name, 0) < 0) {
            err = -errno;
        }
    }
    closedir(d);
    return err;
}

static int remove_tree(const char *path)
{
    struct stat st;
    int fd, err;

    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    (void)chmod(path, 0700);
    if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        return -errno;
    if ((err = empty_dir(fd, st.st_dev)) < 0)
        return err;
    return rmdir(path) < 0 ? -errno : 0;
}

int layer_remove_stale(int *removed)
{
    struct dirent *e;
    DIR *d = opendir(layers_dir());
    char path[PATH_MAX];

    *removed = 0;
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    while ((e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);

        /* Named after the lab process that made it; alive, it is in use. */
        if (*end || pid <= 0 || end == e->d_name || kill((pid_t)pid, 0) == 0 || errno == EPERM)
            continue;
        if (path_join(path, sizeof(path), layers_dir(), e->d_name) == 0 && remove_tree(path) == 0)
            (*removed)++;
    }
    closedir(d);
    return 0;
}

/* "lowerdir=INIT:TOP:...:BOTTOM,upperdir=UPPER,workdir=WORK". The mount
 * call takes its options in one page. */
static int build_options(struct lab_layers *l, const struct lab_opts *o)
{
    size_t n = (size_t)snprintf(l->options, sizeof(l->options), "lowerdir=%s", l->init);
    size_t fixed = strlen(",upperdir=,workdir=") + strlen(l->upper) + strlen(l->work) + n;

    for (int i = o->nlayers - 1; i >= 0 && n < sizeof(l->options); i--)
        n += (size_t)snprintf(l->options + n, sizeof(l->options) - n, ":%s", o->layers[i]);
    if (n < sizeof(l->options))
        n += (size_t)snprintf(l->options + n, sizeof(l->options) - n, ",upperdir=%s,workdir=%s",
                              l->upper, l->work);
    if (n >= sizeof(l->options)) {
        size_t each = (n - fixed) / (size_t)o->nlayers + 1;

        errno = E2BIG;
        return failed(l, "--layer: %d layers make the overlay's options %zu bytes, more than the "
                      "%zu one mount(2) takes: about %zu layers with paths this long fit",
                      o->nlayers, n, sizeof(l->options) - 1, (sizeof(l->options) - fixed) / each);
    }
    return 0;
}

int layer_add_option(struct lab_layers *l, const char *option)
{
    size_t n = strlen(l->options);
    int more = snprintf(l->options + n, sizeof(l->options) - n, ",%s", option);

    if (more < 0 || (size_t)more >= sizeof(l->options) - n) {
        l->options[n] = '\0'; /* as it was: an option cut short is worse */
        return -ENAMETOOLONG;
    }
    return 0;
}

/* The work dir beside --upper DIR: overlayfs wants it on the same file
 * system, and empty. */
static int work_beside(struct lab_layers *l, const char *upper)
{
    if (path_printf(l->work, sizeof(l->work), "%s.lab-work-XXXXXX", upper) < 0)
        return failed(l, "--upper %s: path too long", upper);
    if (!mkdtemp(l->work)) {
        int err = failed(l, "--upper %s: make the work dir overlayfs needs beside it", upper);
        l->work[0] = '\0';
        return err;
    }
    l->work_is_temporary = true;
    return 0;
}

int layer_use_lowers(struct lab_layers *l, struct lab_opts *o)
{
    char lower[PATH_MAX], path[PATH_MAX];
    int err;

    if (path_join(lower, sizeof(lower), l->dir, "lower") < 0)
        return failed(l, "%s/lower: path too long", l->dir);
    if ((err = make_dir(l, lower)) < 0)
        return err;
    for (int i = 0; i < o->nlayers; i++) {
        if (path_printf(path, sizeof(path), "%s/%d", lower, i) < 0)
            return failed(l, "%s/%d: path too long", lower, i);
        if ((err = make_dir(l, path)) < 0)
            return err;
        char *attached = strdup(path);

        if (!attached)
            return failed(l, "strdup");
        if (o->layers[i] != o->rootfs) /* --layer's copy */
            free(o->layers[i]);
        o->layers[i] = attached;
    }
    return build_options(l, o);
}

int layer_prepare(struct lab_layers *l, const struct lab_opts *o, const char *id)
{
    int err, removed = 0;

    memset(l, 0, sizeof(*l));
    (void)layer_remove_stale(&removed);
    l->stale_removed = removed;
    if (path_printf(l->dir, sizeof(l->dir), "%s/%s", layers_dir(), id) < 0 ||
        path_printf(l->init, sizeof(l->init), "%s/init", l->dir) < 0 ||
        path_printf(l->merged, sizeof(l->merged), "%s/merged", l->dir) < 0)
        return failed(l, "%s: path too long", layers_dir());
    /* Another container may remove an empty layers dir between the mkdirs
     * (layer_remove): then go round again. */
    for (int tries = 0; !l->made; tries++) {
        if ((err = make_dir(l, run_dir())) < 0 || (err = make_dir(l, layers_dir())) < 0)
            return err;
        if (mkdir(l->dir, 0711) == 0) /* the container's root, mapped, must get through */
            l->made = true;
        else if (errno != ENOENT || tries == 50)
            return failed(l, "mkdir %s", l->dir);
    }
    if ((err = make_dir(l, l->init)) < 0 || (err = make_dir(l, l->merged)) < 0)
        return err;
    if (o->upper[0]) {
        strcpy(l->upper, o->upper); /* both PATH_MAX */
        if ((err = make_dir(l, l->upper)) < 0 || (err = work_beside(l, l->upper)) < 0)
            return err;
    } else if (path_printf(l->upper, sizeof(l->upper), "%s/upper", l->dir) < 0 ||
               path_printf(l->work, sizeof(l->work), "%s/work", l->dir) < 0 ||
               (err = make_dir(l, l->upper)) < 0 || (err = make_dir(l, l->work)) < 0) {
        return err ? err : failed(l, "%s: path too long", l->dir);
    }
    return build_options(l, o);
}

int layer_write(struct lab_layers *l, const char *rel, const char *text)
{
    char path[PATH_MAX];
    int fd;

    for (const char *slash = strchr(rel, '/'); slash; slash = strchr(slash + 1, '/')) {
        if (path_printf(path, sizeof(path), "%s/%.*s", l->init, (int)(slash - rel), rel) < 0)
            return failed(l, "%s/%s: path too long", l->init, rel);
        if (make_dir(l, path) < 0)
            return -errno;
    }
    if (path_printf(path, sizeof(path), "%s/%s", l->init, rel) < 0)
        return failed(l, "%s/%s: path too long", l->init, rel);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        int err = failed(l, "write %s", path);
        if (fd >= 0)
            close(fd);
        return err;
    }
    close(fd);
    return 0;
}

static uid_t chown_uid;
static gid_t chown_gid;

static int chown_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return lchown(path, chown_uid, chown_gid);
}

int layer_chown(struct lab_layers *l, uid_t uid, gid_t gid)
{
    const char *dirs[] = { l->upper, l->work, l->init, l->merged };

    chown_uid = uid;
    chown_gid = gid;
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
        if (nftw(dirs[i], chown_one, 32, FTW_PHYS | FTW_MOUNT) != 0)
            return failed(l, "chown %s to %u:%u", dirs[i], (unsigned)uid, (unsigned)gid);
    return 0;
}

int layer_remove(struct lab_layers *l)
{
    int err = 0;

    if (l->work_is_temporary && remove_tree(l->work) < 0)
        err = failed(l, "remove %s", l->work);
    l->work_is_temporary = false;
    if (l->made && remove_tree(l->dir) < 0 && !err)
        err = failed(l, "remove %s", l->dir);
    if (l->made) { /* the parents too, once no container uses them */
        (void)rmdir(layers_dir());
        (void)rmdir(run_dir());
    }
    l->made = false;
    return err;
}

/* ---- --commit: the container's layer, copied as a layer of an image ---- */

struct copy {
    struct lab_layers *l;
    const char *dest;
    size_t src_len;
};

static struct copy copying; /* nftw passes no context */

/* A file, as overlayfs left it in the upper layer: whiteouts (character
 * devices 0/0) stay whiteouts, opaque directories stay opaque. */
static int copy_data(const char *from, const char *to, mode_t mode)
{
    char buf[65536];
    ssize_t n;
    int in = open(from, O_RDONLY | O_CLOEXEC), out;

    if (in < 0)
        return -1;
    out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 07777);
    if (out < 0) {
        close(in);
        return -1;
    }
    while ((n = read(in, buf, sizeof(buf))) > 0)
        if (write(out, buf, (size_t)n) != n) {
            n = -1;
            break;
        }
    close(in);
    close(out);
    return n < 0 ? -1 : 0;
}

static int copy_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    char to[PATH_MAX];
    const char *rel = path + copying.src_len;
    int rc = 0;

    (void)flag;
    (void)ftw;
    if (path_printf(to, sizeof(to), "%s%s", copying.dest, rel) < 0)
        return errno = ENAMETOOLONG, -1;
    if (S_ISDIR(st->st_mode)) {
        char value[8];

        rc = *rel ? mkdir(to, st->st_mode & 07777) : 0;
        /* opaque as a root's overlay marks it, or a user namespace's
         * (userxattr); the new layer says it both ways */
        if (rc == 0 && (getxattr(path, OPAQUE_XATTR, value, sizeof(value)) > 0 ||
                        getxattr(path, USER_OPAQUE_XATTR, value, sizeof(value)) > 0))
            rc = setxattr(to, OPAQUE_XATTR, "y", 1, 0) < 0
                     ? -1
                     : setxattr(to, USER_OPAQUE_XATTR, "y", 1, 0);
    } else if (S_ISREG(st->st_mode)) {
        rc = copy_data(path, to, st->st_mode);
    } else if (S_ISLNK(st->st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlink(path, target, sizeof(target) - 1);

        rc = n < 0 ? -1 : (target[n] = '\0', symlink(target, to));
    } else {
        rc = mknod(to, st->st_mode, st->st_rdev); /* whiteouts: char 0/0 */
    }
    if (rc == 0)
        rc = lchown(to, st->st_uid, st->st_gid);
    if (rc < 0)
        snprintf(copying.l->what, sizeof(copying.l->what), "--commit: copy %s to %s", path, to);
    return rc;
}

/* The init layer's files are the container's name and addresses, not part
 * of an image: a commit leaves them out, even when the container changed
 * them. */
static void drop_init_files(struct lab_layers *l, const char *dest)
{
    static const char *const files[] = { "etc/hostname", "etc/hosts", "etc/resolv.conf" };
    char path[PATH_MAX];

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        if (path_printf(path, sizeof(path), "%s/%s", dest, files[i]) == 0)
            (void)unlink(path);
    (void)l;
}

int layer_commit(struct lab_layers *l, const char *dest)
{
    copying = (struct copy){ .l = l, .dest = dest, .src_len = strlen(l->upper) };
    if (mkdir(dest, 0755) < 0 && errno != EEXIST)
        return failed(l, "--commit: mkdir %s", dest);
    if (nftw(l->upper, copy_one, 32, FTW_PHYS | FTW_MOUNT) != 0)
        return -(errno ? errno : EIO);
    drop_init_files(l, dest);
    return 0;
}
