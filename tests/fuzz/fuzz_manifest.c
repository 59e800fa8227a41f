/* fuzz_manifest - k8s_read_manifest on any YAML: refused in one line, or
 * read into a pod the kubelet can run (a name, containers with an image,
 * every mount on a volume of the pod). */
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char dir[] = "/tmp/fuzz-manifest-XXXXXX", file[64];
    static struct k8s_pod pod;
    FILE *f;

    if (!file[0]) {
        if (!mkdtemp(dir))
            abort();
        snprintf(file, sizeof(file), "%s/pod.yaml", dir);
    }
    if (!(f = fopen(file, "w")))
        abort();
    fwrite(data, 1, size, f);
    fclose(f);
    if (k8s_read_manifest(&pod, file) == 0) {
        PROMISE(pod.name && pod.name[0] && pod.ncontainers > 0);
        PROMISE(pod.ncontainers <= K8S_MAX_CONTAINERS && pod.replicas <= K8S_MAX_REPLICAS);
        for (int i = 0; i < pod.ncontainers; i++) {
            PROMISE(pod.containers[i].image && pod.containers[i].image[0]);
            for (int m = 0; m < pod.containers[i].nmounts; m++)
                PROMISE(pod.containers[i].mounts[m].path[0] == '/');
        }
        PROMISE(pod.pool_used <= sizeof(pod.pool));
    } else {
        PROMISE(pod.error[0] && !strchr(pod.error, '\n'));
    }
    return 0;
}
