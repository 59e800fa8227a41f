/*
 * oci.c - an OCI bundle's config.json, read into what the steps already
 * know how to do (step 17).
 *
 * The runtime-spec (github.com/opencontainers/runtime-spec, config.md and
 * config-linux.md) describes a container as JSON: the process, the root,
 * the mounts, the namespaces, the limits. Each field is a mechanism an
 * earlier step built; this file only reads it. Parsing JSON is not the
 * lesson, so json-c (Debian's libjson-c-dev) does it.
 *
 * A field the spec names and the lab does not implement is refused by its
 * name ("linux.intelRdt: not supported"): a runtime that ignored it would
 * run a container other than the one asked for. A property the spec does
 * not name is ignored, as config.md requires of every runtime.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <json-c/json.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <fcntl.h>
#include <unistd.h>

#include "lab.h"

/* One error line, "config.json: WHERE: WHY", for the caller to print. */
static int refuse(struct oci_config *cfg, const char *fmt, ...) LAB_PRINTF(2, 3);
static int refuse(struct oci_config *cfg, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cfg->error, sizeof(cfg->error), fmt, ap);
    va_end(ap);
    /* One line, whatever the file held (a YAML scalar may span lines). */
    for (char *c = cfg->error; *c; c++)
        if ((unsigned char)*c < ' ')
            *c = ' ';
    return -EINVAL;
}

/* json-c's last error, without its newline. */
static const char *json_error(void)
{
    static char text[256];
    size_t n;

    snprintf(text, sizeof(text), "%s", json_util_get_last_err() ? json_util_get_last_err() : "?");
    n = strlen(text);
    while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
        text[--n] = '\0';
    return text;
}

static json_object *get(json_object *o, const char *key)
{
    json_object *v = NULL;

    if (!o || !json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return NULL;
    return v;
}

/* A member of the expected type, or NULL when absent; a wrong type is an
 * error (-EINVAL, cfg->error set). */
static int member(struct oci_config *cfg, json_object *o, const char *where, const char *key,
                  json_type type, json_object **out)
{
    json_object *v = get(o, key);

    *out = NULL;
    if (!v)
        return 0;
    if (!json_object_is_type(v, type) &&
        !(type == json_type_double && json_object_is_type(v, json_type_int)))
        return refuse(cfg, "%s%s: must be %s", where, key, json_type_to_name(type));
    *out = v;
    return 0;
}

static int string_of(struct oci_config *cfg, json_object *o, const char *where, const char *key,
                     const char **out)
{
    json_object *v;
    int err = member(cfg, o, where, key, json_type_string, &v);

    if (err == 0 && v)
        *out = json_object_get_string(v);
    return err;
}

static int int_of(struct oci_config *cfg, json_object *o, const char *where, const char *key,
                  long long min, long long max, long long *out)
{
    json_object *v;
    int err = member(cfg, o, where, key, json_type_int, &v);

    if (err < 0 || !v)
        return err;
    errno = 0;
    *out = json_object_get_int64(v);
    if (errno || *out < min || *out > max)
        return refuse(cfg, "%s%s: %s is out of range", where, key, json_object_get_string(v));
    return 1;
}

static int bool_of(struct oci_config *cfg, json_object *o, const char *where, const char *key,
                   bool *out)
{
    json_object *v;
    int err = member(cfg, o, where, key, json_type_boolean, &v);

    if (err == 0 && v)
        *out = json_object_get_boolean(v);
    return err;
}

/* An array of strings, into a NULL-terminated vector (malloc'd). */
static int strings_of(struct oci_config *cfg, json_object *o, const char *where, const char *key,
                      char ***out, int *count)
{
    json_object *v;
    int err = member(cfg, o, where, key, json_type_array, &v);
    size_t n;

    *out = NULL;
    if (count)
        *count = 0;
    if (err < 0 || !v)
        return err;
    n = json_object_array_length(v);
    if (!(*out = calloc(n + 1, sizeof(char *))))
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_object *s = json_object_array_get_idx(v, i);

        if (!json_object_is_type(s, json_type_string)) {
            free(*out);
            *out = NULL;
            return refuse(cfg, "%s%s[%zu]: must be a string", where, key, i);
        }
        (*out)[i] = (char *)json_object_get_string(s);
    }
    if (count)
        *count = (int)n;
    return 0;
}

/* Fields of the spec the lab does not implement: present and not empty,
 * the container is refused. */
static int refuse_unsupported(struct oci_config *cfg, json_object *o, const char *where,
                              const char *const keys[])
{
    for (int i = 0; keys[i]; i++) {
        json_object *v = get(o, keys[i]);

        if (!v)
            continue;
        if ((json_object_is_type(v, json_type_array) && json_object_array_length(v) == 0) ||
            (json_object_is_type(v, json_type_object) && json_object_object_length(v) == 0) ||
            (json_object_is_type(v, json_type_string) && !json_object_get_string_len(v)))
            continue;
        return refuse(cfg, "%s%s: not supported", where, keys[i]);
    }
    return 0;
}

/* ---- process ------------------------------------------------------------ */

