/* fuzz_microseconds - parse_microseconds: digits only, within the range. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_string(data, size);
    const char *why = NULL;
    long v = -1;

    if (parse_microseconds(s, 1000, 1000000, &v, &why) == 0) {
        PROMISE(v >= 1000 && v <= 1000000);
        PROMISE(strspn(s, "0123456789") == strlen(s));
    } else {
        PROMISE(v == -1 && why && *why);
    }
    free(s);
    return 0;
}
