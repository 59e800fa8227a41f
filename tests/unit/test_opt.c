/* test_opt.c - the shared option parser, step by step. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

static struct lab_opts o;
static char err[512];

/* Parses a NULL-terminated list of arguments as step `step` would: the
 * options, then (lab_start does the root check between the two) the
 * defaults. */
static enum opt_result parse(int step, ...)
{
    static char *argv[32];
    enum opt_result r;
    va_list ap;
    int argc = 0;

    argv[argc++] = "step";
    va_start(ap, step);
    while ((argv[argc] = va_arg(ap, char *)))
        argc++;
    va_end(ap);
    err[0] = '\0';
    r = opt_parse(&o, step, argc, argv, err, sizeof(err));
    if (r == OPT_RUN && opt_defaults(&o, step, err, sizeof(err)) < 0)
        return OPT_ERROR;
    return r;
}

static void default_command_is_sh(void)
{
    CU_ASSERT_EQUAL(parse(1, NULL), OPT_RUN);
    CU_ASSERT_STRING_EQUAL(o.argv[0], "/bin/sh");
    CU_ASSERT_PTR_NULL(o.argv[1]);
    CU_ASSERT_FALSE(o.quiet);
    CU_ASSERT_EQUAL(o.cpu_quota_us, 0);
    CU_ASSERT_EQUAL(o.cpu_period_us, 100000);
}

static void parsing_stops_at_the_command(void)
{
    CU_ASSERT_EQUAL(parse(1, "-q", "ls", "-l", "--help", NULL), OPT_RUN);
    CU_ASSERT_TRUE(o.quiet);
    CU_ASSERT_STRING_EQUAL(o.argv[0], "ls");
    CU_ASSERT_STRING_EQUAL(o.argv[1], "-l");
    CU_ASSERT_STRING_EQUAL(o.argv[2], "--help");
    CU_ASSERT_EQUAL(parse(1, "--", "-q", NULL), OPT_RUN);
    CU_ASSERT_FALSE(o.quiet);
    CU_ASSERT_STRING_EQUAL(o.argv[0], "-q");
}

static void help_and_version(void)
{
    CU_ASSERT_EQUAL(parse(1, "--help", NULL), OPT_HELP);
    CU_ASSERT_EQUAL(parse(1, "-h", NULL), OPT_HELP);
    CU_ASSERT_EQUAL(parse(4, "-V", NULL), OPT_VERSION);
    CU_ASSERT_EQUAL(parse(8, "--version", NULL), OPT_VERSION);
}

static void abbreviations_are_unknown_options(void)
{
    CU_ASSERT_EQUAL(parse(16, "--priv", "true", NULL), OPT_ERROR);
    CU_ASSERT_STRING_EQUAL(err, "--priv: unknown option (see --help)");
    CU_ASSERT_EQUAL(parse(16, "--hostn=x", "true", NULL), OPT_ERROR);
    CU_ASSERT_STRING_EQUAL(err, "--hostn: unknown option (see --help)");
    setenv("LAB_ROOTFS", "/tmp", 1);
    CU_ASSERT_EQUAL(parse(5, "--hostname=x", "--quiet", "true", NULL), OPT_RUN);
    CU_ASSERT_STRING_EQUAL(o.hostname, "x");
    CU_ASSERT_EQUAL(parse(7, "--cpus", "0.5", "-q", "true", NULL), OPT_RUN);
    unsetenv("LAB_ROOTFS");
}

static void unknown_option_is_one_line(void)
{
    CU_ASSERT_EQUAL(parse(8, "--frobnicate", "true", NULL), OPT_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--frobnicate"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown option"));
    CU_ASSERT_PTR_NULL(strchr(err, '\n'));
    CU_ASSERT_EQUAL(parse(8, "-Z", NULL), OPT_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "-Z"));
}

