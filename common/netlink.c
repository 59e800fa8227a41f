/*
 * netlink.c - rtnetlink, the socket interface `ip` itself uses.
 *
 * A request is one message: a struct nlmsghdr, a fixed part that says what
 * kind of object it is about (struct ifinfomsg for a link, ifaddrmsg for an
 * address, rtmsg for a route), then attributes. Each attribute is a struct
 * rtattr {length, type} followed by its payload, padded to 4 bytes; an
 * attribute may nest others. With NLM_F_ACK the kernel answers every request
 * with an NLMSG_ERROR message whose error is 0 or -errno.
 *
 *   nlmsghdr | ifinfomsg | rtattr IFLA_IFNAME "lab42\0" pad | rtattr IFLA_LINKINFO { ... }
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lab.h"

static struct nlmsghdr *hdr(struct nl_msg *m)
{
    return (struct nlmsghdr *)m->buf;
}

void nl_msg_init(struct nl_msg *m, uint16_t type, uint16_t flags)
{
    memset(m, 0, sizeof(*m));
    m->len = NLMSG_HDRLEN;
    hdr(m)->nlmsg_len = (uint32_t)m->len;
    hdr(m)->nlmsg_type = type;
    hdr(m)->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
}

/* Appends len bytes (4-byte aligned) and returns where they start. A message
 * that would not fit is marked and later refused, never cut short. */
static void *reserve(struct nl_msg *m, size_t len)
{
    size_t at = NLMSG_ALIGN(m->len);

    if (at + NLMSG_ALIGN(len) > sizeof(m->buf)) {
        m->overflow = true;
        return NULL;
    }
    m->len = at + NLMSG_ALIGN(len);
    hdr(m)->nlmsg_len = (uint32_t)m->len;
    return m->buf + at;
}

void *nl_msg_put(struct nl_msg *m, const void *data, size_t len)
{
    void *p = reserve(m, len);

    if (p)
        memcpy(p, data, len);
    return p;
}

void nl_attr_put(struct nl_msg *m, uint16_t type, const void *data, size_t len)
{
    struct rtattr *a = reserve(m, RTA_LENGTH(len));

    if (!a)
        return;
    a->rta_len = (unsigned short)RTA_LENGTH(len);
    a->rta_type = type;
    if (len)
        memcpy(RTA_DATA(a), data, len);
}

void nl_attr_put_u32(struct nl_msg *m, uint16_t type, uint32_t v)
{
    nl_attr_put(m, type, &v, sizeof(v));
}

void nl_attr_put_str(struct nl_msg *m, uint16_t type, const char *s)
{
    nl_attr_put(m, type, s, strlen(s) + 1);
}

/* A nested attribute is an rtattr whose payload is more attributes: open it,
 * add them, then close it to set its length. */
size_t nl_nest_begin(struct nl_msg *m, uint16_t type)
{
    size_t at = NLMSG_ALIGN(m->len);

    nl_attr_put(m, type, NULL, 0);
    return at;
}

void nl_nest_end(struct nl_msg *m, size_t nest)
{
    if (!m->overflow)
        ((struct rtattr *)(m->buf + nest))->rta_len = (unsigned short)(m->len - nest);
}

int nl_open(struct nl_sock *s)
{
    s->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    s->seq = 0;
    return s->fd < 0 ? -errno : 0;
}

void nl_close(struct nl_sock *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

static int nl_send(struct nl_sock *s, struct nl_msg *m)
{
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };

    if (m->overflow)
        return -EMSGSIZE;
    hdr(m)->nlmsg_seq = ++s->seq;
    if (sendto(s->fd, m->buf, m->len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
        return -errno;
    return 0;
}

/* Reads the kernel's answers to our last request; calls each(ctx, msg) for
 * data messages of a dump. Ends at the acknowledgement or NLMSG_DONE. */
static int nl_receive(struct nl_sock *s, int (*each)(void *, struct nlmsghdr *), void *ctx)
{
    char buf[16384] __attribute__((aligned(4)));

    for (;;) {
        ssize_t n = recv(s->fd, buf, sizeof(buf), 0);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
             h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_seq != s->seq)
                continue;
            if (h->nlmsg_type == NLMSG_ERROR)
                return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
            if (h->nlmsg_type == NLMSG_DONE)
                return 0;
            if (each) {
                int err = each(ctx, h);
                if (err < 0)
                    return err;
            }
        }
    }
}

int nl_talk(struct nl_sock *s, struct nl_msg *m)
{
    int err = nl_send(s, m);

    return err < 0 ? err : nl_receive(s, NULL, NULL);
}

static int ifindex(const char *name)
{
    unsigned idx = if_nametoindex(name);

    return idx ? (int)idx : -ENODEV;
}

