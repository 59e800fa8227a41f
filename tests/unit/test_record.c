/* test_record.c - names, and the record a named container leaves for exec. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

static const char *unique(const char *what)
{
    static char buf[64];

    snprintf(buf, sizeof(buf), "unit-%s-%d", what, (int)getpid());
    return buf;
}

static void names_as_docker_takes_them(void)
{
    const char *ok[] = { "web", "a", "web-1.test_2", "0day" };
    const char *bad[] = {"",   "/",  "a/b", "..",    ".hidden",
                         "-x", "_x", "a b", "tab\t", "\xc3\xa9t\xc3\xa9"};
    char long_name[LAB_NAME_MAX + 2];
    const char *why;

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        CU_ASSERT_EQUAL(record_check_name(ok[i], &why), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CU_ASSERT_EQUAL(record_check_name(bad[i], &why), -EINVAL);
    memset(long_name, 'n', sizeof(long_name));
    long_name[LAB_NAME_MAX] = '\0';
    CU_ASSERT_EQUAL(record_check_name(long_name, &why), 0);
    long_name[LAB_NAME_MAX] = 'n';
    long_name[LAB_NAME_MAX + 1] = '\0';
    CU_ASSERT_EQUAL(record_check_name(long_name, &why), -EINVAL);
}

static void a_start_time_names_a_process(void)
{
    CU_ASSERT_TRUE(record_start_time(getpid()) > 0);
    CU_ASSERT_EQUAL(record_start_time(getpid()), record_start_time(getpid()));
    CU_ASSERT_EQUAL(record_start_time(0), 0);
    CU_ASSERT_EQUAL(record_start_time(-1), 0);
    CU_ASSERT_EQUAL(record_start_time(1 << 30), 0);
}

static void claim_write_read_remove(void)
{
    const char *name = unique("rw");
    struct lab_record r = {.pid = getpid(),
                           .lab = getpid(),
                           .cap_add = 1ULL << 21,
                           .seccomp_unconfined = true,
                           .uid = 100000,
                           .gid = 100001,
                           .ncgroups = 2};
    struct lab_record back;
    int removed;

    r.start = r.lab_start = record_start_time(getpid());
    strcpy(r.cgroups[0], "/sys/fs/cgroup/cpu/lab/1");
    strcpy(r.cgroups[1], "/sys/fs/cgroup/pids/lab/1");
    r.env[r.nenv++] = "A=1";
    r.env[r.nenv++] = "MULTI=line one\nline \\two";
    CU_ASSERT_EQUAL_FATAL(record_claim(name, "", &removed), 0);
    CU_ASSERT_EQUAL(record_claim(name, "", &removed), -EEXIST);
    CU_ASSERT_EQUAL(record_read(name, &back), -EAGAIN); /* claimed, not set up */
    CU_ASSERT_EQUAL(record_write(name, &r), 0);
    CU_ASSERT_EQUAL_FATAL(record_read(name, &back), 0);
    CU_ASSERT_EQUAL(back.pid, getpid());
    CU_ASSERT_EQUAL(back.start, r.start);
    CU_ASSERT_EQUAL(back.cap_add, r.cap_add);
    CU_ASSERT_TRUE(back.seccomp_unconfined && !back.privileged);
    CU_ASSERT_EQUAL(back.uid, 100000);
    CU_ASSERT_EQUAL(back.gid, 100001);
    CU_ASSERT_EQUAL_FATAL(back.ncgroups, 2);
    CU_ASSERT_STRING_EQUAL(back.cgroups[1], r.cgroups[1]);
    CU_ASSERT_EQUAL_FATAL(back.nenv, 2);
    CU_ASSERT_STRING_EQUAL(back.env[1], r.env[1]);
    CU_ASSERT_EQUAL(record_remove(name), 0);
    CU_ASSERT_EQUAL(record_read(name, &back), -ENOENT);
    CU_ASSERT_EQUAL(record_remove(name), 0); /* gone already is fine */
}

