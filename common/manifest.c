/*
 * manifest.c - a Kubernetes manifest (a v1 Pod, or an apps/v1 ReplicaSet)
 * read from YAML into struct k8s_pod (step 18).
 *
 * The kubelet's static pods are files like these in a directory. Parsing
 * YAML is not the lesson, so libyaml (Debian's libyaml-dev) reads the file
 * into a tree; this file walks the tree, field by field, against the part
 * of the Pod API the lab implements (k8s.io/api/core/v1, types.go). A
 * field the lab does not implement is refused by its path
 * ("spec.nodeSelector: not supported"): a kubelet that ignored it would
 * run a pod other than the one asked for.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "lab.h"

struct walk {
    yaml_document_t doc;
    struct k8s_pod *pod;
};

static int refuse(struct k8s_pod *pod, const char *fmt, ...) LAB_PRINTF(2, 3);
static int refuse(struct k8s_pod *pod, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(pod->error, sizeof(pod->error), fmt, ap);
    va_end(ap);
    /* One line, whatever the file held (a YAML scalar may span lines). */
    for (char *c = pod->error; *c; c++)
        if ((unsigned char)*c < ' ')
            *c = ' ';
    return -EINVAL;
}

static const char *scalar(yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *node(struct walk *w, int index)
{
    return yaml_document_get_node(&w->doc, index);
}

/* A copy of a scalar into the pod's string pool. */
static const char *keep(struct k8s_pod *pod, const char *s)
{
    size_t n = strlen(s) + 1;

    if (pod->pool_used + n > sizeof(pod->pool))
        return NULL;
    memcpy(pod->pool + pod->pool_used, s, n);
    pod->pool_used += n;
    return pod->pool + pod->pool_used - n;
}

static int string_at(struct walk *w, yaml_node_t *v, const char *where, const char **out)
{
    const char *s = scalar(v);

    if (!s)
        return refuse(w->pod, "%s: must be a string", where);
    if (!(*out = keep(w->pod, s)))
        return refuse(w->pod, "%s: the manifest is too large", where);
    return 0;
}

static int strings_at(struct walk *w, yaml_node_t *v, const char *where, const char **out,
                      int max, int *n)
{
    if (!v || v->type != YAML_SEQUENCE_NODE)
        return refuse(w->pod, "%s: must be a list", where);
    *n = 0;
    for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top; i++) {
        int err;

        if (*n == max - 1)
            return refuse(w->pod, "%s: more than %d", where, max - 1);
        if ((err = string_at(w, node(w, *i), where, &out[*n])) < 0)
            return err;
        (*n)++;
    }
    out[*n] = NULL;
    return 0;
}

static int bool_at(struct walk *w, yaml_node_t *v, const char *where, bool *out)
{
    const char *s = scalar(v);

    if (s && strcmp(s, "true") == 0)
        *out = true;
    else if (s && strcmp(s, "false") == 0)
        *out = false;
    else
        return refuse(w->pod, "%s: must be true or false", where);
    return 0;
}

static int number_at(struct walk *w, yaml_node_t *v, const char *where, long min, long max,
                     long *out)
{
    const char *s = scalar(v);
    char *end;

    errno = 0;
    *out = s ? strtol(s, &end, 10) : 0;
    if (!s || !*s || *end || errno || *out < min || *out > max)
        return refuse(w->pod, "%s: must be a whole number from %ld to %ld", where, min, max);
    return 0;
}

/* Kubernetes' quantities (apimachinery's resource.Quantity): "500m" or
 * "0.5" CPUs, "64Mi" or "64M" bytes. In the unit asked: millicores, bytes. */
int k8s_quantity(const char *s, bool cpu, long long *out)
{
    static const struct {
        const char *suffix;
        long long factor;
    } units[] = { { "Ki", 1LL << 10 }, { "Mi", 1LL << 20 }, { "Gi", 1LL << 30 },
                  { "Ti", 1LL << 40 }, { "k", 1000LL },     { "M", 1000000LL },
                  { "G", 1000000000LL }, { "T", 1000000000000LL } };
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (!*s || end == s || errno || v < 0 || s[0] == '+' || s[0] == ' ')
        return -EINVAL;
    if (cpu) {
        if (strcmp(end, "m") == 0)
            v /= 1000;
        else if (*end)
            return -EINVAL;
        if (v > 1e9) /* a billion CPUs: no machine; and the cast would overflow */
            return -EINVAL;
        *out = (long long)(v * 1000 + 0.5);
        return *out > 0 ? 0 : -EINVAL;
    }
    if (*end) {
        size_t k;

        for (k = 0; k < sizeof(units) / sizeof(units[0]); k++)
            if (strcmp(end, units[k].suffix) == 0)
                break;
        if (k == sizeof(units) / sizeof(units[0]))
            return -EINVAL;
        v *= (double)units[k].factor;
    }
    if (v > 9e18)
        return -EINVAL;
    *out = (long long)v;
    return *out > 0 ? 0 : -EINVAL;
}

