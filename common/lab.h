/*
 * lab.h - the plumbing every step links with.
 *
 * A step file shows the kernel calls it teaches; everything beneath them lives
 * here, one concern per file, each with its own prefix:
 *
 *   container.c  a container's start and end, the same in every step   (lab_)
 *   log.c        say(), die(): narration and one-line errors          (say, die)
 *   opt.c        the option parser shared by all steps                (opt_)
 *   parse.c      checked parsers for option values                    (parse_)
 *   proc.c       child stack, exec, wait, exit status, signals        (proc_, sig_)
 *   sync.c       the parent/child sync pipe                           (sync_)
 *   env.c        the container's clean environment                    (env_)
 *   file.c       reading and writing small files                      (file_)
 *   kv.c         the records' format: KEY=VALUE lines, escaped        (kv_)
 *   path.c       building and resolving paths inside a rootfs         (path_)
 *   ns.c         which namespaces a process is in                     (ns_)
 *   cgroup.c     cgroup v1/v2 groups and limits                       (cg_)
 *   netlink.c    rtnetlink messages for links, addresses, routes      (nl_)
 *   ipam.c       choosing a container's addresses                     (ipam_)
 *   layer.c      image layers on overlayfs, and --commit              (layer_)
 *   userns.c     a user namespace's id maps, idmapped mounts          (userns_)
 *   caps.c       capability names, the set a container keeps          (caps_)
 *   profile.c    Docker's default seccomp profile, as data (14)       (sc_)
 *   record.c     the record of a named container, for exec            (record_)
 *   join.c       exec NAME: joining a running container                (lab_exec_)
 *   pod.c        a pod's record, and its end                           (pod_)
 *   points.c     the mount points volumes make in the image (08-10)    (points_)
 *   infra.c      finding a pod, making its infra container             (lab_pod_)
 *   oci.c        an OCI bundle's config.json, and what it mounts       (oci_)
 *   seccomp.c    an OCI seccomp profile, compiled with libseccomp      (oci_seccomp_)
 *   runtime.c    runc's command line, state, the OCI container's setup (rt_)
 *   manifest.c   a Kubernetes Pod or ReplicaSet manifest, from YAML     (k8s_)
 *   kubelet.c    a node's pods on disk, the runtime calls, their status (kl_)
 *
 * Two kinds of code live here. The library (every file but container.c,
 * join.c, infra.c, kubelet.c and log.c) returns 0, or a value >= 0, on success and
 * -errno on failure; it never prints and never exits. The others are the
 * part of every step that is not a lesson, taken out of the step files:
 * like a step, they narrate with say() and end the program with die() when
 * something fails.
 *
 * LAB_STEP is the step number, from the file name: the Makefile compiles
 * steps/step-08-volume.c with -DLAB_STEP=8.
 */
#ifndef LAB_H
#define LAB_H

#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/types.h>

#define LAB_VERSION "1.1.0"
#define LAB_EXIT_FAILED 125   /* the lab itself failed (docker run's 125) */
#define LAB_EXIT_NOEXEC 126   /* command found but could not be executed */
#define LAB_EXIT_NOTFOUND 127 /* command not found */

#define LAB_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* ---- log.c: who we are, narration on stderr, errors ------------------- */

void lab_init(int step);
const char *lab_name(void);             /* "step-05" */
void lab_set_quiet(bool quiet);
void lab_set_timings(bool timings);
void lab_enter_child(void);             /* narrate as [child], die with _exit */
void lab_set_cleanup(void (*fn)(void *), void *arg);
/* Step 17's --log FILE: every error line also goes there, as runc's
 * (logrus) text or JSON lines, which podman and containerd read. */
void lab_set_error_log(int fd, bool json);
/* What die() exits with: LAB_EXIT_FAILED, or runc's 1 for the OCI commands. */
void lab_set_failure_status(int status);

/* One line per mechanism: "step-05 [parent]: what happened". */
void say(const char *fmt, ...) LAB_PRINTF(1, 2);
/* "step-05: what: strerror(errnum)", and go on: for failures while cleaning
 * up, where exiting would leave more behind. */
void warn_errno(int errnum, const char *fmt, ...) LAB_PRINTF(2, 3);
/* "step-05: what: strerror(errno)", then exit 125. */
_Noreturn void die(const char *fmt, ...) LAB_PRINTF(1, 2);
/* The same with an explicit error number (for -errno results). */
_Noreturn void die_errno(int errnum, const char *fmt, ...) LAB_PRINTF(2, 3);
/* "step-05: message", then exit 125: for refusals that have no errno. */
_Noreturn void die_msg(const char *fmt, ...) LAB_PRINTF(1, 2);
/* The same, with an explicit exit status (126, 127 for exec failures). */
_Noreturn void die_status(int status, int errnum, const char *fmt, ...) LAB_PRINTF(3, 4);

/* ---- opt.c: the command line shared by every step --------------------- */

#define LAB_MAX_ENV 64
#define LAB_MAX_VOLUMES 16
#define LAB_MAX_LAYERS 500 /* overlayfs stacks at most 500 lower layers */
#define LAB_RUN_DIR "/run/lab" /* the lab's runtime state: layers, records */
#define LAB_HOSTNAME_MAX 64
#define LAB_NAME_MAX 64 /* --name */
#define LAB_CPU_PERIOD_DEFAULT 100000L /* us, the kernel's and docker's default */
#define LAB_MEMORY_MIN (6LL << 20)     /* docker run's smallest --memory */
#define LAB_SHM_DEFAULT (64LL << 20)   /* /dev/shm: moby's DefaultShmSize (daemon/config) */
#define LAB_UNLIMITED (-1)             /* --memory-swap -1, --pids-limit -1 */

struct lab_volume {
    char host[PATH_MAX];      /* absolute, resolved on the host */
    char container[PATH_MAX]; /* absolute, normalised, inside the rootfs */
    bool readonly;
};

/* One line of uid_map or gid_map: ids inside..inside+count-1 are
 * outside..outside+count-1 on the host. */
struct lab_idmap {
    unsigned inside, outside, count;
};
#define LAB_MAX_IDMAPS 5

struct lab_ipv4 {
    struct in_addr addr; /* the container's address */
    int prefix;          /* 16..30 */
};

struct lab_opts {
    char *const *argv;                 /* the command; never empty */
    bool quiet;
    bool timings;
    char rootfs[PATH_MAX];             /* absolute; "" before step 03 */
    const char *env[LAB_MAX_ENV];      /* NAME=VALUE from -e */
    int nenv;
    char hostname[LAB_HOSTNAME_MAX + 1]; /* "" means: derive one */
    bool net;
    bool ip_set;
    struct lab_ipv4 ip;
    long cpu_period_us;                /* LAB_CPU_PERIOD_DEFAULT unless given */
    long cpu_quota_us;                 /* 0: no CPU cap */
    struct lab_volume volumes[LAB_MAX_VOLUMES];
    int nvolumes;
    long long memory_bytes;            /* 0: no memory limit */
    long long memory_swap_bytes;       /* memory + swap; 0: docker's default, -1: unlimited */
    long long shm_bytes;               /* --shm-size: the size of /dev/shm (09+) */
    long pids_limit;                   /* 0: none given; -1: unlimited */
    char *layers[LAB_MAX_LAYERS];      /* --layer, bottom first, resolved; the rootfs if none */
    int nlayers;
    char upper[PATH_MAX];              /* --upper: "" for a fresh layer, removed at the end */
    char commit[PATH_MAX];             /* --commit: "" for none */
    struct lab_idmap uidmap[LAB_MAX_IDMAPS]; /* --uidmap, or the default (12+) */
    int nuidmap;
    struct lab_idmap gidmap[LAB_MAX_IDMAPS]; /* --gidmap, or the same as --uidmap */
    int ngidmap;
    bool rootless;                     /* run by an ordinary user (12+) */
    bool userns_host;                  /* --userns host: no user namespace (12+) */
    uint64_t cap_add, cap_drop;        /* --cap-add, --cap-drop (13+) */
    bool cap_add_all, cap_drop_all;    /* ... ALL */
    bool privileged;                   /* --privileged */
    bool seccomp_unconfined;           /* --security-opt seccomp=unconfined (14+) */
    bool init;                         /* --init: a tiny init is PID 1 (15+) */
    char name[LAB_NAME_MAX + 1];       /* --name: "" for none */
    char pod[LAB_NAME_MAX + 1];        /* --pod: "" for none (16+) */
    bool share_pid;                    /* --share-pid */
    bool host_network;                 /* --network host */
    char net_container[LAB_NAME_MAX + 1]; /* --network container:NAME: "" for none (16+) */
};

