/*
 * file.c - small files: the control files of /proc and /sys/fs/cgroup are
 * read whole and written one value at a time, as cat and echo would.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "lab.h"

int file_read(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;
    int err = 0;

    if (len == 0)
        return -EINVAL;
    buf[0] = '\0';
    if (fd < 0)
        return -errno;
    do
        n = read(fd, buf, len - 1);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        err = -errno;
    close(fd);
    buf[n < 0 ? 0 : n] = '\0';
    return err;
}

/* A control file takes its value in one write(2): a value split over two
 * writes would be read by the kernel as two values. */
int file_write(const char *path, const char *value)
{
    int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    size_t len = strlen(value);
    ssize_t n;
    int err = 0;

    if (fd < 0)
        return -errno;
    do
        n = write(fd, value, len);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        err = -errno;
    else if ((size_t)n != len)
        err = -EIO;
    close(fd);
    return err;
}

int file_printf(const char *path, const char *fmt, ...)
{
    char value[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(value, sizeof(value), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(value))
        return -EOVERFLOW;
    return file_write(path, value);
}
