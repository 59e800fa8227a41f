/*
 * start.c - what every step does first: read the command line, then make
 * sure it runs as root, before anything is created.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <unistd.h>

#include "lab.h"

void lab_start(struct lab_opts *o, int step, int argc, char *argv[])
{
    char err[1024];

    lab_init(step);
    switch (opt_parse(o, step, argc, argv, err, sizeof(err))) {
    case OPT_HELP:
        opt_usage(stdout, step);
        exit(0);
    case OPT_VERSION:
        printf("%s (container lab) %s\n", lab_name(), LAB_VERSION);
        exit(0);
    case OPT_ERROR:
        die_msg("%s", err);
    case OPT_RUN:
        break;
    }
    lab_set_quiet(o->quiet);
    lab_set_timings(o->timings || (getenv("LAB_TIMINGS") && *getenv("LAB_TIMINGS")));
    /* Namespaces, mounts, cgroups and veths all need CAP_SYS_ADMIN or
     * CAP_NET_ADMIN in the host's namespaces; say so plainly up front. */
    if (geteuid() != 0)
        die_msg("needs root (creating namespaces and mounts takes CAP_SYS_ADMIN): "
                "run it with sudo");
}