/* Calls fn for each key of a mapping, with the key's path for errors. */
typedef int (*field_fn)(struct walk *w, const char *key, yaml_node_t *v, const char *where,
                        void *arg);

static int each_field(struct walk *w, yaml_node_t *map, const char *where, field_fn fn,
                      void *arg)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return refuse(w->pod, "%s: must be a mapping", where[0] ? where : "the manifest");
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const char *key = scalar(node(w, p->key));
        char path[256];
        int err;

        if (!key)
            return refuse(w->pod, "%s: a key that is not a string", where);
        (void)path_printf(path, sizeof(path), "%s%s%s", where, where[0] ? "." : "", key);
        if ((err = fn(w, key, node(w, p->value), path, arg)) < 0)
            return err;
    }
    return 0;
}

static int unsupported(struct walk *w, const char *where)
{
    return refuse(w->pod, "%s: not supported", where);
}

/* ---- containers ------------------------------------------------------------ */

/* {command: [...]}: an exec action's body. */
static int exec_body(struct walk *w, yaml_node_t *exec, const char *where, const char **argv,
                     int *n)
{
    if (!exec || exec->type != YAML_MAPPING_NODE)
        return refuse(w->pod, "%s: must be a mapping", where);
    for (yaml_node_pair_t *p = exec->data.mapping.pairs.start; p < exec->data.mapping.pairs.top;
         p++) {
        const char *key = scalar(node(w, p->key));
        char path[256];

        (void)path_printf(path, sizeof(path), "%s.%s", where, key ? key : "?");
        if (!key || strcmp(key, "command") != 0)
            return unsupported(w, path);
        return strings_at(w, node(w, p->value), path, argv, K8S_MAX_ARGS, n);
    }
    return refuse(w->pod, "%s.command: missing", where);
}

/* A lifecycle handler, {exec: {command: [...]}}: the lab runs exec ones. */
static int exec_command(struct walk *w, yaml_node_t *v, const char *where, const char **argv,
                        int *n)
{
    char path[256];

    if (!v || v->type != YAML_MAPPING_NODE || v->data.mapping.pairs.top -
                                                      v->data.mapping.pairs.start != 1)
        return refuse(w->pod, "%s: must be a mapping with exec", where);
    yaml_node_pair_t *p = v->data.mapping.pairs.start;
    const char *key = scalar(node(w, p->key));

    snprintf(path, sizeof(path), "%s.%s", where, key ? key : "?");
    if (!key || strcmp(key, "exec") != 0)
        return refuse(w->pod, "%s: not supported (only exec)", path);
    return exec_body(w, node(w, p->value), path, argv, n);
}

static int lifecycle_field(struct walk *w, const char *key, yaml_node_t *v, const char *where,
                           void *arg)
{
    struct k8s_container *c = arg;

    if (strcmp(key, "postStart") == 0)
        return exec_command(w, v, where, c->post_start, &c->npost_start);
    if (strcmp(key, "preStop") == 0)
        return exec_command(w, v, where, c->pre_stop, &c->npre_stop);
    return unsupported(w, where);
}

static int probe_field(struct walk *w, const char *key, yaml_node_t *v, const char *where,
                       void *arg)
{
    struct k8s_container *c = arg;
    long n;
    int err;

    if (strcmp(key, "exec") == 0)
        return exec_body(w, v, where, c->liveness, &c->nliveness);
    if (strcmp(key, "periodSeconds") == 0) {
        if ((err = number_at(w, v, where, 1, 3600, &n)) < 0)
            return err;
        c->liveness_period = (int)n;
        return 0;
    }
    if (strcmp(key, "failureThreshold") == 0) {
        if ((err = number_at(w, v, where, 1, 100, &n)) < 0)
            return err;
        c->liveness_failures = (int)n;
        return 0;
    }
    if (strcmp(key, "initialDelaySeconds") == 0) {
        if ((err = number_at(w, v, where, 0, 3600, &n)) < 0)
            return err;
        c->liveness_delay = (int)n;
        return 0;
    }
    return unsupported(w, where);
}

