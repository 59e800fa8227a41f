/*
 * step-18: a kubelet: the control loop that keeps static pod manifests true.
 *
 * New here: kubelet --pod-manifest-path DIR reads Pod and ReplicaSet
 * manifests (YAML) from DIR, compares them with the pods that run, and acts
 * until they match: starts what is missing, ends what is no longer asked
 * for, restarts a container as its restartPolicy says, with Kubernetes'
 * back-off. The pods run through step 17's runtime; get pods, get pod NAME
 * -o json and logs NAME show them as kubectl does.
 * Read: docs/step-18-kubelet.md; inotify(7); pidfd_open(2)
 * Demo: kubelet --help
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lab.h"

/* The namespaces without which the child would change the host itself. */
#define MUST_BE_NEW (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUSER)

/* The namespaces the child is born in: one CLONE_NEW* flag for each part of
 * the system it gets a copy of its own. */
static int namespaces(void)
{
    int flags = 0;

    /* LAB:BEGIN pid-namespace */
    /* CLONE_NEWPID: the child is PID 1 of a new PID namespace. It sees only
     * its own descendants; the host sees it under an ordinary pid. */
    flags |= CLONE_NEWPID;
    /* LAB:END */
    /* LAB:BEGIN mount-namespace */
    /* CLONE_NEWNS: the child gets its own copy of the mount table, so what it
     * mounts (a proc, later a whole root) changes its view, not the host's. */
    flags |= CLONE_NEWNS;
    /* LAB:END */
    /* LAB:BEGIN uts-namespace */
    /* CLONE_NEWUTS: the child gets its own copy of the hostname. */
    flags |= CLONE_NEWUTS;
    /* LAB:END */
    /* LAB:BEGIN net-namespace */
    /* CLONE_NEWNET: its own links, addresses, routes and ports. */
    flags |= CLONE_NEWNET;
    /* LAB:END */
    /* LAB:BEGIN ipc-namespace */
    /* CLONE_NEWIPC: its own System V shared memory, semaphores and message
     * queues, and its own POSIX message queues. */
    flags |= CLONE_NEWIPC;
    /* LAB:END */
    /* LAB:BEGIN user-namespace */
    /* CLONE_NEWUSER: its own uids and gids, and capabilities that hold only
     * over what its namespaces own. The other namespaces of this clone are
     * its, so its root may mount, name and configure inside them. */
    flags |= CLONE_NEWUSER;
    /* LAB:END */
    return flags;
}

/* The image layers, the init layer and the container's own, joined by
 * overlayfs at merged: the container's root from now on. */
static void mount_layers(struct container *c)
{
    /* LAB:BEGIN overlay */
    /* lowerdir lists the read-only layers, the top first; a write goes to
     * upperdir, after the file is copied up from the layer that had it, and
     * a deletion is recorded there as a whiteout. Mounted after our mounts
     * are private; the blocks that follow find the root in c->root. */
    if (mount("overlay", c->layers.merged, "overlay", 0, c->layers.options) < 0)
        die("mount overlay on %s (%s)", c->layers.merged, c->layers.options);
    c->root = c->layers.merged;
    say("mounted an overlay of %d image layer(s), the init layer and the container's own on %s",
        c->opts.nlayers, c->root);
    /* LAB:END */
}

/* Each -v HOST:CONTAINER, bound into the rootfs before the root switch,
 * while the host's paths can still be named; afterwards only the rootfs is
 * left, with the volumes inside it. */
static void mount_volumes(struct container *c)
{
    /* LAB:BEGIN volumes */
    /* The mount point is resolved beneath the rootfs (and created if
     * missing), so that neither ".." nor a symlink can make it land outside.
     * The mount goes through /proc/self/fd/N: onto the very directory that
     * was checked, not onto a path that could be swapped in the meantime. */
    int rootfs_fd = open(c->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfs_fd < 0)
        die("open %s", c->root);
    for (int i = 0; i < c->opts.nvolumes; i++) {
        const struct lab_volume *v = &c->opts.volumes[i];
        char target[64];
        struct stat st;
        int fd;

        if (stat(v->host, &st) < 0)
            die("-v %s", v->host);
        fd = path_open_beneath(rootfs_fd, v->container, S_ISDIR(st.st_mode));
        if (fd == -EXDEV)
            die_msg("-v %s:%s: the mount point leads out of the rootfs", v->host, v->container);
        if (fd < 0)
            die_errno(fd, "-v %s: mount point %s in the rootfs", v->host, v->container);
        snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
        if (mount(v->host, target, NULL, MS_BIND | MS_REC, NULL) < 0)
            die("bind-mount %s on %s", v->host, v->container);
        close(fd);
        /* A bind mount ignores MS_RDONLY: read-only takes a second call, on
         * the new mount itself (open the path again: it now leads into the
         * volume). A remount sets all the mount's flags at once: keep those
         * it has (nosuid, nodev...), which a user namespace may not clear. */
        if (v->readonly) {
            unsigned long keep;

            fd = path_open_beneath(rootfs_fd, v->container, S_ISDIR(st.st_mode));
            if (fd < 0)
                die_errno(fd, "-v %s: reopen %s", v->host, v->container);
            snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
            if (path_mount_flags(target, &keep) < 0 ||
                mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, NULL) < 0)
                die("remount %s read-only", v->container);
            close(fd);
        }
        say("-v %s:%s%s", v->host, v->container, v->readonly ? " (read-only)" : "");
    }
    close(rootfs_fd);
    /* LAB:END */
}

/* pivot_root(2): the rootfs becomes the root mount of this namespace, and
 * the old root, with every mount of the host, is detached from it. */
static void switch_root(struct container *c)
{
    /* LAB:BEGIN pivot-root */
    /* With new root and old root both ".", the old root ends up stacked on
     * top of the new one, and umount2(".") takes it away. MNT_DETACH: the
     * old root is busy (it holds the host's every mount), so detach it from
     * our tree now and let the kernel drop it when it is no longer used. */
    if (chdir(c->root) < 0)
        die("chdir %s", c->root);
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        die("pivot_root to %s", c->root);
    if (umount2(".", MNT_DETACH) < 0)
        die("unmount the old root");
    if (chdir("/") < 0)
        die("chdir / in the new root");
    say("pivot_root(\".\", \".\") and unmounted the old root: the host's files are gone");
    /* LAB:END */
}

/* A new network namespace holds only a loopback, and it is down. With
 * --network bridge the parent has put eth0 here: give it its address, and a
 * route out through the host's end. */
static void bring_up_network(struct container *c)
{
    /* LAB:BEGIN net-up */
    struct nl_sock nl;
    int err;

    if ((err = nl_open(&nl)) < 0 || (err = nl_link_up(&nl, "lo")) < 0)
        die_errno(err, "bring lo up");
    if (c->opts.net) {
        if ((err = nl_addr_add(&nl, "eth0", c->lease.container, c->lease.prefix)) < 0)
            die_errno(err, "add %s to eth0", ipam_fmt(c->lease.container, c->lease.prefix));
        if ((err = nl_link_up(&nl, "eth0")) < 0)
            die_errno(err, "bring eth0 up");
        if ((err = nl_route_add_default(&nl, "eth0", c->lease.host)) < 0)
            die_errno(err, "add the default route via %s", ipam_fmt(c->lease.host, -1));
        say("lo up; eth0 %s up; default via %s", ipam_fmt(c->lease.container, c->lease.prefix),
            ipam_fmt(c->lease.host, -1));
    } else {
        say("lo up: the only link here (--network none)");
    }
    nl_close(&nl);
    /* LAB:END */
}


/* The container's own group, as its cgroup view: a cgroup namespace rooted
 * at the group, and the group's files read-only on /sys/fs/cgroup. */
static void mount_cgroup_view(struct container *c)
{
    /* LAB:BEGIN cgroup-namespace */
    /* unshare(2), not a clone flag: a cgroup namespace's root is the group
     * its creator is in, so it is made now, once the parent has put us in
     * ours (sync point GO). From then on /proc/self/cgroup says "/", and a
     * cgroup filesystem mounted here shows the group's own files: its
     * limits, and nothing of the host's other groups. */
    int err;

    if (unshare(CLONE_NEWCGROUP) < 0)
        die("unshare(CLONE_NEWCGROUP)");
    if ((err = cg_mount_view(&c->cg, "/sys/fs/cgroup")) < 0)
        die_errno(err, "%s", c->cg.what);
    say("unshare(CLONE_NEWCGROUP): our group is / now, mounted read-only on /sys/fs/cgroup");
    /* LAB:END */
}


/* Root of the user namespace, for real: until now the child runs as the
 * host's uid, which the namespace does not map (it shows as nobody). */
static void become_root(struct container *c)
{
    if (c->opts.userns_host)
        return; /* --userns host: root already, the host's own */
    /* LAB:BEGIN become-root */
    /* The maps are written (sync point GO): uid and gid 0 exist here now, as
     * the host's ids the map names, and files the child makes are theirs.
     * The capabilities stay: they are the namespace's, which the child owns
     * (and it stays root in it). */
    int err;

    if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
        die("become root of the user namespace (setresuid 0)");
    /* A change of credentials clears the parent-death signal: ask again. */
    if ((err = proc_die_with_parent()) < 0)
        die_errno(err, "prctl(PR_SET_PDEATHSIG)");
    say("uid 0 and gid 0 here, %u and %u on the host", c->opts.uidmap[0].outside,
        c->opts.gidmap[0].outside);
    /* LAB:END */
}

/* The image layers, idmapped for this namespace by the parent, attached
 * where the overlay's options look for them, before the overlay. */
static void attach_idmapped_layers(struct container *c)
{
    if (c->opts.userns_host)
        return; /* --userns host: the layers as they are, trusted.* xattrs */
    /* LAB:BEGIN attach-layers */
    /* In a user namespace overlayfs cannot write trusted.* xattrs (they take
     * the host's CAP_SYS_ADMIN): userxattr keeps its notes in
     * user.overlay.* instead. */
    int n = 0;

    for (; n < c->opts.nlayers && c->idmapped[n] >= 0; n++) {
        int err = userns_attach_tree(c->idmapped[n], c->opts.layers[n]);

        if (err < 0)
            die_errno(err, "attach the idmapped %s", c->opts.layers[n]);
    }
    if (layer_add_option(&c->layers, "userxattr") < 0)
        die_msg("--layer: the overlay's options are too long for userxattr");
    say("%d idmapped layer(s) attached; the overlay gets userxattr", n);
    /* LAB:END */
}

