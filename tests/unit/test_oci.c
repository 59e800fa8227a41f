/*
 * test_oci.c - config.json read into struct oci_config, the refusals by
 * name, OCI seccomp profiles compiled, runc's signal names, and groups at
 * an OCI cgroupsPath (step 17).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

static const char *full_config =
    "{ \"ociVersion\": \"1.0.2\", \"hostname\": \"h1\",\n"
    "  \"root\": { \"path\": \"rootfs\", \"readonly\": true },\n"
    "  \"process\": { \"args\": [\"sh\", \"-c\", \"true\"], \"env\": [\"A=1\"],"
    " \"cwd\": \"/tmp\",\n"
    "    \"user\": { \"uid\": 1000, \"gid\": 1001, \"additionalGids\": [5, 6], \"umask\": 18 },\n"
    "    \"noNewPrivileges\": true, \"oomScoreAdj\": 100,\n"
    "    \"capabilities\": { \"bounding\": [\"CAP_KILL\", \"CAP_NO_SUCH\"],\n"
    "                        \"ambient\": [\"CAP_KILL\"] },\n"
    "    \"rlimits\": [ { \"type\": \"RLIMIT_NOFILE\", \"soft\": 10, \"hard\": 20 } ] },\n"
    "  \"mounts\": [ { \"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\",\n"
    "                  \"options\": [\"nosuid\", \"mode=755\", \"size=64k\", \"rprivate\"] },\n"
    "                { \"destination\": \"/data\", \"source\": \"/srv\",\n"
    "                  \"options\": [\"rbind\", \"ro\"] } ],\n"
    "  \"annotations\": { \"a\": \"b\" },\n"
    "  \"linux\": { \"namespaces\": [ { \"type\": \"mount\" }, { \"type\": \"uts\" },\n"
    "                 { \"type\": \"network\", \"path\": \"/proc/1/ns/net\" } ],\n"
    "    \"maskedPaths\": [\"/proc/kcore\"], \"readonlyPaths\": [\"/proc/sys\"],\n"
    "    \"sysctl\": { \"net.ipv4.ip_forward\": \"1\" },\n"
    "    \"devices\": [ { \"path\": \"/dev/fuse\", \"type\": \"c\", \"major\": 10,"
    " \"minor\": 229 } ],\n"
    "    \"cgroupsPath\": \"/default/c1\",\n"
    "    \"resources\": { \"memory\": { \"limit\": 67108864, \"swap\": -1 },\n"
    "                   \"cpu\": { \"quota\": 50000, \"period\": 100000, \"shares\": 1024 },\n"
    "                   \"pids\": { \"limit\": 0 } } } }\n";

/* A bundle in a fresh directory: config.json as given, and a rootfs. */
static char *bundle(const char *config)
{
    char *dir = unit_tmpdir(), rootfs[PATH_MAX];

    unit_write(dir, "config.json", config);
    PATHF(rootfs, "%s/rootfs", dir);
    CU_ASSERT_FATAL(mkdir(rootfs, 0755) == 0);
    return dir;
}