enum opt_result { OPT_RUN, OPT_HELP, OPT_VERSION, OPT_ERROR };

/*
 * Parses the options that steps 1..step know into *o. On OPT_ERROR, err holds
 * one line (without the program name) saying which option and why. Defaults
 * that need a look at the file system wait for opt_defaults().
 */
enum opt_result opt_parse(struct lab_opts *o, int step, int argc, char *argv[],
                          char *err, size_t errlen);
/* The rootfs when --rootfs was not given: $LAB_ROOTFS, else rootfs/busybox
 * next to the program (from step 03 on). 0, or -EINVAL with err set. */
int opt_defaults(struct lab_opts *o, int step, char *err, size_t errlen);
/* The copies of the layers' paths (--layer, and where step 12 attaches
 * them): lab_end frees them, and so does a caller that parses again. */
void opt_free(struct lab_opts *o);
void opt_usage(FILE *out, int step);
/* ./step-NN exec [OPTIONS] NAME [--] COMMAND...: argv[0] is "exec". The
 * name goes to o->name, the command to o->argv, -e to o->env. */
enum opt_result opt_parse_exec(struct lab_opts *o, int argc, char *argv[], char *err,
                               size_t errlen);
void opt_usage_exec(FILE *out, int step);
/* Whether argv names the subcommand name (exec, pod), after any -q; if so,
 * argv[1] is name from then on, and the -q flags follow it. */
bool opt_subcommand(int argc, char *argv[], const char *name);

/* ---- parse.c: checked value parsers (0 or -EINVAL, *why says why) ----- */

int parse_hostname(const char *s, const char **why);
int parse_cpus(const char *s, long ncpus, long *quota_us, const char **why);
int parse_microseconds(const char *s, long min, long max, long *out, const char **why);
int parse_ipv4_prefix(const char *s, struct lab_ipv4 *out, const char **why);
int parse_volume(const char *s, struct lab_volume *out, const char **why);
int parse_env(const char *s, const char **why);
int parse_bytes(const char *s, long long *out, const char **why);
int parse_pids_limit(const char *s, long *out, const char **why);
int parse_idmap(const char *s, struct lab_idmap *out, const char **why);
/* Numbers the kernel or the lab wrote (no *why: the caller says what was read). */
int parse_number(const char *s, const char *stops, long max, long *out);
pid_t parse_pid(const char *s, const char *stops);

/* ---- proc.c: the child process ---------------------------------------- */

#define LAB_STACK_SIZE (1024 * 1024)

/* Top of a fresh stack for clone(2); the stack grows down on every
 * architecture the lab runs on (x86-64, arm64). */
void *proc_stack_top(void);
/* In the child, first thing: tell a sanitizer, if there is one, which stack
 * it runs on. Nothing in a normal build. */
void proc_child_stack_note(void);
/* Closes every descriptor above stderr: those the lab was started with (a
 * shell's `exec 7</`) belong to the host, never to a container. */
void proc_close_inherited(void);
/* Marks every descriptor above stderr close-on-exec, so that the program
 * execve(2) starts gets none of the lab's. 0 or -errno. */
int proc_close_on_exec(void);
/* Runs argv in place of the caller, with no descriptor above stderr.
 * Returns only on failure, with -errno. */
int proc_exec(char *const argv[]);
/* Waits for pid, retrying on EINTR; returns its wait status or -errno. */
int proc_wait(pid_t pid, int *wstatus);
/* docker run's convention: the exit code, or 128+N for death by signal N. */
int proc_exit_status(int wstatus);
/* Milliseconds on the monotonic clock, for deadlines. */
long long proc_now_ms(void);
/* Waits until the process of each pidfd has ended, timeout_ms in all: how
 * many still run. */
int proc_wait_pidfds(const int *fds, int n, int timeout_ms);
/* SIGKILL through a pidfd, then waits for the end: 0, -ESRCH (no such
 * process), -ETIMEDOUT. */
int proc_kill_wait(pid_t pid, int timeout_ms);
/* The calling process gets SIGKILL when its parent dies, even by SIGKILL:
 * no container outlives the process that would clean up after it. */
int proc_die_with_parent(void);
/* At a terminal (stdin), the caller's process group becomes the one that
 * reads it and gets its Ctrl-C. 0 when stdin is no terminal. */
int proc_take_terminal(void);

/* The parent ignores SIGINT/SIGQUIT (the terminal's Ctrl-C belongs to the
 * container) and SIGPIPE (a reader of its narration that goes away, as
 * `| head` does, must not kill it before it cleans up), and passes
 * SIGTERM/SIGHUP on to the child once it exists. */
int sig_forward_begin(void);
void sig_forward_to(pid_t pid);
/* In the child, before exec: the default dispositions again. */
int sig_reset(void);

/* ---- sync.c: parent and child meet on a pipe, never by sleeping ------- */

struct sync_pipe {
    int rd, wr;             /* parent to child: "go" */
    int ready_rd, ready_wr; /* child to parent: closed once it is set up */
};

int sync_open(struct sync_pipe *s);
/* Parent: the child may go on. */
int sync_release(struct sync_pipe *s);
/* Child: block until released; -EPIPE if the parent died first. */
int sync_wait(struct sync_pipe *s);
void sync_close(struct sync_pipe *s);
/* Parent, after clone: its copy of the ready pipe's write end goes. */
void sync_started(struct sync_pipe *s);
/* Child: set up (or about to exec, which closes it anyway). */
void sync_ready(struct sync_pipe *s);
/* Parent: blocks until the child is set up, has exec'd or is gone. */
int sync_wait_ready(struct sync_pipe *s);

/* ---- env.c: the environment the command starts with ------------------- */

#define LAB_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Replaces the environment with docker run's: PATH, HOME, HOSTNAME, TERM
 * from the host if set, then each NAME=VALUE of extra. */
int env_reset(const char *const extra[], int nextra);

/* ---- file.c: small files ------------------------------------------------- */

/* Reads up to len-1 bytes of path into buf, NUL-terminated. */
int file_read(const char *path, char *buf, size_t len);
/* Writes value to path (an existing file: a control file of the kernel),
 * in one write(2), as echo VALUE > PATH would. */
int file_write(const char *path, const char *value);
int file_printf(const char *path, const char *fmt, ...) LAB_PRINTF(2, 3);

/* ---- kv.c: the records' format, KEY=VALUE lines, values escaped ------- */

struct kv_out {
    char *buf;
    size_t len, used;
    bool overflow;                     /* kv_write refuses a record cut short */
};
void kv_init(struct kv_out *o, char *buf, size_t len);
void kv_put(struct kv_out *o, const char *key, const char *fmt, ...) LAB_PRINTF(3, 4);
/* Writes the record whole: a new file renamed over path. */
int kv_write(const char *path, const struct kv_out *o);
/* The file name (relative to dir_fd, or absolute) into text; -EBADMSG if
 * it does not fit. */
int kv_read(int dir_fd, const char *name, char *text, size_t len);
/* The next line of the text at *cursor, split and unescaped in place: 1,
 * 0 at the end, -EBADMSG for a line that is not KEY=VALUE. */
int kv_next(char **cursor, char **key, char **value);
/* A number, exactly (no sign, no space, no rest), at most max. */
int kv_number(const char *value, int base, unsigned long long max, unsigned long long *out);

/* ---- path.c: paths built from input ----------------------------------- */

/* snprintf into buf; -ENAMETOOLONG instead of a silently cut path. */
int path_join(char *buf, size_t len, const char *dir, const char *name);
int path_printf(char *buf, size_t len, const char *fmt, ...) LAB_PRINTF(3, 4);
/* The directory of this program, from /proc/self/exe. */
int path_exe_dir(char *buf, size_t len);
/* Opens (creating it if missing, as a directory or an empty file) the path
 * rel below root_fd without ever leaving it: a ".." or a symlink that climbs
 * out fails with -EXDEV. Returns an O_PATH fd or -errno. */
int path_open_beneath(int root_fd, const char *rel, bool as_dir);
/* The flags of the mount at path (nosuid, nodev, noexec, atime flags), as
 * mount(2)'s MS_* flags: a remount must repeat them. */
int path_mount_flags(const char *path, unsigned long *flags);

/* ---- ns.c: namespace identities ----------------------------------------- */

#define NS_KINDS 7

struct ns_ids {
    dev_t dev[NS_KINDS];
    ino_t ino[NS_KINDS];
};

