/*
 * opt.c - the command line every step shares.
 *
 *     ./step-NN [OPTIONS] [--] [COMMAND [ARG...]]      default COMMAND: /bin/sh
 *
 * One table lists every option with the step that introduces it. A step
 * accepts the options of the steps up to its own; an option from a later step
 * is refused with a hint saying which step adds it. Parsing stops at the first
 * argument that is not an option (getopt's leading '+'), so options of the
 * command itself are left alone: ./step-01 ls -l.
 *
 * As with docker run, an option given twice keeps its last value, while -e and
 * -v add up.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lab.h"

enum {
    KEY_ROOTFS = 1000,
    KEY_HOSTNAME,
    KEY_NET,
    KEY_IP,
    KEY_CPUS,
    KEY_CPU_PERIOD,
    KEY_CPU_QUOTA,
    KEY_TIMINGS,
    KEY_MEMORY_SWAP,
    KEY_PIDS_LIMIT,
    KEY_LAYER,
    KEY_UPPER,
    KEY_COMMIT,
    KEY_UIDMAP,
    KEY_GIDMAP,
    KEY_CAP_ADD,
    KEY_CAP_DROP,
    KEY_PRIVILEGED,
    KEY_SECURITY_OPT,
    KEY_INIT,
    KEY_NAME,
    KEY_POD,
    KEY_SHARE_PID,
    KEY_NETWORK,
    KEY_SHM_SIZE,
    KEY_USERNS,
};

struct opt_def {
    const char *name;
    int key;      /* the short option, or a KEY_ above */
    int since;    /* the step that introduces it */
    const char *arg;
    const char *help;
};

static const struct opt_def defs[] = {
    { "help", 'h', 1, NULL, "show this help and exit" },
    { "version", 'V', 1, NULL, "show the version and exit" },
    { "quiet", 'q', 1, NULL, "no narration on stderr" },
    { "timings", KEY_TIMINGS, 1, NULL, "narrate with the time each mechanism took" },
    { "rootfs", KEY_ROOTFS, 3, "DIR",
      "root filesystem (default: $LAB_ROOTFS, else rootfs/busybox next to this program)" },
    { "env", 'e', 3, "NAME[=VALUE]", "set a variable in the container (repeatable)" },
    { "hostname", KEY_HOSTNAME, 5, "NAME", "the container's hostname (default: lab<pid>)" },
    { "network", KEY_NETWORK, 6, "MODE",
      "none (lo only: the lab's default), bridge (a veth pair; docker's default), host (16+; "
      "as root, with --userns host) or container:NAME (16+)" },
    { "net", KEY_NET, 6, "MODE", "the same as --network (docker's other spelling)" },
    { "ip", KEY_IP, 6, "ADDR/PREFIX",
      "the container's address (implies --network bridge; /16../30)" },
    { "cpus", KEY_CPUS, 7, "N", "cap CPU use at N CPUs, as docker run --cpus (0.01..; 0: none)" },
    { "cpu-period", KEY_CPU_PERIOD, 7, "US", "CFS period in microseconds (1000..1000000)" },
    { "cpu-quota", KEY_CPU_QUOTA, 7, "US", "CPU time per period in microseconds (1000..)" },
    { "volume", 'v', 8, "HOST:CONT[:MODE]",
      "bind-mount a host path (repeatable; MODE ro or rw; z, Z: no SELinux here)" },
    { "shm-size", KEY_SHM_SIZE, 9, "BYTES", "size of /dev/shm, with b, k, m or g (default 64m)" },
    { "memory", 'm', 10, "BYTES", "memory limit, with b, k, m or g (at least 6m)" },
    { "memory-swap", KEY_MEMORY_SWAP, 10, "BYTES", "memory plus swap (-1: unlimited swap)" },
    { "pids-limit", KEY_PIDS_LIMIT, 10, "N", "most processes at once (0 or -1: unlimited)" },
    { "layer", KEY_LAYER, 11, "DIR",
      "an image layer, bottom first (repeatable; default: the rootfs)" },
    { "upper", KEY_UPPER, 11, "DIR", "keep the container's own layer in DIR (default: removed)" },
    { "commit", KEY_COMMIT, 11, "DIR", "at the end, write the container's changes as a new layer" },
    { "uidmap", KEY_UIDMAP, 12, "IN:HOST:N",
      "map uids IN.. to HOST.. (repeatable; default 0:100000:65536)" },
    { "gidmap", KEY_GIDMAP, 12, "IN:HOST:N", "map gids the same way (default: as --uidmap)" },
    { "userns", KEY_USERNS, 12, "MODE",
      "host: no user namespace, the host's ids (root only; needed by --privileged and "
      "--network host)" },
    { "cap-add", KEY_CAP_ADD, 13, "CAP", "keep this capability too (repeatable; ALL)" },
    { "cap-drop", KEY_CAP_DROP, 13, "CAP", "drop this capability (repeatable; ALL)" },
    { "privileged", KEY_PRIVILEGED, 13, NULL, "all capabilities, no masked paths, no filter" },
    { "security-opt", KEY_SECURITY_OPT, 14, "OPT", "seccomp=unconfined: no seccomp filter" },
    { "init", KEY_INIT, 15, NULL, "a tiny init as PID 1: reaps orphans, passes signals on" },
    { "name", KEY_NAME, 15, "NAME", "name the container, for ./step-NN exec NAME CMD" },
    { "pod", KEY_POD, 16, "NAME",
      "join the pod NAME (made if missing): its network, IPC, hostname" },
    { "share-pid", KEY_SHARE_PID, 16, NULL,
      "with --pod: one PID namespace for the pod (shareProcessNamespace)" },
};
#define NDEFS (sizeof(defs) / sizeof(defs[0]))

