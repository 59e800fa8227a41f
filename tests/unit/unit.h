/* unit.h - shared bits of the CUnit tests for common/. */
#ifndef UNIT_H
#define UNIT_H

#include <CUnit/CUnit.h>

#include "lab.h"

/* Each test file registers its suite. */

struct unit_test {
    const char *name;
    void (*fn)(void);
};

/* Registers a suite made of tests[], up to the entry whose name is NULL,
 * when the program starts: UNIT_SUITE("opt", tests) at the end of each
 * test_*.c, so that a new file needs no line anywhere else. */
void unit_suite(const char *name, const struct unit_test *tests);
#define UNIT_SUITE(name, tests)                                                             \
    __attribute__((constructor)) static void unit_register(void)                            \
    {                                                                                       \
        unit_suite(name, tests);                                                            \
    }

/* A fresh temporary directory for one test; removed (recursively) by
 * unit_tmpdir_remove(). */
char *unit_tmpdir(void);
void unit_tmpdir_remove(char *dir);
/* Formats a path into an array, failing the test if it does not fit. */
#define PATHF(buf, ...) CU_ASSERT_FATAL(path_printf(buf, sizeof(buf), __VA_ARGS__) == 0)

/* Writes (creating) a small file. */
void unit_write(const char *dir, const char *name, const char *text);
/* Reads a small file into a static buffer ("" when missing). */
const char *unit_read(const char *dir, const char *name);

#endif
