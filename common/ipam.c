/*
 * ipam.c - IP address management: a subnet for each container's veth pair.
 *
 * By default every container gets a /30 of 10.200.0.0/16: the host end is .1
 * of it, the container's eth0 .2 (.0 and .3 are the subnet's network and
 * broadcast addresses). There are 16384 such subnets; a container starts
 * looking at the one its pid points to, and takes the first that no address
 * on the host already covers. With --ip the user picks the container's
 * address and prefix, and the host end takes the first free address of it.
 *
 * Choosing and claiming must happen as one: two containers starting at once
 * would otherwise both see a subnet free and both take it. The claim is the
 * host end's address itself, so the lock is held from the check until the
 * caller has added that address.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "lab.h"

#define POOL_SIZE (1u << (IPAM_PREFIX - IPAM_POOL_PREFIX)) /* 16384 subnets */
#define MAX_HOST_ADDRS 1024

static uint32_t mask_of(int prefix)
{
    return prefix == 0 ? 0 : ~0u << (32 - prefix);
}

static struct in_addr addr_of(uint32_t host_order)
{
    return (struct in_addr){ htonl(host_order) };
}

void ipam_from_index(unsigned i, struct ipam_lease *out)
{
    struct in_addr pool;

    inet_pton(AF_INET, "10.200.0.0", &pool);
    uint32_t net = ntohl(pool.s_addr) + (i % POOL_SIZE) * 4;
    out->host = addr_of(net + 1);
    out->container = addr_of(net + 2);
    out->prefix = IPAM_PREFIX;
}

int ipam_from_request(const struct lab_ipv4 *req, struct ipam_lease *out)
{
    uint32_t a = ntohl(req->addr.s_addr);
    uint32_t net = a & mask_of(req->prefix);

    if (req->prefix < 16 || req->prefix > 30)
        return -EINVAL;
    out->container = req->addr;
    out->host = addr_of(net + 1 == a ? net + 2 : net + 1);
    out->prefix = req->prefix;
    return 0;
}

bool ipam_overlaps(struct in_addr a, int pa, struct in_addr b, int pb)
{
    uint32_t m = mask_of(pa < pb ? pa : pb);

    return (ntohl(a.s_addr) & m) == (ntohl(b.s_addr) & m);
}

struct host_addrs {
    int n;
    struct {
        int ifindex;
        struct in_addr addr;
        int prefix;
    } a[MAX_HOST_ADDRS];
};

static int remember(void *ctx, int ifindex, struct in_addr addr, int prefix)
{
    struct host_addrs *h = ctx;

    if (h->n == MAX_HOST_ADDRS)
        return -ENOBUFS;
    h->a[h->n].ifindex = ifindex;
    h->a[h->n].addr = addr;
    h->a[h->n].prefix = prefix;
    h->n++;
    return 0;
}

/* The index of the host address the lease's subnet overlaps, or -1. */
static int find_overlap(const struct host_addrs *h, const struct ipam_lease *l)
{
    for (int i = 0; i < h->n; i++)
        if (ipam_overlaps(h->a[i].addr, h->a[i].prefix, l->container, l->prefix))
            return i;
    return -1;
}

static void describe(const struct host_addrs *h, int i, char *buf, size_t len)
{
    char addr[INET_ADDRSTRLEN], ifname[IF_NAMESIZE] = "?";

    inet_ntop(AF_INET, &h->a[i].addr, addr, sizeof(addr));
    if_indextoname((unsigned)h->a[i].ifindex, ifname);
    snprintf(buf, len, "%s/%d on %s", addr, h->a[i].prefix, ifname);
}

/* flock(2) is advisory: only lab processes take this lock. It is taken on a
 * directory that always exists, so that no lock file is left on the host. */
static int take_lock(void)
{
    int fd = open("/sys/class/net", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            int err = -errno;
            close(fd);
            return err;
        }
    }
    return fd;
}

static int pick(const struct host_addrs *h, const struct lab_ipv4 *req, unsigned seed,
                struct ipam_lease *out, char *clash, size_t clashlen)
{
    if (req) {
        int i;

        ipam_from_request(req, out);
        if ((i = find_overlap(h, out)) >= 0) {
            describe(h, i, clash, clashlen);
            return -EADDRINUSE;
        }
        return 0;
    }
    for (unsigned k = 0; k < POOL_SIZE; k++) {
        ipam_from_index(seed + k, out);
        if (find_overlap(h, out) < 0)
            return 0;
    }
    snprintf(clash, clashlen, "every subnet of %s is in use", IPAM_POOL);
    return -EADDRNOTAVAIL;
}

int ipam_claim(const struct lab_ipv4 *req, unsigned seed, struct ipam_lease *out, char *clash,
               size_t clashlen)
{
    static struct host_addrs h; /* 16 KiB: not on the stack */
    struct nl_sock s;
    int err;

    out->lock_fd = -1;
    clash[0] = '\0';
    if ((err = take_lock()) < 0)
        return err;
    out->lock_fd = err;
    h.n = 0;
    if ((err = nl_open(&s)) < 0)
        goto fail;
    err = nl_addr_dump_v4(&s, remember, &h);
    nl_close(&s);
    if (err < 0)
        goto fail;
    if ((err = pick(&h, req, seed, out, clash, clashlen)) < 0)
        goto fail;
    return 0;
fail:
    ipam_unlock(out);
    return err;
}

void ipam_unlock(struct ipam_lease *l)
{
    if (l->lock_fd >= 0)
        close(l->lock_fd); /* closing the last fd releases the flock */
    l->lock_fd = -1;
}

const char *ipam_fmt(struct in_addr a, int prefix)
{
    static char bufs[4][INET_ADDRSTRLEN + 16];
    static unsigned n;
    char *buf = bufs[n++ % 4];

    inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
    if (prefix >= 0)
        snprintf(buf + strlen(buf), 16, "/%d", prefix);
    return buf;
}
