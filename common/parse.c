/*
 * parse.c - checked parsers for the values options take.
 *
 * Every parser returns 0, or -EINVAL with *why set to a short static reason
 * ("is longer than 64 bytes") that the caller puts after the option and its
 * value. No atoi, no strtod: a value is either exactly right or refused.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lab.h"

static int refuse(const char **why, const char *reason)
{
    *why = reason;
    return -EINVAL;
}

static bool is_label_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-';
}

/* RFC 1123: dot-separated labels of letters, digits and '-', each 1..63
 * characters, none starting or ending with '-'; 64 bytes in all, the size of
 * the kernel's utsname field without its terminating zero. */
int parse_hostname(const char *s, const char **why)
{
    size_t len = strlen(s);
    size_t label = 0;

    if (len == 0)
        return refuse(why, "is empty");
    if (len > LAB_HOSTNAME_MAX)
        return refuse(why, "is longer than 64 bytes, the kernel's limit");
    for (size_t i = 0; i <= len; i++) {
        char c = s[i];

        if (c == '.' || c == '\0') {
            if (label == 0)
                return refuse(why, "has an empty label (a dot at an end, or two dots)");
            if (s[i - 1] == '-')
                return refuse(why, "has a label that ends with '-'");
            label = 0;
            continue;
        }
        if (!is_label_char(c))
            return refuse(why, "may hold only letters, digits, '-' and '.'");
        if (label == 0 && c == '-')
            return refuse(why, "has a label that starts with '-'");
        if (++label > 63)
            return refuse(why, "has a label longer than 63 characters");
    }
    return 0;
}

/*
 * "--cpus 1.5" as docker run reads it: a decimal number of CPUs, turned into a
 * quota per 100 ms period (1.5 -> 150000 us). Parsed by hand into whole
 * nano-CPUs so that no floating-point rounding reaches the kernel.
 */
int parse_cpus(const char *s, long ncpus, long *quota_us, const char **why)
{
    long long nano = 0;
    int whole_digits = 0, frac_digits = 0;
    const char *p = s;

    for (; isdigit((unsigned char)*p); p++) {
        if (++whole_digits > 6)
            return refuse(why, "is more than this machine's CPUs");
        nano = nano * 10 + (*p - '0');
    }
    nano *= 1000000000LL;
    if (*p == '.') {
        long long scale = 100000000LL;

        for (p++; isdigit((unsigned char)*p); p++, frac_digits++) {
            if (frac_digits >= 9)
                return refuse(why, "has more than 9 decimals");
            nano += (*p - '0') * scale;
            scale /= 10;
        }
    }
    if (*p != '\0' || whole_digits + frac_digits == 0)
        return refuse(why, "is not a number of CPUs (like 0.5 or 2)");
    if (nano == 0) { /* docker run's "no limit" (moby: daemon/daemon_unix.go, NanoCPUs > 0) */
        *quota_us = 0;
        return 0;
    }
    if (nano < 10000000LL)
        return refuse(why, "is below 0.01, the kernel's minimum of a 1 ms quota per 100 ms");
    if (nano > ncpus * 1000000000LL)
        return refuse(why, "is more than this machine's CPUs");
    *quota_us = (long)(nano * LAB_CPU_PERIOD_DEFAULT / 1000000000LL);
    return 0;
}

/*
 * A whole number in [0, max] that the kernel or the lab wrote: a name in
 * /proc or in the lab's directories, a count in a cgroup file. Digits only,
 * ended by the end of s or by one of stops (" \n": the first of a list, a
 * file's line); anything else is -EINVAL, never a 0 or a prefix taken for
 * the number.
 */