int ns_snapshot(struct ns_ids *ids);
/* The name of the first CLONE_NEW* flag in flags whose namespace the caller
 * still shares with host (a snapshot taken before clone), or NULL when all of
 * them are new. */
const char *ns_not_new(const struct ns_ids *host, int flags);
/* "CLONE_NEWPID|CLONE_NEWNS": the namespace flags in flags, for narration
 * (in a static buffer). */
const char *ns_flag_names(int flags);

/* ---- cgroup.c: one group per container, on cgroup v1 or v2 ------------- */

enum cg_version { CG_NONE = 0, CG_V1 = 1, CG_V2 = 2 };

#define CG_PARENT "lab"
#define CG_MAX_DIRS 4 /* cpu, memory, pids (and an OCI container's freezer): one hierarchy
                       * each on v1; one on v2 */

/* Where one controller lives: found by cg_detect(), or set by tests to point
 * at a fake tree. */
struct cg_layout {
    enum cg_version version;
    char controller[16];        /* "cpu" */
    char root[PATH_MAX];        /* the hierarchy's mount point */
    char options[64];           /* v1: what it is mounted with ("cpu,cpuacct") */
};

/* The group's directory in one hierarchy. */
struct cg_dir {
    struct cg_layout layout;    /* its hierarchy (layout.controller: the first) */
    char controllers[64];       /* the controllers used through it: "cpu memory" */
    char path[PATH_MAX];        /* root/lab/<name> */
    bool created;
};

struct cg_group {
    char name[256];             /* <pid> of the lab process; an OCI container's leaf */
    char parent[PATH_MAX];      /* CG_PARENT, CG_PARENT/pod-NAME for a pod's (set before
                                 * cg_create, which keeps it), or an OCI cgroupsPath's
                                 * dirname ("" at the root) */
    char path[PATH_MAX];        /* the first directory, for narration */
    struct cg_dir dirs[CG_MAX_DIRS];
    int ndirs;
    int dir_fd;                 /* the first directory, for CLONE_INTO_CGROUP */
    int stale_removed;          /* groups of killed lab processes cg_create removed */
    char what[PATH_MAX + 64];   /* what the last failed operation tried */
};

/* statfs(2) of /sys/fs/cgroup first (cgroup2 there means v2 only), then the
 * mount table: a v1 hierarchy holding the controller wins over the unified
 * one, as the kernel binds a controller to one hierarchy at a time. */
int cg_detect(struct cg_layout *l, const char *controller);
/* The same, from a mountinfo file: for tests. */
int cg_detect_from(struct cg_layout *l, const char *controller, FILE *mountinfo);
/* A group made before, by its directories (an OCI container's, from its
 * state), for its limits: each of cpu, memory and pids found in one. */
int cg_open_dirs(struct cg_group *g, const char *const *dirs, int n);
/* The CPU quota (0: none) and period the group has now, in microseconds. */
int cg_cpu_limit_now(struct cg_group *g, long *quota_us, long *period_us);
const char *cg_version_name(enum cg_version v);
/* Whether the caller's own cgroup v2 group is its to manage (delegated, as
 * systemd does for a user's session): an ordinary user's containers can
 * have groups there. Run so, cg_detect() puts them below it. */
bool cg_delegated(void);
/* Removes lab/<name> in the layout's hierarchy (its tasks killed first),
 * and lab/ once empty; gone already is fine. */
int cg_remove_named(const struct cg_layout *l, const char *name);
/* Removes the groups under lab/ whose lab process is gone (killed by
 * SIGKILL, say), except keep_name. */
int cg_remove_stale(const struct cg_layout *l, const char *keep_name, int *removed);
/* The same under another group of the lab's (lab/pod-NAME). */
int cg_remove_stale_in(const struct cg_layout *l, const char *under, const char *keep_name,
                       int *removed);
/* Removes lab/pod-NAME/<infra> and lab/pod-NAME, then lab/ once empty. */
int cg_remove_pod(const struct cg_layout *l, const char *pod, pid_t infra);
/* lab/<name> in the controller's hierarchy, after removing the groups that
 * killed lab processes left there; lab/pod-NAME/<name> when g->parent says
 * so (g zeroed, or its parent preset: lab_start does it for a pod's). */
int cg_create(struct cg_group *g, const struct cg_layout *l, const char *name);
/* The group at path (relative to the hierarchy's root: an OCI cgroupsPath,
 * "default/web"), its parents made as needed; no stale groups removed. */
int cg_create_at(struct cg_group *g, const struct cg_layout *l, const char *path);
/* Removes the group at an absolute path (its tasks killed first), then its
 * parent once empty. */
int cg_remove_path(const char *path);
/* The same group in a further controller's hierarchy: a second directory
 * on cgroup v1, the controller enabled for the same directory on v2. */
int cg_add_controller(struct cg_group *g, const struct cg_layout *l);
/* quota_us <= 0 removes the cap. */
int cg_set_cpu_limit(struct cg_group *g, long quota_us, long period_us);
/* memory_bytes > 0: the memory limit; swap_total, memory and swap together,
 * as docker run's --memory-swap: 0 for docker's default (as much swap as
 * memory, where the kernel limits swap), LAB_UNLIMITED, or bytes (equal to
 * memory_bytes: no swap). -EOPNOTSUPP when a swap limit was asked for and
 * this kernel's controller has none. */
int cg_set_memory_limit(struct cg_group *g, long long memory_bytes, long long swap_total);
/* n > 0: at most n processes; LAB_UNLIMITED: no limit; 0: nothing written. */
int cg_set_pids_limit(struct cg_group *g, long n);
/* How many processes the kernel's OOM killer has killed in the group. */
int cg_oom_kills(struct cg_group *g);
/* Mounts, read-only at dir, the cgroup hierarchies the group is in, as the
 * caller sees them: from inside a cgroup namespace rooted at the group, its
 * own files and nothing above. v2: one cgroup2 at dir; v1: a tmpfs at dir
 * and one hierarchy per directory below it (dir/cpu, dir/memory, ...). */
int cg_mount_view(struct cg_group *g, const char *dir);
/* Moves pid into the group, in every hierarchy it is in. */
int cg_add_pid(struct cg_group *g, pid_t pid);
/* rmdir, retrying while the kernel still holds the last tasks; also removes
 * the lab/ parent when it is empty. Safe to call twice. */
int cg_remove(struct cg_group *g);
/* Like clone(2), but the child starts inside the group: clone3(2) with
 * CLONE_INTO_CGROUP (cgroup v2, Linux 5.7+). -EOPNOTSUPP where that cannot
 * be done (cgroup v1, an older kernel); the caller then clones and moves
 * the child in. */
pid_t cg_clone_into(struct cg_group *g, int (*fn)(void *), void *arg, int flags);

/* ---- netlink.c: rtnetlink ---------------------------------------------- */

#define NL_MSG_MAX 1024

/* A message under construction: the header, a fixed part, attributes. */
struct nl_msg {
    union {
        char buf[NL_MSG_MAX];
        uint32_t align_; /* nlmsghdr wants 4-byte alignment */
    };
    size_t len;
    bool overflow;
};

struct nl_sock {
    int fd;
    uint32_t seq;
};

void nl_msg_init(struct nl_msg *m, uint16_t type, uint16_t flags);
void *nl_msg_put(struct nl_msg *m, const void *data, size_t len);
void nl_attr_put(struct nl_msg *m, uint16_t type, const void *data, size_t len);
void nl_attr_put_u32(struct nl_msg *m, uint16_t type, uint32_t v);
void nl_attr_put_str(struct nl_msg *m, uint16_t type, const char *s);
size_t nl_nest_begin(struct nl_msg *m, uint16_t type);
void nl_nest_end(struct nl_msg *m, size_t nest);

int nl_open(struct nl_sock *s);
void nl_close(struct nl_sock *s);
/* Sends m and waits for the kernel's acknowledgement: 0 or -errno. */
int nl_talk(struct nl_sock *s, struct nl_msg *m);

int nl_veth_create(struct nl_sock *s, const char *name, const char *peer, pid_t peer_pid);
int nl_link_up(struct nl_sock *s, const char *name);
int nl_link_delete(struct nl_sock *s, const char *name);
/* Waits until no link has the name (timeout_ms at most), on the kernel's
 * announcements: 0 or -ETIMEDOUT. */
int nl_wait_link_gone(const char *name, int timeout_ms);
int nl_addr_add(struct nl_sock *s, const char *name, struct in_addr a, int prefix);
int nl_route_add_default(struct nl_sock *s, const char *name, struct in_addr via);
/* Calls cb(ctx, ifindex, address, prefix) for every IPv4 address of the
 * namespace; a negative return from cb stops the dump. */
