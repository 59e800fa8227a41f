/* test_parse.c - the value parsers: every accepted form, every refusal. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "unit.h"

static const char *why;

static void hostname_accepts_rfc1123_names(void)
{
    const char *ok[] = { "lab", "a", "lab-1", "web.example.org", "A1-b2.C3", "x123", NULL };

    for (const char **s = ok; *s; s++)
        CU_ASSERT_EQUAL(parse_hostname(*s, &why), 0);
    char longest[65];
    memset(longest, 'a', 64);
    longest[64] = '\0';
    longest[63 - 1] = '.'; /* two labels, 62 + 1, within 63 each */
    CU_ASSERT_EQUAL(parse_hostname(longest, &why), 0);
}

static void hostname_refuses_bad_names(void)
{
    struct {
        const char *name, *reason;
    } bad[] = {
        { "", "empty" },
        { "lab_1", "only letters" },
        { "lab name", "only letters" },
        { "lab/x", "only letters" },
        { "-lab", "starts with '-'" },
        { "lab-", "ends with '-'" },
        { "a.-b", "starts with '-'" },
        { ".lab", "empty label" },
        { "lab.", "empty label" },
        { "a..b", "empty label" },
        { "héllo", "only letters" },
        { NULL, NULL },
    };

    for (int i = 0; bad[i].name; i++) {
        why = NULL;
        CU_ASSERT_EQUAL(parse_hostname(bad[i].name, &why), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(why);
        CU_ASSERT_PTR_NOT_NULL(strstr(why, bad[i].reason));
    }
}

static void hostname_refuses_65_bytes_and_long_labels(void)
{
    char s[80];

    memset(s, 'a', 65);
    s[65] = '\0';
    s[30] = '.';
    CU_ASSERT_EQUAL(parse_hostname(s, &why), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "64 bytes"));
    memset(s, 'a', 64);
    s[64] = '\0';
    CU_ASSERT_EQUAL(parse_hostname(s, &why), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "63"));
}

static void cpus_becomes_a_quota_per_100ms(void)
{
    long q = 0;

    CU_ASSERT_EQUAL(parse_cpus("0.2", 4, &q, &why), 0);
    CU_ASSERT_EQUAL(q, 20000);
    CU_ASSERT_EQUAL(parse_cpus("1.5", 4, &q, &why), 0);
    CU_ASSERT_EQUAL(q, 150000);
    CU_ASSERT_EQUAL(parse_cpus("2", 2, &q, &why), 0);
    CU_ASSERT_EQUAL(q, 200000);
    CU_ASSERT_EQUAL(parse_cpus(".5", 1, &q, &why), 0);
    CU_ASSERT_EQUAL(q, 50000);
    CU_ASSERT_EQUAL(parse_cpus("0.01", 1, &q, &why), 0);
    CU_ASSERT_EQUAL(q, 1000);
    CU_ASSERT_EQUAL(parse_cpus("0.123456789", 1, &q, &why), 0);
    CU_ASSERT_EQUAL(q, 12345);
}

static void cpus_refuses_bad_values(void)
{
    const char *bad[] = { "", "-1", "abc", "1e3", "0x1", "1.2.3", " 1", "1 ",
                          "inf", "nan", "0.009", "3", "1000000000", "0.1234567891", ".", NULL };
    long q = 42;

    for (const char **s = bad; *s; s++) {
        CU_ASSERT_EQUAL(parse_cpus(*s, 2, &q, &why), -EINVAL);
        CU_ASSERT_EQUAL(q, 42); /* untouched on refusal */
    }
    CU_ASSERT_EQUAL(parse_cpus("0", 2, &q, &why), 0); /* docker's "no limit" */
    CU_ASSERT_EQUAL(q, 0);
    CU_ASSERT_EQUAL(parse_cpus("0.0", 2, &q, &why), 0);
    CU_ASSERT_EQUAL(q, 0);
    parse_cpus("3", 2, &q, &why);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "CPUs"));
}

static void microseconds_are_whole_and_in_range(void)
{
    long v = 0;

    CU_ASSERT_EQUAL(parse_microseconds("1000", 1000, 1000000, &v, &why), 0);
    CU_ASSERT_EQUAL(v, 1000);
    CU_ASSERT_EQUAL(parse_microseconds("1000000", 1000, 1000000, &v, &why), 0);
    CU_ASSERT_EQUAL(parse_microseconds("999", 1000, 1000000, &v, &why), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "range"));
    CU_ASSERT_EQUAL(parse_microseconds("1000001", 1000, 1000000, &v, &why), -EINVAL);
    CU_ASSERT_EQUAL(parse_microseconds("99999999999999999999999", 0, 10, &v, &why), -EINVAL);
    CU_ASSERT_EQUAL(parse_microseconds("-5", 0, 10, &v, &why), -EINVAL);
    CU_ASSERT_EQUAL(parse_microseconds("+5", 0, 10, &v, &why), -EINVAL);
    CU_ASSERT_EQUAL(parse_microseconds("5ms", 0, 10, &v, &why), -EINVAL);
    CU_ASSERT_EQUAL(parse_microseconds("", 0, 10, &v, &why), -EINVAL);
    CU_ASSERT_EQUAL(parse_microseconds("1.5", 0, 10, &v, &why), -EINVAL);
}