static int env_item(struct walk *w, yaml_node_t *item, const char *where, struct k8s_container *c)
{
    const char *name = NULL, *value = "";
    char line[1024];

    if (!item || item->type != YAML_MAPPING_NODE)
        return refuse(w->pod, "%s: must be a mapping", where);
    for (yaml_node_pair_t *p = item->data.mapping.pairs.start; p < item->data.mapping.pairs.top;
         p++) {
        const char *key = scalar(node(w, p->key));
        char path[256];
        int err;

        (void)path_printf(path, sizeof(path), "%s.%s", where, key ? key : "?");
        if (key && strcmp(key, "name") == 0)
            err = string_at(w, node(w, p->value), path, &name);
        else if (key && strcmp(key, "value") == 0)
            err = string_at(w, node(w, p->value), path, &value);
        else
            err = unsupported(w, path);
        if (err < 0)
            return err;
    }
    if (!name || !name[0] || strchr(name, '='))
        return refuse(w->pod, "%s.name: missing, or with '='", where);
    if (c->nenv == K8S_MAX_ENV)
        return refuse(w->pod, "%s: more than %d", where, K8S_MAX_ENV);
    (void)path_printf(line, sizeof(line), "%s=%s", name, value);
    if (!(c->env[c->nenv] = keep(w->pod, line)))
        return refuse(w->pod, "%s: the manifest is too large", where);
    c->nenv++;
    return 0;
}

static int mount_field(struct walk *w, const char *key, yaml_node_t *v, const char *where,
                       void *arg)
{
    struct k8s_mount *m = arg;

    if (strcmp(key, "name") == 0)
        return string_at(w, v, where, &m->volume);
    if (strcmp(key, "mountPath") == 0)
        return string_at(w, v, where, &m->path);
    if (strcmp(key, "readOnly") == 0)
        return bool_at(w, v, where, &m->readonly);
    return unsupported(w, where);
}

static int limit_field(struct walk *w, const char *key, yaml_node_t *v, const char *where,
                       void *arg)
{
    struct k8s_container *c = arg;
    const char *s = scalar(v);

    if (strcmp(key, "cpu") == 0 && s && k8s_quantity(s, true, &c->cpu_millis) == 0)
        return 0;
    if (strcmp(key, "memory") == 0 && s && k8s_quantity(s, false, &c->memory_bytes) == 0)
        return 0;
    if (strcmp(key, "cpu") == 0 || strcmp(key, "memory") == 0)
        return refuse(w->pod, "%s: %s is not a quantity (500m, 0.5; 64Mi, 1G)", where,
                      s ? s : "?");
    return unsupported(w, where);
}

static int resources_field(struct walk *w, const char *key, yaml_node_t *v, const char *where,
                           void *arg)
{
    if (strcmp(key, "limits") == 0)
        return each_field(w, v, where, limit_field, arg);
    return unsupported(w, where); /* requests: the lab has no scheduler to tell */
}

static int list_items(struct walk *w, yaml_node_t *v, const char *where,
                      int (*fn)(struct walk *, yaml_node_t *, const char *, void *), void *arg)
{
    int i = 0;

    if (!v || v->type != YAML_SEQUENCE_NODE)
        return refuse(w->pod, "%s: must be a list", where);
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++, i++) {
        char path[256];
        int err;

        (void)path_printf(path, sizeof(path), "%s[%d]", where, i);
        if ((err = fn(w, node(w, *it), path, arg)) < 0)
            return err;
    }
    return 0;
}

static int env_list_item(struct walk *w, yaml_node_t *item, const char *where, void *arg)
{
    return env_item(w, item, where, arg);
}

static int mount_list_item(struct walk *w, yaml_node_t *item, const char *where, void *arg)
{
    struct k8s_container *c = arg;

    if (c->nmounts == K8S_MAX_MOUNTS)
        return refuse(w->pod, "%s: more than %d", where, K8S_MAX_MOUNTS);
    return each_field(w, item, where, mount_field, &c->mounts[c->nmounts++]);
}