/* ---- the messages --------------------------------------------------------- */

static void put_ifinfo(struct nl_msg *m, int index, unsigned flags, unsigned change)
{
    struct ifinfomsg ifi = {
        .ifi_family = AF_UNSPEC,
        .ifi_index = index,
        .ifi_flags = flags,
        .ifi_change = change,
    };

    nl_msg_put(m, &ifi, sizeof(ifi));
}

/*
 * RTM_NEWLINK, NLM_F_CREATE|NLM_F_EXCL
 *   ifinfomsg {}
 *   IFLA_IFNAME name
 *   IFLA_LINKINFO { IFLA_INFO_KIND "veth",
 *                   IFLA_INFO_DATA { VETH_INFO_PEER { ifinfomsg {},
 *                                                     IFLA_IFNAME peer,
 *                                                     IFLA_NET_NS_PID pid } } }
 * The peer is born in the network namespace of pid: it never exists on the
 * host, so it never has to be moved.
 */
void nl_build_veth_create(struct nl_msg *m, const char *name, const char *peer, pid_t peer_pid)
{
    nl_msg_init(m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    put_ifinfo(m, 0, 0, 0);
    nl_attr_put_str(m, IFLA_IFNAME, name);
    size_t linkinfo = nl_nest_begin(m, IFLA_LINKINFO);
    nl_attr_put_str(m, IFLA_INFO_KIND, "veth");
    size_t data = nl_nest_begin(m, IFLA_INFO_DATA);
    size_t peerinfo = nl_nest_begin(m, VETH_INFO_PEER);
    put_ifinfo(m, 0, 0, 0);
    nl_attr_put_str(m, IFLA_IFNAME, peer);
    nl_attr_put_u32(m, IFLA_NET_NS_PID, (uint32_t)peer_pid);
    nl_nest_end(m, peerinfo);
    nl_nest_end(m, data);
    nl_nest_end(m, linkinfo);
}

/* RTM_NEWLINK  ifinfomsg {index, flags IFF_UP, change IFF_UP}: `ip link set up` */
void nl_build_link_up(struct nl_msg *m, int index)
{
    nl_msg_init(m, RTM_NEWLINK, 0);
    put_ifinfo(m, index, IFF_UP, IFF_UP);
}

/* RTM_DELLINK  ifinfomsg {index}: deleting one end of a veth deletes both. */
void nl_build_link_delete(struct nl_msg *m, int index)
{
    nl_msg_init(m, RTM_DELLINK, 0);
    put_ifinfo(m, index, 0, 0);
}

/* RTM_NEWADDR, NLM_F_CREATE|NLM_F_EXCL
 *   ifaddrmsg {AF_INET, prefix, index}  IFA_LOCAL a  IFA_ADDRESS a
 * The kernel adds the route to the subnet by itself when the link is up. */
void nl_build_addr_add(struct nl_msg *m, int index, struct in_addr a, int prefix)
{
    struct ifaddrmsg ifa = {
        .ifa_family = AF_INET,
        .ifa_prefixlen = (unsigned char)prefix,
        .ifa_scope = RT_SCOPE_UNIVERSE,
        .ifa_index = (unsigned)index,
    };

    nl_msg_init(m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
    nl_msg_put(m, &ifa, sizeof(ifa));
    nl_attr_put(m, IFA_LOCAL, &a, sizeof(a));
    nl_attr_put(m, IFA_ADDRESS, &a, sizeof(a));
}

/* RTM_NEWROUTE, NLM_F_CREATE|NLM_F_EXCL
 *   rtmsg {AF_INET, dst_len 0, main table, unicast}  RTA_GATEWAY via  RTA_OIF index
 * `ip route add default via VIA dev NAME` */
void nl_build_route_add_default(struct nl_msg *m, int index, struct in_addr via)
{
    struct rtmsg rt = {
        .rtm_family = AF_INET,
        .rtm_table = RT_TABLE_MAIN,
        .rtm_protocol = RTPROT_BOOT,
        .rtm_scope = RT_SCOPE_UNIVERSE,
        .rtm_type = RTN_UNICAST,
    };

    nl_msg_init(m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
    nl_msg_put(m, &rt, sizeof(rt));
    nl_attr_put(m, RTA_GATEWAY, &via, sizeof(via));
    nl_attr_put_u32(m, RTA_OIF, (uint32_t)index);
}

/* ---- the operations: build, send, wait for the kernel's answer ---------- */

int nl_veth_create(struct nl_sock *s, const char *name, const char *peer, pid_t peer_pid)
{
    struct nl_msg m;

    nl_build_veth_create(&m, name, peer, peer_pid);
    return nl_talk(s, &m);
}

/* The operations on an existing link look its index up by name first. */
#define WITH_INDEX(name, build, ...)                                                        \
    do {                                                                                    \
        struct nl_msg m;                                                                    \
        int idx = ifindex(name);                                                            \
        if (idx < 0)                                                                        \
            return idx;                                                                     \
        build(&m, idx, ##__VA_ARGS__);                                                      \
        return nl_talk(s, &m);                                                              \
    } while (0)

int nl_link_up(struct nl_sock *s, const char *name)
{
    WITH_INDEX(name, nl_build_link_up);
}

int nl_link_delete(struct nl_sock *s, const char *name)
{
    WITH_INDEX(name, nl_build_link_delete);
}

int nl_addr_add(struct nl_sock *s, const char *name, struct in_addr a, int prefix)
{
    WITH_INDEX(name, nl_build_addr_add, a, prefix);
}

int nl_route_add_default(struct nl_sock *s, const char *name, struct in_addr via)
{
    WITH_INDEX(name, nl_build_route_add_default, via);
}

/* ---- listing the host's IPv4 addresses ------------------------------------ */

struct dump_ctx {
    int (*cb)(void *, int, struct in_addr, int);
    void *ctx;
};

static int one_address(void *arg, struct nlmsghdr *h)
{
    struct dump_ctx *d = arg;
    struct ifaddrmsg *ifa = NLMSG_DATA(h);
    int len = (int)IFA_PAYLOAD(h);

    if (h->nlmsg_type != RTM_NEWADDR || ifa->ifa_family != AF_INET)
        return 0;
    for (struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type == IFA_LOCAL && RTA_PAYLOAD(a) == sizeof(struct in_addr)) {
            struct in_addr addr;

            memcpy(&addr, RTA_DATA(a), sizeof(addr));
            return d->cb(d->ctx, (int)ifa->ifa_index, addr, ifa->ifa_prefixlen);
        }
    }
    return 0;
}

/* RTM_GETADDR, NLM_F_DUMP  ifaddrmsg {AF_INET}: every IPv4 address here. */
int nl_addr_dump_v4(struct nl_sock *s, int (*cb)(void *, int, struct in_addr, int), void *ctx)
{
    struct ifaddrmsg ifa = { .ifa_family = AF_INET };
    struct dump_ctx d = { cb, ctx };
    struct nl_msg m;
    int err;

    nl_msg_init(&m, RTM_GETADDR, NLM_F_DUMP);
    nl_msg_put(&m, &ifa, sizeof(ifa));
    if ((err = nl_send(s, &m)) < 0)
        return err;
    return nl_receive(s, one_address, &d);
}

/* ---- links left by a lab process that was killed ------------------------- */

/* Deletes the host ends named lab<pid> whose lab process no longer exists.
 * (Usually the kernel has done it already: when the killed container's
 * network namespace went away it took its eth0, and a veth pair dies with
 * either end. This covers the moment before that.) */
int nl_remove_stale_veths(struct nl_sock *s, int *removed)
{
    struct if_nameindex *all = if_nameindex();
    int err = 0;

    *removed = 0;
    if (!all)
        return -errno;
    for (struct if_nameindex *i = all; i->if_index; i++) {
        char *end;
        long pid;

        if (strncmp(i->if_name, "lab", 3) != 0)
            continue;
        pid = strtol(i->if_name + 3, &end, 10);
        if (end == i->if_name + 3 || *end != '\0' || pid <= 0)
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        struct nl_msg m;
        nl_build_link_delete(&m, (int)i->if_index);
        int e = nl_talk(s, &m);
        if (e == 0)
            (*removed)++;
        else if (e != -ENODEV && !err)
            err = e;
    }
    if_freenameindex(all);
    return err;
}

/* Deleting one end of a veth whose other end is in a namespace that is
 * going away may find the kernel deleting the pair already, in a worker
 * (ENODEV): the name is gone only when that worker is done. The kernel
 * announces it to the members of RTNLGRP_LINK (an RTM_DELLINK): join the
 * group first, then look, so that the announcement cannot be missed. */
int nl_wait_link_gone(const char *name, int timeout_ms)
{
    struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
    long long deadline = proc_now_ms() + timeout_ms;
    char buf[8192];
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE), err = 0;

    if (fd < 0)
        return -errno;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        err = -errno;
    while (!err && if_nametoindex(name) > 0) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        long long left = deadline - proc_now_ms();

        int ready = left > 0 ? poll(&pfd, 1, (int)left) : 0;

        if (ready == 0 || (ready < 0 && errno != EINTR))
            err = ready == 0 ? -ETIMEDOUT : -errno;
        while (recv(fd, buf, sizeof(buf), 0) > 0)
            ; /* any change of a link: look again (ENOBUFS too) */
    }
    close(fd);
    return err;
}