/* What the kernel or the lab wrote: a damaged name or file is refused,
 * never read as 0 or as the number it starts with. */
static void numbers_the_kernel_wrote_are_whole_or_refused(void)
{
    long v = -1;

    CU_ASSERT_EQUAL(parse_number("0", "", 10, &v), 0);
    CU_ASSERT_EQUAL(v, 0);
    CU_ASSERT_EQUAL(parse_number("3\nnext 4\n", "\n", 10, &v), 0);
    CU_ASSERT_EQUAL(v, 3);
    CU_ASSERT_EQUAL(parse_number("11", "", 10, &v), -EINVAL);
    CU_ASSERT_EQUAL(parse_number("3x", "\n", 10, &v), -EINVAL);
    CU_ASSERT_EQUAL(parse_number("", "", 10, &v), -EINVAL);
    CU_ASSERT_EQUAL(parse_number("-1", "", 10, &v), -EINVAL);
    CU_ASSERT_EQUAL(parse_number("99999999999999999999999", "", LONG_MAX, &v), -EINVAL);
    CU_ASSERT_EQUAL(parse_pid("4242 4243 ", " \n"), 4242);
    CU_ASSERT_EQUAL(parse_pid("4242", ""), 4242);
    CU_ASSERT_EQUAL(parse_pid("0", ""), -EINVAL);
    CU_ASSERT_EQUAL(parse_pid("self", ""), -EINVAL);
    CU_ASSERT_EQUAL(parse_pid("12.tmp", ""), -EINVAL);
    CU_ASSERT_EQUAL(parse_pid("4294967296", ""), -EINVAL);
}

static void ipv4_prefix_accepts_host_addresses(void)
{
    struct lab_ipv4 ip;
    char buf[INET_ADDRSTRLEN];

    CU_ASSERT_EQUAL(parse_ipv4_prefix("10.200.0.2/30", &ip, &why), 0);
    CU_ASSERT_EQUAL(ip.prefix, 30);
    CU_ASSERT_STRING_EQUAL(inet_ntop(AF_INET, &ip.addr, buf, sizeof(buf)), "10.200.0.2");
    CU_ASSERT_EQUAL(parse_ipv4_prefix("172.31.7.9/16", &ip, &why), 0);
    CU_ASSERT_EQUAL(parse_ipv4_prefix("192.168.5.1/24", &ip, &why), 0);
}

static void ipv4_prefix_refuses_bad_input(void)
{
    struct {
        const char *s, *reason;
    } bad[] = {
        { "", "empty" },
        { "10.200.0.2", "needs a prefix" },
        { "10.200.0.2/", "prefix" },
        { "10.200.0.2/33", "prefix" },
        { "10.200.0.2/-1", "prefix" },
        { "10.200.0.2/8", "/16../30" },
        { "10.200.0.2/31", "/16../30" },
        { "10.200.0.0/30", "network address" },
        { "10.200.0.3/30", "broadcast address" },
        { "10.200.0.256/30", "not an IPv4" },
        { "10.200.2/30", "not an IPv4" },
        { "ten.0.0.1/24", "not an IPv4" },
        { "127.0.0.2/24", "unicast" },
        { "224.0.0.5/24", "unicast" },
        { "0.1.2.3/24", "unicast" },
        { "/24", "not an IPv4" },
        { "1234567890123456789/24", "not an IPv4" },
        { NULL, NULL },
    };
    struct lab_ipv4 ip;

    for (int i = 0; bad[i].s; i++) {
        why = NULL;
        CU_ASSERT_EQUAL(parse_ipv4_prefix(bad[i].s, &ip, &why), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(why);
        if (!strstr(why, bad[i].reason))
            fprintf(stderr, "\n%s: %s\n", bad[i].s, why);
        CU_ASSERT_PTR_NOT_NULL(strstr(why, bad[i].reason));
    }
}

static void volume_reads_docker_syntax(void)
{
    struct lab_volume v;

    CU_ASSERT_EQUAL(parse_volume("/srv/data:/data", &v, &why), 0);
    CU_ASSERT_STRING_EQUAL(v.host, "/srv/data");
    CU_ASSERT_STRING_EQUAL(v.container, "/data");
    CU_ASSERT_FALSE(v.readonly);
    CU_ASSERT_EQUAL(parse_volume("/srv:/mnt/x/:ro", &v, &why), 0);
    CU_ASSERT_STRING_EQUAL(v.container, "/mnt/x");
    CU_ASSERT_TRUE(v.readonly);
    CU_ASSERT_EQUAL(parse_volume("/srv://a/./b//c:rw", &v, &why), 0);
    CU_ASSERT_STRING_EQUAL(v.container, "/a/b/c");
    CU_ASSERT_FALSE(v.readonly);
    /* docker's SELinux relabelling options: taken, nothing to do here */
    CU_ASSERT_EQUAL(parse_volume("/srv:/data:z", &v, &why), 0);
    CU_ASSERT_FALSE(v.readonly);
    CU_ASSERT_EQUAL(parse_volume("/srv:/data:Z,ro", &v, &why), 0);
    CU_ASSERT_TRUE(v.readonly);
    CU_ASSERT_EQUAL(parse_volume("/srv:/data:ro,z", &v, &why), 0);
    CU_ASSERT_TRUE(v.readonly);
}

static void volume_refuses_bad_specs(void)
{
    struct {
        const char *s, *reason;
    } bad[] = {
        { "/srv", "HOST:CONTAINER" },
        { ":/data", "empty part" },
        { "/srv:", "empty part" },
        { "/srv::ro", "empty part" },
        { "/srv:/data:", "empty part" },
        { "srv:/data", "absolute host" },
        { "/srv:data", "absolute container" },
        { "/srv:/../etc", "'..'" },
        { "/srv:/data/../../etc", "'..'" },
        { "/srv:/", "root" },
        { "/srv:/.", "root" },
        { "/srv:/data:rx", "unknown mode" },
        { "/srv:/data:RO", "unknown mode" },
        { "/srv:/data:ro:x", "three parts" },
        { "/srv:/data:ro,rw", "twice" },
        { "/srv:/data:z,Z", "twice" },
        { "/srv:/data:ro,", "unknown mode" },
        { "/srv:/data:,ro", "unknown mode" },
        { "/srv:/data:ro,shared", "unknown mode" },
        { NULL, NULL },
    };
    struct lab_volume v;

    for (int i = 0; bad[i].s; i++) {
        why = NULL;
        CU_ASSERT_EQUAL(parse_volume(bad[i].s, &v, &why), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(why);
        if (!strstr(why, bad[i].reason))
            fprintf(stderr, "\n%s: %s\n", bad[i].s, why);
        CU_ASSERT_PTR_NOT_NULL(strstr(why, bad[i].reason));
    }
}

static void volume_refuses_paths_too_long(void)
{
    static char spec[2 * PATH_MAX + 8];
    struct lab_volume v;

    spec[0] = '/';
    memset(spec + 1, 'h', PATH_MAX + 10);
    strcpy(spec + PATH_MAX + 11, ":/data");
    CU_ASSERT_EQUAL(parse_volume(spec, &v, &why), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "too long"));
    strcpy(spec, "/srv:/");
    memset(spec + 6, 'c', PATH_MAX + 10);
    spec[6 + PATH_MAX + 10] = '\0';
    CU_ASSERT_EQUAL(parse_volume(spec, &v, &why), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "too long"));
}

