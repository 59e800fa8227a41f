/* fuzz_env - parse_env, then env_reset with what it accepts: the result
 * always holds PATH and HOME, and every accepted NAME=VALUE. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_string(data, size);
    const char *why = NULL;

    if (parse_env(s, &why) == 0) {
        const char *extra[] = { s };

        PROMISE(s[0] && s[0] != '=');
        if (env_reset(extra, 1) == 0) {
            PROMISE(getenv("PATH") && getenv("HOME"));
            char *eq = strchr(s, '=');
            if (eq) {
                *eq = '\0';
                PROMISE(getenv(s) && strcmp(getenv(s), eq + 1) == 0);
            }
        }
    } else {
        PROMISE(why && *why);
    }
    free(s);
    return 0;
}
