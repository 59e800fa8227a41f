/*
 * seccomp-verdicts - what a running process's seccomp filters answer to
 * system calls, read from the host: the harness's probe that the container
 * cannot forge (a helper inside the rootfs can be replaced by the step).
 *
 *     seccomp-verdicts PID CALL...
 *
 * CALL is a name of rootfs/helpers/calls.h, with that table's arguments,
 * another name libseccomp knows (its arguments 0), #N for call number N,
 * each also as NAME=A0[,A1...] for other arguments (unshare=0x10000000), or
 * compat:getpid (a 32-bit call: i386 on x86-64, arm on arm64) and
 * x32:getpid (x86-64) for a call of another ABI, on any kernel, even one
 * that cannot make them. For each it prints
 * "CALL: ALLOW", "CALL: ERRNO EPERM", "CALL: KILL", "CALL: TRAP", ... The
 * filters are read with ptrace(PTRACE_SECCOMP_GET_FILTER), which needs
 * CAP_SYS_ADMIN and a kernel built with CONFIG_CHECKPOINT_RESTORE, and run
 * here, in a small classic BPF interpreter, on the struct seccomp_data the
 * kernel would give them: no call is ever made. Of several filters the
 * verdict that takes precedence wins, as in the kernel (seccomp_run_filters).
 * Exit 2 with one line when the filters cannot be read, 3 when the process
 * has none.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../rootfs/helpers/calls.h"

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#define COMPAT_ARCH AUDIT_ARCH_I386
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#define COMPAT_ARCH AUDIT_ARCH_ARM
#else
#error "seccomp-verdicts: add this architecture's AUDIT_ARCH_"
#endif

#define MAX_FILTERS 32

struct filter {
    struct sock_filter insn[BPF_MAXINSNS];
    unsigned len;
};

static struct filter filters[MAX_FILTERS];
static unsigned nfilters;

static void fail(int status, const char *what)
{
    fprintf(stderr, "seccomp-verdicts: %s: %s\n", what, strerror(errno));
    exit(status);
}

/* The process must be in a ptrace stop for PTRACE_SECCOMP_GET_FILTER:
 * seize it, interrupt it, read each filter (0 is the newest), let it go. */
static void read_filters(pid_t pid)
{
    int status;

    if (ptrace(PTRACE_SEIZE, pid, 0, 0) < 0)
        fail(2, "ptrace(PTRACE_SEIZE)");
    if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) < 0 || waitpid(pid, &status, __WALL) < 0)
        fail(2, "ptrace(PTRACE_INTERRUPT)");
    for (nfilters = 0; nfilters < MAX_FILTERS; nfilters++) {
        long n = ptrace(PTRACE_SECCOMP_GET_FILTER, pid, nfilters, filters[nfilters].insn);

        if (n < 0 && errno == ENOENT)
            break;
        if (n < 0) {
            int saved = errno;

            (void)ptrace(PTRACE_DETACH, pid, 0, 0);
            errno = saved;
            fail(2, "ptrace(PTRACE_SECCOMP_GET_FILTER)");
        }
        filters[nfilters].len = (unsigned)n;
    }
    (void)ptrace(PTRACE_DETACH, pid, 0, 0);
}

static uint32_t load_word(const struct seccomp_data *d, uint32_t off)
{
    uint32_t w = 0;

    if (off % 4 == 0 && off + 4 <= sizeof(*d))
        memcpy(&w, (const char *)d + off, 4);
    return w;
}

static uint32_t alu(uint16_t op, uint32_t a, uint32_t v)
{
    switch (op) {
    case BPF_ADD: return a + v;
    case BPF_SUB: return a - v;
    case BPF_MUL: return a * v;
    case BPF_DIV: return v ? a / v : 0;
    case BPF_MOD: return v ? a % v : 0;
    case BPF_AND: return a & v;
    case BPF_OR: return a | v;
    case BPF_XOR: return a ^ v;
    case BPF_LSH: return v < 32 ? a << v : 0;
    case BPF_RSH: return v < 32 ? a >> v : 0;
    case BPF_NEG: return -a;
    }
    return a;
}

static int jump_taken(uint16_t op, uint32_t a, uint32_t v)
{
    switch (op) {
    case BPF_JEQ: return a == v;
    case BPF_JGT: return a > v;
    case BPF_JGE: return a >= v;
    case BPF_JSET: return (a & v) != 0;
    }
    return 0;
}

/* The instructions seccomp accepts (kernel/seccomp.c, seccomp_check_filter):
 * loads of seccomp_data's words, the scratch memory, ALU, jumps, return. */