static void env_needs_a_name(void)
{
    CU_ASSERT_EQUAL(parse_env("A=1", &why), 0);
    CU_ASSERT_EQUAL(parse_env("A=", &why), 0);
    CU_ASSERT_EQUAL(parse_env("A", &why), 0);
    CU_ASSERT_EQUAL(parse_env("=1", &why), -EINVAL);
    CU_ASSERT_EQUAL(parse_env("", &why), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "empty name"));
}

/* docker run's --pids-limit: 0 and any negative number mean no limit. */
static void pids_limit_as_docker_reads_it(void)
{
    const char *none[] = { "0", "-1", "-5", "00", NULL };
    const char *bad[] = { "", "-", "--1", "1x", " 1", "+3", "99999999999", "-1x", NULL };
    long v;

    CU_ASSERT_EQUAL(parse_pids_limit("64", &v, &why), 0);
    CU_ASSERT_EQUAL(v, 64);
    for (const char **s = none; *s; s++) {
        v = 42;
        CU_ASSERT_EQUAL(parse_pids_limit(*s, &v, &why), 0);
        CU_ASSERT_EQUAL(v, -1);
    }
    for (const char **s = bad; *s; s++)
        CU_ASSERT_EQUAL(parse_pids_limit(*s, &v, &why), -EINVAL);
}

static const struct unit_test tests[] = {
    { "--pids-limit as docker reads it", pids_limit_as_docker_reads_it },
    { "hostname accepts RFC 1123 names", hostname_accepts_rfc1123_names },
    { "hostname refuses bad names", hostname_refuses_bad_names },
    { "hostname refuses 65 bytes and long labels", hostname_refuses_65_bytes_and_long_labels },
    { "--cpus becomes a quota per 100 ms", cpus_becomes_a_quota_per_100ms },
    { "--cpus refuses bad values", cpus_refuses_bad_values },
    { "microseconds are whole and in range", microseconds_are_whole_and_in_range },
    { "numbers the kernel wrote are whole or refused",
      numbers_the_kernel_wrote_are_whole_or_refused },
    { "--ip accepts host addresses", ipv4_prefix_accepts_host_addresses },
    { "--ip refuses bad input", ipv4_prefix_refuses_bad_input },
    { "-v reads docker's syntax", volume_reads_docker_syntax },
    { "-v refuses bad specs", volume_refuses_bad_specs },
    { "-v refuses paths too long", volume_refuses_paths_too_long },
    { "-e needs a name", env_needs_a_name },
    { NULL, NULL },
};
UNIT_SUITE("parse", tests)