static void reads_every_field_it_knows(void)
{
    char *dir = bundle(full_config), rootfs[PATH_MAX];
    struct oci_config cfg;

    CU_ASSERT_EQUAL_FATAL(oci_read(&cfg, dir), 0);
    PATHF(rootfs, "%s/rootfs", dir);
    CU_ASSERT_STRING_EQUAL(cfg.rootfs_real, rootfs);
    CU_ASSERT(cfg.readonly_root);
    CU_ASSERT_STRING_EQUAL(cfg.hostname, "h1");
    CU_ASSERT_STRING_EQUAL(cfg.process.args[2], "true");
    CU_ASSERT_PTR_NULL(cfg.process.args[3]);
    CU_ASSERT_STRING_EQUAL(cfg.process.env[0], "A=1");
    CU_ASSERT_STRING_EQUAL(cfg.process.cwd, "/tmp");
    CU_ASSERT_EQUAL(cfg.process.uid, 1000);
    CU_ASSERT_EQUAL(cfg.process.gid, 1001);
    CU_ASSERT_EQUAL(cfg.process.ngroups, 2);
    CU_ASSERT_EQUAL(cfg.process.umask, 18);
    CU_ASSERT(cfg.process.no_new_privs);
    CU_ASSERT_EQUAL(cfg.process.oom_score_adj, 100);
    CU_ASSERT_EQUAL(cfg.process.caps[OCI_BOUNDING], 1ULL << 5); /* an unknown name is skipped */
    CU_ASSERT_EQUAL(cfg.process.caps[OCI_AMBIENT], 1ULL << 5);
    CU_ASSERT_EQUAL(cfg.process.caps[OCI_EFFECTIVE], 0);
    CU_ASSERT_EQUAL(cfg.process.rlimits[0].limit.rlim_cur, 10);
    CU_ASSERT_EQUAL(cfg.nmounts, 2);
    CU_ASSERT_EQUAL(cfg.mounts[0].flags, MS_NOSUID);
    CU_ASSERT_STRING_EQUAL(cfg.mounts[0].data, "mode=755,size=64k");
    CU_ASSERT_EQUAL(cfg.mounts[0].propagation, MS_PRIVATE | MS_REC);
    CU_ASSERT(cfg.mounts[1].bind);
    CU_ASSERT_EQUAL(cfg.mounts[1].flags, MS_BIND | MS_REC | MS_RDONLY);
    CU_ASSERT_EQUAL(cfg.ns_new, CLONE_NEWNS | CLONE_NEWUTS);
    CU_ASSERT_EQUAL(cfg.ns_joined, CLONE_NEWNET);
    CU_ASSERT_STRING_EQUAL(cfg.join[0].path, "/proc/1/ns/net");
    CU_ASSERT_STRING_EQUAL(cfg.masked[0], "/proc/kcore");
    CU_ASSERT_STRING_EQUAL(cfg.sysctl[0].key, "net.ipv4.ip_forward");
    CU_ASSERT_EQUAL(cfg.devices[0].minor, 229);
    CU_ASSERT_STRING_EQUAL(cfg.cgroups_path, "/default/c1");
    CU_ASSERT_EQUAL(cfg.memory_bytes, 64LL << 20);
    CU_ASSERT_EQUAL(cfg.memory_swap_bytes, LAB_UNLIMITED);
    CU_ASSERT_EQUAL(cfg.cpu_quota_us, 50000);
    CU_ASSERT_EQUAL(cfg.pids_limit, LAB_UNLIMITED);
    CU_ASSERT_STRING_EQUAL(cfg.annotations, "{\"a\":\"b\"}");
    oci_free(&cfg);
    unit_tmpdir_remove(dir);
}

/* The config with one change, and the words its refusal must hold. */
static void refused(const char *from, const char *to, const char *words)
{
    char config[4096], *at;
    struct oci_config cfg;

    snprintf(config, sizeof(config), "%s", full_config);
    CU_ASSERT_PTR_NOT_NULL_FATAL(at = strstr(config, from));
    memmove(at + strlen(to), at + strlen(from), strlen(at + strlen(from)) + 1);
    memcpy(at, to, strlen(to));
    char *dir = bundle(config);

    CU_ASSERT_EQUAL(oci_read(&cfg, dir), -EINVAL);
    if (!strstr(cfg.error, words))
        fprintf(stderr, "\n  refusal %s lacks \"%s\"\n", cfg.error, words);
    CU_ASSERT_PTR_NOT_NULL(strstr(cfg.error, words));
    oci_free(&cfg);
    unit_tmpdir_remove(dir);
}

static void refuses_what_it_cannot_do_by_name(void)
{
    refused("\"hostname\": \"h1\",", "\"hooks\": { \"prestart\": [ {} ] },",
            "hooks.prestart[].path: must be an absolute path");
    refused("\"hostname\": \"h1\",", "\"solaris\": { \"milestone\": \"x\" },",
            "solaris: not supported");
    refused("\"cgroupsPath\"", "\"intelRdt\": { \"closID\": \"x\" }, \"cgroupsPath\"",
            "linux.intelRdt: not supported");
    refused("\"1.0.2\"", "\"2.0.0\"", "ociVersion: 2.0.0");
    refused("[\"sh\", \"-c\", \"true\"]", "\"sh\"", "process.args: must be");
    refused("\"rootfs\", \"readonly\"", "\"gone\", \"readonly\"", "root.path");
    refused("{ \"type\": \"uts\" }", "{ \"type\": \"utz\" }", "unknown type \"utz\"");
    refused("RLIMIT_NOFILE", "RLIMIT_NOPE", "unknown type \"RLIMIT_NOPE\"");
    refused("\"shares\": 1024", "\"shares\": 512", "linux.resources.cpu.shares: not supported");
    refused("{ \"type\": \"mount\" },", "", "no mount namespace");
    refused("\"1.0.2\", \"hostname\"", "\"1.0.2\" \"hostname\"", "json");
}

