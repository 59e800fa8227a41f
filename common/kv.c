/*
 * kv.c - the one format of the lab's records (a named container's, a
 * pod's): a small text file, one KEY=VALUE per line.
 *
 * A value may hold any character: a backslash and a newline are escaped
 * (\\ and \n), so that a value is always one line. A record is written
 * whole, to a new file renamed over the old, so that a reader sees the old
 * record or the new one, never half of one. It is read strictly: a line
 * that is not KEY=VALUE, a bad escape, a number that is not exactly a
 * number, a record that does not fit: each is a damaged record (-EBADMSG),
 * never a value of 0 that would name the wrong process.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lab.h"

void kv_init(struct kv_out *o, char *buf, size_t len)
{
    *o = (struct kv_out){ .buf = buf, .len = len };
    if (len > 0)
        buf[0] = '\0';
}

static void put_char(struct kv_out *o, char ch)
{
    if (o->used + 1 < o->len)
        o->buf[o->used++] = ch;
    else
        o->overflow = true;
}

void kv_put(struct kv_out *o, const char *key, const char *fmt, ...)
{
    char value[PATH_MAX + 64];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(value, sizeof(value), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(value)) {
        o->overflow = true;
        return;
    }
    for (const char *k = key; *k; k++)
        put_char(o, *k);
    put_char(o, '=');
    for (const char *v = value; *v; v++) {
        if (*v == '\\' || *v == '\n')
            put_char(o, '\\');
        put_char(o, *v == '\n' ? 'n' : *v);
    }
    put_char(o, '\n');
    if (o->len > 0)
        o->buf[o->used] = '\0';
}

int kv_write(const char *path, const struct kv_out *o)
{
    char tmp[PATH_MAX];
    const char *slash = strrchr(path, '/');
    int fd, err = 0;

    if (o->overflow)
        return -EOVERFLOW; /* a record cut short is worse than none */
    if (!slash ||
        path_printf(tmp, sizeof(tmp), "%.*s/.%s.new", (int)(slash - path), path, slash + 1) < 0)
        return -ENAMETOOLONG;
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
        return -errno;
    if (write(fd, o->buf, o->used) != (ssize_t)o->used)
        err = -EIO;
    close(fd);
    if (!err && rename(tmp, path) < 0)
        err = -errno;
    if (err)
        (void)unlink(tmp);
    return err;
}

int kv_read(int dir_fd, const char *name, char *text, size_t len)
{
    int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -errno;
    n = read(fd, text, len);
    close(fd);
    if (n < 0)
        return -errno;
    if ((size_t)n == len)
        return -EBADMSG; /* no record is that long */
    text[n] = '\0';
    return 0;
}

/* In place: \\ and \n; any other escape is damage. */
static int unescape(char *s)
{
    char *out = s;

    for (; *s; s++) {
        if (*s != '\\') {
            *out++ = *s;
            continue;
        }
        if (s[1] != '\\' && s[1] != 'n')
            return -EBADMSG;
        *out++ = *++s == 'n' ? '\n' : '\\';
    }
    *out = '\0';
    return 0;
}

int kv_next(char **cursor, char **key, char **value)
{
    char *line = *cursor, *end, *eq;

    if (!*line)
        return 0;
    if (!(end = strchr(line, '\n')))
        return -EBADMSG; /* the last line is cut short */
    *end = '\0';
    *cursor = end + 1;
    if (!(eq = strchr(line, '=')) || eq == line)
        return -EBADMSG;
    *eq = '\0';
    *key = line;
    *value = eq + 1;
    return unescape(*value) < 0 ? -EBADMSG : 1;
}

int kv_number(const char *value, int base, unsigned long long max, unsigned long long *out)
{
    char *end;

    if (!isalnum((unsigned char)*value)) /* strtoull would take " 12", "-1" */
        return -EBADMSG;
    errno = 0;
    *out = strtoull(value, &end, base);
    return errno || *end || *out > max ? -EBADMSG : 0;
}