int nl_addr_dump_v4(struct nl_sock *s, int (*cb)(void *, int, struct in_addr, int), void *ctx);
/* Deletes host ends named lab<pid> whose lab process is gone. */
int nl_remove_stale_veths(struct nl_sock *s, int *removed);

/* Builders for the messages above, separate so that tests can check them
 * byte for byte without a kernel. */
void nl_build_veth_create(struct nl_msg *m, const char *name, const char *peer, pid_t peer_pid);
void nl_build_link_up(struct nl_msg *m, int ifindex);
void nl_build_link_delete(struct nl_msg *m, int ifindex);
void nl_build_addr_add(struct nl_msg *m, int ifindex, struct in_addr a, int prefix);
void nl_build_route_add_default(struct nl_msg *m, int ifindex, struct in_addr via);

/* ---- ipam.c: addresses for a container's veth pair --------------------- */

#define IPAM_POOL "10.200.0.0/16" /* split into /30s: host .1, container .2 */
#define IPAM_POOL_PREFIX 16
#define IPAM_PREFIX 30

struct ipam_lease {
    struct in_addr host;      /* the host end's address */
    struct in_addr container; /* eth0's address */
    int prefix;
    int lock_fd;              /* held while the addresses are being claimed */
};

/* The two ends of the subnet of a given container address. */
int ipam_from_request(const struct lab_ipv4 *req, struct ipam_lease *out);
/* The i-th /30 of the pool. */
void ipam_from_index(unsigned i, struct ipam_lease *out);
/* Whether a.b.c.d/p and w.x.y.z/q share any address. */
bool ipam_overlaps(struct in_addr a, int pa, struct in_addr b, int pb);
/* Takes the lab's network lock, then picks (or checks, when req is given) a
 * subnet that no address on the host already covers. On -EADDRINUSE,
 * *clash names what overlaps. The lock is held until ipam_unlock(). */
int ipam_claim(const struct lab_ipv4 *req, unsigned seed, struct ipam_lease *out,
               char *clash, size_t clashlen);
void ipam_unlock(struct ipam_lease *l);
/* "10.200.0.1/30" ("10.200.0.1" when prefix < 0), in one of four static
 * buffers (for narration). */
const char *ipam_fmt(struct in_addr a, int prefix);

/* ---- layer.c: image layers on overlayfs -------------------------------- */

struct lab_layers {
    char dir[PATH_MAX];        /* LAB_RUN_DIR/layers/<id>: the container's scratch dir */
    char upper[PATH_MAX];      /* its own layer: dir/upper, or --upper */
    char work[PATH_MAX];       /* overlayfs's work dir, on upper's file system */
    char init[PATH_MAX];       /* dir/init: the init layer (hostname, hosts) */
    char merged[PATH_MAX];     /* dir/merged: where the child mounts the overlay */
    char options[4096];        /* the overlay's mount options: one page */
    bool made;                 /* dir exists, and is ours to remove */
    bool work_is_temporary;    /* work was made beside --upper, and is ours too */
    int stale_removed;         /* scratch dirs of killed lab processes removed */
    char what[PATH_MAX + 256]; /* what the last failed operation tried */
};

/* The scratch dir and its upper, work, init and merged dirs (after removing
 * those that killed lab processes left), and the overlay's options, from
 * o's layers and upper. -E2BIG when the options would not fit one page. */
int layer_prepare(struct lab_layers *l, const struct lab_opts *o, const char *id);
/* Appends ",option" to the overlay's options: -ENAMETOOLONG if it does
 * not fit (nothing is cut). */
int layer_add_option(struct lab_layers *l, const char *option);
/* Makes dir/lower/0, 1, ... for the image layers to be mounted at, points
 * o->layers there, and builds the options again (step 12: the idmapped
 * layers, where the container's root can reach them). */
int layer_use_lowers(struct lab_layers *l, struct lab_opts *o);
/* Writes text to rel (like "etc/hosts") in the init layer. */
int layer_write(struct lab_layers *l, const char *rel, const char *text);
/* Copies the container's layer to dest (new, or empty) as an image layer:
 * whiteouts and opaque directories as overlayfs recorded them, without the
 * init layer's files. */
int layer_commit(struct lab_layers *l, const char *dest);
/* Gives the container's layer, work, init and merged dirs to uid:gid (the
 * host ids of a user namespace's root). */
int layer_chown(struct lab_layers *l, uid_t uid, gid_t gid);
/* Removes the scratch dir (and a work dir made beside --upper). Safe twice. */
int layer_remove(struct lab_layers *l);
int layer_remove_stale(int *removed);

/* ---- userns.c: user namespaces ----------------------------------------- */

/* No two ranges overlap, inside or outside, and id 0 is mapped. */
int userns_check_maps(const struct lab_idmap *m, int n, const char **why);
/* The first range of /etc/subuid or /etc/subgid for user (or its id). */
int userns_subid_range(const char *file, const char *user, unsigned id, struct lab_idmap *out);
/* The maps when --uidmap/--gidmap are not given, and the checks of those
 * that are: root maps 0..65535 onto 100000.. (or its /etc/subuid range); an
 * ordinary user maps itself to root, and its /etc/subuid range beside it
 * where newuidmap can write it. Sets o->rootless. */
int userns_defaults(struct lab_opts *o, const char **why);
/* Writes pid's maps: uid_map, "deny" to setgroups, gid_map; or, rootless
 * with subid ranges, runs newuidmap and newgidmap. *how says which. */
int userns_write_maps(pid_t pid, const struct lab_opts *o, char *how, size_t len);
/* An fd of a new, empty user namespace with o's maps. */
int userns_holder(const struct lab_opts *o);
/* A detached copy of the mount at path, idmapped through userns_fd: a file
 * owned by id k on disk shows as owned by k's image in the map. */
int userns_idmap_tree(const char *path, int userns_fd);
/* Attaches a detached mount at path. */
int userns_attach_tree(int fd, const char *path);
/* As root of the host: a detached copy of the one mount at path, without
 * the mounts below it (a user namespace may not make one: those below are
 * locked there, and a copy without them would uncover what they hide). A
 * descriptor for userns_attach_tree, or -errno. */
int userns_clone_mount(const char *path);

/* ---- caps.c: capabilities ---------------------------------------------- */

#define CAPS_ALL (-2)

int caps_count(void);                 /* the names known: CAP_CHOWN (0) .. */
const char *caps_name(int cap);       /* "SYS_ADMIN" */
/* "SYS_ADMIN", "cap_sys_admin", "all" -> 21, CAPS_ALL; -EINVAL if unknown. */
int caps_parse(const char *s);
uint64_t caps_docker_default(void);
uint64_t caps_all(void);
/* The set a container keeps, as docker run makes it from --cap-add,
 * --cap-drop and --privileged. */
uint64_t caps_of(const struct lab_opts *o);
/* "14: CHOWN DAC_OVERRIDE ...", "all of them", "none" (static buffer). */
const char *caps_describe(uint64_t set);

/* ---- profile.c: Docker's default seccomp profile, as data (14) --------- */

/* How a rule compares args[arg] (as libseccomp's SCMP_CMP_*). */
enum sc_op { SC_ANY, SC_EQ, SC_LT, SC_GT, SC_MASKED_EQ };
#define SC_MAX_RULE 7 /* the most instructions a rule for one call takes */

/* One entry of moby's profile: its names (space-separated), allowed, or
 * refused with errno_ret; only with a capability of with, never with one
 * of without; only on the architectures of arches (moby's names: amd64,
 * arm64...), never on those of not_arches; when args[arg] compares so to
 * value (SC_MASKED_EQ: args[arg] & value is 0). */
struct sc_rule {
    const char *names;
    uint64_t with, without;
    const char *arches, *not_arches;
    unsigned arg;
    enum sc_op op;
    uint64_t value;
    int errno_ret;
};
extern const struct sc_rule sc_docker_default[];
extern const size_t sc_docker_default_len;
/* Whether the rule is this container's (its capabilities, our architecture). */
bool sc_rule_applies(const struct sc_rule *r, uint64_t caps);
/* The next name of a list at *cursor, into name; false at the end. */
bool sc_next_name(const char **cursor, char *name, size_t len);
/* The call's number on this architecture, or -1 if it has none. */
int sc_resolve(const char *name);
/* Room for the program step 14 writes from the table, at most. */
unsigned sc_max_instructions(void);

/* ---- record.c: named containers ----------------------------------------- */