static const struct {
    const char *name;
    int resource;
} rlimit_names[] = {
    { "RLIMIT_AS", RLIMIT_AS },         { "RLIMIT_CORE", RLIMIT_CORE },
    { "RLIMIT_CPU", RLIMIT_CPU },       { "RLIMIT_DATA", RLIMIT_DATA },
    { "RLIMIT_FSIZE", RLIMIT_FSIZE },   { "RLIMIT_LOCKS", RLIMIT_LOCKS },
    { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK }, { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
    { "RLIMIT_NICE", RLIMIT_NICE },     { "RLIMIT_NOFILE", RLIMIT_NOFILE },
    { "RLIMIT_NPROC", RLIMIT_NPROC },   { "RLIMIT_RSS", RLIMIT_RSS },
    { "RLIMIT_RTPRIO", RLIMIT_RTPRIO }, { "RLIMIT_RTTIME", RLIMIT_RTTIME },
    { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING }, { "RLIMIT_STACK", RLIMIT_STACK },
};

static int read_rlimits(struct oci_config *cfg, json_object *p, struct oci_process *out)
{
    json_object *list;
    int err = member(cfg, p, "process.", "rlimits", json_type_array, &list);

    if (err < 0 || !list)
        return err;
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *r = json_object_array_get_idx(list, i);
        const char *type = "";
        long long soft = 0, hard = 0;
        size_t k;

        if ((err = string_of(cfg, r, "process.rlimits[].", "type", &type)) < 0 ||
            (err = int_of(cfg, r, "process.rlimits[].", "soft", 0, LLONG_MAX, &soft)) < 0 ||
            (err = int_of(cfg, r, "process.rlimits[].", "hard", 0, LLONG_MAX, &hard)) < 0)
            return err;
        for (k = 0; k < sizeof(rlimit_names) / sizeof(rlimit_names[0]); k++)
            if (strcmp(type, rlimit_names[k].name) == 0)
                break;
        if (k == sizeof(rlimit_names) / sizeof(rlimit_names[0]))
            return refuse(cfg, "process.rlimits: unknown type \"%s\"", type);
        if (out->nrlimits == OCI_MAX_RLIMITS)
            return refuse(cfg, "process.rlimits: more than %d", OCI_MAX_RLIMITS);
        out->rlimits[out->nrlimits].resource = rlimit_names[k].resource;
        out->rlimits[out->nrlimits].limit = (struct rlimit){ (rlim_t)soft, (rlim_t)hard };
        out->nrlimits++;
    }
    return 0;
}

static int read_caps(struct oci_config *cfg, json_object *p, struct oci_process *out)
{
    static const char *const sets[OCI_CAP_SETS] = { "bounding", "effective", "permitted",
                                                    "inheritable", "ambient" };
    json_object *caps;
    int err = member(cfg, p, "process.", "capabilities", json_type_object, &caps);

    if (err < 0 || !caps)
        return err;
    for (int s = 0; s < OCI_CAP_SETS; s++) {
        char **names;
        int n;

        if ((err = strings_of(cfg, caps, "process.capabilities.", sets[s], &names, &n)) < 0)
            return err;
        for (int i = 0; i < n; i++) {
            int cap = caps_parse(names[i]);

            /* Unknown names: runc warns and skips them (a newer spec's). */
            if (cap >= 0)
                out->caps[s] |= 1ULL << cap;
        }
        free(names);
    }
    return 0;
}

static int read_user(struct oci_config *cfg, json_object *p, struct oci_process *out)
{
    json_object *user, *gids;
    long long v;
    int err;

    if ((err = member(cfg, p, "process.", "user", json_type_object, &user)) < 0 || !user)
        return err;
    if ((err = int_of(cfg, user, "process.user.", "uid", 0, UINT32_MAX - 1, &v)) < 0)
        return err;
    out->uid = err ? (uid_t)v : 0;
    if ((err = int_of(cfg, user, "process.user.", "gid", 0, UINT32_MAX - 1, &v)) < 0)
        return err;
    out->gid = err ? (gid_t)v : 0;
    if ((err = int_of(cfg, user, "process.user.", "umask", 0, 0777, &v)) < 0)
        return err;
    out->umask = err ? (int)v : -1;
    if (get(user, "username"))
        return refuse(cfg, "process.user.username: not supported (Windows only)");
    if ((err = member(cfg, user, "process.user.", "additionalGids", json_type_array, &gids)) < 0)
        return err;
    for (size_t i = 0; gids && i < json_object_array_length(gids); i++) {
        json_object *g = json_object_array_get_idx(gids, i);

        if (!json_object_is_type(g, json_type_int) || json_object_get_int64(g) < 0 ||
            json_object_get_int64(g) >= UINT32_MAX)
            return refuse(cfg, "process.user.additionalGids[%zu]: not a gid", i);
        if (out->ngroups == OCI_MAX_GROUPS)
            return refuse(cfg, "process.user.additionalGids: more than %d", OCI_MAX_GROUPS);
        out->groups[out->ngroups++] = (gid_t)json_object_get_int64(g);
    }
    return 0;
}

