/*
 * test_netlink.c - rtnetlink messages, byte for byte.
 *
 * The expected bytes are written out by hand from the kernel's structures
 * (include/uapi/linux/netlink.h, rtnetlink.h, if_link.h, veth.h): a header of
 * 16 bytes, the fixed part, then attributes of {u16 length, u16 type,
 * payload} each padded to 4 bytes. Netlink uses the host's byte order; the
 * tables below are for a little-endian machine.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the expected bytes below are little-endian"
#endif

static void expect_bytes(const struct nl_msg *m, const unsigned char *want, size_t len)
{
    CU_ASSERT_FALSE(m->overflow);
    CU_ASSERT_EQUAL(m->len, len);
    for (size_t i = 0; i < len && i < m->len; i++) {
        if ((unsigned char)m->buf[i] != want[i]) {
            fprintf(stderr, "\nbyte %zu: got 0x%02x, want 0x%02x\n", i,
                    (unsigned char)m->buf[i], want[i]);
            CU_FAIL("message differs");
            return;
        }
    }
}

static struct in_addr ip(const char *s)
{
    struct in_addr a;

    inet_pton(AF_INET, s, &a);
    return a;
}

static void veth_pair_with_peer_in_a_namespace(void)
{
    static const unsigned char want[] = {
        /* nlmsghdr: len 104, RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE, seq 0, pid 0 */
        0x68, 0, 0, 0, 0x10, 0, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0,
        /* ifinfomsg: all zero */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        /* IFLA_IFNAME (3), len 10: "lab42\0", 2 bytes of padding */
        10, 0, 3, 0, 'l', 'a', 'b', '4', '2', 0, 0, 0,
        /* IFLA_LINKINFO (18), len 60 */
        60, 0, 18, 0,
        /* .. IFLA_INFO_KIND (1), len 9: "veth\0", 3 bytes of padding */
        9, 0, 1, 0, 'v', 'e', 't', 'h', 0, 0, 0, 0,
        /* .. IFLA_INFO_DATA (2), len 44 */
        44, 0, 2, 0,
        /* .. .. VETH_INFO_PEER (1), len 40: an ifinfomsg, then attributes */
        40, 0, 1, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        /* .. .. .. IFLA_IFNAME (3), len 9: "eth0\0" */
        9, 0, 3, 0, 'e', 't', 'h', '0', 0, 0, 0, 0,
        /* .. .. .. IFLA_NET_NS_PID (19), len 8: 1234 */
        8, 0, 19, 0, 0xd2, 0x04, 0, 0,
    };
    struct nl_msg m;

    nl_build_veth_create(&m, "lab42", "eth0", 1234);
    expect_bytes(&m, want, sizeof(want));
}

static void link_up_and_delete(void)
{
    static const unsigned char up[] = {
        32, 0, 0, 0, 0x10, 0, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        /* ifinfomsg: index 7, flags IFF_UP, change IFF_UP */
        0, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0,
    };
    static const unsigned char del[] = {
        32, 0, 0, 0, 0x11, 0, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* RTM_DELLINK */
        0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    };
    struct nl_msg m;

    nl_build_link_up(&m, 7);
    expect_bytes(&m, up, sizeof(up));
    nl_build_link_delete(&m, 9);
    expect_bytes(&m, del, sizeof(del));
}

static void address_and_default_route(void)
{
    static const unsigned char addr[] = {
        /* len 40, RTM_NEWADDR (20), REQUEST|ACK|EXCL|CREATE */
        40, 0, 0, 0, 20, 0, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0,
        /* ifaddrmsg: AF_INET, /30, flags 0, scope universe, index 5 */
        2, 30, 0, 0, 5, 0, 0, 0,
        8, 0, 2, 0, 10, 200, 0, 1, /* IFA_LOCAL */
        8, 0, 1, 0, 10, 200, 0, 1, /* IFA_ADDRESS */
    };
    static const unsigned char route[] = {
        /* len 44, RTM_NEWROUTE (24) */
        44, 0, 0, 0, 24, 0, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0,
        /* rtmsg: AF_INET, dst/src len 0, tos 0, table main (254), proto boot (3),
         * scope universe, type unicast (1), flags 0 */
        2, 0, 0, 0, 254, 3, 0, 1, 0, 0, 0, 0,
        8, 0, 5, 0, 10, 200, 0, 1, /* RTA_GATEWAY */
        8, 0, 4, 0, 5, 0, 0, 0,    /* RTA_OIF */
    };
    struct nl_msg m;

    nl_build_addr_add(&m, 5, ip("10.200.0.1"), 30);
    expect_bytes(&m, addr, sizeof(addr));
    nl_build_route_add_default(&m, 5, ip("10.200.0.1"));
    expect_bytes(&m, route, sizeof(route));
}