/* What exec needs to join a running container. */
struct lab_record {
    pid_t pid;                         /* the container's PID 1 on the host; 0 while it starts */
    unsigned long long start;          /* its start time: with the pid, it is unique */
    pid_t lab;                         /* the lab process that runs it */
    unsigned long long lab_start;
    /* The options a process joining it takes on, as its command did. */
    bool privileged, seccomp_unconfined, cap_add_all, cap_drop_all;
    uint64_t cap_add, cap_drop;
    unsigned uid, gid;                 /* its root's ids on the host */
    bool userns_host;                  /* --userns host: no user namespace of its own */
    const char *env[LAB_MAX_ENV];      /* -e, with the host's values filled in */
    int nenv;
    char cgroups[CG_MAX_DIRS][PATH_MAX]; /* its groups */
    int ncgroups;
    char pod[LAB_NAME_MAX + 1];        /* its pod (step 16), or "" */
    char text[8192];                   /* the file, parsed in place: env points into it */
};

/* Docker's names: a letter or digit, then letters, digits, _ . - */
int record_check_name(const char *name, const char **why);
unsigned long long record_start_time(pid_t pid);
/* Whether the process of that pid and start time still runs (a zombie
 * does not). */
bool record_alive(pid_t pid, unsigned long long start);
/* LAB_RUN_DIR/containers, or the user's own when rootless. */
const char *record_dir(char *buf, size_t len);
/* Removes the records whose lab process is gone (counted in *removed). */
int record_sweep(int *removed);
/* Locks the records' directory (made if missing) against the other lab
 * processes: -errno, or the fd whose close(2) unlocks it. */
int record_lock(void);
/* Claims the name for this lab process, a member of pod ("" for none),
 * after removing every stale record (counted in *stale_removed). -EEXIST
 * while a running container has it. */
int record_claim(const char *name, const char *pod, int *stale_removed);
/* How many running containers are members of the pod. */
int record_pod_members(const char *pod);
/* Sends sig to the PID 1 of each running container of the pod; how many. */
int record_pod_signal(const char *pod, int sig);
/* Waits (on pidfds) until the lab processes of the pod's containers have
 * ended, timeout_ms at most: how many still run. */
int record_pod_wait(const char *pod, int timeout_ms);
/* The whole record, once the container is set up. */
int record_write(const char *name, const struct lab_record *r);
/* -ENOENT: no such container; -EAGAIN: it is starting; -ESRCH: it has
 * ended (a stale record is removed); -EBADMSG: the record is damaged. */
int record_read(const char *name, struct lab_record *r);
/* record_read, once the starting container is set up (-EAGAIN after
 * timeout_ms); it waits on inotify. */
int record_wait_ready(const char *name, struct lab_record *r, int timeout_ms);
int record_remove(const char *name);
/* Removes the records' directories if no record is left. */
void record_tidy(void);
/* The options of o a joining process needs, into r, and back. */
void record_set_options(struct lab_record *r, const struct lab_opts *o);
void record_get_options(const struct lab_record *r, struct lab_opts *o);

/* ---- pod.c: a pod's infra container and record (16+) ------------------ */

struct lab_pod {
    pid_t infra;                       /* the infra ("pause") process, on the host */
    unsigned long long start;          /* its start time */
    bool ready;                        /* it runs pause (recorded once it does) */
    char hostname[LAB_HOSTNAME_MAX + 1]; /* the pod's, every container's */
    bool net;                          /* it has a veth pair */
    struct ipam_lease lease;           /* its addresses, with net */
    bool share_pid;                    /* one PID namespace for the pod */
    unsigned uid, gid;                 /* its root's ids on the host */
    unsigned gids;                     /* how many gids its map holds from 0 */
    int pidfd;                         /* the infra, pinned, for setns */
    /* While this lab process makes the infra: */
    int lock_fd;                       /* the records' lock, held until it is recorded */
    struct sync_pipe sync;             /* the infra waits for its maps and veth */
    int pause_fd, null_fd;             /* the rootfs's /bin/pause, /dev/null: opened on the host */
    bool made, recorded;
};

/* The record of the pod NAME: -ENOENT, -EBADMSG when it is damaged, or
 * -ESRCH when its infra is gone or was never ready (its maker killed
 * half-way). Under record_lock. */
int pod_read(const char *name, struct lab_pod *p);
/* Where the record of the pod NAME is. */
int pod_path(const char *name, char *buf, size_t len);
int pod_write(const char *name, const struct lab_pod *p);
/* Kills the infra, removes its group, veth and record. Under record_lock. */
int pod_teardown(const char *name, const struct lab_pod *p);
/* Tears down the pods whose infra, or every container, is gone. */
int pod_sweep(int *removed);
/* The infra's side of clone(2): hostname, network, then pause. */
int pod_infra_main(void *arg);

/* ---- oci.c: an OCI bundle's config.json (17) -------------------------- */

#define OCI_MAX_MOUNTS 64
#define OCI_MAX_RLIMITS 16
#define OCI_MAX_GROUPS 32
#define OCI_MAX_SYSCTL 32
#define OCI_MAX_DEVICES 32
#define OCI_MAX_JOIN 8
enum { OCI_BOUNDING, OCI_EFFECTIVE, OCI_PERMITTED, OCI_INHERITABLE, OCI_AMBIENT, OCI_CAP_SETS };

struct oci_mount {
    const char *destination, *type, *source;
    unsigned long flags;               /* MS_RDONLY, MS_BIND, ... */
    unsigned long propagation;         /* MS_PRIVATE..., applied after the mount */
    bool bind;
    char data[512];                    /* the file system's own options: mode=755 */
};

/* config.json's hooks: programs run at points of the life, the state JSON
 * on their stdin. */
#define OCI_MAX_HOOKS 8
enum { OCI_PRESTART, OCI_CREATE_RUNTIME, OCI_CREATE_CONTAINER, OCI_START_CONTAINER,
       OCI_POSTSTART, OCI_POSTSTOP, OCI_HOOK_KINDS };
extern const char *const oci_hook_names[OCI_HOOK_KINDS];
struct oci_hook {
    const char *path;
    char **args, **env;                /* NULL-terminated, or NULL */
    int timeout;                       /* seconds; 0: none */
};

struct oci_device {
    const char *path;
    char type;                         /* c, b or p */
    unsigned major, minor;
    mode_t mode;
    uid_t uid;
    gid_t gid;
};

/* config.json's process, or exec --process's file. */
struct oci_process {
    char **args, **env;                /* NULL-terminated */
    const char *cwd;
    uid_t uid;
    gid_t gid, groups[OCI_MAX_GROUPS];
    int ngroups;
    int umask;                         /* -1: not given */
    bool terminal, no_new_privs;
    uint64_t caps[OCI_CAP_SETS];
    struct {
        int resource;
        struct rlimit limit;
    } rlimits[OCI_MAX_RLIMITS];
    int nrlimits;
    bool has_oom_score_adj;
    int oom_score_adj;
};

struct oci_config {
    void *json;                        /* the parsed file: the strings below point into it */
    const char *id;                    /* the container's, for its hooks' state */
    char error[512];                   /* why it was refused: "linux.intelRdt: not supported" */
    char oci_version[32];
    char bundle[PATH_MAX];             /* absolute */
    char rootfs[PATH_MAX], rootfs_real[PATH_MAX];
    bool readonly_root;
    const char *hostname, *domainname;
    bool has_process;
    struct oci_process process;
    struct oci_mount mounts[OCI_MAX_MOUNTS];
    int nmounts;
    int ns_new, ns_joined;             /* CLONE_NEW* flags: made new, joined by path */
    struct {
        int flag;
        const char *path;
    } join[OCI_MAX_JOIN];
    int njoin;
    struct lab_idmap uidmap[LAB_MAX_IDMAPS], gidmap[LAB_MAX_IDMAPS];
    int nuidmap, ngidmap;
    char **masked, **readonly;
    int nmasked, nreadonly;
    struct {
        const char *key, *value;
    } sysctl[OCI_MAX_SYSCTL];
    int nsysctl;
    struct oci_device devices[OCI_MAX_DEVICES];
    int ndevices;
    bool has_device_rules;             /* linux.resources.devices */
    const char *cgroups_path;
    long long memory_bytes, memory_swap_bytes;
    long cpu_quota_us, cpu_period_us, pids_limit;
    void *seccomp;                     /* linux.seccomp, as JSON, or NULL */
    const char *annotations;           /* as JSON text, for state */
    struct oci_hook hooks[OCI_HOOK_KINDS][OCI_MAX_HOOKS];
    int nhooks[OCI_HOOK_KINDS];
    const char *hooks_json;            /* as JSON text, kept in the state for start, delete */
};