int oci_read_process_json(struct oci_config *cfg, void *json, struct oci_process *out)
{
    static const char *const unsupported[] = { "apparmorProfile", "selinuxLabel", "ioPriority",
                                               "scheduler", "execCPUAffinity", NULL };
    json_object *p = json;
    long long v;
    int err, n;

    memset(out, 0, sizeof(*out));
    out->umask = -1;
    if ((err = strings_of(cfg, p, "process.", "args", &out->args, &n)) < 0)
        return err;
    if (n == 0)
        return refuse(cfg, "process.args: must name the program");
    if ((err = strings_of(cfg, p, "process.", "env", &out->env, NULL)) < 0)
        return err;
    if (!out->env && !(out->env = calloc(1, sizeof(char *))))
        return -ENOMEM;
    out->cwd = "/";
    if ((err = string_of(cfg, p, "process.", "cwd", &out->cwd)) < 0)
        return err;
    if (out->cwd[0] != '/')
        return refuse(cfg, "process.cwd: \"%s\" is not an absolute path", out->cwd);
    if ((err = bool_of(cfg, p, "process.", "terminal", &out->terminal)) < 0 ||
        (err = bool_of(cfg, p, "process.", "noNewPrivileges", &out->no_new_privs)) < 0 ||
        (err = read_user(cfg, p, out)) < 0 || (err = read_caps(cfg, p, out)) < 0 ||
        (err = read_rlimits(cfg, p, out)) < 0)
        return err;
    if ((err = int_of(cfg, p, "process.", "oomScoreAdj", -1000, 1000, &v)) < 0)
        return err;
    out->has_oom_score_adj = err > 0;
    out->oom_score_adj = (int)v;
    return refuse_unsupported(cfg, p, "process.", unsupported);
}

int oci_read_process(struct oci_config *cfg, const char *file, struct oci_process *out)
{
    json_object *json;

    memset(cfg, 0, sizeof(*cfg));
    json = json_object_from_file(file);

    if (!json)
        return refuse(cfg, "%s: %s", file, json_error());
    if (!json_object_is_type(json, json_type_object))
        return refuse(cfg, "%s: not a JSON object", file);
    cfg->json = json;
    return oci_read_process_json(cfg, json, out);
}

/* ---- mounts ------------------------------------------------------------- */

static const struct {
    const char *name;
    unsigned long set, clear;
} mount_flags[] = {
    { "ro", MS_RDONLY, 0 },         { "rw", 0, MS_RDONLY },
    { "nosuid", MS_NOSUID, 0 },     { "suid", 0, MS_NOSUID },
    { "nodev", MS_NODEV, 0 },       { "dev", 0, MS_NODEV },
    { "noexec", MS_NOEXEC, 0 },     { "exec", 0, MS_NOEXEC },
    { "sync", MS_SYNCHRONOUS, 0 },  { "async", 0, MS_SYNCHRONOUS },
    { "dirsync", MS_DIRSYNC, 0 },   { "remount", MS_REMOUNT, 0 },
    { "mand", MS_MANDLOCK, 0 },     { "nomand", 0, MS_MANDLOCK },
    { "atime", 0, MS_NOATIME },     { "noatime", MS_NOATIME, 0 },
    { "diratime", 0, MS_NODIRATIME }, { "nodiratime", MS_NODIRATIME, 0 },
    { "relatime", MS_RELATIME, 0 }, { "norelatime", 0, MS_RELATIME },
    { "strictatime", MS_STRICTATIME, 0 }, { "nostrictatime", 0, MS_STRICTATIME },
    { "bind", MS_BIND, 0 },         { "rbind", MS_BIND | MS_REC, 0 },
};

static const struct {
    const char *name;
    unsigned long flags;
} propagation_flags[] = {
    { "private", MS_PRIVATE },      { "rprivate", MS_PRIVATE | MS_REC },
    { "shared", MS_SHARED },        { "rshared", MS_SHARED | MS_REC },
    { "slave", MS_SLAVE },          { "rslave", MS_SLAVE | MS_REC },
    { "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
};

static bool mount_option(struct oci_mount *m, const char *opt)
{
    for (size_t i = 0; i < sizeof(mount_flags) / sizeof(mount_flags[0]); i++)
        if (strcmp(opt, mount_flags[i].name) == 0) {
            m->flags = (m->flags | mount_flags[i].set) & ~mount_flags[i].clear;
            return true;
        }
    for (size_t i = 0; i < sizeof(propagation_flags) / sizeof(propagation_flags[0]); i++)
        if (strcmp(opt, propagation_flags[i].name) == 0) {
            m->propagation = propagation_flags[i].flags;
            return true;
        }
    return false;
}

static int mount_options(struct oci_config *cfg, struct oci_mount *m, char **options, int n);

static int read_mount(struct oci_config *cfg, json_object *j, struct oci_mount *m)
{
    char **options;
    int err, n;

    memset(m, 0, sizeof(*m));
    m->type = "";
    m->source = "";
    if ((err = string_of(cfg, j, "mounts[].", "destination", &m->destination)) < 0 ||
        (err = string_of(cfg, j, "mounts[].", "type", &m->type)) < 0 ||
        (err = string_of(cfg, j, "mounts[].", "source", &m->source)) < 0 ||
        (err = strings_of(cfg, j, "mounts[].", "options", &options, &n)) < 0)
        return err;
    if (!m->destination || m->destination[0] != '/')
        err = refuse(cfg, "mounts[]: destination must be an absolute path");
    else if (get(j, "uidMappings") || get(j, "gidMappings"))
        err = refuse(cfg, "mounts[%s].uidMappings: not supported", m->destination);
    else
        err = mount_options(cfg, m, options, n);
    free(options);
    if (err < 0)
        return err;
    m->bind = (m->flags & MS_BIND) || strcmp(m->type, "bind") == 0;
    if (m->bind)
        m->flags |= MS_BIND;
    if (!m->bind && !m->type[0])
        return refuse(cfg, "mounts[%s]: no type and not a bind mount", m->destination);
    return 0;
}

/* The options: flags, propagation, and the rest as the file system's data. */
static int mount_options(struct oci_config *cfg, struct oci_mount *m, char **options, int n)
{
    for (int i = 0; i < n; i++) {
        size_t used = strlen(m->data);

        if (mount_option(m, options[i]))
            continue;
        if (strcmp(options[i], "idmap") == 0 || strcmp(options[i], "ridmap") == 0 ||
            strcmp(options[i], "tmpcopyup") == 0)
            return refuse(cfg, "mounts[%s]: option %s: not supported", m->destination,
                          options[i]);
        /* Anything else is the file system's own: mode=755, size=64m... */
        if (used + strlen(options[i]) + 2 > sizeof(m->data))
            return refuse(cfg, "mounts[%s]: options too long", m->destination);
        snprintf(m->data + used, sizeof(m->data) - used, "%s%s", used ? "," : "", options[i]);
    }
    return 0;
}

static int read_mounts(struct oci_config *cfg, json_object *root)
{
    json_object *list;
    int err = member(cfg, root, "", "mounts", json_type_array, &list);

    if (err < 0 || !list)
        return err;
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        if (cfg->nmounts == OCI_MAX_MOUNTS)
            return refuse(cfg, "mounts: more than %d", OCI_MAX_MOUNTS);
        if ((err = read_mount(cfg, json_object_array_get_idx(list, i),
                              &cfg->mounts[cfg->nmounts])) < 0)
            return err;
        cfg->nmounts++;
    }
    return 0;
}