/* A lab process that died without cleaning up: its record is stale. */
static void a_dead_lab_process_leaves_a_stale_record(void)
{
    const char *name = unique("stale");
    struct lab_record back;
    char path[PATH_MAX];
    int removed, status;
    pid_t pid = fork();

    if (pid == 0)
        _exit(record_claim(name, "", &removed) == 0 ? 0 : 1);
    CU_ASSERT_EQUAL_FATAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT_TRUE_FATAL(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    snprintf(path, sizeof(path), "%s/%s", record_dir((char[PATH_MAX]){ 0 }, PATH_MAX), name);
    CU_ASSERT_EQUAL(access(path, F_OK), 0);
    CU_ASSERT_EQUAL(record_read(name, &back), -ESRCH);
    CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0); /* removed */
    CU_ASSERT_EQUAL(record_claim(name, "", &removed), 0);
    CU_ASSERT_EQUAL(record_remove(name), 0);
}

static void options_go_there_and_back(void)
{
    struct lab_opts o = { .privileged = false, .cap_add = 1ULL << 25, .cap_drop = 1ULL << 13,
                          .cap_drop_all = true, .nenv = 3 };
    struct lab_opts back = { 0 };
    struct lab_record r = { 0 };

    o.uidmap[0].outside = o.gidmap[0].outside = 100000;
    o.env[0] = "A=1";
    o.env[1] = "UNIT_RECORD_FROM_HOST"; /* -e NAME: the host's value */
    o.env[2] = "UNIT_RECORD_UNSET";     /* not set on the host: left out */
    setenv("UNIT_RECORD_FROM_HOST", "hostvalue", 1);
    unsetenv("UNIT_RECORD_UNSET");
    record_set_options(&r, &o);
    record_get_options(&r, &back);
    CU_ASSERT_EQUAL(caps_of(&back), caps_of(&o));
    CU_ASSERT_EQUAL(back.uidmap[0].outside, 100000);
    CU_ASSERT_EQUAL_FATAL(back.nenv, 2);
    CU_ASSERT_STRING_EQUAL(back.env[0], "A=1");
    CU_ASSERT_STRING_EQUAL(back.env[1], "UNIT_RECORD_FROM_HOST=hostvalue");
    unsetenv("UNIT_RECORD_FROM_HOST");
}

/* The one format: values escaped on the way out, refused when damaged. */
static void kv_lines_go_there_and_back(void)
{
    char buf[128], text[128], *cursor = text, *key, *value;
    struct kv_out o;

    kv_init(&o, buf, sizeof(buf));
    kv_put(&o, "a", "%d", 12);
    kv_put(&o, "b", "%s", "two\nlines \\ and=more");
    CU_ASSERT_FALSE(o.overflow);
    CU_ASSERT_STRING_EQUAL(buf, "a=12\nb=two\\nlines \\\\ and=more\n");
    strcpy(text, buf);
    CU_ASSERT_EQUAL(kv_next(&cursor, &key, &value), 1);
    CU_ASSERT_STRING_EQUAL(key, "a");
    CU_ASSERT_STRING_EQUAL(value, "12");
    CU_ASSERT_EQUAL(kv_next(&cursor, &key, &value), 1);
    CU_ASSERT_STRING_EQUAL(value, "two\nlines \\ and=more");
    CU_ASSERT_EQUAL(kv_next(&cursor, &key, &value), 0);
    kv_init(&o, buf, 8);
    kv_put(&o, "long", "%s", "does not fit");
    CU_ASSERT_TRUE(o.overflow);
    CU_ASSERT_EQUAL(kv_write("/nonexistent/x", &o), -EOVERFLOW);
}