static void a_value_for_a_flag_is_refused(void)
{
    setenv("LAB_ROOTFS", "/tmp", 1);
    CU_ASSERT_EQUAL(parse(8, "--init=1", NULL), OPT_ERROR);
    CU_ASSERT_EQUAL(parse(8, "--quiet=yes", NULL), OPT_ERROR);
    CU_ASSERT_STRING_EQUAL(err, "-q/--quiet: takes no value");
    CU_ASSERT_EQUAL(parse(5, "--net=bridge", NULL), OPT_ERROR); /* not known yet wins */
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "step 06 adds it"));
    unsetenv("LAB_ROOTFS");
}

static void errors_stay_on_one_line(void)
{
    setenv("LAB_ROOTFS", "/tmp", 1);
    /* found by fuzz_opt: a value with a newline in it */
    CU_ASSERT_EQUAL(parse(5, "--hostname", "Q51\xff\n", "ls", NULL), OPT_ERROR);
    CU_ASSERT_PTR_NULL(strchr(err, '\n'));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--hostname 'Q51\xff?'"));
    CU_ASSERT_EQUAL(parse(8, "--bad\nopt", NULL), OPT_ERROR);
    CU_ASSERT_PTR_NULL(strchr(err, '\n'));
    CU_ASSERT_EQUAL(parse(8, "-v", "/no\nsuch:/mnt", NULL), OPT_ERROR);
    CU_ASSERT_PTR_NULL(strchr(err, '\n'));
    /* found by fuzz_opt: an unknown short option that is a newline */
    CU_ASSERT_EQUAL(parse(6, "-q\n=r", NULL), OPT_ERROR);
    CU_ASSERT_PTR_NULL(strchr(err, '\n'));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "-?: unknown option"));
    unsetenv("LAB_ROOTFS");
}

static void later_options_name_their_step(void)
{
    CU_ASSERT_EQUAL(parse(2, "--rootfs", "/tmp", NULL), OPT_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "step 03 adds it"));
    CU_ASSERT_EQUAL(parse(4, "--hostname=x", NULL), OPT_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--hostname"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "step 05 adds it"));
    CU_ASSERT_EQUAL(parse(5, "--network", "bridge", NULL), OPT_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "step 06"));
    CU_ASSERT_EQUAL(parse(6, "--cpus", "1", NULL), OPT_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "step 07"));
    CU_ASSERT_EQUAL(parse(7, "-v", "/a:/b", NULL), OPT_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "-v"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "step 08"));
}

static void missing_value_names_the_option(void)
{
    setenv("LAB_ROOTFS", "/tmp", 1);
    CU_ASSERT_EQUAL(parse(5, "--hostname", NULL), OPT_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--hostname"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "needs a value"));
    CU_ASSERT_EQUAL(parse(8, "-v", NULL), OPT_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "needs a value"));
    unsetenv("LAB_ROOTFS");
}

static void rootfs_resolves_and_checks(void)
{
    char *dir = unit_tmpdir(), cwd[PATH_MAX], path[PATH_MAX];

    CU_ASSERT_FATAL(getcwd(cwd, sizeof(cwd)) != NULL);
    CU_ASSERT_EQUAL(parse(3, "--rootfs", dir, NULL), OPT_RUN);
    CU_ASSERT_STRING_EQUAL(o.rootfs, dir);
    /* relative, from wherever we are */
    CU_ASSERT_EQUAL(chdir("/tmp"), 0);
    CU_ASSERT_EQUAL(parse(3, "--rootfs", dir + strlen("/tmp/"), NULL), OPT_RUN);
    CU_ASSERT_STRING_EQUAL(o.rootfs, dir);
    CU_ASSERT_EQUAL(chdir(cwd), 0);
    /* missing, a file, empty, the host's root */
    PATHF(path, "%s/nope", dir);
    CU_ASSERT_EQUAL(parse(3, "--rootfs", path, NULL), OPT_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "No such file"));
    unit_write(dir, "file", "x");
    PATHF(path, "%s/file", dir);
    CU_ASSERT_EQUAL(parse(3, "--rootfs", path, NULL), OPT_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "Not a directory"));
    CU_ASSERT_EQUAL(parse(3, "--rootfs", "", NULL), OPT_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "empty"));
    CU_ASSERT_EQUAL(parse(3, "--rootfs", "/", NULL), OPT_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "host's own root"));
    unit_tmpdir_remove(dir);
}