/* ---- linux --------------------------------------------------------------- */

static const struct {
    const char *name;
    int flag;
} ns_types[] = {
    { "pid", CLONE_NEWPID },     { "network", CLONE_NEWNET }, { "mount", CLONE_NEWNS },
    { "ipc", CLONE_NEWIPC },     { "uts", CLONE_NEWUTS },     { "user", CLONE_NEWUSER },
    { "cgroup", CLONE_NEWCGROUP }, { "time", CLONE_NEWTIME },
};

static int read_namespaces(struct oci_config *cfg, json_object *lnx)
{
    json_object *list;
    int err = member(cfg, lnx, "linux.", "namespaces", json_type_array, &list);

    if (err < 0)
        return err;
    for (size_t i = 0; list && i < json_object_array_length(list); i++) {
        json_object *ns = json_object_array_get_idx(list, i);
        const char *type = "", *path = NULL;
        size_t k;

        if ((err = string_of(cfg, ns, "linux.namespaces[].", "type", &type)) < 0 ||
            (err = string_of(cfg, ns, "linux.namespaces[].", "path", &path)) < 0)
            return err;
        for (k = 0; k < sizeof(ns_types) / sizeof(ns_types[0]); k++)
            if (strcmp(type, ns_types[k].name) == 0)
                break;
        if (k == sizeof(ns_types) / sizeof(ns_types[0]))
            return refuse(cfg, "linux.namespaces: unknown type \"%s\"", type);
        if ((cfg->ns_new | cfg->ns_joined) & ns_types[k].flag)
            return refuse(cfg, "linux.namespaces: \"%s\" twice", type);
        if (!path || !path[0]) {
            cfg->ns_new |= ns_types[k].flag;
            continue;
        }
        if (path[0] != '/')
            return refuse(cfg, "linux.namespaces[%s].path: not an absolute path", type);
        cfg->ns_joined |= ns_types[k].flag;
        cfg->join[cfg->njoin].flag = ns_types[k].flag;
        cfg->join[cfg->njoin].path = path;
        cfg->njoin++;
    }
    if ((cfg->ns_new | cfg->ns_joined) & CLONE_NEWTIME && !(cfg->ns_new & CLONE_NEWTIME))
        return refuse(cfg, "linux.namespaces[time].path: not supported");
    if (!((cfg->ns_new | cfg->ns_joined) & CLONE_NEWNS))
        return refuse(cfg, "linux.namespaces: no mount namespace: the runtime would mount on "
                           "the host");
    return 0;
}

static int read_idmaps(struct oci_config *cfg, json_object *lnx, const char *key,
                       struct lab_idmap *maps, int *n)
{
    json_object *list;
    int err = member(cfg, lnx, "linux.", key, json_type_array, &list);

    if (err < 0 || !list)
        return err;
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *m = json_object_array_get_idx(list, i);
        long long in = 0, out = 0, size = 0;

        if (*n == LAB_MAX_IDMAPS)
            return refuse(cfg, "linux.%s: more than %d", key, LAB_MAX_IDMAPS);
        if ((err = int_of(cfg, m, "linux.idmap.", "containerID", 0, UINT32_MAX, &in)) < 0 ||
            (err = int_of(cfg, m, "linux.idmap.", "hostID", 0, UINT32_MAX, &out)) < 0 ||
            (err = int_of(cfg, m, "linux.idmap.", "size", 1, UINT32_MAX, &size)) < 0)
            return err;
        maps[(*n)++] = (struct lab_idmap){ (unsigned)in, (unsigned)out, (unsigned)size };
    }
    return 0;
}

static int read_paths(struct oci_config *cfg, json_object *lnx, const char *key, char ***out,
                      int *n)
{
    int err = strings_of(cfg, lnx, "linux.", key, out, n);

    for (int i = 0; err == 0 && i < *n; i++)
        if ((*out)[i][0] != '/')
            return refuse(cfg, "linux.%s: \"%s\" is not an absolute path", key, (*out)[i]);
    return err;
}