/* The device files every program uses, bound from the host's /dev. */
static void bind_host_devices(struct container *c)
{
    /* LAB:BEGIN userns-devices */
    /* A file system mounted in a user namespace ignores device files (the
     * kernel makes it nodev: a container's root could otherwise mknod its
     * way into any disk), so the rootfs's /dev/null is dead in our overlay.
     * A bind mount of the host's own node keeps the host's rules: bind them,
     * before pivot_root, while the host's /dev can still be named. */
    static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
    int root_fd = open(c->root, O_PATH | O_DIRECTORY | O_CLOEXEC);

    if (root_fd < 0)
        die("open %s", c->root);
    for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
        char host[32], rel[32], target[64];
        int fd;

        snprintf(host, sizeof(host), "/dev/%s", nodes[i]);
        snprintf(rel, sizeof(rel), "dev/%s", nodes[i]);
        if ((fd = path_open_beneath(root_fd, rel, false)) < 0)
            die_errno(fd, "the mount point /%s in the rootfs", rel);
        snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
        if (mount(host, target, NULL, MS_BIND, NULL) < 0)
            die("bind-mount %s", host);
        close(fd);
    }
    close(root_fd);
    say("bound the host's /dev/null, zero, full, random, urandom and tty into /dev");
    /* LAB:END */
}

/* A proc, before pivot_root, under the new root. */
static void mount_proc_early(struct container *c)
{
    /* LAB:BEGIN userns-proc */
    /* The kernel lets a user namespace's root mount a proc only where a proc
     * is already fully visible in its mount namespace (a new one must not
     * show what a mount over the old one hides): mount it now, while the
     * host's is still here. The proc mounted on /proc after pivot_root then
     * has one to go by. */
    char target[PATH_MAX];

    snprintf(target, sizeof(target), "%s/proc", c->root);
    if (mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        die("mount proc on %s", target);
    say("mounted a proc under the new root before pivot_root, as a user namespace must");
    /* LAB:END */
}

/* A /sys of the container's own, read-only, under the new root before
 * pivot_root: as with proc, a user namespace (step 12) may mount one only
 * while the host's is there to go by. */
static void mount_sysfs(struct container *c)
{
    /* LAB:BEGIN sysfs */
    /* sysfs shows the network namespace of whoever mounts it: our links.
     * Read-only, as Docker's, unless --privileged: what is writable there
     * is the host's kernel's. */
    unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC | (c->opts.privileged ? 0 : MS_RDONLY);
    char target[PATH_MAX];

    snprintf(target, sizeof(target), "%s/sys", c->root);
    if (mount("sysfs", target, "sysfs", flags, NULL) < 0)
        die("mount sysfs on %s", target);
    say("mounted a %s sysfs on /sys", c->opts.privileged ? "read-write" : "read-only");
    /* LAB:END */
}

/* /proc and /sys show the host's kernel: hide what a container has no
 * business reading, and make read-only what it has no business changing. */
static void mask_paths(struct container *c)
{
    /* LAB:BEGIN masked-paths */
    /* Docker's lists (moby's daemon/pkg/oci/defaults.go; runc applies
     * them). A masked file gets /dev/null bound over it, a masked directory
     * an empty read-only tmpfs; a read-only path is bound onto itself and
     * remounted read-only. --privileged: none. */
    static const char *const masked[] = {
        "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
        "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
        "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
        "/sys/devices/system/cpu/cpu*/thermal_throttle", /* one per CPU, where it exists */
    };
    static const char *const readonly[] = {
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
    };
    unsigned long keep;
    struct stat st;

    if (c->opts.privileged)
        return;
    for (size_t i = 0; i < sizeof(masked) / sizeof(masked[0]); i++) {
        glob_t found;

        if (glob(masked[i], GLOB_NOSORT, NULL, &found) != 0)
            continue; /* not in this kernel */
        for (size_t k = 0; k < found.gl_pathc; k++) {
            const char *path = found.gl_pathv[k];

            if (stat(path, &st) < 0 ||
                (S_ISDIR(st.st_mode) ? mount("tmpfs", path, "tmpfs", MS_RDONLY, "size=0") < 0
                                     : mount("/dev/null", path, NULL, MS_BIND, NULL) < 0))
                die("mask %s", path);
        }
        globfree(&found);
    }
    for (size_t i = 0; i < sizeof(readonly) / sizeof(readonly[0]); i++) {
        if (stat(readonly[i], &st) < 0)
            continue;
        if (mount(readonly[i], readonly[i], NULL, MS_BIND | MS_REC, NULL) < 0 ||
            path_mount_flags(readonly[i], &keep) < 0 ||
            mount(NULL, readonly[i], NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, NULL) < 0)
            die("make %s read-only", readonly[i]);
    }
    say("masked /proc/kcore, /proc/keys, /proc/interrupts and the like; /proc/sys read-only");
    /* LAB:END */
}

/* Root's power, cut down to what an ordinary program running as root
 * needs: the last thing before the command, since mounting, naming and
 * configuring the container needed more. */
static void drop_capabilities(struct container *c)
{
    /* LAB:BEGIN capabilities */
    /* Docker's set, with --cap-add and --cap-drop (caps_of). The bounding
     * set first: it caps what any later execve(2) may give, and a dropped
     * capability never comes back. Then the ambient set, which would carry
     * capabilities across execve(2), empty; then this process's own sets,
     * the inheritable one empty too (as Docker, since CVE-2022-24769). */
    struct __user_cap_header_struct head = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2] = { { 0 } };
    uint64_t keep = caps_of(&c->opts);

    for (int cap = 0; cap < caps_count(); cap++)
        if (!(keep & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
            die("drop CAP_%s from the bounding set", caps_name(cap));
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
        die("clear the ambient capabilities");
    data[0].effective = data[0].permitted = (uint32_t)keep;
    data[1].effective = data[1].permitted = (uint32_t)(keep >> 32);
    if (syscall(SYS_capset, &head, data) < 0)
        die("capset");
    say("capabilities: %s", caps_describe(keep));
    /* LAB:END */
    /* LAB:BEGIN no-new-privs */
    /* No execve(2) may gain privileges from here on: a set-uid program, or
     * file capabilities, give nothing. Seccomp (step 14) needs it too. */
    if (!c->opts.privileged && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        die("prctl(PR_SET_NO_NEW_PRIVS)");
    if (!c->opts.privileged)
        say("no_new_privs: no execve can gain a privilege");
    /* LAB:END */
}

/* One rule of Docker's profile for the call nr, as BPF instructions at
 * f[n]: is it this call, does its argument qualify, then its verdict.
 * Returns the new n. The accumulator holds the call's number before and
 * after. */
static unsigned emit_rule(struct sock_filter *f, unsigned n, int nr, const struct sc_rule *r)
{
    /* LAB:BEGIN seccomp-rule */
    /* A rule without a condition: two instructions, "this number? then the
     * verdict". With one, the accumulator must load the argument: a u64
     * that classic BPF reads as two 32-bit words (the low one first, on a
     * little-endian machine). The values of Docker's conditions fit in 32
     * bits, so the high word must be 0 (libseccomp compares all 64 bits
     * too), except for a mask, which looks at the low word alone. Where the
     * argument does not qualify, the number is loaded again for the next
     * rule: a call may have several (socket has three). */
    unsigned verdict = r->errno_ret ? SECCOMP_RET_ERRNO | (unsigned)r->errno_ret
                                    : SECCOMP_RET_ALLOW;
    unsigned low = offsetof(struct seccomp_data, args[0]) + 8 * r->arg, high = low + 4;
    unsigned number = offsetof(struct seccomp_data, nr);
    bool masked = r->op == SC_MASKED_EQ;

    if (r->op == SC_ANY) {
        f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1);
        f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, verdict);
        return n;
    }
    f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0,
                                          masked ? 4 : 6);
    if (!masked) {
        f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, high);
        f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3);
    }
    f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, low);
    if (r->op == SC_EQ)
        f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)r->value, 0, 1);
    else if (r->op == SC_LT) /* below: not at or above */
        f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (unsigned)r->value, 1, 0);
    else if (r->op == SC_GT)
        f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, (unsigned)r->value, 0, 1);
    else /* no bit of the mask set */
        f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, (unsigned)r->value, 1, 0);
    f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, verdict);
    f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, number);
    /* LAB:END */
    return n;
}

/* A seccomp filter: a small program the kernel runs on every system call
 * of the container from now on, before the call, to allow or refuse it. */
static void load_seccomp(struct container *c)
{
    /* LAB:BEGIN seccomp */
    /* Docker's default profile (sc_docker_default, moby's default.json as
     * data) is an allow list: its rules let calls through, each rule only
     * where the container has the capability it names (--cap-add
     * SYS_ADMIN: mount); a call no rule lets through fails with EPERM, a
     * call added to the kernel after the list was written too. The program
     * is classic BPF: it loads a word of struct seccomp_data into its
     * accumulator, compares, jumps (at most 255 instructions ahead: so each
     * rule carries its own verdict), returns a verdict. First the
     * architecture: a call of another ABI (int $0x80 on x86-64) has other
     * numbers, so it is killed, not judged by the table. */
    unsigned arch = offsetof(struct seccomp_data, arch), nr = offsetof(struct seccomp_data, nr);
    uint64_t caps = caps_of(&c->opts);
    unsigned max = sc_max_instructions(), n = 0, rules = 0;
    struct sock_filter *f;
    struct sock_fprog prog;
    char name[64];

    if (c->opts.seccomp_unconfined || c->opts.privileged) {
        say("no seccomp filter (%s)", c->opts.privileged ? "--privileged" : "seccomp=unconfined");
        return;
    }
    if (!(f = calloc(max, sizeof(*f))))
        die("room for a seccomp program of %u instructions", max);
    f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, arch);
    f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, LAB_AUDIT_ARCH, 1, 0);
    f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
    f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, nr);
#ifdef __x86_64__ /* x32 calls: the x86-64 arch, with bit 30 of the number set */
    f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1);
    f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
#endif
    for (size_t i = 0; i < sc_docker_default_len; i++) {
        const struct sc_rule *r = &sc_docker_default[i];

        if (!sc_rule_applies(r, caps))
            continue;
        for (const char *at = r->names; sc_next_name(&at, name, sizeof(name));) {
            int call = sc_resolve(name);

            if (call < 0) /* not a call of this architecture (chown32 on x86-64) */
                continue;
            if (n + SC_MAX_RULE + 1 > max)
                die_msg("seccomp: the program outgrew its %u instructions", max);
            n = emit_rule(f, n, call, r);
            rules++;
        }
    }
    f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
    prog = (struct sock_fprog){ .len = (unsigned short)n, .filter = f };
    /* Allowed without CAP_SYS_ADMIN only under no_new_privs (step 13). */
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
        die("prctl(PR_SET_SECCOMP): load the filter");
    free(f); /* the kernel keeps its own copy */
    say("seccomp: Docker's default profile, %u rules in %u BPF instructions; any other call: EPERM",
        rules, n);
    /* LAB:END */
}
/* --init: PID 1 stays the lab's, a tiny init like docker run --init's
 * tini, and the command runs as its child. */