static void rootfs_from_the_environment(void)
{
    char *dir = unit_tmpdir();

    setenv("LAB_ROOTFS", dir, 1);
    CU_ASSERT_EQUAL(parse(3, NULL), OPT_RUN);
    CU_ASSERT_STRING_EQUAL(o.rootfs, dir);
    CU_ASSERT_EQUAL(parse(3, "--rootfs", "/tmp", NULL), OPT_RUN); /* the option wins */
    CU_ASSERT_STRING_EQUAL(o.rootfs, "/tmp");
    setenv("LAB_ROOTFS", "/no/such/dir", 1);
    CU_ASSERT_EQUAL(parse(3, NULL), OPT_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "$LAB_ROOTFS"));
    unsetenv("LAB_ROOTFS");
    unit_tmpdir_remove(dir);
    CU_ASSERT_EQUAL(parse(2, NULL), OPT_RUN); /* before step 03: no rootfs at all */
    CU_ASSERT_STRING_EQUAL(o.rootfs, "");
}

static void last_value_wins_and_lists_add_up(void)
{
    setenv("LAB_ROOTFS", "/tmp", 1);
    CU_ASSERT_EQUAL(parse(8, "--hostname", "one", "--hostname", "two", "-e", "A=1", "--env",
                          "B=2", "-v", "/tmp:/a", "--volume", "/tmp:/b:ro", "--cpus", "0.5",
                          "--cpus", "1", NULL), OPT_RUN);
    CU_ASSERT_STRING_EQUAL(o.hostname, "two");
    CU_ASSERT_EQUAL(o.nenv, 2);
    CU_ASSERT_STRING_EQUAL(o.env[1], "B=2");
    CU_ASSERT_EQUAL(o.nvolumes, 2);
    CU_ASSERT_STRING_EQUAL(o.volumes[1].container, "/b");
    CU_ASSERT_TRUE(o.volumes[1].readonly);
    CU_ASSERT_EQUAL(o.cpu_quota_us, 100000);
    unsetenv("LAB_ROOTFS");
}

static void bad_values_are_refused_with_reasons(void)
{
    struct {
        int step;
        const char *opt, *value, *expect;
    } bad[] = {
        { 5, "--hostname", "bad_name", "--hostname 'bad_name'" },
        { 6, "--ip", "10.200.0.0/30", "network address" },
        { 7, "--cpu-period", "999", "1000..1000000" },
        { 7, "--cpu-period", "1000001", "out of range" },
        { 7, "--cpu-quota", "500", "1000 us" },
        { 7, "--cpu-quota", "abc", "whole number" },
        { 8, "-v", "rel:/data", "absolute host" },
        { 8, "-v", "/no/such/host/dir:/data", "No such file" },
        { 3, "-e", "=x", "empty name" },
        { 0, NULL, NULL, NULL },
    };

    setenv("LAB_ROOTFS", "/tmp", 1);
    for (int i = 0; bad[i].opt; i++) {
        CU_ASSERT_EQUAL(parse(bad[i].step, bad[i].opt, bad[i].value, NULL), OPT_ERROR);
        if (!strstr(err, bad[i].expect))
            fprintf(stderr, "\n%s %s: %s\n", bad[i].opt, bad[i].value, err);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].expect));
    }
    unsetenv("LAB_ROOTFS");
}