static int read_sysctl(struct oci_config *cfg, json_object *lnx)
{
    json_object *map;
    int err = member(cfg, lnx, "linux.", "sysctl", json_type_object, &map);

    if (err < 0 || !map)
        return err;
    json_object_object_foreach(map, key, value)
    {
        if (!json_object_is_type(value, json_type_string))
            return refuse(cfg, "linux.sysctl.%s: must be a string", key);
        if (cfg->nsysctl == OCI_MAX_SYSCTL)
            return refuse(cfg, "linux.sysctl: more than %d", OCI_MAX_SYSCTL);
        cfg->sysctl[cfg->nsysctl].key = key;
        cfg->sysctl[cfg->nsysctl].value = json_object_get_string(value);
        cfg->nsysctl++;
    }
    return 0;
}

static int read_devices(struct oci_config *cfg, json_object *lnx)
{
    json_object *list;
    int err = member(cfg, lnx, "linux.", "devices", json_type_array, &list);

    if (err < 0 || !list)
        return err;
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *j = json_object_array_get_idx(list, i);
        struct oci_device *d = &cfg->devices[cfg->ndevices];
        const char *type = "";
        long long v;

        if (cfg->ndevices == OCI_MAX_DEVICES)
            return refuse(cfg, "linux.devices: more than %d", OCI_MAX_DEVICES);
        memset(d, 0, sizeof(*d));
        d->mode = 0666;
        if ((err = string_of(cfg, j, "linux.devices[].", "path", &d->path)) < 0 ||
            (err = string_of(cfg, j, "linux.devices[].", "type", &type)) < 0)
            return err;
        if (!d->path || d->path[0] != '/')
            return refuse(cfg, "linux.devices[]: path must be absolute");
        if (strcmp(type, "c") && strcmp(type, "u") && strcmp(type, "b") && strcmp(type, "p"))
            return refuse(cfg, "linux.devices[%s]: type \"%s\" is not c, u, b or p", d->path,
                          type);
        d->type = type[0] == 'u' ? 'c' : type[0];
        if ((err = int_of(cfg, j, "linux.devices[].", "major", 0, 4095, &v)) < 0)
            return err;
        d->major = (unsigned)v;
        if ((err = int_of(cfg, j, "linux.devices[].", "minor", 0, 1048575, &v)) < 0)
            return err;
        d->minor = (unsigned)v;
        if ((err = int_of(cfg, j, "linux.devices[].", "fileMode", 0, 07777, &v)) < 0)
            return err;
        if (err > 0)
            d->mode = (mode_t)v;
        if ((err = int_of(cfg, j, "linux.devices[].", "uid", 0, UINT32_MAX - 1, &v)) < 0)
            return err;
        d->uid = err > 0 ? (uid_t)v : 0;
        if ((err = int_of(cfg, j, "linux.devices[].", "gid", 0, UINT32_MAX - 1, &v)) < 0)
            return err;
        d->gid = err > 0 ? (gid_t)v : 0;
        cfg->ndevices++;
    }
    return 0;
}

static int read_resources(struct oci_config *cfg, json_object *lnx)
{
    static const char *const unsupported[] = { "hugepageLimits", "blockIO", "network", "rdma",
                                               "unified", NULL };
    json_object *r, *memory, *cpu, *pids;
    long long v;
    int err;

    cfg->pids_limit = 0;
    cfg->cpu_period_us = LAB_CPU_PERIOD_DEFAULT;
    if ((err = member(cfg, lnx, "linux.", "resources", json_type_object, &r)) < 0 || !r)
        return err;
    if ((err = refuse_unsupported(cfg, r, "linux.resources.", unsupported)) < 0 ||
        (err = member(cfg, r, "linux.resources.", "memory", json_type_object, &memory)) < 0 ||
        (err = member(cfg, r, "linux.resources.", "cpu", json_type_object, &cpu)) < 0 ||
        (err = member(cfg, r, "linux.resources.", "pids", json_type_object, &pids)) < 0)
        return err;
    /* "devices" (the device cgroup's rules) is read by the step: see there. */
    cfg->has_device_rules = get(r, "devices") != NULL;
    if ((err = int_of(cfg, memory, "linux.resources.memory.", "limit", -1, LLONG_MAX, &v)) < 0)
        return err;
    cfg->memory_bytes = err > 0 && v > 0 ? v : 0;
    if ((err = int_of(cfg, memory, "linux.resources.memory.", "swap", -1, LLONG_MAX, &v)) < 0)
        return err;
    /* The spec's swap is memory + swap, as docker's --memory-swap. */
    cfg->memory_swap_bytes = err > 0 ? (v < 0 ? LAB_UNLIMITED : v) : 0;
    if ((err = int_of(cfg, cpu, "linux.resources.cpu.", "quota", -1, LLONG_MAX, &v)) < 0)
        return err;
    cfg->cpu_quota_us = err > 0 && v > 0 ? (long)v : 0;
    cfg->cpu_period_us = LAB_CPU_PERIOD_DEFAULT;
    if ((err = int_of(cfg, cpu, "linux.resources.cpu.", "period", 1000, 1000000, &v)) < 0)
        return err;
    if (err > 0)
        cfg->cpu_period_us = (long)v;
    static const char *const cpu_unsupported[] = { "shares", "cpus", "mems", "realtimeRuntime",
                                                   "realtimePeriod", "idle", "burst", NULL };
    for (int i = 0; cpu && cpu_unsupported[i]; i++) {
        json_object *x = get(cpu, cpu_unsupported[i]);

        /* podman and containerd write shares 1024 or 0, the kernel's default */
        if (x && !(i == 0 && (json_object_get_int64(x) == 1024 || json_object_get_int64(x) == 0)))
            return refuse(cfg, "linux.resources.cpu.%s: not supported", cpu_unsupported[i]);
    }
    static const char *const memory_unsupported[] = { "reservation", "kernel", "kernelTCP",
                                                      "swappiness", "useHierarchy",
                                                      "checkBeforeUpdate", NULL };
    if ((err = refuse_unsupported(cfg, memory, "linux.resources.memory.", memory_unsupported)) <
        0)
        return err;
    if ((err = int_of(cfg, pids, "linux.resources.pids.", "limit", LLONG_MIN, LLONG_MAX, &v)) < 0)
        return err;
    cfg->pids_limit = err > 0 ? (v <= 0 ? LAB_UNLIMITED : (long)v) : 0;
    return 0;
}