static void run_init(struct container *c)
{
    /* LAB:BEGIN init */
    /* PID 1 of a namespace is special twice over. The kernel gives it no
     * signal it has no handler for (a shell as PID 1 shrugs SIGTERM off),
     * and every orphan of the namespace becomes its child, to be reaped.
     * So: block the signals to pass on (a blocked signal is kept for
     * sigwaitinfo(2), not dropped), fork the command into a process group
     * of its own, then wait. A signal goes on to the command's group; an
     * ended child is reaped, whoever it was; the command's end is ours,
     * 128+N for signal N. When PID 1 exits the kernel kills the rest. */
    static const int passed_on[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
    sigset_t set;
    pid_t command;

    if (!c->opts.init)
        return;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    for (size_t i = 0; i < sizeof(passed_on) / sizeof(passed_on[0]); i++)
        sigaddset(&set, passed_on[i]);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 || (command = fork()) < 0)
        die("--init: fork the command");
    if (command == 0) {
        if (setpgid(0, 0) < 0 || sigprocmask(SIG_UNBLOCK, &set, NULL) < 0)
            die("--init: a process group for the command");
        proc_take_terminal(); /* at a terminal, its group reads it, and gets Ctrl-C */
        return;
    }
    say("--init: PID 1 is a tiny init now; the command is pid %d", (int)command);
    for (;;) {
        int sig = sigwaitinfo(&set, NULL), status;
        pid_t pid;

        if (sig > 0 && sig != SIGCHLD)
            (void)kill(-command, sig); /* its group may be gone: nothing to do */
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
            if (pid == command)
                _exit(proc_exit_status(status));
    }
    /* LAB:END */
}
/* Before the child mounts anything: its mounts must stay its own. */
static void make_mounts_private(void)
{
    /* LAB:BEGIN private-mounts */
    /* The new mount namespace starts as a copy of the host's mount table, and
     * on most systems (systemd) its mounts are "shared": a mount made here
     * would appear on the host too. Make every mount private, recursively,
     * before mounting anything. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        die("make / private (mount --make-rprivate /)");
    say("mount --make-rprivate /: our mounts no longer reach the host");
    /* LAB:END */
}

/* A pod's container, or one on another's network (--network container:NAME),
 * is born in no new namespace: its child joins theirs, then makes its own. */
static bool joins_others(const struct container *c)
{
    return c->opts.pod[0] || c->opts.net_container[0];
}

/* Whether the container has a network namespace of its own to set up: a
 * pod's containers share the pod's, --network host is the host's. */
static bool own_network(const struct container *c)
{
    return !joins_others(c) && !c->opts.host_network;
}

/* What the child must not share with the host, at once: a pod's container
 * is checked once it has joined the pod (enter_pod); --network host is
 * the host's network on purpose. */
static int must_be_new(const struct container *c)
{
    if (joins_others(c))
        return 0;
    return c->opts.host_network ? MUST_BE_NEW & ~CLONE_NEWNET : MUST_BE_NEW;
}

/* In the child of a pod's container: into the pod's namespaces, then into
 * the container's own. */
static void enter_pod(struct container *c)
{
    if (c->opts.net_container[0]) /* the same, for a network alone */
        lab_join_network_of(c, MUST_BE_NEW);
    if (!c->opts.pod[0])
        return;
    /* LAB:BEGIN pod-join */
    /* setns(2) by the infra's pidfd, as exec does (step 15): the pod's user
     * namespace, and in it the network, IPC and UTS ones (and PID, with
     * --share-pid). Then the container's own mount and PID namespaces,
     * made now with unshare(2), so that they belong to the pod's user
     * namespace, whose root we are about to be: made by clone(2), before
     * the join, they would be the host's, and we could mount nothing. */
    int join = CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS |
               (c->opts.share_pid ? CLONE_NEWPID : 0);
    int own = CLONE_NEWNS | (c->opts.share_pid ? 0 : CLONE_NEWPID);

    if (setns(c->pod.pidfd, join) < 0)
        die("setns(%s) into the pod %s", ns_flag_names(join), c->opts.pod);
    if (unshare(own) < 0)
        die("unshare(%s)", ns_flag_names(own));
    say("in the pod %s: %s", c->opts.pod, ns_flag_names(join));
    /* LAB:END */
    /* A PID namespace takes in our children, not us: fork. We stay out as
     * a shim; the child goes on, PID 1 (or one of the pod's processes). */
    lab_child_fork(c, MUST_BE_NEW);
}

/* --network host: the host's /sys, bound read-only under the new root. */
static void bind_host_sysfs(struct container *c)
{
    /* LAB:BEGIN host-sysfs */
    /* A sysfs shows the network namespace of whoever mounts it, and the root
     * of a user namespace (rootless) may mount one only for a network
     * namespace its user namespace owns: the host's is not. So bind the
     * host's /sys (as rootless Podman does), read-only, and as root (with
     * --userns host) the same way, and only /sys itself: the mounts below
     * it are the host's cgroup hierarchies (read-write), debugfs... Docker
     * mounts a sysfs of its own (daemon/pkg/oci/defaults.go), which has
     * none. A user namespace may bind /sys only with them (MS_REC), so
     * as root the parent cloned /sys alone for us (c->host_sysfs); rootless,
     * the whole tree comes, and an empty tmpfs covers its cgroups (what is
     * under it is the host's, closed to the user's ids anyway). */
    char target[PATH_MAX];
    unsigned long keep;

    snprintf(target, sizeof(target), "%s/sys", c->root);
    if ((c->host_sysfs >= 0 ? userns_attach_tree(c->host_sysfs, target)
                            : mount("/sys", target, NULL, MS_BIND | MS_REC, NULL)) < 0 ||
        path_mount_flags(target, &keep) < 0 ||
        mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, NULL) < 0)
        die("bind the host's /sys read-only on %s", target);
    snprintf(target, sizeof(target), "%s/sys/fs/cgroup", c->root);
    if (c->host_sysfs < 0 &&
        mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=755") < 0)
        die("cover the host's cgroups on %s", target);
    say("--network host: the host's /sys, bound read-only%s",
        c->host_sysfs >= 0 ? ", without the mounts below it" : ", its cgroups covered");
    /* LAB:END */
}

/* The rest of Docker's /dev, after /dev/mqueue: a tmpfs for shared memory
 * and a devpts for terminals, each the container's own. */
static void mount_shm_and_pts(const struct container *c)
{
    /* LAB:BEGIN dev-shm-pts */
    /* POSIX shared memory (shm_open) is not in the IPC namespace: it is
     * files in /dev/shm, a tmpfs. Without one of its own, the container's
     * /dev/shm is a directory of the image, the same for every container.
     * A terminal is a pair of files in a devpts: one of our own, so that
     * the host's terminals are not listed and /dev/ptmx (a link to
     * pts/ptmx) makes ours. Docker's options (moby daemon/pkg/oci/defaults.go),
     * and its size, --shm-size (64 MiB unless given). */
    char shm[64];

    snprintf(shm, sizeof(shm), "mode=1777,size=%lld", c->opts.shm_bytes);
    if (mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, shm) < 0)
        die("mount a tmpfs on /dev/shm");
    if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
              "newinstance,ptmxmode=0666,mode=0620") < 0)
        die("mount a devpts on /dev/pts");
    say("mounted a tmpfs of %s on /dev/shm and a devpts of our own on /dev/pts",
        lab_bytes(c->opts.shm_bytes));
    /* LAB:END */
}

/* pivot_root(2) needs the new root to be a mount point of its own. */
static void bind_rootfs_onto_itself(const struct container *c)
{
    /* LAB:BEGIN bind-rootfs */
    /* pivot_root(2) swaps mounts, so the new root must be a mount point:
     * bind-mount the rootfs onto itself to make it one. */
    if (mount(c->root, c->root, NULL, MS_BIND | MS_REC, NULL) < 0)
        die("bind-mount %s onto itself", c->root);
    say("bind-mounted %s onto itself: a mount point now", c->root);
    /* LAB:END */
}

/* After the switch: a /proc of the container's own. */
static void mount_proc(void)
{
    /* LAB:BEGIN mount-proc */
    /* A proc filesystem shows the PID namespace of whoever mounts it: ours. */
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        die("mount proc on /proc");
    say("mounted a new proc on /proc: it shows this PID namespace");
    /* LAB:END */
}