static void cpu_options_combine_as_in_docker(void)
{
    setenv("LAB_ROOTFS", "/tmp", 1);
    CU_ASSERT_EQUAL(parse(7, "--cpu-period", "50000", "--cpu-quota", "10000", NULL), OPT_RUN);
    CU_ASSERT_EQUAL(o.cpu_period_us, 50000);
    CU_ASSERT_EQUAL(o.cpu_quota_us, 10000);
    CU_ASSERT_EQUAL(parse(7, "--cpus", "0.5", "--cpu-quota", "10000", NULL), OPT_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot be combined"));
    CU_ASSERT_EQUAL(parse(7, "--cpu-period", "20000", "--cpus", "0.5", NULL), OPT_ERROR);
    unsetenv("LAB_ROOTFS");
}

static void ip_implies_net(void)
{
    setenv("LAB_ROOTFS", "/tmp", 1);
    CU_ASSERT_EQUAL(parse(6, "--ip", "10.200.9.6/30", NULL), OPT_RUN);
    CU_ASSERT_TRUE(o.net);
    CU_ASSERT_TRUE(o.ip_set);
    CU_ASSERT_EQUAL(o.ip.prefix, 30);
    CU_ASSERT_EQUAL(parse(6, "--network", "bridge", NULL), OPT_RUN);
    CU_ASSERT_TRUE(o.net);
    CU_ASSERT_FALSE(o.ip_set);
    unsetenv("LAB_ROOTFS");
}

/* --userns host (12 on): the identity map, and what it cannot go with. */
static void userns_host(void)
{
    setenv("LAB_ROOTFS", "/tmp", 1);
    CU_ASSERT_EQUAL(parse(11, "--userns", "host", NULL), OPT_ERROR);
    CU_ASSERT_STRING_EQUAL(err, "--userns: not known yet: step 12 adds it");
    CU_ASSERT_EQUAL(parse(12, "--userns", "bogus", NULL), OPT_ERROR);
    CU_ASSERT_STRING_EQUAL(err, "--userns bogus: only host is known (no user namespace)");
    if (geteuid() != 0) {
        CU_ASSERT_EQUAL(parse(12, "--userns", "host", NULL), OPT_ERROR);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "needs root"));
        unsetenv("LAB_ROOTFS");
        return;
    }
    CU_ASSERT_EQUAL(parse(12, "--userns", "host", NULL), OPT_RUN);
    CU_ASSERT_TRUE(o.userns_host && !o.rootless);
    CU_ASSERT_TRUE(o.nuidmap == 1 && o.uidmap[0].inside == 0 && o.uidmap[0].outside == 0 &&
                   o.uidmap[0].count == UINT32_MAX && o.gidmap[0].count == UINT32_MAX);
    CU_ASSERT_EQUAL(parse(12, "--userns", "host", "--gidmap", "0:100000:65536", NULL), OPT_ERROR);
    CU_ASSERT_STRING_EQUAL(err, "--gidmap: not with --userns host: there is no user namespace to "
                                "map");
    CU_ASSERT_EQUAL(parse(16, "--userns", "host", "--pod", "p", NULL), OPT_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not with --pod"));
    CU_ASSERT_EQUAL(parse(13, "--privileged", NULL), OPT_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--privileged: needs --userns host"));
    CU_ASSERT_EQUAL(parse(13, "--privileged", "--userns", "host", NULL), OPT_RUN);
    unsetenv("LAB_ROOTFS");
}

/* docker run's --network and --net: none, bridge, host (16 on). */
static void networks_as_docker_spells_them(void)
{
    setenv("LAB_ROOTFS", "/tmp", 1);
    CU_ASSERT_EQUAL(parse(6, "--net=bridge", NULL), OPT_RUN);
    CU_ASSERT_TRUE(o.net);
    CU_ASSERT_EQUAL(parse(6, "--net", "bridge", "--network", "none", NULL), OPT_RUN);
    CU_ASSERT_FALSE(o.net); /* the last one counts */
    CU_ASSERT_EQUAL(parse(6, "--network", "host", NULL), OPT_ERROR);
    CU_ASSERT_STRING_EQUAL(err, "--network host: not known yet: step 16 adds it");
    CU_ASSERT_EQUAL(parse(16, "--network", "host", "--userns", "host", NULL), OPT_RUN);
    CU_ASSERT_TRUE(o.host_network && !o.net && o.userns_host);
    /* As root, moby's rule under userns-remap: the host's network needs the host's ids. */
    if (geteuid() == 0) {
        CU_ASSERT_EQUAL(parse(16, "--network", "host", NULL), OPT_ERROR);
        CU_ASSERT_STRING_EQUAL(err, "--network host: needs --userns host: a user namespace "
                                    "cannot use the host's network");
    }
    CU_ASSERT_EQUAL(parse(6, "--net", "sh", NULL), OPT_ERROR);
    CU_ASSERT_STRING_EQUAL(err, "--net sh: unknown network: none, bridge "
                                "(a veth pair is --network bridge)");
    CU_ASSERT_EQUAL(parse(6, "--net", NULL), OPT_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--network bridge"));
    CU_ASSERT_EQUAL(parse(15, "--network", "container:web", NULL), OPT_ERROR);
    CU_ASSERT_STRING_EQUAL(err, "--network container:web: not known yet: step 16 adds it");
    CU_ASSERT_EQUAL(parse(16, "--network", "container:web", NULL), OPT_RUN);
    CU_ASSERT_STRING_EQUAL(o.net_container, "web");
    CU_ASSERT_FALSE(o.net || o.host_network);
    CU_ASSERT_EQUAL(parse(16, "--network", "container:web", "--network", "bridge", NULL), OPT_RUN);
    CU_ASSERT_STRING_EQUAL(o.net_container, ""); /* the last one counts */
    CU_ASSERT_EQUAL(parse(16, "--net=container:", NULL), OPT_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "invalid container format container:<name>"));
    CU_ASSERT_EQUAL(parse(16, "--network", "container:web", "--hostname", "h", NULL), OPT_ERROR);
    CU_ASSERT_STRING_EQUAL(err, "--network container:web: conflicting options: hostname and the "
                                "network mode");
    CU_ASSERT_EQUAL(parse(16, "--network", "container:web", "--pod", "p", NULL), OPT_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "pod and the network mode"));
    CU_ASSERT_EQUAL(parse(16, "--network", "container:web", "--uidmap", "0:100000:65536", NULL),
                    OPT_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "user namespace"));
    unsetenv("LAB_ROOTFS");
}

