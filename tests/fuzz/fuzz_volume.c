/* fuzz_volume - parse_volume: both paths absolute, the container path
 * normalised, never the root, never with a "..". */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_string(data, size);
    const char *why = NULL;
    static struct lab_volume v;

    if (parse_volume(s, &v, &why) == 0) {
        PROMISE(v.host[0] == '/' && v.container[0] == '/');
        PROMISE(strcmp(v.container, "/") != 0);
        PROMISE(!strstr(v.container, "//") && !strstr(v.container, "/./"));
        PROMISE(!strstr(v.container, "/../") &&
                strcmp(v.container + strlen(v.container) - 3, "/..") != 0);
        PROMISE(v.container[strlen(v.container) - 1] != '/');
        PROMISE(!strchr(v.host, ':') && !strchr(v.container, ':'));
    } else {
        PROMISE(why && *why);
    }
    free(s);
    return 0;
}
