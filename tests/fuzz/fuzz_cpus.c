/* fuzz_cpus - parse_cpus: an accepted value is a quota from 1 ms per 100 ms
 * up to every CPU of the machine, or 0 (docker's "no limit", for a value of
 * 0), and a refusal leaves the output alone. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_string(data, size);
    const char *why = NULL;
    long quota = -12345;
    long ncpus = size ? (data[0] % 8) + 1 : 2;

    if (parse_cpus(s, ncpus, &quota, &why) == 0) {
        PROMISE((quota >= 1000 && quota <= ncpus * 100000) ||
                (quota == 0 && strspn(s, "0.") == strlen(s)));
        PROMISE(strspn(s, "0123456789.") == strlen(s));
    } else {
        PROMISE(quota == -12345 && why && *why);
    }
    free(s);
    return 0;
}
