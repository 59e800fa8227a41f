/* test_ns.c - namespace identities and the safety net built on them. */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "unit.h"

static void snapshot_matches_proc(void)
{
    struct ns_ids ids;
    struct stat st;

    CU_ASSERT_EQUAL_FATAL(ns_snapshot(&ids), 0);
    CU_ASSERT_EQUAL_FATAL(stat("/proc/self/ns/pid", &st), 0);
    CU_ASSERT_EQUAL(ids.ino[0], st.st_ino); /* the table's order: pid, mnt, uts, net, ... */
    CU_ASSERT_EQUAL_FATAL(stat("/proc/self/ns/mnt", &st), 0);
    CU_ASSERT_EQUAL(ids.ino[1], st.st_ino);
    CU_ASSERT_EQUAL_FATAL(stat("/proc/self/ns/net", &st), 0);
    CU_ASSERT_EQUAL(ids.ino[3], st.st_ino);
}

static void same_namespaces_are_named(void)
{
    struct ns_ids host;

    CU_ASSERT_EQUAL_FATAL(ns_snapshot(&host), 0);
    CU_ASSERT_STRING_EQUAL(ns_not_new(&host, CLONE_NEWNS), "CLONE_NEWNS");
    CU_ASSERT_STRING_EQUAL(ns_not_new(&host, CLONE_NEWUTS | CLONE_NEWNET), "CLONE_NEWUTS");
    CU_ASSERT_STRING_EQUAL(ns_not_new(&host, CLONE_NEWNET), "CLONE_NEWNET");
    CU_ASSERT_PTR_NULL(ns_not_new(&host, 0));
}

static void different_namespaces_pass(void)
{
    struct ns_ids other;

    CU_ASSERT_EQUAL_FATAL(ns_snapshot(&other), 0);
    for (int i = 0; i < NS_KINDS; i++)
        other.ino[i] += 1; /* as a parent in other namespaces would see it */
    CU_ASSERT_PTR_NULL(ns_not_new(&other, CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWNET));
}

static void flags_have_names(void)
{
    CU_ASSERT_STRING_EQUAL(ns_flag_names(SIGCHLD), "no new namespace");
    CU_ASSERT_STRING_EQUAL(ns_flag_names(CLONE_NEWPID | SIGCHLD), "CLONE_NEWPID");
    CU_ASSERT_STRING_EQUAL(ns_flag_names(CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWNS | CLONE_NEWPID),
                           "CLONE_NEWPID|CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWNET");
    CU_ASSERT_STRING_EQUAL(ns_flag_names(CLONE_NEWCGROUP | CLONE_NEWUSER | CLONE_NEWIPC),
                           "CLONE_NEWIPC|CLONE_NEWUSER|CLONE_NEWCGROUP");
}

static const struct unit_test tests[] = {
    { "a snapshot matches /proc/self/ns", snapshot_matches_proc },
    { "shared namespaces are named", same_namespaces_are_named },
    { "new namespaces pass", different_namespaces_pass },
    { "flags have names", flags_have_names },
    { NULL, NULL },
};
UNIT_SUITE("ns", tests)
