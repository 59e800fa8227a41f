/* fuzz_oci - oci_read on any config.json: refused in one line naming what,
 * or read into values the child can use (absolute paths, counts in range,
 * a program to run). */
#define _GNU_SOURCE
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char bundle[] = "/tmp/fuzz-oci-XXXXXX", file[64], rootfs[64];
    static struct oci_config cfg;
    FILE *f;

    if (!file[0]) {
        if (!mkdtemp(bundle))
            abort();
        snprintf(file, sizeof(file), "%s/config.json", bundle);
        snprintf(rootfs, sizeof(rootfs), "%s/rootfs", bundle);
        if (mkdir(rootfs, 0755) < 0)
            abort();
    }
    if (!(f = fopen(file, "w")))
        abort();
    fwrite(data, 1, size, f);
    fclose(f);
    if (oci_read(&cfg, bundle) == 0) {
        PROMISE(cfg.rootfs_real[0] == '/');
        PROMISE(cfg.nmounts >= 0 && cfg.nmounts <= OCI_MAX_MOUNTS);
        for (int i = 0; i < cfg.nmounts; i++)
            PROMISE(cfg.mounts[i].destination[0] == '/');
        PROMISE(cfg.ns_new & CLONE_NEWNS);
        PROMISE(!cfg.has_process || (cfg.process.args[0] && cfg.process.cwd[0] == '/'));
        PROMISE(cfg.process.ngroups <= OCI_MAX_GROUPS && cfg.njoin <= OCI_MAX_JOIN);
    } else {
        PROMISE(cfg.error[0] && !strchr(cfg.error, '\n'));
    }
    oci_free(&cfg);
    return 0;
}
