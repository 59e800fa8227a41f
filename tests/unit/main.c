/*
 * main.c - runs every CUnit suite of common/, first with the basic interface
 * (a summary on the terminal), then with the automated one, which writes
 * unit-Results.xml in the current directory for CI.
 *
 *     unit-tests [--skip SUITE]...
 *
 * --skip marks a suite inactive (CUnit counts it as such): for a tool that
 * cannot run it, such as valgrind 3.19, which does not know openat2(2).
 */
#define _GNU_SOURCE
#include <CUnit/Automated.h>
#include <CUnit/Basic.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

/* The suites, as each test file's constructor registers them (before main,
 * and so before CUnit's registry exists). */
static struct {
    const char *name;
    const struct unit_test *tests;
} suites[64];
static int nsuites;

void unit_suite(const char *name, const struct unit_test *tests)
{
    if (nsuites < (int)(sizeof(suites) / sizeof(suites[0])))
        suites[nsuites++] = (typeof(suites[0])){ name, tests };
}

static int add_suites(void)
{
    for (int i = 0; i < nsuites; i++) {
        CU_pSuite s = CU_add_suite(suites[i].name, NULL, NULL);

        if (!s)
            return -1;
        for (const struct unit_test *t = suites[i].tests; t->name; t++)
            CU_add_test(s, t->name, t->fn);
    }
    return 0;
}

char *unit_tmpdir(void)
{
    char *dir = strdup("/tmp/lab-unit-XXXXXX");

    CU_ASSERT_FATAL(dir && mkdtemp(dir));
    return dir;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void unit_tmpdir_remove(char *dir)
{
    nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

void unit_write(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX];
    FILE *f;

    CU_ASSERT_FATAL(path_join(path, sizeof(path), dir, name) == 0);
    f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs(text, f);
    fclose(f);
}

const char *unit_read(const char *dir, const char *name)
{
    static char buf[4096];
    char path[PATH_MAX];
    ssize_t n;
    int fd;

    buf[0] = '\0';
    if (path_join(path, sizeof(path), dir, name) < 0 || (fd = open(path, O_RDONLY)) < 0)
        return buf;
    n = read(fd, buf, sizeof(buf) - 1);
    buf[n < 0 ? 0 : n] = '\0';
    close(fd);
    return buf;
}

int main(int argc, char *argv[])
{
    unsigned failed;

    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    if (add_suites() < 0)
        return 2;
    for (int i = 1; i + 1 < argc; i += 2) {
        CU_pSuite s = strcmp(argv[i], "--skip") == 0 ? CU_get_suite(argv[i + 1]) : NULL;

        if (!s) {
            fprintf(stderr, "usage: unit-tests [--skip SUITE]...\n");
            return 2;
        }
        CU_set_suite_active(s, CU_FALSE);
    }

    CU_basic_set_mode(CU_BRM_NORMAL);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures();
    CU_set_output_filename("unit");
    CU_automated_run_tests();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
