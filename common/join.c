/*
 * join.c - exec NAME (step 15 on): the part of docker exec that is not a
 * lesson.
 *
 * The step file joins the container's namespaces and groups; this finds
 * the container first, from its record (record.c), and pins it: a pidfd
 * names one process for good, where a pid could by now be another's. It
 * also opens, while the host's paths can still be named, the files a join
 * writes later from inside. Then it forks (a PID namespace takes in the
 * caller's children, never the caller), passes signals on, and waits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lab.h"

const char *lab_exec_why(int err)
{
    switch (-err) {
    case ENOENT:
        return "no such container";
    case EAGAIN:
        return "is still starting";
    case ESRCH:
    case ENOMEM: /* fork(2) into a PID namespace whose PID 1 is gone */
        return "the container has ended";
    case EBADMSG:
        return "its record is damaged (not written by the lab): remove it by hand";
    default:
        return strerror(-err);
    }
}

static void parse_exec_options(struct container *c, int step, int argc, char *argv[])
{
    char err[1024];

    switch (opt_parse_exec(&c->opts, argc, argv, err, sizeof(err))) {
    case OPT_HELP:
        opt_usage_exec(stdout, step);
        exit(0);
    case OPT_ERROR:
        die_msg("%s", err);
    default:
        break;
    }
    lab_set_quiet(c->opts.quiet);
}

/* The container's own variables first, then exec's -e, which win. */
static void take_record_options(struct container *c)
{
    const char *extra[LAB_MAX_ENV];
    int nextra = c->opts.nenv;

    memcpy(extra, c->opts.env, sizeof(extra));
    c->opts.nenv = 0;
    record_get_options(&c->target.record, &c->opts);
    for (int i = 0; i < nextra && c->opts.nenv < LAB_MAX_ENV; i++)
        c->opts.env[c->opts.nenv++] = extra[i];
}

/* A pidfd for the recorded pid, checked to be the recorded process: the
 * pid may have been reused since, the pidfd cannot be. The cgroup
 * namespace is opened now too: setns(2) through a pidfd needs ptrace
 * access to the process, which the child, by then root of the container
 * and no more, lacks where PID 1 is --init's (never exec'd, it keeps the
 * host's memory map, owned by the host's user namespace). */
static int pin(struct lab_target *t)
{
    char path[64];

    t->pid = t->record.pid;
    t->pidfd = (int)syscall(SYS_pidfd_open, t->pid, 0);
    if (t->pidfd < 0)
        return -errno;
    snprintf(path, sizeof(path), "/proc/%d/ns/cgroup", (int)t->pid);
    if ((t->cgroup_ns = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return -errno;
    if (record_start_time(t->pid) != t->record.start)
        return -ESRCH; /* the pid is another's now; we exit at once */
    return 0;
}

static int open_groups(struct lab_target *t)
{
    char path[PATH_MAX];

    for (int i = 0; i < t->record.ncgroups; i++) {
        if (path_join(path, sizeof(path), t->record.cgroups[i], "cgroup.procs") < 0)
            return -ENAMETOOLONG;
        if ((t->procs[t->nprocs] = open(path, O_WRONLY | O_CLOEXEC)) < 0)
            return errno == ENOENT ? -ESRCH : -errno; /* removed: it has ended */
        t->nprocs++;
    }
    return 0;
}

void lab_exec_start_step(struct container *c, int step, int argc, char *argv[])
{
    const char *name;
    int err;

    memset(c, 0, sizeof(*c));
    lab_init(step);
    proc_close_inherited(); /* the shell's descriptors are not the container's */
    c->target.pidfd = c->target.cgroup_ns = -1;
    parse_exec_options(c, step, argc, argv);
    name = c->opts.name;
    /* Claimed but not set up yet: it is starting; its record is written
     * (renamed into place) once it is. Wait for that, five seconds at most. */
    if ((err = record_read(name, &c->target.record)) == -EAGAIN)
        err = record_wait_ready(name, &c->target.record, 5000);
    if (err == -ENOENT) {
        char dir[PATH_MAX];

        die_msg("exec %s: no such container (none of that name in %s)", name,
                record_dir(dir, sizeof(dir)));
    }
    if (err < 0 || (err = pin(&c->target)) < 0 || (err = open_groups(&c->target)) < 0)
        die_msg("exec %s: %s", name, lab_exec_why(err));
    take_record_options(c);
    /* The container's root has no supplementary groups: nor do we. */
    if (geteuid() == 0 && setgroups(0, NULL) < 0)
        die("setgroups");
    if ((err = ns_snapshot(&c->host_ns)) < 0)
        die_errno(err, "read /proc/self/ns");
    if ((err = sig_forward_begin()) < 0)
        die_errno(err, "sigaction");
    say("exec %s: its PID 1 is pid %d on the host, pinned by a pidfd", name, (int)c->target.pid);
}

bool lab_exec_fork(struct container *c, int must_be_new)
{
    pid_t pid = fork();
    const char *shared;
    int err;

    if (pid < 0)
        die_msg("exec %s: fork: %s", c->opts.name, lab_exec_why(-errno));
    if (pid > 0) {
        c->pid = pid;
        sig_forward_to(pid);
        return false;
    }
    lab_enter_child();
    if ((err = sig_reset()) < 0 || (err = proc_die_with_parent()) < 0)
        die_errno(err, "reset signal dispositions");
    /* The same safety net as a container's child: the command must not
     * run in the host's namespaces. */
    if ((shared = ns_not_new(&c->host_ns, lab_must_be_new(c, must_be_new))))
        die_msg("exec %s: still in the host's namespace (is %s joined?): refusing to run "
                "the command on the host", c->opts.name, shared);
    return true;
}

int lab_exec_wait(struct container *c)
{
    int err;

    if ((err = proc_wait(c->pid, &c->wstatus)) < 0)
        die_errno(err, "wait for the command");
    c->pid = 0;
    return proc_exit_status(c->wstatus);
}
