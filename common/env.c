/*
 * env.c - the environment the container's command starts with.
 *
 * docker run does not pass the host's environment on: the command gets a
 * fixed PATH, HOME, the container's HOSTNAME, TERM if the user has one, and
 * whatever -e adds. "-e NAME" without a value passes the host's NAME.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lab.h"

/* Sets NAME=VALUE from "NAME=VALUE", or the host's NAME from "NAME". */
static int set_one(const char *spec, const char *const host_values[], int i)
{
    const char *eq = strchr(spec, '=');
    char name[256];

    if (!eq) {
        if (!host_values[i])
            return 0; /* docker: an unset NAME is left out */
        return setenv(spec, host_values[i], 1) < 0 ? -errno : 0;
    }
    if ((size_t)(eq - spec) >= sizeof(name))
        return -ENAMETOOLONG;
    memcpy(name, spec, eq - spec);
    name[eq - spec] = '\0';
    return setenv(name, eq + 1, 1) < 0 ? -errno : 0;
}

static int set_all(const char *const extra[], int nextra, const char *const host_values[],
                   const char *hostname, const char *term)
{
    if (clearenv() != 0)
        return -ENOMEM;
    if (setenv("PATH", LAB_DEFAULT_PATH, 1) < 0 || setenv("HOME", "/root", 1) < 0 ||
        setenv("HOSTNAME", hostname, 1) < 0 || (term[0] && setenv("TERM", term, 1) < 0))
        return -errno;
    for (int i = 0; i < nextra; i++) {
        int err = set_one(extra[i], host_values, i);

        if (err < 0)
            return err;
    }
    return 0;
}

int env_reset(const char *const extra[], int nextra)
{
    char *host_values[LAB_MAX_ENV] = { 0 };
    char term[256] = "", hostname[LAB_HOSTNAME_MAX + 1] = "";
    const char *t = getenv("TERM");
    int err;

    if (nextra > LAB_MAX_ENV)
        return -E2BIG;
    if (gethostname(hostname, sizeof(hostname)) < 0)
        return -errno;
    /* Copy what we keep from the host before the environment is cleared. */
    if (t && strlen(t) < sizeof(term))
        strcpy(term, t);
    for (int i = 0; i < nextra; i++)
        if (!strchr(extra[i], '=') && getenv(extra[i]))
            host_values[i] = strdup(getenv(extra[i]));
    err = set_all(extra, nextra, (const char *const *)host_values, hostname, term);
    for (int i = 0; i < nextra; i++)
        free(host_values[i]);
    return err;
}
