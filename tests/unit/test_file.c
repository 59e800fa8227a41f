/* test_file.c - small files read whole and written in one go. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

static void read_whole_and_cut_to_fit(void)
{
    char *dir = unit_tmpdir(), path[PATH_MAX], buf[8];

    unit_write(dir, "f", "0123456789");
    PATHF(path, "%s/f", dir);
    CU_ASSERT_EQUAL(file_read(path, buf, sizeof(buf)), 0);
    CU_ASSERT_STRING_EQUAL(buf, "0123456"); /* len - 1 bytes, then the NUL */
    CU_ASSERT_EQUAL(file_read(path, buf, 0), -EINVAL);
    unit_tmpdir_remove(dir);
}

static void read_failures_leave_an_empty_string(void)
{
    char buf[16] = "old";

    CU_ASSERT_EQUAL(file_read("/no/such/file", buf, sizeof(buf)), -ENOENT);
    CU_ASSERT_STRING_EQUAL(buf, "");
    CU_ASSERT_EQUAL(file_read("/", buf, sizeof(buf)), -EISDIR);
    CU_ASSERT_STRING_EQUAL(buf, "");
}

static void write_replaces_the_value(void)
{
    char *dir = unit_tmpdir(), path[PATH_MAX];

    unit_write(dir, "v", "a long old value\n");
    PATHF(path, "%s/v", dir);
    CU_ASSERT_EQUAL(file_write(path, "42"), 0);
    CU_ASSERT_STRING_EQUAL(unit_read(dir, "v"), "42");
    CU_ASSERT_EQUAL(file_printf(path, "%d %s", 7, "max"), 0);
    CU_ASSERT_STRING_EQUAL(unit_read(dir, "v"), "7 max");
    unit_tmpdir_remove(dir);
}

static void write_needs_an_existing_file(void)
{
    char *dir = unit_tmpdir(), path[PATH_MAX], big[400];

    PATHF(path, "%s/missing", dir);
    CU_ASSERT_EQUAL(file_write(path, "1"), -ENOENT); /* never created, as a control file */
    CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0);
    CU_ASSERT_EQUAL(file_write(dir, "1"), -EISDIR);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    unit_write(dir, "v", "");
    PATHF(path, "%s/v", dir);
    CU_ASSERT_EQUAL(file_printf(path, "%s", big), -EOVERFLOW);
    CU_ASSERT_EQUAL(file_write("/proc/self/no-such-control-file", "1"), -ENOENT);
    unit_tmpdir_remove(dir);
}

static const struct unit_test tests[] = {
    { "read: whole, cut to fit", read_whole_and_cut_to_fit },
    { "read: failures leave an empty string", read_failures_leave_an_empty_string },
    { "write: replaces the value", write_replaces_the_value },
    { "write: needs an existing file", write_needs_an_existing_file },
    { NULL, NULL },
};
UNIT_SUITE("file", tests)