/* Reads bundle/config.json: 0, or -EINVAL with cfg->error set (one line,
 * naming the field). oci_free() in either case. */
int oci_read(struct oci_config *cfg, const char *bundle);
/* exec --process FILE: a process object alone. */
int oci_read_process(struct oci_config *cfg, const char *file, struct oci_process *out);
int oci_read_process_json(struct oci_config *cfg, void *json, struct oci_process *out);
void oci_free(struct oci_config *cfg);
/* The hooks alone, from the state's copy of them (start, delete). */
int oci_read_hooks_text(struct oci_config *cfg, const char *text);
/* In the child, before pivot_root: one mount of the list, beneath the
 * rootfs (root_fd), its mount point made if missing. what says what failed. */
int oci_mount(const struct oci_mount *m, int root_fd, const char *bundle, char *what,
              size_t whatlen);
/* /dev/null, zero, full, random, urandom, tty, and the /dev/fd links. */
int oci_default_devices(int root_fd, char *what, size_t whatlen);
int oci_make_device(const struct oci_device *d, int root_fd, char *what, size_t whatlen);
/* After pivot_root: maskedPaths and readonlyPaths, one path each. */
int oci_mask_path(const char *path);
int oci_readonly_path(const char *path);
/* The CLONE_NEW* flag of the namespace a sysctl belongs to; 0 for none. */
int oci_sysctl_namespace(const char *key);
int oci_write_sysctl(const char *key, const char *value);

/* ---- seccomp.c: an OCI seccomp profile, compiled by libseccomp (17) ----- */

/* A filter ready to load, or NULL with err set. */
void *oci_seccomp_compile(void *json, char *err, size_t len);
int oci_seccomp_load(void *filter);
void oci_seccomp_release(void *filter);

/* ---- manifest.c: a Kubernetes Pod or ReplicaSet manifest (18) --------- */

#define K8S_MAX_CONTAINERS 8
#define K8S_MAX_ARGS 32
#define K8S_MAX_ENV 32
#define K8S_MAX_MOUNTS 8
#define K8S_MAX_VOLUMES 8
#define K8S_MAX_LABELS 8
#define K8S_MAX_REPLICAS 50
enum k8s_restart { K8S_ALWAYS, K8S_ON_FAILURE, K8S_NEVER };

struct k8s_mount {
    const char *volume, *path;
    bool readonly;
};

struct k8s_volume {
    const char *name, *host_path;
};

struct k8s_container {
    const char *name, *image, *working_dir;
    const char *command[K8S_MAX_ARGS], *args[K8S_MAX_ARGS]; /* NULL-terminated */
    int ncommand, nargs;
    const char *env[K8S_MAX_ENV];      /* NAME=VALUE */
    int nenv;
    struct k8s_mount mounts[K8S_MAX_MOUNTS];
    int nmounts;
    long long cpu_millis, memory_bytes; /* resources.limits; 0: none */
    const char *post_start[K8S_MAX_ARGS], *pre_stop[K8S_MAX_ARGS], *liveness[K8S_MAX_ARGS];
    int npost_start, npre_stop, nliveness;
    int liveness_period, liveness_failures, liveness_delay; /* seconds, count */
};

/* A Pod, or a ReplicaSet's template with its name, replicas and selector. */
struct k8s_pod {
    char error[512];                   /* why it was refused: "spec.nodeSelector: not supported" */
    bool is_replicaset;
    int replicas;
    const char *name, *k8s_namespace;
    const char *labels[K8S_MAX_LABELS], *selector[K8S_MAX_LABELS]; /* key=value */
    int nlabels, nselector;
    enum k8s_restart restart;
    int grace_seconds;
    bool host_network, share_pid;
    struct k8s_volume volumes[K8S_MAX_VOLUMES];
    int nvolumes;
    struct k8s_container containers[K8S_MAX_CONTAINERS];
    int ncontainers;
    char pool[16384];                  /* the strings above */
    size_t pool_used;
};

/* Reads a manifest file: 0, or -EINVAL with pod->error set (one line, the
 * field's path first). */
int k8s_read_manifest(struct k8s_pod *pod, const char *path);
/* Kubernetes' quantities: cpu ("500m", "0.5") in millicores, memory
 * ("64Mi", "1G", "1000") in bytes. 0, or -EINVAL. */
int k8s_quantity(const char *s, bool cpu, long long *out);

/* ---- kubelet.c: a node's pods on disk, the runtime calls, status (18) -- */

#define KL_DEFAULT_ROOT "/run/lab/kubelet" /* the kubelet's --root-dir is /var/lib/kubelet */
#define KL_MAX_PODS 64
#define KL_REASON_MAX 32

enum kl_state { KL_WAITING, KL_RUNNING, KL_TERMINATED };
enum kl_hook { KL_NO_HOOK, KL_POST_START, KL_PRE_STOP, KL_PROBE };

/* How one run of a container ended. */
struct kl_end {
    bool set;
    int exit_code, signal;
    long long started, finished;       /* wall clock, ms */
    char reason[KL_REASON_MAX];        /* Completed, Error, ContainerStatusUnknown */
};

/* One container of a pod, as the kubelet sees it. */
struct kl_container {
    const struct k8s_container *spec;  /* in its pod's spec */
    char id[384];                      /* the OCI container's: POD_NAME */
    char dir[PATH_MAX];                /* ROOT/pods/POD/NAME: bundle, rootfs, log */
    enum kl_state state;
    char reason[KL_REASON_MAX];        /* waiting: ContainerCreating, CrashLoopBackOff */
    bool ready;                        /* running, and its postStart has returned */
    int restarts;
    long long started;                 /* wall clock, ms, of the current run */
    struct kl_end end, last;           /* this run's end (terminated), the run before */
    pid_t monitor;                     /* the process that waits for it (conmon's job) */
    unsigned long long monitor_start;
    int monitor_fd;                    /* its pidfd, -1 when none */
    pid_t hook;                        /* a postStart, preStop or probe that runs */
    int hook_fd;
    enum kl_hook hook_kind;
    long long hook_deadline, kill_at;  /* monotonic ms; 0: none */
    bool term_sent;
    bool probe_hold;                   /* killed for its probe: no more probes of this run */
    /* The back-off, in memory only, as the kubelet keeps it. */
    long long backoff_ms, backoff_updated; /* wall clock, ms */
    int probe_failures;
    long long next_probe;              /* monotonic ms */
    long long retry_at;                /* monotonic ms: the back-off's end */
};

/* A pod: its spec (read from its own copy of the manifest) and its state. */
/* The kubelet's pods' groups: KL_CGROUP_PARENT/pod-NAME/CONTAINER. */
#define KL_CGROUP_PARENT "lab-kubepods"

struct kl_pod {
    char name[256];
    char dir[PATH_MAX];                /* ROOT/pods/NAME */
    char source[PATH_MAX];             /* the manifest file it came from */
    char hash[20];                     /* of that file's bytes, when it was made */
    char owner[256];                   /* its ReplicaSet, or "" for a static pod */
    struct k8s_pod spec;
    long long created;                 /* wall clock, ms */
    const char *phase;                 /* Pending, Running, Succeeded, Failed */
    bool terminating;
    long long grace_deadline;          /* monotonic ms */
    struct kl_container sandbox;       /* the pause container: the pod's namespaces */
    struct kl_container c[K8S_MAX_CONTAINERS];
    int nc;
};

/* One manifest of the directory, read: a Pod, or a ReplicaSet's count. */
struct kl_wanted {
    char name[256], file[PATH_MAX], hash[20];
    bool replicaset;
    int replicas;
};

/* What the kubelet was started with, and what it has. */
struct kubelet {
    char root[PATH_MAX], oci_root[PATH_MAX], manifests[PATH_MAX];
    char self[PATH_MAX];               /* this program: the runtime it calls */
    int relist_s;                      /* --file-check-frequency */
    long long backoff_initial_ms, backoff_max_ms, backoff_reset_ms;
    bool quiet;
    struct kl_pod *pods[KL_MAX_PODS];
    int npods;
};

/* The kubelet's directories, ROOT a private mount (as containers/storage
 * makes its own: drivers/overlay/overlay.go): an overlay mounted under it propagates nowhere. */
void kl_setup(struct kubelet *k);
/* At the end, with no pod left: the mount and directories go. */
void kl_teardown(struct kubelet *k);
/* The desired state: every manifest of the directory (*.yaml, not a dot
 * file), read again; one that is refused is said once until it changes. */
