/*
 * test_kubelet.c - what step 18's kubelet reads without running anything:
 * the manifest directory (which files are manifests, what a refused one
 * gives), a file's hash (a changed manifest is a new pod), a pod's
 * readiness and restarts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"

static const char *pod_yaml =
    "apiVersion: v1\nkind: Pod\nmetadata: {name: one}\nspec:\n"
    "  containers: [{name: main, image: busybox}]\n";
static const char *rs_yaml =
    "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: web}\nspec:\n"
    "  replicas: 3\n  selector: {matchLabels: {app: web}}\n"
    "  template:\n    metadata: {labels: {app: web}}\n"
    "    spec: {containers: [{name: main, image: busybox}]}\n";

static void hashes_a_files_bytes(void)
{
    char *dir = unit_tmpdir(), path[PATH_MAX], a[20], b[20], c[20];

    unit_write(dir, "m.yaml", pod_yaml);
    PATHF(path, "%s/m.yaml", dir);
    CU_ASSERT_EQUAL_FATAL(kl_file_hash(path, a, sizeof(a)), 0);
    CU_ASSERT_EQUAL_FATAL(kl_file_hash(path, b, sizeof(b)), 0);
    CU_ASSERT_STRING_EQUAL(a, b);
    CU_ASSERT_EQUAL(strlen(a), 16);
    unit_write(dir, "m.yaml", rs_yaml);
    CU_ASSERT_EQUAL_FATAL(kl_file_hash(path, c, sizeof(c)), 0);
    CU_ASSERT_STRING_NOT_EQUAL(a, c);
    PATHF(path, "%s/none.yaml", dir);
    CU_ASSERT_EQUAL(kl_file_hash(path, c, sizeof(c)), -ENOENT);
    unit_tmpdir_remove(dir);
}

static void reads_the_yaml_files_of_the_directory(void)
{
    static struct kubelet k;
    struct kl_wanted w[8];
    char *dir = unit_tmpdir();

    unit_write(dir, "a-pod.yaml", pod_yaml);
    unit_write(dir, "b-rs.yaml", rs_yaml);
    unit_write(dir, ".hidden.yaml", pod_yaml); /* the file source skips dot files */
    unit_write(dir, "notes.txt", pod_yaml);
    unit_write(dir, "c-bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: bad}\n"
                                  "spec:\n  nodeSelector: {disk: ssd}\n"
                                  "  containers: [{name: main, image: busybox}]\n");
    snprintf(k.manifests, sizeof(k.manifests), "%s", dir);
    int n = kl_manifests(&k, w, 8);
    CU_ASSERT_EQUAL_FATAL(n, 2); /* the refused one is said, and left out */
    CU_ASSERT_STRING_EQUAL(w[0].name, "one");
    CU_ASSERT_FALSE(w[0].replicaset);
    CU_ASSERT_STRING_EQUAL(w[1].name, "web");
    CU_ASSERT(w[1].replicaset);
    CU_ASSERT_EQUAL(w[1].replicas, 3);
    CU_ASSERT(strstr(w[0].file, "a-pod.yaml") != NULL);
    CU_ASSERT_EQUAL(kl_manifests(&k, w, 1), 1); /* never more than it has room for */
    unit_tmpdir_remove(dir);
}

static void adds_up_a_pods_containers(void)
{
    static struct kl_pod p;

    p.nc = 2;
    p.c[0].ready = true;
    p.c[0].restarts = 2;
    p.c[1].restarts = 3;
    CU_ASSERT_FALSE(kl_pod_ready(&p));
    CU_ASSERT_EQUAL(kl_pod_restarts(&p), 5);
    p.c[1].ready = true;
    CU_ASSERT(kl_pod_ready(&p));
    p.nc = 0;
    CU_ASSERT_FALSE(kl_pod_ready(&p)); /* no container: nothing is ready */
}

static const struct unit_test tests[] = {
    { "hashes a file's bytes", hashes_a_files_bytes },
    { "reads the yaml files of the directory", reads_the_yaml_files_of_the_directory },
    { "adds up a pod's containers", adds_up_a_pods_containers },
    { NULL, NULL },
};
UNIT_SUITE("kubelet", tests);
