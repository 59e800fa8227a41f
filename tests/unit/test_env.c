/* test_env.c - the container's environment is docker run's, not the host's. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

extern char **environ;

/* env_reset() replaces the whole environment: keep a copy to put back. */
static char **save_env(void)
{
    int n = 0;
    char **copy;

    while (environ[n])
        n++;
    copy = calloc((size_t)n + 1, sizeof(*copy));
    for (int i = 0; i < n; i++)
        copy[i] = strdup(environ[i]);
    clearenv();
    return copy;
}

static void restore_env(char **copy)
{
    clearenv();
    for (int i = 0; copy[i]; i++) {
        char *eq = strchr(copy[i], '=');

        *eq = '\0';
        setenv(copy[i], eq + 1, 1);
        free(copy[i]);
    }
    free(copy);
}

static int count_environ(void)
{
    int n = 0;

    while (environ[n])
        n++;
    return n;
}

static void host_environment_is_replaced(void)
{
    char host[LAB_HOSTNAME_MAX + 1] = "";
    char **saved = save_env();

    setenv("SECRET_HOST_VAR", "x", 1);
    setenv("TERM", "xterm-test", 1);
    gethostname(host, sizeof(host) - 1);
    CU_ASSERT_EQUAL(env_reset(NULL, 0), 0);
    CU_ASSERT_PTR_NULL(getenv("SECRET_HOST_VAR"));
    CU_ASSERT_STRING_EQUAL(getenv("PATH"), LAB_DEFAULT_PATH);
    CU_ASSERT_STRING_EQUAL(getenv("HOME"), "/root");
    CU_ASSERT_STRING_EQUAL(getenv("HOSTNAME"), host);
    CU_ASSERT_STRING_EQUAL(getenv("TERM"), "xterm-test");
    CU_ASSERT_EQUAL(count_environ(), 4);
    restore_env(saved);
}

static void no_term_when_the_host_has_none(void)
{
    char **saved = save_env();

    CU_ASSERT_EQUAL(env_reset(NULL, 0), 0);
    CU_ASSERT_PTR_NULL(getenv("TERM"));
    CU_ASSERT_EQUAL(count_environ(), 3);
    restore_env(saved);
}

static void extras_add_and_override(void)
{
    const char *extra[] = { "A=1", "PATH=/bin", "EMPTY=", "FROM_HOST", "UNSET_ON_HOST", "A=2" };
    char **saved = save_env();

    setenv("FROM_HOST", "hostvalue", 1);
    unsetenv("UNSET_ON_HOST");
    CU_ASSERT_EQUAL(env_reset(extra, 6), 0);
    CU_ASSERT_STRING_EQUAL(getenv("A"), "2");
    CU_ASSERT_STRING_EQUAL(getenv("PATH"), "/bin");
    CU_ASSERT_STRING_EQUAL(getenv("EMPTY"), "");
    CU_ASSERT_STRING_EQUAL(getenv("FROM_HOST"), "hostvalue");
    CU_ASSERT_PTR_NULL(getenv("UNSET_ON_HOST"));
    restore_env(saved);
}

static void too_many_extras_are_refused(void)
{
    const char *extra[LAB_MAX_ENV + 1];

    for (int i = 0; i <= LAB_MAX_ENV; i++)
        extra[i] = "A=1";
    CU_ASSERT_EQUAL(env_reset(extra, LAB_MAX_ENV + 1), -E2BIG);
}

static const struct unit_test tests[] = {
    { "the host's environment is replaced", host_environment_is_replaced },
    { "no TERM when the host has none", no_term_when_the_host_has_none },
    { "-e adds and overrides", extras_add_and_override },
    { "too many -e are refused", too_many_extras_are_refused },
    { NULL, NULL },
};
UNIT_SUITE("env", tests)
