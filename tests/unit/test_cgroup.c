/*
 * test_cgroup.c - the cgroup module against fake cgroup trees.
 *
 * A fake tree is a temporary directory laid out like a cgroup mount. The
 * real filesystem creates a group's control files by itself on mkdir; here
 * the test plays the kernel's part and creates them between the calls, then
 * checks which files the module wrote and with what.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

/* dir/name, in a static buffer. */
static const char *in(const char *dir, const char *name)
{
    static char path[PATH_MAX];

    PATHF(path, "%s/%s", dir, name);
    return path;
}

static FILE *mountinfo(const char *text)
{
    return fmemopen((void *)text, strlen(text), "r");
}

static void detects_v1_and_hybrid_from_mountinfo(void)
{
    struct cg_layout l;
    FILE *f = mountinfo(
        "30 25 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n"
        "31 30 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
        "35 30 0:31 / /sys/fs/cgroup/cpuset rw shared:9 - cgroup cgroup rw,cpuset\n"
        "36 30 0:32 / /sys/fs/cgroup/cpu,cpuacct rw shared:10 - cgroup cgroup rw,cpu,cpuacct\n"
        "37 30 0:33 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n");

    CU_ASSERT_EQUAL(cg_detect_from(&l, "cpu", f), 0);
    CU_ASSERT_EQUAL(l.version, CG_V1);
    CU_ASSERT_STRING_EQUAL(l.root, "/sys/fs/cgroup/cpu,cpuacct");
    CU_ASSERT_STRING_EQUAL(l.controller, "cpu");
    rewind(f);
    CU_ASSERT_EQUAL(cg_detect_from(&l, "memory", f), 0);
    CU_ASSERT_STRING_EQUAL(l.root, "/sys/fs/cgroup/memory");
    rewind(f);
    CU_ASSERT_EQUAL(cg_detect_from(&l, "pids", f), -ENOENT);
    fclose(f);
}

static void detects_v2_where_it_holds_the_controller(void)
{
    char *dir = unit_tmpdir();
    char text[1024];
    struct cg_layout l;
    FILE *f;

    unit_write(dir, "cgroup.controllers", "cpuset cpu io memory pids\n");
    snprintf(text, sizeof(text),
             "30 25 0:26 / /nonexistent/unified rw - cgroup2 cgroup2 rw\n"
             "31 25 0:27 / %s rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n", dir);
    f = mountinfo(text);
    /* the first cgroup2 mount lacks the file (not a real mount here): skipped */
    CU_ASSERT_EQUAL(cg_detect_from(&l, "cpu", f), 0);
    CU_ASSERT_EQUAL(l.version, CG_V2);
    CU_ASSERT_STRING_EQUAL(l.root, dir);
    rewind(f);
    CU_ASSERT_EQUAL(cg_detect_from(&l, "hugetlb", f), -ENOENT);
    fclose(f);
    unit_tmpdir_remove(dir);
}

static void detects_this_machine(void)
{
    struct cg_layout l;
    int err = cg_detect(&l, "cpu");

    /* Whatever the layout, the answer must point at a real hierarchy. */
    CU_ASSERT(err == 0 || err == -ENOENT);
    if (err == 0) {
        char path[PATH_MAX];
        PATHF(path, "%s/cgroup.procs", l.root);
        CU_ASSERT_EQUAL(access(path, F_OK), 0);
    }
}

static struct cg_layout fake_layout(enum cg_version v, const char *root)
{
    struct cg_layout l = { .version = v };

    strcpy(l.controller, "cpu");
    snprintf(l.root, sizeof(l.root), "%s", root);
    return l;
}

static void v1_group_gets_period_quota_and_pid(void)
{
    char *root = unit_tmpdir(), group[PATH_MAX];
    struct cg_layout l = fake_layout(CG_V1, root);
    struct cg_group g = { .dir_fd = -1 };

    CU_ASSERT_EQUAL_FATAL(cg_create(&g, &l, "4242"), 0);
    PATHF(group, "%s/lab/4242", root);
    CU_ASSERT_STRING_EQUAL(g.path, group);
    CU_ASSERT(g.dir_fd >= 0);
    /* the kernel's part: the control files of a new group */
    unit_write(group, "cpu.cfs_period_us", "100000\n");
    unit_write(group, "cpu.cfs_quota_us", "-1\n");
    unit_write(group, "cgroup.procs", "");
    CU_ASSERT_EQUAL(cg_set_cpu_limit(&g, 20000, 100000), 0);
    CU_ASSERT_STRING_EQUAL(unit_read(group, "cpu.cfs_quota_us"), "20000");
    CU_ASSERT_STRING_EQUAL(unit_read(group, "cpu.cfs_period_us"), "100000");
    CU_ASSERT_EQUAL(cg_set_cpu_limit(&g, 0, 50000), 0);
    CU_ASSERT_STRING_EQUAL(unit_read(group, "cpu.cfs_quota_us"), "-1");
    CU_ASSERT_EQUAL(cg_add_pid(&g, 777), 0);
    CU_ASSERT_STRING_EQUAL(unit_read(group, "cgroup.procs"), "777");
    /* a write the kernel would refuse names its file */
    unlink(in(group, "cpu.cfs_quota_us"));
    CU_ASSERT_EQUAL(cg_set_cpu_limit(&g, 20000, 100000), -ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(g.what, "lab/4242/cpu.cfs_quota_us"));
    CU_ASSERT_EQUAL(cg_clone_into(&g, NULL, NULL, 0), -EOPNOTSUPP);
    /* removal: the kernel's files go with the group; then lab/ too */
    unlink(in(group, "cpu.cfs_period_us"));
    unlink(in(group, "cgroup.procs"));
    CU_ASSERT_EQUAL(cg_remove(&g), 0);
    CU_ASSERT_NOT_EQUAL(access(group, F_OK), 0);
    CU_ASSERT_NOT_EQUAL(access(in(root, "lab"), F_OK), 0);
    CU_ASSERT_EQUAL(cg_remove(&g), 0); /* twice is fine */
    unit_tmpdir_remove(root);
}

