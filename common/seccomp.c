/*
 * seccomp.c - an OCI seccomp profile (config.json's linux.seccomp), compiled
 * into a filter with libseccomp (step 17).
 *
 * Step 14 writes its BPF program by hand, from Docker's default profile
 * as C data (profile.c): one architecture, a list of rules. The profiles
 * podman and containerd send are JSON, for several architectures, with
 * every comparison and action of libseccomp; turning those into classic
 * BPF (whose jumps reach 255 instructions at most) is a compiler's work.
 * runc (libcontainer/seccomp/patchbpf) and crun (src/libcrun/seccomp.c)
 * both use libseccomp for it, and so does the lab: the lesson of step 14
 * stays the program; this is its compiler.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lab.h"

static int fail(char *err, size_t len, const char *fmt, ...) LAB_PRINTF(3, 4);
static int fail(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* "SCMP_ACT_ERRNO" with its errnoRet, into libseccomp's action. */
static int action_of(const char *name, json_object *errno_ret, int default_errno, uint32_t *out)
{
    int e = errno_ret ? json_object_get_int(errno_ret) : default_errno;

    if (strcmp(name, "SCMP_ACT_ALLOW") == 0)
        *out = SCMP_ACT_ALLOW;
    else if (strcmp(name, "SCMP_ACT_ERRNO") == 0)
        *out = SCMP_ACT_ERRNO((uint16_t)e);
    else if (strcmp(name, "SCMP_ACT_KILL") == 0 || strcmp(name, "SCMP_ACT_KILL_THREAD") == 0)
        *out = SCMP_ACT_KILL_THREAD;
    else if (strcmp(name, "SCMP_ACT_KILL_PROCESS") == 0)
        *out = SCMP_ACT_KILL_PROCESS;
    else if (strcmp(name, "SCMP_ACT_TRAP") == 0)
        *out = SCMP_ACT_TRAP;
    else if (strcmp(name, "SCMP_ACT_TRACE") == 0)
        *out = SCMP_ACT_TRACE((uint16_t)e);
    else if (strcmp(name, "SCMP_ACT_LOG") == 0)
        *out = SCMP_ACT_LOG;
    else
        return -EINVAL; /* SCMP_ACT_NOTIFY needs a listener: not supported */
    return 0;
}

static int op_of(const char *name, enum scmp_compare *out)
{
    static const struct {
        const char *name;
        enum scmp_compare op;
    } ops[] = { { "SCMP_CMP_NE", SCMP_CMP_NE },           { "SCMP_CMP_LT", SCMP_CMP_LT },
                { "SCMP_CMP_LE", SCMP_CMP_LE },           { "SCMP_CMP_EQ", SCMP_CMP_EQ },
                { "SCMP_CMP_GE", SCMP_CMP_GE },           { "SCMP_CMP_GT", SCMP_CMP_GT },
                { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ } };

    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strcmp(name, ops[i].name) == 0) {
            *out = ops[i].op;
            return 0;
        }
    return -EINVAL;
}

/* "SCMP_ARCH_X86_64" -> libseccomp's token, by its own name ("x86_64"). */
static uint32_t arch_of(const char *name)
{
    char lower[32];
    size_t i;

    if (strncmp(name, "SCMP_ARCH_", 10) != 0)
        return 0;
    for (i = 0; name[10 + i] && i + 1 < sizeof(lower); i++)
        lower[i] = (char)tolower((unsigned char)name[10 + i]);
    lower[i] = '\0';
    if (strcmp(lower, "x86") == 0)
        return SCMP_ARCH_X86;
    return seccomp_arch_resolve_name(lower);
}

static int add_arches(scmp_filter_ctx ctx, json_object *profile, char *err, size_t len)
{
    json_object *arches = NULL;

    if (!json_object_object_get_ex(profile, "architectures", &arches) || !arches)
        return 0;
    for (size_t i = 0; i < json_object_array_length(arches); i++) {
        const char *name = json_object_get_string(json_object_array_get_idx(arches, i));
        uint32_t arch = arch_of(name ? name : "");
        int e;

        if (!arch)
            return fail(err, len, "linux.seccomp.architectures: unknown %s", name);
        if ((e = seccomp_arch_add(ctx, arch)) < 0 && e != -EEXIST)
            return fail(err, len, "linux.seccomp.architectures: %s: %s", name, strerror(-e));
    }
    return 0;
}

/* One rule's conditions. libseccomp takes one condition per argument in a
 * rule, so a rule naming an argument twice becomes one rule per condition,
 * as runc does (libcontainer/seccomp/seccomp_linux.go, matchCall). */
