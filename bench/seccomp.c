/*
 * seccomp.c - writes to stdout the seccomp filter step 14 loads, as classic
 * BPF (struct sock_filter, in the machine's byte order): the file
 * `bwrap --seccomp FD` reads, for bench/ref/container.sh --seccomp.
 *
 * The same program as step 14's for Docker's default capabilities: the
 * architecture (and, on x86-64, x32) checked first; Docker's denied calls
 * fail with EPERM; clone3 with ENOSYS; clone and unshare with a namespace
 * flag with EPERM; everything else allowed.
 *
 *     seccomp >filter.bpf
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lab.h"

static const int denied[] = {
    SYS_reboot, SYS_kexec_load, SYS_kexec_file_load, SYS_init_module, SYS_finit_module,
    SYS_delete_module, SYS_mount, SYS_umount2, SYS_pivot_root, SYS_setns, SYS_fsopen,
    SYS_fsconfig, SYS_fsmount, SYS_fspick, SYS_move_mount, SYS_open_tree, SYS_mount_setattr,
    SYS_quotactl, SYS_lookup_dcookie, SYS_bpf, SYS_perf_event_open, SYS_clock_settime,
    SYS_clock_adjtime, SYS_settimeofday, SYS_adjtimex, SYS_ptrace, SYS_userfaultfd, SYS_acct,
    SYS_open_by_handle_at, SYS_syslog, SYS_vhangup, SYS_keyctl, SYS_add_key, SYS_request_key,
    SYS_swapon, SYS_swapoff,
#ifdef __x86_64__
    SYS_iopl, SYS_ioperm, SYS_uselib, SYS_ustat, SYS_sysfs, SYS__sysctl,
#endif
};

#define STMT(code, k) ((struct sock_filter)BPF_STMT(code, k))
#define JUMP(code, k, jt, jf) ((struct sock_filter)BPF_JUMP(code, k, jt, jf))

int main(void)
{
    const unsigned ns = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
                        CLONE_NEWNET | CLONE_NEWCGROUP | 0x80 /* CLONE_NEWTIME */;
    struct sock_filter f[128];
    size_t n = 0;

    f[n++] = STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, LAB_AUDIT_ARCH, 1, 0);
    f[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
    f[n++] = STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
#ifdef __x86_64__
    f[n++] = JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1);
    f[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
#endif
    for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
        f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)denied[i], 0, 1);
        f[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
    }
    f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1);
    f[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
    f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_unshare, 1, 0);
    f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 3);
    f[n++] = STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]));
    f[n++] = JUMP(BPF_JMP | BPF_JSET | BPF_K, ns, 0, 1);
    f[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
    f[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    if (fwrite(f, sizeof(f[0]), n, stdout) != n || fflush(stdout) != 0) {
        perror("seccomp: write the filter");
        return 1;
    }
    return 0;
}