static void v2_group_enables_cpu_and_writes_cpu_max(void)
{
    char *root = unit_tmpdir(), lab[PATH_MAX], group[PATH_MAX];
    struct cg_layout l = fake_layout(CG_V2, root);
    struct cg_group g = { .dir_fd = -1 };

    unit_write(root, "cgroup.controllers", "cpu memory pids\n");
    unit_write(root, "cgroup.subtree_control", "memory\n");
    PATHF(lab, "%s/lab", root);
    CU_ASSERT_FATAL(mkdir(lab, 0755) == 0);
    unit_write(lab, "cgroup.subtree_control", "");
    CU_ASSERT_EQUAL_FATAL(cg_create(&g, &l, "99"), 0);
    CU_ASSERT_STRING_EQUAL(unit_read(root, "cgroup.subtree_control"), "+cpu");
    CU_ASSERT_STRING_EQUAL(unit_read(lab, "cgroup.subtree_control"), "+cpu");
    PATHF(group, "%s/99", lab);
    unit_write(group, "cpu.max", "max 100000\n");
    CU_ASSERT_EQUAL(cg_set_cpu_limit(&g, 50000, 100000), 0);
    CU_ASSERT_STRING_EQUAL(unit_read(group, "cpu.max"), "50000 100000");
    CU_ASSERT_EQUAL(cg_set_cpu_limit(&g, 0, 100000), 0);
    CU_ASSERT_STRING_EQUAL(unit_read(group, "cpu.max"), "max 100000");
    /* A further controller, the same directory: handed down to lab/ too
     * (the fake files keep the last write only). */
    struct cg_layout pids = fake_layout(CG_V2, root);

    snprintf(pids.controller, sizeof(pids.controller), "pids");
    CU_ASSERT_EQUAL(cg_add_controller(&g, &pids), 0);
    CU_ASSERT_STRING_EQUAL(unit_read(root, "cgroup.subtree_control"), "+pids");
    CU_ASSERT_STRING_EQUAL(unit_read(lab, "cgroup.subtree_control"), "+pids");
    CU_ASSERT_EQUAL(g.ndirs, 1);
    unlink(in(group, "cpu.max"));
    CU_ASSERT_EQUAL(cg_remove(&g), 0);
    unit_tmpdir_remove(root);
}

static void v2_leaves_enabled_controllers_alone(void)
{
    char *root = unit_tmpdir(), lab[PATH_MAX];
    struct cg_layout l = fake_layout(CG_V2, root);
    struct cg_group g = { .dir_fd = -1 };

    unit_write(root, "cgroup.subtree_control", "cpu memory\n");
    PATHF(lab, "%s/lab", root);
    CU_ASSERT_FATAL(mkdir(lab, 0755) == 0);
    unit_write(lab, "cgroup.subtree_control", "cpu\n");
    CU_ASSERT_EQUAL_FATAL(cg_create(&g, &l, "7"), 0);
    CU_ASSERT_STRING_EQUAL(unit_read(root, "cgroup.subtree_control"), "cpu memory\n");
    CU_ASSERT_STRING_EQUAL(unit_read(lab, "cgroup.subtree_control"), "cpu\n");
    CU_ASSERT_EQUAL(cg_remove(&g), 0);
    unit_tmpdir_remove(root);
}

static void a_stale_group_with_our_name_is_replaced(void)
{
    char *root = unit_tmpdir(), path[PATH_MAX];
    struct cg_layout l = fake_layout(CG_V1, root);
    struct cg_group g = { .dir_fd = -1 };

    PATHF(path, "%s/lab", root);
    mkdir(path, 0755);
    PATHF(path, "%s/lab/55", root);
    mkdir(path, 0755);
    CU_ASSERT_EQUAL(cg_create(&g, &l, "55"), 0);
    CU_ASSERT_EQUAL(cg_remove(&g), 0);
    /* but not one that still holds something (the kernel: tasks) */
    mkdir(in(root, "lab"), 0755);
    mkdir(path, 0755);
    unit_write(path, "busy", "");
    CU_ASSERT_EQUAL(cg_create(&g, &l, "55"), -EEXIST);
    CU_ASSERT_PTR_NOT_NULL(strstr(g.what, "mkdir"));
    unit_tmpdir_remove(root);
}