#define CPU_US_MIN 1000L          /* the kernel refuses a period or quota below 1 ms */
#define CPU_PERIOD_MAX 1000000L   /* ... and a period above 1 s */
#define CPU_QUOTA_MAX 1000000000L /* far below the kernel's own ceiling */

/* Everything parse_one() needs besides the option itself. */
struct parse_state {
    struct lab_opts *o;
    char *err;
    size_t errlen;
    int step;
    bool cpus_set, period_set, quota_set, network_none;
};



static int fail(struct parse_state *ps, const char *fmt, ...) LAB_PRINTF(2, 3);
static int fail(struct parse_state *ps, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(ps->err, ps->errlen, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* Control characters become '?': a newline would break the one-line rule. */
static char *printable(char *s)
{
    for (char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    return s;
}

/* A value as it goes into an error message: control characters (a newline
 * would break the one-line rule) become '?', and anything over 200
 * characters is cut in the middle, so that the reason after it always fits. */
static const char *shorten(const char *value, char *buf, size_t len)
{
    size_t n = strlen(value);

    if (n <= 200)
        snprintf(buf, len, "%s", value);
    else
        snprintf(buf, len, "%.90s...%s", value, value + n - 90);
    return printable(buf);
}

#define SHORT(v) shorten((v), (char[208]){ 0 }, 208)

static const struct opt_def *find_by_key(int key)
{
    for (size_t i = 0; i < NDEFS; i++)
        if (defs[i].key == key)
            return &defs[i];
    return NULL;
}

/* The option as the user typed it: "--hostname" or "-v". */
static const char *shown(const struct opt_def *d, char *buf, size_t len)
{
    if (d->key < 256)
        snprintf(buf, len, "-%c/--%s", d->key, d->name);
    else
        snprintf(buf, len, "--%s", d->name);
    return buf;
}

static int set_rootfs(struct parse_state *ps, const char *dir, const char *from)
{
    struct stat st;
    char resolved[PATH_MAX];

    if (dir[0] == '\0')
        return fail(ps, "%s: is empty", from);
    if (!realpath(dir, resolved))
        return fail(ps, "%s %s: %s", from, SHORT(dir), strerror(errno));
    if (stat(resolved, &st) < 0)
        return fail(ps, "%s %s: %s", from, SHORT(dir), strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return fail(ps, "%s %s: %s", from, SHORT(dir), strerror(ENOTDIR));
    if (strcmp(resolved, "/") == 0)
        return fail(ps, "%s %s: is the host's own root, not a container's", from, SHORT(dir));
    strcpy(ps->o->rootfs, resolved); /* both are PATH_MAX */
    return 0;
}

/* No --rootfs: $LAB_ROOTFS, else rootfs/busybox next to the program. */
static int default_rootfs(struct parse_state *ps)
{
    char dir[PATH_MAX], path[PATH_MAX];
    const char *env = getenv("LAB_ROOTFS");

    if (env)
        return set_rootfs(ps, env, "$LAB_ROOTFS");
    if (path_exe_dir(dir, sizeof(dir)) < 0 ||
        path_join(path, sizeof(path), dir, "rootfs/busybox") < 0)
        return fail(ps, "cannot find the directory of this program");
    if (access(path, F_OK) < 0)
        return fail(ps, "rootfs %s: %s (build it with: make rootfs)", path, strerror(errno));
    return set_rootfs(ps, path, "rootfs");
}

static int add_volume(struct parse_state *ps, const char *spec)
{
    struct lab_opts *o = ps->o;
    struct lab_volume *v = &o->volumes[o->nvolumes];
    char resolved[PATH_MAX];
    const char *why;

    if (o->nvolumes == LAB_MAX_VOLUMES)
        return fail(ps, "-v %s: more than %d volumes", SHORT(spec), LAB_MAX_VOLUMES);
    if (parse_volume(spec, v, &why) < 0)
        return fail(ps, "-v %s: %s", SHORT(spec), why);
    if (!realpath(v->host, resolved))
        return fail(ps, "-v %s: host path %s: %s", SHORT(spec), SHORT(v->host), strerror(errno));
    strcpy(v->host, resolved);
    o->nvolumes++;
    return 0;
}

static int add_layer(struct parse_state *ps, const char *dir)
{
    struct lab_opts *o = ps->o;
    char resolved[PATH_MAX];
    struct stat st;

    if (o->nlayers == LAB_MAX_LAYERS)
        return fail(ps, "--layer: more than %d layers, the most overlayfs stacks", LAB_MAX_LAYERS);
    if (dir[0] == '\0')
        return fail(ps, "--layer: is empty");
    if (!realpath(dir, resolved) || stat(resolved, &st) < 0)
        return fail(ps, "--layer %s: %s", SHORT(dir), strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return fail(ps, "--layer %s: %s", SHORT(dir), strerror(ENOTDIR));
    if (!(o->layers[o->nlayers] = strdup(resolved)))
        return fail(ps, "--layer %s: %s", SHORT(dir), strerror(ENOMEM));
    o->nlayers++;
    return 0;
}

/* --upper and --commit name a directory that may not exist yet: resolve its
 * parent, which must. */
static int set_new_dir(struct parse_state *ps, const char *name, const char *dir, char *out)
{
    char parent[PATH_MAX], resolved[PATH_MAX];
    const char *slash = strrchr(dir, '/'), *base = slash ? slash + 1 : dir;

    if (dir[0] == '\0')
        return fail(ps, "%s: is empty", name);
    if (realpath(dir, out))
        return 0;
    if (errno != ENOENT || !*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return fail(ps, "%s %s: %s", name, SHORT(dir), strerror(errno));
    /* "new" -> ".", "/new" -> "/", "a/b/new" -> "a/b" */
    if (path_printf(parent, sizeof(parent), "%.*s", slash ? (int)(slash - dir) : 1,
                    slash ? (slash == dir ? "/" : dir) : ".") < 0 || !realpath(parent, resolved))
        return fail(ps, "%s %s: %s", name, SHORT(dir), strerror(errno));
    if (path_join(out, PATH_MAX, strcmp(resolved, "/") ? resolved : "", base) < 0)
        return fail(ps, "%s %s: %s", name, SHORT(dir), strerror(ENAMETOOLONG));
    return 0;
}

/* Whether a is b, or inside it. */
static bool within(const char *a, const char *b)
{
    size_t n = strlen(b);

    return strncmp(a, b, n) == 0 && (a[n] == '\0' || a[n] == '/' || strcmp(b, "/") == 0);
}

static int add_env(struct parse_state *ps, const char *spec)
{
    struct lab_opts *o = ps->o;
    const char *why;

    if (parse_env(spec, &why) < 0)
        return fail(ps, "-e %s: %s", SHORT(spec), why);
    if (o->nenv == LAB_MAX_ENV)
        return fail(ps, "-e %s: more than %d variables", SHORT(spec), LAB_MAX_ENV);
    o->env[o->nenv++] = spec;
    return 0;
}

static int add_cap(struct parse_state *ps, bool add, const char *name)
{
    struct lab_opts *o = ps->o;
    int cap = caps_parse(name);

    if (cap == -EINVAL)
        return fail(ps, "%s '%s': no such capability (see capabilities(7): CHOWN, NET_ADMIN, "
                        "SYS_ADMIN, ..., or ALL)", add ? "--cap-add" : "--cap-drop", SHORT(name));
    if (cap == CAPS_ALL)
        *(add ? &o->cap_add_all : &o->cap_drop_all) = true;
    else
        *(add ? &o->cap_add : &o->cap_drop) |= 1ULL << cap;
    return 0;
}

static int add_idmap(struct parse_state *ps, const char *name, const char *spec,
                     struct lab_idmap *maps, int *n)
{
    const char *why;

    if (*n == LAB_MAX_IDMAPS)
        return fail(ps, "%s %s: more than %d maps", name, SHORT(spec), LAB_MAX_IDMAPS);
    if (parse_idmap(spec, &maps[*n], &why) < 0)
        return fail(ps, "%s '%s': %s", name, SHORT(spec), why);
    (*n)++;
    return 0;
}

/* --memory and --memory-swap: checked against each other in finish(). */
static int set_bytes(struct parse_state *ps, const char *name, const char *arg, long long *out)
{
    const char *why;

    if (strcmp(name, "--memory-swap") == 0 && strcmp(arg, "-1") == 0) {
        *out = LAB_UNLIMITED;
        return 0;
    }
    if (parse_bytes(arg, out, &why) < 0)
        return fail(ps, "%s '%s': %s", name, SHORT(arg), why);
    if (*out < LAB_MEMORY_MIN)
        return fail(ps, "%s '%s': is below 6m, the smallest limit docker run allows", name,
                    SHORT(arg));
    return 0;
}

/* --network and --net, as docker run spells them: none (lo only, the
 * lab's default), bridge (the veth pair of step 06), host (16 on). */
static int set_network(struct parse_state *ps, const char *name, const char *arg)
{
    struct lab_opts *o = ps->o;
    const char *why;

    o->net = o->host_network = ps->network_none = false;
    o->net_container[0] = '\0';
    if (strcmp(arg, "none") == 0)
        ps->network_none = true;
    else if (strcmp(arg, "bridge") == 0)
        o->net = true;
    else if (strcmp(arg, "host") == 0 && ps->step >= 16)
        o->host_network = true;
    else if (strcmp(arg, "host") == 0)
        return fail(ps, "%s host: not known yet: step 16 adds it", name);
    else if (strncmp(arg, "container:", 10) == 0 && ps->step < 16)
        return fail(ps, "%s %s: not known yet: step 16 adds it", name, SHORT(arg));
    else if (strncmp(arg, "container:", 10) == 0 && record_check_name(arg + 10, &why) < 0)
        return fail(ps, "%s %s: invalid container format container:<name> (%s)", name, SHORT(arg),
                    why);
    else if (strncmp(arg, "container:", 10) == 0)
        strcpy(o->net_container, arg + 10); /* record_check_name checked the length */
    else
        return fail(ps, "%s %s: unknown network: none, bridge%s (a veth pair is --network bridge)",
                    name, SHORT(arg), ps->step >= 16 ? ", host, container:NAME" : "");
    return 0;
}

static int parse_one(struct parse_state *ps, int key, const char *arg)
{
    struct lab_opts *o = ps->o;
    const char *why;

    switch (key) {
    case 'q':
        o->quiet = true;
        return 0;
    case KEY_TIMINGS:
        o->timings = true;
        return 0;
    case KEY_ROOTFS:
        return set_rootfs(ps, arg, "--rootfs");
    case 'e':
        return add_env(ps, arg);
    case KEY_HOSTNAME:
        if (parse_hostname(arg, &why) < 0)
            return fail(ps, "--hostname '%s': %s", SHORT(arg), why);
        strcpy(o->hostname, arg); /* parse_hostname checked the length */
        return 0;
    case KEY_NET:
        return set_network(ps, "--net", arg);
    case KEY_NETWORK:
        return set_network(ps, "--network", arg);
    case KEY_IP:
        if (parse_ipv4_prefix(arg, &o->ip, &why) < 0)
            return fail(ps, "--ip '%s': %s", SHORT(arg), why);
        o->ip_set = o->net = true;
        return 0;
    case KEY_CPUS:
        if (parse_cpus(arg, sysconf(_SC_NPROCESSORS_ONLN), &o->cpu_quota_us, &why) < 0)
            return fail(ps, "--cpus '%s': %s", SHORT(arg), why);
        ps->cpus_set = o->cpu_quota_us > 0; /* --cpus 0: no limit, as docker's */
        return 0;
    case KEY_CPU_PERIOD:
        if (parse_microseconds(arg, CPU_US_MIN, CPU_PERIOD_MAX, &o->cpu_period_us, &why) < 0)
            return fail(ps, "--cpu-period '%s': %s (1000..1000000 us, the kernel's limits)",
                        SHORT(arg), why);
        ps->period_set = true;
        return 0;
    case KEY_CPU_QUOTA:
        if (parse_microseconds(arg, CPU_US_MIN, CPU_QUOTA_MAX, &o->cpu_quota_us, &why) < 0)
            return fail(ps, "--cpu-quota '%s': %s (at least 1000 us, the kernel's minimum)",
                        SHORT(arg), why);
        ps->quota_set = true;
        return 0;
    case 'v':
        return add_volume(ps, arg);
    case 'm':
        return set_bytes(ps, "--memory", arg, &o->memory_bytes);
    case KEY_MEMORY_SWAP:
        return set_bytes(ps, "--memory-swap", arg, &o->memory_swap_bytes);
    case KEY_SHM_SIZE: /* moby: 0 is the default, a size below 0 an error */
        if (parse_bytes(arg, &o->shm_bytes, &why) < 0)
            return fail(ps, "--shm-size '%s': %s", SHORT(arg), why);
        if (o->shm_bytes == 0)
            o->shm_bytes = LAB_SHM_DEFAULT;
        return 0;
    case KEY_PIDS_LIMIT:
        if (parse_pids_limit(arg, &o->pids_limit, &why) < 0)
            return fail(ps, "--pids-limit '%s': %s", SHORT(arg), why);
        return 0;
    case KEY_LAYER:
        return add_layer(ps, arg);
    case KEY_UPPER:
        return set_new_dir(ps, "--upper", arg, o->upper);
    case KEY_COMMIT:
        return set_new_dir(ps, "--commit", arg, o->commit);
    case KEY_CAP_ADD:
    case KEY_CAP_DROP:
        return add_cap(ps, key == KEY_CAP_ADD, arg);
    case KEY_PRIVILEGED:
        o->privileged = true;
        return 0;
    case KEY_USERNS:
        /* moby's UsernsMode.Valid() (api/types/container/hostconfig.go):
         * "" or "host", nothing else. */
        if (strcmp(arg, "host") != 0)
            return fail(ps, "--userns %s: only host is known (no user namespace)", SHORT(arg));
        o->userns_host = true;
        return 0;
    case KEY_INIT:
        o->init = true;
        return 0;
    case KEY_NAME:
        if (record_check_name(arg, &why) < 0)
            return fail(ps, "--name '%s': %s", SHORT(arg), why);
        strcpy(o->name, arg); /* record_check_name checked the length */
        return 0;
    case KEY_POD:
        if (record_check_name(arg, &why) < 0)
            return fail(ps, "--pod '%s': %s", SHORT(arg), why);
        strcpy(o->pod, arg); /* record_check_name checked the length */
        return 0;
    case KEY_SHARE_PID:
        o->share_pid = true;
        return 0;
    case KEY_SECURITY_OPT:
        if (strcmp(arg, "seccomp=unconfined") != 0 && strcmp(arg, "seccomp:unconfined") != 0)
            return fail(ps, "--security-opt '%s': unknown here: the lab knows seccomp=unconfined "
                            "(docker run's seccomp=PROFILE.json, apparmor= and label= it has not)",
                        SHORT(arg));
        o->seccomp_unconfined = true;
        return 0;
    case KEY_UIDMAP:
    case KEY_GIDMAP:
        return add_idmap(ps, key == KEY_UIDMAP ? "--uidmap" : "--gidmap", arg,
                         key == KEY_UIDMAP ? o->uidmap : o->gidmap,
                         key == KEY_UIDMAP ? &o->nuidmap : &o->ngidmap);
    }
    return fail(ps, "internal error: option %d has no parser", key);
}

/* The option getopt stopped at (the argument before optind), without any
 * "=value". */
static void offending(const char *arg, char *buf, size_t len)
{
    size_t n = strcspn(arg, "=");

    snprintf(buf, len, "%.*s", (int)(n < 64 ? n : 64), arg);
    printable(buf);
}

/* getopt_long(3) takes any unambiguous prefix of a long option (--priv for
 * --privileged); Docker's command line takes none (`unknown flag: --priv`).
 * Whether arg, the long option getopt just matched as longs[index], was
 * typed in full. */
static bool abbreviated(const char *arg, const struct option *longs, int index)
{
    if (index < 0 || strncmp(arg, "--", 2) != 0)
        return false;
    return strcspn(arg + 2, "=") != strlen(longs[index].name) ||
           strncmp(arg + 2, longs[index].name, strlen(longs[index].name)) != 0;
}

/* "--hostname" at step 03: say which step brings it, not just "unknown". */
static int unknown_option(struct parse_state *ps, int step, const char *typed, int short_opt)
{
    for (size_t i = 0; i < NDEFS; i++) {
        bool longs = strncmp(typed, "--", 2) == 0 && strcmp(typed + 2, defs[i].name) == 0;
        bool same = short_opt ? defs[i].key == short_opt : longs;
        if (same && defs[i].since > step)
            return fail(ps, "%s: not known yet: step %02d adds it", typed, defs[i].since);
    }
    return fail(ps, "%s: unknown option (see --help)", typed);
}

/* getopt's tables for the options a step knows. */
static void build_tables(int step, struct option *longs, char *shorts)
{
    size_t nl = 0, ns = 0;

    shorts[ns++] = '+'; /* stop at the command */
    shorts[ns++] = ':'; /* report a missing value as ':' */
    for (size_t i = 0; i < NDEFS; i++) {
        if (defs[i].since > step)
            continue;
        longs[nl++] = (struct option){ defs[i].name, defs[i].arg ? required_argument : no_argument,
                                       NULL, defs[i].key };
        if (defs[i].key < 256) {
            shorts[ns++] = (char)defs[i].key;
            if (defs[i].arg)
                shorts[ns++] = ':';
        }
    }
    longs[nl] = (struct option){ 0 };
    shorts[ns] = '\0';
}

static bool dir_is_empty_or_new(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    int entries = 0;

    if (!d)
        return errno == ENOENT;
    while ((e = readdir(d)))
        entries += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return entries == 0;
}

static int finish(struct parse_state *ps)
{
    const struct lab_opts *o = ps->o;

    if (ps->cpus_set && (ps->period_set || ps->quota_set))
        return fail(ps, "--cpus cannot be combined with --cpu-period or --cpu-quota "
                        "(as in docker run)");
    if (o->memory_swap_bytes && !o->memory_bytes)
        return fail(ps, "--memory-swap needs --memory: it is memory and swap together "
                        "(as in docker run)");
    if (o->commit[0] && !dir_is_empty_or_new(o->commit))
        return fail(ps, "--commit %s: exists and is not an empty directory: a new layer needs "
                        "its own", SHORT(o->commit));
    if (o->share_pid && !o->pod[0])
        return fail(ps, "--share-pid: only with --pod: it shares the pod's PID namespace");
    if (ps->network_none && o->ip_set)
        return fail(ps, "--ip: not with --network none: an address needs --network bridge");
    /* moby's refusals (daemon/internal/runconfig/hostconfig.go): the name,
     * the address and the pod come with the other container's network. */
    if (o->net_container[0] && (o->hostname[0] || o->ip_set || o->pod[0]))
        return fail(ps, "--network container:%s: conflicting options: %s and the network mode",
                    o->net_container, o->hostname[0] ? "hostname" : o->ip_set ? "ip" : "pod");
    if (o->net_container[0] && (o->nuidmap || o->ngidmap))
        return fail(ps, "--network container:%s: not with --uidmap or --gidmap: it shares %s's "
                        "user namespace, and its map", o->net_container, o->net_container);
    if (o->host_network && (o->ip_set || o->pod[0]))
        return fail(ps, "--network host: not with %s: the host's network is not the container's "
                        "to configure or share", o->ip_set ? "--ip" : "--pod");
    if (o->memory_swap_bytes > 0 && o->memory_swap_bytes < o->memory_bytes)
        return fail(ps, "--memory-swap %lld is smaller than --memory %lld: it is memory and swap "
                        "together, so at least --memory", o->memory_swap_bytes, o->memory_bytes);
    return 0;
}

static char *const default_command[] = { "/bin/sh", NULL };

enum opt_result opt_parse(struct lab_opts *o, int step, int argc, char *argv[], char *err,
                          size_t errlen)
{
    struct option longs[NDEFS + 1];
    char shorts[2 * NDEFS + 3];
    struct parse_state ps = { .o = o, .err = err, .errlen = errlen, .step = step };
    char typed[80];

    memset(o, 0, sizeof(*o));
    o->cpu_period_us = LAB_CPU_PERIOD_DEFAULT;
    o->shm_bytes = LAB_SHM_DEFAULT;
    build_tables(step, longs, shorts);
    opterr = 0;
    optind = 0; /* glibc: start afresh, so that tests can parse many times */
    for (;;) {
        int at = optind > 0 ? optind : 1, index = -1;
        int key = getopt_long(argc, argv, shorts, longs, &index);

        if (key == -1)
            break;
        if (abbreviated(argv[at], longs, index)) {
            offending(argv[at], typed, sizeof(typed));
            unknown_option(&ps, step, typed, 0);
            return OPT_ERROR;
        }
        if (key == 'h')
            return OPT_HELP;
        if (key == 'V')
            return OPT_VERSION;
        if (key == ':') {
            const struct opt_def *d = find_by_key(optopt);

            offending(argv[optind - 1], typed, sizeof(typed));
            if (d && d->key == KEY_NET) {
                fail(&ps, "--net: needs a value, as docker's: --network bridge for a veth pair");
            } else {
                char name[64];

                fail(&ps, "%s: needs a value (%s)", d ? shown(d, name, sizeof(name)) : typed,
                     d && d->arg ? d->arg : "?");
            }
            return OPT_ERROR;
        }
        if (key == '?') {
            const struct opt_def *d = optopt ? find_by_key(optopt) : NULL;

            offending(argv[optind - 1], typed, sizeof(typed));
            /* A known option that takes no value, given one: --net=1. */
            if (d && d->since <= step && strncmp(typed, "--", 2) == 0) {
                char name[64];

                fail(&ps, "%s: takes no value", shown(d, name, sizeof(name)));
                return OPT_ERROR;
            }
            if (optopt && optopt < 256) {
                snprintf(typed, sizeof(typed), "-%c", optopt);
                printable(typed);
            }
            unknown_option(&ps, step, typed, optopt < 256 ? optopt : 0);
            return OPT_ERROR;
        }
        if (parse_one(&ps, key, optarg) < 0)
            return OPT_ERROR;
    }
    if (finish(&ps) < 0)
        return OPT_ERROR;
    o->argv = optind < argc ? argv + optind : default_command;
    return OPT_RUN;
}

/*
 *     ./step-NN exec [-e NAME[=VALUE]]... [-q] NAME [--] COMMAND [ARG...]
 *
 * docker exec's command line (step 15 on): -e adds to the container's own
 * variables.
 */
enum opt_result opt_parse_exec(struct lab_opts *o, int argc, char *argv[], char *err, size_t errlen)
{
    static const struct option longs[] = {
        { "help", no_argument, NULL, 'h' }, { "quiet", no_argument, NULL, 'q' },
        { "env", required_argument, NULL, 'e' }, { 0 },
    };
    struct parse_state ps = { .o = o, .err = err, .errlen = errlen };
    const char *why;

    memset(o, 0, sizeof(*o));
    opterr = 0;
    optind = 0;
    for (;;) {
        int at = optind > 0 ? optind : 1, index = -1;
        int key = getopt_long(argc, argv, "+:hqe:", longs, &index);
        char typed[80];

        if (key == -1)
            break;
        if (abbreviated(argv[at], longs, index)) {
            offending(argv[at], typed, sizeof(typed));
            fail(&ps, "exec %s: unknown option (see exec --help)", typed);
            return OPT_ERROR;
        }
        if (key == 'h')
            return OPT_HELP;
        if (key == ':' || key == '?') {
            offending(argv[optind - 1], typed, sizeof(typed));
            fail(&ps, "exec %s: %s", typed,
                 key == ':' ? "needs a value" : "unknown option (see exec --help)");
            return OPT_ERROR;
        }
        if (parse_one(&ps, key, optarg) < 0)
            return OPT_ERROR;
    }
    if (optind >= argc)
        {
        fail(&ps, "exec: which container? (exec NAME COMMAND)");
        return OPT_ERROR;
    }
    if (record_check_name(argv[optind], &why) < 0)
        {
        fail(&ps, "exec '%s': %s", SHORT(argv[optind]), why);
        return OPT_ERROR;
    }
    strcpy(o->name, argv[optind++]);
    if (optind < argc && strcmp(argv[optind], "--") == 0)
        optind++;
    if (optind >= argc)
        {
        fail(&ps, "exec %s: which command? (exec NAME COMMAND)", o->name);
        return OPT_ERROR;
    }
    o->argv = argv + optind;
    return OPT_RUN;
}

void opt_usage_exec(FILE *out, int step)
{
    fprintf(out, "Usage: step-%02d exec [OPTIONS] NAME [--] COMMAND [ARG...]\n"
                 "Runs COMMAND in the running container NAME (--name), as docker exec.\n\n"
                 "Options:\n"
                 "  -e, --env NAME[=VALUE]         add a variable (repeatable)\n"
                 "  -q, --quiet                    no narration on stderr\n"
                 "  -h, --help                     show this help and exit\n"
                 "\nExit status: the command's own; 128+N if it died of signal N;\n"
                 "125 if the lab failed (no such container); 126 if COMMAND cannot run;"
                 " 127 if not found.\n",
            step);
}

/* --userns host: the host's ids, as they are (one map, all of them, onto
 * themselves: what /proc/self/uid_map shows in the host's namespace). */
static int no_user_namespace(struct parse_state *ps)
{
    struct lab_opts *o = ps->o;

    if (geteuid() != 0)
        return fail(ps, "--userns host: needs root: rootless, the container's ids exist only in "
                        "a user namespace of yours");
    if (o->nuidmap || o->ngidmap)
        return fail(ps, "--%s: not with --userns host: there is no user namespace to map",
                    o->nuidmap ? "uidmap" : "gidmap");
    if (o->pod[0])
        return fail(ps, "--userns host: not with --pod: the lab's pods have a user namespace of "
                        "their own");
    o->uidmap[0] = o->gidmap[0] = (struct lab_idmap){ 0, 0, UINT32_MAX };
    o->nuidmap = o->ngidmap = 1;
    return 0;
}

/* As root the lab is Docker with userns-remap: what needs the host's own
 * root is refused without --userns host, as moby refuses it
 * (daemon/daemon_unix.go, verifyPlatformContainerSettings). Rootless, as
 * rootless Podman, the container has the powers of the user's namespace. */
static int needs_the_hosts_ids(struct parse_state *ps)
{
    const struct lab_opts *o = ps->o;

    if (o->userns_host || o->rootless)
        return 0;
    if (o->privileged)
        return fail(ps, "--privileged: needs --userns host: privileged mode is incompatible with "
                        "user namespaces (the host's capabilities are not a namespace's)");
    if (o->host_network)
        return fail(ps, "--network host: needs --userns host: a user namespace cannot use the "
                        "host's network");
    return 0;
}

/* Step 12 on: the id maps, and what a rootless container cannot have. */
static int user_namespace_defaults(struct parse_state *ps)
{
    struct lab_opts *o = ps->o;
    bool limits = o->cpu_quota_us || o->memory_bytes || o->pids_limit;
    const char *why;

    if (o->userns_host)
        return no_user_namespace(ps);
    if (userns_defaults(o, &why) < 0)
        return fail(ps, "--uidmap/--gidmap: %s", why);
    if (!o->rootless)
        return 0;
    if (o->net)
        return fail(ps, "--network bridge: a veth pair needs root on the host; rootless, the "
                        "container has lo only (slirp4netns or pasta give rootless containers "
                        "a network)");
    if (limits && !cg_delegated())
        return fail(ps, "--cpus/--memory/--pids-limit: rootless, cgroup limits need a cgroup v2 "
                        "subtree delegated to you (as systemd does for user sessions), and "
                        "none is");
    if (access(o->rootfs, R_OK | X_OK) < 0)
        return fail(ps, "rootfs %s: %s: a rootless container can only use a rootfs you can read",
                    SHORT(o->rootfs), strerror(errno));
    return 0;
}

int opt_defaults(struct lab_opts *o, int step, char *err, size_t errlen)
{
    struct parse_state ps = { .o = o, .err = err, .errlen = errlen };

    if (step >= 3 && o->rootfs[0] == '\0' && default_rootfs(&ps) < 0)
        return -EINVAL;
    /* Without --layer, the rootfs is the one image layer (step 11 on). */
    if (step >= 11 && o->nlayers == 0)
        o->layers[o->nlayers++] = o->rootfs;
    if (step >= 12 && (user_namespace_defaults(&ps) < 0 || needs_the_hosts_ids(&ps) < 0))
        return -EINVAL;
    for (int i = 0; o->upper[0] && i < o->nlayers; i++)
        if (within(o->upper, o->layers[i]) || within(o->layers[i], o->upper))
            return fail(&ps, "--upper %s and the layer %s overlap: overlayfs would refuse an "
                             "upper inside a layer, or a layer inside the upper",
                        SHORT(o->upper), SHORT(o->layers[i]));
    return 0;
}

void opt_free(struct lab_opts *o)
{
    for (int i = 0; i < o->nlayers; i++)
        if (o->layers[i] != o->rootfs)
            free(o->layers[i]);
    o->nlayers = 0;
}

void opt_usage(FILE *out, int step)
{
    fprintf(out, "Usage: step-%02d [OPTIONS] [--] [COMMAND [ARG...]]\n", step);
    fprintf(out, "Runs COMMAND (default /bin/sh) in a container; needs root.\n\nOptions:\n");
    for (size_t i = 0; i < NDEFS; i++) {
        char left[64];

        if (defs[i].since > step)
            continue;
        if (defs[i].key < 256)
            snprintf(left, sizeof(left), "-%c, --%s%s%s", defs[i].key, defs[i].name,
                     defs[i].arg ? " " : "", defs[i].arg ? defs[i].arg : "");
        else
            snprintf(left, sizeof(left), "    --%s%s%s", defs[i].name, defs[i].arg ? " " : "",
                     defs[i].arg ? defs[i].arg : "");
        fprintf(out, "  %-30s %s\n", left, defs[i].help);
    }
    if (step >= 15)
        fprintf(out, "\n  step-%02d exec NAME COMMAND    run COMMAND in the running container NAME "
                     "(exec --help)\n", step);
    fprintf(out, "\nExit status: the command's own; 128+N if it died of signal N;\n"
                 "125 if the lab failed; 126 if COMMAND cannot run; 127 if not found.\n");
}

static bool is_quiet(const char *arg)
{
    return strcmp(arg, "-q") == 0 || strcmp(arg, "--quiet") == 0;
}

/* "./step-16 -q exec NAME": -q may come before a subcommand too, as before
 * any other command. It is moved after the subcommand's name, where the
 * subcommand's own parser reads it. */
bool opt_subcommand(int argc, char *argv[], const char *name)
{
    int at = 1;

    while (at < argc && is_quiet(argv[at]))
        at++;
    if (at >= argc || strcmp(argv[at], name) != 0)
        return false;
    for (char *sub = argv[at]; at > 1; at--)
        argv[at] = argv[at - 1], argv[at - 1] = sub;
    return true;
}
