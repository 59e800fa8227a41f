/*
 * log.c - narration and errors.
 *
 * stdout belongs to the container's command, so everything the lab says goes
 * to stderr: one narration line per mechanism ("step-05 [child]: ..."), and on
 * failure one error line ("step-05: what: why") before exiting 125.
 *
 * The same code runs on both sides of clone(2). The child must leave with
 * _exit(): exit() would run the parent's atexit handlers and flush stdio
 * buffers that the parent will flush too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lab.h"

static struct {
    int step;
    char name[16];          /* "step-05" */
    bool quiet;
    bool timings;
    bool in_child;
    struct timespec last;   /* when the previous narration line was printed */
    void (*cleanup)(void *);
    void *cleanup_arg;
    int error_log;          /* step 17's --log: errors are written there too */
    bool error_log_json;
    int failure_status;     /* what die() exits with: 125, or runc's 1 */
} lab = { .name = "lab", .error_log = -1, .failure_status = LAB_EXIT_FAILED };

void lab_init(int step)
{
    lab.step = step;
    snprintf(lab.name, sizeof(lab.name), "step-%02d", step);
    clock_gettime(CLOCK_MONOTONIC, &lab.last);
}

const char *lab_name(void)
{
    return lab.name;
}

void lab_set_quiet(bool quiet)
{
    lab.quiet = quiet;
}

void lab_set_timings(bool timings)
{
    lab.timings = timings;
}

/* The child inherits a copy of this state; from now on it speaks for itself. */
void lab_enter_child(void)
{
    lab.in_child = true;
    lab.cleanup = NULL;
}

/* Called by die() in the parent, so that a failed start removes what it made. */
void lab_set_cleanup(void (*fn)(void *), void *arg)
{
    lab.cleanup = fn;
    lab.cleanup_arg = arg;
}

void lab_set_error_log(int fd, bool json)
{
    lab.error_log = fd;
    lab.error_log_json = json;
}

void lab_set_failure_status(int status)
{
    lab.failure_status = status;
}

/* One line of the error log: logrus's text or JSON format, as runc writes
 * them and containerd and podman read them (msg, level, time RFC 3339). */
static void log_error_line(const char *msg)
{
    char line[PATH_MAX + 1024], when[40];
    size_t n = 0;
    time_t now = time(NULL);
    struct tm tm;

    if (lab.error_log < 0)
        return;
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    n = (size_t)snprintf(line, sizeof(line), lab.error_log_json ? "{\"level\":\"error\",\"msg\":\""
                                                                 : "time=\"%s\" level=error msg=\"",
                         when);
    for (const char *p = msg; *p && n + 8 < sizeof(line); p++) {
        if (*p == '"' || *p == '\\')
            line[n++] = '\\';
        if ((unsigned char)*p < 0x20)
            n += (size_t)snprintf(line + n, sizeof(line) - n, "\\u%04x", *p);
        else
            line[n++] = *p;
    }
    if (lab.error_log_json)
        snprintf(line + n, sizeof(line) - n, "\",\"time\":\"%s\"}\n", when);
    else
        snprintf(line + n, sizeof(line) - n, "\"\n");
    (void)!write(lab.error_log, line, strlen(line));
}

static double ms_since(struct timespec *since)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    double ms = (now.tv_sec - since->tv_sec) * 1e3 + (now.tv_nsec - since->tv_nsec) / 1e6;
    *since = now;
    return ms;
}

void say(const char *fmt, ...)
{
    int saved = errno;
    char line[512];
    va_list ap;

    if (lab.quiet && !lab.timings)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    /* With --timings each line also says how long since the previous line of
     * the same process: the cost of the mechanism it narrates. */
    if (lab.timings)
        fprintf(stderr, "%s [%s]: %s  (+%.3f ms)\n", lab.name,
                lab.in_child ? "child" : "parent", line, ms_since(&lab.last));
    else
        fprintf(stderr, "%s [%s]: %s\n", lab.name, lab.in_child ? "child" : "parent", line);
    errno = saved;
}

static _Noreturn void leave(int status)
{
    if (status == LAB_EXIT_FAILED)
        status = lab.failure_status;
    if (lab.in_child)
        _exit(status);
    if (lab.cleanup) {
        void (*fn)(void *) = lab.cleanup;

        lab.cleanup = NULL; /* a failure inside the cleanup must not loop */
        fn(lab.cleanup_arg);
    }
    exit(status);
}

static void report(int errnum, const char *fmt, va_list ap)
{
    char what[PATH_MAX + 512];

    char line[sizeof(what) + 128];

    vsnprintf(what, sizeof(what), fmt, ap);
    if (errnum)
        snprintf(line, sizeof(line), "%s: %s: %s", lab.name, what, strerror(errnum));
    else
        snprintf(line, sizeof(line), "%s: %s", lab.name, what);
    fprintf(stderr, "%s\n", line);
    log_error_line(line);
}

void warn_errno(int errnum, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    report(errnum < 0 ? -errnum : errnum, fmt, ap);
    va_end(ap);
}

_Noreturn void die(const char *fmt, ...)
{
    int saved = errno; /* before anything else can change it */
    va_list ap;

    va_start(ap, fmt);
    report(saved, fmt, ap);
    va_end(ap);
    leave(LAB_EXIT_FAILED);
}

_Noreturn void die_errno(int errnum, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    report(errnum < 0 ? -errnum : errnum, fmt, ap);
    va_end(ap);
    leave(LAB_EXIT_FAILED);
}

_Noreturn void die_msg(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    report(0, fmt, ap);
    va_end(ap);
    leave(LAB_EXIT_FAILED);
}

_Noreturn void die_status(int status, int errnum, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    report(errnum < 0 ? -errnum : errnum, fmt, ap);
    va_end(ap);
    leave(status);
}