static void a_pods_container_goes_under_the_pods_group(void)
{
    char *root = unit_tmpdir(), path[PATH_MAX];
    struct cg_layout l = fake_layout(CG_V1, root);
    struct cg_group g = { .dir_fd = -1 };

    /* lab_start names the pod's group before the step's cg_create */
    snprintf(g.parent, sizeof(g.parent), "lab/pod-web");
    PATHF(path, "%s/lab/pod-web/999999", root); /* a killed container's, left behind */
    CU_ASSERT_EQUAL_FATAL(mkdir(in(root, "lab"), 0755), 0);
    CU_ASSERT_EQUAL_FATAL(mkdir(in(root, "lab/pod-web"), 0755), 0);
    CU_ASSERT_EQUAL_FATAL(mkdir(path, 0755), 0);
    CU_ASSERT_EQUAL_FATAL(cg_create(&g, &l, "4242"), 0);
    CU_ASSERT_EQUAL(g.stale_removed, 1);
    CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0);
    PATHF(path, "%s/lab/pod-web/4242", root);
    CU_ASSERT_STRING_EQUAL(g.path, path);
    /* the infra's group keeps the pod's while it runs */
    CU_ASSERT_EQUAL_FATAL(mkdir(in(root, "lab/pod-web/77"), 0755), 0);
    CU_ASSERT_EQUAL(cg_remove(&g), 0);
    CU_ASSERT_EQUAL(access(in(root, "lab/pod-web"), F_OK), 0);
    /* the pod's teardown: the infra's, the pod's, then lab/ */
    CU_ASSERT_EQUAL(cg_remove_pod(&l, "web", 77), 0);
    CU_ASSERT_NOT_EQUAL(access(in(root, "lab"), F_OK), 0);
    unit_tmpdir_remove(root);
}

static void stale_groups_of_dead_processes_are_removed(void)
{
    char *root = unit_tmpdir(), path[PATH_MAX];
    struct cg_layout l = fake_layout(CG_V1, root);
    const char *names[] = { "lab", "lab/999999", "lab/999998", "lab/1", "lab/notapid", NULL };
    char mine[16];
    int removed = -1;

    PATHF(mine, "%d", (int)getpid());
    for (int i = 0; names[i]; i++) {
        PATHF(path, "%s/%s", root, names[i]);
        mkdir(path, 0755);
    }
    PATHF(path, "%s/lab/%s", root, mine);
    mkdir(path, 0755);
    /* pid_max is at most 4194304; these two cannot be alive */
    CU_ASSERT_EQUAL(cg_remove_stale(&l, "none", &removed), 0);
    CU_ASSERT_EQUAL(removed, 2);
    PATHF(path, "%s/lab/1", root); /* init is alive: kept */
    CU_ASSERT_EQUAL(access(path, F_OK), 0);
    PATHF(path, "%s/lab/notapid", root);
    CU_ASSERT_EQUAL(access(path, F_OK), 0);
    PATHF(path, "%s/lab/%s", root, mine);
    CU_ASSERT_EQUAL(access(path, F_OK), 0);
    PATHF(path, "%s/lab/999999", root);
    CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0);
    unit_tmpdir_remove(root);
    /* no lab/ at all: nothing to do */
    struct cg_layout none = fake_layout(CG_V1, "/nonexistent");
    CU_ASSERT_EQUAL(cg_remove_stale(&none, "x", &removed), 0);
    CU_ASSERT_EQUAL(removed, 0);
}

static void missing_hierarchy_is_reported(void)
{
    struct cg_layout l = fake_layout(CG_V1, "/nonexistent/cgroup");
    struct cg_group g = { .dir_fd = -1 };

    CU_ASSERT_EQUAL(cg_create(&g, &l, "1"), -ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(g.what, "mkdir /nonexistent/cgroup/lab"));
    CU_ASSERT_STRING_EQUAL(cg_version_name(CG_V2), "cgroup v2");
    CU_ASSERT_STRING_EQUAL(cg_version_name(CG_V1), "cgroup v1");
}

static const struct unit_test tests[] = {
    { "v1 and hybrid from mountinfo", detects_v1_and_hybrid_from_mountinfo },
    { "v2 where it holds the controller", detects_v2_where_it_holds_the_controller },
    { "this machine's layout", detects_this_machine },
    { "v1: period, quota, pid", v1_group_gets_period_quota_and_pid },
    { "v2: +cpu, cpu.max", v2_group_enables_cpu_and_writes_cpu_max },
    { "v2: enabled controllers left alone", v2_leaves_enabled_controllers_alone },
    { "a stale group with our name", a_stale_group_with_our_name_is_replaced },
    { "stale groups of dead processes", stale_groups_of_dead_processes_are_removed },
    { "a pod's container under the pod's group", a_pods_container_goes_under_the_pods_group },
    { "a missing hierarchy is reported", missing_hierarchy_is_reported },
    { NULL, NULL },
};
UNIT_SUITE("cgroup", tests)
