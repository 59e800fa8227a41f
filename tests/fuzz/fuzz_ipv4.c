/* fuzz_ipv4 - parse_ipv4_prefix, and the lease made from what it accepts:
 * a unicast host address in a /16../30, and a host end beside it. */
#include <arpa/inet.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_string(data, size);
    const char *why = NULL;
    struct lab_ipv4 ip;
    struct ipam_lease lease;

    if (parse_ipv4_prefix(s, &ip, &why) == 0) {
        uint32_t a = ntohl(ip.addr.s_addr), mask = ~0u << (32 - ip.prefix);

        PROMISE(ip.prefix >= 16 && ip.prefix <= 30);
        PROMISE((a & ~mask) != 0 && (a & ~mask) != ~mask);
        PROMISE(ipam_from_request(&ip, &lease) == 0);
        PROMISE(lease.host.s_addr != lease.container.s_addr);
        PROMISE(ipam_overlaps(lease.host, ip.prefix, lease.container, ip.prefix));
        uint32_t h = ntohl(lease.host.s_addr);
        PROMISE((h & ~mask) != 0 && (h & ~mask) != ~mask);
    } else {
        PROMISE(why && *why);
    }
    free(s);
    return 0;
}