static int container_field(struct walk *w, const char *key, yaml_node_t *v, const char *where,
                           void *arg)
{
    struct k8s_container *c = arg;

    if (strcmp(key, "name") == 0)
        return string_at(w, v, where, &c->name);
    if (strcmp(key, "image") == 0)
        return string_at(w, v, where, &c->image);
    if (strcmp(key, "command") == 0)
        return strings_at(w, v, where, c->command, K8S_MAX_ARGS, &c->ncommand);
    if (strcmp(key, "args") == 0)
        return strings_at(w, v, where, c->args, K8S_MAX_ARGS, &c->nargs);
    if (strcmp(key, "workingDir") == 0)
        return string_at(w, v, where, &c->working_dir);
    if (strcmp(key, "env") == 0)
        return list_items(w, v, where, env_list_item, c);
    if (strcmp(key, "volumeMounts") == 0)
        return list_items(w, v, where, mount_list_item, c);
    if (strcmp(key, "resources") == 0)
        return each_field(w, v, where, resources_field, c);
    if (strcmp(key, "lifecycle") == 0)
        return each_field(w, v, where, lifecycle_field, c);
    if (strcmp(key, "livenessProbe") == 0) {
        c->liveness_period = 10; /* the API's defaults */
        c->liveness_failures = 3;
        return each_field(w, v, where, probe_field, c);
    }
    /* "imagePullPolicy": the lab pulls nothing, so any policy holds. */
    if (strcmp(key, "imagePullPolicy") == 0)
        return scalar(v) ? 0 : refuse(w->pod, "%s: must be a string", where);
    return unsupported(w, where);
}

static int container_item(struct walk *w, yaml_node_t *item, const char *where, void *arg)
{
    struct k8s_pod *pod = arg;
    struct k8s_container *c;
    int err;

    if (pod->ncontainers == K8S_MAX_CONTAINERS)
        return refuse(pod, "%s: more than %d containers", where, K8S_MAX_CONTAINERS);
    c = &pod->containers[pod->ncontainers++];
    if ((err = each_field(w, item, where, container_field, c)) < 0)
        return err;
    if (!c->name || !c->name[0])
        return refuse(pod, "%s.name: missing", where);
    if (!c->image || !c->image[0])
        return refuse(pod, "%s.image: missing", where);
    return 0;
}

/* ---- the pod ---------------------------------------------------------------------- */

static int host_path_field(struct walk *w, const char *key, yaml_node_t *v, const char *where,
                           void *arg)
{
    struct k8s_volume *vol = arg;

    if (strcmp(key, "path") == 0)
        return string_at(w, v, where, &vol->host_path);
    if (strcmp(key, "type") == 0)
        return scalar(v) && !scalar(v)[0] ? 0 : unsupported(w, where);
    return unsupported(w, where);
}

static int volume_field(struct walk *w, const char *key, yaml_node_t *v, const char *where,
                        void *arg)
{
    struct k8s_volume *vol = arg;

    if (strcmp(key, "name") == 0)
        return string_at(w, v, where, &vol->name);
    if (strcmp(key, "hostPath") == 0)
        return each_field(w, v, where, host_path_field, vol);
    return unsupported(w, where);
}

static int volume_item(struct walk *w, yaml_node_t *item, const char *where, void *arg)
{
    struct k8s_pod *pod = arg;
    struct k8s_volume *vol;
    int err;

    if (pod->nvolumes == K8S_MAX_VOLUMES)
        return refuse(pod, "%s: more than %d", where, K8S_MAX_VOLUMES);
    vol = &pod->volumes[pod->nvolumes++];
    if ((err = each_field(w, item, where, volume_field, vol)) < 0)
        return err;
    if (!vol->name || !vol->host_path || vol->host_path[0] != '/')
        return refuse(pod, "%s: a name and an absolute hostPath.path", where);
    return 0;
}

static int spec_field(struct walk *w, const char *key, yaml_node_t *v, const char *where,
                      void *arg)
{
    struct k8s_pod *pod = arg;
    long n;

    if (strcmp(key, "containers") == 0)
        return list_items(w, v, where, container_item, pod);
    if (strcmp(key, "restartPolicy") == 0) {
        const char *s = scalar(v);

        if (!s || (strcmp(s, "Always") && strcmp(s, "OnFailure") && strcmp(s, "Never")))
            return refuse(pod, "%s: Always, OnFailure or Never", where);
        pod->restart = s[0] == 'A' ? K8S_ALWAYS : s[0] == 'O' ? K8S_ON_FAILURE : K8S_NEVER;
        return 0;
    }
    if (strcmp(key, "terminationGracePeriodSeconds") == 0) {
        if (number_at(w, v, where, 0, 3600, &n) < 0)
            return -EINVAL;
        pod->grace_seconds = (int)n;
        return 0;
    }
    if (strcmp(key, "hostNetwork") == 0)
        return bool_at(w, v, where, &pod->host_network);
    if (strcmp(key, "shareProcessNamespace") == 0)
        return bool_at(w, v, where, &pod->share_pid);
    if (strcmp(key, "volumes") == 0)
        return list_items(w, v, where, volume_item, pod);
    return unsupported(w, where);
}

