/*
 * caps.c - capability names, and the set a container keeps.
 *
 * Root's power is cut into about forty capabilities (capabilities(7)): one
 * to mount (CAP_SYS_ADMIN, which is far more), one to load modules, one to
 * change any file's owner... A container keeps Docker's default fourteen,
 * which let an ordinary program running as root work (chown its files,
 * bind port 80, switch to another user), and none that reach the kernel.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>

#include "lab.h"

static const char *const names[] = {
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID",
    "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN",
    "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE",
    "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME",
    "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
    "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ",
    "PERFMON", "BPF", "CHECKPOINT_RESTORE",
};
#define NCAPS ((int)(sizeof(names) / sizeof(names[0])))

/* Docker's default set (moby's oci/caps/defaults.go). */
static const char *const docker_default[] = {
    "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
    "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
};

int caps_count(void)
{
    return NCAPS;
}

const char *caps_name(int cap)
{
    return cap >= 0 && cap < NCAPS ? names[cap] : "?";
}

int caps_parse(const char *s)
{
    char upper[32];
    size_t n = strlen(s);

    if (strncasecmp(s, "CAP_", 4) == 0) {
        s += 4;
        n -= 4;
    }
    if (n == 0 || n >= sizeof(upper))
        return -EINVAL;
    for (size_t i = 0; i <= n; i++)
        upper[i] = (char)toupper((unsigned char)s[i]);
    if (strcmp(upper, "ALL") == 0)
        return CAPS_ALL;
    for (int cap = 0; cap < NCAPS; cap++)
        if (strcmp(upper, names[cap]) == 0)
            return cap;
    return -EINVAL;
}

uint64_t caps_docker_default(void)
{
    uint64_t set = 0;

    for (size_t i = 0; i < sizeof(docker_default) / sizeof(docker_default[0]); i++)
        set |= 1ULL << caps_parse(docker_default[i]);
    return set;
}

uint64_t caps_all(void)
{
    return NCAPS == 64 ? ~0ULL : (1ULL << NCAPS) - 1;
}

/* "All of them", for a container: in a user namespace of its own, every
 * capability (of that namespace); with --userns host, the host's own, so
 * only those the lab process may pass on (its bounding set: a sandbox, a
 * container the lab runs in, may have taken some away). */
static uint64_t caps_every(const struct lab_opts *o)
{
    uint64_t set = 0;

    if (!o->userns_host)
        return caps_all();
    for (int cap = 0; cap < NCAPS; cap++)
        if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
            set |= 1ULL << cap;
    return set;
}

/* As docker run: the default set; --cap-drop ALL empties it, other drops
 * take theirs out; then --cap-add puts back what it names (ALL: all of
 * them); --privileged has them all. */
uint64_t caps_of(const struct lab_opts *o)
{
    uint64_t set = caps_docker_default();

    if (o->privileged)
        return caps_every(o);
    set = o->cap_drop_all ? 0 : set & ~o->cap_drop;
    return o->cap_add_all ? caps_every(o) : set | o->cap_add;
}

const char *caps_describe(uint64_t set)
{
    static char buf[512];
    const char *sep = ": ";
    int count = __builtin_popcountll(set);
    size_t n;

    if (set == caps_all())
        return "all of them";
    if (count == 0)
        return "none";
    n = (size_t)snprintf(buf, sizeof(buf), "%d", count);
    for (int cap = 0; cap < NCAPS && n < sizeof(buf); cap++)
        if (set & (1ULL << cap)) {
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", sep, names[cap]);
            sep = " ";
        }
    return buf;
}