int parse_number(const char *s, const char *stops, long max, long *out)
{
    char *end;
    long v;

    if (!isdigit((unsigned char)s[0]))
        return -EINVAL;
    errno = 0;
    v = strtol(s, &end, 10);
    if ((*end != '\0' && !strchr(stops, *end)) || errno == ERANGE || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

/* A pid, as /proc names it: see parse_number. */
pid_t parse_pid(const char *s, const char *stops)
{
    long v;

    return parse_number(s, stops, INT_MAX, &v) == 0 && v > 0 ? (pid_t)v : -EINVAL;
}

/* A whole number of microseconds in [min, max]: digits only, no sign. */
int parse_microseconds(const char *s, long min, long max, long *out, const char **why)
{
    char *end;
    long v;

    if (!isdigit((unsigned char)s[0]))
        return refuse(why, "is not a whole number of microseconds");
    errno = 0;
    v = strtol(s, &end, 10);
    if (*end != '\0')
        return refuse(why, "is not a whole number of microseconds");
    if (errno == ERANGE || v < min || v > max)
        return refuse(why, "is out of range");
    *out = v;
    return 0;
}

/*
 * "--memory 32m" as docker run reads it: a whole number of bytes, or of
 * KiB, MiB, GiB with k, m or g (either case; b for bytes). No sign, no
 * fraction; at most what an int64 holds.
 */
int parse_bytes(const char *s, long long *out, const char **why)
{
    long long n = 0;
    int shift = 0;
    const char *p = s;

    if (!isdigit((unsigned char)*p))
        return refuse(why, *p == '-' ? "is negative" : "is not a size (like 512m or 2g)");
    for (; isdigit((unsigned char)*p); p++) {
        if (n > (LLONG_MAX - 9) / 10)
            return refuse(why, "is too large");
        n = n * 10 + (*p - '0');
    }
    switch (tolower((unsigned char)*p)) {
    case '\0': break;
    case 'b': p++; break;
    case 'k': shift = 10; p++; break;
    case 'm': shift = 20; p++; break;
    case 'g': shift = 30; p++; break;
    default: return refuse(why, "has an unknown unit (b, k, m or g)");
    }
    if (*p != '\0')
        return refuse(why, "has an unknown unit (b, k, m or g)");
    if (n > (LLONG_MAX >> shift))
        return refuse(why, "is too large");
    *out = n << shift;
    return 0;
}

/* "--pids-limit 64"; 0 or a negative number is no limit, -1, as docker
 * reads them (moby: daemon/daemon_unix.go, getPidsLimit). */
int parse_pids_limit(const char *s, long *out, const char **why)
{
    char *end;
    long v;

    if (s[0] == '-' && s[1] && strspn(s + 1, "0123456789") == strlen(s + 1)) {
        *out = -1;
        return 0;
    }
    if (!isdigit((unsigned char)s[0]))
        return refuse(why, "is not a whole number of processes (or -1: no limit)");
    errno = 0;
    v = strtol(s, &end, 10);
    if (*end != '\0')
        return refuse(why, "is not a whole number of processes (or -1: no limit)");
    if (errno == ERANGE || v > INT32_MAX)
        return refuse(why, "is too large");
    *out = v == 0 ? -1 : v;
    return 0;
}

static uint32_t prefix_mask(int prefix)
{
    return prefix == 0 ? 0 : htonl(~0u << (32 - prefix));
}

/* "10.200.3.6/30": the container's address and the prefix of the link the
 * host shares with it. The prefix stays between /16 and /30 so that the
 * route the host gets is small and leaves room for both ends. */
int parse_ipv4_prefix(const char *s, struct lab_ipv4 *out, const char **why)
{
    char addr[INET_ADDRSTRLEN];
    const char *slash = strchr(s, '/');
    long prefix;
    const char *pwhy;

    if (s[0] == '\0')
        return refuse(why, "is empty");
    if (!slash)
        return refuse(why, "needs a prefix, as in 10.200.0.2/30");
    if ((size_t)(slash - s) >= sizeof(addr))
        return refuse(why, "is not an IPv4 address");
    memcpy(addr, s, slash - s);
    addr[slash - s] = '\0';
    if (inet_pton(AF_INET, addr, &out->addr) != 1)
        return refuse(why, "is not an IPv4 address");
    if (parse_microseconds(slash + 1, 0, 32, &prefix, &pwhy) < 0)
        return refuse(why, "has a prefix that is not a number from 0 to 32");
    if (prefix < 16 || prefix > 30)
        return refuse(why, "has a prefix outside /16../30");
    uint32_t a = ntohl(out->addr.s_addr);
    if ((a >> 24) == 0 || (a >> 24) == 127 || (a >> 28) >= 14)
        return refuse(why, "is not a unicast address a container may use");
    uint32_t mask = ntohl(prefix_mask((int)prefix));
    if ((a & ~mask) == 0)
        return refuse(why, "is the network address of its subnet");
    if ((a & ~mask) == ~mask)
        return refuse(why, "is the broadcast address of its subnet");
    out->prefix = (int)prefix;
    return 0;
}

/* Copies an absolute container path into out, dropping "." and repeated
 * slashes; ".." is refused, since it could climb out of the rootfs. */
static int normalise_container_path(const char *s, size_t len, char *out, size_t outlen,
                                    const char **why)
{
    size_t o = 0;

    if (len == 0 || s[0] != '/')
        return refuse(why, "needs an absolute container path");
    for (size_t i = 0; i < len;) {
        while (i < len && s[i] == '/')
            i++;
        size_t start = i;
        while (i < len && s[i] != '/')
            i++;
        size_t n = i - start;
        if (n == 0 || (n == 1 && s[start] == '.'))
            continue;
        if (n == 2 && s[start] == '.' && s[start + 1] == '.')
            return refuse(why, "has '..' in the container path, which could leave the rootfs");
        if (o + 1 + n + 1 > outlen)
            return refuse(why, "has a container path that is too long");
        out[o++] = '/';
        memcpy(out + o, s + start, n);
        o += n;
    }
    if (o == 0)
        return refuse(why, "cannot mount over the container's root");
    out[o] = '\0';
    return 0;
}

/* The mode of -v: options separated by commas, as docker's: ro or rw, and
 * z or Z, which ask Docker to relabel the files for SELinux; the lab sets
 * no SELinux label, so it takes them and does nothing. */
static int parse_volume_mode(const char *mode, struct lab_volume *out, const char **why)
{
    bool access_seen = false, label_seen = false;
    char copy[64], *save = NULL;

    if (strlen(mode) >= sizeof(copy) || mode[0] == ',' || mode[strlen(mode) - 1] == ',' ||
        strstr(mode, ",,"))
        return refuse(why, "has an unknown mode (use ro or rw, and z or Z)");
    strcpy(copy, mode);
    for (char *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
        bool access = strcmp(o, "ro") == 0 || strcmp(o, "rw") == 0;
        bool label = strcmp(o, "z") == 0 || strcmp(o, "Z") == 0;

        if (!access && !label)
            return refuse(why, "has an unknown mode (use ro or rw, and z or Z)");
        if ((access && access_seen) || (label && label_seen))
            return refuse(why, "has a mode given twice");
        access_seen |= access;
        label_seen |= label;
        if (access)
            out->readonly = strcmp(o, "ro") == 0;
    }
    return 0;
}

/* "HOST:CONTAINER[:ro|:rw]" as docker run -v reads it. Only the syntax is
 * checked here; whether HOST exists is the caller's business. */
int parse_volume(const char *s, struct lab_volume *out, const char **why)
{
    const char *c1 = strchr(s, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    size_t hostlen;

    if (!c1)
        return refuse(why, "is not HOST:CONTAINER[:ro|:rw]");
    if (c2 && strchr(c2 + 1, ':'))
        return refuse(why, "has more than three parts");
    hostlen = (size_t)(c1 - s);
    if (hostlen == 0 || c1[1] == '\0' || c1[1] == ':' || (c2 && c2[1] == '\0'))
        return refuse(why, "has an empty part");
    if (s[0] != '/')
        return refuse(why, "needs an absolute host path");
    if (hostlen >= sizeof(out->host))
        return refuse(why, "has a host path that is too long");
    memcpy(out->host, s, hostlen);
    out->host[hostlen] = '\0';

    size_t contlen = c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1);
    int err = normalise_container_path(c1 + 1, contlen, out->container,
                                       sizeof(out->container), why);
    if (err < 0)
        return err;

    out->readonly = false;
    return c2 ? parse_volume_mode(c2 + 1, out, why) : 0;
}

/* "-e NAME=VALUE" or "-e NAME": a name is required; the value may be empty. */
int parse_env(const char *s, const char **why)
{
    if (s[0] == '\0' || s[0] == '=')
        return refuse(why, "has an empty name");
    return 0;
}