static int labels_field(struct walk *w, const char *key, yaml_node_t *v, const char *where,
                        void *arg)
{
    struct k8s_pod *pod = arg;
    char line[512];

    (void)w;
    if (!scalar(v))
        return refuse(pod, "%s: must be a string", where);
    if (pod->nlabels == K8S_MAX_LABELS)
        return refuse(pod, "%s: more than %d labels", where, K8S_MAX_LABELS);
    (void)path_printf(line, sizeof(line), "%s=%s", key, scalar(v));
    if (!(pod->labels[pod->nlabels++] = keep(pod, line)))
        return refuse(pod, "%s: the manifest is too large", where);
    return 0;
}

static int metadata_field(struct walk *w, const char *key, yaml_node_t *v, const char *where,
                          void *arg)
{
    struct k8s_pod *pod = arg;

    if (strcmp(key, "name") == 0)
        return string_at(w, v, where, &pod->name);
    if (strcmp(key, "labels") == 0)
        return each_field(w, v, where, labels_field, pod);
    /* A static pod's namespace: the kubelet's file source keeps it. */
    if (strcmp(key, "namespace") == 0)
        return string_at(w, v, where, &pod->k8s_namespace);
    return unsupported(w, where);
}

static int template_field(struct walk *w, const char *key, yaml_node_t *v, const char *where,
                          void *arg)
{
    if (strcmp(key, "metadata") == 0)
        return each_field(w, v, where, metadata_field, arg);
    if (strcmp(key, "spec") == 0)
        return each_field(w, v, where, spec_field, arg);
    return unsupported(w, where);
}

static int selector_field(struct walk *w, const char *key, yaml_node_t *v, const char *where,
                          void *arg)
{
    struct k8s_pod *pod = arg;

    if (strcmp(key, "matchLabels") != 0)
        return unsupported(w, where);
    /* The template's labels must carry the selector's (the API server
     * checks this); kept as the pod's labels, matched after. */
    pod->nselector = 0;
    if (!v || v->type != YAML_MAPPING_NODE)
        return refuse(pod, "%s: must be a mapping", where);
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        const char *k = scalar(node(w, p->key)), *val = scalar(node(w, p->value));
        char line[512];

        if (!k || !val || pod->nselector == K8S_MAX_LABELS)
            return refuse(pod, "%s: string keys and values, at most %d", where, K8S_MAX_LABELS);
        (void)path_printf(line, sizeof(line), "%s=%s", k, val);
        if (!(pod->selector[pod->nselector++] = keep(pod, line)))
            return refuse(pod, "%s: the manifest is too large", where);
    }
    return 0;
}

static int replicaset_spec_field(struct walk *w, const char *key, yaml_node_t *v,
                                 const char *where, void *arg)
{
    struct k8s_pod *pod = arg;
    long n;

    if (strcmp(key, "replicas") == 0) {
        if (number_at(w, v, where, 0, K8S_MAX_REPLICAS, &n) < 0)
            return -EINVAL;
        pod->replicas = (int)n;
        return 0;
    }
    if (strcmp(key, "selector") == 0)
        return each_field(w, v, where, selector_field, pod);
    if (strcmp(key, "template") == 0) {
        const char *name = pod->name;
        int err2 = each_field(w, v, where, template_field, pod);

        pod->name = name; /* the ReplicaSet's name, not the template's */
        return err2;
    }
    return unsupported(w, where);
}