static void too_many_volumes_and_variables(void)
{
    static char *argv[2 * LAB_MAX_ENV + 4];
    int argc = 0;

    setenv("LAB_ROOTFS", "/tmp", 1);
    argv[argc++] = "step";
    for (int i = 0; i <= LAB_MAX_VOLUMES; i++) {
        argv[argc++] = "-v";
        argv[argc++] = "/tmp:/x";
    }
    argv[argc] = NULL;
    CU_ASSERT_EQUAL(opt_parse(&o, 8, argc, argv, err, sizeof(err)), OPT_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "more than 16 volumes"));
    argc = 1;
    for (int i = 0; i <= LAB_MAX_ENV; i++) {
        argv[argc++] = "-e";
        argv[argc++] = "A=1";
    }
    argv[argc] = NULL;
    CU_ASSERT_EQUAL(opt_parse(&o, 8, argc, argv, err, sizeof(err)), OPT_ERROR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "more than 64 variables"));
    unsetenv("LAB_ROOTFS");
}

static void usage_lists_only_known_options(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    opt_usage(f, 4);
    fclose(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "--rootfs"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "--quiet"));
    CU_ASSERT_PTR_NULL(strstr(text, "--hostname"));
    free(text);
}

/* exec [OPTIONS] NAME [--] COMMAND...: argv starts at "exec". */
static enum opt_result parse_exec(char *const *args)
{
    static char *argv[32];
    int argc = 0;

    argv[argc++] = "exec";
    while (args[argc - 1] && argc < 31) {
        argv[argc] = args[argc - 1];
        argc++;
    }
    argv[argc] = NULL;
    err[0] = '\0';
    return opt_parse_exec(&o, argc, argv, err, sizeof(err));
}