/* After the switch: the container's own POSIX message queues. */
static void mount_mqueue(void)
{
    /* LAB:BEGIN mount-mqueue */
    /* POSIX message queues are files of an mqueue filesystem, which shows
     * the IPC namespace of whoever mounts it: ours, as proc shows our pids. */
    if (mount("mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        die("mount mqueue on /dev/mqueue");
    say("mounted a new mqueue on /dev/mqueue: this IPC namespace's POSIX queues");
    /* LAB:END */
}

/* In the new UTS namespace: the container's name. */
static void set_hostname(const struct container *c)
{
    /* LAB:BEGIN hostname */
    /* In its own UTS namespace the container may name itself: the host's
     * hostname is another copy, untouched. */
    if (sethostname(c->hostname, strlen(c->hostname)) < 0)
        die("sethostname(\"%s\")", c->hostname);
    say("sethostname(\"%s\"): the host keeps its own", c->hostname);
    /* LAB:END */
}

/* Runs in the child, in the new namespaces: finish the container's view of
 * the system, then become the command. Does not return. */
static int child_main(void *arg)
{
    struct container *c = arg;

    /* Sync point GO, then the safety net: not in the host's MUST_BE_NEW. */
    lab_child_begin(c, must_be_new(c));
    enter_pod(c);
    become_root(c);
    make_mounts_private();
    attach_idmapped_layers(c);
    mount_layers(c);
    bind_rootfs_onto_itself(c);
    mount_volumes(c);
    bind_host_devices(c);
    mount_proc_early(c);
    if (c->opts.host_network)
        bind_host_sysfs(c);
    else
        mount_sysfs(c);
    switch_root(c);
    mount_proc();
    mount_mqueue();
    mount_shm_and_pts(c);
    mount_cgroup_view(c);
    mask_paths(c);
    set_hostname(c);
    if (own_network(c))
        bring_up_network(c);
    drop_capabilities(c);
    lab_child_env(c); /* docker run's environment, not the host's */
    load_seccomp(c);
    lab_child_ready(c); /* set up: exec NAME may join it from now on */
    run_init(c);
    lab_child_exec(c);
}

/* The container's own layer, the only one it ever writes to, made before
 * the child exists; the child mounts the overlay. */
static void prepare_layers(struct container *c)
{
    /* LAB:BEGIN container-layer */
    /* overlayfs needs a writable upper dir, the container's layer (kept with
     * --upper, removed at the end otherwise), and a work dir on the same
     * file system. The image layers are only ever read. */
    int err;

    if ((err = layer_prepare(&c->layers, &c->opts, c->id)) < 0)
        die_errno(err, "%s", c->layers.what);
    say("%d image layer(s), read-only; the container's own layer in %s", c->opts.nlayers,
        c->layers.upper);
    /* LAB:END */
}

/* The files that name this container, in a layer of their own between the
 * image and the container's (Docker's "-init" layer holds placeholders for
 * them), so that an image never holds them and a commit leaves them out. */
static void make_init_layer(struct container *c)
{
    /* LAB:BEGIN init-layer */
    char hostname[LAB_HOSTNAME_MAX + 2], hosts[512];
    int err;

    snprintf(hostname, sizeof(hostname), "%s\n", c->hostname);
    snprintf(hosts, sizeof(hosts), "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n%s\t%s\n",
             c->opts.net ? ipam_fmt(c->lease.container, -1) : "127.0.1.1", c->hostname);
    if ((err = layer_write(&c->layers, "etc/hostname", hostname)) < 0 ||
        (err = layer_write(&c->layers, "etc/hosts", hosts)) < 0 ||
        (err = layer_write(&c->layers, "etc/resolv.conf", "# no name server: the container's "
                                                          "network ends at the host\n")) < 0)
        die_errno(err, "%s", c->layers.what);
    say("init layer: /etc/hostname, /etc/hosts, /etc/resolv.conf in %s", c->layers.init);
    /* LAB:END */
}

/* After the end, with --commit: docker commit. */
static void commit_layer(struct container *c)
{
    /* LAB:BEGIN commit */
    /* The container's layer, copied as a new image layer that --layer
     * takes: its whiteouts stay whiteouts, the init layer's files stay out. */
    int err;

    if (!c->opts.commit[0])
        return;
    if ((err = layer_commit(&c->layers, c->opts.commit)) < 0)
        die_errno(err, "%s", c->layers.what);
    say("committed the container's layer to %s", c->opts.commit);
    /* LAB:END */
}

/* The container's own group, lab/<pid>, with the CPU cap written into it
 * before any process is in it. */
static void make_cgroup(struct container *c)
{
    /* LAB:BEGIN cgroup */
    struct cg_layout cpu; /* where the cpu controller is */
    int err;

    if ((err = cg_detect(&cpu, "cpu")) < 0)
        die_errno(err, "find the cgroup cpu controller");
    if ((err = cg_create(&c->cg, &cpu, c->id)) < 0)
        die_errno(err, "%s", c->cg.what);
    if (c->opts.cpu_quota_us > 0 &&
        (err = cg_set_cpu_limit(&c->cg, c->opts.cpu_quota_us, c->opts.cpu_period_us)) < 0)
        die_errno(err, "%s", c->cg.what);
    if (c->opts.cpu_quota_us > 0)
        say("%s: %s, %ld us per %ld us (%.2f CPU)", cg_version_name(cpu.version), c->cg.path,
            c->opts.cpu_quota_us, c->opts.cpu_period_us,
            (double)c->opts.cpu_quota_us / c->opts.cpu_period_us);
    else
        say("%s: %s, no CPU cap", cg_version_name(cpu.version), c->cg.path);
    /* LAB:END */
}

/* Starts the child in its namespaces: inside its group from birth where
 * the kernel can, else with a plain clone(2). */
static void start_child(struct container *c, int flags)
{
    c->pid = -EOPNOTSUPP;
    /* LAB:BEGIN cgroup-clone */
    /* cgroup v2, Linux 5.7+: clone3(CLONE_INTO_CGROUP) starts the child
     * inside its group, so no instruction of it ever runs outside, and no
     * cgroup.procs write is needed. -EOPNOTSUPP: the kernel cannot. */
    c->pid = cg_clone_into(&c->cg, child_main, c, flags);
    if (c->pid >= 0)
        c->in_cgroup = true;
    /* LAB:END */
    if (c->pid == -EOPNOTSUPP) {
        void *stack = proc_stack_top();

        if (!stack)
            die("mmap a stack for the child");
        c->pid = clone(child_main, stack, flags, c);
        if (c->pid < 0)
            die("clone");
    } else if (c->pid < 0) {
        die_errno(c->pid, "clone3 into %s", c->cg.path);
    }
    lab_started(c, flags);
}

/* Not started inside (cgroup v1, or an older kernel): the parent moves the
 * child in, while it still waits at sync point GO. */
static void join_cgroup(struct container *c)
{
    /* LAB:BEGIN cgroup-join */
    int err;

    if (!c->in_cgroup && (err = cg_add_pid(&c->cg, c->pid)) < 0)
        die_errno(err, "%s", c->cg.what);
    say("the child is in %s%s", c->cg.path, c->in_cgroup ? " from birth (CLONE_INTO_CGROUP)" : "");
    /* LAB:END */
}

/* The image layers, idmapped for the container's user namespace: made now
 * by the parent, which is root on the host; the child attaches them. */
static void idmap_layers(struct container *c)
{
    if (c->opts.userns_host)
        return; /* --userns host: no namespace to map the layers for */
    /* LAB:BEGIN idmap-layers */
    /* Through an idmapped mount a file owned by uid k on disk shows as owned
     * by k's image in a user namespace's map: the host's root's files as the
     * container's root's (Linux 5.12; overlayfs on them, 5.19). Only root on
     * the host may make one; rootless, the layers must be the user's own.
     * The container's own layers (upper, work, init) are simply given to
     * its root. Supplementary groups of the host's root go too. */
    int userns, err;

    if (c->opts.rootless) {
        say("rootless: the layers are used as they are; files not yours are nobody's inside");
        return;
    }
    if (setgroups(0, NULL) < 0 || (userns = userns_holder(&c->opts)) < 0)
        die("make a user namespace for the idmapped layers");
    for (int i = 0; i < c->opts.nlayers; i++)
        if ((c->idmapped[i] = userns_idmap_tree(c->opts.layers[i], userns)) < 0)
            die_errno(c->idmapped[i], "idmap the layer %s (Linux 5.19+)", c->opts.layers[i]);
    close(userns);
    /* Where the child attaches them: in the scratch dir, which the
     * container's root can reach (a layer in /root/... it could not). */
    if ((err = layer_use_lowers(&c->layers, &c->opts)) < 0 ||
        (err = layer_chown(&c->layers, c->opts.uidmap[0].outside, c->opts.gidmap[0].outside)) < 0)
        die_errno(err, "%s", c->layers.what);
    say("%d layer(s) idmapped, the container's own given to %u:%u", c->opts.nlayers,
        c->opts.uidmap[0].outside, c->opts.gidmap[0].outside);
    /* LAB:END */
}

/* The child's ids, while it waits at sync point GO. */
static void write_id_maps(struct container *c)
{
    if (c->opts.userns_host)
        return; /* --userns host: no user namespace, no maps */
    /* LAB:BEGIN id-maps */
    /* Until its maps are written the child is nobody in its own namespace,
     * and can do nothing: so it waits, and the parent writes them, in this
     * order: uid_map; then "deny" in setgroups, since the kernel takes a
     * gid_map from an unprivileged writer only once setgroups(2) is off (it
     * would let a process drop a group that denies it access); then
     * gid_map. Each file takes one write, once. */
    char how[64];
    int err;

    if ((err = userns_write_maps(c->pid, &c->opts, how, sizeof(how))) < 0)
        die_errno(err, "write the id maps of pid %d", (int)c->pid);
    say("%s: uid 0 inside is %u on the host, %d range(s) in all", how, c->opts.uidmap[0].outside,
        c->opts.nuidmap);
    /* LAB:END */
}

/* The memory and pids limits, in the container's group beside its CPU cap,
 * written before the child exists. */
static void limit_memory_and_pids(struct container *c)
{
    /* LAB:BEGIN limits */
    /* The memory and pids controllers join the cpu one: on cgroup v2 they
     * are enabled for the same directory, on v1 each has a hierarchy of
     * its own, with a lab/<pid> there too. */
    const char *controllers[] = { "memory", "pids" };
    struct cg_layout l;
    int err;

    for (int i = 0; i < 2; i++) {
        if ((err = cg_detect(&l, controllers[i])) < 0)
            die_errno(err, "find the cgroup %s controller", controllers[i]);
        if ((err = cg_add_controller(&c->cg, &l)) < 0)
            die_errno(err, "%s", c->cg.what);
    }
    if ((err = cg_set_memory_limit(&c->cg, c->opts.memory_bytes, c->opts.memory_swap_bytes)) < 0 ||
        (err = cg_set_pids_limit(&c->cg, c->opts.pids_limit)) < 0)
        die_errno(err, "%s", c->cg.what);
    say("memory: %s; pids: %s", lab_bytes(c->opts.memory_bytes), lab_count(c->opts.pids_limit));
    /* LAB:END */
}

/* After the end: the kernel counts in the group each process its OOM
 * killer killed there; read it before the group is removed. */
static void report_oom(struct container *c)
{
    /* LAB:BEGIN oom-report */
    int kills = cg_oom_kills(&c->cg);

    if (kills > 0)
        say("the OOM killer killed %d process(es) of the container: it needed more than "
            "--memory %s", kills, lab_bytes(c->opts.memory_bytes));
    /* LAB:END */
}

/* With --network bridge, the host's end of the network: a veth pair, the host's end
 * with its address, up. */
static void make_veth(struct container *c)
{
    /* LAB:BEGIN veth */
    /* One RTM_NEWLINK creates both ends: lab<pid> here, and its peer eth0
     * born inside the child's network namespace (IFLA_NET_NS_PID). */
    struct nl_sock nl;
    int err;

    if (!c->opts.net)
        return;
    if ((err = nl_open(&nl)) < 0)
        die_errno(err, "open an rtnetlink socket");
    if ((err = nl_veth_create(&nl, c->veth, "eth0", c->pid)) < 0)
        die_errno(err, "create veth %s", c->veth);
    c->veth_created = true;
    if ((err = nl_addr_add(&nl, c->veth, c->lease.host, c->lease.prefix)) < 0)
        die_errno(err, "add %s to %s", ipam_fmt(c->lease.host, c->lease.prefix), c->veth);
    if ((err = nl_link_up(&nl, c->veth)) < 0)
        die_errno(err, "bring %s up", c->veth);
    nl_close(&nl);
    say("veth %s (%s) <-> eth0 (%s) in the container", c->veth,
        ipam_fmt(c->lease.host, c->lease.prefix), ipam_fmt(c->lease.container, c->lease.prefix));
    /* LAB:END */
}

/* --pod NAME: the pod's infra container, found, or made by the pod's
 * first container. */
static void find_or_make_pod(struct container *c)
{
    /* LAB:BEGIN pod-infra */
    /* A namespace lives while a process is in it. A pod's must outlive
     * each of its containers, so a process of their own holds them, and
     * does nothing else: the infra (Kubernetes' "pause"). The pod's first
     * container makes it, in new user, network, IPC and UTS namespaces
     * (and PID, with --share-pid), and does not take it along when it
     * ends; the last container of the pod does. */
    int flags = CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS |
                (c->opts.share_pid ? CLONE_NEWPID : 0);
    void *stack;

    if (!c->opts.pod[0] || lab_pod_find(c))
        return; /* no pod; or it runs, and the child will join it */
    if (!(stack = proc_stack_top()) ||
        (c->pod.infra = clone(pod_infra_main, stack, flags | SIGCHLD, c)) < 0)
        die("clone the infra of the pod %s", c->opts.pod);
    /* Its id maps, its veth with --network bridge, its group: as a container's. */
    lab_pod_start_infra(c);
    /* LAB:END */
}

/* exec NAME: into the namespaces of the running container NAME. */
static void join_namespaces(struct container *c)
{
    /* LAB:BEGIN setns */
    /* setns(2) moves the caller into a namespace of another process. With
     * a pidfd (Linux 5.8), one call joins several at once, all or none,
     * and the kernel takes them in the right order: the user namespace
     * first, as the others' joins need the capabilities it gives (before
     * 5.8: one /proc/PID/ns/ file per call, user first). Joining a mount
     * namespace also moves our root and working directory to its root:
     * the container's. A PID namespace takes in only the children we fork
     * from now on; the cgroup namespace waits until we are in its groups. */
    int flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWPID;

    /* Its user namespace too, unless it has none of its own (--userns
     * host): setns refuses to join the one we are in (EINVAL). */
    if (!c->opts.userns_host)
        flags |= CLONE_NEWUSER;
    if (setns(c->target.pidfd, flags) < 0)
        die_msg("exec %s: setns(%s): %s", c->opts.name, ns_flag_names(flags), lab_exec_why(-errno));
    say("setns(pidfd, %s): in the namespaces of %s", ns_flag_names(flags), c->opts.name);
    /* LAB:END */
}

/* In the child: the container's groups, then its cgroup namespace. */
static void join_groups(struct container *c)
{
    /* LAB:BEGIN exec-cgroup */
    /* A process moves to a group when its pid is written to the group's
     * cgroup.procs ("0": the writer), and the container's limits hold it
     * from then on. The files were opened on the host's paths, before
     * setns: the container's mount namespace has only its own view. The
     * cgroup namespace comes last (its /proc/PID/ns/ file, also opened on
     * the host): from inside it, the group we leave could not be named. */
    for (int i = 0; i < c->target.nprocs; i++)
        if (write(c->target.procs[i], "0", 1) < 0)
            die("join the group %s", c->target.record.cgroups[i]);
    if (setns(c->target.cgroup_ns, CLONE_NEWCGROUP) < 0)
        die("setns(CLONE_NEWCGROUP)");
    say("in the group(s) and the cgroup namespace of %s", c->opts.name);
    /* LAB:END */
}

/* ./step-15 exec NAME COMMAND: docker exec. */
static int exec_in_container(int argc, char *argv[])
{
    struct container c;

    /* Options, then the container: found by its record, pinned by a pidfd. */
    lab_exec_start(&c, argc, argv);
    join_namespaces(&c);
    /* Our child is born in its PID namespace, and becomes the command. */
    if (lab_exec_fork(&c, MUST_BE_NEW)) {
        join_groups(&c);
        /* What the container's command took on, taken on the same way. */
        become_root(&c);
        drop_capabilities(&c);
        lab_child_env(&c);
        load_seccomp(&c);
        lab_child_exec(&c);
    }
    return lab_exec_wait(&c);
}


/* ==== Step 17: an OCI runtime, the container's life split into commands ==== */

/* The filter of config.json's linux.seccomp, compiled by libseccomp in the
 * parent (podman's default, containers/common's pkg/seccomp/default_linux.go,
 * names 437 calls in 22 rules). */
static void oci_load_seccomp(struct container *c)
{
    int err;

    if (c->seccomp && (err = oci_seccomp_load(c->seccomp)) < 0)
        die_errno(err, "load the seccomp filter of config.json");
}

/* The child, set up, waits here until someone runs start: the split of the
 * start-up in two. */
static void wait_for_start(struct container *c)
{
    /* LAB:BEGIN oci-wait */
    /* Opening a FIFO for writing blocks until someone opens it for reading:
     * start will, in another process, long after create has exited. The
     * FIFO was opened O_PATH before pivot_root (its directory is the
     * host's); /proc/self/fd/N opens it again, for real. The byte written
     * tells start that this process, not a stranger, was waiting. */
    char path[32];
    int fd;

    snprintf(path, sizeof(path), "/proc/self/fd/%d", c->fifo);
    if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0 || write(fd, "0", 1) != 1)
        die("wait for start on %s", RT_FIFO);
    close(fd);
    close(c->fifo);
    /* LAB:END */
}

/* The container's process, from clone(2) to execve(2): each part of
 * config.json taken on with what an earlier step built, then the wait. */
static int oci_child_main(void *arg)
{
    struct container *c = arg;
    const struct oci_process *p = &c->oci->process;
    char program[PATH_MAX];

    rt_child_begin(c); /* sync point GO; root of a new user namespace */
    rt_child_join(c);  /* namespaces config.json names by path */
    make_mounts_private();
    /* pivot_root(2) needs the new root to be a mount point. */
    if (mount(c->root, c->root, NULL, MS_BIND | MS_REC, NULL) < 0)
        die("bind-mount %s onto itself", c->root);
    rt_child_mounts(c);
    rt_child_create_hooks(c); /* prestart, createRuntime (create's), createContainer */
    switch_root(c);
    rt_child_paths(c);
    rt_child_terminal(c); /* --console-socket */
    if (c->oci->ns_new & CLONE_NEWNET)
        bring_up_network(c); /* lo */
    if (!p->no_new_privs)
        oci_load_seccomp(c); /* without no_new_privs, it needs CAP_SYS_ADMIN */
    rt_child_process(c, p);
    if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        die("prctl(PR_SET_NO_NEW_PRIVS)");
    if (p->no_new_privs)
        oci_load_seccomp(c);
    rt_child_find_program(p, program, sizeof(program));
    rt_child_ready(c, c->preserve_fds); /* create may exit now */
    wait_for_start(c);
    rt_child_start_hooks(c);
    execv(program, p->args);
    die_status(LAB_EXIT_NOEXEC, errno, "exec %s", program);
}

/* In the container's state directory: the FIFO its process will wait on. */
static void make_exec_fifo(struct container *c, const struct rt_cli *cli)
{
    /* LAB:BEGIN oci-fifo */
    /* Why a FIFO and not the sync pipe of the earlier steps: a pipe links
     * two processes that exist together, parent and child. Here the one
     * that releases the container (start) is born after the one that made
     * it (create) has gone, and is no relative of it: it needs a name in
     * the file system to find the waiting process by. Mode 0622: the
     * container's process may open it for writing whatever its uid. */
    char path[PATH_MAX];

    if (path_join(path, sizeof(path), cli->dir, RT_FIFO) < 0)
        die_msg("create %s: --root too long", cli->id);
    if (mkfifo(path, 0622) < 0 || chmod(path, 0622) < 0)
        die("mkfifo %s", path);
    if ((c->fifo = open(path, O_PATH | O_CLOEXEC)) < 0)
        die("open %s", path);
    say("mkfifo %s: the container will wait there for start", path);
    /* LAB:END */
}

/* Once its process waits: what the next command needs, on disk. */
static void save_state(struct container *c, const struct rt_cli *cli)
{
    /* LAB:BEGIN oci-state */
    /* create exits now, and every later command is a new process that
     * knows the container only by its id: the state is a file in root/id.
     * The pid alone is not enough to find the process again (pids are
     * reused): its start time, from /proc/PID/stat, goes with it. */
    char text[16384], path[PATH_MAX], created[64];
    struct kv_out out;
    int err;

    rt_now_rfc3339(created, sizeof(created));
    kv_init(&out, text, sizeof(text));
    kv_put(&out, "pid", "%d", (int)c->pid);
    kv_put(&out, "start", "%llu", record_start_time(c->pid));
    kv_put(&out, "bundle", "%s", c->oci->bundle);
    kv_put(&out, "rootfs", "%s", c->oci->rootfs_real);
    kv_put(&out, "created", "%s", created);
    kv_put(&out, "owner", "%s", "root");
    kv_put(&out, "annotations", "%s", c->oci->annotations);
    kv_put(&out, "hooks", "%s", c->oci->hooks_json);
    kv_put(&out, "own_pid_ns", "%d", (c->oci->ns_new & CLONE_NEWPID) != 0);
    for (int i = 0; i < c->cg.ndirs; i++)
        kv_put(&out, "cgroup", "%s", c->cg.dirs[i].path);
    if (path_join(path, sizeof(path), cli->dir, RT_STATE_FILE) < 0)
        die_msg("create %s: --root too long", cli->id);
    if ((err = kv_write(path, &out)) < 0)
        die_errno(err, "write the state of %s", cli->id);
    say("state in %s: pid %d, waiting for start", path, (int)c->pid);
    /* LAB:END */
}

/* created, running or stopped: from the state and the process itself. */
static const char *status_of(const struct rt_state *st)
{
    const char *status = "stopped";

    (void)st; /* until the block below uses it */
    /* LAB:BEGIN oci-status */
    /* Nothing tells the runtime when the container ends (its parent is
     * conmon, containerd's shim, or init): it looks. Gone, a zombie, or
     * another process with the same pid: stopped. Alive with exec.fifo
     * still there: created. Otherwise running. (runc decides so too:
     * libcontainer/container_linux.go, refreshState.) */
    if (record_alive(st->pid, st->start))
        status = st->created_only ? "created" : "running";
    /* LAB:END */
    return status;
}

/* create: the whole container, its process waiting; the runtime exits. */
static void oci_create(struct container *c, const struct rt_cli *cli)
{
    void *stack = proc_stack_top();
    char how[64];
    int err;

    rt_create_begin(c, cli); /* config.json, root/id, the cgroup, the filter */
    c->preserve_fds = cli->preserve_fds;
    make_exec_fifo(c, cli);
    /* A new cgroup namespace is made by the child, once in its group. */
    c->pid = clone(oci_child_main, stack, SIGCHLD | (c->oci->ns_new & ~CLONE_NEWCGROUP), c);
    if (!stack || c->pid < 0)
        die("clone the container's process");
    sync_started(&c->sync);
    if (c->oci->ns_new & CLONE_NEWUSER &&
        (err = userns_write_maps(c->pid, &c->opts, how, sizeof(how))) < 0)
        die_errno(err, "write the id maps of pid %d", (int)c->pid);
    if ((err = cg_add_pid(&c->cg, c->pid)) < 0)
        die_errno(err, "%s", c->cg.what);
    rt_create_wait_ready(c, cli); /* sync point GO, the hooks; its failure is ours */
    save_state(c, cli);
    if (cli->pid_file && (err = rt_write_pid_file(cli->pid_file, c->pid)) < 0)
        die_errno(err, "write the pid file %s", cli->pid_file);
    rt_create_end(c); /* what died() would undo stays */
}

/* start: the waiting process goes on to execve(2). */
static void oci_start(const struct rt_cli *cli, const struct rt_state *st)
{
    /* LAB:BEGIN oci-start */
    /* Opening the FIFO for reading releases the process blocked in its
     * open for writing; it then writes one byte. poll(2) waits for that
     * byte or for the process's end (a pidfd is readable once it has
     * exited), so that a container that died waiting cannot hang start.
     * The FIFO goes: from now on the container is running. */
    char path[PATH_MAX], byte;
    int fifo, pidfd;

    if (path_join(path, sizeof(path), cli->dir, RT_FIFO) < 0 ||
        (fifo = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
        die("start %s: open %s", cli->id, RT_FIFO);
    if ((pidfd = (int)syscall(SYS_pidfd_open, st->pid, 0)) < 0)
        die("start %s: the container's process is gone", cli->id);
    struct pollfd fds[2] = { { fifo, POLLIN, 0 }, { pidfd, POLLIN, 0 } };

    while (poll(fds, 2, -1) < 0)
        if (errno != EINTR)
            die("start %s: poll", cli->id);
    if (read(fifo, &byte, 1) != 1)
        die_msg("start %s: exec fifo is empty: the container's process did not wait", cli->id);
    if (unlink(path) < 0)
        die("start %s: remove %s", cli->id, path);
    close(pidfd);
    close(fifo);
    say("released pid %d through %s: it runs its program", (int)st->pid, RT_FIFO);
    /* LAB:END */
}

/* kill ID [SIGNAL]: a signal to the container's process, or to all its
 * processes (--all). */
static void oci_kill(const struct rt_cli *cli, const struct rt_state *st, int sig)
{
    /* LAB:BEGIN oci-kill */
    /* Through a pidfd, checked against the recorded start time: a plain
     * kill(pid) could reach a stranger that took the pid of a container
     * that ended. --all: every process of the container's group. */
    int pidfd;

    if (strcmp(status_of(st), "stopped") == 0)
        die_msg("kill %s: container not running", cli->id);
    if (cli->all) {
        pid_t pids[1024];
        int n = rt_pids(st, pids, 1024);

        for (int i = 0; i < n; i++)
            (void)kill(pids[i], sig); /* one may end meanwhile */
        return;
    }
    if ((pidfd = (int)syscall(SYS_pidfd_open, st->pid, 0)) < 0 ||
        !record_alive(st->pid, st->start) ||
        syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
        die_msg("kill %s: container not running", cli->id);
    close(pidfd);
    /* LAB:END */
}

/* delete: what create made on the host goes, once the container ended. */
static void oci_delete(const struct rt_cli *cli, const struct rt_state *st)
{
    /* LAB:BEGIN oci-delete */
    /* A running container is deleted only with --force; a created one is
     * killed first, as runc's delete.go does (containerd's shim, 2.x's
     * cmd/containerd-shim-runc-v2/process/init.go, deletes a task that
     * never started so, without --force). Its processes end first (SIGKILL to all of its group,
     * which a process without its own PID namespace needs), then its
     * groups, then the state: after that, the id is free again. */
    const char *status = status_of(st);
    int err;

    if (strcmp(status, "running") == 0 && !cli->force)
        die_msg("delete %s: cannot delete container %s that is not stopped", cli->id, cli->id);
    if (strcmp(status, "stopped") != 0) {
        pid_t pids[1024];
        int n = rt_pids(st, pids, 1024);

        for (int i = 0; i < n; i++)
            (void)kill(pids[i], SIGKILL);
        if ((err = proc_kill_wait(st->pid, 10000)) < 0 && err != -ESRCH)
            die_errno(err, "delete %s: kill its process", cli->id);
    }
    for (int i = 0; i < st->ncgroups; i++)
        if ((err = cg_remove_path(st->cgroups[i])) < 0)
            die_errno(err, "delete %s: remove %s", cli->id, st->cgroups[i]);
    rt_remove_state(cli);
    /* LAB:END */
}

/* run: create, start, wait, delete, in one process: the exit status is
 * the container's. */
static int oci_run(struct container *c, struct rt_cli *cli)
{
    struct rt_state st;
    int status;

    if (!cli->detach && sig_forward_begin() < 0)
        die("run %s: signal handlers", cli->id);
    oci_create(c, cli);
    rt_state_load(cli, &st);
    if (!cli->detach)
        sig_forward_to(c->pid); /* SIGTERM, SIGHUP: the container's */
    oci_start(cli, &st);
    rt_state_hooks(cli, &st, OCI_POSTSTART, "running");
    if (cli->detach)
        return 0;
    if (proc_wait(c->pid, &status) < 0)
        die("run %s: wait for the container", cli->id);
    rt_state_load(cli, &st);
    oci_delete(cli, &st);
    rt_state_hooks(cli, &st, OCI_POSTSTOP, "stopped");
    return proc_exit_status(status);
}

/* ./step-17 [--root DIR] [--log FILE] [--log-format json] COMMAND [OPTIONS] ID */
static int oci_main(int argc, char *argv[])
{
    struct container c;
    struct rt_cli cli;
    struct rt_state st;

    lab_init(LAB_STEP);
    rt_parse(&cli, argc, argv);
    if (strcmp(cli.command, "create") == 0)
        oci_create(&c, &cli);
    else if (strcmp(cli.command, "run") == 0)
        return oci_run(&c, &cli);
    else if (strcmp(cli.command, "list") == 0)
        rt_list(&cli, status_of);
    else if (strcmp(cli.command, "spec") == 0)
        rt_spec_command(&cli);
    else if (strcmp(cli.command, "features") == 0)
        rt_features();
    else if (strcmp(cli.command, "delete") == 0 && cli.force && rt_state_read(&cli, &st) < 0)
        rt_remove_half_made(&cli); /* --force: a create killed half-way */
    else {
        rt_state_load(&cli, &st); /* "container does not exist" */
        if (strcmp(cli.command, "state") == 0)
            rt_print_state(cli.id, &st, status_of(&st));
        else if (strcmp(cli.command, "start") == 0) {
            oci_start(&cli, rt_check_startable(&cli, &st, status_of(&st)));
            rt_state_hooks(&cli, &st, OCI_POSTSTART, "running");
        }
        else if (strcmp(cli.command, "kill") == 0)
            oci_kill(&cli, &st, rt_signal_of(&cli));
        else if (strcmp(cli.command, "delete") == 0) {
            rt_thaw_to_delete(&cli, &st, status_of(&st));
            oci_delete(&cli, &st);
            rt_state_hooks(&cli, &st, OCI_POSTSTOP, "stopped");
        }
        else if (strcmp(cli.command, "ps") == 0)
            rt_ps(&cli, &st);
        else if (strcmp(cli.command, "exec") == 0)
            return rt_exec(&cli, &st, status_of(&st)); /* step 15's exec, as runc's */
        else if (strcmp(cli.command, "pause") == 0)
            rt_pause(&cli, &st, status_of(&st)); /* the cgroup freezer */
        else if (strcmp(cli.command, "resume") == 0)
            rt_resume(&cli, &st, status_of(&st));
        else if (strcmp(cli.command, "update") == 0)
            rt_update(&cli, &st, status_of(&st)); /* new limits for its groups */
        else
            rt_usage_error("%s: not supported by the lab's runtime", cli.command);
    }
    return 0;
}

/* ---- step 18: the kubelet ----------------------------------------------------
 *
 * The desired state is the manifests in a directory; the actual state is the
 * pods that run. The loop compares them and acts, again and again: it is
 * level-triggered, so a missed event, a container killed from the host or a
 * manifest changed while no kubelet ran is repaired all the same.
 */

static struct kl_pod *find_pod(const struct kubelet *k, const char *name)
{
    for (int i = 0; i < k->npods; i++)
        if (strcmp(k->pods[i]->name, name) == 0)
            return k->pods[i];
    return NULL;
}

/* Whether a manifest still asks for pod p: its own file, unchanged (a
 * changed file is a new pod: the kubelet names a static pod's UID from a
 * hash of it), or for a ReplicaSet's pod, the ReplicaSet. */
static bool still_wanted(const struct kl_pod *p, const struct kl_wanted *w, int n)
{
    /* LAB:BEGIN k8s-wanted */
    for (int i = 0; i < n; i++) {
        if (p->owner[0] && w[i].replicaset && strcmp(w[i].name, p->owner) == 0)
            return true;
        if (!p->owner[0] && !w[i].replicaset && strcmp(w[i].name, p->name) == 0 &&
            strcmp(w[i].hash, p->hash) == 0)
            return true;
    }
    return false;
    /* LAB:END */
    return true;
}

static void make_pod(struct kubelet *k, const char *name, const struct kl_wanted *w,
                     const char *owner)
{
    if (kl_pod_new(k, name, w->file, w->hash, owner))
        say("pod %s: made from %s", name, w->file);
}

/* NAME-xxxxx, five of the API server's letters (apimachinery's rand.go:
 * no vowels, no 0, 1, 3, so that no word is spelled by chance). */
static void replica_name(const struct kubelet *k, const char *rs, char *name, size_t len)
{
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";

    do {
        char suffix[6];
        for (int i = 0; i < 5; i++)
            suffix[i] = alphabet[random() % (sizeof(alphabet) - 1)];
        suffix[5] = '\0';
        snprintf(name, len, "%.57s-%s", rs, suffix); /* at most 63, as the API server */
    } while (find_pod(k, name));
}

/* The order the ReplicaSet controller deletes pods in when it scales down
 * (pkg/controller/controller_utils.go, ActivePodsWithRanks): Pending before
 * Running, not ready before ready, more restarts first, newer first. */
static int rank(const struct kl_pod *p, const struct kl_pod *q)
{
    /* LAB:BEGIN k8s-rank */
    bool p_pending = strcmp(p->phase, "Pending") == 0, q_pending = strcmp(q->phase, "Pending") == 0;
    if (p_pending != q_pending)
        return p_pending ? -1 : 1;
    if (kl_pod_ready(p) != kl_pod_ready(q))
        return kl_pod_ready(p) ? 1 : -1;
    if (kl_pod_restarts(p) != kl_pod_restarts(q))
        return kl_pod_restarts(p) > kl_pod_restarts(q) ? -1 : 1;
    return p->created > q->created ? -1 : p->created < q->created;
    /* LAB:END */
    return 0;
}

static int deletion_order(const void *a, const void *b)
{
    return rank(*(struct kl_pod *const *)a, *(struct kl_pod *const *)b);
}

static void start_termination(struct kubelet *k, struct kl_pod *p, const char *why);

/* The count: a ReplicaSet's pods, as many as its manifest says. */
static void scale_replicaset(struct kubelet *k, const struct kl_wanted *w)
{
    struct kl_pod *mine[KL_MAX_PODS] = { 0 };
    int have = 0;

    for (int i = 0; i < k->npods; i++)
        if (strcmp(k->pods[i]->owner, w->name) == 0 && !k->pods[i]->terminating)
            mine[have++] = k->pods[i];
    /* Fewer than asked: make the missing ones. More: end the surplus, the
     * first in the controller's order. Nothing else: a ReplicaSet does not
     * replace a pod whose template changed (a Deployment does that, with a
     * new ReplicaSet). */
    for (int i = have; i < w->replicas; i++) {
        char name[300];
        replica_name(k, w->name, name, sizeof(name));
        make_pod(k, name, w, w->name);
    }
    qsort(mine, (size_t)have, sizeof(mine[0]), deletion_order);
    for (int i = 0; i < have - w->replicas; i++)
        start_termination(k, mine[i], "its ReplicaSet has too many pods");
}

/* restartPolicy: whether a container that ended runs again. */
static bool should_restart(enum k8s_restart policy, const struct kl_end *end)
{
    /* LAB:BEGIN k8s-restart */
    switch (policy) {
    case K8S_ALWAYS:
        return true;
    case K8S_ON_FAILURE:
        return end->exit_code != 0;
    case K8S_NEVER:
        return false;
    }
    /* LAB:END */
    return false;
}

/* The back-off (client-go's flowcontrol.Backoff, as kuberuntime_manager.go's
 * doBackOff uses it): no restart before the back-off has passed since the
 * container's end; each restart doubles it, up to the maximum; it starts
 * over when the container ended more than 600 s after the last restart. */
static bool in_backoff(const struct kubelet *k, const struct kl_container *c, long long finished)
{
    /* LAB:BEGIN k8s-backoff */
    if (!c->backoff_ms || finished - c->backoff_updated > k->backoff_reset_ms)
        return false; /* the first end restarts at once */
    return kl_wall_ms() - finished < c->backoff_ms;
    /* LAB:END */
    return false;
}

static void backoff_next(const struct kubelet *k, struct kl_container *c, long long finished)
{
    /* LAB:BEGIN k8s-backoff-next */
    if (!c->backoff_ms || finished - c->backoff_updated > k->backoff_reset_ms)
        c->backoff_ms = k->backoff_initial_ms;
    else if ((c->backoff_ms *= 2) > k->backoff_max_ms)
        c->backoff_ms = k->backoff_max_ms;
    c->backoff_updated = kl_wall_ms();
    /* LAB:END */
}

/* The pod's phase, from its containers (kubelet_pods.go, getPhase). */
static const char *pod_phase(const struct kl_pod *p)
{
    /* LAB:BEGIN k8s-phase */
    int waiting = 0, running = 0, stopped = 0, succeeded = 0;
    for (int i = 0; i < p->nc; i++) {
        const struct kl_container *c = &p->c[i];
        /* A container waiting after an end (CrashLoopBackOff) is stopped. */
        const struct kl_end *ended = c->state == KL_TERMINATED                ? &c->end
                                     : c->state == KL_WAITING && c->last.set ? &c->last
                                                                             : NULL;
        running += c->state == KL_RUNNING;
        stopped += ended != NULL;
        succeeded += ended && ended->exit_code == 0;
        waiting += c->state != KL_RUNNING && !ended;
    }
    if (waiting > 0)
        return "Pending"; /* a container has not been started yet */
    if (running > 0)
        return "Running";
    if (p->spec.restart == K8S_ALWAYS)
        return "Running"; /* every container is about to restart */
    if (stopped == succeeded)
        return "Succeeded";
    if (p->spec.restart == K8S_NEVER)
        return "Failed";
    return "Running"; /* OnFailure: the failed ones restart */
    /* LAB:END */
    return "Pending";
}

/* A hook or probe has returned: what it means for its container. */
static void hook_done(struct kubelet *k, struct kl_pod *p, struct kl_container *c)
{
    enum kl_hook kind = c->hook_kind;
    int status;

    if (!kl_hook_ended(c, &status))
        return;
    if (kind == KL_POST_START && status == 0) {
        c->ready = true; /* reported running only now */
    } else if (kind == KL_POST_START) {
        say("pod %s: %s: postStart failed (%d): the container is killed", p->name,
            c->spec->name, status);
        kl_container_signal(k, c, SIGKILL);
    } else if (kind == KL_PROBE && status == 0) {
        c->probe_failures = 0;
    } else if (kind == KL_PROBE && ++c->probe_failures >= c->spec->liveness_failures) {
        say("pod %s: %s: liveness probe failed %d times: the container is killed", p->name,
            c->spec->name, c->probe_failures);
        c->probe_failures = 0;
        kl_container_signal(k, c, SIGTERM);
        c->probe_hold = true; /* no more probes of this run (the prober's onHold) */
        c->kill_at = proc_now_ms() + 1000LL * p->spec.grace_seconds;
    }
}

/* A running container: its liveness probe when due, its SIGKILL when a
 * SIGTERM has not ended it in time. */
static void watch_running(struct kubelet *k, struct kl_container *c)
{
    const struct k8s_container *s = c->spec;

    if (c->kill_at && proc_now_ms() >= c->kill_at) {
        kl_container_signal(k, c, SIGKILL);
        c->kill_at = 0;
    }
    if (!s->nliveness || c->hook_fd >= 0 || !c->ready || c->probe_hold ||
        proc_now_ms() < c->next_probe)
        return;
    kl_hook_start(k, c, KL_PROBE, s->liveness, 1000); /* timeoutSeconds: 1 */
    c->next_probe = proc_now_ms() + 1000LL * s->liveness_period;
}

/* Starts (or starts again) one container, its postStart beside it. */
static void run_container(struct kubelet *k, struct kl_pod *p, struct kl_container *c)
{
    const struct k8s_container *s = c->spec;

    if (kl_container_start(k, p, c) < 0)
        return;
    say("pod %s: %s started%s", p->name, s->name, c->restarts ? " again" : "");
    c->next_probe = proc_now_ms() + 1000LL * s->liveness_delay;
    if (s->npost_start) /* beside the entrypoint: no order between them */
        kl_hook_start(k, c, KL_POST_START, s->post_start, 1000LL * p->spec.grace_seconds);
    else
        c->ready = true;
}

/* One container of a pod, brought one step nearer what its spec says. */
static void sync_container(struct kubelet *k, struct kl_pod *p, struct kl_container *c)
{
    if (c->hook_fd >= 0)
        hook_done(k, p, c);
    if (c->state == KL_RUNNING) {
        if (!kl_container_ended(k, c)) {
            watch_running(k, c);
            return;
        }
        say("pod %s: %s ended: exit status %d", p->name, c->spec->name, c->end.exit_code);
    }
    /* Never started: start it. Ended: as restartPolicy says, once the
     * back-off has passed; until then it waits, in CrashLoopBackOff. */
    const struct kl_end *end = c->state == KL_TERMINATED ? &c->end : c->last.set ? &c->last : NULL;
    if (end && !should_restart(p->spec.restart, end))
        return;
    if (end && in_backoff(k, c, end->finished)) {
        /* LAB:BEGIN k8s-crashloop */
        if (c->state == KL_TERMINATED) {
            c->last = c->end;
            c->state = KL_WAITING;
            snprintf(c->reason, sizeof(c->reason), "CrashLoopBackOff");
        }
        c->retry_at = proc_now_ms() + (c->last.finished + c->backoff_ms - kl_wall_ms());
        /* LAB:END */
        return;
    }
    if (end) {
        backoff_next(k, c, end->finished);
        c->last = *end;
        c->restarts++;
    }
    run_container(k, p, c);
}

/* A pod brought one step nearer its manifest: its sandbox, its containers,
 * its phase. */
static void sync_pod(struct kubelet *k, struct kl_pod *p)
{
    const char *was = p->phase;

    /* A sandbox that died took the pod's namespaces: its containers go
     * too, and start again (restartPolicy) in a new one. */
    if (p->sandbox.state == KL_RUNNING && kl_container_ended(k, &p->sandbox))
        for (int i = 0; i < p->nc; i++)
            if (p->c[i].state == KL_RUNNING)
                kl_container_signal(k, &p->c[i], SIGKILL);
    bool terminal = strcmp(was, "Succeeded") == 0 || strcmp(was, "Failed") == 0;
    if (p->sandbox.state != KL_RUNNING && !terminal) {
        if (proc_now_ms() < p->sandbox.retry_at)
            return;
        if (kl_sandbox_start(k, p) < 0) {
            /* The kubelet's backOffPeriod for a pod whose sync failed. */
            p->sandbox.retry_at = proc_now_ms() + 10 * 1000;
            return;
        }
        say("pod %s: sandbox started (pause: the pod's namespaces)", p->name);
    }
    for (int i = 0; i < p->nc; i++)
        sync_container(k, p, &p->c[i]);
    p->phase = pod_phase(p);
    if (strcmp(was, p->phase) != 0)
        say("pod %s: %s", p->name, p->phase);
    kl_pod_save(k, p);
}

/* A pod no manifest asks for: preStop hooks first, within the grace period. */
static void start_termination(struct kubelet *k, struct kl_pod *p, const char *why)
{
    p->terminating = true;
    p->grace_deadline = proc_now_ms() + 1000LL * p->spec.grace_seconds;
    say("pod %s: ending it: %s (grace %d s)", p->name, why, p->spec.grace_seconds);
    for (int i = 0; i < p->nc; i++) {
        struct kl_container *c = &p->c[i];
        if (c->hook_fd >= 0) { /* a postStart or a probe: abandoned */
            c->hook_deadline = 0;
            hook_done(k, p, c);
        }
        if (c->state == KL_RUNNING && c->spec->npre_stop)
            kl_hook_start(k, c, KL_PRE_STOP, c->spec->pre_stop, 1000LL * p->spec.grace_seconds);
    }
    kl_pod_save(k, p);
}

/* One step of a pod's end: SIGTERM once its preStop has returned, SIGKILL
 * when the grace period is over (never sooner than 2 s after SIGTERM, the
 * kubelet's minimumGracePeriodInSeconds); when all are gone, the pod goes. */
static void terminate_pod(struct kubelet *k, struct kl_pod *p)
{
    bool alive = false;
    int status;

    for (int i = 0; i < p->nc; i++) {
        struct kl_container *c = &p->c[i];
        if (c->hook_fd >= 0 && !kl_hook_ended(c, &status)) {
            alive = true;
            continue;
        }
        if (c->state != KL_RUNNING || kl_container_ended(k, c))
            continue;
        alive = true;
        /* LAB:BEGIN k8s-terminate */
        long long now = proc_now_ms();
        if (!c->term_sent) {
            kl_container_signal(k, c, SIGTERM);
            c->term_sent = true;
            c->kill_at = p->grace_deadline > now + 2000 ? p->grace_deadline : now + 2000;
        } else if (now >= c->kill_at) {
            kl_container_signal(k, c, SIGKILL);
            c->kill_at = 0;
        }
        /* LAB:END */
    }
    if (alive) {
        kl_pod_save(k, p);
        return;
    }
    if (p->sandbox.state == KL_RUNNING) {
        kl_container_signal(k, &p->sandbox, SIGKILL);
        kl_container_remove(k, &p->sandbox);
    }
    say("pod %s: gone", p->name);
    kl_pod_remove(k, p);
    kl_pod_forget(k, p);
}

/* Desired against actual, once: what the loop does each time it wakes. */
static void reconcile(struct kubelet *k)
{
    static struct kl_wanted w[KL_MAX_PODS];
    int n = kl_manifests(k, w, KL_MAX_PODS); /* the desired state, read again */

    /* A pod no manifest asks for any more starts to end; every pod takes
     * one step nearer what it should be; then a manifest without its pod
     * gets one (once a pod of the same name has ended), a ReplicaSet its
     * count, and each new pod its first step at once. */
    for (int i = 0; i < k->npods; i++)
        if (!k->pods[i]->terminating && !still_wanted(k->pods[i], w, n))
            start_termination(k, k->pods[i], "its manifest is gone or changed");
    for (int i = k->npods - 1; i >= 0; i--) {
        if (k->pods[i]->terminating)
            terminate_pod(k, k->pods[i]);
        else
            sync_pod(k, k->pods[i]);
    }
    int before = k->npods;
    for (int i = 0; i < n; i++) {
        if (w[i].replicaset)
            scale_replicaset(k, &w[i]);
        else if (!find_pod(k, w[i].name))
            make_pod(k, w[i].name, &w[i], "");
    }
    for (int i = before; i < k->npods; i++)
        sync_pod(k, k->pods[i]);
}

/* Sleeps until something may have changed: a manifest (inotify), a
 * container or hook that ended (their pidfds), a deadline (a back-off, a
 * probe, a grace period), a signal; and at most relist seconds, so that
 * what no event tells (a file changed while no kubelet ran) is seen too.
 * Returns false when SIGTERM or SIGINT came. */
static bool wait_for_change(struct kubelet *k, int inotify_fd, int signal_fd)
{
    struct pollfd pfd[2 + 2 * KL_MAX_PODS * (K8S_MAX_CONTAINERS + 1)];
    int fds[2 * KL_MAX_PODS * (K8S_MAX_CONTAINERS + 1)];
    long long deadline;

    int n = kl_wait_fds(k, fds, (int)(sizeof(fds) / sizeof(fds[0])), &deadline);
    pfd[0] = (struct pollfd){ .fd = inotify_fd, .events = POLLIN };
    pfd[1] = (struct pollfd){ .fd = signal_fd, .events = POLLIN };
    for (int i = 0; i < n; i++)
        pfd[2 + i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
    /* LAB:BEGIN k8s-wait */
    /* Never longer than the relist period; never past a deadline: the
     * soonest of the hooks', probes', grace periods' and back-offs'. */
    long long timeout = 1000LL * k->relist_s, now = proc_now_ms();
    for (int i = 0; i < k->npods; i++)
        for (int j = 0; j < k->pods[i]->nc; j++) {
            long long at = k->pods[i]->c[j].retry_at;
            if (at > now && (!deadline || at < deadline))
                deadline = at;
        }
    if (deadline && deadline - now < timeout)
        timeout = deadline > now ? deadline - now : 0;
    if (poll(pfd, (nfds_t)n + 2, (int)timeout) < 0 && errno != EINTR)
        die("poll");
    /* LAB:END */
    if (pfd[0].revents & POLLIN) {
        char events[4096];
        while (read(inotify_fd, events, sizeof(events)) > 0)
            ; /* which file does not matter: the loop reads them all */
    }
    struct signalfd_siginfo si;
    return !((pfd[1].revents & POLLIN) && read(signal_fd, &si, sizeof(si)) == sizeof(si));
}

static _Noreturn void kubelet_usage(int status)
{
    fprintf(status ? stderr : stdout,
            "usage: %s kubelet --pod-manifest-path DIR [--root-dir DIR]\n"
            "         [--file-check-frequency SECONDS] [--feature-gates "
            "ReduceDefaultCrashLoopBackOffDecay=true] [-q]\n"
            "       %s get pods | get pod NAME [-o json|name]\n"
            "       %s logs NAME [-c CONTAINER]\n",
            lab_name(), lab_name(), lab_name());
    exit(status);
}

static void kubelet_options(struct kubelet *k, int argc, char *argv[])
{
    memset(k, 0, sizeof(*k));
    snprintf(k->root, sizeof(k->root), "%s", KL_DEFAULT_ROOT);
    k->relist_s = 20;                  /* the kubelet's --file-check-frequency */
    k->backoff_initial_ms = 10 * 1000; /* its initialCrashLoopBackOff */
    k->backoff_max_ms = 300 * 1000;    /* MaxContainerBackOff */
    k->backoff_reset_ms = 600 * 1000;  /* the reset its back-off is made with */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            kubelet_usage(0);
        else if (strcmp(a, "-q") == 0)
            k->quiet = true;
        else if (v && (strcmp(a, "--pod-manifest-path") == 0 || strcmp(a, "--manifests") == 0))
            snprintf(k->manifests, sizeof(k->manifests), "%s", argv[++i]);
        else if (v && strcmp(a, "--root-dir") == 0)
            snprintf(k->root, sizeof(k->root), "%s", argv[++i]);
        else if (v && strcmp(a, "--file-check-frequency") == 0) {
            char *end;
            long s = strtol(argv[++i], &end, 10);
            if (s < 1 || s > 3600 || (*end && strcmp(end, "s") != 0))
                die_msg("kubelet: --file-check-frequency %s: 1 to 3600 seconds", v);
            k->relist_s = (int)s;
        } else if (v && strcmp(a, "--feature-gates") == 0) {
            if (strcmp(argv[++i], "ReduceDefaultCrashLoopBackOffDecay=true") != 0)
                die_msg("kubelet: --feature-gates %s: the lab knows "
                        "ReduceDefaultCrashLoopBackOffDecay=true", v);
            k->backoff_initial_ms = 1000; /* the gate's: 1 s to 60 s */
            k->backoff_max_ms = 60 * 1000;
        } else
            die_msg("kubelet: %s: unknown flag or missing value (see --help)", a);
    }
    if (!k->manifests[0])
        die_msg("kubelet: --pod-manifest-path DIR is needed");
    char dir[PATH_MAX];
    if (!realpath(k->manifests, dir))
        die("kubelet: --pod-manifest-path %s", k->manifests);
    memcpy(k->manifests, dir, sizeof(dir));
    if (readlink("/proc/self/exe", k->self, sizeof(k->self) - 1) < 0)
        die("readlink /proc/self/exe");
}

/* ./step-18 kubelet --pod-manifest-path DIR: the loop, until SIGTERM. */
static int kubelet_main(int argc, char *argv[])
{
    struct kubelet k;
    sigset_t stop;

    lab_init(LAB_STEP);
    kubelet_options(&k, argc, argv);
    lab_set_quiet(k.quiet);
    if (geteuid() != 0)
        die_msg("kubelet: it runs containers: run it as root");
    srandom((unsigned)(getpid() ^ kl_wall_ms()));
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    signal(SIGPIPE, SIG_IGN);
    int signal_fd = signalfd(-1, &stop, SFD_CLOEXEC);
    int inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (signal_fd < 0 || sigprocmask(SIG_BLOCK, &stop, NULL) < 0 || inotify_fd < 0 ||
        /* A file written (closed), moved in or out, removed; not created:
         * a file just created is still empty. */
        inotify_add_watch(inotify_fd, k.manifests,
                          IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE) < 0)
        die("kubelet: watch %s", k.manifests);
    kl_setup(&k);
    kl_pods_adopt(&k); /* pods outlive a kubelet: the next one takes them over */
    say("kubelet: static pods from %s, re-listed every %d s", k.manifests, k.relist_s);
    do
        reconcile(&k);
    while (wait_for_change(&k, inotify_fd, signal_fd));
    say("kubelet: stopped; %d pod(s) run on without it", k.npods);
    for (int i = k.npods - 1; i >= 0; i--)
        kl_pod_forget(&k, k.pods[i]);
    kl_teardown(&k);
    return 0;
}

/* The namespaces of namespaces(), less the user namespace with --userns
 * host: none of its own, the host's ids (as docker run --userns host). */
static int own_namespaces(const struct container *c)
{
    int flags = namespaces();

    if (c->opts.userns_host)
        flags &= ~CLONE_NEWUSER;
    /* A pod's container is born in none: its child joins the pod's, then
     * makes its own. --network host: no network namespace at all. */
    if (joins_others(c))
        return 0;
    if (c->opts.host_network)
        flags &= ~CLONE_NEWNET;
    return flags;
}

int main(int argc, char *argv[])
{
    struct container c;

    /* The kubelet, and what kubectl would show of its pods. */
    if (opt_subcommand(argc, argv, "kubelet"))
        return kubelet_main(argc - 1, argv + 1);
    if (opt_subcommand(argc, argv, "get"))
        return kl_get_command(argc - 1, argv + 1);
    if (opt_subcommand(argc, argv, "logs"))
        return kl_logs_command(argc - 1, argv + 1);
    /* runc's command line: podman, containerd and runtime-tools call it. */
    if (rt_is_command(argc, argv))
        return oci_main(argc, argv);
    /* exec NAME COMMAND: into a running container, as docker exec. */
    if (opt_subcommand(argc, argv, "exec"))
        return exec_in_container(argc - 1, argv + 1);
    /* pod rm NAME: a pod, and its containers, end. */
    if (opt_subcommand(argc, argv, "pod"))
        return lab_pod_command(argc - 1, argv + 1);

    /* Options, --help and the root check, before anything is created. */
    lab_start(&c, argc, argv);
    /* SIGCHLD: the signal the kernel sends us when the child ends. */
    int flags = SIGCHLD | own_namespaces(&c);
    /* With --network bridge the addresses are chosen before clone, so that
     * the child's copy of the container holds them too. */
    lab_net_claim(&c);
    /* Before the layers: the init layer holds the pod's name and address. */
    find_or_make_pod(&c);
    prepare_layers(&c);
    make_init_layer(&c);
    idmap_layers(&c);
    /* Rootless, a container has a group only where cgroups are delegated. */
    if (lab_wants_cgroup(&c)) {
        make_cgroup(&c);
        limit_memory_and_pids(&c);
    }
    start_child(&c, flags);
    if (!joins_others(&c)) /* a pod's container joins the pod's user namespace */
        write_id_maps(&c);
    if (lab_wants_cgroup(&c))
        join_cgroup(&c);
    if (own_network(&c))
        make_veth(&c);

    /* Sync point GO: the child may run the command. */
    lab_release(&c);
    /* Wait for it, clean up, and end as it ended. */
    lab_wait(&c);
    report_oom(&c);
    commit_layer(&c);
    return lab_end(&c);
}