static int top_field(struct walk *w, const char *key, yaml_node_t *v, const char *where,
                     void *arg)
{
    struct k8s_pod *pod = arg;
    const char *s = scalar(v);

    if (strcmp(key, "apiVersion") == 0 || strcmp(key, "kind") == 0)
        return s ? 0 : refuse(pod, "%s: must be a string", where);
    if (strcmp(key, "metadata") == 0)
        return each_field(w, v, where, metadata_field, pod);
    if (strcmp(key, "spec") == 0)
        return each_field(w, v, where, pod->is_replicaset ? replicaset_spec_field : spec_field,
                          pod);
    if (strcmp(key, "status") == 0)
        return 0; /* written by Kubernetes, not by the user: ignored, as the API server does */
    return unsupported(w, where);
}

/* apiVersion and kind first: they say which fields the rest may have. */
static int read_kind(struct walk *w, yaml_node_t *root)
{
    const char *api = NULL, *kind = NULL;

    if (!root || root->type != YAML_MAPPING_NODE)
        return refuse(w->pod, "not a mapping: a manifest is one Kubernetes object");
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        const char *key = scalar(node(w, p->key));

        if (key && strcmp(key, "apiVersion") == 0)
            api = scalar(node(w, p->value));
        if (key && strcmp(key, "kind") == 0)
            kind = scalar(node(w, p->value));
    }
    if (api && kind && strcmp(api, "v1") == 0 && strcmp(kind, "Pod") == 0)
        return 0;
    if (api && kind && strcmp(api, "apps/v1") == 0 && strcmp(kind, "ReplicaSet") == 0) {
        w->pod->is_replicaset = true;
        w->pod->replicas = 1; /* the API's default */
        return 0;
    }
    return refuse(w->pod, "apiVersion %s, kind %s: the lab knows v1 Pod and apps/v1 ReplicaSet",
                  api ? api : "(none)", kind ? kind : "(none)");
}

static int check_pod(struct k8s_pod *pod)
{
    if (!pod->name || !pod->name[0])
        return refuse(pod, "metadata.name: missing");
    if (record_check_name(pod->name, &(const char *){ NULL }) < 0 || strlen(pod->name) > 40)
        return refuse(pod, "metadata.name: %s: letters, digits, '-', at most 40", pod->name);
    if (pod->ncontainers == 0)
        return refuse(pod, "spec.containers: a pod needs at least one");
    for (int i = 0; i < pod->ncontainers; i++) {
        const struct k8s_container *c = &pod->containers[i];

        for (int k = 0; k < i; k++)
            if (strcmp(c->name, pod->containers[k].name) == 0)
                return refuse(pod, "spec.containers[%d].name: %s twice", i, c->name);
        for (int m = 0; m < c->nmounts; m++) {
            int v;

            for (v = 0; v < pod->nvolumes; v++)
                if (c->mounts[m].volume && strcmp(c->mounts[m].volume, pod->volumes[v].name) == 0)
                    break;
            if (v == pod->nvolumes || !c->mounts[m].path || c->mounts[m].path[0] != '/')
                return refuse(pod, "spec.containers[%d].volumeMounts[%d]: no such volume, or "
                                   "not an absolute mountPath", i, m);
        }
    }
    for (int s = 0; s < pod->nselector; s++) {
        int l;

        for (l = 0; l < pod->nlabels; l++)
            if (strcmp(pod->selector[s], pod->labels[l]) == 0)
                break;
        if (l == pod->nlabels)
            return refuse(pod, "spec.selector.matchLabels: %s is not a label of the template",
                          pod->selector[s]);
    }
    return 0;
}

int k8s_read_manifest(struct k8s_pod *pod, const char *path)
{
    struct walk w = { .pod = pod };
    yaml_parser_t parser;
    FILE *f;
    int err;

    memset(pod, 0, sizeof(*pod));
    pod->restart = K8S_ALWAYS;   /* the API's defaults */
    pod->grace_seconds = 30;
    if (!(f = fopen(path, "re")))
        return refuse(pod, "%s", strerror(errno));
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        return refuse(pod, "libyaml: out of memory");
    }
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &w.doc)) {
        err = refuse(pod, "line %zu: %s", parser.problem_mark.line + 1,
                     parser.problem ? parser.problem : "not YAML");
        yaml_parser_delete(&parser);
        fclose(f);
        return err;
    }
    yaml_parser_delete(&parser);
    fclose(f);
    yaml_node_t *root = yaml_document_get_root_node(&w.doc);

    if (!root)
        err = refuse(pod, "empty");
    else if ((err = read_kind(&w, root)) == 0 &&
             (err = each_field(&w, root, "", top_field, pod)) == 0)
        err = check_pod(pod);
    yaml_document_delete(&w.doc);
    return err;
}
