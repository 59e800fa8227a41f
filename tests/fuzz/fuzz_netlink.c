/* fuzz_netlink - the message builders with any link names and values: a
 * message is either complete, with every length consistent, or marked as
 * too big; never written past its buffer. */
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "fuzz.h"

static void check(const struct nl_msg *m)
{
    const struct nlmsghdr *h = (const struct nlmsghdr *)m->buf;

    PROMISE(m->len <= NL_MSG_MAX && m->len % 4 == 0);
    if (!m->overflow)
        PROMISE(h->nlmsg_len == m->len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct nl_msg m;
    uint32_t n = 0;

    if (size < 4)
        return 0;
    memcpy(&n, data, 4);
    char *a = fuzz_string(data + 4, size - 4);
    char *b = a + strlen(a) / 2;

    nl_build_veth_create(&m, a, b, (pid_t)n);
    check(&m);
    nl_build_link_delete(&m, (int)n);
    check(&m);
    nl_build_addr_add(&m, (int)n, (struct in_addr){ n }, (int)(n % 33));
    check(&m);
    nl_build_route_add_default(&m, (int)n, (struct in_addr){ n });
    check(&m);
    /* many attributes: either they fit or the message says it overflowed */
    nl_msg_init(&m, RTM_NEWLINK, 0);
    for (size_t i = 0; i < size % 64; i++)
        nl_attr_put_str(&m, IFLA_IFNAME, a);
    check(&m);
    free(a);
    return 0;
}
