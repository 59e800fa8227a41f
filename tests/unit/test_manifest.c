/*
 * test_manifest.c - Kubernetes manifests read from YAML (step 18): every
 * field the lab knows, the API's defaults, Kubernetes' quantities, and a
 * refusal that names the field for everything else.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"

static const char *pod_yaml =
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata:\n"
    "  name: web\n"
    "  labels: {app: web, tier: front}\n"
    "spec:\n"
    "  restartPolicy: OnFailure\n"
    "  terminationGracePeriodSeconds: 5\n"
    "  shareProcessNamespace: true\n"
    "  volumes:\n"
    "  - name: data\n"
    "    hostPath: {path: /srv/data}\n"
    "  containers:\n"
    "  - name: server\n"
    "    image: busybox\n"
    "    command: [httpd, -f]\n"
    "    args: [\"-p\", \"80\"]\n"
    "    workingDir: /www\n"
    "    env:\n"
    "    - {name: GREETING, value: \"hello there\"}\n"
    "    volumeMounts:\n"
    "    - {name: data, mountPath: /www, readOnly: true}\n"
    "    resources:\n"
    "      limits: {cpu: 500m, memory: 64Mi}\n"
    "    lifecycle:\n"
    "      postStart: {exec: {command: [touch, /tmp/started]}}\n"
    "      preStop: {exec: {command: [sh, -c, \"echo bye\"]}}\n"
    "    livenessProbe:\n"
    "      exec: {command: [test, -e, /tmp/started]}\n"
    "      periodSeconds: 2\n"
    "  - name: helper\n"
    "    image: /srv/rootfs\n";

static int read_text(struct k8s_pod *pod, const char *text)
{
    char *dir = unit_tmpdir(), path[PATH_MAX];
    int err;

    unit_write(dir, "m.yaml", text);
    PATHF(path, "%s/m.yaml", dir);
    err = k8s_read_manifest(pod, path);
    unit_tmpdir_remove(dir);
    return err;
}

static struct k8s_pod pod;

static void reads_a_pod(void)
{
    CU_ASSERT_EQUAL_FATAL(read_text(&pod, pod_yaml), 0);
    CU_ASSERT_FALSE(pod.is_replicaset);
    CU_ASSERT_STRING_EQUAL(pod.name, "web");
    CU_ASSERT_EQUAL(pod.nlabels, 2);
    CU_ASSERT_STRING_EQUAL(pod.labels[1], "tier=front");
    CU_ASSERT_EQUAL(pod.restart, K8S_ON_FAILURE);
    CU_ASSERT_EQUAL(pod.grace_seconds, 5);
    CU_ASSERT(pod.share_pid);
    CU_ASSERT_STRING_EQUAL(pod.volumes[0].host_path, "/srv/data");
    CU_ASSERT_EQUAL(pod.ncontainers, 2);
    const struct k8s_container *c = &pod.containers[0];

    CU_ASSERT_STRING_EQUAL(c->command[1], "-f");
    CU_ASSERT_PTR_NULL(c->command[2]);
    CU_ASSERT_STRING_EQUAL(c->args[1], "80");
    CU_ASSERT_STRING_EQUAL(c->working_dir, "/www");
    CU_ASSERT_STRING_EQUAL(c->env[0], "GREETING=hello there");
    CU_ASSERT(c->mounts[0].readonly);
    CU_ASSERT_EQUAL(c->cpu_millis, 500);
    CU_ASSERT_EQUAL(c->memory_bytes, 64LL << 20);
    CU_ASSERT_STRING_EQUAL(c->post_start[1], "/tmp/started");
    CU_ASSERT_STRING_EQUAL(c->pre_stop[2], "echo bye");
    CU_ASSERT_EQUAL(c->nliveness, 3);
    CU_ASSERT_EQUAL(c->liveness_period, 2);
    CU_ASSERT_EQUAL(c->liveness_failures, 3); /* the API's default */
    CU_ASSERT_STRING_EQUAL(pod.containers[1].image, "/srv/rootfs");
}

static void takes_the_apis_defaults(void)
{
    CU_ASSERT_EQUAL_FATAL(read_text(&pod, "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n"
                                          "spec: {containers: [{name: c, image: busybox}]}\n"),
                          0);
    CU_ASSERT_EQUAL(pod.restart, K8S_ALWAYS);
    CU_ASSERT_EQUAL(pod.grace_seconds, 30);
    CU_ASSERT_FALSE(pod.host_network);
}