static void exec_takes_a_name_and_a_command(void)
{
    CU_ASSERT_EQUAL(parse_exec((char *[]){ "-q", "-e", "A=1", "web", "ls", "-l", NULL }), OPT_RUN);
    CU_ASSERT_TRUE(o.quiet);
    CU_ASSERT_STRING_EQUAL(o.name, "web");
    CU_ASSERT_EQUAL(o.nenv, 1);
    CU_ASSERT_STRING_EQUAL(o.argv[0], "ls");
    CU_ASSERT_STRING_EQUAL(o.argv[1], "-l");
    CU_ASSERT_EQUAL(parse_exec((char *[]){ "web", "--", "-x", NULL }), OPT_RUN);
    CU_ASSERT_STRING_EQUAL(o.argv[0], "-x");
    CU_ASSERT_EQUAL(parse_exec((char *[]){ "--help", NULL }), OPT_HELP);
}

static void exec_refusals_are_one_line(void)
{
    char *const cases[][4] = {
        { NULL }, { "web", NULL }, { "a/b", "ls", NULL }, { "--bogus", "web", "ls", NULL },
        { "-e", NULL }, { "", "ls", NULL },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CU_ASSERT_EQUAL(parse_exec(cases[i]), OPT_ERROR);
        CU_ASSERT_PTR_NULL(strchr(err, '\n'));
        CU_ASSERT_TRUE(strncmp(err, "exec", 4) == 0 || strncmp(err, "-e", 2) == 0);
    }
}

/* -q before a subcommand: moved after its name, where its parser reads it. */
static void quiet_may_come_before_a_subcommand(void)
{
    char *argv[] = { "step-16", "-q", "--quiet", "exec", "web", "true", NULL };
    char *plain[] = { "step-16", "exec", "web", NULL };
    char *other[] = { "step-16", "-q", "sh", NULL };

    CU_ASSERT_TRUE(opt_subcommand(6, argv, "exec"));
    CU_ASSERT_STRING_EQUAL(argv[1], "exec");
    CU_ASSERT_STRING_EQUAL(argv[2], "-q");
    CU_ASSERT_STRING_EQUAL(argv[3], "--quiet");
    CU_ASSERT_STRING_EQUAL(argv[4], "web");
    CU_ASSERT_TRUE(opt_subcommand(3, plain, "exec"));
    CU_ASSERT_STRING_EQUAL(plain[1], "exec");
    CU_ASSERT_FALSE(opt_subcommand(3, plain, "pod"));
    CU_ASSERT_FALSE(opt_subcommand(3, other, "exec"));
    CU_ASSERT_STRING_EQUAL(other[1], "-q"); /* untouched */
}

static const struct unit_test tests[] = {
    { "-q may come before a subcommand", quiet_may_come_before_a_subcommand },
    { "exec takes a name and a command", exec_takes_a_name_and_a_command },
    { "exec's refusals are one line", exec_refusals_are_one_line },
    { "the default command is /bin/sh", default_command_is_sh },
    { "parsing stops at the command", parsing_stops_at_the_command },
    { "--help and --version", help_and_version },
    { "an unknown option is one line", unknown_option_is_one_line },
    { "an abbreviated option is an unknown one", abbreviations_are_unknown_options },
    { "a later step's option names its step", later_options_name_their_step },
    { "a value for a flag is refused", a_value_for_a_flag_is_refused },
    { "errors stay on one line", errors_stay_on_one_line },
    { "a missing value names the option", missing_value_names_the_option },
    { "--rootfs is resolved and checked", rootfs_resolves_and_checks },
    { "the rootfs from $LAB_ROOTFS", rootfs_from_the_environment },
    { "the last value wins, lists add up", last_value_wins_and_lists_add_up },
    { "bad values are refused with reasons", bad_values_are_refused_with_reasons },
    { "CPU options combine as in docker", cpu_options_combine_as_in_docker },
    { "--ip implies --network bridge", ip_implies_net },
    { "networks as docker spells them", networks_as_docker_spells_them },
    { "--userns host", userns_host },
    { "too many volumes or variables", too_many_volumes_and_variables },
    { "usage lists only known options", usage_lists_only_known_options },
    { NULL, NULL },
};
UNIT_SUITE("opt", tests)