static void kv_damage_is_refused(void)
{
    const char *bad[] = { "no equals\n", "=value\n", "a=bad \\x escape\n", "a=cut short" };
    unsigned long long n;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[64], *cursor = text, *key, *value;

        strcpy(text, bad[i]);
        CU_ASSERT_EQUAL(kv_next(&cursor, &key, &value), -EBADMSG);
    }
    CU_ASSERT_EQUAL(kv_number("42", 10, 100, &n), 0);
    CU_ASSERT_EQUAL(n, 42);
    CU_ASSERT_EQUAL(kv_number("ff", 16, 255, &n), 0);
    CU_ASSERT_EQUAL(kv_number("101", 10, 100, &n), -EBADMSG);
    CU_ASSERT_EQUAL(kv_number("", 10, 100, &n), -EBADMSG);
    CU_ASSERT_EQUAL(kv_number(" 1", 10, 100, &n), -EBADMSG);
    CU_ASSERT_EQUAL(kv_number("-1", 10, 100, &n), -EBADMSG);
    CU_ASSERT_EQUAL(kv_number("1x", 10, 100, &n), -EBADMSG);
    CU_ASSERT_EQUAL(kv_number("99999999999999999999999", 10, ULLONG_MAX, &n), -EBADMSG);
}

/* A record someone else wrote over: one clear answer, never a pid of 0. */
static void a_damaged_record_is_refused(void)
{
    const char *name = unique("damaged");
    const char *damage[] = {"lab=%d\nlabstart=%llu\npid=0\n", "lab=%d\nlabstart=%llu\npid=x\n",
                            "lab=%d\nlabstart=%llu\nbogus=1\n",
                            "lab=%d\nlabstart=%llu\nprivileged=2\n"};
    char dir[PATH_MAX], path[PATH_MAX];
    struct lab_record back;
    int removed;

    for (size_t i = 0; i < sizeof(damage) / sizeof(damage[0]); i++) {
        FILE *f;

        CU_ASSERT_EQUAL_FATAL(record_claim(name, "", &removed), 0);
        snprintf(path, sizeof(path), "%s/%s", record_dir(dir, sizeof(dir)), name);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f = fopen(path, "w"));
        fprintf(f, damage[i], (int)getpid(), record_start_time(getpid()));
        fclose(f);
        CU_ASSERT_EQUAL(record_read(name, &back), -EBADMSG);
        CU_ASSERT_EQUAL(record_remove(name), 0);
    }
}

/* SIGKILL between a claim's open(2) and its write(2) leaves an empty file;
 * between a record's new copy and its rename, a .NAME.new: under the lock,
 * both are a dead writer's, and the sweep removes them. */
static void what_a_killed_writer_leaves_is_swept(void)
{
    const char *name = unique("killed");
    char dir[PATH_MAX], empty[PATH_MAX + 80], copy[PATH_MAX + 80];
    struct lab_record back;
    int removed, fd, lock = record_lock(); /* makes the directory */

    CU_ASSERT_TRUE_FATAL(lock >= 0);
    close(lock);
    record_dir(dir, sizeof(dir));
    snprintf(empty, sizeof(empty), "%s/%s", dir, name);
    snprintf(copy, sizeof(copy), "%s/.%s-gone.new", dir, name);
    CU_ASSERT_TRUE_FATAL((fd = open(empty, O_WRONLY | O_CREAT, 0644)) >= 0);
    close(fd);
    CU_ASSERT_TRUE_FATAL((fd = open(copy, O_WRONLY | O_CREAT, 0644)) >= 0);
    close(fd);
    CU_ASSERT_EQUAL(record_read(name, &back), -EAGAIN); /* being claimed, as exec sees it */
    CU_ASSERT_EQUAL(record_sweep(&removed), 0);
    CU_ASSERT_EQUAL(removed, 2);
    CU_ASSERT_NOT_EQUAL(access(empty, F_OK), 0);
    CU_ASSERT_NOT_EQUAL(access(copy, F_OK), 0);
}

static const struct unit_test tests[] = {
    { "names as docker takes them", names_as_docker_takes_them },
    { "a start time names a process", a_start_time_names_a_process },
    { "claim, write, read, remove", claim_write_read_remove },
    { "a dead lab process leaves a stale record", a_dead_lab_process_leaves_a_stale_record },
    { "options go there and back", options_go_there_and_back },
    { "kv lines go there and back", kv_lines_go_there_and_back },
    { "kv damage is refused", kv_damage_is_refused },
    { "a damaged record is refused", a_damaged_record_is_refused },
    { "what a killed writer leaves is swept", what_a_killed_writer_leaves_is_swept },
    { NULL, NULL },
};
UNIT_SUITE("record", tests)