static void compiles_a_seccomp_profile(void)
{
    char err[256] = "";
    const char *good = "{ \"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 38,"
                       "  \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\"],"
                       "  \"syscalls\": [ { \"names\": [\"read\", \"no_such_call\"],"
                       "                   \"action\": \"SCMP_ACT_ALLOW\" },"
                       "                 { \"names\": [\"personality\"],"
                       " \"action\": \"SCMP_ACT_ALLOW\","
                       "                   \"args\": [ { \"index\": 0, \"value\": 8,"
                       " \"op\": \"SCMP_CMP_EQ\" },"
                       "                               { \"index\": 0, \"value\": 0,"
                       " \"op\": \"SCMP_CMP_EQ\" } ] } ] }";
    char *dir = unit_tmpdir(), config[PATH_MAX];
    struct oci_config cfg;

    unit_write(dir, "p.json", good);
    PATHF(config, "%s/p.json", dir);
    CU_ASSERT_EQUAL_FATAL(oci_read_process(&cfg, config, &cfg.process), -EINVAL); /* no args */
    void *json = cfg.json;

    void *filter = oci_seccomp_compile(json, err, sizeof(err));

    CU_ASSERT_PTR_NOT_NULL(filter);
    CU_ASSERT_STRING_EQUAL(err, "");
    oci_seccomp_release(filter);
    oci_free(&cfg);
    unit_write(dir, "p.json", "{ \"defaultAction\": \"SCMP_ACT_NOTIFY\" }");
    CU_ASSERT_EQUAL(oci_read_process(&cfg, config, &cfg.process), -EINVAL);
    CU_ASSERT_PTR_NULL(oci_seccomp_compile(cfg.json, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "defaultAction"));
    oci_free(&cfg);
    unit_tmpdir_remove(dir);
}

static void parses_signals_as_runc(void)
{
    CU_ASSERT_EQUAL(rt_parse_signal("KILL"), SIGKILL);
    CU_ASSERT_EQUAL(rt_parse_signal("SIGKILL"), SIGKILL);
    CU_ASSERT_EQUAL(rt_parse_signal("sigusr1"), SIGUSR1);
    CU_ASSERT_EQUAL(rt_parse_signal("15"), SIGTERM);
    CU_ASSERT_EQUAL(rt_parse_signal("0"), -EINVAL);
    CU_ASSERT_EQUAL(rt_parse_signal("NOPE"), -EINVAL);
    CU_ASSERT_EQUAL(rt_parse_signal(""), -EINVAL);
}

static void knows_which_namespace_a_sysctl_is_in(void)
{
    CU_ASSERT_EQUAL(oci_sysctl_namespace("net.ipv4.ip_forward"), CLONE_NEWNET);
    CU_ASSERT_EQUAL(oci_sysctl_namespace("kernel.shmmax"), CLONE_NEWIPC);
    CU_ASSERT_EQUAL(oci_sysctl_namespace("fs.mqueue.msg_max"), CLONE_NEWIPC);
    CU_ASSERT_EQUAL(oci_sysctl_namespace("kernel.domainname"), CLONE_NEWUTS);
    CU_ASSERT_EQUAL(oci_sysctl_namespace("kernel.panic"), 0);
    CU_ASSERT_EQUAL(oci_sysctl_namespace("vm.swappiness"), 0);
}

static void makes_a_group_at_a_cgroups_path(void)
{
    char *root = unit_tmpdir(), group[PATH_MAX], parent[PATH_MAX];
    struct cg_layout l = { .version = CG_V1, .controller = "pids" };
    struct cg_group g;

    snprintf(l.root, sizeof(l.root), "%s", root);
    CU_ASSERT_EQUAL_FATAL(cg_create_at(&g, &l, "/default/web"), 0);
    PATHF(group, "%s/default/web", root);
    PATHF(parent, "%s/default", root);
    CU_ASSERT_STRING_EQUAL(g.path, group);
    CU_ASSERT_EQUAL(cg_create_at(&g, &l, "/default/web"), 0); /* empty: taken again */
    CU_ASSERT_EQUAL(cg_create_at(&g, &l, "/a/../b"), -EINVAL);
    CU_ASSERT_EQUAL(cg_create_at(&g, &l, "/"), -EINVAL);
    CU_ASSERT_EQUAL(cg_remove_path(group), 0);
    CU_ASSERT_NOT_EQUAL(access(group, F_OK), 0);
    CU_ASSERT_NOT_EQUAL(access(parent, F_OK), 0); /* the empty parent goes too */
    unit_tmpdir_remove(root);
}

static const struct unit_test tests[] = {
    { "reads every field it knows", reads_every_field_it_knows },
    { "refuses what it cannot do, by name", refuses_what_it_cannot_do_by_name },
    { "compiles a seccomp profile", compiles_a_seccomp_profile },
    { "parses signals as runc", parses_signals_as_runc },
    { "knows which namespace a sysctl is in", knows_which_namespace_a_sysctl_is_in },
    { "makes a group at a cgroupsPath", makes_a_group_at_a_cgroups_path },
    { NULL, NULL },
};
UNIT_SUITE("oci", tests);