int kl_manifests(const struct kubelet *k, struct kl_wanted *w, int max);
/* FNV-1a of a file's bytes, in hex: a changed manifest is a new pod. */
int kl_file_hash(const char *path, char *hash, size_t len);
/* A new pod's directory and record, from manifest file source. */
struct kl_pod *kl_pod_new(struct kubelet *k, const char *name, const char *source,
                          const char *hash, const char *owner);
/* The pods a kubelet before this one left: records, monitors, exits. */
void kl_pods_adopt(struct kubelet *k);
void kl_pod_forget(struct kubelet *k, struct kl_pod *p);
/* The pause container; then a container of the pod, created and started
 * by the runtime under a monitor. 0, or -1 (its end is recorded). */
int kl_sandbox_start(struct kubelet *k, struct kl_pod *p);
int kl_container_start(struct kubelet *k, struct kl_pod *p, struct kl_container *c);
/* Whether c's monitor has ended: then c's end is read and recorded. */
bool kl_container_ended(struct kubelet *k, struct kl_container *c);
/* The runtime's kill, and its delete with the container's directory. */
void kl_container_signal(struct kubelet *k, struct kl_container *c, int sig);
void kl_container_remove(struct kubelet *k, struct kl_container *c);
/* A command in the running container (runtime exec), not waited for. */
int kl_hook_start(struct kubelet *k, struct kl_container *c, enum kl_hook kind,
                  const char *const *argv, long long timeout_ms);
/* Whether the hook has ended: 1 (status in *status, -1 timed out), 0. */
int kl_hook_ended(struct kl_container *c, int *status);
/* Whether every container is ready; their restarts, added up. */
bool kl_pod_ready(const struct kl_pod *p);
int kl_pod_restarts(const struct kl_pod *p);
/* The pod's record and status.json, for get, logs and the next kubelet. */
void kl_pod_save(struct kubelet *k, struct kl_pod *p);
/* Everything of the pod is gone: its directory goes. */
void kl_pod_remove(struct kubelet *k, struct kl_pod *p);
/* The pidfds to wait on, the soonest deadline (monotonic ms, 0: none). */
int kl_wait_fds(const struct kubelet *k, int *fds, int max, long long *deadline);
/* ./step-18 get pods | get pod NAME [-o json] | logs NAME [-c C] */
int kl_get_command(int argc, char *argv[]);
int kl_logs_command(int argc, char *argv[]);
long long kl_wall_ms(void);

/* ---- container.c: the start and the end of every step ------------------ */


/*
 * A container as the step sees it: what the parent prepares and the child
 * needs. clone(2) gives the child a copy; from then on each side changes
 * only its own.
 */
/* ---- points.c: the mount points made in the image (08-10) --------------- */

#define LAB_MAX_POINTS 16
/* The components of the volumes' targets that the rootfs lacks, outermost
 * first, as host paths; recorded in LAB_RUN_DIR/points/<pid>. */
struct lab_points {
    int n;
    bool recorded;
    char paths[LAB_MAX_POINTS][PATH_MAX];
};
/* Before clone: what the volumes of o will make under root, recorded. 0 or
 * -errno. */
int points_plan(struct lab_points *p, const char *root, const struct lab_opts *o);
/* After the container ended: removes what was made and is still empty,
 * deepest first, and the record. */
void points_remove(struct lab_points *p);
/* Removes what killed lab processes made, and their records. */
int points_sweep(int *removed);

struct container {
    struct lab_opts opts;              /* the command line */
    const char *root;                  /* the container's root (03+): --rootfs */
    char hostname[LAB_HOSTNAME_MAX + 1]; /* --hostname, or lab<pid> (05+) */
    char id[16];                       /* this lab process's pid: names its group */
    struct sync_pipe sync;             /* the parent says "go" once it is ready */
    struct ns_ids host_ns;             /* the parent's namespaces, taken before clone */
    pid_t pid;                         /* the child on the host; 0 once waited for */
    /* 06: --network bridge */
    struct ipam_lease lease;           /* the addresses of both ends */
    char veth[IF_NAMESIZE];            /* the host's end: lab<pid> */
    bool veth_created;
    /* 07: the cgroup */
    struct cg_group cg;                /* lab/<pid> */
    /* 08-10: the volumes' mount points made in the image itself */
    struct lab_points points;
    bool in_cgroup;                    /* started inside it (clone3) */
    int wstatus;                       /* how the child ended, once waited for */
    /* 11: the layers */
    struct lab_layers layers;
    /* 12: the image layers, idmapped for the user namespace (root only) */
    int idmapped[LAB_MAX_LAYERS];
    /* 15: recorded under --name */
    bool recorded;
    /* 16: --pod */
    struct lab_pod pod;
    int host_sysfs;                    /* --network host, as root: the host's /sys, detached */
    /* 15: exec NAME: the running container joined */
    struct lab_target {
        pid_t pid;                     /* its PID 1, on the host */
        int pidfd;                     /* that very process, whatever its pid becomes */
        int cgroup_ns;                 /* its cgroup namespace, for the forked child */
        int procs[CG_MAX_DIRS];        /* its groups' cgroup.procs, opened on the host */
        int nprocs;
        struct lab_record record;
    } target;
    /* 17: an OCI bundle's config.json */
    struct oci_config *oci;
    void *seccomp;                     /* its filter, compiled by libseccomp */
    int fifo;                          /* exec.fifo, O_PATH: the child waits on it */
    int preserve_fds;                  /* --preserve-fds: 3.. passed on */
    int console;                       /* --console-socket, connected; -1 without a terminal */
    int hooks_go[2];                   /* create to the child: prestart, createRuntime ran */
};

/* ---- runtime.c: runc's command line, the state between commands (17) -- */

#define RT_DEFAULT_ROOT "/run/lab/oci" /* runc's is /run/runc */
#define RT_STATE_FILE "state"
#define RT_FIFO "exec.fifo"
#define RT_PLAN_FILE "cgroups"         /* where create will make its groups */
#define RT_EXIT_FAILED 1               /* runc's, for every failed command */
#define RT_OCI_VERSION "1.0.2"

struct rt_cli {
    char root[PATH_MAX];               /* --root */
    const char *log, *log_format;      /* --log FILE, --log-format text|json */
    bool debug;                        /* --debug: the narration on stderr */
    const char *command, *id;
    char dir[PATH_MAX];                /* root/id: the container's state */
    const char *bundle, *pid_file, *console_socket, *process, *format;
    bool detach, force, all, quiet, rootless, no_new_keyring;
    int preserve_fds;
    /* update: --memory, --memory-swap, --cpu-period, --cpu-quota,
     * --pids-limit, as given; -r FILE (or -): the resources as JSON */
    const char *memory, *memory_swap, *cpu_period, *cpu_quota, *pids_limit, *resources;
    char *const *args;                 /* after the id: kill's signal, exec's command */
    int nargs;
};

/* The state a container leaves under root/id for the next command. */
struct rt_state {
    pid_t pid;                         /* its process, on the host */
    unsigned long long start;          /* that process's start time: pid reuse shows */
    const char *bundle, *rootfs, *created, *owner, *annotations;
    const char *hooks;                 /* config.json's, as JSON text: for start and delete */
    const char *cgroups[CG_MAX_DIRS];
    int ncgroups;
    bool own_pid_ns;
    bool created_only;                 /* exec.fifo is still there: not started */
    char text[16384];
};

/* Whether argv is an OCI runtime's command line (runc's commands). */
bool rt_is_command(int argc, char *argv[]);
/* Global options, the command, its options, the id; exits on a bad one. */
void rt_parse(struct rt_cli *cli, int argc, char *argv[]);
_Noreturn void rt_usage_error(const char *fmt, ...) LAB_PRINTF(1, 2);
int rt_state_read(const struct rt_cli *cli, struct rt_state *st);
/* The same; "container does not exist" (exit 1) when there is none. */
void rt_state_load(const struct rt_cli *cli, struct rt_state *st);
void rt_print_state(const char *id, const struct rt_state *st, const char *status);
/* pause, resume: the container's group frozen or thawed (runc's messages:
 * "container not running", "container not paused"); state and list show
 * a frozen container as runc does, "paused". */