static void reads_a_replicaset(void)
{
    CU_ASSERT_EQUAL_FATAL(read_text(&pod, "apiVersion: apps/v1\nkind: ReplicaSet\n"
                                          "metadata: {name: front}\n"
                                          "spec:\n  replicas: 3\n"
                                          "  selector: {matchLabels: {app: f}}\n"
                                          "  template:\n"
                                          "    metadata: {name: ignored, labels: {app: f}}\n"
                                          "    spec: {containers: [{name: c, image: busybox}]}\n"),
                          0);
    CU_ASSERT(pod.is_replicaset);
    CU_ASSERT_EQUAL(pod.replicas, 3);
    CU_ASSERT_STRING_EQUAL(pod.name, "front");
    CU_ASSERT_STRING_EQUAL(pod.selector[0], "app=f");
}

static void refused(const char *from, const char *to, const char *words)
{
    char text[4096], *at;

    snprintf(text, sizeof(text), "%s", pod_yaml);
    CU_ASSERT_PTR_NOT_NULL_FATAL(at = strstr(text, from));
    memmove(at + strlen(to), at + strlen(from), strlen(at + strlen(from)) + 1);
    memcpy(at, to, strlen(to));
    CU_ASSERT_EQUAL(read_text(&pod, text), -EINVAL);
    if (!strstr(pod.error, words))
        fprintf(stderr, "\n  refusal \"%s\" lacks \"%s\"\n", pod.error, words);
    CU_ASSERT_PTR_NOT_NULL(strstr(pod.error, words));
}

static void refuses_what_it_does_not_know_by_path(void)
{
    refused("  restartPolicy: OnFailure\n", "  nodeSelector: {disk: ssd}\n",
            "spec.nodeSelector: not supported");
    refused("OnFailure", "Sometimes", "spec.restartPolicy: Always, OnFailure or Never");
    refused("kind: Pod", "kind: Deployment", "kind Deployment");
    refused("  name: web\n", "  name: -web\n", "metadata.name");
    refused("{name: data, mountPath", "{name: nope, mountPath", "no such volume");
    refused("cpu: 500m", "cpu: lots", "limits.cpu: lots is not a quantity");
    refused("    workingDir: /www\n", "    ports: [{containerPort: 80}]\n",
            "spec.containers[0].ports: not supported");
    refused("postStart: {exec:", "postStart: {httpGet:", "not supported (only exec)");
    refused("  - name: helper\n", "  - name: server\n", "server twice");
    refused("apiVersion: v1\n", "apiVersion: v1\n  bad: [\n", "line");
}

static void reads_kubernetes_quantities(void)
{
    long long v;

    CU_ASSERT(k8s_quantity("500m", true, &v) == 0 && v == 500);
    CU_ASSERT(k8s_quantity("0.25", true, &v) == 0 && v == 250);
    CU_ASSERT(k8s_quantity("2", true, &v) == 0 && v == 2000);
    CU_ASSERT(k8s_quantity("64Mi", false, &v) == 0 && v == 64LL << 20);
    CU_ASSERT(k8s_quantity("1G", false, &v) == 0 && v == 1000000000LL);
    CU_ASSERT(k8s_quantity("1000", false, &v) == 0 && v == 1000);
    CU_ASSERT_EQUAL(k8s_quantity("5x", false, &v), -EINVAL);
    CU_ASSERT_EQUAL(k8s_quantity("-1", true, &v), -EINVAL);
    CU_ASSERT_EQUAL(k8s_quantity("0m", true, &v), -EINVAL);
    CU_ASSERT_EQUAL(k8s_quantity("", false, &v), -EINVAL);
}

static const struct unit_test tests[] = {
    { "reads a pod", reads_a_pod },
    { "takes the API's defaults", takes_the_apis_defaults },
    { "reads a ReplicaSet", reads_a_replicaset },
    { "refuses what it does not know, by path", refuses_what_it_does_not_know_by_path },
    { "reads Kubernetes' quantities", reads_kubernetes_quantities },
    { NULL, NULL },
};
UNIT_SUITE("manifest", tests);