static uint32_t run_filter(const struct filter *f, const struct seccomp_data *d)
{
    uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = { 0 };

    for (unsigned pc = 0; pc < f->len; pc++) {
        const struct sock_filter *i = &f->insn[pc];
        uint32_t v = BPF_SRC(i->code) == BPF_X ? x : i->k;

        switch (BPF_CLASS(i->code)) {
        case BPF_LD:
            a = BPF_MODE(i->code) == BPF_ABS   ? load_word(d, i->k)
                : BPF_MODE(i->code) == BPF_LEN ? sizeof(*d)
                : BPF_MODE(i->code) == BPF_MEM ? mem[i->k % BPF_MEMWORDS]
                                               : i->k;
            break;
        case BPF_LDX:
            x = BPF_MODE(i->code) == BPF_LEN   ? sizeof(*d)
                : BPF_MODE(i->code) == BPF_MEM ? mem[i->k % BPF_MEMWORDS]
                                               : i->k;
            break;
        case BPF_ST: mem[i->k % BPF_MEMWORDS] = a; break;
        case BPF_STX: mem[i->k % BPF_MEMWORDS] = x; break;
        case BPF_ALU: a = alu(BPF_OP(i->code), a, v); break;
        case BPF_JMP:
            if (BPF_OP(i->code) == BPF_JA)
                pc += i->k;
            else
                pc += jump_taken(BPF_OP(i->code), a, v) ? i->jt : i->jf;
            break;
        case BPF_RET: return BPF_RVAL(i->code) == BPF_A ? a : i->k;
        case BPF_MISC:
            if (BPF_MISCOP(i->code) == BPF_TAX)
                x = a;
            else
                a = x;
            break;
        }
    }
    return SECCOMP_RET_KILL_PROCESS; /* the kernel never accepts a program that falls off */
}

/* Of every filter's answer, the one that takes precedence: the lowest
 * action, compared as a signed number (KILL_PROCESS is 0x80000000). */
static uint32_t verdict(const struct seccomp_data *d)
{
    uint32_t best = SECCOMP_RET_ALLOW;

    for (unsigned i = 0; i < nfilters; i++) {
        uint32_t r = run_filter(&filters[i], d);

        if ((int32_t)(r & SECCOMP_RET_ACTION_FULL) < (int32_t)(best & SECCOMP_RET_ACTION_FULL))
            best = r;
    }
    return best;
}

static void say_verdict(const char *what, uint32_t r)
{
    uint32_t data = r & SECCOMP_RET_DATA;

    switch (r & SECCOMP_RET_ACTION_FULL) {
    case SECCOMP_RET_ALLOW: printf("%s: ALLOW\n", what); break;
    case SECCOMP_RET_KILL_PROCESS:
    case SECCOMP_RET_KILL_THREAD: printf("%s: KILL\n", what); break;
    case SECCOMP_RET_TRAP: printf("%s: TRAP\n", what); break;
    case SECCOMP_RET_ERRNO:
        printf("%s: ERRNO %s\n", what,
               data == EPERM ? "EPERM" : data == ENOSYS ? "ENOSYS" : "(another)");
        break;
    case SECCOMP_RET_TRACE: printf("%s: TRACE\n", what); break;
    case SECCOMP_RET_LOG: printf("%s: LOG\n", what); break;
    default: printf("%s: USER_NOTIF\n", what); break;
    }
}

/* The seccomp_data a CALL spec stands for; 0 when it names no known call. */
static int describe(const char *spec, struct seccomp_data *d)
{
    char name[64];
    const char *args = strchr(spec, '=');
    size_t len = args ? (size_t)(args - spec) : strlen(spec);

    memset(d, 0, sizeof(*d));
    d->arch = NATIVE_ARCH;
    if (strcmp(spec, "compat:getpid") == 0) { /* getpid is 20 in i386's and arm's tables */
        d->arch = COMPAT_ARCH;
        d->nr = 20;
        return 1;
    }
#ifdef __x86_64__
    if (strcmp(spec, "x32:getpid") == 0) { /* the 64-bit arch, with bit 30 of the number set */
        d->nr = 0x40000000 | SYS_getpid;
        return 1;
    }
#endif
    if (len >= sizeof(name))
        return 0;
    memcpy(name, spec, len);
    name[len] = '\0';
    d->nr = -1;
    for (size_t k = 0; k < sizeof(calls) / sizeof(calls[0]) && d->nr < 0; k++) {
        if (strcmp(name, calls[k].name) != 0)
            continue;
        d->nr = (int)calls[k].nr;
        for (int a = 0; a < 4; a++)
            d->args[a] = (uint64_t)calls[k].a[a];
    }
    /* Any other call this machine's libseccomp knows, its arguments 0;
     * #N for a number it does not know. */
    if (d->nr < 0 && name[0] == '#')
        d->nr = (int)strtol(name + 1, NULL, 10);
    else if (d->nr < 0)
        d->nr = seccomp_syscall_resolve_name(name);
    if (d->nr < 0)
        return 0;
    for (int a = 0; args && a < 6; a++) {
        d->args[a] = strtoull(args + 1, (char **)&args, 0);
        if (*args != ',')
            break;
    }
    return 1;
}

int main(int argc, char *argv[])
{
    struct seccomp_data d;

    if (argc < 3) {
        fprintf(stderr, "usage: seccomp-verdicts PID CALL...\n");
        return 2;
    }
    for (int i = 2; i < argc; i++)
        if (!describe(argv[i], &d)) {
            fprintf(stderr, "seccomp-verdicts: %s: not a call this helper knows\n", argv[i]);
            return 2;
        }
    read_filters((pid_t)atoi(argv[1]));
    printf("filters: %u\n", nfilters);
    if (nfilters == 0)
        return 3;
    for (int i = 2; i < argc; i++) {
        describe(argv[i], &d);
        say_verdict(argv[i], verdict(&d));
    }
    return 0;
}