static void nested_attributes_close_with_their_length(void)
{
    struct nl_msg m;

    nl_msg_init(&m, 16, 0);
    size_t outer = nl_nest_begin(&m, 1);
    nl_attr_put_u32(&m, 2, 7);
    size_t inner = nl_nest_begin(&m, 3);
    nl_attr_put_str(&m, 4, "ab");
    nl_nest_end(&m, inner);
    nl_nest_end(&m, outer);
    /* As the kernel's nla_nest_end(): a nest's length runs to the end of
     * its last attribute's padding. */
    CU_ASSERT_EQUAL(m.len, 16 + 4 + 8 + 4 + 8);
    CU_ASSERT_EQUAL(*(unsigned short *)(m.buf + outer), 4 + 8 + 4 + 8);
    CU_ASSERT_EQUAL(*(unsigned short *)(m.buf + inner), 4 + 8);
    CU_ASSERT_EQUAL(*(uint32_t *)m.buf, m.len);
}

static void a_message_too_big_is_refused_not_cut(void)
{
    struct nl_msg m;
    struct nl_sock s = { .fd = -1 };
    char big[200];

    memset(big, 'x', sizeof(big));
    nl_msg_init(&m, 16, 0);
    for (int i = 0; i < 10; i++)
        nl_attr_put(&m, 1, big, sizeof(big));
    CU_ASSERT_TRUE(m.overflow);
    CU_ASSERT(m.len <= NL_MSG_MAX);
    CU_ASSERT_EQUAL(nl_talk(&s, &m), -EMSGSIZE);
}

static int find_loopback(void *ctx, int ifindex, struct in_addr a, int prefix)
{
    (void)ifindex;
    if (a.s_addr == htonl(INADDR_LOOPBACK) && prefix == 8)
        *(int *)ctx = 1;
    return 0;
}

static void the_kernel_answers(void)
{
    struct nl_sock s;
    struct nl_msg m;
    int found = 0;

    CU_ASSERT_EQUAL_FATAL(nl_open(&s), 0);
    /* a dump: every IPv4 address, 127.0.0.1/8 among them */
    CU_ASSERT_EQUAL(nl_addr_dump_v4(&s, find_loopback, &found), 0);
    CU_ASSERT_EQUAL(found, 1);
    /* an error comes back as -errno */
    nl_build_link_delete(&m, 0x7ffffff0);
    int err = nl_talk(&s, &m);
    CU_ASSERT(err == -ENODEV || err == -EPERM);
    CU_ASSERT_EQUAL(nl_link_delete(&s, "no-such-link0"), -ENODEV);
    nl_close(&s);
    CU_ASSERT_EQUAL(s.fd, -1);
}

/* No link has the name: the wait ends with 0, not -ETIMEDOUT. */
static void a_link_that_is_gone_is_not_waited_for(void)
{
    CU_ASSERT_EQUAL(nl_wait_link_gone("labunit-none", 5000), 0);
    CU_ASSERT_EQUAL(nl_wait_link_gone("lo", 50), -ETIMEDOUT);
}

static const struct unit_test tests[] = {
    { "a veth pair, its peer in a namespace", veth_pair_with_peer_in_a_namespace },
    { "link up and delete", link_up_and_delete },
    { "an address and a default route", address_and_default_route },
    { "nests close with their length", nested_attributes_close_with_their_length },
    { "too big is refused, not cut", a_message_too_big_is_refused_not_cut },
    { "the kernel answers", the_kernel_answers },
    { "a link that is gone is not waited for", a_link_that_is_gone_is_not_waited_for },
    { NULL, NULL },
};
UNIT_SUITE("netlink", tests)