static int read_linux(struct oci_config *cfg, json_object *root)
{
    static const char *const unsupported[] = { "intelRdt", "personality", "mountLabel",
                                               "timeOffsets", "memoryPolicy", "netDevices", NULL };
    json_object *lnx, *seccomp;
    const char *propagation = "";
    int err;

    if ((err = member(cfg, root, "", "linux", json_type_object, &lnx)) < 0)
        return err;
    if (!lnx)
        return refuse(cfg, "linux: missing: the lab runs Linux containers");
    if ((err = refuse_unsupported(cfg, lnx, "linux.", unsupported)) < 0 ||
        (err = read_namespaces(cfg, lnx)) < 0 ||
        (err = read_idmaps(cfg, lnx, "uidMappings", cfg->uidmap, &cfg->nuidmap)) < 0 ||
        (err = read_idmaps(cfg, lnx, "gidMappings", cfg->gidmap, &cfg->ngidmap)) < 0 ||
        (err = read_paths(cfg, lnx, "maskedPaths", &cfg->masked, &cfg->nmasked)) < 0 ||
        (err = read_paths(cfg, lnx, "readonlyPaths", &cfg->readonly, &cfg->nreadonly)) < 0 ||
        (err = read_sysctl(cfg, lnx)) < 0 || (err = read_devices(cfg, lnx)) < 0 ||
        (err = read_resources(cfg, lnx)) < 0 ||
        (err = string_of(cfg, lnx, "linux.", "cgroupsPath", &cfg->cgroups_path)) < 0 ||
        (err = string_of(cfg, lnx, "linux.", "rootfsPropagation", &propagation)) < 0 ||
        (err = member(cfg, lnx, "linux.", "seccomp", json_type_object, &seccomp)) < 0)
        return err;
    if (cfg->ns_new & CLONE_NEWUSER && (!cfg->nuidmap || !cfg->ngidmap))
        return refuse(cfg, "linux.uidMappings: a new user namespace needs uid and gid maps");
    if (propagation[0] && strcmp(propagation, "private") && strcmp(propagation, "rprivate"))
        return refuse(cfg, "linux.rootfsPropagation: \"%s\" not supported (only private)",
                      propagation);
    cfg->seccomp = seccomp;
    return 0;
}

/* ---- hooks ----------------------------------------------------------------- */

const char *const oci_hook_names[OCI_HOOK_KINDS] = { "prestart",       "createRuntime",
                                                     "createContainer", "startContainer",
                                                     "poststart",      "poststop" };

static int read_hook(struct oci_config *cfg, json_object *j, const char *where,
                     struct oci_hook *h)
{
    long long timeout = 0;
    int err;

    memset(h, 0, sizeof(*h));
    if ((err = string_of(cfg, j, where, "path", &h->path)) < 0 ||
        (err = strings_of(cfg, j, where, "args", &h->args, NULL)) < 0 ||
        (err = strings_of(cfg, j, where, "env", &h->env, NULL)) < 0 ||
        (err = int_of(cfg, j, where, "timeout", 1, 3600, &timeout)) < 0)
        return err;
    if (!h->path || h->path[0] != '/')
        return refuse(cfg, "%spath: must be an absolute path", where);
    h->timeout = (int)timeout;
    return 0;
}

static int read_hooks(struct oci_config *cfg, json_object *hooks)
{
    for (int k = 0; hooks && k < OCI_HOOK_KINDS; k++) {
        json_object *list;
        char where[64];
        int err;

        snprintf(where, sizeof(where), "hooks.%s[].", oci_hook_names[k]);
        if ((err = member(cfg, hooks, "hooks.", oci_hook_names[k], json_type_array, &list)) < 0)
            return err;
        for (size_t i = 0; list && i < json_object_array_length(list); i++) {
            if (cfg->nhooks[k] == OCI_MAX_HOOKS)
                return refuse(cfg, "hooks.%s: more than %d", oci_hook_names[k], OCI_MAX_HOOKS);
            if ((err = read_hook(cfg, json_object_array_get_idx(list, i), where,
                                 &cfg->hooks[k][cfg->nhooks[k]])) < 0)
                return err;
            cfg->nhooks[k]++;
        }
    }
    return 0;
}

int oci_read_hooks_text(struct oci_config *cfg, const char *text)
{
    memset(cfg, 0, sizeof(*cfg));
    if (!text[0])
        return 0;
    if (!(cfg->json = json_tokener_parse(text)))
        return refuse(cfg, "hooks: not JSON");
    return read_hooks(cfg, cfg->json);
}

/* ---- the whole file -------------------------------------------------------- */

