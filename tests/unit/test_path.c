/* test_path.c - bounded path building, and resolution that stays beneath a
 * root (the volume mount points of step 08). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

static void join_and_printf_refuse_truncation(void)
{
    char buf[16];

    CU_ASSERT_EQUAL(path_join(buf, sizeof(buf), "/a/", "/b"), 0);
    CU_ASSERT_STRING_EQUAL(buf, "/a/b");
    CU_ASSERT_EQUAL(path_join(buf, sizeof(buf), "/", "etc"), 0);
    CU_ASSERT_STRING_EQUAL(buf, "/etc");
    CU_ASSERT_EQUAL(path_join(buf, sizeof(buf), "/a/long/dir", "name"), -ENAMETOOLONG);
    CU_ASSERT_EQUAL(path_printf(buf, sizeof(buf), "%s", "0123456789abcde"), 0);
    CU_ASSERT_EQUAL(path_printf(buf, sizeof(buf), "%s", "0123456789abcdef"), -ENAMETOOLONG);
}

static void exe_dir_is_where_this_program_is(void)
{
    char dir[PATH_MAX], self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

    CU_ASSERT_FATAL(n > 0);
    self[n] = '\0';
    CU_ASSERT_EQUAL(path_exe_dir(dir, sizeof(dir)), 0);
    CU_ASSERT_EQUAL(strncmp(self, dir, strlen(dir)), 0);
    CU_ASSERT_EQUAL(self[strlen(dir)], '/');
    CU_ASSERT_EQUAL(path_exe_dir(dir, 4), -ENAMETOOLONG);
}

/* root/ with: etc/, usr/bin/, bin -> usr/bin (relative, stays inside),
 * up -> ../.. (climbs out), abs -> /etc (absolute, resolved on the host). */
static char *make_root(int *fd)
{
    char *dir = unit_tmpdir(), path[PATH_MAX];

    PATHF(path, "%s/etc", dir);
    CU_ASSERT_FATAL(mkdir(path, 0755) == 0);
    PATHF(path, "%s/usr", dir);
    CU_ASSERT_FATAL(mkdir(path, 0755) == 0);
    PATHF(path, "%s/usr/bin", dir);
    CU_ASSERT_FATAL(mkdir(path, 0755) == 0);
    PATHF(path, "%s/bin", dir);
    CU_ASSERT_FATAL(symlink("usr/bin", path) == 0);
    PATHF(path, "%s/up", dir);
    CU_ASSERT_FATAL(symlink("../..", path) == 0);
    PATHF(path, "%s/abs", dir);
    CU_ASSERT_FATAL(symlink("/etc", path) == 0);
    *fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    CU_ASSERT_FATAL(*fd >= 0);
    return dir;
}

static bool exists(const char *dir, const char *rel, mode_t type)
{
    char path[PATH_MAX];
    struct stat st;

    PATHF(path, "%s/%s", dir, rel);
    return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == type;
}

static void open_beneath_creates_what_is_missing(void)
{
    int root, fd;
    char *dir = make_root(&root);

    fd = path_open_beneath(root, "/data/deep/er", true);
    CU_ASSERT(fd >= 0);
    CU_ASSERT_TRUE(exists(dir, "data/deep/er", S_IFDIR));
    close(fd);
    fd = path_open_beneath(root, "/etc/app.conf", false);
    CU_ASSERT(fd >= 0);
    CU_ASSERT_TRUE(exists(dir, "etc/app.conf", S_IFREG));
    close(fd);
    /* existing: opened as is */
    fd = path_open_beneath(root, "etc", true);
    CU_ASSERT(fd >= 0);
    close(fd);
    /* a relative symlink that stays inside is followed */
    fd = path_open_beneath(root, "/bin/tool", true);
    CU_ASSERT(fd >= 0);
    CU_ASSERT_TRUE(exists(dir, "usr/bin/tool", S_IFDIR));
    close(fd);
    close(root);
    unit_tmpdir_remove(dir);
}

static void open_beneath_never_leaves_the_root(void)
{
    int root;
    char *dir = make_root(&root);

    CU_ASSERT_EQUAL(path_open_beneath(root, "/up/escaped", true), -EXDEV);
    CU_ASSERT_EQUAL(path_open_beneath(root, "/abs/escaped", true), -EXDEV);
    CU_ASSERT_EQUAL(path_open_beneath(root, "/../escaped", true), -EXDEV);
    CU_ASSERT_EQUAL(path_open_beneath(root, "/", true), -EINVAL);
    CU_ASSERT_EQUAL(path_open_beneath(root, "", true), -EINVAL);
    CU_ASSERT_EQUAL(access("/etc/escaped", F_OK), -1);
    close(root);
    unit_tmpdir_remove(dir);
}

static const struct unit_test tests[] = {
    { "join and printf refuse truncation", join_and_printf_refuse_truncation },
    { "exe_dir is where this program is", exe_dir_is_where_this_program_is },
    { "open_beneath creates what is missing", open_beneath_creates_what_is_missing },
    { "open_beneath never leaves the root", open_beneath_never_leaves_the_root },
    { NULL, NULL },
};
UNIT_SUITE("path", tests)
