/* fuzz_opt - the whole command line: the first byte picks the step (1..16),
 * the rest is split into arguments at NUL bytes, then parsed and completed
 * with the defaults (opt_defaults), as a step does. Whatever the outcome, an
 * error is one line and a run has a command and a root. */
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    setenv("LAB_ROOTFS", "/tmp", 1); /* an existing directory, not "/" */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct lab_opts o;
    char err[1024];
    char *argv[64];
    int argc = 0;

    if (size < 1)
        return 0;
    int step = (data[0] % 16) + 1;
    char *buf = fuzz_string(data + 1, size - 1);
    argv[argc++] = "step";
    for (char *p = buf; argc < 63 && p <= buf + size - 1;) {
        argv[argc++] = p;
        p += strlen(p) + 1;
    }
    argv[argc] = NULL;
    /* fuzz_string stopped at the first NUL: put the rest back in */
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';

    opt_free(&o); /* the previous input's */
    enum opt_result r = opt_parse(&o, step, argc, argv, err, sizeof(err));
    if (r == OPT_RUN && opt_defaults(&o, step, err, sizeof(err)) < 0)
        r = OPT_ERROR;
    if (r == OPT_ERROR) {
        PROMISE(err[0] && !strchr(err, '\n') && strlen(err) < sizeof(err) - 1);
    } else if (r == OPT_RUN) {
        PROMISE(o.argv && o.argv[0]);
        PROMISE(o.nvolumes <= LAB_MAX_VOLUMES && o.nenv <= LAB_MAX_ENV);
        PROMISE(step >= 3 ? o.rootfs[0] == '/' : o.rootfs[0] == '\0');
        PROMISE(!o.ip_set || o.net);
        PROMISE(step < 11 || (o.nlayers >= 1 && o.layers[0][0] == '/'));
    }
    free(buf);
    return 0;
}