static int read_root(struct oci_config *cfg, json_object *json)
{
    json_object *root;
    const char *path = NULL;
    int err;

    if ((err = member(cfg, json, "", "root", json_type_object, &root)) < 0 ||
        (err = string_of(cfg, root, "root.", "path", &path)) < 0 ||
        (err = bool_of(cfg, root, "root.", "readonly", &cfg->readonly_root)) < 0)
        return err;
    if (!path || !path[0])
        return refuse(cfg, "root.path: missing");
    if (path[0] == '/')
        err = path_printf(cfg->rootfs, sizeof(cfg->rootfs), "%s", path);
    else
        err = path_join(cfg->rootfs, sizeof(cfg->rootfs), cfg->bundle, path);
    if (err < 0)
        return refuse(cfg, "root.path: too long");
    if (!realpath(cfg->rootfs, cfg->rootfs_real))
        return refuse(cfg, "root.path: %s: %s", cfg->rootfs, strerror(errno));
    return 0;
}

static int read_version(struct oci_config *cfg, json_object *json)
{
    const char *v = NULL;
    int err = string_of(cfg, json, "", "ociVersion", &v);

    if (err < 0)
        return err;
    if (!v)
        return refuse(cfg, "ociVersion: missing");
    /* The spec's major version: 1 is the only one there is. */
    if (strncmp(v, "1.", 2) != 0)
        return refuse(cfg, "ociVersion: %s: the lab knows 1.x", v);
    snprintf(cfg->oci_version, sizeof(cfg->oci_version), "%s", v);
    return 0;
}

int oci_read(struct oci_config *cfg, const char *bundle)
{
    static const char *const unsupported[] = { "solaris", "windows", "vm", "zos", NULL };
    char file[PATH_MAX];
    json_object *json, *process, *annotations, *hooks;
    int err;

    memset(cfg, 0, sizeof(*cfg));
    if (!realpath(bundle, cfg->bundle))
        return refuse(cfg, "the bundle %s: %s", bundle, strerror(errno));
    if (path_join(file, sizeof(file), cfg->bundle, "config.json") < 0)
        return refuse(cfg, "the bundle %s: path too long", bundle);
    if (!(json = json_object_from_file(file)))
        return refuse(cfg, "%s", json_error());
    cfg->json = json;
    if (!json_object_is_type(json, json_type_object))
        return refuse(cfg, "not a JSON object");
    if ((err = read_version(cfg, json)) < 0 || (err = read_root(cfg, json)) < 0 ||
        (err = refuse_unsupported(cfg, json, "", unsupported)) < 0 ||
        (err = string_of(cfg, json, "", "hostname", &cfg->hostname)) < 0 ||
        (err = string_of(cfg, json, "", "domainname", &cfg->domainname)) < 0 ||
        (err = read_mounts(cfg, json)) < 0 || (err = read_linux(cfg, json)) < 0 ||
        (err = member(cfg, json, "", "process", json_type_object, &process)) < 0 ||
        (err = member(cfg, json, "", "annotations", json_type_object, &annotations)) < 0 ||
        (err = member(cfg, json, "", "hooks", json_type_object, &hooks)) < 0 ||
        (err = read_hooks(cfg, hooks)) < 0)
        return err;
    cfg->hooks_json = hooks ? json_object_to_json_string_ext(hooks, JSON_C_TO_STRING_PLAIN) : "";
    if (process && (err = oci_read_process_json(cfg, process, &cfg->process)) < 0)
        return err;
    cfg->has_process = process != NULL;
    cfg->annotations = annotations ? json_object_to_json_string_ext(annotations,
                                                                    JSON_C_TO_STRING_PLAIN)
                                   : "";
    if (cfg->hostname && !(cfg->ns_new & CLONE_NEWUTS))
        return refuse(cfg, "hostname: needs a new uts namespace");
    return 0;
}

/* ---- what the child does with it: mounts, devices, paths ---------------- */

/* Where a destination is, beneath the rootfs (made if missing: a directory,
 * or an empty file for a bind mount of a file): an O_PATH descriptor, so
 * that a symbolic link in the image cannot lead the mount out of it. */
static int mount_point(int root_fd, const char *dest, bool file)
{
    return path_open_beneath(root_fd, dest, !file);
}

static int fd_path(char *buf, size_t len, int fd)
{
    return path_printf(buf, len, "/proc/self/fd/%d", fd);
}

int oci_mount(const struct oci_mount *m, int root_fd, const char *bundle, char *what,
              size_t whatlen)
{
    char source[PATH_MAX], target[64];
    struct stat st;
    bool file = false;
    int fd, err = 0;

    snprintf(what, whatlen, "mount %s on %s", m->bind ? m->source : m->type, m->destination);
    if (m->bind) {
        if (m->source[0] == '/')
            err = path_printf(source, sizeof(source), "%s", m->source);
        else
            err = path_join(source, sizeof(source), bundle, m->source);
        if (err < 0)
            return -ENAMETOOLONG;
        if (stat(source, &st) < 0)
            return -errno;
        file = !S_ISDIR(st.st_mode);
    } else {
        snprintf(source, sizeof(source), "%s", m->source[0] ? m->source : m->type);
    }
    if ((fd = mount_point(root_fd, m->destination, file)) < 0)
        return fd;
    fd_path(target, sizeof(target), fd);
    if (mount(source, target, m->bind ? NULL : m->type, m->flags & ~MS_REMOUNT,
              m->data[0] ? m->data : NULL) < 0) {
        err = -errno;
        close(fd);
        return err;
    }
    /* The descriptor names what was there before: open the new mount. */
    close(fd);
    if ((fd = mount_point(root_fd, m->destination, file)) < 0)
        return fd;
    fd_path(target, sizeof(target), fd);
    /* A bind mount takes its flags (ro, nosuid...) only when remounted. */
    if (m->bind && (m->flags & ~(MS_BIND | MS_REC | MS_REMOUNT)) &&
        mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | (m->flags & ~MS_REC), NULL) < 0)
        err = -errno;
    else if (m->propagation && mount(NULL, target, NULL, m->propagation, NULL) < 0)
        err = -errno;
    close(fd);
    return err;
}

