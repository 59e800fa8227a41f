/* test_ipam.c - subnets for veth pairs, and overlap checks. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "unit.h"

static const char *str(struct in_addr a)
{
    static char buf[4][INET_ADDRSTRLEN];
    static int n;

    return inet_ntop(AF_INET, &a, buf[n++ % 4], INET_ADDRSTRLEN);
}

static struct in_addr ip(const char *s)
{
    struct in_addr a;

    inet_pton(AF_INET, s, &a);
    return a;
}

static void pool_is_split_into_slash_30s(void)
{
    struct ipam_lease l;

    ipam_from_index(0, &l);
    CU_ASSERT_STRING_EQUAL(str(l.host), "10.200.0.1");
    CU_ASSERT_STRING_EQUAL(str(l.container), "10.200.0.2");
    CU_ASSERT_EQUAL(l.prefix, 30);
    ipam_from_index(1, &l);
    CU_ASSERT_STRING_EQUAL(str(l.host), "10.200.0.5");
    CU_ASSERT_STRING_EQUAL(str(l.container), "10.200.0.6");
    ipam_from_index(16383, &l);
    CU_ASSERT_STRING_EQUAL(str(l.container), "10.200.255.254");
    ipam_from_index(16384 + 64, &l); /* wraps around the pool */
    CU_ASSERT_STRING_EQUAL(str(l.host), "10.200.1.1");
}

static void a_request_gets_a_host_end_beside_it(void)
{
    struct lab_ipv4 req = { ip("10.200.3.6"), 30 };
    struct ipam_lease l;

    CU_ASSERT_EQUAL(ipam_from_request(&req, &l), 0);
    CU_ASSERT_STRING_EQUAL(str(l.container), "10.200.3.6");
    CU_ASSERT_STRING_EQUAL(str(l.host), "10.200.3.5");
    req.addr = ip("10.200.3.5"); /* the first address is taken: the next one */
    CU_ASSERT_EQUAL(ipam_from_request(&req, &l), 0);
    CU_ASSERT_STRING_EQUAL(str(l.host), "10.200.3.6");
    req = (struct lab_ipv4){ ip("192.168.7.77"), 24 };
    CU_ASSERT_EQUAL(ipam_from_request(&req, &l), 0);
    CU_ASSERT_STRING_EQUAL(str(l.host), "192.168.7.1");
    CU_ASSERT_EQUAL(l.prefix, 24);
    req.prefix = 8;
    CU_ASSERT_EQUAL(ipam_from_request(&req, &l), -EINVAL);
}

static void overlaps_compare_the_wider_prefix(void)
{
    CU_ASSERT_TRUE(ipam_overlaps(ip("10.200.0.1"), 30, ip("10.200.0.2"), 30));
    CU_ASSERT_FALSE(ipam_overlaps(ip("10.200.0.1"), 30, ip("10.200.0.5"), 30));
    CU_ASSERT_TRUE(ipam_overlaps(ip("10.200.0.5"), 30, ip("10.200.0.9"), 24));
    CU_ASSERT_TRUE(ipam_overlaps(ip("10.0.0.1"), 8, ip("10.200.0.9"), 30));
    CU_ASSERT_FALSE(ipam_overlaps(ip("192.0.2.2"), 24, ip("10.200.0.2"), 30));
    CU_ASSERT_TRUE(ipam_overlaps(ip("127.0.0.1"), 8, ip("127.9.9.9"), 30));
}

static const struct unit_test tests[] = {
    { "the pool is split into /30s", pool_is_split_into_slash_30s },
    { "a request gets a host end beside it", a_request_gets_a_host_end_beside_it },
    { "overlaps compare the wider prefix", overlaps_compare_the_wider_prefix },
    { NULL, NULL },
};
UNIT_SUITE("ipam", tests)
