/* fuzz_mountinfo - cg_detect_from reads /proc/self/mountinfo to find a
 * controller: any text gives a layout or -ENOENT, nothing else. */
#include <errno.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cg_layout l;
    FILE *f;
    int err;

    if (size == 0)
        return 0;
    f = fmemopen((void *)data, size, "r");
    if (!f)
        return 0;
    err = cg_detect_from(&l, "cpu", f);
    fclose(f);
    PROMISE(err == 0 || err == -ENOENT || err == -ENAMETOOLONG);
    if (err == 0) {
        PROMISE(l.version == CG_V1 || l.version == CG_V2);
        PROMISE(strcmp(l.controller, "cpu") == 0 && l.root[0]);
    }
    return 0;
}