/* The devices every container has (config-linux.md, "Default Devices"),
 * bound from the host's (a user namespace may not mknod), and the links. */
int oci_default_devices(int root_fd, char *what, size_t whatlen)
{
    static const char *const devices[] = { "null", "zero", "full", "random", "urandom", "tty" };
    static const char *const links[][2] = { { "/proc/self/fd", "dev/fd" },
                                            { "/proc/self/fd/0", "dev/stdin" },
                                            { "/proc/self/fd/1", "dev/stdout" },
                                            { "/proc/self/fd/2", "dev/stderr" },
                                            { "pts/ptmx", "dev/ptmx" } };

    for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++) {
        struct oci_mount m = { .destination = "", .type = "bind", .flags = MS_BIND,
                               .bind = true };
        char src[32], dst[32];
        struct stat st;
        int err;

        snprintf(src, sizeof(src), "/dev/%s", devices[i]);
        snprintf(dst, sizeof(dst), "dev/%s", devices[i]);
        /* A device the config made itself (linux.devices) stays. */
        if (fstatat(root_fd, dst, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR(st.st_mode))
            continue;
        m.source = src;
        m.destination = src;
        if ((err = oci_mount(&m, root_fd, "/", what, whatlen)) < 0)
            return err;
    }
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        snprintf(what, whatlen, "symlink /%s -> %s", links[i][1], links[i][0]);
        (void)unlinkat(root_fd, links[i][1], 0);
        if (symlinkat(links[i][0], root_fd, links[i][1]) < 0)
            return -errno;
    }
    return 0;
}

int oci_make_device(const struct oci_device *d, int root_fd, char *what, size_t whatlen)
{
    mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
    char dir[PATH_MAX], *slash;

    snprintf(what, whatlen, "mknod %s", d->path);
    snprintf(dir, sizeof(dir), "%s", d->path + 1);
    if ((slash = strrchr(dir, '/'))) {
        int fd;

        *slash = '\0';
        if ((fd = path_open_beneath(root_fd, dir, true)) < 0)
            return fd;
        close(fd);
    }
    (void)unlinkat(root_fd, d->path + 1, 0);
    if (mknodat(root_fd, d->path + 1, type | (d->mode & 07777), makedev(d->major, d->minor)) < 0 ||
        fchownat(root_fd, d->path + 1, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0 ||
        fchmodat(root_fd, d->path + 1, d->mode & 07777, 0) < 0)
        return -errno;
    return 0;
}

int oci_mask_path(const char *path)
{
    struct stat st;

    if (stat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (S_ISDIR(st.st_mode))
        return mount("tmpfs", path, "tmpfs", MS_RDONLY, NULL) < 0 ? -errno : 0;
    return mount("/dev/null", path, NULL, MS_BIND, NULL) < 0 ? -errno : 0;
}

int oci_readonly_path(const char *path)
{
    unsigned long flags = 0;

    if (access(path, F_OK) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0 || path_mount_flags(path, &flags) < 0)
        return -errno;
    if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | flags, NULL) < 0)
        return -errno;
    return 0;
}

/* Which namespace a sysctl belongs to (runc: libcontainer/configs/validate
 * /validator.go, sysctl()): written outside it, it would change the host. */
int oci_sysctl_namespace(const char *key)
{
    static const char *const ipc[] = { "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",
                                       "kernel.sem", "kernel.shmall", "kernel.shmmax",
                                       "kernel.shmmni", "kernel.shm_rmid_forced", NULL };

    for (int i = 0; ipc[i]; i++)
        if (strcmp(key, ipc[i]) == 0)
            return CLONE_NEWIPC;
    if (strncmp(key, "fs.mqueue.", 10) == 0)
        return CLONE_NEWIPC;
    if (strncmp(key, "net.", 4) == 0)
        return CLONE_NEWNET;
    if (strcmp(key, "kernel.hostname") == 0 || strcmp(key, "kernel.domainname") == 0)
        return CLONE_NEWUTS;
    return 0;
}

int oci_write_sysctl(const char *key, const char *value)
{
    char path[PATH_MAX] = "/proc/sys/";
    size_t n = strlen(path);

    for (size_t i = 0; key[i] && n + 1 < sizeof(path); i++)
        path[n++] = key[i] == '.' ? '/' : key[i];
    path[n] = '\0';
    return file_write(path, value);
}

void oci_free(struct oci_config *cfg)
{
    for (int k = 0; k < OCI_HOOK_KINDS; k++)
        for (int i = 0; i < cfg->nhooks[k]; i++) {
            free(cfg->hooks[k][i].args);
            free(cfg->hooks[k][i].env);
        }
    free(cfg->process.args);
    free(cfg->process.env);
    free(cfg->masked);
    free(cfg->readonly);
    if (cfg->json)
        json_object_put(cfg->json);
    cfg->json = NULL;
}