void rt_pause(const struct rt_cli *cli, const struct rt_state *st, const char *status);
void rt_resume(const struct rt_cli *cli, const struct rt_state *st, const char *status);
/* delete --force of a paused container: thawed first, so that it can die. */
void rt_thaw_to_delete(const struct rt_cli *cli, const struct rt_state *st, const char *status);
void rt_list(struct rt_cli *cli, const char *(*status_of)(const struct rt_state *));
int rt_pids(const struct rt_state *st, pid_t *pids, int max);
void rt_ps(struct rt_cli *cli, const struct rt_state *st);
/* update: new limits for a container's groups (runc update). */
void rt_update(const struct rt_cli *cli, const struct rt_state *st, const char *status);
int rt_write_pid_file(const char *path, pid_t pid);
int rt_parse_signal(const char *s);
void rt_now_rfc3339(char *buf, size_t len);
int rt_spec(const char *bundle, bool rootless);
void rt_features(void);
/* The container's process, in order: joins, mounts, paths, process. */
void rt_child_join(struct container *c);
void rt_child_mounts(struct container *c);
/* With a terminal: a pty of the container's devpts, its master sent over
 * --console-socket, the slave its stdio, /dev/console and controlling tty. */
void rt_child_terminal(struct container *c);
int rt_connect_console(const char *path);
void rt_child_paths(struct container *c);
void rt_child_process(struct container *c, const struct oci_process *p);
void rt_child_find_program(const struct oci_process *p, char *path, size_t len);
/* Child, first: sync point GO; root of its user namespace; its cgroup
 * namespace. No parent-death signal: it outlives create. */
void rt_child_begin(struct container *c);
/* Child, its mounts made, before pivot_root (runc's order): create runs
 * prestart and createRuntime in the runtime's namespaces while it waits;
 * then createContainer, here, in the container's, its path the host's. */
void rt_child_create_hooks(struct container *c);
/* Child, started, before the program: startContainer, in the container. */
void rt_child_start_hooks(struct container *c);
/* Child, set up: create may exit; every descriptor goes but stdio, the
 * FIFO and the preserved ones. */
void rt_child_ready(struct container *c, int preserve_fds);
/* create: config.json read and checked, root/id claimed, the cgroup with
 * its limits, the seccomp filter compiled; die() undoes it all. */
void rt_create_begin(struct container *c, const struct rt_cli *cli);
/* Sync point GO, then the child set up (its failure ends create); on the
 * way, when the child asks, prestart and createRuntime (a failure ends
 * create). */
void rt_create_wait_ready(struct container *c, const struct rt_cli *cli);
/* create has succeeded: nothing is undone any more. */
void rt_create_end(struct container *c);
void rt_remove_state(const struct rt_cli *cli);
/* delete --force of a container whose create was killed before its state
 * was written: the groups it planned, then root/id. */
void rt_remove_half_made(const struct rt_cli *cli);
/* The state start needs ("cannot start a container that has stopped"). */
const struct rt_state *rt_check_startable(const struct rt_cli *cli, const struct rt_state *st,
                                          const char *status);
int rt_signal_of(const struct rt_cli *cli);
/* Runs config.json's hooks of one kind with the state (status as given) on
 * their stdin; a failure ends the command when fatal, else is a warning. */
int rt_run_hooks(const struct rt_cli *cli, const struct oci_config *cfg, int kind,
                 const struct rt_state *st, const char *status, bool fatal);
/* The same, with the hooks the state kept (poststart, poststop). */
void rt_state_hooks(const struct rt_cli *cli, const struct rt_state *st, int kind,
                    const char *status);
void rt_spec_command(const struct rt_cli *cli);
/* runc exec: a process in the running container's namespaces and groups,
 * as config.json's or --process FILE's; with --detach its pid is written
 * and we return at once. The exit status otherwise. */
int rt_exec(struct rt_cli *cli, const struct rt_state *st, const char *status);

/* A C library older than Linux 5.6's time namespaces lacks its flag. */
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* The architecture a seccomp filter must check first: a process may make
 * system calls of another one (32-bit calls on x86-64), whose numbers mean
 * other calls. The lab knows two. */
#if defined(__x86_64__)
#define LAB_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define LAB_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#ifndef LAB_STEP
#define LAB_STEP 0 /* common/ and its tests: no step */
#endif

/* Parent, first thing: options (exits on --help, --version or a bad one),
 * the root check, then the sync pipe, a snapshot of the host's namespaces,
 * the container's defaults (hostname, names), the cleanup die() runs, and
 * the signals passed on while the container runs. Nothing is created on
 * the host yet. */
void lab_start_step(struct container *c, int step, int argc, char *argv[]);
#define lab_start(c, argc, argv) lab_start_step((c), LAB_STEP, (argc), (argv))

/* Parent: with --network bridge, choose the addresses (before clone, so that the
 * child's copy holds them too), after removing veths of killed runs. The
 * choice stays locked until lab_release(). */
void lab_net_claim(struct container *c);
/* Parent, right after clone: signals go to the child now; narrate it. */
void lab_started(struct container *c, int flags);
/* Parent, --pod (16+): finds the pod and pins its infra, and takes on its
 * hostname and addresses; dies on an option that conflicts with the pod.
 * false when there is none yet: then the records' lock is held, and the
 * infra's sync pipe, /bin/pause and /dev/null are ready for the clone. */
bool lab_pod_find(struct container *c);
/* ./step-NN pod rm NAME: kills the pod's containers (their lab processes
 * clean up after them), then its infra. Returns the exit status. */
int lab_pod_command_step(int step, int argc, char *argv[]);
#define lab_pod_command(argc, argv) lab_pod_command_step(LAB_STEP, (argc), (argv))
/* Parent, the pod's infra just cloned: its id maps, its veth (with --network bridge),
 * its group; then releases it, waits for pause to run, records the pod. */
void lab_pod_start_infra(struct container *c);
/* Parent: whether the container gets a cgroup: always, but rootless where
 * no cgroup v2 subtree is delegated to the user (12+). */
bool lab_wants_cgroup(const struct container *c);
/* Parent: sync point GO, the child may run the command. */
void lab_release(struct container *c);
/* Parent: waits for the child to end (what it made is still there). */
void lab_wait(struct container *c);
/* Parent, last: removes what the container made on the host, and returns
 * the exit status docker run would. */
int lab_end(struct container *c);

/* For narration: "32m", "1g", "512k", "100b" for a size; "64" for a count;
 * "no limit" for 0 or LAB_UNLIMITED. In one of four static buffers. */
const char *lab_bytes(long long n);
const char *lab_count(long n);

/* must_be_new, less the user namespace with --userns host (the host's). */
int lab_must_be_new(const struct container *c, int must_be_new);
/* Child, first thing: narrate as the child; die with the parent; wait at
 * sync point GO; then the safety net: refuse to go on while still in one
 * of the host's namespaces that must_be_new names (a CLONE_NEW* flag
 * forgotten), where the rest of the child would change the host itself. */
void lab_child_begin(struct container *c, int must_be_new);
/* Child: docker run's environment for the command, not the host's (03+). */
void lab_child_env(struct container *c);
/* Child of a pod (16+), once in the pod's namespaces and unshared: fork.
 * This process stays behind, passing signals on and ending as its child
 * does; the child, which returns, goes on (PID 1 of a new PID namespace),
 * dies with it, and refuses to go on while still in one of the host's
 * namespaces that must_be_new names. */
void lab_child_fork(struct container *c, int must_be_new);
/* Child of --network container:NAME (16+): into NAME's user and network
 * namespaces, as a pod's container joins its pod's (pod-join), with a
 * mount, PID, IPC and UTS namespace of its own; then lab_child_fork. */
void lab_join_network_of(struct container *c, int must_be_new);
/* Child: set up; a named container is recorded for exec from now on. */
void lab_child_ready(struct container *c);
/* Child, last: becomes the command (exit 127: not found; 126: cannot run). */
_Noreturn void lab_child_exec(struct container *c);

/* ---- join.c: exec NAME, into a running container (15+) ----------------- */

/* Options (exits on --help or a bad one), then NAME's record: its pid,
 * pinned by a pidfd; its groups' cgroup.procs, opened while the host's
 * paths can still be named. 125 and one line if there is no such
 * container or it has ended. */
void lab_exec_start_step(struct container *c, int step, int argc, char *argv[]);
#define lab_exec_start(c, argc, argv) lab_exec_start_step((c), LAB_STEP, (argc), (argv))
/* fork(2): true in the child, which dies with the parent and refuses to go
 * on while still in one of the host's namespaces must_be_new names; the
 * parent passes signals on to it. A fork into a PID namespace whose PID 1
 * is gone fails: the container has ended. */
bool lab_exec_fork(struct container *c, int must_be_new);
/* Parent: waits for the command; its exit status, as docker exec's. */
int lab_exec_wait(struct container *c);
/* "the container web has ended" for the errno of a failed join. */
const char *lab_exec_why(int err);

#endif