static int add_rule(scmp_filter_ctx ctx, uint32_t action, int nr, json_object *args,
                    char *err, size_t len, const char *name)
{
    struct scmp_arg_cmp cmp[6];
    unsigned n = args ? (unsigned)json_object_array_length(args) : 0, seen = 0;
    bool repeated = false;
    int e;

    if (n > 6)
        return fail(err, len, "linux.seccomp: %s: more than 6 argument conditions", name);
    for (unsigned i = 0; i < n; i++) {
        json_object *a = json_object_array_get_idx(args, i), *v;
        enum scmp_compare op;
        const char *opname = "";

        memset(&cmp[i], 0, sizeof(cmp[i]));
        if (json_object_object_get_ex(a, "index", &v))
            cmp[i].arg = (unsigned)json_object_get_int(v);
        if (json_object_object_get_ex(a, "value", &v))
            cmp[i].datum_a = (scmp_datum_t)json_object_get_uint64(v);
        if (json_object_object_get_ex(a, "valueTwo", &v))
            cmp[i].datum_b = (scmp_datum_t)json_object_get_uint64(v);
        if (json_object_object_get_ex(a, "op", &v))
            opname = json_object_get_string(v);
        if (cmp[i].arg > 5 || op_of(opname, &op) < 0)
            return fail(err, len, "linux.seccomp: %s: bad argument condition", name);
        cmp[i].op = op;
        repeated |= (seen & (1u << cmp[i].arg)) != 0;
        seen |= 1u << cmp[i].arg;
    }
    if (!repeated) {
        e = seccomp_rule_add_array(ctx, action, nr, n, cmp);
    } else {
        e = 0;
        for (unsigned i = 0; i < n && e >= 0; i++)
            e = seccomp_rule_add_array(ctx, action, nr, 1, &cmp[i]);
    }
    /* The default action asked again: libseccomp refuses it as redundant. */
    if (e == -EACCES || e == -EEXIST)
        e = 0;
    return e < 0 ? fail(err, len, "linux.seccomp: %s: %s", name, strerror(-e)) : 0;
}

static int add_syscalls(scmp_filter_ctx ctx, json_object *profile, int default_errno, char *err,
                        size_t len)
{
    json_object *list = NULL;

    if (!json_object_object_get_ex(profile, "syscalls", &list) || !list)
        return 0;
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *s = json_object_array_get_idx(list, i), *names, *action, *ret, *args;
        uint32_t act;

        if (!json_object_object_get_ex(s, "names", &names) ||
            !json_object_object_get_ex(s, "action", &action))
            return fail(err, len, "linux.seccomp.syscalls[%zu]: names and action needed", i);
        if (!json_object_object_get_ex(s, "errnoRet", &ret))
            ret = NULL;
        if (!json_object_object_get_ex(s, "args", &args))
            args = NULL;
        if (action_of(json_object_get_string(action), ret, default_errno, &act) < 0)
            return fail(err, len, "linux.seccomp.syscalls[%zu]: action %s: not supported", i,
                        json_object_get_string(action));
        for (size_t k = 0; k < json_object_array_length(names); k++) {
            const char *name = json_object_get_string(json_object_array_get_idx(names, k));
            int nr = seccomp_syscall_resolve_name(name ? name : "");

            /* A call this libseccomp does not know (a newer kernel's): runc
             * skips it too. The default action covers it. */
            if (nr == __NR_SCMP_ERROR)
                continue;
            if (add_rule(ctx, act, nr, args, err, len, name) < 0)
                return -EINVAL;
        }
    }
    return 0;
}

void *oci_seccomp_compile(void *json, char *err, size_t len)
{
    json_object *profile = json, *v;
    uint32_t default_action;
    int default_errno = EPERM;
    scmp_filter_ctx ctx;

    if (json_object_object_get_ex(profile, "defaultErrnoRet", &v) && v)
        default_errno = json_object_get_int(v);
    if (!json_object_object_get_ex(profile, "defaultAction", &v) || !v ||
        action_of(json_object_get_string(v), NULL, default_errno, &default_action) < 0) {
        fail(err, len, "linux.seccomp.defaultAction: missing or not supported");
        return NULL;
    }
    if (json_object_object_get_ex(profile, "listenerPath", &v) && v) {
        fail(err, len, "linux.seccomp.listenerPath: not supported");
        return NULL;
    }
    if (!(ctx = seccomp_init(default_action))) {
        fail(err, len, "linux.seccomp: seccomp_init failed");
        return NULL;
    }
    /* no_new_privs is the config's own (process.noNewPrivileges): loading
     * the filter must not set it behind its back. */
    if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) < 0 ||
        add_arches(ctx, profile, err, len) < 0 ||
        add_syscalls(ctx, profile, default_errno, err, len) < 0) {
        if (!err[0])
            fail(err, len, "linux.seccomp: could not be compiled");
        seccomp_release(ctx);
        return NULL;
    }
    /* As runc (libcontainer/seccomp/seccomp_linux.go): past 32 rules, the
     * calls sorted into a tree of comparisons (O(log n) a call), not a
     * list. An older libseccomp without it keeps the list. */
    if (json_object_object_get_ex(profile, "syscalls", &v) && v &&
        json_object_array_length(v) > 32)
        (void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    return ctx;
}

int oci_seccomp_load(void *ctx)
{
    return seccomp_load(ctx);
}

void oci_seccomp_release(void *filter)
{
    if (filter)
        seccomp_release(filter);
}
