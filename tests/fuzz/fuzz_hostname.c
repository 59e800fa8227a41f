/* fuzz_hostname - parse_hostname: what it accepts is a valid RFC 1123 name. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_string(data, size);
    const char *why = NULL;

    if (parse_hostname(s, &why) == 0) {
        size_t len = strlen(s);

        PROMISE(len >= 1 && len <= 64);
        PROMISE(s[0] != '.' && s[0] != '-' && s[len - 1] != '.' && s[len - 1] != '-');
        PROMISE(strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") ==
                len);
        PROMISE(!strstr(s, "..") && !strstr(s, ".-") && !strstr(s, "-."));
    } else {
        PROMISE(why && *why);
    }
    free(s);
    return 0;
}
